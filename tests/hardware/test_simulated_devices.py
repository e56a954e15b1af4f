"""Simulated card reader, code scanner and indicator."""

import pytest

from hardware.errors import CardError, DeviceUnavailable, DriverConfigError
from hardware.interfaces import CardEventKind, HealthStatus, ScanEvent, Signal
from hardware.simulated import (
    DEFAULT_ATR,
    SimulatedCardReader,
    SimulatedCodeScanner,
    SimulatedIndicator,
)

UID = bytes.fromhex("04A1B2C3D4E5F6")
GET_UID = bytes.fromhex("FFCA000000")


@pytest.fixture
def reader():
    return SimulatedCardReader.from_options({})


# --- Card reader


def test_present_and_remove_card(reader):
    events = []
    reader.subscribe(events.append)
    reader.present_card(UID)
    reader.remove_card()
    reader.remove_card()  # nothing left to remove
    assert [(e.kind, e.uid, e.atr) for e in events] == [
        (CardEventKind.PRESENTED, UID, DEFAULT_ATR),
        (CardEventKind.REMOVED, UID, DEFAULT_ATR),
    ]
    assert {e.reader for e in events} == {"Simulated PICC 0"}


def test_new_card_replaces_the_old_one(reader):
    events = []
    reader.subscribe(events.append)
    reader.present_card(b"\x01", atr=b"\x3b\x00")
    reader.present_card(b"\x02")
    assert [(e.kind, e.uid) for e in events] == [
        (CardEventKind.PRESENTED, b"\x01"),
        (CardEventKind.REMOVED, b"\x01"),
        (CardEventKind.PRESENTED, b"\x02"),
    ]


def test_transmit_get_uid(reader):
    reader.present_card(UID)
    assert reader.transmit(GET_UID) == UID + b"\x90\x00"
    assert reader.apdu_log == [(GET_UID, UID + b"\x90\x00")]


def test_card_without_uid(reader):
    reader.present_card(None)
    assert reader.transmit(GET_UID) == bytes.fromhex("6A81")


def test_unknown_apdu_is_not_found(reader):
    reader.present_card(UID)
    assert reader.transmit(bytes.fromhex("00A4040007D276000085010100")) == bytes.fromhex("6A82")


def test_transmit_without_card_raises(reader):
    with pytest.raises(CardError, match="no card"):
        reader.transmit(GET_UID)
    reader.present_card(UID)
    reader.remove_card()
    with pytest.raises(CardError):
        reader.transmit(GET_UID)


def test_presets_from_the_box(reader):
    reader.present_preset("eid")
    assert reader.transmit(bytes.fromhex("00A4020C02011C")) == bytes.fromhex("9000")
    assert reader.transmit(GET_UID) == bytes.fromhex("08A1B2C3") + b"\x90\x00"


def test_uid_of_a_preset_borrows_its_dialogue(reader):
    events = []
    reader.subscribe(events.append)
    reader.present_card(bytes.fromhex("08A1B2C3"))
    assert reader.transmit(bytes.fromhex("00A4020C02011C")) == bytes.fromhex("9000")
    assert events[0].atr == bytes.fromhex("3B8880018000000000000000")


def test_explicit_dialogue(reader):
    reader.present_card(UID, apdus={b"\x00\xb0\x00\x00\x01": b"\x42\x90\x00"})
    assert reader.transmit(b"\x00\xb0\x00\x00\x01") == b"\x42\x90\x00"


def test_unknown_preset_lists_the_known_ones(reader):
    with pytest.raises(KeyError, match="staff-1"):
        reader.present_preset("nobody")


def test_reader_offline_and_back(reader):
    events = []
    reader.subscribe(events.append)
    reader.set_offline(True)
    reader.present_card(UID)
    assert events == []
    with pytest.raises(DeviceUnavailable):
        reader.transmit(GET_UID)
    assert reader.health()[0].status is HealthStatus.FAILED
    reader.set_offline(False)
    assert [(e.kind, e.uid) for e in events] == [(CardEventKind.PRESENTED, UID)]
    assert reader.transmit(GET_UID).endswith(b"\x90\x00")


def test_reader_options():
    reader = SimulatedCardReader.from_options({"name": "Virtual PCD 00 00", "box": "relay8"})
    assert reader.health()[0].device == "Virtual PCD 00 00"
    assert reader.presets == {}
    with pytest.raises(DriverConfigError, match="colour"):
        SimulatedCardReader.from_options({"colour": "red"})


# --- Code scanner


def test_scanner_delivers_only_while_started():
    scanner = SimulatedCodeScanner()
    events = []
    scanner.subscribe(events.append)
    assert scanner.show("ignored while stopped") is False
    scanner.start()
    scanner.start()  # idempotent
    assert scanner.show("PICKUP:1234") is True
    assert scanner.show(b"\x00\xff") is True
    scanner.stop()
    assert scanner.show("too late") is False
    assert events == [
        ScanEvent(b"PICKUP:1234", "simulated camera"),
        ScanEvent(b"\x00\xff", "simulated camera"),
    ]
    assert scanner.shown == [b"ignored while stopped", b"PICKUP:1234", b"\x00\xff", b"too late"]


def test_scanner_does_not_replay_codes_shown_while_stopped():
    scanner = SimulatedCodeScanner()
    events = []
    scanner.subscribe(events.append)
    scanner.show("early")
    scanner.start()
    assert events == []


def test_scanner_unplugged():
    scanner = SimulatedCodeScanner.from_options({"source": "front camera"})
    scanner.set_offline(True)
    with pytest.raises(DeviceUnavailable, match="front camera"):
        scanner.start()
    assert scanner.health()[0].status is HealthStatus.FAILED
    scanner.set_offline(False)
    scanner.start()
    assert scanner.running


def test_scanner_unsubscribe():
    scanner = SimulatedCodeScanner()
    events = []
    unsubscribe = scanner.subscribe(events.append)
    scanner.start()
    unsubscribe()
    scanner.show("x")
    assert events == []


# --- Indicator


def test_indicator_records_signals_with_time():
    now = [5.0]
    indicator = SimulatedIndicator(clock=lambda: now[0])
    assert indicator.current == "off"
    indicator.show("attention")
    now[0] = 6.5
    indicator.show(Signal.DOOR_OPEN)
    assert indicator.history == [(5.0, "attention"), (6.5, "door_open")]
    assert indicator.current == "door_open"
    assert indicator.signals() == ["attention", "door_open"]


def test_indicator_rejects_unknown_signals():
    indicator = SimulatedIndicator()
    with pytest.raises(ValueError, match="door_open"):
        indicator.show("disco")
    assert indicator.history == []
