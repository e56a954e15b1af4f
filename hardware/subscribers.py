"""Event subscribers of one device, shared by the drivers.

Every driver that delivers events (`subscribe(callback)` in
`hardware.interfaces`) keeps its callbacks in a `Subscribers`: the simulated
devices and the real ones alike, so all of them behave the same when a
callback is added twice, removed while events flow, or raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from hardware.interfaces import Unsubscribe

E = TypeVar("E")


class Subscribers(Generic[E]):
    """Callbacks of one device; safe to use from several threads."""

    def __init__(self) -> None:
        self._entries: list[list[Callable[[E], None]]] = []
        self._lock = threading.Lock()

    def add(self, callback: Callable[[E], None]) -> Unsubscribe:
        # Each subscription gets its own entry, so subscribing the same
        # function twice gives two independent subscriptions.
        entry = [callback]
        with self._lock:
            self._entries.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                self._entries = [e for e in self._entries if e is not entry]

        return unsubscribe

    def emit(self, events: Iterable[E]) -> None:
        # One broken consumer must not keep the others from hearing a door
        # event (the audit log must still record a forced door when the UI
        # callback crashes), so every subscriber hears every event first.
        # The first failure is then re-raised rather than swallowed: the
        # simulated drivers let it reach the caller so a broken consumer
        # fails its test, and the real drivers' pollers catch and log it.
        failure: BaseException | None = None
        for event in events:
            with self._lock:
                callbacks = [entry[0] for entry in self._entries]
            for callback in callbacks:
                try:
                    callback(event)
                except Exception as exc:  # the other subscribers still hear it
                    failure = failure or exc
        if failure is not None:
            raise failure
