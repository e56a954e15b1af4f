"""The time the kiosk trusts, and wall-clock steps.

The wall clock of a kiosk can jump: a dead RTC battery, a bad NTP answer, a
technician setting the date. A jump must never expire an order, lock a
citizen out or hold back a report by itself. So the kiosk keeps an
*anchor*: a wall time it trusts, taken at a moment of the monotonic clock
(which never jumps), and reads trusted time as anchor + monotonic elapsed.

- A reading of the wall clock close to trusted time (within the tolerance)
  moves the anchor to it, so NTP's slow corrections are followed.
- A step up to `large` is journalled and reported, then followed.
- A larger step is journalled and reported, but not believed: trusted time
  goes on from the anchor until the registry's time (Register/Heartbeat
  server_time) or a staff confirmation says the wall clock is right.
- At start-up the monotonic clock knows nothing of the time the kiosk was
  off: time never runs back behind the last trusted time that was stored,
  and a forward jump beyond `large` waits for the registry like a step.

The rules are pure functions (`judge_reading`, `start_anchor`), which the
tests call directly; `TrustedClock` holds the anchor and the steps still to
report, and is safe to read from the core and the uplink threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Anchor:
    """A wall time the kiosk trusts, taken at monotonic instant `mono` (seconds)."""

    wall: datetime
    mono: float
    source: str  # "wall", "registry", "staff", "stored"

    def at(self, mono: float) -> datetime:
        return self.wall + timedelta(seconds=mono - self.mono)


class Verdict(Enum):
    IN_STEP = "in_step"  # within tolerance: follow the wall clock
    STEP = "step"  # a step: report it, then follow
    LARGE_STEP = "large_step"  # report it, keep trusted time until confirmed


def judge_reading(offset: timedelta, tolerance: timedelta, large: timedelta) -> Verdict:
    """How far the wall clock is from trusted time (wall - trusted) decides what to believe."""
    size = abs(offset)
    if size <= tolerance:
        return Verdict.IN_STEP
    if size <= large:
        return Verdict.STEP
    return Verdict.LARGE_STEP


def start_anchor(
    wall: datetime, mono: float, last_trusted: datetime | None, large: timedelta
) -> tuple[Anchor, timedelta | None]:
    """The anchor at start-up and the step to report (None: nothing to report).

    Back behind the last stored trusted time: a step back, not believed (time
    never runs backwards across a restart). Forward by more than `large`: the
    kiosk may have been off that long, or the clock jumped; not believed until
    the registry or staff confirm, which at worst postpones an expiry.
    """
    if last_trusted is None:
        return Anchor(wall, mono, "wall"), None
    offset = wall - last_trusted
    if offset < timedelta(0) or offset > large:
        return Anchor(last_trusted, mono, "stored"), offset
    return Anchor(wall, mono, "wall"), None


def describe_offset(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = (
        f"{days}d {hours:02}:{minutes:02}:{secs:02}"
        if days
        else f"{hours:02}:{minutes:02}:{secs:02}"
    )
    return sign + text


class TrustedClock:
    """Trusted time from a wall clock and a monotonic clock (both injectable)."""

    def __init__(
        self,
        wall: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        tolerance: timedelta = timedelta(seconds=30),
        large: timedelta = timedelta(minutes=10),
        last_trusted: datetime | None = None,
    ):
        self.wall = wall
        self.monotonic = monotonic
        self.tolerance = tolerance
        self.large = large
        self._lock = threading.Lock()
        self._reports: list[str] = []
        self._anchor, offset = start_anchor(wall(), monotonic(), last_trusted, large)
        # The offset of a large step already reported, so it is reported once.
        self._held_offset: timedelta | None = offset
        # True while the held offset is the registry's word against the wall
        # clock (staff cannot overrule it); the offset staff said is wrong.
        self._held_by_registry = False
        self._denied_offset: timedelta | None = None
        if offset is not None and offset < timedelta(0):
            # Forward is what a kiosk that was off looks like: no alarm, but
            # held until the registry's time says whether the wall clock is right.
            self._reports.append(
                f"wall clock {describe_offset(offset)} behind the last trusted time at start-up; "
                "not believed until the registry's time or staff confirm it"
            )

    @property
    def confirmed(self) -> bool:
        """False while a large step waits for the registry's time or staff."""
        with self._lock:
            return self._held_offset is None

    @property
    def anchor(self) -> Anchor:
        with self._lock:
            return self._anchor

    def now(self) -> datetime:
        wall, mono = self.wall(), self.monotonic()
        with self._lock:
            trusted = self._anchor.at(mono)
            offset = wall - trusted
            verdict = judge_reading(offset, self.tolerance, self.large)
            if verdict is Verdict.IN_STEP:
                if self._held_offset is not None:
                    self._reports.append(
                        f"wall clock back in line with trusted time "
                        f"(it was {describe_offset(self._held_offset)} off)"
                    )
                    self._held_offset = None
                self._anchor = Anchor(wall, mono, "wall")
                return wall
            if verdict is Verdict.STEP and self._anchor.source not in ("registry", "stored"):
                self._reports.append(f"wall clock stepped {describe_offset(offset)}; followed")
                self._held_offset = None
                self._anchor = Anchor(wall, mono, "wall")
                return wall
            if self._held_offset is None or abs(offset - self._held_offset) > self.tolerance:
                self._reports.append(
                    f"wall clock stepped {describe_offset(offset)}; not believed: deadlines, "
                    "backoffs and retries go on from the trusted time until the registry's "
                    "time or staff confirm it"
                )
                self._held_offset = offset
                self._held_by_registry = False
            return trusted

    def registry_time(self, server_time: datetime, mono: float | None = None) -> None:
        """The registry's clock (server_time of a Register/Heartbeat reply) is trusted."""
        mono = self.monotonic() if mono is None else mono
        wall = self.wall()
        with self._lock:
            before = self._anchor.at(mono)
            self._anchor = Anchor(server_time, mono, "registry")
            wall_offset = wall - server_time
            if abs(before - server_time) > self.tolerance:
                log.info(
                    "trusted time set from the registry (%s)", describe_offset(server_time - before)
                )
            if abs(wall_offset) > self.tolerance:
                if (
                    self._held_offset is None
                    or abs(wall_offset - self._held_offset) > self.tolerance
                ):
                    self._reports.append(
                        f"wall clock is {describe_offset(wall_offset)} off the registry's time"
                    )
                self._held_offset = wall_offset
                self._held_by_registry = True
            else:
                self._held_offset = None

    def confirm_wall_clock(self, staff_ids: tuple[str, ...]) -> None:
        """Staff confirm that the wall clock shows the right time."""
        wall, mono = self.wall(), self.monotonic()
        with self._lock:
            self._reports.append(f"wall clock confirmed by staff {', '.join(staff_ids)}")
            self._anchor = Anchor(wall, mono, "staff")
            self._held_offset = None

    def step_to_confirm(self) -> tuple[timedelta, datetime] | None:
        """A held step staff may confirm: (wall - trusted, what the wall clock shows).

        None when nothing is held, when the registry's time contradicts the
        wall clock (the registry outranks staff), or when staff said this
        step is wrong.
        """
        wall = self.wall()
        with self._lock:
            offset = self._held_offset
            if offset is None or self._held_by_registry:
                return None
            if self._denied_offset is not None and abs(offset - self._denied_offset) <= self.tolerance:
                return None
            return offset, wall

    def deny_wall_clock(self, staff_ids: tuple[str, ...]) -> None:
        """Staff say the wall clock is wrong: trusted time goes on; the question is not asked again."""
        with self._lock:
            if self._held_offset is None:
                return
            self._denied_offset = self._held_offset
            self._reports.append(
                f"wall clock ({describe_offset(self._held_offset)} off) is wrong, say staff "
                f"{', '.join(staff_ids)}; trusted time kept until the registry's time"
            )

    def take_reports(self) -> list[str]:
        """The steps to journal and report since the last call."""
        with self._lock:
            reports, self._reports = self._reports, []
            return reports
