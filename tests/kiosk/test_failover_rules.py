"""kiosk.uplink.failover: address lists, the fleet's spread and jittered backoff."""

from __future__ import annotations

from collections import Counter

import pytest

from kiosk.config import ConfigError, load_settings
from kiosk.uplink.failover import (
    ALIVE_SECONDS,
    DEADLINE_GROWTH_CAP,
    REFUSED_SECONDS,
    RETRY_AFTER_KEY,
    Heartbeats,
    backoff_delay,
    call_timeout,
    first_target,
    moves_on,
    next_target,
    overload_pause,
    overloaded,
    parse_targets,
    retry_after,
)


def test_addresses_are_separated_by_commas_without_blanks_or_repeats():
    assert parse_targets(" a:1, b:2,,a:1 ") == ["a:1", "b:2"]
    assert parse_targets("dns:///registry.example:50051") == ["dns:///registry.example:50051"]
    with pytest.raises(ValueError, match="no registry address"):
        parse_targets(" , ")


def test_a_config_address_without_a_port_is_refused_with_what_to_write():
    with pytest.raises(ConfigError, match="has no port"):
        load_settings(None, {"PICKUPBOX_REGISTRY__ADDRESS": "a:1,registry-b"})
    assert load_settings(None, {"PICKUPBOX_REGISTRY__ADDRESS": "a:1,b:2"}).registry.address == "a:1,b:2"


def test_a_fleet_spreads_over_the_instances_and_each_kiosk_keeps_its_start():
    starts = Counter(first_target(f"kiosk-{n}", 3) for n in range(3000))
    assert set(starts) == {0, 1, 2}
    assert min(starts.values()) > 800  # roughly a third each
    assert first_target("kiosk-7", 3) == first_target("kiosk-7", 3)


def test_moving_on_goes_round_the_list():
    assert [next_target(i, 3) for i in range(3)] == [1, 2, 0]
    assert next_target(0, 1) == 0


def test_moving_on_skips_an_address_that_just_refused_connections():
    assert next_target(0, 3, [None, 1.0, None]) == 2
    assert next_target(0, 3, [None, REFUSED_SECONDS, None]) == 1  # long enough ago
    # The survivor is busy and the other one refused moments ago: stay.
    assert next_target(1, 2, [0.5, None]) == 1


def test_an_unreachable_instance_is_left_a_busy_one_is_not():
    assert moves_on("UNAVAILABLE", answered_ago=0.1)
    assert not moves_on("RESOURCE_EXHAUSTED", answered_ago=None)
    assert not moves_on("RESOURCE_EXHAUSTED", answered_ago=1000)
    # A deadline that ran out on an instance answering moments ago: busy, stay.
    assert not moves_on("DEADLINE_EXCEEDED", answered_ago=1.0)
    # ... on one silent for long, or never heard: it may have vanished.
    assert moves_on("DEADLINE_EXCEEDED", answered_ago=ALIVE_SECONDS)
    assert moves_on("DEADLINE_EXCEEDED", answered_ago=None)
    assert not moves_on("PERMISSION_DENIED") and not moves_on("INVALID_ARGUMENT")
    assert overloaded("RESOURCE_EXHAUSTED") and overloaded("DEADLINE_EXCEEDED")
    assert not overloaded("UNAVAILABLE")


def test_retries_of_a_busy_instance_get_longer_deadlines_up_to_a_cap():
    assert [call_timeout(5.0, n) for n in (0, 1, 2, 3, 10)] == [5, 10, 20, 20, 20]
    assert call_timeout(5.0, 99) == 5.0 * DEADLINE_GROWTH_CAP


def test_the_retry_hint_is_read_from_the_trailing_metadata():
    assert retry_after(((RETRY_AFTER_KEY, "1500"),)) == 1.5
    assert retry_after((("other", "1"),)) is None
    assert retry_after(((RETRY_AFTER_KEY, "soon"),)) is None
    assert retry_after(((RETRY_AFTER_KEY, "-5"),)) == 0
    assert retry_after(()) is None


def test_a_busy_instance_is_waited_for_around_its_hint_or_one_backoff_step():
    assert overload_pause(2.0, 1, random=lambda: 0.0) == 1.0
    assert overload_pause(2.0, 1, random=lambda: 1.0) == 3.0
    assert overload_pause(100.0, 1, cap=20, random=lambda: 1.0) == 20
    assert overload_pause(None, 3, random=lambda: 1.0) == backoff_delay(3, random=lambda: 1.0)


def test_a_fleet_told_the_same_hint_does_not_come_back_in_one_instant():
    import random

    rng = random.Random(5)
    pauses = [overload_pause(1.0, 1, random=rng.random) for _ in range(1000)]
    assert min(pauses) >= 0.5 and max(pauses) <= 1.5
    assert len({round(p, 2) for p in pauses}) > 50


def test_backoff_doubles_its_ceiling_up_to_the_cap():
    top = lambda: 1.0  # noqa: E731  the largest draw
    assert backoff_delay(0, random=top) == 0
    assert [backoff_delay(n, base=0.5, cap=60, random=top) for n in (1, 2, 3, 4)] == [0.5, 1, 2, 4]
    assert backoff_delay(50, base=0.5, cap=60, random=top) == 60


def test_backoff_is_random_below_the_ceiling_but_never_a_tight_loop():
    assert backoff_delay(5, base=0.5, cap=60, random=lambda: 0.5) == 4
    assert backoff_delay(5, base=0.5, cap=60, random=lambda: 0.0) == 0.125
    assert backoff_delay(3, base=0.5, cap=0.1, random=lambda: 0.0) == 0.1


def test_a_fleet_that_fails_at_once_does_not_retry_at_once():
    import random

    rng = random.Random(7)
    delays = sorted(backoff_delay(4, base=0.5, cap=60, random=rng.random) for _ in range(2000))
    # Spread over the whole window (0..4 s): no second holds more than a third.
    per_second = Counter(int(d) for d in delays)
    assert set(per_second) == {0, 1, 2, 3}
    assert max(per_second.values()) < 2000 / 3


def test_heartbeats_come_every_interval_and_soon_after_the_registry_was_lost():
    beats = Heartbeats(30, random=lambda: 1.0)
    assert beats.due(0)  # at once at the start
    beats.sent(0)
    assert not beats.due(29.9) and beats.due(30)
    beats.lost(10)  # the instance died at 10 s: one backoff step, not 20 s more
    assert beats.next_at == 10.5
    assert not beats.due(10.4) and beats.due(10.5)
    beats.lost(10.2)  # noticed again meanwhile: not put off
    assert beats.next_at == 10.5
    beats.sent(10.5)
    assert beats.next_at == 40.5


def test_a_fleet_that_lost_its_instance_does_not_heartbeat_in_one_instant():
    import random

    rng = random.Random(3)
    moments = []
    for _ in range(1000):
        beats = Heartbeats(30, random=rng.random)
        beats.sent(0)
        beats.lost(5)
        moments.append(beats.next_at - 5)
    assert min(moments) >= 0.125 and max(moments) <= 0.5
    assert len({round(m, 2) for m in moments}) > 30  # spread, not one instant
