"""The usb-relay driver against relay boards faked behind a pyusb backend.

pyusb itself runs unchanged: device lookup, string descriptors and control
transfers go through usb.core to `FakeRelayBackend`.
"""

import textwrap

import pytest
import usb.core

from hardware.box import load_box
from hardware.devicesim.usbrelay_backend import FakeRelayBackend, FakeRelayBoard
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.interfaces import DoorState, HealthStatus
from hardware.usbrelay import protocol
from hardware.usbrelay.bank import UsbRelayLockerBank


@pytest.fixture
def board():
    return FakeRelayBoard("RLY01", 8)


@pytest.fixture
def bank(board):
    bank = UsbRelayLockerBank(load_box("relay8"), pulse_ms=40, backend=FakeRelayBackend([board]))
    yield bank
    bank.close()


def test_report_bytes():
    assert protocol.set_relay_report(3, True) == bytes.fromhex("ff 03 00 00 00 00 00 00")
    assert protocol.set_relay_report(8, False) == bytes.fromhex("fd 08 00 00 00 00 00 00")
    assert protocol.parse_feature_report(bytes.fromhex("51 41 41 4d 5a 00 00 05")) == ("QAAMZ", 5)
    assert protocol.relay_count("USBRelay4") == 4 and protocol.relay_count("Keyboard") is None
    with pytest.raises(ValueError, match="expected 8"):
        protocol.parse_feature_report(b"\x00\x01")


def test_unmodified_pyusb_finds_the_fake_board(board):
    backend = FakeRelayBackend([board])
    dev = usb.core.find(idVendor=0x16C0, idProduct=0x05DF, backend=backend)
    assert dev is not None and dev.product == "USBRelay8"
    # Walking the configuration ends: missing alternate settings raise IndexError.
    assert [intf.bInterfaceNumber for intf in dev.get_active_configuration()] == [0]
    report = dev.ctrl_transfer(0xA1, 0x01, 0x0300, 0, 8)
    assert bytes(report[:5]) == b"RLY01"


def test_unlock_pulses_the_relay_for_pulse_ms(board, bank):
    result = bank.unlock(3)
    assert result.acknowledged and result.compartment == 3
    assert [(s.relay, s.on) for s in board.history] == [(3, True), (3, False)]
    (length,) = board.pulses(3)
    assert length >= 0.040
    assert board.state == 0


def test_pulse_length_is_configurable(board):
    bank = UsbRelayLockerBank(load_box("relay8"), pulse_ms=150, backend=FakeRelayBackend([board]))
    bank.unlock(1)
    assert board.pulses(1)[0] >= 0.150


def test_no_sensors_no_events(bank):
    events = []
    unsubscribe = bank.subscribe(events.append)
    bank.unlock(2)
    unsubscribe()
    unsubscribe()
    assert not bank.has_door_sensors and events == []
    assert bank.door_state(2) is DoorState.UNKNOWN


def test_unplugged_board_fails_and_recovers(board, bank):
    bank.unlock(1)  # the device is known now
    board.unplug()
    with pytest.raises(DeviceUnavailable, match="unplugged"):
        bank.unlock(1)
    (entry,) = bank.health()
    assert entry.status is HealthStatus.FAILED
    assert "RLY01" in entry.detail and "found: none" in entry.detail
    with pytest.raises(DeviceUnavailable, match="no USB relay board with serial 'RLY01'"):
        bank.unlock(1)
    board.replug()
    assert bank.health()[0].status is HealthStatus.OK
    assert bank.unlock(1).acknowledged


def test_boards_are_told_apart_by_serial(tmp_path):
    box = tmp_path / "two.toml"
    box.write_text(textwrap.dedent("""
        format = 1
        compartments = [
            { number = 1, size = "S", column = 1, row = 1, board = "left", channel = 1 },
            { number = 2, size = "S", column = 2, row = 1, board = "right", channel = 1 },
        ]
        [[boards]]
        name = "left"
        channels = 2
        door_sensors = false
        serial = "LEFT1"
        [[boards]]
        name = "right"
        channels = 2
        door_sensors = false
        serial = "RGHT1"
    """))
    left, right = FakeRelayBoard("LEFT1", 2, address=1), FakeRelayBoard("RGHT1", 2, address=2)
    bank = UsbRelayLockerBank(load_box(box), pulse_ms=20, backend=FakeRelayBackend([right, left]))
    assert bank.unlock(2).acknowledged
    assert right.pulses(1) and not left.history
    assert [h.device for h in bank.health()] == ["lock board left", "lock board right"]


def test_a_missing_serial_names_what_was_found(board):
    board.serial = "OTHER"
    bank = UsbRelayLockerBank(load_box("relay8"), backend=FakeRelayBackend([board]))
    (entry,) = bank.health()
    assert entry.status is HealthStatus.FAILED
    assert "'RLY01'" in entry.detail and "found: OTHER" in entry.detail


def test_a_channel_the_board_lacks_is_not_acknowledged():
    small = FakeRelayBoard("RLY01", 2)
    bank = UsbRelayLockerBank(load_box("relay8"), pulse_ms=20, backend=FakeRelayBackend([small]))
    result = bank.unlock(5)
    assert not result.acknowledged and "USBRelay2" in result.detail
    assert bank.health()[0].status is HealthStatus.DEGRADED


def test_options(board):
    bank = UsbRelayLockerBank.from_options(
        {"backend": "hardware.devicesim.usbrelay_backend:demo_backend", "pulse_ms": 20}
    )
    assert bank.unlock(1).acknowledged
    with pytest.raises(DriverConfigError, match="backend"):
        UsbRelayLockerBank.from_options({"backend": "no.such.module:thing"})
    with pytest.raises(DriverConfigError, match="pulse_ms"):
        UsbRelayLockerBank.from_options({"pulse_ms": 5})
