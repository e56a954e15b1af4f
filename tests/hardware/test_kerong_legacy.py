"""The kerong driver with ``protocol = "legacy"`` against older KR-CU boards
simulated byte by byte on a real pty.

The demo box has boards A (address 1, compartments 1-16 on channels 1-16)
and B (address 2, compartments 17-20 on channels 1-4).
"""

from pathlib import Path

import pytest

from hardware.box import load_box
from hardware.devicesim.kerong_bus import KerongBus
from hardware.errors import DriverConfigError
from hardware.interfaces import DoorEventKind, DoorState, HealthStatus
from hardware.kerong import legacy_codec
from hardware.kerong.bank import KerongLockerBank
from tests.hardware.test_kerong_bank import FAST, health, kinds, ok, wait_for

UNLOCK = legacy_codec.UNLOCK


def unlocks(bus):
    return bus.requests(UNLOCK)


@pytest.fixture
def bus():
    with KerongBus([1, 2], protocol="legacy") as bus:
        yield bus


def make_bank(bus, **options):
    bank = KerongLockerBank(load_box("demo"), bus.port, protocol="legacy", **{**FAST, **options})
    assert wait_for(lambda: ok(bank)), bank.health()
    return bank


@pytest.fixture
def bank(bus):
    bank = make_bank(bus)
    yield bank
    bank.close()


@pytest.fixture
def events(bank):
    received = []
    bank.subscribe(received.append)
    return received


def test_unlock_is_acknowledged_then_the_door_opens(bus, bank, events):
    result = bank.unlock(3)
    assert result.acknowledged and result.compartment == 3
    assert bytes.fromhex("8a 01 03 11 99") in [r.frame for r in bus.received]
    assert legacy_codec.Request(1, 3, UNLOCK) in unlocks(bus)
    assert wait_for(lambda: kinds(events, 3) == [DoorEventKind.OPENED])
    assert bank.door_state(3) is DoorState.OPEN
    assert bank.door_state(4) is DoorState.CLOSED


def test_the_poller_reads_whole_boards(bus, bank):
    # One "80 addr 00 33" per board and round, not one request per lock.
    statuses = bus.requests(legacy_codec.STATUS)
    assert legacy_codec.Request(1, legacy_codec.WHOLE_BOARD, legacy_codec.STATUS) in statuses
    assert legacy_codec.Request(2, legacy_codec.WHOLE_BOARD, legacy_codec.STATUS) in statuses
    assert all(r.lock == legacy_codec.WHOLE_BOARD for r in statuses)


def test_a_door_opened_without_command_is_forced(bus, bank, events):
    bus.open_door(1, 7)
    assert wait_for(lambda: kinds(events, 7) == [DoorEventKind.FORCED_OPEN])
    assert bank.door_state(7) is DoorState.OPEN
    bus.close_door(1, 7)
    assert wait_for(lambda: kinds(events, 7) == [DoorEventKind.FORCED_OPEN, DoorEventKind.CLOSED])


def test_a_jammed_lock_is_acknowledged_but_reports_unlock_failed(bus):
    bank = make_bank(bus, unlock_window=0.2)
    try:
        events = []
        bank.subscribe(events.append)
        bus.jam(1, 2)
        assert bank.unlock(2).acknowledged
        assert wait_for(lambda: kinds(events, 2) == [DoorEventKind.UNLOCK_FAILED])
        board_a = health(bank)["lock board A"]
        assert board_a.status is HealthStatus.DEGRADED
        assert "compartment 2" in board_a.detail
        assert health(bank)["lock board B"].status is HealthStatus.OK
        assert bank.door_state(2) is DoorState.CLOSED
    finally:
        bank.close()


