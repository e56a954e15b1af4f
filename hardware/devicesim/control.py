"""A simulator's control socket: one command line in, one answer line back.

Simulators of boards behind a pty (`kerong_bus`, the worked example in
examples/acme_cu48) take test commands ("open 1 3", "unplug") on stdin for a
person, and on a Unix socket beside their port, ``<port>.ctl``, for
programs: the conformance kit's operator forces and shuts doors through it
while the kit runs in another process.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path


def control_path_for(port: str) -> str:
    """Where a simulator serving `port` takes commands."""
    return f"{port}.ctl"


class ControlSocket:
    """Serves `handle(line) -> answer` on ``<port>.ctl`` until `close()`."""

    def __init__(self, port: str, handle: Callable[[str], str]) -> None:
        self.path = control_path_for(port)
        self._handle = handle
        Path(self.path).unlink(missing_ok=True)
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(4)
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sim-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._server.close()
        Path(self.path).unlink(missing_ok=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, conn.makefile("rw", encoding="utf-8") as stream:
                for line in stream:
                    try:
                        answer = self._handle(line)
                    except (TypeError, ValueError, KeyError, IndexError) as exc:
                        answer = f"error: {exc}"
                    stream.write(answer.replace("\n", " | ") + "\n")
                    stream.flush()


def send_command(port: str, line: str, timeout: float = 2.0) -> str:
    """Send one command to the simulator serving `port`; returns its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(control_path_for(port))
        with sock.makefile("rw", encoding="utf-8") as stream:
            stream.write(line.strip() + "\n")
            stream.flush()
            return stream.readline().strip()
