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
from collections.abc import Callable

# pick_first over the resolved addresses in random order: the kiosks of one
# DNS name spread over its instances, and each moves on when its one fails.
SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": True}}]})

# Errors after which another instance may do better: this one is down,
# unreachable or too slow. A refusal (permission, bad request) would be the
# same everywhere.
MOVE_ON = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})


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


def next_target(index: int, count: int) -> int:
    return (index + 1) % count if count else 0


def moves_on(code_name: str) -> bool:
    return code_name in MOVE_ON


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
