"""ACME CU48 boards simulated byte by byte behind a pty (the worked example).

The driver opens the symlink `port`; the simulator holds the other end of an
``os.openpty()`` pair. Doors are spring-loaded (an unlock pops the door
open) and all start closed. Commands for people (stdin) and programs (the
control socket ``<port>.ctl``, see `hardware.devicesim.control`):
``open N``, ``close N``, ``unplug``, ``replug``. Run it::

    python -m acme_pickupbox.sim          # prints the port to use

`operator` makes a conformance-kit operator of a running simulator::

    kiosk-hw conformance --driver acme-cu48 --port PORT \\
        --box .../cabinet48.toml --operator acme_pickupbox.sim:operator
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardware.conformance import CommandOperator
from hardware.devicesim.control import ControlSocket, send_command

from acme_pickupbox import protocol

CABINET = Path(__file__).with_name("cabinet48.toml")


class AcmeBoard:
    """One CU48 board at `address` behind a pty; a context manager."""

    def __init__(self, address: int = 1, link: str | None = None) -> None:
        self.address = address
        self._tmpdir = None if link else tempfile.mkdtemp(prefix="acme-cu48-")
        self.link = Path(link) if link else Path(self._tmpdir) / "ttyACME"
        self.open = [False] * protocol.CHANNELS
        self.lines: list[bytes] = []  # every request line received
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="acme-cu48", daemon=True)
        self._control: ControlSocket | None = None

    @property
    def port(self) -> str:
        return str(self.link)

    def __enter__(self) -> AcmeBoard:
        self._plug()
        self._thread.start()
        self._control = ControlSocket(self.port, self.command)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._control is not None:
            self._control.close()
        self._thread.join(timeout=2)
        self._unplug()
        if self._tmpdir:
            os.rmdir(self._tmpdir)

    def command(self, line: str) -> str:
        verb, *args = line.split() or [""]
        with self._lock:
            if verb in ("open", "close"):
                self.open[int(args[0]) - 1] = verb == "open"
            elif verb == "unplug":
                self._unplug()
            elif verb == "replug":
                self._unplug()
                self._plug()
            else:
                return "commands: open N, close N, unplug, replug"
        return "ok"

    def _plug(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        new = self.link.with_name(self.link.name + ".new")
        new.unlink(missing_ok=True)
        new.symlink_to(os.ttyname(self._slave))
        os.replace(new, self.link)

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
            try:
                if master is None or not select.select([master], [], [], 0.02)[0]:
                    time.sleep(0.005)
                    continue
                buffer += os.read(master, 256)
            except OSError:  # unplugged meanwhile
                buffer = b""
                continue
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                reply = self._answer(line + b"\n")
                if reply:
                    try:
                        os.write(master, reply)
                    except OSError:
                        pass

    def _answer(self, line: bytes) -> bytes:
        try:
            body = protocol.parse(line)
        except ValueError:
            return b""  # a real board ignores garbage
        with self._lock:
            self.lines.append(line)
            if body[1:3] != f"{self.address:02d}":
                return b""
            if body[0] == "S":
                closed = sum(1 << i for i, is_open in enumerate(self.open) if not is_open)
                return protocol.status_reply(self.address, closed)
            if body[0] == "U":
                lock = int(body[4:6])
                self.open[lock - 1] = True  # spring-loaded
                return protocol.unlock_reply(self.address, lock)
        return b""


class BoardOperator(CommandOperator):
    """Forces and shuts doors of a running simulator through its control socket."""

    def __init__(self, port: str) -> None:
        self.port = port

    def force(self, compartment: int) -> None:
        send_command(self.port, f"open {compartment}")  # compartment N is on channel N

    def shut(self, compartment: int) -> None:
        send_command(self.port, f"close {compartment}")


def operator(options: Mapping[str, Any]) -> BoardOperator:
    return BoardOperator(options["port"])


def main() -> int:
    with AcmeBoard() as board:
        print(board.port, flush=True)
        try:
            for line in sys.stdin:
                print(board.command(line), flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
