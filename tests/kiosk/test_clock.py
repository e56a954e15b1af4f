"""The trusted clock: pure rules, and TrustedClock with a steppable wall and monotonic clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kiosk.clock import Anchor, TrustedClock, Verdict, judge_reading, start_anchor

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TOL = timedelta(seconds=30)
LARGE = timedelta(minutes=10)


class Clocks:
    """A wall clock that can step and a monotonic clock that only advances."""

    def __init__(self):
        self.wall_time = T0
        self.mono_time = 1000.0

    def wall(self):
        return self.wall_time

    def mono(self):
        return self.mono_time

    def elapse(self, seconds: float) -> None:
        self.wall_time += timedelta(seconds=seconds)
        self.mono_time += seconds

    def step(self, delta: timedelta) -> None:
        self.wall_time += delta


def trusted(clocks: Clocks, last: datetime | None = None) -> TrustedClock:
    return TrustedClock(clocks.wall, clocks.mono, tolerance=TOL, large=LARGE, last_trusted=last)


def test_judge_reading():
    assert judge_reading(timedelta(seconds=5), TOL, LARGE) is Verdict.IN_STEP
    assert judge_reading(timedelta(seconds=-90), TOL, LARGE) is Verdict.STEP
    assert judge_reading(timedelta(days=15), TOL, LARGE) is Verdict.LARGE_STEP
    assert judge_reading(timedelta(days=-1), TOL, LARGE) is Verdict.LARGE_STEP


def test_start_anchor_never_runs_back_behind_the_stored_time():
    anchor, step = start_anchor(T0 - timedelta(days=1), 5.0, T0, LARGE)
    assert anchor == Anchor(T0, 5.0, "stored") and step == timedelta(days=-1)


def test_start_anchor_believes_a_short_gap_but_not_a_long_jump():
    anchor, step = start_anchor(T0 + timedelta(minutes=3), 5.0, T0, LARGE)
    assert anchor.source == "wall" and step is None
    anchor, step = start_anchor(T0 + timedelta(days=15), 5.0, T0, LARGE)
    assert anchor.wall == T0 and step == timedelta(days=15)


def test_small_drift_is_followed_silently():
    c = Clocks()
    clock = trusted(c)
    c.elapse(60)
    c.step(timedelta(seconds=2))
    assert clock.now() == c.wall_time
    assert clock.take_reports() == []


def test_a_large_step_is_reported_once_and_not_believed():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(days=15))
    assert clock.now() == T0
    c.elapse(10)
    assert clock.now() == T0 + timedelta(seconds=10)
    reports = clock.take_reports()
    assert len(reports) == 1 and "+15d" in reports[0] and "not believed" in reports[0]
    assert not clock.confirmed
    c.step(timedelta(days=-15))  # and back
    assert clock.now() == c.wall_time
    assert clock.confirmed
    assert "back in line" in clock.take_reports()[0]


def test_a_step_back_during_a_backoff_does_not_stretch_it():
    c = Clocks()
    clock = trusted(c)
    blocked_until = clock.now() + timedelta(seconds=2)
    c.step(timedelta(days=-1))
    c.elapse(1)
    assert blocked_until - clock.now() == timedelta(seconds=1)


def test_the_registry_confirms_a_step():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(days=15))  # the wall clock was right to jump: the registry says so
    assert clock.now() == T0
    clock.registry_time(c.wall_time)
    assert clock.now() == c.wall_time
    assert clock.confirmed
    assert len(clock.take_reports()) == 1  # the step; the registry then agreed with the wall clock


def test_a_kiosk_that_was_off_waits_for_the_registry_without_an_alarm():
    c = Clocks()
    c.step(timedelta(hours=3))  # off for three hours
    clock = trusted(c, last=T0)
    assert clock.now() == T0 and not clock.confirmed
    clock.registry_time(c.wall_time)
    assert clock.now() == c.wall_time and clock.confirmed
    assert clock.take_reports() == []


def test_a_kiosk_whose_clock_went_back_while_off_reports_it():
    c = Clocks()
    c.step(timedelta(days=-1))
    clock = trusted(c, last=T0)
    assert clock.now() == T0
    assert "behind the last trusted time" in clock.take_reports()[0]


def test_a_wrong_wall_clock_against_the_registry_is_reported_once():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(minutes=3))  # a mid-sized step, followed at first
    clock.now()
    clock.registry_time(T0)  # the registry has the right time
    for _ in range(3):
        c.elapse(30)
        clock.registry_time(T0 + timedelta(seconds=30 * (_ + 1)))
        assert abs(clock.now() - (T0 + timedelta(seconds=30 * (_ + 1)))) < timedelta(seconds=1)
    reports = clock.take_reports()
    assert sum("off the registry" in r for r in reports) == 1, reports


def test_staff_confirm_the_wall_clock():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(days=2))
    clock.now()
    clock.confirm_wall_clock(("anna",))
    assert clock.now() == c.wall_time and clock.confirmed


def test_staff_are_asked_about_a_held_step_the_registry_has_not_seen():
    c = Clocks()
    clock = trusted(c)
    assert clock.step_to_confirm() is None
    c.step(timedelta(days=2))
    clock.now()
    offset, shown = clock.step_to_confirm()
    assert abs(offset - timedelta(days=2)) < TOL and shown == c.wall_time
    clock.confirm_wall_clock(("anna",))
    assert clock.step_to_confirm() is None


def test_staff_who_say_no_are_not_asked_again_for_that_step():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(days=2))
    trusted_before = clock.now()
    clock.deny_wall_clock(("anna", "ben"))
    assert clock.step_to_confirm() is None and not clock.confirmed
    assert clock.now() == trusted_before
    assert "is wrong, say staff anna, ben" in clock.take_reports()[-1]
    c.step(timedelta(days=3))  # another step: asked again
    clock.now()
    assert clock.step_to_confirm() is not None


def test_staff_are_not_asked_to_overrule_the_registry():
    c = Clocks()
    clock = trusted(c)
    c.step(timedelta(days=2))
    clock.now()
    clock.registry_time(T0)  # the registry says the wall clock is wrong
    assert clock.step_to_confirm() is None and not clock.confirmed
