"""Kerong lock boards on a simulated RS485 bus, served on a pty.

The driver opens a serial port path; this simulator holds the other end of
an ``os.openpty()`` pair and answers frames byte by byte, for one or more
board addresses: KR-CU16 frames (``protocol="cu16"``, the default) or those
of the older KR-CU boards (``protocol="legacy"``), with the same fault
controls for both. The port is reached through a stable symlink that the
simulator re-points, so unplugging and replugging looks to the driver just
like a USB-RS485 adapter leaving and coming back under /dev/serial/by-id.

Run it for a manual test::

    python -m hardware.devicesim.kerong_bus --boards 1,2 [--protocol legacy]

It prints the port path, serves until Ctrl-C and reads commands on stdin
(``open 1 3``, ``close 1 3``, ``jam 1 3``, ``unjam 1 3``, ``silent``,
``talk``, ``corrupt``, ``clean``, ``unplug``, ``replug``, ``log``).
Point the driver at it: ``kiosk-hw doors --driver kerong --config
deploy/kerong.example.toml`` with ``port`` set to the printed path.

Doors are spring-loaded: an unlock pulse on a lock that is not jammed pops
the door open before the board replies. All boards start with every door
closed. Real legacy boards answer an unlock only after about a second;
`unlock_delay` simulates that (tests leave it at 0 to stay fast).

The variants sold, each an option (and a command-line flag):

* ``reply_length`` (legacy): the whole-board reply's length, 7 (8- and
  24-channel boards, the most common), 8 (32 channels, the default here) or
  11 (50 channels); any other length makes a board no variant describes.
* ``inverted``: the feedback switches read the other way round (a set bit
  means open), as on boards with normally-open switches.
* ``silent_unlocks``: the board pulses the lock but never answers an unlock
  (some KR-CU16 variants); status requests are still answered.

The same commands as on stdin are served on a Unix socket beside the port,
``<port>.ctl`` (one line in, one line back), so a program can act on the
boards: `operator` makes a conformance-kit operator of it (``kiosk-hw
conformance --operator hardware.devicesim.kerong_bus:operator``).
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from hardware.box import BoxDescription, load_box
from hardware.conformance import CommandOperator
from hardware.devicesim.control import ControlSocket, control_path_for, send_command

from hardware.kerong import codec, legacy_codec
from hardware.kerong.protocols import PROTOCOLS

Request = codec.Request | legacy_codec.Request


@dataclass(frozen=True)
class Received:
    """A request frame that reached the bus, with time.monotonic()."""

    at: float
    frame: bytes
    request: Request


@dataclass(frozen=True)
class _Wire:
    """How the boards of one protocol read requests and answer them."""

    find_request: Callable[[bytes], codec.Found]
    parse_request: Callable[[bytes], Request]
    unlock: int  # the `command` of an unlock Request
    channel: Callable[[Request], int]  # the lock a request names (legacy status: 0 = all)
    answer: Callable[[Request, list[bool], int], bytes]  # (request, doors open, length) -> reply


def _cu16_find_request(buffer: bytes) -> codec.Found:
    consumed = 0
    while True:
        found = codec.find_frame(buffer[consumed:])
        consumed += found.consumed
        if found.frame is None or found.frame[2] != codec.REPLY_STATUS:
            return codec.Found(found.frame, consumed, found.error)
        # else another board's reply on the bus, not for us: look further


def _closed_bits(doors: list[bool]) -> int:
    return sum(1 << i for i, is_open in enumerate(doors) if not is_open)


def _cu16_answer(request: codec.Request, doors: list[bool], length: int) -> bytes:
    # Status and unlock are both answered with the board's status.
    return codec.status_reply(request.board, _closed_bits(doors), channel=request.channel)


def _legacy_answer(request: legacy_codec.Request, doors: list[bool], length: int) -> bytes:
    if request.command == legacy_codec.STATUS and request.lock == legacy_codec.WHOLE_BOARD:
        return legacy_codec.board_reply(request.board, _closed_bits(doors), length)
    return legacy_codec.reply(request.board, request.lock, doors[request.lock - 1], request.command)


_WIRES = {
    "cu16": _Wire(_cu16_find_request, codec.parse_request, codec.CMD_UNLOCK,
                  attrgetter("channel"), _cu16_answer),
    "legacy": _Wire(legacy_codec.find_request, legacy_codec.parse_request, legacy_codec.UNLOCK,
                    attrgetter("lock"), _legacy_answer),
}


class KerongBus:
    """Boards at `addresses` behind a pty; use as a context manager.

    `link` is the symlink the driver opens; by default one in a fresh
    temporary directory. `protocol` is "cu16" or "legacy"; `unlock_delay`
    the seconds a board takes before it answers an unlock. Test controls
    are thread-safe.
    """

    def __init__(
        self,
        addresses: list[int] | tuple[int, ...] = (1,),
        link: str | None = None,
        *,
        protocol: str = "cu16",
        unlock_delay: float = 0.0,
        reply_length: int = 8,
        inverted: bool = False,
        silent_unlocks: bool = False,
    ):
        spec = PROTOCOLS[protocol]
        for address in addresses:
            if not spec.min_address <= address <= spec.max_address:
                raise ValueError(
                    f"{protocol} board address must be {spec.min_address} to {spec.max_address}, "
                    f"got {address}"
                )
        self.protocol = protocol
        self._wire = _WIRES[protocol]
        self._channels = spec.channels
        self._unlock_delay = unlock_delay
        self.reply_length = reply_length  # legacy whole-board replies
        self.inverted = inverted
        self.silent_unlocks = silent_unlocks
        self._tmpdir = None if link else tempfile.mkdtemp(prefix="kerong-bus-")
        self.link = Path(link) if link else Path(self._tmpdir) / "ttyKERONG"
        self.addresses = tuple(addresses)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._open = {a: [False] * self._channels for a in self.addresses}
        self._jammed: set[tuple[int, int]] = set()
        self._silent: set[int] = set()  # boards that do not answer
        self._corrupt = False
        self._noise = b""
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._control: ControlSocket | None = None

    # --- Life cycle

    def start(self) -> KerongBus:
        self._plug()
        self._thread = threading.Thread(target=self._serve, name="kerong-bus", daemon=True)
        self._thread.start()
        self._control = ControlSocket(self.port, lambda line: _command(self, line))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._control is not None:
            self._control.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._unplug()
        if self._tmpdir is not None:
            try:
                os.rmdir(self._tmpdir)
            except OSError:
                pass

    def __enter__(self) -> KerongBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> str:
        """The path to give the driver (the symlink)."""
        return str(self.link)

    @property
    def control_path(self) -> str:
        """The Unix socket that takes the stdin commands (see `control_path_for`)."""
        return control_path_for(self.port)

    # --- Test controls

    def door_open(self, address: int, channel: int) -> bool:
        with self._lock:
            return self._open[address][channel - 1]

    def open_door(self, address: int, channel: int) -> None:
        """Someone pulls the door open (forced, if no unlock came first)."""
        with self._lock:
            self._open[address][channel - 1] = True

    def close_door(self, address: int, channel: int) -> None:
        with self._lock:
            self._open[address][channel - 1] = False

    def jam(self, address: int, channel: int, jammed: bool = True) -> None:
        """Unlocks are still answered, but the door stays shut."""
        with self._lock:
            (self._jammed.add if jammed else self._jammed.discard)((address, channel))

    def set_silent(self, silent: bool = True, address: int | None = None) -> None:
        """Stop answering (one board, or all): a cut cable or dead board."""
        with self._lock:
            boards = self.addresses if address is None else (address,)
            if silent:
                self._silent.update(boards)
            else:
                self._silent.difference_update(boards)

    def set_corrupt(self, corrupt: bool = True) -> None:
        """Send every reply with a wrong checksum (noise on the line)."""
        with self._lock:
            self._corrupt = corrupt

    def add_noise(self, noise: bytes) -> None:
        """Send these bytes just before the next reply."""
        with self._lock:
            self._noise += noise

    def unplug(self) -> None:
        """The adapter leaves: pty closed, symlink gone."""
        with self._lock:
            self._unplug()

    def replug(self) -> None:
        """The adapter comes back, as a new pty behind the same symlink."""
        with self._lock:
            self._unplug()
            self._plug()

    def requests(self, command: int | None = None) -> list[Request]:
        """Requests received so far; `command` as in the protocol's Request."""
        with self._lock:
            received = list(self.received)
        return [r.request for r in received if command is None or r.request.command == command]

    # --- Inside

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no ^C on 0x03 (ETX) until the driver opens it
        self._master, self._slave = master, slave
        temporary = self.link.with_name(self.link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(os.ttyname(slave))
        os.replace(temporary, self.link)

    def _unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            master = self._master
            if master is None:
                buffer = b""
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                if not ready:
                    continue
                buffer += os.read(master, 256)
            except OSError:  # unplugged meanwhile
                buffer = b""
                continue
            while True:
                found = self._wire.find_request(buffer)
                buffer = buffer[found.consumed:]
                if found.frame is None:
                    break
                self._answer(master, found.frame)

    def _answer(self, master: int, frame: bytes) -> None:
        request = self._wire.parse_request(frame)
        channel = self._wire.channel(request)
        unlock = request.command == self._wire.unlock
        with self._lock:
            self.received.append(Received(time.monotonic(), frame, request))
            if request.board not in self._open or request.board in self._silent:
                return
            if channel > self._channels or (unlock and channel < 1):
                return  # no such lock here (or "open all", not simulated): no answer
            doors = self._open[request.board]
            if unlock and (request.board, channel) not in self._jammed:
                doors[channel - 1] = True
            if unlock and self.silent_unlocks:
                return  # pulsed, but this kind of board never says so
            read = [not is_open for is_open in doors] if self.inverted else doors
            reply = self._wire.answer(request, read, self.reply_length)
            if self._corrupt:
                reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
            reply, self._noise = self._noise + reply, b""
        if unlock and self._unlock_delay:
            time.sleep(self._unlock_delay)  # the board waits for the lock to open
        try:
            os.write(master, reply)
        except OSError:
            pass


def operator(options: Mapping[str, Any]) -> BusOperator:
    """A conformance-kit operator for the simulator serving ``options["port"]``.

    ``kiosk-hw conformance --operator hardware.devicesim.kerong_bus:operator``
    calls this with the locker bank's driver options; the operator forces
    and shuts doors through the simulator's control socket.
    """
    return BusOperator(options["port"], load_box(options.get("box", "demo")))


class BusOperator(CommandOperator):
    """Forces and shuts doors on a simulator, by compartment number (see `operator`)."""

    def __init__(self, port: str, box: BoxDescription) -> None:
        addresses = {board.name: board.address for board in box.boards}
        self.port = port
        self.locks = {n: (addresses[w.board], w.channel) for n, w in box.wiring.items()}

    def force(self, compartment: int) -> None:
        self._send("open", compartment)

    def shut(self, compartment: int) -> None:
        self._send("close", compartment)

    def _send(self, verb: str, compartment: int) -> None:
        address, channel = self.locks[compartment]
        answer = send_command(self.port, f"{verb} {address} {channel}")
        if answer != "ok":
            raise RuntimeError(f"simulator at {self.port}: {answer}")


def _command(bus: KerongBus, line: str) -> str:
    words = line.split()
    if not words:
        return ""
    name, args = words[0], [int(w) for w in words[1:]]
    actions = {
        "open": lambda: bus.open_door(*args),
        "close": lambda: bus.close_door(*args),
        "jam": lambda: bus.jam(*args),
        "unjam": lambda: bus.jam(*args, jammed=False),
        "silent": lambda: bus.set_silent(True, *args),
        "talk": lambda: bus.set_silent(False, *args),
        "corrupt": lambda: bus.set_corrupt(True),
        "clean": lambda: bus.set_corrupt(False),
        "unplug": bus.unplug,
        "replug": bus.replug,
    }
    if name == "log":
        return "\n".join(f"{r.at:.3f} {r.frame.hex(' ')}" for r in bus.received[-20:])
    if name not in actions:
        return "commands: " + ", ".join([*actions, "log"])
    actions[name]()
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default="1", help="board addresses, e.g. 1,2 (default 1)")
    parser.add_argument("--link", help="symlink path for the port (default: a temporary one)")
    parser.add_argument("--protocol", choices=sorted(_WIRES), default="cu16",
                        help="cu16 (KR-CU16 boards, default) or legacy (older KR-CU boards)")
    parser.add_argument("--unlock-delay", type=float, default=0.0,
                        help="seconds before a board answers an unlock (legacy boards: about 1)")
    parser.add_argument("--reply-length", type=int, default=8,
                        help="legacy whole-board reply length: 7 (24 locks), 8 (32, default), "
                        "11 (50); other lengths fit no known variant")
    parser.add_argument("--inverted", action="store_true",
                        help="door sensors read the other way round (a set bit means open)")
    parser.add_argument("--silent-unlocks", action="store_true",
                        help="never answer an unlock (some KR-CU16 variants)")
    args = parser.parse_args(argv)
    addresses = [int(a) for a in args.boards.split(",")]
    with KerongBus(addresses, args.link, protocol=args.protocol,
                   unlock_delay=args.unlock_delay, reply_length=args.reply_length,
                   inverted=args.inverted, silent_unlocks=args.silent_unlocks) as bus:
        print(bus.port, flush=True)
        print(f"serving boards {args.boards}; commands on stdin, Ctrl-C to stop", file=sys.stderr)
        try:
            for line in sys.stdin:
                try:
                    print(_command(bus, line), flush=True)
                except (TypeError, ValueError, KeyError) as exc:
                    print(f"error: {exc}", flush=True)
            while True:  # stdin closed (e.g. run in the background): keep serving
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
