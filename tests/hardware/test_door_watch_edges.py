"""DoorWatch at its exact boundaries: the default window, the last instant
of the window, the texts of the events, and what the view methods return."""

from __future__ import annotations

import pytest

from hardware.door_watch import DEFAULT_UNLOCK_WINDOW, DoorWatch
from hardware.interfaces import DoorEvent, DoorEventKind, DoorState

OPEN, CLOSED, UNKNOWN = DoorState.OPEN, DoorState.CLOSED, DoorState.UNKNOWN


def closed_watch(window: float = DEFAULT_UNLOCK_WINDOW) -> DoorWatch:
    watch = DoorWatch(unlock_window=window)
    watch.observe({1: CLOSED, 2: CLOSED}, now=0.0)
    return watch


def test_default_window_is_ten_seconds():
    assert DEFAULT_UNLOCK_WINDOW == 10.0
    assert DoorWatch().unlock_window == 10.0


def test_the_window_ends_at_exactly_its_length():
    watch = closed_watch()
    watch.unlock_sent(1, now=100.0)
    assert watch.expire(now=110.0) == []  # the last instant still counts
    assert watch.awaiting_open() == {1}
    assert watch.expire(now=110.001) == [DoorEvent(
        1, DoorEventKind.UNLOCK_FAILED, "door still closed 10 s after the unlock command")]
    assert watch.awaiting_open() == set()


def test_opening_just_after_the_window_is_late():
    watch = closed_watch()
    watch.unlock_sent(1, now=100.0)
    events = watch.observe({1: OPEN}, now=110.001)
    assert events == [
        DoorEvent(1, DoorEventKind.UNLOCK_FAILED,
                  "door still closed 10 s after the unlock command"),
        DoorEvent(1, DoorEventKind.FORCED_OPEN, "opened without an unlock command"),
    ]


def test_opening_at_the_last_instant_is_an_opening():
    watch = closed_watch(window=2.5)
    watch.unlock_sent(1, now=1.0)
    assert watch.observe({1: OPEN}, now=3.5) == [DoorEvent(1, DoorEventKind.OPENED)]
    assert watch.awaiting_open() == set()


def test_failure_text_names_a_fractional_window():
    watch = closed_watch(window=2.5)
    watch.unlock_sent(2, now=0.0)
    assert watch.expire(now=3.0)[0].detail == "door still closed 2.5 s after the unlock command"


@pytest.mark.parametrize("window", [0, 0.0, -1.0])
def test_window_must_be_above_zero(window):
    with pytest.raises(ValueError, match="must be > 0 seconds"):
        DoorWatch(unlock_window=window)


def test_a_tiny_window_is_allowed():
    assert DoorWatch(unlock_window=0.001).unlock_window == 0.001


def test_awaiting_open_is_a_copy():
    watch = closed_watch()
    watch.unlock_sent(1, now=0.0)
    view = watch.awaiting_open()
    view.clear()
    assert watch.awaiting_open() == {1}


def test_closing_forgets_the_unlock_and_the_wait():
    watch = closed_watch()
    watch.unlock_sent(1, now=0.0)
    watch.observe({1: OPEN}, now=1.0)
    watch.unlock_sent(1, now=2.0)  # while open: nothing to wait for
    assert watch.awaiting_open() == set()
    assert watch.observe({1: CLOSED}, now=3.0) == [DoorEvent(1, DoorEventKind.CLOSED)]
    # the pulse sent while open was forgotten with the closing
    assert watch.observe({1: OPEN}, now=4.0) == [
        DoorEvent(1, DoorEventKind.FORCED_OPEN, "opened without an unlock command")]


def test_unknown_reading_after_an_unlock_while_open_changes_nothing():
    watch = DoorWatch()
    watch.observe({1: OPEN}, now=0.0)
    watch.unlock_sent(1, now=1.0)
    assert watch.observe({1: UNKNOWN}, now=1.5) == []
    assert watch.state(1) is OPEN


def test_same_reading_again_is_no_event():
    watch = closed_watch()
    assert watch.observe({1: CLOSED, 2: CLOSED}, now=1.0) == []
    watch.observe({1: OPEN}, now=2.0)
    assert watch.observe({1: OPEN}, now=3.0) == []


def test_unknown_first_reading_keeps_nothing():
    watch = DoorWatch()
    assert watch.observe({1: UNKNOWN}, now=0.0) == []
    assert watch.state(1) is UNKNOWN
    assert watch.observe({1: OPEN}, now=1.0) == []  # the first real reading is the baseline


def test_jams_of_several_compartments_come_in_order():
    watch = closed_watch()
    watch.unlock_sent(2, now=0.0)
    watch.unlock_sent(1, now=0.0)
    assert [e.compartment for e in watch.observe({}, now=11.0)] == [1, 2]
