"""A base for lock boards polled over a serial port (RS485 buses, USB serial).

Every polled serial board needs the same plumbing, whatever its frames look
like; it lives here once, and `hardware.kerong.bank` is built on it like any
vendor's driver (docs/drivers.md, examples/acme_cu48):

* the port: opened with pyserial, exclusive, reopened after an unplug with a
  backoff that grows to `reconnect_interval`. `PORT_ERRORS` is what a
  vanished tty raises: pyserial's error, plain I/O errors, and
  ``termios.error`` (not an OSError!) from tcflush on a hung-up tty. A
  driver that misses the last one logs a traceback per poll and never
  recovers;
* the bus: one request and its reply at a time (RS485 is half duplex), a
  late reply of an earlier request dropped, retries of status requests;
* the poller thread, which asks every board for its door states in turn;
* health per board (FAILED silent, DEGRADED garbled or suspicious, OK) with
  details that name what was seen and what to try;
* `DoorWatch` wiring (OPENED / CLOSED / FORCED_OPEN / UNLOCK_FAILED) and
  event fan-out where one broken callback neither stops the poller nor keeps
  the others from hearing the event;
* per-board sensor polarity (``polarity = "inverted"`` in the box file's
  board, or the driver option for every board), and a board whose every door
  reads open with nothing unlocked is reported as probably inverted, its
  readings kept out of the door watch so no false alarm is raised;
* unlocks: sent once, never repeated on their own (a repeated pulse is a
  second opening). A board that stays silent after an unlock but answers a
  status request is reported with the hint ``unlock_reply = false``; with
  that option the unlock is only sent, and the next status poll confirms it;
* close() stops and joins the poller and releases the port.

A subclass supplies its framing and nothing else::

    status_request(board) -> bytes
    unlock_request(board, channel) -> bytes
    find_reply(board, buffer, request, final) -> Reply   # channel -> DoorState

and may set `unlock_reply_delay(board)` (seconds a board takes to answer an
unlock) and `Options` (a `SerialOptions` subclass with its own keys).
"""

from __future__ import annotations

import logging
import os
import termios
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import serial
import serial.rs485
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hardware.box import BoardSpec, BoxDescription, load_box
from hardware.door_watch import DEFAULT_UNLOCK_WINDOW, DoorWatch
from hardware.errors import DeviceUnavailable
from hardware.interfaces import (
    CompartmentSpec,
    DeviceHealth,
    DoorCallback,
    DoorEvent,
    DoorEventKind,
    DoorState,
    HealthStatus,
    Unsubscribe,
    UnlockResult,
)
from hardware.options import validate
from hardware.subscribers import Subscribers

log = logging.getLogger(__name__)

# What a vanished port raises: pyserial's own error, plain I/O errors, and
# termios.error (not an OSError) from tcflush on a hung-up tty.
PORT_ERRORS = (serial.SerialException, OSError, termios.error)

Polarity = Literal["normal", "inverted"]
FLIPPED = {DoorState.OPEN: DoorState.CLOSED, DoorState.CLOSED: DoorState.OPEN,
           DoorState.UNKNOWN: DoorState.UNKNOWN}
FIRST_BACKOFF = 0.25  # seconds before the first attempt to reopen a vanished port


@dataclass(frozen=True)
class Reply:
    """What a scan of the received bytes found.

    Drop the first `consumed` bytes in any case. `doors` is None while no
    good reply to the request is there; otherwise the (raw, unflipped) door
    state of every channel the reply covers. `error` describes a frame that
    was dropped (bad checksum, a length no variant has) and what to try.
    """

    doors: Mapping[int, DoorState] | None
    consumed: int
    error: str = ""


