"""Console sessions: server-side, revocable, signed out after idle time.

The browser holds only a random session token (in an HttpOnly,
SameSite=Strict cookie); the registry keeps the session under the token's
SHA-256, so a memory dump or log of the store reveals no usable token.
Signing out or revoking deletes the entry and the token is worthless at
once. Sessions live in the registry process's memory: a restart signs
everybody out, which is the safe direction for staff software.

Each session has its own CSRF token that every form carries back; it is
compared in constant time. Before sign-in, the sign-in form is protected by
a double-submit token (cookie and form field must match).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

DEFAULT_IDLE_MINUTES = 15.0
COOKIE = "pbx_session"
PRE_CSRF_COOKIE = "pbx_signin"


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class Session:
    principal_id: str
    user: str  # the principal's label, for the audit of an expiry
    # Signed in with the account's password (not single sign-on): while that is one
    # an administrator issued, the console shows only the page to choose one's own.
    by_password: bool = False
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = 0.0
    # What a page keeps for this session only, in memory (e.g. the letter of a
    # just-created order, which holds its code): gone with the session.
    held: dict = field(default_factory=dict)


class SessionStore:
    def __init__(self, idle_seconds: float = DEFAULT_IDLE_MINUTES * 60,
                 clock=time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, principal_id: str, user: str,
               by_password: bool = False) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(principal_id, user, by_password=by_password, last_seen=self._clock())
        with self._lock:
            self._sessions[_key(token)] = session
        return token, session

    def lookup(self, token: str | None) -> tuple[Session | None, Session | None]:
        """(the live session, or None; the session that just ran idle, or None).

        A live session's idle clock restarts here: every request counts as activity.
        """
        if not token:
            return None, None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(_key(token))
            if session is None:
                return None, None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[_key(token)]
                return None, session
            session.last_seen = now
            return session, None

    def is_live(self, token: str | None) -> bool:
        """Whether the session still exists and is not idle, without counting as activity
        (a dashboard left open must not keep its session alive for ever)."""
        if not token:
            return False
        with self._lock:
            session = self._sessions.get(_key(token))
            return session is not None and self._clock() - session.last_seen <= self.idle_seconds

    def revoke(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            return self._sessions.pop(_key(token), None)

    def revoke_principal(self, principal_id: str, keep: str | None = None) -> int:
        """Ends every session of one account (e.g. when it is revoked), but the one of the
        token ``keep`` (the user who changed their password stays signed in here)."""
        kept = _key(keep) if keep else None
        with self._lock:
            keys = [k for k, s in self._sessions.items()
                    if s.principal_id == principal_id and k != kept]
            for key in keys:
                del self._sessions[key]
        return len(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
