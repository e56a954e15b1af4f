"""Kerong KR-CU16 boards on a simulated RS485 bus, served on a pty.

The driver opens a serial port path; this simulator holds the other end of
an ``os.openpty()`` pair and answers CU16 frames byte by byte, for one or
more board addresses. The port is reached through a stable symlink that the
simulator re-points, so unplugging and replugging looks to the driver just
like a USB-RS485 adapter leaving and coming back under /dev/serial/by-id.

Run it for a manual test::

    python -m hardware.devicesim.kerong_bus --boards 1,2

It prints the port path, serves until Ctrl-C and reads commands on stdin
(``open 1 3``, ``close 1 3``, ``jam 1 3``, ``unjam 1 3``, ``silent``,
``talk``, ``corrupt``, ``clean``, ``unplug``, ``replug``, ``log``).
Point the driver at it: ``kiosk-hw doors --driver kerong --config
deploy/kerong.example.toml`` with ``port`` set to the printed path.

Doors are spring-loaded: an unlock pulse on a lock that is not jammed pops
the door open before the board replies. All boards start with every door
closed.
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
from dataclasses import dataclass
from pathlib import Path

from hardware.kerong import codec


@dataclass(frozen=True)
class Received:
    """A request frame that reached the bus, with time.monotonic()."""

    at: float
    frame: bytes

    @property
    def request(self) -> codec.Request:
        return codec.parse_request(self.frame)


class KerongBus:
    """Boards at `addresses` behind a pty; use as a context manager.

    `link` is the symlink the driver opens; by default one in a fresh
    temporary directory. Test controls are thread-safe.
    """

    def __init__(self, addresses: list[int] | tuple[int, ...] = (1,), link: str | None = None):
        for address in addresses:
            codec.address_byte(address)  # range check
        self._tmpdir = None if link else tempfile.mkdtemp(prefix="kerong-bus-")
        self.link = Path(link) if link else Path(self._tmpdir) / "ttyKERONG"
        self.addresses = tuple(addresses)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._open = {a: [False] * codec.CHANNELS for a in self.addresses}
        self._jammed: set[tuple[int, int]] = set()
        self._silent: set[int] = set()  # boards that do not answer
        self._corrupt = False
        self._noise = b""
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- Life cycle

    def start(self) -> KerongBus:
        self._plug()
        self._thread = threading.Thread(target=self._serve, name="kerong-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
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

    def requests(self, command: int | None = None) -> list[codec.Request]:
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
                found = codec.find_frame(buffer)
                buffer = buffer[found.consumed:]
                if found.frame is None:
                    break
                if found.frame[2] in (codec.CMD_STATUS, codec.CMD_UNLOCK):
                    self._answer(master, found.frame)

    def _answer(self, master: int, frame: bytes) -> None:
        request = codec.parse_request(frame)
        with self._lock:
            self.received.append(Received(time.monotonic(), frame))
            if request.board not in self._open or request.board in self._silent:
                return
            doors = self._open[request.board]
            if request.command == codec.CMD_UNLOCK and (request.board, request.channel) not in self._jammed:
                doors[request.channel - 1] = True
            hooks = sum(1 << i for i, is_open in enumerate(doors) if not is_open)
            reply = codec.status_reply(request.board, hooks, channel=request.channel)
            if self._corrupt:
                reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
            reply, self._noise = self._noise + reply, b""
        try:
            os.write(master, reply)
        except OSError:
            pass


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
    args = parser.parse_args(argv)
    addresses = [int(a) for a in args.boards.split(",")]
    with KerongBus(addresses, args.link) as bus:
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
