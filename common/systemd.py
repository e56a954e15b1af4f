"""systemd integration: the sd_notify protocol and a watchdog that pings only while alive.

Both services run as ``Type=notify`` units (deploy/*.service). The protocol
is one datagram of ``KEY=VALUE`` lines to the AF_UNIX socket named in
``$NOTIFY_SOCKET`` (a leading "@" means the abstract namespace), so no
library is needed. Without ``$NOTIFY_SOCKET`` (a terminal, the tests, a
container) every call is a no-op.

The watchdog thread sends ``WATCHDOG=1`` only when the service's own
liveness check passes: a hung core loop or a registry that no longer answers
its own health check stops the pings, and systemd restarts the service after
``WatchdogSec=``. A thread that pinged unconditionally would keep a dead
service "alive".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def notify(*states: str) -> bool:
    """Sends ``states`` (e.g. "READY=1") to the service manager; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not states:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
    except OSError as exc:
        # The service works without systemd's notice; say why it got none.
        log.warning("cannot notify the service manager at %s: %s", address.lstrip("\0"), exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between pings (half of ``WatchdogSec=``), or None when no watchdog is set for us."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # the variable was meant for a parent process
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not a number of microseconds", usec)
        return None
    return seconds / 2 if seconds > 0 else None


class ServiceNotifier:
    """READY / WATCHDOG / STOPPING for one service process.

    ``alive`` is the liveness check the watchdog runs before each ping; it
    must return quickly (it gets half the ping interval as a budget in the
    callers here) and return False, or raise, when the service is stuck.
    """

    def __init__(self, alive: Callable[[], bool], *, interval: float | None = None) -> None:
        self._alive = alive
        self._interval = interval if interval is not None else watchdog_interval()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0  # WATCHDOG=1 sent; read by tests and the log

    def ready(self, status: str = "") -> None:
        """Start-up is complete: tells systemd and starts the watchdog thread (if one is set)."""
        notify("READY=1", *([f"STATUS={status}"] if status else []))
        if self._interval and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
            self._thread.start()

    def stopping(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        notify("STOPPING=1")

    def _run(self) -> None:
        healthy = True
        while not self._stop.wait(self._interval):
            try:
                ok = bool(self._alive())
            except Exception as exc:  # a failing check means "not alive", never a dead thread
                log.warning("watchdog check failed: %s", exc)
                ok = False
            if ok:
                if notify("WATCHDOG=1"):
                    self.pings += 1
                if not healthy:
                    log.info("watchdog check passes again")
            elif healthy:
                log.error("watchdog check fails: no WATCHDOG=1 until it passes; systemd will restart us")
            healthy = ok


def grpc_serving(target: str, *, timeout: float = 2.0, credentials=None) -> bool:
    """True when the gRPC server at ``target`` answers its own health check with SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    channel = (grpc.secure_channel(target, credentials) if credentials is not None
               else grpc.insecure_channel(target))
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False
    finally:
        channel.close()
