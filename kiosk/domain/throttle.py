"""Throttling of failed attempts, so codes and PINs cannot be guessed.

A 45-bit code alone is out of reach for guessing, but the 6-digit PIN is
not: we count failures per order (the order locks after a few) and per
kiosk (exponential backoff and an alarm), as a Packstation-style attack
would try many codes or many PINs in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class AttemptThrottle:
    """Failures within a sliding window; a success deliberately resets nothing,
    or an attacker could interleave their own valid code to clear the count."""

    free_failures: int = 3
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)
    alarm_after: int = 10
    # Failures older than this no longer count.
    window: timedelta = timedelta(minutes=15)
    _failures: list[datetime] = field(default_factory=list)
    _refused: list[datetime] = field(default_factory=list)
    _blocked_until: datetime | None = None
    _alarmed: bool = False

    def wait_time(self, now: datetime) -> timedelta:
        """How long the kiosk must wait before the next attempt (zero if none)."""
        if self._blocked_until is None or now >= self._blocked_until:
            return timedelta(0)
        return self._blocked_until - now

    def record_failure(self, now: datetime) -> bool:
        """Counts a failed attempt; returns True once when the alarm threshold is reached."""
        self._prune(now)
        self._failures.append(now)
        count = len(self._failures)
        if count > self.free_failures:
            # Double step by step and stop at the cap: base * 2**count would
            # overflow timedelta after ~50 failures in one window.
            delay = self.base_delay
            for _ in range(count - self.free_failures - 1):
                if delay >= self.max_delay:
                    break
                delay *= 2
            self._blocked_until = now + min(delay, self.max_delay)
        return self._check_alarm()

    def record_refused(self, now: datetime) -> bool:
        """Counts an attempt refused during the backoff. It does not lengthen the
        wait (a citizen retrying too early is not punished), but hammering
        through the backoff is what an attack looks like, so it counts
        towards the alarm."""
        self._prune(now)
        self._refused.append(now)
        return self._check_alarm()

    def _prune(self, now: datetime) -> None:
        self._failures = [t for t in self._failures if now - t < self.window]
        self._refused = [t for t in self._refused if now - t < self.window]

    def _check_alarm(self) -> bool:
        count = len(self._failures) + len(self._refused)
        if count >= self.alarm_after and not self._alarmed:
            self._alarmed = True
            return True
        if count < self.alarm_after:
            self._alarmed = False
        return False

    @property
    def recent_failures(self) -> int:
        """Failed and refused attempts within the window."""
        return len(self._failures) + len(self._refused)


def throttle_state(throttle: AttemptThrottle) -> dict:
    """What a throttle has counted, as JSON-ready data (to survive a restart)."""
    return {
        "failures": [t.isoformat() for t in throttle._failures],
        "refused": [t.isoformat() for t in throttle._refused],
        "blocked_until": throttle._blocked_until.isoformat() if throttle._blocked_until else None,
        "alarmed": throttle._alarmed,
    }


def restore_throttle(throttle: AttemptThrottle, state: dict) -> None:
    """Puts back what `throttle_state` saved; the policy (delays, window) stays its own."""
    throttle._failures = [datetime.fromisoformat(t) for t in state.get("failures", [])]
    throttle._refused = [datetime.fromisoformat(t) for t in state.get("refused", [])]
    blocked = state.get("blocked_until")
    throttle._blocked_until = datetime.fromisoformat(blocked) if blocked else None
    throttle._alarmed = bool(state.get("alarmed", False))
