"""Turn unlock commands and door sensor readings into door events.

A lock board only reports "this door reads open". Whether that is a normal
opening or tampering depends on whether the kiosk unlocked the compartment a
moment ago, and a door that stays shut after an unlock means a jam. Every
driver with door sensors needs this reasoning, so it lives here once, as pure
logic: the driver tells `DoorWatch` what it commanded and what it read, with
the time, and sends on the events it gets back. No threads, no clock.

Rules, per compartment:

* closed -> open within `unlock_window` seconds of an unlock: OPENED. The
  unlock is used up, so a second opening needs a second unlock.
* closed -> open otherwise: FORCED_OPEN.
* open -> closed: CLOSED. This also forgets the unlock, because the lock
  latches again when the door is pushed shut.
* unlocked while closed, still not open when the window runs out:
  UNLOCK_FAILED, once.
* UNKNOWN readings (board offline, no sensor) change nothing: the last real
  reading stays the reference, so a door forced while the board was offline
  is reported as FORCED_OPEN once the board is back.
* The first reading of a compartment is only the starting point and causes
  no event unless an unlock is pending. At start-up the kiosk asks
  `door_state()` itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from hardware.interfaces import DoorEvent, DoorEventKind, DoorState

DEFAULT_UNLOCK_WINDOW = 10.0  # seconds


class DoorWatch:
    def __init__(self, unlock_window: float = DEFAULT_UNLOCK_WINDOW) -> None:
        if unlock_window <= 0:
            raise ValueError(f"unlock_window must be > 0 seconds, got {unlock_window!r}")
        self.unlock_window = unlock_window
        self._known: dict[int, DoorState] = {}  # last OPEN/CLOSED reading
        self._unlocked_at: dict[int, float] = {}  # last unlock not yet used up
        self._awaiting_open: set[int] = set()  # unlocked while not known open

    def unlock_sent(self, compartment: int, now: float) -> None:
        """Record that an unlock pulse went to the board at `now`.

        Call it for every pulse, acknowledged or not: a lost acknowledgement
        does not mean the lock stayed shut.
        """
        self._unlocked_at[compartment] = now
        # A door that already reads open cannot prove the unlock worked, so
        # there is nothing to wait for; the pulse still counts if it closes
        # and opens again within the window.
        if self._known.get(compartment) is not DoorState.OPEN:
            self._awaiting_open.add(compartment)

    def observe(self, readings: Mapping[int, DoorState], now: float) -> list[DoorEvent]:
        """Feed sensor readings taken at `now`; returns the resulting events.

        `readings` may hold every compartment (a board status reply) or just
        the ones that changed. Timeouts are checked too, so calling
        ``observe({}, now)`` regularly is how a driver learns of jams.
        """
        events: list[DoorEvent] = []
        for compartment in sorted(readings):
            events.extend(self._read(compartment, readings[compartment], now))
        events.extend(self.expire(now))
        return events

    def expire(self, now: float) -> list[DoorEvent]:
        """UNLOCK_FAILED for every unlock whose window ran out without an opening."""
        events = []
        for compartment in sorted(self._awaiting_open):
            if self._expired(compartment, now):
                events.append(self._unlock_failed(compartment))
        return events

    def state(self, compartment: int) -> DoorState:
        """The last OPEN/CLOSED reading, UNKNOWN if there was none."""
        return self._known.get(compartment, DoorState.UNKNOWN)

    def awaiting_open(self) -> set[int]:
        """Compartments unlocked whose door has not opened yet."""
        return set(self._awaiting_open)

    def _read(self, compartment: int, state: DoorState, now: float) -> list[DoorEvent]:
        if state is DoorState.UNKNOWN:
            return []
        previous = self._known.get(compartment, DoorState.UNKNOWN)
        self._known[compartment] = state
        if state is previous:
            return []

        if state is DoorState.CLOSED:
            if previous is DoorState.UNKNOWN:
                return []  # first reading; a pending unlock stays pending
            self._unlocked_at.pop(compartment, None)
            self._awaiting_open.discard(compartment)
            return [DoorEvent(compartment, DoorEventKind.CLOSED)]

        # The door now reads open.
        events = []
        if compartment in self._awaiting_open and self._expired(compartment, now):
            # Opened, but too late to count: report the failed unlock first,
            # in the order a continuous watcher would have seen it.
            events.append(self._unlock_failed(compartment))
        self._awaiting_open.discard(compartment)
        unlocked_at = self._unlocked_at.pop(compartment, None)
        if unlocked_at is not None and now - unlocked_at <= self.unlock_window:
            events.append(DoorEvent(compartment, DoorEventKind.OPENED))
        elif previous is DoorState.CLOSED:
            detail = "opened without an unlock command"
            events.append(DoorEvent(compartment, DoorEventKind.FORCED_OPEN, detail))
        return events

    def _expired(self, compartment: int, now: float) -> bool:
        return now - self._unlocked_at[compartment] > self.unlock_window

    def _unlock_failed(self, compartment: int) -> DoorEvent:
        self._awaiting_open.discard(compartment)
        return DoorEvent(
            compartment,
            DoorEventKind.UNLOCK_FAILED,
            f"door still closed {self.unlock_window:g} s after the unlock command",
        )
