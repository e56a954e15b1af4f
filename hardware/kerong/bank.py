"""LockerBank driver for Kerong lock boards on an RS485 bus (pyserial).

One serial port, one or more boards told apart by their address (the DIP
switch), as the box description says (``[[boards]] address = 1``). Two wire
protocols, chosen with the option ``protocol`` (see
`hardware.kerong.protocols`):

* ``"cu16"`` (default): KR-CU16 boards, ``STX addr cmd ETX sum`` frames,
  addresses 0-15, 16 locks a board, 19200 baud.
* ``"legacy"``: older KR-CU boards, ``8A addr lock 11 xor`` frames,
  addresses 1-64, up to 32 locks a board, 9600 baud. They answer an unlock
  only once the lock has opened, about a second later, so the driver waits
  that much longer for an unlock reply than for a status reply.

A polling thread asks every board for its lock states in turn; the readings go
through `DoorWatch`, which turns them into OPENED / CLOSED / FORCED_OPEN /
UNLOCK_FAILED. `unlock()` shares the bus with the poller, one request at a
time, because RS485 is half duplex.

"Unlock acknowledged" (the board answered the unlock frame) is the
`UnlockResult`; "door opened" (the hook switch let go) is a `DoorEvent`.
The pulse goes out even when the door already reads open: sensor cables fail.

Faults and what health() says, one entry per board:

* port missing or unplugged: FAILED on every board, naming the port and
  what to check; the driver reopens it every `reconnect_interval` seconds
  and recovers by itself. unlock() raises DeviceUnavailable meanwhile.
* a board that stays silent for all `retries`: FAILED ("no answer").
* replies that keep failing their checksum: DEGRADED (noise on the bus).
* a door that did not open after an unlock: DEGRADED until it opens.

Options (``[hardware.locker_bank]`` with ``driver = "kerong"``;
``baudrate`` defaults to the protocol's factory setting): see
`_Options` below and deploy/kerong.example.toml.
"""

from __future__ import annotations

import logging
import os
import termios
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import serial
import serial.rs485
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hardware.box import BoxDescription, Wiring, load_box
from hardware.door_watch import DEFAULT_UNLOCK_WINDOW, DoorWatch
from hardware.errors import DeviceUnavailable, DriverConfigError
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
from hardware.kerong.protocols import PROTOCOLS, Protocol
from hardware.options import validate
from hardware.subscribers import Subscribers

log = logging.getLogger(__name__)

