"""Which registry instance a kiosk talks to, and how long it waits before trying again.

A kiosk may be given several registry addresses ("a:50051,b:50051"): it
starts at one chosen by its id, so a fleet spreads over the instances, and
moves to the next when its instance stops answering. One name with several
addresses (DNS) is gRPC's own business: its resolver hands all of them to
the channel, which tries them in shuffled order (``SERVICE_CONFIG``).

Retries wait with "full jitter" exponential backoff: a random time up to a
ceiling that doubles with each failure. When an instance dies, a thousand
kiosks notice within the same second; without the randomness they would
all knock on the surviving instance in the same instants, again and again.
"""

from __future__ import annotations

import json
import random as _random
import zlib
from collections.abc import Callable, Sequence

# pick_first over the resolved addresses in random order: the kiosks of one
# DNS name spread over its instances, and each moves on when its one fails.
SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": True}}]})

# An instance is down or unreachable: another may do better. A refusal
# (permission, bad request) would be the same everywhere.
UNREACHABLE = frozenset({"UNAVAILABLE"})
# An instance that is there but has too much to do: it shed the call
# (RESOURCE_EXHAUSTED, registry.admission) or did not finish it in time.
# Moving the kiosk elsewhere would not help: when an instance died, the other
# one is where the whole fleet is, and sending kiosks back and forth between
# it and the dead address (a retry storm) was what kept 500 moving kiosks of
# 1,000 from getting back online (bench_failover). The kiosk backs off instead.
OVERLOADED = frozenset({"RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"})
# A deadline that ran out on an instance silent for this long may be a
# host that vanished without a word (power cut, a dropped network link,
# where no connection is refused): then the kiosk moves on after all.
ALIVE_SECONDS = 30.0
# An address that refused connections is not gone back to for this long
# (unless every other one refused too): a dead instance refuses at once, and
# a kiosk that has left it should wait out its overloaded survivor rather
# than hop between the two.
REFUSED_SECONDS = 30.0
# Retries of an overloaded instance get longer deadlines, up to this many
# times the configured one: a call that only needed a little more time does
# not end as one more DEADLINE_EXCEEDED, its work done for nothing.
DEADLINE_GROWTH_CAP = 4
# Calls a registry never sheds (registry.admission: they are how a kiosk
# gets back online and receives its commands): not held back by another
# call's retry hint.
NEVER_SHED = frozenset({"Heartbeat", "AcknowledgeCommands", "StreamCommands"})
# The trailing metadata in which a shedding registry says when to try again.
RETRY_AFTER_KEY = "retry-after-ms"


def parse_targets(address: str) -> list[str]:
    """ "host:port" or several, separated by commas; duplicates and blanks dropped."""
    targets: list[str] = []
    for part in address.split(","):
        target = part.strip()
        if target and target not in targets:
            targets.append(target)
    if not targets:
        raise ValueError("no registry address given: set registry.address to HOST:PORT[,HOST:PORT…]")
    return targets


def first_target(kiosk_id: str, count: int) -> int:
    """Where a kiosk starts: stable for the kiosk, spread evenly over the fleet."""
    return zlib.crc32(kiosk_id.encode()) % count if count else 0


def next_target(index: int, count: int, refused_ago: Sequence[float | None] = ()) -> int:
    """The next address round the list that has not refused connections in the
    last REFUSED_SECONDS (``refused_ago[i]``: seconds since address i refused,
    None if it never did); ``index`` itself if every other one did."""
    for step in range(1, count):
        candidate = (index + step) % count
        ago = refused_ago[candidate] if candidate < len(refused_ago) else None
        if ago is None or ago >= REFUSED_SECONDS:
            return candidate
    return index


def moves_on(code_name: str, answered_ago: float | None = None) -> bool:
    """Whether a failure with ``code_name`` sends the kiosk to another address.

    ``answered_ago``: seconds since the instance last answered this kiosk
    (None: never). Unreachable: yes. Overloaded: no, unless a deadline ran
    out on an instance that has not answered for ALIVE_SECONDS, or never
    (a shed call is an answer). Anything else: no. Where it moves to is
    :func:`next_target`'s choice: not back to an address that just refused.
    """
    if code_name in UNREACHABLE:
        return True
    if code_name == "DEADLINE_EXCEEDED":
        return answered_ago is None or answered_ago >= ALIVE_SECONDS
    return False


def overloaded(code_name: str) -> bool:
    return code_name in OVERLOADED


def call_timeout(timeout: float, overloads: int) -> float:
    """The deadline of a call after ``overloads`` overload failures in a row:
    doubled each time, at most DEADLINE_GROWTH_CAP times ``timeout``."""
    return timeout * min(DEADLINE_GROWTH_CAP, 2 ** max(0, min(overloads, 8)))


def retry_after(trailing_metadata) -> float | None:
    """Seconds the registry asked to wait (RETRY_AFTER_KEY), None if it did not say."""
    for key, value in trailing_metadata or ():
        if key == RETRY_AFTER_KEY:
            try:
                milliseconds = float(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, milliseconds) / 1000 if milliseconds == milliseconds else None
    return None


def overload_pause(hint: float | None, overloads: int, *, cap: float = 60.0,
                   random: Callable[[], float] = _random.random) -> float:
    """How long a kiosk holds all its calls to an instance that shed or timed
    out one: the registry's hint, spread over half to one and a half times
    it (so a fleet told "1 s" does not come back in the same instant), at
    most ``cap``; without a hint, one jittered backoff step."""
    if hint is None:
        return backoff_delay(overloads, cap=cap, random=random)
    return min(cap, hint * (0.5 + random()))


def backoff_delay(failures: int, *, base: float = 0.5, cap: float = 60.0,
                  random: Callable[[], float] = _random.random) -> float:
    """Seconds to wait after ``failures`` failures in a row (0 after none).

    Uniformly random up to ``base·2^(failures-1)``, at most ``cap``; never
    below ``base/4`` so that a run of small random draws does not turn into
    a tight loop of reconnects.
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * 2 ** min(failures - 1, 32))
    return max(min(base / 4, ceiling), ceiling * random())


class Heartbeats:
    """When the kiosk's next heartbeat is due: every ``interval`` seconds, and
    soon after the registry was lost (a failed call, or the command stream
    broke).

    Without the second rule a kiosk whose instance died would be seen by the
    instance it moved to only at its next regular heartbeat, up to an
    interval (30 s by default) later, although its stream had long moved
    over. "Soon" is one jittered backoff step, so a fleet that lost its
    instance in the same second does not knock on the survivor in the same
    instant either. Not thread-safe by itself: the uplink's main thread calls
    ``due``/``sent``, the command thread ``lost``; a lost update only makes one
    heartbeat come at its regular time.
    """

    def __init__(self, interval: float, *, random: Callable[[], float] = _random.random) -> None:
        self.interval = interval
        self.next_at = 0.0  # time.monotonic() of the next heartbeat; at once at the start
        self._random = random

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def sent(self, now: float) -> None:
        self.next_at = now + self.interval

    def lost(self, now: float) -> None:
        """The registry was lost at ``now``: heartbeat after one backoff step, not later."""
        self.next_at = min(self.next_at, now + backoff_delay(1, random=self._random))
