"""Simulated drivers: a whole pickup box in memory, for tests and demos.

They implement the same protocols as the real drivers and are registered
the same way (entry point name ``simulated``), so the kiosk cannot tell
them apart; there is no "mock mode" in the application. On top of the
protocol each class has test controls, in the spirit of gpiozero's
MockFactory: close or jam a door, present a card, show a QR code, and look
at what the kiosk did (`unlock_log`, `history`).

The locker bank's cabinet (compartments, boards, faults, card presets) comes
from a box description file; see `hardware.box` and ``hardware/boxes/``.

Callbacks run synchronously in the thread that caused the event, before the
causing call returns, so tests need no waiting. An exception raised by a
callback propagates to that caller (after the other callbacks have run), so
a broken consumer fails its test instead of going unnoticed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hardware.box import DEMO_BOX, BoxDescription, CardPreset, Wiring, load_box
from hardware.door_watch import DEFAULT_UNLOCK_WINDOW, DoorWatch
from hardware.errors import CardError, DeviceUnavailable
from hardware.interfaces import (
    SIGNALS,
    CardEvent,
    CardEventKind,
    CompartmentSpec,
    DeviceHealth,
    DoorEvent,
    DoorEventKind,
    DoorState,
    HealthStatus,
    ScanEvent,
    Unsubscribe,
    UnlockResult,
)
from hardware.options import validate
from hardware.subscribers import Subscribers

log = logging.getLogger(__name__)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("box", mode="before", check_fields=False)
    @classmethod
    def _path_to_str(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value


# --- Locker bank ---------------------------------------------------------------------


@dataclass(frozen=True)
class UnlockCommand:
    """One unlock pulse that reached a board, as recorded in `unlock_log`."""

    compartment: int
    board: str
    channel: int
    at: float  # the bank's clock, see SimulatedLockerBank.now()
    door_before: DoorState  # the physical door when the pulse came
    acknowledged: bool


class _LockerBankOptions(_Options):
    box: str = "demo"
    unlock_window: float = Field(DEFAULT_UNLOCK_WINDOW, gt=0)
    poll_interval: float = Field(0.0, ge=0)


class SimulatedLockerBank:
    """A cabinet of spring-loaded doors on simulated lock boards.

    An acknowledged unlock pops the door open at once (OPENED). A jammed
    door stays shut and, once the unlock window has passed, is reported as
    UNLOCK_FAILED; time passes with `advance()` or `poll()`, or in a
    background thread when `poll_interval` is set (demos). Without door
    sensors (``door_sensors = false`` in the box) doors still move inside
    the simulation, but the bank reports UNKNOWN and sends no door events.

    Options (`from_options`): ``box`` (path or bundled name, default
    "demo"), ``unlock_window`` (seconds, default 10), ``poll_interval``
    (seconds, default 0 = no background thread).
    """

    def __init__(
        self,
        box: BoxDescription | None = None,
        *,
        unlock_window: float = DEFAULT_UNLOCK_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = 0.0,
    ) -> None:
        self.box = box if box is not None else load_box(DEMO_BOX)
        self.unlock_log: list[UnlockCommand] = []
        self._clock = clock
        self._skipped = 0.0  # time added by advance()
        self._lock = threading.RLock()
        self._subscribers: Subscribers[DoorEvent] = Subscribers()
        self._watch = DoorWatch(unlock_window)
        self._doors = {spec.number: DoorState.CLOSED for spec in self.box.compartments}
        self._jammed = set(self.box.faults.jammed)
        self._no_ack = set(self.box.faults.no_ack)
        self._offline = self.box.faults.offline
        self._closed = False
        self._troubled: dict[int, str] = {}  # compartment -> why its board is degraded
        if not self._offline:
            self._watch.observe(self._doors, self.now())  # starting point, no events

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if poll_interval > 0:
            self._thread = threading.Thread(
                target=self._poll_loop, args=(poll_interval,), name="simulated-locker-bank",
                daemon=True,
            )
            self._thread.start()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedLockerBank:
        opts = validate(_LockerBankOptions, options, source="locker_bank driver 'simulated'")
        return cls(
            load_box(opts.box), unlock_window=opts.unlock_window, poll_interval=opts.poll_interval
        )

    # --- LockerBank protocol

    @property
    def has_door_sensors(self) -> bool:
        return self.box.has_door_sensors

    def layout(self) -> list[CompartmentSpec]:
        return list(self.box.compartments)

    def unlock(self, compartment: int) -> UnlockResult:
        wiring = self._wiring(compartment)
        with self._lock:
            self._check_usable(wiring)
            now = self.now()
            door_before = self._doors[compartment]
            acknowledged = compartment not in self._no_ack
            self.unlock_log.append(
                UnlockCommand(compartment, wiring.board, wiring.channel, now, door_before,
                              acknowledged)
            )
            # Arm the watch even without an acknowledgement: on a real bus a
            # lost reply does not mean the lock stayed shut.
            self._watch.unlock_sent(compartment, now)
            if acknowledged and compartment not in self._jammed:
                self._doors[compartment] = DoorState.OPEN
            if acknowledged:
                self._troubled.pop(compartment, None)
                detail = ""
            else:
                detail = f"board {wiring.board} did not acknowledge channel {wiring.channel}"
                self._troubled[compartment] = "unlock not acknowledged"
            events = self._observe({compartment: self._doors[compartment]})
        self._emit(events)
        return UnlockResult(compartment, acknowledged, detail)

    def door_state(self, compartment: int) -> DoorState:
        self._wiring(compartment)
        with self._lock:
            if not self.has_door_sensors or self._offline or self._closed:
                return DoorState.UNKNOWN
            return self._doors[compartment]

    def subscribe(self, callback: Callable[[DoorEvent], None]) -> Unsubscribe:
        return self._subscribers.add(callback)

    def health(self) -> list[DeviceHealth]:
        with self._lock:
            result = []
            for board in self.box.boards:
                device = f"lock board {board.name}"
                if self._closed:
                    result.append(DeviceHealth(device, HealthStatus.FAILED, "driver closed"))
                elif self._offline:
                    result.append(DeviceHealth(device, HealthStatus.FAILED, "does not answer"))
                else:
                    trouble = [
                        f"compartment {n}: {why}"
                        for n, why in sorted(self._troubled.items())
                        if self.box.wiring[n].board == board.name
                    ]
                    status = HealthStatus.DEGRADED if trouble else HealthStatus.OK
                    result.append(DeviceHealth(device, status, "; ".join(trouble)))
            return result

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._closed = True

    # --- Test controls

    def now(self) -> float:
        """The bank's time: its clock plus everything `advance()` skipped."""
        return self._clock() + self._skipped

    def advance(self, seconds: float) -> list[DoorEvent]:
        """Let `seconds` pass at once, then `poll()`; returns the events sent."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._skipped += seconds
        return self.poll()

    def poll(self) -> list[DoorEvent]:
        """Check for unlocks whose window ran out (UNLOCK_FAILED); returns events sent."""
        with self._lock:
            events = self._observe({})
        self._emit(events)
        return events

    def door_states(self) -> dict[int, DoorState]:
        """Where every door physically is, sensors or not, online or not."""
        with self._lock:
            return dict(self._doors)

    def close_door(self, compartment: int) -> None:
        """Someone pushes the door shut; the lock latches again."""
        self._move(compartment, DoorState.CLOSED)

    def open_door(self, compartment: int) -> bool:
        """Someone pulls the door. It opens unless the lock is jammed.

        Reported as OPENED within the unlock window after an unlock, as
        FORCED_OPEN otherwise. Returns whether the door is open now.
        """
        self._wiring(compartment)
        with self._lock:
            if compartment in self._jammed and self._doors[compartment] is DoorState.CLOSED:
                return False
        self._move(compartment, DoorState.OPEN)
        return True

    def force_door(self, compartment: int) -> None:
        """Someone pries the door open, jammed or locked.

        A real board cannot tell this from any other opening, so neither can
        the simulator: FORCED_OPEN, unless an unlock came within the window.
        """
        self._move(compartment, DoorState.OPEN)

    def jam_door(self, compartment: int, jammed: bool = True) -> None:
        """Jam the lock: unlocks are acknowledged but the door stays shut."""
        self._wiring(compartment)
        with self._lock:
            (self._jammed.add if jammed else self._jammed.discard)(compartment)

    def set_no_ack(self, compartment: int, no_ack: bool = True) -> None:
        """The board stops acknowledging unlocks for this compartment (dead channel)."""
        self._wiring(compartment)
        with self._lock:
            (self._no_ack.add if no_ack else self._no_ack.discard)(compartment)

    def set_offline(self, offline: bool = True) -> None:
        """Unplug (True) or reconnect (False) all boards.

        While offline, unlock() raises DeviceUnavailable, doors read UNKNOWN
        and health() says FAILED. Doors that moved meanwhile are reported on
        reconnection, as a real driver's first status poll would.
        """
        with self._lock:
            self._offline = offline
            events = [] if offline else self._observe(self._doors)
        self._emit(events)

    # --- Inside

    def _wiring(self, compartment: int) -> Wiring:
        return self.box.lock_for(compartment)

    def _check_usable(self, wiring: Wiring) -> None:
        if self._closed:
            raise DeviceUnavailable("the simulated locker bank was closed")
        if self._offline:
            raise DeviceUnavailable(
                f"lock board {wiring.board} does not answer (simulated offline)"
            )

    def _move(self, compartment: int, state: DoorState) -> None:
        self._wiring(compartment)
        with self._lock:
            self._doors[compartment] = state
            events = self._observe({compartment: state})
        self._emit(events)

    def _observe(self, readings: Mapping[int, DoorState]) -> list[DoorEvent]:
        # Call with self._lock held. The watch sees what a real driver's
        # sensors would: nothing without sensors or while offline.
        if not self.has_door_sensors or self._offline or self._closed:
            return []
        events = self._watch.observe(readings, self.now())
        for event in events:
            if event.kind is DoorEventKind.UNLOCK_FAILED:
                self._troubled[event.compartment] = "door did not open after unlock"
            elif event.kind is DoorEventKind.OPENED:
                self._troubled.pop(event.compartment, None)
        return events

    def _emit(self, events: list[DoorEvent]) -> None:
        self._subscribers.emit(events)

    def _poll_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.poll()
            except Exception:  # a broken subscriber must not stop the clock
                log.exception("door event callback failed")


# --- Card reader ---------------------------------------------------------------------

# ATR a PC/SC reader builds for an ISO 14443-4 contactless card (PC/SC part 3).
DEFAULT_ATR = bytes.fromhex("3B8180018080")
GET_UID = bytes.fromhex("FFCA000000")
SW_OK = bytes.fromhex("9000")
SW_NOT_FOUND = bytes.fromhex("6A82")
SW_NOT_SUPPORTED = bytes.fromhex("6A81")


@dataclass(frozen=True)
class _Card:
    uid: bytes | None
    atr: bytes
    apdus: Mapping[bytes, bytes]
    german_eid: bool = False

    def event(self, kind: CardEventKind, reader: str) -> CardEvent:
        return CardEvent(kind, reader, self.uid, self.atr, self.german_eid)


class _CardReaderOptions(_Options):
    name: str = "Simulated PICC 0"
    box: str = "demo"


class SimulatedCardReader:
    """A contactless reader with a hand to put cards on it.

    `transmit` answers ``FF CA 00 00 00`` with the UID + 9000, commands from
    the card's dialogue table (box file ``[[cards]]``) with their reply,
    anything else with 6A82. Options: ``name``, ``box`` (card presets).
    """

    def __init__(self, name: str = "Simulated PICC 0", cards: Iterable[CardPreset] = ()) -> None:
        self.name = name
        self.presets = {preset.name: preset for preset in cards}
        self.apdu_log: list[tuple[bytes, bytes]] = []  # (command, response)
        self._subscribers: Subscribers[CardEvent] = Subscribers()
        self._card: _Card | None = None
        self._offline = False
        self._closed = False
        self._lock = threading.RLock()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedCardReader:
        opts = validate(_CardReaderOptions, options, source="card_reader driver 'simulated'")
        return cls(opts.name, load_box(opts.box).cards)

    # --- CardReader protocol

    def subscribe(self, callback: Callable[[CardEvent], None]) -> Unsubscribe:
        return self._subscribers.add(callback)

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            if self._closed or self._offline:
                raise DeviceUnavailable(f"reader {self.name!r} is not available (simulated)")
            card = self._card
            if card is None:
                raise CardError(f"no card on reader {self.name!r}")
            apdu = bytes(apdu)
            if apdu == GET_UID:
                response = card.uid + SW_OK if card.uid is not None else SW_NOT_SUPPORTED
            else:
                response = card.apdus.get(apdu, SW_NOT_FOUND)
            self.apdu_log.append((apdu, response))
            return response

    def health(self) -> list[DeviceHealth]:
        if self._closed:
            return [DeviceHealth(self.name, HealthStatus.FAILED, "driver closed")]
        if self._offline:
            return [DeviceHealth(self.name, HealthStatus.FAILED, "reader not found")]
        return [DeviceHealth(self.name, HealthStatus.OK)]

    def close(self) -> None:
        self._closed = True

    # --- Test controls

    @property
    def card_present(self) -> bool:
        return self._card is not None

    def present_card(
        self,
        uid: bytes | None,
        atr: bytes | None = None,
        apdus: Mapping[bytes, bytes] | None = None,
        german_eid: bool | None = None,
    ) -> None:
        """Put a card on the reader; a card already there is taken off first.

        A `uid` matching a preset borrows the preset's ATR, dialogue and
        eID flag unless `atr`/`apdus`/`german_eid` are given.
        """
        preset = next((p for p in self.presets.values() if uid is not None and p.uid == uid), None)
        if atr is None:
            atr = preset.atr if preset is not None and preset.atr is not None else DEFAULT_ATR
        if apdus is None:
            apdus = preset.apdus if preset is not None else {}
        if german_eid is None:
            german_eid = preset.german_eid if preset is not None else False
        with self._lock:
            events = self._take_off()
            self._card = _Card(uid, atr, dict(apdus), german_eid)
            if self._reporting():
                events.append(self._card.event(CardEventKind.PRESENTED, self.name))
        self._subscribers.emit(events)

    def present_preset(self, name: str) -> None:
        """Put the box file's card `name` on the reader."""
        preset = self.presets.get(name)
        if preset is None:
            known = ", ".join(self.presets) or "none"
            raise KeyError(f"no card preset {name!r}; the box has: {known}")
        self.present_card(preset.uid, preset.atr, preset.apdus, preset.german_eid)

    def remove_card(self) -> None:
        """Take the card off the reader; nothing happens if there is none."""
        with self._lock:
            events = self._take_off()
        self._subscribers.emit(events)

    def set_offline(self, offline: bool = True) -> None:
        """pcscd or the reader is gone (True), or back (False).

        A card lying on the reader is announced again on reconnection, as a
        freshly started card monitor would.
        """
        with self._lock:
            self._offline = offline
            card = self._card
            events = []
            if not offline and card is not None:
                events.append(card.event(CardEventKind.PRESENTED, self.name))
        self._subscribers.emit(events)

    def _take_off(self) -> list[CardEvent]:
        card, self._card = self._card, None
        if card is None or not self._reporting():
            return []
        return [card.event(CardEventKind.REMOVED, self.name)]

    def _reporting(self) -> bool:
        return not (self._offline or self._closed)


