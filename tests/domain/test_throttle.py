"""Throttling failed attempts per kiosk."""

from __future__ import annotations

from datetime import timedelta

from domain_kit import T0
from kiosk.domain.throttle import AttemptThrottle

SEC = timedelta(seconds=1)


def test_free_failures_cost_no_wait():
    t = AttemptThrottle(free_failures=3)
    for i in range(3):
        t.record_failure(T0)
        assert t.wait_time(T0) == timedelta(0), f"after {i + 1} failures"


def test_backoff_doubles_then_caps():
    t = AttemptThrottle(free_failures=3, base_delay=2 * SEC, max_delay=timedelta(minutes=5), alarm_after=1000)
    waits = []
    for _ in range(20):
        t.record_failure(T0)
        waits.append(t.wait_time(T0).total_seconds())
    assert waits[:3] == [0, 0, 0]
    assert waits[3:11] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert waits[11:] == [300] * 9


def test_backoff_survives_a_flood_of_failures():
    t = AttemptThrottle(alarm_after=10**9, window=timedelta(days=1))
    for _ in range(2000):
        t.record_failure(T0)
    assert t.wait_time(T0) == t.max_delay
    assert t.recent_failures == 2000


def test_wait_counts_down_and_ends():
    t = AttemptThrottle(free_failures=0, base_delay=10 * SEC)
    t.record_failure(T0)
    assert t.wait_time(T0) == 10 * SEC
    assert t.wait_time(T0 + 4 * SEC) == 6 * SEC
    assert t.wait_time(T0 + 10 * SEC) == timedelta(0)
    assert t.wait_time(T0 + 60 * SEC) == timedelta(0)


def test_window_forgets_old_failures():
    window = timedelta(minutes=15)
    t = AttemptThrottle(free_failures=3, window=window)
    for _ in range(5):
        t.record_failure(T0)
    assert t.recent_failures == 5
    later = T0 + window
    t.record_failure(later)
    assert t.recent_failures == 1
    assert t.wait_time(later) == timedelta(0)


def test_failures_just_inside_the_window_still_count():
    window = timedelta(minutes=15)
    t = AttemptThrottle(free_failures=1, base_delay=SEC, window=window)
    t.record_failure(T0)
    almost = T0 + window - SEC
    t.record_failure(almost)
    assert t.recent_failures == 2
    assert t.wait_time(almost) == SEC


def test_alarm_exactly_once_at_the_threshold():
    t = AttemptThrottle(alarm_after=10)
    results = [t.record_failure(T0 + i * SEC) for i in range(25)]
    assert results.index(True) == 9
    assert results.count(True) == 1


def test_alarm_again_after_the_window_has_passed():
    t = AttemptThrottle(alarm_after=3, window=timedelta(minutes=15))
    assert [t.record_failure(T0) for _ in range(4)] == [False, False, True, False]
    later = T0 + timedelta(hours=1)
    assert [t.record_failure(later) for _ in range(4)] == [False, False, True, False]


def test_refused_attempts_count_towards_the_alarm_but_not_the_wait():
    t = AttemptThrottle(free_failures=0, base_delay=timedelta(minutes=1), alarm_after=4)
    assert t.record_failure(T0) is False
    blocked_until = T0 + t.wait_time(T0)
    results = [t.record_refused(T0 + i * SEC) for i in range(1, 6)]
    assert results == [False, False, True, False, False]
    assert T0 + SEC + t.wait_time(T0 + SEC) == blocked_until, "refusals do not lengthen the wait"
    assert t.recent_failures == 6
    t.record_refused(T0 + timedelta(hours=1))
    assert t.recent_failures == 1
