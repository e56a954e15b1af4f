"""The message queue: one SQLite row per message, in its own file.

A separate file (``messages.sqlite3`` beside the registry database) keeps
the registry's schema untouched and lets the worker commit without taking
the registry's lock. Its connection setup (WAL, synchronous=FULL, busy
timeout) repeats registry/database.py's on purpose for now: all SQL of the
messages package is in this module (``MessageQueue``; nothing else opens the
file), so when the registry's storage moves to SQLAlchemy/PostgreSQL the
queue moves with it here, in one place.

Idempotency
    Each message's key is ``<order reference>:<kind>:<channel>:<sequence>``.
    Enqueueing an existing key is a no-op, so the registry may call a hook
    again after a crash or a retried event report without sending twice.

States
    ``queued`` -> ``sending`` -> ``sent``; or back to ``queued`` with a later
    ``next_attempt`` (temporary failure, exponential backoff); or ``failed``
    (permanent, or out of attempts) / ``bounced`` (the server refused the
    recipient); ``cancelled`` for a reminder whose order ended first.

At-least-once, bounded
    The worker marks a batch ``sending`` (committed) before handing it to
    the channel and ``sent`` after. A crash in between leaves rows in
    ``sending``; at the next start they are queued again and sent a second
    time, because plain SMTP and most SMS gateways cannot be asked "did you
    already take this one?". So a crash duplicates at most the one batch in
    flight (``batch_size`` messages, default 20); nothing is ever lost.
    Webhook receivers can drop such duplicates by the delivery id header.

Personal data
    ``values`` holds what the template needs (the pickup code of a ready
    notice among it) only until the message is final; then it is wiped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from common.faults import fault_point

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
BOUNCED = "bounced"
CANCELLED = "cancelled"
FINAL = frozenset({SENT, FAILED, BOUNCED, CANCELLED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    order_reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    "values" TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    final_at TEXT,
    -- The office (tenant) whose channels send it; '' is the default office.
    office_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (status, next_attempt);
CREATE INDEX IF NOT EXISTS messages_by_order ON messages (order_reference, channel, seq);
CREATE TABLE IF NOT EXISTS attempts (
    message_key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS attempts_by_key ON attempts (message_key);

CREATE TABLE IF NOT EXISTS kiosks_seen (
    kiosk_id TEXT PRIMARY KEY,
    last_seen TEXT NOT NULL,
    office_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    order_reference TEXT NOT NULL DEFAULT '',
    -- What a staff alarm is about, e.g. "kiosk-1/12" (kiosk, compartment).
    scope TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    acknowledged_at TEXT,
    cleared_at TEXT,
    office_id TEXT NOT NULL DEFAULT ''
);
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Message:
    seq: int
    key: str
    order_reference: str
    kind: str
    channel: str
    recipient: str
    language: str
    values: dict[str, Any]
    status: str
    attempts: int
    not_before: datetime
    last_error: str
    provider_id: str
    created_at: datetime
    final_at: datetime | None
    office_id: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Message:
        return cls(
            seq=row["seq"],
            key=row["key"],
            order_reference=row["order_reference"],
            kind=row["kind"],
            channel=row["channel"],
            recipient=row["recipient"],
            language=row["language"],
            values=json.loads(row["values"]) if row["values"] else {},
            status=row["status"],
            attempts=row["attempts"],
            not_before=_moment(row["not_before"]),  # type: ignore[arg-type]
            last_error=row["last_error"],
            provider_id=row["provider_id"],
            created_at=_moment(row["created_at"]),  # type: ignore[arg-type]
            final_at=_moment(row["final_at"]),
            office_id=row["office_id"],
        )


def message_key(order_reference: str, kind: str, channel: str, sequence: int = 0) -> str:
    return f"{order_reference}:{kind}:{channel}:{sequence}"


def backoff(attempts: int, base: float, maximum: float) -> timedelta:
    """Delay before attempt ``attempts + 1``: base, 2 base, 4 base, ... up to maximum."""
    return timedelta(seconds=min(maximum, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    order_reference: str
    scope: str
    text: str
    raised_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None
    # False when raise_alarm found this alarm already open.
    new: bool = False
    office_id: str = ""

    @classmethod
    def from_row(cls, row: sqlite3.Row, new: bool = False) -> Alarm:
        return cls(
            row["id"], row["kind"], row["order_reference"], row["scope"], row["text"],
            _moment(row["raised_at"]),  # type: ignore[arg-type]
            _moment(row["acknowledged_at"]), _moment(row["cleared_at"]), new,
            row["office_id"],
        )


class MessageQueue:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 5000")
        # Forgotten recipients are overwritten, not left in free pages.
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.executescript(_SCHEMA)
        self._depth = 0  # 1 inside a transaction (under self._lock)
        self._in_together = False
        self._migrate()
        self._wake = threading.Condition()

    def _migrate(self) -> None:
        """Queue files written before offices had their own channels get the
        office column (their rows belong to the default office)."""
        for table in ("messages", "kiosks_seen", "alarms"):
            columns = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if "office_id" not in columns:
                self._conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN office_id TEXT NOT NULL DEFAULT ''"
                )
        # Late bounces (bounces.py) find their message by the provider's id.
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS messages_by_provider_id ON messages (provider_id)"
            " WHERE provider_id != ''"
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:  # inside together(): part of the one transaction
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._conn.execute("COMMIT")

    @contextmanager
    def together(self) -> Iterator[None]:
        """One commit (one fsync) for everything queued inside: a ready notice
        queues the notice, its reminders and the integrations' events at
        once, all or none (a repeated hook queues the missing rest)."""
        with self._lock, self._tx():
            nested = self._in_together
            self._in_together = True
            try:
                yield
            finally:
                self._in_together = nested
        if not nested:
            fault_point("messages:enqueue:committed")
            self.wake()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------ enqueue

    def enqueue(
        self,
        *,
        order_reference: str,
        kind: str,
        channel: str,
        recipient: str,
        language: str,
        values: dict[str, Any],
        sequence: int = 0,
        not_before: datetime | None = None,
        office_id: str = "",
    ) -> bool:
        """Queues one message; False if its key was queued before."""
        key = message_key(order_reference, kind, channel, sequence)
        now = utcnow()
        start = _text(not_before or now)
        with self._lock, self._tx() as conn:
            committing = self._depth == 1 and not self._in_together
            inserted = conn.execute(
                'INSERT INTO messages (key, order_reference, kind, channel, recipient, language,'
                ' "values", status, not_before, next_attempt, created_at, office_id)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, order_reference, kind, channel, recipient, language,
                 json.dumps(values, ensure_ascii=False), QUEUED, start, start, _text(now),
                 office_id),
            ).rowcount
            fault_point("messages:enqueue")
        if committing:  # else together() commits, and says so
            fault_point("messages:enqueue:committed")
            if inserted:
                self.wake()
        return bool(inserted)

    def cancel_scheduled(self, order_reference: str, kinds: tuple[str, ...]) -> int:
        """Cancels queued messages of these kinds (reminders of an order that ended)."""
        marks = ", ".join("?" for _ in kinds)
        with self._tx() as conn:
            return conn.execute(
                f"UPDATE messages SET status = ?, final_at = ?, \"values\" = NULL"
                f" WHERE order_reference = ? AND status = ? AND kind IN ({marks})",
                (CANCELLED, _text(utcnow()), order_reference, QUEUED, *kinds),
            ).rowcount

    # ------------------------------------------------------------- worker

    def recover(self) -> int:
        """After a crash: rows left ``sending`` go back to ``queued``; returns how many."""
        with self._tx() as conn:
            rows = conn.execute("SELECT key, attempts FROM messages WHERE status = ?", (SENDING,))
            stale = rows.fetchall()
            for row in stale:
                conn.execute(
                    "INSERT INTO attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (?, ?, ?, 'unknown', 'interrupted; sent again (at-least-once)')",
                    (row["key"], row["attempts"], _text(utcnow())),
                )
            conn.execute("UPDATE messages SET status = ? WHERE status = ?", (QUEUED, SENDING))
        return len(stale)

    def claim_due(self, limit: int, now: datetime | None = None) -> list[Message]:
        """Marks up to ``limit`` due messages ``sending`` and returns them.

        A message waits while an earlier one of the same order and channel
        is unfinished and due: webhooks (and e-mails) arrive in order.
        """
        moment = _text(now or utcnow())
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM messages AS m WHERE m.status = ? AND m.next_attempt <= ?"
                " AND NOT EXISTS (SELECT 1 FROM messages AS e"
                "   WHERE e.order_reference = m.order_reference AND e.channel = m.channel"
                "   AND e.seq < m.seq AND e.status IN (?, ?) AND e.not_before <= ?)"
                " ORDER BY m.seq LIMIT ?",
                (QUEUED, moment, QUEUED, SENDING, moment, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE messages SET status = ?, attempts = attempts + 1 WHERE seq = ?",
                [(SENDING, row["seq"]) for row in rows],
            )
        return [Message.from_row(r) for r in rows]

    def record(self, outcomes: list[tuple[Message, str, str, datetime | None]]) -> None:
        """Stores the outcomes of one batch in one commit.

        Each outcome is (message, status, detail, next_attempt): ``SENT``
        with the provider's id as detail, ``QUEUED`` with the error and the
        retry time, or a final ``FAILED``/``BOUNCED`` with the reason.
        """
        now = _text(utcnow())
        with self._tx() as conn:
            for message, status, detail, next_attempt in outcomes:
                attempt = message.attempts + 1
                conn.execute(
                    "INSERT INTO attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (message.key, attempt, now, status, detail[:500]),
                )
                if status == SENT:
                    conn.execute(
                        "UPDATE messages SET status = ?, provider_id = ?, final_at = ?,"
                        ' "values" = NULL, last_error = \'\' WHERE seq = ?',
                        (SENT, detail[:200], now, message.seq),
                    )
                elif status == QUEUED:
                    conn.execute(
                        "UPDATE messages SET status = ?, last_error = ?, next_attempt = ?"
                        " WHERE seq = ?",
                        (QUEUED, detail[:500], _text(next_attempt or utcnow()), message.seq),
                    )
                else:
                    conn.execute(
                        "UPDATE messages SET status = ?, last_error = ?, final_at = ?,"
                        ' "values" = NULL WHERE seq = ?',
                        (status, detail[:500], now, message.seq),
                    )

    def forget_finished(self, older_than: timedelta) -> int:
        """Deletes final messages (and their delivery log) that ended longer
        ago than ``older_than``: the recipient address is personal data.
        For the registry's retention rules to call; returns how many."""
        cutoff = _text(utcnow() - older_than)
        with self._tx() as conn:
            keys = [r[0] for r in conn.execute(
                "SELECT key FROM messages WHERE final_at IS NOT NULL AND final_at < ?", (cutoff,)
            )]
            conn.executemany("DELETE FROM attempts WHERE message_key = ?", [(k,) for k in keys])
            conn.executemany("DELETE FROM messages WHERE key = ?", [(k,) for k in keys])
        return len(keys)

    def forget(self, reference: str) -> int:
        """Wipes what is personal from an ended order's final messages: the
        recipient, the server's replies (which may quote it) and the delivery
        log's details. What was sent when, and how it ended, stays for the
        office (`order get`). A message still on its way keeps its recipient
        until it is final and the next retention run comes. Returns how many."""
        with self._tx() as conn:
            keys = [r[0] for r in conn.execute(
                "SELECT key FROM messages WHERE order_reference = ? AND final_at IS NOT NULL"
                " AND (recipient != '' OR last_error != '' OR provider_id != '')",
                (reference,),
            )]
            conn.executemany(
                "UPDATE messages SET recipient = '', last_error = '', provider_id = ''"
                " WHERE key = ?", [(k,) for k in keys],
            )
            conn.executemany(
                "UPDATE attempts SET detail = '' WHERE message_key = ?", [(k,) for k in keys]
            )
        if keys:  # and out of the write-ahead log too
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(keys)

    def bounce_sent(self, channel: str, provider_id: str, reason: str) -> Message | None:
        """A bounce that arrived after "sent" (bounces.py): the message with
        this provider id (the e-mail's Message-ID, the gateway's SMS id)
        becomes ``bounced`` with the reason. Returns it, or None when no sent
        message has that id (unknown, or this bounce was processed before:
        a report delivered twice changes nothing)."""
        if not provider_id:
            return None
        with self._tx() as conn:
            row = conn.execute(
                "UPDATE messages SET status = ?, last_error = ?, final_at = ?"
                " WHERE provider_id = ? AND channel = ? AND status = ? RETURNING *",
                (BOUNCED, reason[:500], _text(utcnow()), provider_id, channel, SENT),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "INSERT INTO attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (row["key"], row["attempts"], _text(utcnow()), BOUNCED,
                     f"bounce after delivery: {reason}"[:500]),
                )
        return None if row is None else Message.from_row(row)

    def next_due(self) -> datetime | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(next_attempt) FROM messages WHERE status = ?", (QUEUED,)
            ).fetchone()
        return _moment(row[0])

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def wait(self, timeout: float) -> None:
        with self._wake:
            self._wake.wait(timeout)

    # -------------------------------------------------------------- reads

    def for_order(self, order_reference: str) -> list[Message]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM messages WHERE order_reference = ? ORDER BY seq",
                (order_reference,),
            ).fetchall()
        return [Message.from_row(r) for r in rows]

    def get(self, key: str) -> Message | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM messages WHERE key = ?", (key,)).fetchone()
        return None if row is None else Message.from_row(row)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT status, COUNT(*) FROM messages GROUP BY status"
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def attempts(self, key: str) -> list[dict[str, Any]]:
        """The delivery log of one message."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT attempt, at, outcome, detail FROM attempts WHERE message_key = ?"
                " ORDER BY rowid",
                (key,),
            ).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------ kiosk heartbeats

    def kiosk_seen(self, kiosk_id: str, at: datetime, office_id: str = "") -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO kiosks_seen (kiosk_id, last_seen, office_id) VALUES (?, ?, ?)"
                " ON CONFLICT (kiosk_id) DO UPDATE SET last_seen = excluded.last_seen,"
                " office_id = excluded.office_id",
                (kiosk_id, _text(at), office_id),
            )

    def kiosks_silent_since(self, moment: datetime) -> list[tuple[str, datetime, str]]:
        """(kiosk, last heartbeat, office) of kiosks silent since before ``moment``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT kiosk_id, last_seen, office_id FROM kiosks_seen WHERE last_seen < ?",
                (_text(moment),),
            ).fetchall()
        return [(r[0], _moment(r[1]), r[2]) for r in rows]  # type: ignore[misc]

    # ------------------------------------------------------------- alarms

    def raise_alarm(
        self, kind: str, text: str, order_reference: str = "", scope: str = "",
        office_id: str = "",
    ) -> Alarm:
        """Records an alarm. An open alarm of the same kind about the same
        order or scope is returned instead (``new`` False): one alarm, not
        one per message or per repeated kiosk report."""
        with self._tx() as conn:
            found = conn.execute(
                "SELECT * FROM alarms WHERE kind = ? AND order_reference = ? AND scope = ?"
                " AND acknowledged_at IS NULL AND cleared_at IS NULL",
                (kind, order_reference, scope),
            ).fetchone()
            if found is not None:
                return Alarm.from_row(found)
            row = conn.execute(
                "INSERT INTO alarms (kind, order_reference, scope, text, raised_at, office_id)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (kind, order_reference, scope, text, _text(utcnow()), office_id),
            ).fetchone()
        return Alarm.from_row(row, new=True)

    def alarms(self, *, open_only: bool = False) -> list[Alarm]:
        query = "SELECT * FROM alarms"
        if open_only:
            query += " WHERE acknowledged_at IS NULL AND cleared_at IS NULL"
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id").fetchall()
        return [Alarm.from_row(r) for r in rows]

    def acknowledge_alarm(self, alarm_id: int) -> Alarm | None:
        """Someone took care of it: no more reminders. None if not open."""
        with self._tx() as conn:
            row = conn.execute(
                "UPDATE alarms SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL"
                " AND cleared_at IS NULL RETURNING *",
                (_text(utcnow()), alarm_id),
            ).fetchone()
        return None if row is None else Alarm.from_row(row)

    def clear_alarms(self, kinds: tuple[str, ...], scope: str) -> list[Alarm]:
        """The cause is gone (the kiosk reported it resolved): all-clear.
        Acknowledged alarms are cleared too; they still need the all-clear."""
        marks = ", ".join("?" for _ in kinds)
        with self._tx() as conn:
            rows = conn.execute(
                f"UPDATE alarms SET cleared_at = ? WHERE scope = ? AND kind IN ({marks})"
                " AND cleared_at IS NULL RETURNING *",
                (_text(utcnow()), scope, *kinds),
            ).fetchall()
        return [Alarm.from_row(r) for r in rows]