class SerialOptions(BaseModel):
    """The options every polled serial driver takes; subclass to add keys."""

    model_config = ConfigDict(extra="forbid", strict=True)
    port: str = Field(min_length=1)  # e.g. /dev/pickupbox-rs485-0 or /dev/serial/by-id/...
    box: str = "demo"
    baudrate: int | None = Field(None, gt=0)  # None: the driver's factory setting
    rs485: bool = False  # kernel RS485 mode (TIOCSRS485); ptys and most USB adapters refuse it
    timeout: float = Field(0.2, gt=0)  # seconds to wait for one reply
    retries: int = Field(2, ge=0)  # extra status requests after a timeout or garbled reply
    poll_interval: float = Field(0.2, gt=0)  # seconds between status rounds
    reconnect_interval: float = Field(2.0, gt=0)  # longest wait between attempts to reopen
    unlock_window: float = Field(DEFAULT_UNLOCK_WINDOW, gt=0)
    unlock_reply: bool = True  # false: the boards never answer an unlock; the next poll confirms
    polarity: Polarity = "normal"  # "inverted": a set bit means open (boards may override)

    @field_validator("port", "box", mode="before")
    @classmethod
    def _path_to_str(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value


class NoReply(Exception):
    """A board gave no valid reply; str() says why."""

    def __init__(self, detail: str, garbled: bool) -> None:
        super().__init__(detail)
        self.garbled = garbled


class PolledSerialBank:
    """All compartments of a box wired to boards polled on one serial port."""

    Options: ClassVar[type[SerialOptions]] = SerialOptions
    driver_name: ClassVar[str] = "serial"
    default_baudrate: ClassVar[int] = 9600

    def __init__(
        self,
        box: BoxDescription,
        port: str,
        *,
        baudrate: int | None = None,
        rs485: bool = False,
        timeout: float = 0.2,
        retries: int = 2,
        poll_interval: float = 0.2,
        reconnect_interval: float = 2.0,
        unlock_window: float = DEFAULT_UNLOCK_WINDOW,
        unlock_reply: bool = True,
        polarity: Polarity = "normal",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.box = box
        self.port = port
        self.unlock_window = unlock_window
        self._boards = {board.name: board for board in box.boards}
        self._inverted = {
            board.name: (board.polarity or polarity) == "inverted" for board in box.boards
        }
        self._baudrate = baudrate or self.default_baudrate
        self._rs485 = rs485
        self._timeout = timeout
        self._attempts = retries + 1
        self._poll_interval = poll_interval
        self._reconnect_interval = reconnect_interval
        self._backoff = min(FIRST_BACKOFF, reconnect_interval)
        self._unlock_reply = unlock_reply
        self._clock = clock

        self._bus_lock = threading.Lock()  # one request/reply on the wire at a time
        self._serial: serial.Serial | None = None
        self._port_detail = f"serial port {port} not opened yet"  # why it is not open

        self._lock = threading.Lock()  # everything below
        self._watch = DoorWatch(unlock_window)
        self._readings: dict[int, DoorState] = {}  # fresh sensor readings
        self._board_health: dict[str, tuple[HealthStatus, str]] = {}
        self._notes: dict[str, dict[str, str]] = {b.name: {} for b in box.boards}  # hints
        self._trusted: set[str] = set()  # boards whose readings feed the door watch
        self._troubled: dict[int, str] = {}  # compartment -> why its board is degraded
        self._subscribers: Subscribers[DoorEvent] = Subscribers()
        self._closed = False

        self._set_all_boards(HealthStatus.FAILED, "not polled yet")
        self._stop = threading.Event()
        # Connect and read every board once before returning, so door_state()
        # and health() mean something at once (kiosk start-up, kiosk-hw). A
        # missing port costs nothing here; silent boards cost their timeouts.
        self._next_open = time.monotonic() + self._backoff
        with self._bus_lock:
            self._open_port()
        if self._serial is not None:
            self._poll_round()
        name = f"{self.driver_name} {port}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PolledSerialBank:
        opts = validate(cls.Options, options, source=f"locker_bank driver {cls.driver_name!r}")
        settings = opts.model_dump()
        return cls(load_box(settings.pop("box")), settings.pop("port"), **settings)

    # --- What a subclass supplies: its framing

    def status_request(self, board: BoardSpec) -> bytes:
        raise NotImplementedError

    def unlock_request(self, board: BoardSpec, channel: int) -> bytes:
        raise NotImplementedError

    def find_reply(self, board: BoardSpec, buffer: bytes, request: bytes, final: bool) -> Reply:
        """The reply to `request` in `buffer`; `final`: no more bytes will come."""
        raise NotImplementedError

    def unlock_reply_delay(self, board: BoardSpec) -> float:
        """Extra seconds a board may take to answer an unlock."""
        return 0.0

    # --- LockerBank protocol

    @property
    def has_door_sensors(self) -> bool:
        return self.box.has_door_sensors

    def layout(self) -> list[CompartmentSpec]:
        return list(self.box.compartments)

    def unlock(self, compartment: int) -> UnlockResult:
        wiring = self.box.lock_for(compartment)
        if self._closed:
            raise DeviceUnavailable(f"the {self.driver_name} locker bank was closed")
        board = self._boards[wiring.board]
        request = self.unlock_request(board, wiring.channel)
        # Arm the watch before the pulse: the door may pop open before the
        # reply arrives, and a lost reply does not mean the lock stayed shut.
        with self._lock:
            self._watch.unlock_sent(compartment, self._clock())
        if not self._unlock_reply:
            self._send(request)
            return UnlockResult(compartment, True, "sent (unlock_reply = false): the next "
                                "status poll shows whether the door opened")
        wait = self._timeout + self.unlock_reply_delay(board)
        try:
            doors = self._transact(board, request, wait, attempts=1)
        except NoReply as exc:
            return self._unlock_unanswered(compartment, board, wiring.channel, exc)
        self._board_answered(board, doors, status=False)
        with self._lock:
            self._troubled.pop(compartment, None)
            self._notes[board.name].pop("unlock", None)
        return UnlockResult(compartment, True)

    def door_state(self, compartment: int) -> DoorState:
        self.box.lock_for(compartment)
        if not self.has_door_sensors:
            return DoorState.UNKNOWN
        with self._lock:
            return self._readings.get(compartment, DoorState.UNKNOWN)

    def subscribe(self, callback: DoorCallback) -> Unsubscribe:
        return self._subscribers.add(callback)

    def health(self) -> list[DeviceHealth]:
        with self._lock:
            result = []
            for board in self.box.boards:
                status, detail = self._board_health[board.name]
                trouble = list(self._notes[board.name].values()) + [
                    f"compartment {n}: {why}"
                    for n, why in sorted(self._troubled.items())
                    if self.box.wiring[n].board == board.name
                ]
                if trouble and status is HealthStatus.OK:
                    status = HealthStatus.DEGRADED
                if trouble and status is not HealthStatus.FAILED:
                    detail = "; ".join(filter(None, [detail, *trouble]))
                result.append(DeviceHealth(f"lock board {board.name}", status, detail))
            return result

    def close(self) -> None:
        self._closed = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._bus_lock:
            self._close_port()
        self._set_all_boards(HealthStatus.FAILED, "driver closed")

    # --- Unlocks a board did not answer

    def _unlock_unanswered(
        self, compartment: int, board: BoardSpec, channel: int, exc: NoReply
    ) -> UnlockResult:
        detail = f"lock board {board.name} did not acknowledge channel {channel}: {exc}"
        if exc.garbled:  # it answered, badly: the pulse arrived; never pulse twice
            with self._lock:
                self._troubled[compartment] = "unlock not acknowledged"
            self._board_failed(board, exc)
            return UnlockResult(compartment, False, detail)
        # Silent. Is the board there at all? Ask for its status, not a second pulse.
        try:
            doors = self._transact(board, self.status_request(board), self._timeout)
        except NoReply as status_exc:
            with self._lock:
                self._troubled[compartment] = "unlock not acknowledged"
            self._board_failed(board, status_exc)
            return UnlockResult(compartment, False, f"{detail}; a status request: {status_exc}")
        hint = (f"board {board.name} answers status requests but not unlocks: if it never "
                "answers an unlock (some KR-CU16 variants), set unlock_reply = false")
        with self._lock:
            self._notes[board.name]["unlock"] = hint
        self._board_answered(board, doors)
        return UnlockResult(compartment, False, f"{detail}; {hint}")

    # --- The bus

    def _send(self, request: bytes) -> None:
        with self._bus_lock:
            port = self._serial
            if port is None:
                raise DeviceUnavailable(self._port_detail)
            try:
                port.reset_input_buffer()
                port.write(request)
                port.flush()
            except PORT_ERRORS as exc:
                self._port_broke(exc)
                raise DeviceUnavailable(self._port_detail) from None

    def _transact(
        self, board: BoardSpec, request: bytes, wait: float, attempts: int | None = None
    ) -> Mapping[int, DoorState]:
        """Send `request`, return the (raw) door states in the reply.

        Waits up to `wait` seconds for each reply, tries `attempts` times
        (default: 1 + retries). Raises DeviceUnavailable when the port is not
        open (or breaks now), NoReply when the board stays silent or garbled.
        """
        attempts = attempts or self._attempts
        problems: list[str] = []
        with self._bus_lock:
            port = self._serial
            if port is None:
                raise DeviceUnavailable(self._port_detail)
            for attempt in range(1, attempts + 1):
                try:
                    port.reset_input_buffer()  # a late reply to an earlier request
                    port.write(request)
                    port.flush()
                    doors, problem = self._read_reply(port, board, request, wait)
                except PORT_ERRORS as exc:
                    self._port_broke(exc)
                    raise DeviceUnavailable(self._port_detail) from None
                if doors is not None:
                    if problems:
                        log.info("board %s answered on attempt %d after: %s",
                                 board.name, attempt, "; ".join(problems))
                    return doors
                problems.append(problem)
        garbled = any(not p.startswith("no answer") for p in problems)
        raise NoReply(f"{problems[-1]} ({attempts} {'try' if attempts == 1 else 'tries'})",
                      garbled)

    def _read_reply(
        self, port: serial.Serial, board: BoardSpec, request: bytes, wait: float
    ) -> tuple[Mapping[int, DoorState] | None, str]:
        deadline = time.monotonic() + wait
        buffer = b""
        error = ""
        final = False
        while not final:
            final = time.monotonic() >= deadline
            # Blocks until a byte comes or the port's timeout (= ours) passes.
            if not final:
                buffer += port.read(max(1, port.in_waiting))
            reply = self.find_reply(board, buffer, request, final)
            buffer = buffer[reply.consumed:]
            error = reply.error or error
            if reply.doors is not None:
                return reply.doors, ""
            if error and not buffer:
                break  # a garbled reply came; no need to wait out the timeout
        where = f"board {board.name}" + (f" (address {board.address})"
                                         if board.address is not None else "")
        if error:
            return None, f"garbled reply from {where}: {error}"
        return None, f"no answer from {where} within {wait:g} s"

    def _port_broke(self, exc: BaseException) -> None:
        self._close_port()
        self._port_failed(
            f"serial port {self.port} stopped working ({exc}): adapter unplugged? "
            f"Reopening it (at most every {self._reconnect_interval:g} s)"
        )

    def _open_port(self) -> None:
        try:
            port = serial.Serial(
                self.port, self._baudrate, bytesize=8, parity="N", stopbits=1,
                timeout=self._timeout, exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._port_failed(self._open_problem(exc))
            return
        if self._rs485:
            try:
                port.rs485_mode = serial.rs485.RS485Settings()
            except (ValueError, OSError, serial.SerialException) as exc:
                port.close()
                self._port_failed(
                    f"serial port {self.port} refused RS485 mode ({exc}); this adapter "
                    "switches direction by itself: set rs485 = false in the config"
                )
                return
        log.info("opened %s", self.port)
        self._port_detail = f"serial port {self.port} open"
        self._backoff = min(FIRST_BACKOFF, self._reconnect_interval)
        self._serial = port

    def _close_port(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except PORT_ERRORS:
                pass
            self._serial = None

    def _open_problem(self, exc: BaseException) -> str:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if not os.path.exists(self.port):
            why = "not found"
        return (
            f"serial port {self.port}: {why}. Check that the adapter is plugged in, "
            f"that the `port` option names it (ls -l /dev/serial/by-id/) and that the kiosk "
            f"user may open it (deploy/udev); retrying (at most every "
            f"{self._reconnect_interval:g} s)"
        )

    def _port_failed(self, detail: str) -> None:
        if detail != self._port_detail:
            log.warning("%s", detail)
        self._port_detail = detail
        self._set_all_boards(HealthStatus.FAILED, detail)

    # --- Health and readings

    def _set_all_boards(self, status: HealthStatus, detail: str) -> None:
        with self._lock:
            for board in self.box.boards:
                self._board_health[board.name] = (status, detail)
            if status is HealthStatus.FAILED:
                self._readings.clear()

    def _board_failed(self, board: BoardSpec, exc: NoReply) -> None:
        if exc.garbled:
            status = HealthStatus.DEGRADED
            noise = "noise on the bus? check termination and shielding"
            hint = "" if "variant" in str(exc) else noise
        else:
            status, hint = HealthStatus.FAILED, "check power, A/B wiring and the address switch"
        with self._lock:
            self._board_health[board.name] = (status, "; ".join(filter(None, [str(exc), hint])))
            for number, wiring in self.box.wiring.items():
                if wiring.board == board.name:
                    self._readings.pop(number, None)

    def _board_answered(self, board: BoardSpec, raw: Mapping[int, DoorState],
                        status: bool = True) -> None:
        """A good reply came; `status`: it was a status reply, covering the board."""
        doors = {ch: FLIPPED[s] for ch, s in raw.items()} if self._inverted[board.name] else raw
        wired = {n: w.channel for n, w in self.box.wiring.items() if w.board == board.name}
        readings = {n: doors[ch] for n, ch in wired.items() if ch in doors}
        missing = sorted(ch for ch in wired.values() if ch not in doors)
        events: list[DoorEvent] = []
        with self._lock:
            self._board_health[board.name] = (HealthStatus.OK, "")
            notes = self._notes[board.name]
            if missing and status:
                notes["coverage"] = (
                    f"its replies carry channels 1-{max(doors, default=0)} only, the box file "
                    f"wires channels {missing[0]}-{missing[-1]} too: check `channels` and the "
                    "board model"
                )
            elif status:
                notes.pop("coverage", None)
            if not self.has_door_sensors:
                return
            self._readings.update(readings)
            if board.name not in self._trusted and not self._plausible(board, readings, notes):
                return  # keep suspicious readings out of the door watch: no false alarms
            events = self._watch.observe(readings, self._clock())
            self._note_trouble(events)
        self._emit(events)

    def _plausible(self, board: BoardSpec, readings: Mapping[int, DoorState],
                   notes: dict[str, str]) -> bool:
        """Whether a board's readings may feed the door watch (called under _lock)."""
        unlocked = self._watch.awaiting_open()
        states = [s for n, s in readings.items() if n not in unlocked]
        closed = sum(s is DoorState.CLOSED for s in states)
        if "polarity" in notes and closed * 2 <= len(states):
            return False  # lifting a polarity warning needs most doors closed
        if states and closed == 0:
            current = "inverted" if self._inverted[board.name] else "normal"
            other = "normal" if current == "inverted" else "inverted"
            notes["polarity"] = (
                f"every door on board {board.name} reads open and none was unlocked: the "
                f"feedback switches probably read the other way round (polarity is "
                f"{current!r}); try polarity = \"{other}\" for board {board.name} in the box "
                "file. Door events are held back until most doors read closed"
            )
            return False
        notes.pop("polarity", None)
        self._trusted.add(board.name)
        return True

    def _note_trouble(self, events: list[DoorEvent]) -> None:
        for event in events:
            if event.kind is DoorEventKind.UNLOCK_FAILED:
                self._troubled[event.compartment] = "door did not open after unlock"
            elif event.kind is DoorEventKind.OPENED:
                self._troubled.pop(event.compartment, None)

    def _emit(self, events: list[DoorEvent]) -> None:
        try:
            self._subscribers.emit(events)
        except Exception:  # a broken consumer must not stop the poller
            log.exception("door event callback failed")

    # --- The polling thread

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._serial is None:
                if time.monotonic() >= self._next_open:
                    with self._bus_lock:
                        if not self._stop.is_set():
                            self._open_port()
                    if self._serial is None:
                        self._backoff = min(self._backoff * 2, self._reconnect_interval)
                    self._next_open = time.monotonic() + self._backoff
                if self._serial is None:
                    self._stop.wait(min(self._poll_interval, self._backoff))
                    continue
            try:
                self._poll_round()
            except Exception:  # keep polling whatever happens; say what it was
                log.exception("%s poller: unexpected error", self.driver_name)
            self._stop.wait(self._poll_interval)

    def _poll_round(self) -> None:
        for board in self.box.boards:
            if self._stop.is_set():
                return
            try:
                doors = self._transact(board, self.status_request(board), self._timeout)
            except DeviceUnavailable:
                return
            except NoReply as exc:
                self._board_failed(board, exc)
                continue
            self._board_answered(board, doors)
        # Jams show up as time passing with no opening; not on a board whose
        # readings are held back (suspected polarity): that would be a guess.
        with self._lock:
            events = self._watch.expire(self._clock()) if self.has_door_sensors else []
            events = [e for e in events
                      if self.box.wiring[e.compartment].board in self._trusted]
            self._note_trouble(events)
        self._emit(events)
