"""Staff log in at a real kiosk with a card on the PC/SC reader.

The whole chain is real: virtual card -> vpcd -> pcscd -> pcsc driver ->
kiosk core -> staff session checked against the records synced from the
registry on loopback.
"""

from __future__ import annotations

import pytest

from hardware.devicesim.vpcd_card import VirtualCard
from hardware.interfaces import CardEventKind
from tests.hardware.pcscd import pcscd  # noqa: F401 (fixture)
from tests.hardware.pcscd import READER, wait_until_empty

# The integration fixtures: the registry on loopback and kiosks built from config.
from tests.integration.conftest import (  # noqa: F401
    STAFF_CARD,
    STAFF_PIN,
    make_kiosk,
    registry,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_staff_card_on_pcsc_reader_and_pin_log_in(pcscd, make_kiosk):
    harness = make_kiosk(
        hardware__card_reader__driver="pcsc",
        hardware__card_reader__reader=READER,
        hardware__card_reader__poll_timeout="0.2",
    )
    reader = harness.reader
    seen = []
    reader.subscribe(seen.append)  # after the core's subscription, so it hears first
    wait_for(lambda: harness.store.staff_count() > 0, what="staff records on the kiosk")

    card = VirtualCard("staff", uid=bytes.fromhex(STAFF_CARD))
    try:
        card.insert()
        wait_for(lambda: seen, what="the card event", timeout=20)
        assert seen[0].kind is CardEventKind.PRESENTED
        card.remove()
        view = harness.core.staff_pin(STAFF_PIN)
        assert view.staff_state.value == "menu", view.staff_error
    finally:
        card.remove()
        wait_until_empty()


def test_unknown_card_does_not_log_in(pcscd, make_kiosk):
    harness = make_kiosk(
        hardware__card_reader__driver="pcsc",
        hardware__card_reader__reader=READER,
        hardware__card_reader__poll_timeout="0.2",
    )
    seen = []
    harness.reader.subscribe(seen.append)
    wait_for(lambda: harness.store.staff_count() > 0, what="staff records on the kiosk")
    card = VirtualCard("staff", uid=bytes.fromhex("04000000000001"))
    try:
        card.insert()
        wait_for(lambda: seen, what="the card event", timeout=20)
        view = harness.core.staff_pin(STAFF_PIN)
        assert view.staff_state.value != "menu"
    finally:
        card.remove()
        wait_until_empty()
