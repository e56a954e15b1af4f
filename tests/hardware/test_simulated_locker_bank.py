"""The simulated locker bank: doors, faults and what the kiosk would see."""

import threading
import tomllib

import pytest

from hardware.box import DEMO_BOX, box_from_dict
from hardware.errors import DeviceUnavailable, DriverConfigError, UnknownCompartment
from hardware.interfaces import DoorEventKind, DoorState, HealthStatus, UnlockResult
from hardware.simulated import SimulatedLockerBank

OPENED, CLOSED, FORCED, FAILED = (
    DoorEventKind.OPENED,
    DoorEventKind.CLOSED,
    DoorEventKind.FORCED_OPEN,
    DoorEventKind.UNLOCK_FAILED,
)


def demo_data():
    return tomllib.loads(DEMO_BOX.read_text(encoding="utf-8"))


def make_bank(*, jammed=(), no_ack=(), offline=False, sensors=True, window=10.0, **kwargs):
    data = demo_data()
    data["faults"] = {"jammed": list(jammed), "no_ack": list(no_ack), "offline": offline}
    for board in data["boards"]:
        board["door_sensors"] = sensors
    # A frozen clock: time moves only with advance(), so tests are exact.
    return SimulatedLockerBank(
        box_from_dict(data, source="test box"), unlock_window=window, clock=lambda: 0.0, **kwargs
    )


class Recorder:
    def __init__(self, bank):
        self.events = []
        self.unsubscribe = bank.subscribe(self.events.append)

    @property
    def kinds(self):
        return [(e.compartment, e.kind) for e in self.events]


@pytest.fixture
def bank():
    return make_bank()


def test_unlock_pops_the_door_open(bank):
    seen = Recorder(bank)
    result = bank.unlock(3)
    assert result == UnlockResult(3, True)
    assert seen.kinds == [(3, OPENED)], "OPENED arrives before unlock() returns"
    assert bank.door_state(3) is DoorState.OPEN
    assert bank.door_state(4) is DoorState.CLOSED
    (command,) = bank.unlock_log
    assert (command.compartment, command.board, command.channel) == (3, "A", 3)
    assert command.acknowledged and command.door_before is DoorState.CLOSED


def test_wiring_from_the_box_reaches_the_second_board(bank):
    bank.unlock(17)
    assert (bank.unlock_log[0].board, bank.unlock_log[0].channel) == ("B", 1)


def test_unlock_always_pulses_even_when_door_reads_open(bank):
    seen = Recorder(bank)
    bank.unlock(5)
    result = bank.unlock(5)
    assert result.acknowledged
    assert [c.compartment for c in bank.unlock_log] == [5, 5]
    assert bank.unlock_log[1].door_before is DoorState.OPEN
    assert seen.kinds == [(5, OPENED)], "no second OPENED for a door that never closed"
    assert bank.advance(60) == [], "and no UNLOCK_FAILED either"


def test_close_door_reports_closed(bank):
    bank.unlock(2)
    seen = Recorder(bank)
    bank.close_door(2)
    assert seen.kinds == [(2, CLOSED)]
    assert bank.door_state(2) is DoorState.CLOSED


def test_jammed_door_stays_shut_and_fails_after_the_window():
    bank = make_bank(jammed=[7])
    seen = Recorder(bank)
    assert bank.unlock(7).acknowledged, "the board acknowledges; the lock just does not move"
    assert bank.door_state(7) is DoorState.CLOSED
    assert bank.advance(9.5) == []
    events = bank.advance(1.0)
    assert [(e.compartment, e.kind) for e in events] == [(7, FAILED)]
    assert seen.kinds == [(7, FAILED)]
    board_a = bank.health()[0]
    assert board_a.status is HealthStatus.DEGRADED and "compartment 7" in board_a.detail


def test_jam_can_be_injected_and_cleared(bank):
    bank.jam_door(4)
    bank.unlock(4)
    seen = Recorder(bank)
    bank.advance(11)
    assert seen.kinds == [(4, FAILED)]
    bank.jam_door(4, jammed=False)
    bank.unlock(4)
    assert seen.kinds[-1] == (4, OPENED)
    assert all(h.status is HealthStatus.OK for h in bank.health()), "a good unlock clears it"


def test_poll_notices_a_jam_when_the_clock_moves():
    now = [100.0]
    data = demo_data()
    data["faults"] = {"jammed": [1]}
    bank = SimulatedLockerBank(box_from_dict(data), unlock_window=2.0, clock=lambda: now[0])
    seen = Recorder(bank)
    bank.unlock(1)
    now[0] = 101.0
    assert bank.poll() == []
    now[0] = 103.0
    bank.poll()
    assert seen.kinds == [(1, FAILED)]


def test_force_door_is_tamper(bank):
    seen = Recorder(bank)
    bank.force_door(9)
    assert seen.kinds == [(9, FORCED)]
    assert bank.door_state(9) is DoorState.OPEN
    assert bank.unlock_log == []


def test_force_opens_even_a_jammed_door():
    bank = make_bank(jammed=[6])
    seen = Recorder(bank)
    bank.force_door(6)
    assert seen.kinds == [(6, FORCED)]


def test_pulling_a_jammed_door_does_nothing():
    bank = make_bank(jammed=[6])
    seen = Recorder(bank)
    assert bank.open_door(6) is False
    assert seen.events == [] and bank.door_state(6) is DoorState.CLOSED


def test_pulling_a_door_without_unlock_is_forced(bank):
    seen = Recorder(bank)
    assert bank.open_door(8) is True
    assert seen.kinds == [(8, FORCED)]


def test_reopening_after_close_needs_a_new_unlock(bank):
    bank.unlock(2)
    bank.close_door(2)
    seen = Recorder(bank)
    bank.open_door(2)
    assert seen.kinds == [(2, FORCED)]


