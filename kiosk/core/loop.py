"""The core loop: one thread, one queue, one input at a time.

Inputs (citizen and staff intents, hardware events, remote commands) are
put on the queue from any thread and run on the core thread, so no two
inputs ever race on a compartment. Clock ticks run on schedule even while
inputs keep coming. After each burst of inputs the listeners and callers get
one fresh view.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger("kiosk.core")

# How often session timeouts and pickup deadlines are checked.
TICK_SECONDS = 1.0


class CoreLoop:
    """The thread and queue of the kiosk core; subclasses supply `_tick` and `_view`."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Any], None]] = []
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def _tick(self) -> None:
        raise NotImplementedError

    def _view(self) -> Any:
        raise NotImplementedError

    def _post(self, fn: Callable, *args) -> None:
        """Runs fn(*args) on the core thread later (hardware callbacks use this)."""
        self._inbox.put((fn, args, None))

    @property
    def thread(self) -> threading.Thread | None:
        """The core thread once started (the tests' check of who writes the store uses it)."""
        return self._thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="kiosk-core", daemon=True)
        self._thread.start()

    def _stop_loop(self) -> None:
        self._stopping.set()
        self._inbox.put((lambda: None, (), None))
        if self._thread:
            self._thread.join(timeout=5)

    def add_listener(self, listener: Callable[[Any], None]) -> None:
        """Called on the core thread after every input; must return quickly."""
        self._listeners.append(listener)

    def _loop(self) -> None:
        waiting: list[tuple[Future, Any]] = []
        next_tick = time.monotonic() + TICK_SECONDS
        while not self._stopping.is_set():
            try:
                item = self._inbox.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = None
            if item is not None:
                fn, args, future = item
                try:
                    result = fn(*args)
                    if future is not None:
                        waiting.append((future, result))
                except Exception as exc:  # one bad input must never stop the kiosk
                    log.exception("kiosk core failed to handle %s", getattr(fn, "__name__", fn))
                    if future is not None:
                        future.set_exception(exc)
            # Timeouts run on schedule even while inputs keep coming.
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK_SECONDS
                try:
                    self._tick()
                except Exception:
                    log.exception("kiosk core tick failed")
            # Hardware events caused by an input (simulators call back at
            # once) are handled before the caller gets its answer, so a caller
            # sees the state after the whole chain.
            if self._inbox.empty() and (waiting or self._listeners):
                view = self._view()
                for listener in self._listeners:
                    try:
                        listener(view)
                    except Exception:
                        log.exception("view listener failed")
                for f, r in waiting:
                    f.set_result(view if r is None else r)
                waiting.clear()

    def _call(self, fn: Callable, *args) -> Any:
        if self._thread is None:
            # Not started (unit tests, tools): run inline, then whatever the
            # hardware answered, in order, exactly as the core thread would.
            result = fn(*args)
            while not self._inbox.empty():
                queued, queued_args, _ = self._inbox.get()
                queued(*queued_args)
            return self._view() if result is None else result
        if threading.current_thread() is self._thread:
            result = fn(*args)
            return self._view() if result is None else result
        future: Future = Future()
        self._inbox.put((fn, args, future))
        return future.result(timeout=30)