# What a vanished port raises: pyserial's own error, plain I/O errors, and
# termios.error (not an OSError) from tcflush on a hung-up tty.
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    port: str = Field(min_length=1)  # e.g. /dev/pickupbox-rs485-0 or /dev/serial/by-id/...
    box: str = "demo"
    protocol: Literal["cu16", "legacy"] = "cu16"  # KR-CU16 frames, or the older 8A ... xor ones
    baudrate: int | None = Field(None, gt=0)  # None: the protocol's factory setting
    rs485: bool = False  # kernel RS485 mode (TIOCSRS485); off: ptys and most USB adapters refuse it
    timeout: float = Field(0.2, gt=0)  # seconds to wait for one reply
    retries: int = Field(2, ge=0)  # extra attempts after a timeout or garbled reply
    poll_interval: float = Field(0.2, gt=0)  # seconds between status rounds
    reconnect_interval: float = Field(2.0, gt=0)  # seconds between attempts to reopen the port
    unlock_window: float = Field(DEFAULT_UNLOCK_WINDOW, gt=0)

    @field_validator("port", "box", mode="before")
    @classmethod
    def _path_to_str(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value


class _NoReply(Exception):
    """A board gave no valid reply after all attempts; str() says why."""

    def __init__(self, detail: str, garbled: bool) -> None:
        super().__init__(detail)
        self.garbled = garbled


class KerongLockerBank:
    """All compartments of a box wired to Kerong boards on one RS485 port."""

    def __init__(
        self,
        box: BoxDescription,
        port: str,
        *,
        protocol: str = "cu16",
        baudrate: int | None = None,
        rs485: bool = False,
        timeout: float = 0.2,
        retries: int = 2,
        poll_interval: float = 0.2,
        reconnect_interval: float = 2.0,
        unlock_window: float = DEFAULT_UNLOCK_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown Kerong protocol {protocol!r}; use one of {sorted(PROTOCOLS)}")
        self.box = box
        self.port = port
        self._protocol: Protocol = PROTOCOLS[protocol]
        self._addresses = _addresses(box, self._protocol)
        self._baudrate = baudrate or self._protocol.baudrate
        self._rs485 = rs485
        self._timeout = timeout
        self._attempts = retries + 1
        self._poll_interval = poll_interval
        self._reconnect_interval = reconnect_interval
        self._clock = clock

        self._bus_lock = threading.Lock()  # one request/reply on the wire at a time
        self._serial: serial.Serial | None = None
        self._next_open = 0.0
        self._port_detail = f"serial port {port} not opened yet"  # why it is not open

        self._lock = threading.Lock()  # everything below
        self._watch = DoorWatch(unlock_window)
        self._readings: dict[int, DoorState] = {}  # fresh sensor readings
        self._board_health: dict[str, tuple[HealthStatus, str]] = {}
        self._troubled: dict[int, str] = {}  # compartment -> why its board is degraded
        self._subscribers: Subscribers[DoorEvent] = Subscribers()
        self._closed = False

        self._set_all_boards(HealthStatus.FAILED, "not polled yet")
        self._stop = threading.Event()
        # Connect and read every board once before returning, so door_state()
        # and health() mean something at once (kiosk start-up, kiosk-hw). A
        # missing port costs nothing here; silent boards cost their timeouts.
        self._next_open = time.monotonic() + reconnect_interval
        with self._bus_lock:
            self._open_port()
        if self._serial is not None:
            self._poll_round()
        self._thread = threading.Thread(target=self._run, name=f"kerong {port}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> KerongLockerBank:
        source = "locker_bank driver 'kerong'"
        opts = validate(_Options, options, source=source)
        box = load_box(opts.box)
        return cls(
            box, opts.port, protocol=opts.protocol, baudrate=opts.baudrate, rs485=opts.rs485,
            timeout=opts.timeout, retries=opts.retries, poll_interval=opts.poll_interval,
            reconnect_interval=opts.reconnect_interval, unlock_window=opts.unlock_window,
        )

    # --- LockerBank protocol

    @property
    def has_door_sensors(self) -> bool:
        return self.box.has_door_sensors

    def layout(self) -> list[CompartmentSpec]:
        return list(self.box.compartments)

    def unlock(self, compartment: int) -> UnlockResult:
        wiring = self._wiring(compartment)
        if self._closed:
            raise DeviceUnavailable("the kerong locker bank was closed")
        address = self._addresses[wiring.board]
        request = self._protocol.unlock_request(address, wiring.channel)
        # Arm the watch before the pulse: the door may pop open before the
        # reply arrives, and a lost reply does not mean the lock stayed shut.
        with self._lock:
            self._watch.unlock_sent(compartment, self._clock())
        try:
            doors = self._transact(
                wiring.board, request, self._timeout + self._protocol.unlock_reply_delay
            )
        except _NoReply as exc:
            detail = f"lock board {wiring.board} did not acknowledge channel {wiring.channel}: {exc}"
            with self._lock:
                self._troubled[compartment] = "unlock not acknowledged"
            self._board_failed(wiring.board, exc)
            return UnlockResult(compartment, False, detail)
        self._board_answered(wiring.board, doors)
        with self._lock:
            self._troubled.pop(compartment, None)
        return UnlockResult(compartment, True)

    def door_state(self, compartment: int) -> DoorState:
        self._wiring(compartment)
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
                trouble = [
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

    # --- The bus

    def _transact(self, board: str, request: bytes, wait: float) -> Mapping[int, DoorState]:
        """Send `request`, return the door states in the reply; retried.

        Waits up to `wait` seconds for each reply.

        Raises DeviceUnavailable when the port is not open (or breaks now),
        _NoReply when the board stays silent or garbled.
        """
        problems: list[str] = []
        with self._bus_lock:
            port = self._serial
            if port is None:
                raise DeviceUnavailable(self._port_detail)
            for attempt in range(1, self._attempts + 1):
                try:
                    port.reset_input_buffer()  # a late reply to an earlier request
                    port.write(request)
                    port.flush()
                    doors, problem = self._read_reply(port, board, request, wait)
                except _PORT_ERRORS as exc:
                    self._close_port()
                    self._port_failed(
                        f"serial port {self.port} stopped working ({exc}): adapter unplugged? "
                        f"Reopening every {self._reconnect_interval:g} s"
                    )
                    raise DeviceUnavailable(self._port_detail) from None
                if doors is not None:
                    if problems:
                        log.info("board %s answered on attempt %d after: %s",
                                 board, attempt, "; ".join(problems))
                    return doors
                problems.append(problem)
        garbled = any("checksum" in p for p in problems)
        raise _NoReply(f"{problems[-1]} ({self._attempts} tries)", garbled)

    def _read_reply(
        self, port: serial.Serial, board: str, request: bytes, wait: float
    ) -> tuple[Mapping[int, DoorState] | None, str]:
        address = self._addresses[board]
        deadline = time.monotonic() + wait
        buffer = b""
        error = ""
        while time.monotonic() < deadline:
            # Blocks until a byte comes or the port's timeout (= ours) passes.
            buffer += port.read(max(1, port.in_waiting))
            reply = self._protocol.find_reply(buffer, request)
            buffer = buffer[reply.consumed:]
            error = reply.error or error
            if reply.doors is not None:
                return reply.doors, ""
            if error and not buffer:
                break  # a garbled reply came; no need to wait out the timeout
        if error:
            return None, f"garbled reply from address {address}: {error}"
        return None, f"no answer from address {address} within {wait:g} s"

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
        self._serial = port

    def _close_port(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except _PORT_ERRORS:
                pass
            self._serial = None

    def _open_problem(self, exc: BaseException) -> str:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if not os.path.exists(self.port):
            why = "not found"
        return (
            f"serial port {self.port}: {why}. Check that the RS485 adapter is plugged in, "
            f"that the `port` option names it (ls -l /dev/serial/by-id/) and that the kiosk "
            f"user may open it (deploy/udev); retrying every {self._reconnect_interval:g} s"
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

    def _board_failed(self, board: str, exc: _NoReply) -> None:
        if exc.garbled:
            status, hint = HealthStatus.DEGRADED, "noise on the bus? check termination and shielding"
        else:
            status, hint = HealthStatus.FAILED, "check power, A/B wiring and the address switch"
        with self._lock:
            self._board_health[board] = (status, f"{exc}; {hint}")
            for number, wiring in self.box.wiring.items():
                if wiring.board == board:
                    self._readings.pop(number, None)

    def _board_answered(self, board: str, doors: Mapping[int, DoorState]) -> None:
        readings = {
            number: doors[wiring.channel]
            for number, wiring in self.box.wiring.items()
            if wiring.board == board and wiring.channel in doors
        }
        with self._lock:
            self._board_health[board] = (HealthStatus.OK, "")
            if not self.has_door_sensors:
                return
            self._readings.update(readings)
            events = self._watch.observe(readings, self._clock())
            self._note_trouble(events)
        self._emit(events)

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
                    self._next_open = time.monotonic() + self._reconnect_interval
                    with self._bus_lock:
                        if not self._stop.is_set():
                            self._open_port()
                if self._serial is None:
                    self._stop.wait(min(self._poll_interval, self._reconnect_interval))
                    continue
            try:
                self._poll_round()
            except Exception:  # keep polling whatever happens; say what it was
                log.exception("kerong poller: unexpected error")
            self._stop.wait(self._poll_interval)

    def _poll_round(self) -> None:
        for board in self.box.boards:
            if self._stop.is_set():
                return
            try:
                request = self._protocol.status_request(self._addresses[board.name])
                doors = self._transact(board.name, request, self._timeout)
            except DeviceUnavailable:
                return
            except _NoReply as exc:
                self._board_failed(board.name, exc)
                continue
            self._board_answered(board.name, doors)
        # Jams show up as time passing with no opening.
        with self._lock:
            events = self._watch.expire(self._clock()) if self.has_door_sensors else []
            self._note_trouble(events)
        self._emit(events)

    def _wiring(self, compartment: int) -> Wiring:
        return self.box.lock_for(compartment)


def _addresses(box: BoxDescription, protocol: Protocol) -> dict[str, int]:
    """Board name -> bus address; every board needs a distinct one in the protocol's range."""
    lowest, highest, channels = protocol.min_address, protocol.max_address, protocol.channels
    addresses: dict[str, int] = {}
    for i, board in enumerate(box.boards):
        if board.address is None or not lowest <= board.address <= highest:
            raise DriverConfigError(
                f"boards[{i}].address", board.address,
                f"the board's address switch setting, {lowest} to {highest} "
                f"(protocol {protocol.name!r})",
                source=box.source,
            )
        if board.channels > channels:
            raise DriverConfigError(
                f"boards[{i}].channels", board.channels,
                f"at most {channels} (protocol {protocol.name!r} drives {channels} locks a board)",
                source=box.source,
            )
        if board.address in addresses.values():
            raise DriverConfigError(
                f"boards[{i}].address", board.address, "an address no other board has",
                source=box.source,
            )
        addresses[board.name] = board.address
    return addresses
