"""The pcsc card reader driver against the real pcscd, vpcd and a virtual card."""

from __future__ import annotations

import time

import pytest

from hardware.devicesim.vpcd_card import PROFILES, VPCD_PORTS, VirtualCard
from hardware.errors import CardError
from hardware.interfaces import CardEvent, CardEventKind
from hardware.pcsc import eid
from hardware.pcsc.reader import PcscCardReader
from tests.hardware.pcscd import READER, READERS, wait_for, wait_until_empty
from tests.hardware.pcscd import pcsc_reader as reader  # noqa: F401 (fixtures)
from tests.hardware.pcscd import pcscd  # noqa: F401

STAFF_UID = bytes.fromhex("04A1B2C3D4E5F6")


@pytest.fixture
def cards():
    made: list[VirtualCard] = []

    def make(profile="staff", **kw) -> VirtualCard:
        card = VirtualCard(profile, **kw)
        made.append(card)
        return card

    yield make
    for card in made:
        card.remove()
    for reader in {READERS[card.port - VPCD_PORTS[READER]] for card in made}:
        assert wait_until_empty(reader), f"pcscd still sees a card on {reader}"


def kinds(events):
    return [e.kind for e in events]


def test_staff_card_presented_then_removed(reader, cards):
    card = cards("staff", uid=STAFF_UID)
    card.insert()
    assert wait_for(lambda: len(reader.events) == 1)
    card.remove()
    assert wait_for(lambda: len(reader.events) == 2)
    presented, removed = reader.events
    assert kinds(reader.events) == [CardEventKind.PRESENTED, CardEventKind.REMOVED]
    assert presented.uid == STAFF_UID and presented.reader == READER
    assert presented.atr == PROFILES["staff"].atr
    assert presented.german_eid is False
    assert (removed.uid, removed.atr, removed.reader) == (STAFF_UID, presented.atr, READER)
    assert reader.current_card is None


def test_german_eid_recognised_reading_only_card_access(reader, cards):
    card = cards("eid")
    card.insert()
    assert wait_for(lambda: reader.events)
    event = reader.events[0]
    assert event.german_eid is True
    assert event.uid == card.uid and event.uid[0] == 0x08, "a random UID, as eID chips give"
    # The GET UID pseudo-APDU, then READ BINARY of EF.CardAccess by its short
    # identifier: no SELECT of any other file, no PACE, no other read.
    reads = [apdu for apdu in card.apdu_log if apdu != bytes.fromhex("FFCA000000")]
    assert reads == [eid.read_binary_sfi()], [a.hex() for a in card.apdu_log]


def test_eid_gets_a_new_uid_each_time(reader, cards):
    card = cards("eid")
    card.insert()
    assert wait_for(lambda: len(reader.events) == 1)
    first = card.uid
    card.remove()
    assert wait_for(lambda: len(reader.events) == 2)
    card.insert()
    assert wait_for(lambda: len(reader.events) == 3)
    assert reader.events[2].uid == card.uid
    assert {reader.events[0].uid, reader.events[2].uid} == {first, card.uid}


def test_card_without_uid(reader, cards):
    card = cards("nouid")
    card.insert()
    assert wait_for(lambda: reader.events)
    event = reader.events[0]
    assert event.kind is CardEventKind.PRESENTED
    assert event.uid is None and event.german_eid is False
    assert event.atr == PROFILES["nouid"].atr


def test_transmit_exchanges_apdus(reader, cards):
    card = cards("eid")
    card.insert()
    assert wait_for(lambda: reader.current_card is not None)
    response = reader.transmit(eid.read_binary_sfi(length=4))
    assert response == PROFILES["eid"].files[eid.CARD_ACCESS_FID][:4] + b"\x90\x00"
    assert reader.transmit(bytes.fromhex("00A4000C023F00")) == b"\x90\x00"
    assert card.apdu_log[-1] == bytes.fromhex("00A4000C023F00")


def test_transmit_without_card_is_a_card_error(reader):
    with pytest.raises(CardError, match="no card"):
        reader.transmit(bytes.fromhex("FFCA000000"))


def test_card_pulled_during_transmit_is_a_card_error(reader, cards):
    card = cards("staff")
    card.insert()
    assert wait_for(lambda: reader.current_card is not None)
    card.vanish_on_next_apdu()
    with pytest.raises(CardError):
        reader.transmit(bytes.fromhex("FFCA000000"))
    assert wait_for(lambda: kinds(reader.events) == [CardEventKind.PRESENTED,
                                                      CardEventKind.REMOVED])
    with pytest.raises(CardError):
        reader.transmit(bytes.fromhex("FFCA000000"))


def test_second_reader_is_chosen_by_name(pcscd, cards):
    driver = PcscCardReader("00 01", poll_timeout=0.2)
    try:
        events: list[CardEvent] = []
        driver.subscribe(events.append)
        assert wait_for(lambda: driver.reader_name == "Virtual PCD 00 01")
        cards("staff", port=35963).insert()  # on the other reader: not ours
        cards("staff", uid=b"\x01\x02\x03\x04", port=35964).insert()
        assert wait_for(lambda: events)
        time.sleep(0.5)
        assert [(e.reader, e.uid) for e in events] == [("Virtual PCD 00 01", b"\x01\x02\x03\x04")]
    finally:
        driver.close()


def test_card_leaving_during_identification_sends_nothing(reader, cards):
    card = cards("staff")
    card.vanish_on_next_apdu()  # gone at the GET UID command
    card.insert()
    assert wait_until_empty()
    time.sleep(0.3)  # a poll_timeout: the driver's retry finds no card
    assert reader.events == []
    card.insert()
    assert wait_for(lambda: reader.events)
    assert [(e.kind, e.uid) for e in reader.events] == [(CardEventKind.PRESENTED, card.uid)]


def test_vendor_command_line_keeps_a_card_inserted(reader, capsys):
    from hardware.devicesim import vpcd_card

    assert vpcd_card.main(["--profile", "staff", "--uid", "04A1B2C3"],
                          stop=lambda: bool(reader.events)) == 0
    assert "UID 04A1B2C3" in capsys.readouterr().out
    assert reader.events[0].uid == bytes.fromhex("04A1B2C3")
    assert wait_until_empty()


def test_vendor_command_line_rejects_a_bad_uid(capsys):
    from hardware.devicesim import vpcd_card

    with pytest.raises(SystemExit):
        vpcd_card.main(["--uid", "not-hex"])
    assert "--uid 'not-hex': expected hex digits" in capsys.readouterr().err