# --- Code scanner --------------------------------------------------------------------


class _CodeScannerOptions(_Options):
    source: str = "simulated camera"


class SimulatedCodeScanner:
    """A camera that 'sees' whatever a test holds up with `show()`.

    Like the real camera it only looks between `start()` and `stop()`: a
    code shown while it is stopped is recorded in `shown` but never
    delivered, and not delivered later either. Option: ``source``.
    """

    def __init__(self, source: str = "simulated camera") -> None:
        self.source = source
        self.shown: list[bytes] = []  # every payload held up, seen or not
        self._subscribers: Subscribers[ScanEvent] = Subscribers()
        self._running = False
        self._offline = False
        self._closed = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedCodeScanner:
        opts = validate(_CodeScannerOptions, options, source="code_scanner driver 'simulated'")
        return cls(opts.source)

    # --- CodeScanner protocol

    def start(self) -> None:
        if self._closed or self._offline:
            raise DeviceUnavailable(f"{self.source} is not available (simulated)")
        self._running = True

    def stop(self) -> None:
        self._running = False

    def subscribe(self, callback: Callable[[ScanEvent], None]) -> Unsubscribe:
        return self._subscribers.add(callback)

    def health(self) -> list[DeviceHealth]:
        if self._closed:
            return [DeviceHealth(self.source, HealthStatus.FAILED, "driver closed")]
        if self._offline:
            return [DeviceHealth(self.source, HealthStatus.FAILED, "camera not found")]
        return [DeviceHealth(self.source, HealthStatus.OK)]

    def close(self) -> None:
        self._running = False
        self._closed = True

    # --- Test controls

    @property
    def running(self) -> bool:
        return self._running

    def show(self, payload: bytes | str) -> bool:
        """Hold a code up to the camera; returns whether it was delivered."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        self.shown.append(data)
        if not self._running or self._offline:
            return False
        self._subscribers.emit([ScanEvent(data, self.source)])
        return True

    def set_offline(self, offline: bool = True) -> None:
        """The camera is unplugged (True) or back (False); it keeps its started state."""
        self._offline = offline


# --- Indicator -----------------------------------------------------------------------


class _IndicatorOptions(_Options):
    name: str = "simulated indicator"


class SimulatedIndicator:
    """Records every signal with the time it was shown, in `history`."""

    def __init__(
        self, name: str = "simulated indicator", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.history: list[tuple[float, str]] = []
        self._clock = clock

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedIndicator:
        opts = validate(_IndicatorOptions, options, source="indicator driver 'simulated'")
        return cls(opts.name)

    def show(self, signal: str) -> None:
        value = str(getattr(signal, "value", signal))
        if value not in SIGNALS:
            known = ", ".join(sorted(SIGNALS))
            raise ValueError(f"unknown indicator signal {signal!r}; known: {known}")
        self.history.append((self._clock(), value))

    def health(self) -> list[DeviceHealth]:
        return [DeviceHealth(self.name, HealthStatus.OK)]

    def close(self) -> None:
        pass

    @property
    def current(self) -> str:
        """The signal shown now; "off" before the first one."""
        return self.history[-1][1] if self.history else "off"

    def signals(self) -> list[str]:
        """`history` without the times."""
        return [signal for _, signal in self.history]
