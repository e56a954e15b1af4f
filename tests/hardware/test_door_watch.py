"""DoorWatch: the rules that tell an opening from a forced door or a jam."""

import pytest

from hardware.door_watch import DoorWatch
from hardware.interfaces import DoorEventKind, DoorState

OPEN, CLOSED, UNKNOWN = DoorState.OPEN, DoorState.CLOSED, DoorState.UNKNOWN


def kinds(events):
    return [(e.compartment, e.kind) for e in events]


@pytest.fixture
def watch():
    w = DoorWatch(unlock_window=10.0)
    assert w.observe({1: CLOSED, 2: CLOSED}, now=0.0) == []  # starting point
    return w


def test_open_after_unlock_is_opened(watch):
    watch.unlock_sent(1, now=100.0)
    assert kinds(watch.observe({1: OPEN}, now=100.5)) == [(1, DoorEventKind.OPENED)]


def test_open_at_the_edge_of_the_window_still_counts(watch):
    watch.unlock_sent(1, now=100.0)
    assert kinds(watch.observe({1: OPEN}, now=110.0)) == [(1, DoorEventKind.OPENED)]


def test_open_without_unlock_is_forced(watch):
    assert kinds(watch.observe({1: OPEN}, now=5.0)) == [(1, DoorEventKind.FORCED_OPEN)]


def test_unlock_of_another_compartment_does_not_excuse_a_forced_door(watch):
    watch.unlock_sent(2, now=5.0)
    assert kinds(watch.observe({1: OPEN}, now=5.1)) == [(1, DoorEventKind.FORCED_OPEN)]


def test_close_is_reported(watch):
    watch.unlock_sent(1, now=1.0)
    watch.observe({1: OPEN}, now=1.1)
    assert kinds(watch.observe({1: CLOSED}, now=30.0)) == [(1, DoorEventKind.CLOSED)]


def test_unlock_is_used_up_by_one_opening(watch):
    watch.unlock_sent(1, now=1.0)
    watch.observe({1: OPEN}, now=1.1)
    watch.observe({1: CLOSED}, now=2.0)
    assert kinds(watch.observe({1: OPEN}, now=3.0)) == [(1, DoorEventKind.FORCED_OPEN)]


def test_still_closed_after_window_is_unlock_failed_once(watch):
    watch.unlock_sent(1, now=0.0)
    assert watch.observe({1: CLOSED}, now=9.9) == []
    events = watch.observe({1: CLOSED}, now=10.1)
    assert kinds(events) == [(1, DoorEventKind.UNLOCK_FAILED)]
    assert "10 s" in events[0].detail
    assert watch.observe({}, now=20.0) == []
    assert watch.awaiting_open() == set()


def test_expire_alone_reports_jams(watch):
    watch.unlock_sent(2, now=0.0)
    assert kinds(watch.expire(now=11.0)) == [(2, DoorEventKind.UNLOCK_FAILED)]


def test_late_opening_reports_failed_unlock_then_forced(watch):
    watch.unlock_sent(1, now=0.0)
    assert kinds(watch.observe({1: OPEN}, now=15.0)) == [
        (1, DoorEventKind.UNLOCK_FAILED),
        (1, DoorEventKind.FORCED_OPEN),
    ]


def test_opening_after_reported_failure_is_forced(watch):
    watch.unlock_sent(1, now=0.0)
    watch.expire(now=11.0)
    assert kinds(watch.observe({1: OPEN}, now=12.0)) == [(1, DoorEventKind.FORCED_OPEN)]


def test_unlock_while_already_open_expects_nothing(watch):
    watch.observe({1: OPEN}, now=1.0)  # forced
    watch.unlock_sent(1, now=2.0)
    assert watch.awaiting_open() == set()
    assert watch.observe({1: OPEN}, now=50.0) == []


def test_unknown_readings_keep_the_last_state(watch):
    assert watch.observe({1: UNKNOWN}, now=1.0) == []
    assert watch.state(1) is CLOSED
    # Forced while the board was offline: reported once it answers again.
    assert kinds(watch.observe({1: OPEN}, now=2.0)) == [(1, DoorEventKind.FORCED_OPEN)]


def test_first_reading_is_a_baseline():
    watch = DoorWatch()
    assert watch.observe({1: OPEN, 2: CLOSED}, now=0.0) == []
    assert watch.state(1) is OPEN
    assert watch.state(3) is UNKNOWN


def test_first_reading_open_with_pending_unlock_is_opened():
    watch = DoorWatch()
    watch.unlock_sent(1, now=0.0)
    assert kinds(watch.observe({1: OPEN}, now=0.2)) == [(1, DoorEventKind.OPENED)]


def test_first_reading_closed_keeps_the_unlock_pending():
    watch = DoorWatch(unlock_window=1.0)
    watch.unlock_sent(1, now=0.0)
    assert watch.observe({1: CLOSED}, now=0.5) == []
    assert kinds(watch.observe({}, now=2.0)) == [(1, DoorEventKind.UNLOCK_FAILED)]


def test_events_come_in_compartment_order(watch):
    events = watch.observe({2: OPEN, 1: OPEN}, now=1.0)
    assert [e.compartment for e in events] == [1, 2]


def test_window_is_configurable():
    watch = DoorWatch(unlock_window=2.0)
    watch.observe({1: CLOSED}, now=0.0)
    watch.unlock_sent(1, now=0.0)
    assert kinds(watch.observe({}, now=2.5)) == [(1, DoorEventKind.UNLOCK_FAILED)]


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="unlock_window"):
        DoorWatch(unlock_window=0)
