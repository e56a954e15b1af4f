"""The evdev wedge driver against a real input device made through /dev/uinput."""

import pytest

from hardware import drivers
from hardware.errors import DriverConfigError
from hardware.interfaces import HealthStatus
from hardware.scan_support import Backoff
from hardware.wedge.scanner import WedgeScanner
from hardware.conformance import wait_for
from tests.hardware.wedge_kit import SCANNER_NAME, VirtualScanner, virtual_scanner


@pytest.fixture
def scanner_device():
    with virtual_scanner() as device:
        yield device


@pytest.fixture
def wedge(scanner_device):
    driver = WedgeScanner(scanner_device.path, backoff=Backoff(0.02, 0.1))
    assert wait_for(lambda: driver.health()[0].status is HealthStatus.OK)
    yield driver
    driver.close()


def test_lines_arrive_only_while_started(scanner_device, wedge):
    events = []
    wedge.subscribe(events.append)
    scanner_device.scan("BEFORE")
    wedge.start()
    scanner_device.scan("PBX1:K7M29QXD45")
    assert wait_for(lambda: events)
    wedge.stop()
    scanner_device.scan("AFTER")
    wedge.start()
    scanner_device.scan("BB-2026-4711")
    assert wait_for(lambda: len(events) == 2)
    assert [e.payload for e in events] == [b"PBX1:K7M29QXD45", b"BB-2026-4711"]
    assert events[0].source == f"barcode scanner {scanner_device.path}"


def test_the_scanner_is_grabbed(scanner_device, wedge):
    import evdev

    other = evdev.InputDevice(scanner_device.path)
    try:
        with pytest.raises(OSError):
            other.grab()  # keystrokes cannot reach the kiosk window
    finally:
        other.close()


def test_found_by_name_with_the_german_layout(scanner_device):
    driver = drivers.create("code_scanner", "evdev-wedge",
                            {"device": "test wedge", "keymap": "de"})
    events = []
    driver.subscribe(events.append)
    try:
        assert wait_for(lambda: driver.health()[0].status is HealthStatus.OK)
        driver.start()
        scanner_device.scan("Zugang-Yß", keymap="de")
        assert wait_for(lambda: events)
        assert events[0].payload == "Zugang-Yß".encode()
    finally:
        driver.close()


def test_unplugged_then_back(scanner_device):
    driver = WedgeScanner(SCANNER_NAME, backoff=Backoff(0.02, 0.1))
    events = []
    driver.subscribe(events.append)
    try:
        assert wait_for(lambda: driver.health()[0].status is HealthStatus.OK)
        driver.start()
        scanner_device.unplug()
        assert wait_for(lambda: driver.health()[0].status is HealthStatus.FAILED)
        assert "check the USB cable" in driver.health()[0].detail
        again = VirtualScanner()
        try:
            assert wait_for(lambda: driver.health()[0].status is HealthStatus.OK)
            again.scan("BACK")
            assert wait_for(lambda: events)
            assert events[0].payload == b"BACK"
        finally:
            again.unplug()
    finally:
        driver.close()


def test_missing_scanner_fails_health_without_uinput():
    driver = WedgeScanner("/dev/input/no-such-scanner-event-kbd", backoff=Backoff(0.02, 0.1))
    try:
        assert wait_for(lambda: "not found" in driver.health()[0].detail)
        health = driver.health()[0]
        assert health.status is HealthStatus.FAILED
        assert "check the USB cable" in health.detail
        driver.start()  # no exception: the kiosk offers the keypad meanwhile
        driver.stop()
    finally:
        driver.close()
    assert driver.health()[0].detail == "driver closed"


def test_options_are_checked():
    with pytest.raises(DriverConfigError, match="device"):
        drivers.create("code_scanner", "evdev-wedge", {})
    with pytest.raises(DriverConfigError, match="keymap"):
        drivers.create("code_scanner", "evdev-wedge", {"device": "x", "keymap": "fr"})
