"""The kerong driver against boards simulated byte by byte on a real pty.

The demo box has boards A (address 1, compartments 1-16 on channels 1-16)
and B (address 2, compartments 17-20 on channels 1-4).
"""

import time

import pytest

from hardware.box import load_box
from hardware.devicesim.kerong_bus import KerongBus
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.interfaces import DoorEventKind, DoorState, HealthStatus
from hardware.kerong import codec
from hardware.kerong.bank import KerongLockerBank

FAST = {"timeout": 0.05, "retries": 2, "poll_interval": 0.02, "reconnect_interval": 0.05}


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def health(bank):
    return {h.device: h for h in bank.health()}


def ok(bank):
    return all(h.status is HealthStatus.OK for h in bank.health())


@pytest.fixture
def bus():
    with KerongBus([1, 2]) as bus:
        yield bus


@pytest.fixture
def bank(bus):
    bank = KerongLockerBank(load_box("demo"), bus.port, **FAST)
    assert wait_for(lambda: ok(bank)), bank.health()
    yield bank
    bank.close()


@pytest.fixture
def events(bank):
    received = []
    bank.subscribe(received.append)
    return received


def kinds(events, compartment):
    return [e.kind for e in events if e.compartment == compartment]


def test_unlock_is_acknowledged_then_the_door_opens(bus, bank, events):
    result = bank.unlock(3)
    assert result.acknowledged and result.compartment == 3
    assert codec.Request(1, 3, codec.CMD_UNLOCK) in bus.requests(codec.CMD_UNLOCK)
    assert wait_for(lambda: kinds(events, 3) == [DoorEventKind.OPENED])
    assert bank.door_state(3) is DoorState.OPEN
    assert bank.door_state(4) is DoorState.CLOSED


def test_closing_the_door_reports_closed(bus, bank, events):
    bank.unlock(5)
    bus.close_door(1, 5)
    assert wait_for(lambda: kinds(events, 5) == [DoorEventKind.OPENED, DoorEventKind.CLOSED])
    assert bank.door_state(5) is DoorState.CLOSED


def test_a_door_opened_without_command_is_forced(bus, bank, events):
    bus.open_door(1, 7)
    assert wait_for(lambda: kinds(events, 7) == [DoorEventKind.FORCED_OPEN])


def test_the_pulse_goes_out_even_when_the_door_reads_open(bus, bank, events):
    bus.open_door(1, 8)
    assert wait_for(lambda: bank.door_state(8) is DoorState.OPEN)
    assert bank.unlock(8).acknowledged
    assert codec.Request(1, 8, codec.CMD_UNLOCK) in bus.requests(codec.CMD_UNLOCK)


def test_a_jammed_lock_is_acknowledged_but_reports_unlock_failed(bus):
    bank = KerongLockerBank(load_box("demo"), bus.port, unlock_window=0.2, **FAST)
    try:
        assert wait_for(lambda: ok(bank))
        events = []
        bank.subscribe(events.append)
        bus.jam(1, 2)
        assert bank.unlock(2).acknowledged
        assert wait_for(lambda: kinds(events, 2) == [DoorEventKind.UNLOCK_FAILED])
        board_a = health(bank)["lock board A"]
        assert board_a.status is HealthStatus.DEGRADED
        assert "compartment 2" in board_a.detail
        assert health(bank)["lock board B"].status is HealthStatus.OK
    finally:
        bank.close()


def test_the_second_board_answers_at_its_own_address(bus, bank, events):
    assert bank.unlock(18).acknowledged  # board B, channel 2
    assert codec.Request(2, 2, codec.CMD_UNLOCK) in bus.requests(codec.CMD_UNLOCK)
    assert bus.door_open(2, 2) and not bus.door_open(1, 2)
    assert wait_for(lambda: kinds(events, 18) == [DoorEventKind.OPENED])
    assert bank.door_state(2) is DoorState.CLOSED


def test_garbled_replies_degrade_the_board(bus, bank):
    bus.set_corrupt(True)
    before = len(bus.requests(codec.CMD_UNLOCK))
    result = bank.unlock(1)
    assert not result.acknowledged
    assert "checksum" in result.detail
    # The board answered (badly), so the lock was pulsed: never pulse it twice.
    assert len(bus.requests(codec.CMD_UNLOCK)) - before == 1
    assert wait_for(lambda: health(bank)["lock board A"].status is HealthStatus.DEGRADED)
    assert "checksum" in health(bank)["lock board A"].detail
    bus.set_corrupt(False)
    assert wait_for(lambda: health(bank)["lock board A"].status is HealthStatus.DEGRADED
                    and "unlock not acknowledged" in health(bank)["lock board A"].detail)


