"""Hears of credential revocations committed by other processes.

A registry instance believes a verified kiosk credential for a while
(registry.identity.KIOSK_CREDENTIAL_TTL_SECONDS) instead of reading its rows
on every call. A revocation must still take effect promptly everywhere, so
every transaction that revokes or changes a credential (see
``Transaction.credentials_changed`` in registry.database) also

* bumps the counter row ``meta.credentials_seq``, and
* on PostgreSQL, sends ``NOTIFY pickupbox_credentials`` (inside the
  transaction, so only once it commits).

The notification reaches the other instances at once (registry.wakeup's
LISTEN connection hears it). :class:`CredentialWatch` is the backstop that
works on every backend, also for a SQLite file another process writes to
(`kiosk-registry kiosk enrol` re-issuing a credential): it reads the counter
every :data:`POLL_SECONDS` and makes the process forget every credential it
believes when the value changed, or could not be read.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

# The NOTIFY channel of credential revocations (PostgreSQL).
CHANNEL = "pickupbox_credentials"
# The counter row in the key-value table ``meta``; inserted by the first
# revocation, so databases of every schema version have it without a migration.
SEQ_KEY = "credentials_seq"
# How late a revocation by another process may take effect at the latest
# (NOTIFY is usually faster). One indexed read a second costs next to nothing.
POLL_SECONDS = 1.0


def must_forget(seen: int | None, now: int | None) -> bool:
    """Whether the credentials believed must be forgotten, given the counter as
    last seen and as read now (None: it could not be read). A read that failed
    may have missed a revocation, so it forgets too: the next calls check their
    credential in full, which fails as well while the database is unreachable."""
    return now is None or now != seen


class CredentialWatch:
    """Polls ``meta.credentials_seq`` in a thread of its own; a change makes
    ``db`` forget its believed credentials (``RegistryDatabase.forget_credentials``)."""

    def __init__(self, db, interval: float = POLL_SECONDS) -> None:
        self._db = db
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: int | None = None

    def _read(self) -> int | None:
        try:
            return self._db.credentials_seq()
        except Exception as exc:  # the database is away: counted as a change (must_forget)
            log.debug("could not read the credential counter: %s", exc)
            return None

    def check(self) -> bool:
        """One poll; True if it made the process forget its credentials."""
        now = self._read()
        forget = must_forget(self._seen, now)
        if forget:
            self._db.forget_credentials()
        self._seen = now
        return forget

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.check()

    def start(self) -> None:
        # The value at start is the baseline: nothing is believed yet.
        self._seen = self._read()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="credential-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