def test_jammed_door_pulled_free_within_the_window_counts_as_opened():
    bank = make_bank(jammed=[3])
    bank.unlock(3)
    bank.jam_door(3, jammed=False)
    seen = Recorder(bank)
    bank.advance(2)
    assert bank.open_door(3)
    assert seen.kinds == [(3, OPENED)]


def test_unacknowledged_unlock():
    bank = make_bank(no_ack=[12])
    seen = Recorder(bank)
    result = bank.unlock(12)
    assert result.compartment == 12 and not result.acknowledged
    assert "board A" in result.detail and "channel 12" in result.detail
    assert bank.unlock_log[0].acknowledged is False, "the pulse is still logged"
    assert bank.door_state(12) is DoorState.CLOSED
    assert bank.health()[0].status is HealthStatus.DEGRADED
    bank.advance(11)
    assert seen.kinds == [(12, FAILED)]


def test_no_ack_can_be_injected(bank):
    bank.set_no_ack(1)
    assert not bank.unlock(1).acknowledged
    bank.set_no_ack(1, False)
    assert bank.unlock(1).acknowledged


def test_bank_without_door_sensors():
    bank = make_bank(sensors=False, jammed=[2])
    seen = Recorder(bank)
    assert bank.has_door_sensors is False
    assert bank.unlock(1).acknowledged
    bank.unlock(2)
    bank.close_door(1)
    bank.force_door(3)
    bank.advance(30)
    assert seen.events == [], "no sensors, no door events"
    assert {bank.door_state(n) for n in (1, 2, 3, 4)} == {DoorState.UNKNOWN}
    assert bank.door_states()[3] is DoorState.OPEN, "the simulation still knows the truth"
    assert len(bank.unlock_log) == 2


def test_bundled_relay_box_has_no_sensors():
    bank = SimulatedLockerBank.from_options({"box": "relay8"})
    assert bank.has_door_sensors is False
    assert bank.door_state(1) is DoorState.UNKNOWN


def test_offline_and_recovery(bank):
    seen = Recorder(bank)
    bank.set_offline(True)
    with pytest.raises(DeviceUnavailable, match="board A"):
        bank.unlock(1)
    assert bank.unlock_log == [], "no pulse reached a board"
    assert {h.status for h in bank.health()} == {HealthStatus.FAILED}
    assert bank.door_state(1) is DoorState.UNKNOWN
    bank.force_door(2)  # while nobody is watching
    assert seen.events == []
    bank.set_offline(False)
    assert seen.kinds == [(2, FORCED)], "reported once the board answers again"
    assert {h.status for h in bank.health()} == {HealthStatus.OK}
    assert bank.unlock(1).acknowledged


def test_box_can_start_offline():
    bank = make_bank(offline=True)
    with pytest.raises(DeviceUnavailable):
        bank.unlock(1)
    bank.set_offline(False)
    assert bank.unlock(1).acknowledged


def test_unknown_compartment(bank):
    for call in (bank.unlock, bank.door_state, bank.force_door, bank.close_door, bank.jam_door):
        with pytest.raises(UnknownCompartment, match="1 to 20"):
            call(99)


def test_unsubscribe(bank):
    first, second = Recorder(bank), Recorder(bank)
    first.unsubscribe()
    first.unsubscribe()  # idempotent
    bank.unlock(1)
    assert first.events == [] and second.kinds == [(1, OPENED)]


def test_same_callback_twice_is_two_subscriptions(bank):
    events = []
    bank.subscribe(events.append)
    unsubscribe = bank.subscribe(events.append)
    bank.unlock(1)
    assert len(events) == 2
    unsubscribe()
    bank.close_door(1)
    assert len(events) == 3


def test_failing_callback_propagates_after_others_heard(bank):
    def broken(event):
        raise RuntimeError("consumer bug")

    bank.subscribe(broken)
    seen = Recorder(bank)
    with pytest.raises(RuntimeError, match="consumer bug"):
        bank.force_door(1)
    assert seen.kinds == [(1, FORCED)]


def test_layout_comes_from_the_box(bank):
    layout = bank.layout()
    assert layout == list(bank.box.compartments)
    layout.clear()
    assert bank.layout(), "callers get a copy"


def test_from_options(tmp_path):
    bank = SimulatedLockerBank.from_options({"box": DEMO_BOX, "unlock_window": 3})
    assert len(bank.layout()) == 20
    bank.jam_door(1)
    bank.unlock(1)
    assert [e.kind for e in bank.advance(3.5)] == [FAILED]


def test_from_options_rejects_unknown_option():
    with pytest.raises(DriverConfigError) as info:
        SimulatedLockerBank.from_options({"boxes": "demo"})
    assert info.value.option == "boxes"
    assert "box" in info.value.expected


def test_from_options_rejects_bad_window():
    with pytest.raises(DriverConfigError, match="unlock_window"):
        SimulatedLockerBank.from_options({"unlock_window": 0})


def test_background_polling_reports_jams_without_help():
    # Real time for this one: nobody calls poll() or advance().
    box = make_bank(jammed=[1]).box
    bank = SimulatedLockerBank(box, unlock_window=0.05, poll_interval=0.01)
    failed = threading.Event()
    bank.subscribe(lambda e: e.kind is FAILED and failed.set())
    try:
        bank.unlock(1)
        assert failed.wait(timeout=5), "the poll thread reported the jam"
    finally:
        bank.close()


def test_closed_bank_refuses_commands(bank):
    bank.close()
    bank.close()
    with pytest.raises(DeviceUnavailable):
        bank.unlock(1)
    assert {h.status for h in bank.health()} == {HealthStatus.FAILED}
