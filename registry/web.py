"""The registry's HTTP front door: the office console and the HTTP/JSON API.

Both run in the registry's process, beside the gRPC server, and call the same
application services (the OfficeServicer), so no business rule exists twice.
One uvicorn server in a background thread serves one Starlette application
that mounts the parts; it listens on loopback unless told otherwise.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

log = logging.getLogger(__name__)

DEFAULT_WEB_ADDRESS = "127.0.0.1:8480"


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``[::1]:port`` for IPv6) into its parts; port 0 picks a free one."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"web address {address!r} is not host:port (e.g. {DEFAULT_WEB_ADDRESS})")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_app(routes: Sequence[BaseRoute], **options) -> Starlette:
    """One application from the parts' routes (``Mount("/api/v1", ...)`` and the console)."""
    return Starlette(routes=list(routes), **options)


class WebServer:
    """Runs an ASGI application with uvicorn in a daemon thread.

    The socket is bound before the thread starts, so ``port`` is known (also
    for port 0) and a busy address fails here, loudly, not in the thread.
    """

    def __init__(self, app, address: str = DEFAULT_WEB_ADDRESS, *,
                 ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        host, port = split_address(address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        # Accepted connections inherit this: without it, a response's header
        # and body writes meet Nagle and delayed ACK, ~40 ms on every request
        # over a kept-alive connection (measured by tests/benchmarks/bench_console.py).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise OSError(f"cannot listen on {address} for the web console: {error}") from error
        self.host = host
        self.port = self._socket.getsockname()[1]
        self.tls = ssl_certfile is not None
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off",
            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]},
            name="web", daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web server on {self.url} did not start")
            time.sleep(0.01)
        log.info("web console and HTTP API on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()
