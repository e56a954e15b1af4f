"""The pcsc driver survives pcscd restarts and readers that go and come back.

pyscard's own CardMonitor thread dies when pcscd restarts; these tests make
sure the driver's watcher does not: health goes FAILED with the reason and
back to OK, and a card put on afterwards is seen.
"""

from __future__ import annotations

import pytest

from hardware.devicesim.vpcd_card import VirtualCard
from hardware.errors import DeviceUnavailable
from hardware.interfaces import CardEventKind, HealthStatus
from hardware.pcsc.reader import NO_READER, PCSCD_DOWN, PcscCardReader
from tests.hardware.pcscd import READER, wait_for, wait_until_empty
from tests.hardware.pcscd import pcsc_reader as reader  # noqa: F401 (fixtures)
from tests.hardware.pcscd import pcscd  # noqa: F401


@pytest.fixture
def card():
    staff = VirtualCard("staff")
    yield staff
    staff.remove()
    wait_until_empty()


def status(driver):
    return driver.health()[0].status


def detail(driver):
    return driver.health()[0].detail


def test_pcscd_killed_and_restarted(pcscd, reader, card):
    pcscd.kill()
    assert wait_for(lambda: status(reader) is HealthStatus.FAILED)
    assert detail(reader) == PCSCD_DOWN
    with pytest.raises(DeviceUnavailable, match="pcscd is not running"):
        reader.transmit(bytes.fromhex("FFCA000000"))
    pcscd.start()
    assert wait_for(lambda: status(reader) is HealthStatus.OK), reader.health()
    card.insert()
    assert wait_for(lambda: reader.events)
    assert reader.events[0].kind is CardEventKind.PRESENTED
    assert reader.events[0].uid == card.uid


def test_pcscd_stopped_with_a_card_on_the_reader(pcscd, reader, card):
    card.insert()
    assert wait_for(lambda: len(reader.events) == 1)
    pcscd.stop()  # vpcd drops the card's connection with it
    assert wait_for(lambda: status(reader) is HealthStatus.FAILED)
    assert card.wait_until_gone()
    pcscd.start()
    assert wait_for(lambda: status(reader) is HealthStatus.OK)
    card.insert()
    assert wait_for(lambda: len(reader.events) == 2)
    assert reader.events[1].kind is CardEventKind.PRESENTED
    assert reader.events[1].uid == card.uid


def test_reader_unplugged_and_plugged_in_again(pcscd, reader, card):
    pcscd.unplug()
    assert wait_for(lambda: detail(reader) == NO_READER), reader.health()
    assert status(reader) is HealthStatus.FAILED
    assert reader.reader_name is None
    pcscd.plug()
    assert wait_for(lambda: status(reader) is HealthStatus.OK), reader.health()
    assert reader.reader_name == READER
    card.insert()
    assert wait_for(lambda: reader.events)
    assert reader.events[0].uid == card.uid


def test_driver_started_before_pcscd(pcscd, card):
    pcscd.stop()
    driver = PcscCardReader(READER, poll_timeout=0.2, retry_max=0.2)
    try:
        assert wait_for(lambda: detail(driver) == PCSCD_DOWN)
        pcscd.start()
        assert wait_for(lambda: status(driver) is HealthStatus.OK), driver.health()
    finally:
        driver.close()
