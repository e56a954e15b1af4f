"""Pieces the real code scanners share: subscribers, health and retry pacing.

The camera and the keyboard-wedge scanner both read in a thread of their own
and must never take the kiosk down: a failing callback is logged and the
others still run; a vanished device turns health FAILED and is opened again
with growing pauses until it is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from hardware.interfaces import DeviceHealth, HealthStatus, Unsubscribe

log = logging.getLogger(__name__)
# Health changes go to the kiosk's log when it configures logging; without
# that (kiosk-hw scan-camera prints health itself) they are not echoed twice.
log.addHandler(logging.NullHandler())

E = TypeVar("E")


class Subscribers(Generic[E]):
    """Callbacks of one device, called from the device's reading thread."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], None]] = []
        self._lock = threading.Lock()

    def add(self, callback: Callable[[E], None]) -> Unsubscribe:
        entry = [callback]  # a fresh object, so the same function can subscribe twice
        with self._lock:
            self._callbacks.append(entry)  # type: ignore[arg-type]

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._callbacks:
                    self._callbacks.remove(entry)  # type: ignore[arg-type]

        return unsubscribe

    def emit(self, event: E) -> None:
        with self._lock:
            entries = list(self._callbacks)
        for entry in entries:
            try:
                entry[0](event)  # type: ignore[index]
            except Exception:  # a broken consumer must not stop the reading thread
                log.exception("code scanner subscriber failed on %r", event)


class HealthCell:
    """The current health of one device; logs each change once, not each retry."""

    def __init__(
        self, device: str, status: HealthStatus = HealthStatus.OK, detail: str = ""
    ) -> None:
        self._lock = threading.Lock()
        self._current = DeviceHealth(device, status, detail)

    @property
    def current(self) -> DeviceHealth:
        with self._lock:
            return self._current

    def set(self, status: HealthStatus, detail: str = "") -> None:
        with self._lock:
            old = self._current
            self._current = DeviceHealth(old.device, status, detail)
        if (old.status, old.detail) != (status, detail):
            level = logging.INFO if status is HealthStatus.OK else logging.WARNING
            log.log(level, "%s: %s: %s", old.device, status.value, detail or "-")


class Backoff:
    """Pauses between attempts to reopen a device: doubling, capped."""

    def __init__(self, first: float = 0.25, most: float = 5.0) -> None:
        self.first = first
        self.most = most
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.most)
        return delay

    def reset(self) -> None:
        self._next = self.first
