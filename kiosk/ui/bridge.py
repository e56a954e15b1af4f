"""The only link between the Kivy thread and the kiosk core.

* Views: the core calls the listener on its own thread after every input;
  the newest view is handed to the UI thread with `post` (Clock.schedule_once
  in the app). Views that arrive while one is pending replace it, so a burst
  of hardware events costs one render.
* Intents: core methods block until the core has handled them (up to a
  second for an unlock), so they run on one worker thread, in order. The UI
  never waits for the core.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.core import KioskCore, KioskView

log = logging.getLogger(__name__)


class CoreBridge:
    def __init__(self, core: KioskCore, post: Callable[[Callable[[], None]], None],
                 on_view: Callable[[KioskView], None]):
        self.core = core
        self._post = post
        self._on_view = on_view
        self._latest: KioskView | None = None
        self._lock = threading.Lock()
        self._intents: queue.SimpleQueue = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="ui-intents", daemon=True)
        self._worker.start()
        core.add_listener(self._on_core_view)

    def call(self, method: Callable[..., Any], *args: Any) -> None:
        """Calls `method(core, *args)` on the worker thread; `method` is a
        `KioskCore` function (see kiosk.ui.intents), never a name."""
        self._intents.put((method, args))

    def close(self) -> None:
        self._intents.put(None)
        self._worker.join(timeout=5)

    def _work(self) -> None:
        while (item := self._intents.get()) is not None:
            method, args = item
            try:
                view = method(self.core, *args)
            except Exception:  # the UI must survive a failed intent; the core logged why
                log.exception("intent %s failed", getattr(method, "__name__", method))
                continue
            if isinstance(view, KioskView):
                self._on_core_view(view)

    def _on_core_view(self, view: KioskView) -> None:
        with self._lock:
            pending = self._latest is not None
            self._latest = view
        if not pending:
            self._post(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            view, self._latest = self._latest, None
        if view is not None:
            self._on_view(view)