def test_noise_before_a_reply_is_skipped(bus, bank, events):
    bus.add_noise(b"\xff\x02\x00\x13")
    assert bank.unlock(4).acknowledged
    assert ok(bank)


def test_a_silent_board_times_out_and_fails_then_recovers(bus, bank):
    bus.set_silent(True, address=2)
    result = bank.unlock(17)
    assert not result.acknowledged and "no answer from board B (address 2)" in result.detail
    assert wait_for(lambda: health(bank)["lock board B"].status is HealthStatus.FAILED)
    assert health(bank)["lock board A"].status is HealthStatus.OK
    assert bank.door_state(17) is DoorState.UNKNOWN
    bus.set_silent(False, address=2)
    # Answering again; the unanswered unlock stays on record until it succeeds.
    assert wait_for(lambda: health(bank)["lock board B"].detail.startswith("compartment 17"))
    assert health(bank)["lock board B"].status is HealthStatus.DEGRADED
    assert bank.door_state(17) is DoorState.CLOSED  # a dead board pulses nothing
    assert bank.unlock(17).acknowledged
    assert wait_for(lambda: health(bank)["lock board B"].status is HealthStatus.OK)


def test_unplug_fails_the_boards_and_replug_recovers(bus, bank, events):
    bus.unplug()
    assert wait_for(lambda: all(h.status is HealthStatus.FAILED for h in bank.health()))
    assert bus.port in bank.health()[0].detail
    with pytest.raises(DeviceUnavailable, match="serial port"):
        bank.unlock(1)
    assert bank.door_state(1) is DoorState.UNKNOWN
    bus.open_door(1, 9)  # forced while the adapter was out
    bus.replug()
    assert wait_for(lambda: ok(bank))
    assert wait_for(lambda: kinds(events, 9) == [DoorEventKind.FORCED_OPEN])
    assert bank.unlock(1).acknowledged


def test_port_missing_at_start_then_appearing(tmp_path):
    link = tmp_path / "ttyRS485"
    bank = KerongLockerBank(load_box("demo"), str(link), **FAST)
    try:
        assert wait_for(lambda: "not found" in bank.health()[0].detail)
        failed = bank.health()
        assert all(h.status is HealthStatus.FAILED for h in failed)
        assert str(link) in failed[0].detail and "plugged in" in failed[0].detail
        with pytest.raises(DeviceUnavailable, match="not found"):
            bank.unlock(1)
        with KerongBus([1, 2], link=str(link)):
            assert wait_for(lambda: ok(bank))
            assert bank.unlock(1).acknowledged
    finally:
        bank.close()


def test_rs485_mode_on_a_pty_gives_a_clear_error(bus):
    bank = KerongLockerBank(load_box("demo"), bus.port, rs485=True, **FAST)
    try:
        assert wait_for(lambda: "RS485 mode" in bank.health()[0].detail)
        assert "rs485 = false" in bank.health()[0].detail
    finally:
        bank.close()


def test_options_are_checked():
    with pytest.raises(DriverConfigError, match="port"):
        KerongLockerBank.from_options({})
    with pytest.raises(DriverConfigError, match="baudrate"):
        KerongLockerBank.from_options({"port": "/dev/null", "baudrate": "fast"})


def test_boards_need_an_address(tmp_path):
    # relay8 has one board without an address
    with pytest.raises(DriverConfigError, match="address"):
        KerongLockerBank(load_box("relay8"), str(tmp_path / "tty"))


def test_close_is_idempotent_and_releases_the_port(bus, bank):
    bank.close()
    bank.close()
    assert all(h.status is HealthStatus.FAILED for h in bank.health())
    with pytest.raises(DeviceUnavailable):
        bank.unlock(1)


def test_kiosk_hw_opens_a_door_through_the_kerong_driver(bus, tmp_path, capsys):
    from hardware import cli

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[hardware.locker_bank]\ndriver = "kerong"\nport = "{bus.port}"\nbox = "demo"\n'
        'timeout = 0.05\npoll_interval = 0.02\n'
    )
    assert cli.main(["doors", "--config", str(config)]) == 0
    assert "   3  M          1    3  standard  closed" in capsys.readouterr().out
    assert cli.main(["open", "3", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "compartment 3: unlock acknowledged" in out and "compartment 3: opened" in out
    assert bus.door_open(1, 3)