def test_wrong_xor_degrades_the_board(bus, bank):
    bus.set_corrupt(True)
    before = len(unlocks(bus))
    result = bank.unlock(1)
    assert not result.acknowledged
    assert "checksum" in result.detail and "xor should be" in result.detail
    # The board answered (badly), so the lock was pulsed: never pulse it twice.
    assert len(unlocks(bus)) - before == 1
    assert wait_for(lambda: health(bank)["lock board A"].status is HealthStatus.DEGRADED)
    assert "checksum" in health(bank)["lock board A"].detail
    bus.set_corrupt(False)
    assert wait_for(lambda: "unlock not acknowledged" in health(bank)["lock board A"].detail)
    assert bank.unlock(1).acknowledged
    assert wait_for(lambda: ok(bank))


def test_the_second_board_answers_at_its_own_address(bus, bank, events):
    assert bank.unlock(18).acknowledged  # board B, channel 2
    assert legacy_codec.Request(2, 2, UNLOCK) in unlocks(bus)
    assert bus.door_open(2, 2) and not bus.door_open(1, 2)
    assert wait_for(lambda: kinds(events, 18) == [DoorEventKind.OPENED])
    assert bank.door_state(2) is DoorState.CLOSED


def test_a_late_unlock_reply_is_still_acknowledged(tmp_path):
    # Real boards answer once the lock has opened, about 1 s later: far
    # beyond `timeout`, within the protocol's extra allowance for unlocks.
    with KerongBus([1, 2], protocol="legacy", unlock_delay=0.3) as bus:
        bank = make_bank(bus)
        try:
            assert bank.unlock(5).acknowledged
            assert len(unlocks(bus)) == 1  # no retry sent while the board was busy
        finally:
            bank.close()


def test_a_silent_board_fails_and_recovers(bus, bank):
    bus.set_silent(True, address=2)
    assert wait_for(lambda: health(bank)["lock board B"].status is HealthStatus.FAILED)
    assert "no answer from board B (address 2)" in health(bank)["lock board B"].detail
    assert health(bank)["lock board A"].status is HealthStatus.OK
    assert bank.door_state(17) is DoorState.UNKNOWN
    bus.set_silent(False, address=2)
    assert wait_for(lambda: ok(bank))


def test_unplug_fails_the_boards_and_replug_recovers(bus, bank, events):
    bus.unplug()
    assert wait_for(lambda: all(h.status is HealthStatus.FAILED for h in bank.health()))
    bus.open_door(1, 9)  # forced while the adapter was out
    bus.replug()
    assert wait_for(lambda: ok(bank))
    assert wait_for(lambda: kinds(events, 9) == [DoorEventKind.FORCED_OPEN])


def test_options_select_the_protocol(bus):
    bank = KerongLockerBank.from_options(
        {"port": bus.port, "protocol": "legacy", "timeout": 0.05, "poll_interval": 0.02})
    try:
        assert wait_for(lambda: ok(bank))
        assert bank._baudrate == legacy_codec.BAUDRATE  # the legacy boards' factory setting
        assert bank.unlock(1).acknowledged
    finally:
        bank.close()
    with pytest.raises(DriverConfigError, match="protocol"):
        KerongLockerBank.from_options({"port": bus.port, "protocol": "cu12"})


def test_board_addresses_follow_the_protocol(tmp_path):
    box = tmp_path / "box.toml"
    text = Path(load_box("demo").source).read_text()
    box.write_text(text.replace("address = 1", "address = 0", 1))
    # 0 is a valid CU16 address switch setting, not a legacy one (1-64).
    with pytest.raises(DriverConfigError, match="1 to 64"):
        KerongLockerBank(load_box(str(box)), str(tmp_path / "tty"), protocol="legacy")


def test_kiosk_hw_opens_a_door_on_a_legacy_board(bus, tmp_path, capsys):
    from hardware import cli

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[hardware.locker_bank]\ndriver = "kerong"\nprotocol = "legacy"\nport = "{bus.port}"\n'
        'box = "demo"\ntimeout = 0.05\npoll_interval = 0.02\n'
    )
    assert cli.main(["open", "3", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "compartment 3: unlock acknowledged" in out and "compartment 3: opened" in out
    assert bus.door_open(1, 3)
