"""Exactly-once secrets: a retried CreatePickupOrder gets the same code and PIN.

The response to a create can be lost on the way (a timeout, a dropped
connection); the office software then retries with the same request_id. The
stored replay holds no secret, so the code and PIN are held here, in the
registry process's memory only (never on disk), for ``HOLD_SECONDS`` after
creation and only for the principal that created the order. After that, or
after a restart, a retry returns the order without them and the office
reissues (ReissuePickupCode), which invalidates the old code and PIN.
"""

from __future__ import annotations

import threading
import time

from registry.permissions import Principal

HOLD_SECONDS = 600.0


class SecretHold:
    def __init__(self, hold_seconds: float = HOLD_SECONDS, clock=time.monotonic) -> None:
        self._hold_seconds = hold_seconds
        self._clock = clock
        self._held: dict[tuple[str, str], tuple[float, str, str, str]] = {}
        self._lock = threading.Lock()

    def _wipe_expired(self, now: float) -> None:
        for key in [k for k, v in self._held.items() if v[0] <= now]:
            del self._held[key]

    def hold(self, principal: Principal, request_id: str, response) -> None:
        if not request_id:
            return
        now = self._clock()
        with self._lock:
            self._wipe_expired(now)
            self._held[(principal.label, request_id)] = (
                now + self._hold_seconds, response.pickup_code, response.qr_payload, response.pin
            )

    def fill(self, principal: Principal, request_id: str, replayed):
        """The replayed response, with the secrets if still held for this caller."""
        now = self._clock()
        with self._lock:
            self._wipe_expired(now)
            held = self._held.get((principal.label, request_id))
        if held is not None:
            _, replayed.pickup_code, replayed.qr_payload, replayed.pin = held
        return replayed

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)



