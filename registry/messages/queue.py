"""The message queue: one row per message in the registry's own database.

Every registry instance on one database (SQLite, or PostgreSQL with several
``kiosk-registry serve`` processes) queues into and sends from the same
tables (migration 0007), through ``RegistryDatabase.transaction``. All SQL of
the messages package is in this module (``MessageQueue``).

Idempotency
    Each message's key is ``<order reference>:<kind>:<channel>:<sequence>``.
    Enqueueing an existing key is a no-op, so the registry may call a hook
    again after a crash, a retried event report or on another instance
    without sending twice.

States
    ``queued`` -> ``sending`` -> ``sent``; or back to ``queued`` with a later
    ``next_attempt`` (temporary failure, exponential backoff); or ``failed``
    (permanent, or out of attempts) / ``bounced`` (the server refused the
    recipient); ``cancelled`` for a reminder whose order ended first.

Claims across instances
    A worker claims a batch: the rows become ``sending`` with its instance
    id in ``claimed_by`` and ``lease_until`` = now + the lease (``[queue]
    lease_seconds``, default 300 s), committed before anything is sent.
    On PostgreSQL the claim selects ``FOR UPDATE SKIP LOCKED``, so two
    instances claiming at once take different rows; on SQLite the one
    writer (``BEGIN IMMEDIATE``) serialises the claims. An outcome is stored
    only while the claim is still this instance's. A claim whose lease ran
    out (its instance was killed, or hangs) is claimed again by any
    instance, the next attempt logged as "interrupted; sent again". On
    SQLite only one process uses the file, so its restart takes back its
    own claims at once (``recover``).

At-least-once, bounded
    Plain SMTP and most SMS gateways cannot be asked "did you already take
    this one?". So a message is sent twice only when the instance that sent
    it died (or hung past the lease) after the server accepted it and before
    the outcome was committed; at most the one batch in flight (``batch_size``
    messages, default 20) of the dead instance; nothing is ever lost.
    Webhook receivers can drop such duplicates by the delivery id header.

Personal data
    ``template_values`` holds what the template needs (the pickup code of a
    ready notice among it) only until the message is final; then it is wiped.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
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
DEFAULT_LEASE_SECONDS = 300.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _marks(prefix: str, values: tuple[str, ...] | list[str]) -> tuple[str, dict[str, str]]:
    """``:k0, :k1, ...`` and their parameters, for an IN list."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


def instance_id() -> str:
    """Names this process in ``claimed_by``: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
    def from_row(cls, row) -> Message:
        return cls(
            seq=row["seq"],
            key=row["key"],
            order_reference=row["order_reference"],
            kind=row["kind"],
            channel=row["channel"],
            recipient=row["recipient"],
            language=row["language"],
            values=json.loads(row["template_values"]) if row["template_values"] else {},
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
    acknowledged_by: str = ""
    comment: str = ""
    # The kiosk event that raised it ('' for alarms no event raised).
    source_event: str = ""

    @classmethod
    def from_row(cls, row, new: bool = False) -> Alarm:
        return cls(
            row["id"], row["kind"], row["order_reference"], row["scope"], row["text"],
            _moment(row["raised_at"]),  # type: ignore[arg-type]
            _moment(row["acknowledged_at"]), _moment(row["cleared_at"]), new,
            row["office_id"], row["acknowledged_by"], row["comment"], row["source_event"],
        )

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None and self.cleared_at is None


class MessageQueue:
    """The queue on the registry's database.

    ``database`` is the server's ``RegistryDatabase``, or (for tools and
    tests) a path or URL that one is opened on and closed with the queue.
    ``lease_seconds``: how long a claim holds before another instance may
    take the message over; longer than a batch can take to send.
    """

    def __init__(self, database, *, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 owner: str | None = None) -> None:
        if isinstance(database, (str, os.PathLike)):
            from registry.database import RegistryDatabase

            database = RegistryDatabase(Path(database) if not str(database).startswith(
                ("postgres", "sqlite:")) else str(database))
            self._owns_database = True
        else:
            self._owns_database = False
        self.db = database
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = owner or instance_id()
        self._local = threading.local()  # the transaction this thread is in, if any
        self._wake = threading.Condition()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """The registry transaction the queue's calls on this thread join
        (one commit for all of them, and for what the caller adds, e.g. an
        audit entry); joins an outer one if there is one."""
        current = getattr(self._local, "tx", None) or self.db.current_transaction
        if current is not None:
            yield current
            return
        with self.db.transaction() as tx:
            self._local.tx = tx
            try:
                yield tx
            finally:
                self._local.tx = None

    _tx = transaction

    @property
    def _inside(self) -> bool:
        return getattr(self._local, "tx", None) is not None or (
            self.db.current_transaction is not None)

    @contextmanager
    def together(self) -> Iterator[None]:
        """One commit (one fsync) for everything queued inside: a ready notice
        queues the notice, its reminders and the integrations' events at
        once, all or none (a repeated hook queues the missing rest)."""
        nested = self._inside
        with self.transaction():
            yield
        if not nested:
            fault_point("messages:enqueue:committed")
            self.wake()

    def close(self) -> None:
        if self._owns_database:
            self.db.close()

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
        committing = not self._inside
        with self.transaction() as tx:
            inserted = tx.execute(
                "INSERT INTO messages (key, order_reference, kind, channel, recipient, language,"
                " template_values, status, not_before, next_attempt, created_at, office_id)"
                " VALUES (:key, :ref, :kind, :channel, :recipient, :language, :values, :status,"
                " :start, :start, :now, :office) ON CONFLICT (key) DO NOTHING",
                {"key": key, "ref": order_reference, "kind": kind, "channel": channel,
                 "recipient": recipient, "language": language,
                 "values": json.dumps(values, ensure_ascii=False), "status": QUEUED,
                 "start": start, "now": _text(now), "office": office_id},
            )
            fault_point("messages:enqueue")
        if committing:  # else together() commits, and says so
            fault_point("messages:enqueue:committed")
            if inserted:
                self.wake()
        return bool(inserted)

    def cancel_scheduled(self, order_reference: str, kinds: tuple[str, ...]) -> int:
        """Cancels queued messages of these kinds (reminders of an order that ended)."""
        marks, params = _marks("k", kinds)
        with self.transaction() as tx:
            return tx.execute(
                "UPDATE messages SET status = :cancelled, final_at = :now,"
                " template_values = NULL WHERE order_reference = :ref AND status = :queued"
                f" AND kind IN ({marks})",
                {"cancelled": CANCELLED, "now": _text(utcnow()), "ref": order_reference,
                 "queued": QUEUED, **params},
            )

    # ------------------------------------------------------------- worker

    def recover(self) -> int:
        """At the worker's start: claims left ``sending`` that are free to
        take back are queued again; returns how many. On SQLite one process
        owns the file, so every claim is its own earlier life's; on
        PostgreSQL another instance may be sending right now, so only
        claims whose lease ran out (``claim_due`` also takes those)."""
        now = _text(utcnow())
        with self.transaction() as tx:
            where = "status = :sending"
            if tx.postgresql:
                where += " AND lease_until < :now"
            stale = tx.query(f"SELECT key, attempts FROM messages WHERE {where}",
                             {"sending": SENDING, "now": now})
            if stale:
                tx.execute(
                    "INSERT INTO message_attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (:key, :attempt, :at, 'unknown',"
                    " 'interrupted; sent again (at-least-once)')",
                    [{"key": r["key"], "attempt": r["attempts"], "at": now} for r in stale],
                )
                tx.execute(
                    f"UPDATE messages SET status = :queued, claimed_by = '', lease_until = NULL"
                    f" WHERE {where}", {"queued": QUEUED, "sending": SENDING, "now": now},
                )
        return len(stale)

    def claim_due(self, limit: int, now: datetime | None = None) -> list[Message]:
        """Marks up to ``limit`` due messages ``sending`` for this instance and
        returns them; a message whose claim's lease ran out is due again.

        A message waits while an earlier one of the same order and channel
        is unfinished and due: webhooks (and e-mails) arrive in order.
        """
        moment = now or utcnow()
        at = _text(moment)
        with self.transaction() as tx:
            sql = (
                "SELECT * FROM messages AS m WHERE"
                " ((m.status = :queued AND m.next_attempt <= :now)"
                "  OR (m.status = :sending AND m.lease_until < :now))"
                " AND NOT EXISTS (SELECT 1 FROM messages AS e"
                "   WHERE e.order_reference = m.order_reference AND e.channel = m.channel"
                "   AND e.seq < m.seq AND e.status IN (:queued, :sending) AND e.not_before <= :now)"
                " ORDER BY m.seq LIMIT :limit"
            )
            if tx.postgresql:  # rows another instance is claiming right now are skipped
                sql += " FOR UPDATE OF m SKIP LOCKED"
            rows = tx.query(sql, {"queued": QUEUED, "sending": SENDING, "now": at,
                                  "limit": limit})
            taken_over = [r for r in rows if r["status"] == SENDING]
            if taken_over:
                tx.execute(
                    "INSERT INTO message_attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (:key, :attempt, :at, 'unknown',"
                    " :detail)",
                    [{"key": r["key"], "attempt": r["attempts"], "at": at,
                      "detail": f"claim of {r['claimed_by']} expired; sent again"
                                " (at-least-once)"[:500]} for r in taken_over],
                )
            if rows:
                tx.execute(
                    "UPDATE messages SET status = :sending, attempts = attempts + 1,"
                    " claimed_by = :owner, lease_until = :until WHERE seq = :seq",
                    [{"sending": SENDING, "owner": self.owner,
                      "until": _text(moment + self.lease), "seq": r["seq"]} for r in rows],
                )
        return [Message.from_row(r) for r in rows]

    def record(self, outcomes: list[tuple[Message, str, str, datetime | None]]) -> list[Message]:
        """Stores the outcomes of one batch in one commit.

        Each outcome is (message, status, detail, next_attempt): ``SENT``
        with the provider's id as detail, ``QUEUED`` with the error and the
        retry time, or a final ``FAILED``/``BOUNCED`` with the reason.
        Outcomes of messages this instance no longer holds (its lease ran
        out and another instance took them over) are dropped; returns those.
        """
        now = _text(utcnow())
        lost: list[Message] = []
        mine = " WHERE seq = :seq AND status = :sending AND claimed_by = :owner"
        with self.transaction() as tx:
            for message, status, detail, next_attempt in outcomes:
                params = {"seq": message.seq, "sending": SENDING, "owner": self.owner,
                          "now": now, "status": status}
                if status == SENT:
                    changed = tx.execute(
                        "UPDATE messages SET status = :status, provider_id = :detail,"
                        " final_at = :now, template_values = NULL, last_error = '',"
                        " claimed_by = '', lease_until = NULL" + mine,
                        {**params, "detail": detail[:200]},
                    )
                elif status == QUEUED:
                    changed = tx.execute(
                        "UPDATE messages SET status = :status, last_error = :detail,"
                        " next_attempt = :next, claimed_by = '', lease_until = NULL" + mine,
                        {**params, "detail": detail[:500],
                         "next": _text(next_attempt or utcnow())},
                    )
                else:
                    changed = tx.execute(
                        "UPDATE messages SET status = :status, last_error = :detail,"
                        " final_at = :now, template_values = NULL, claimed_by = '',"
                        " lease_until = NULL" + mine,
                        {**params, "detail": detail[:500]},
                    )
                if not changed:
                    lost.append(message)
                    continue
                tx.execute(
                    "INSERT INTO message_attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (:key, :attempt, :at, :outcome, :detail)",
                    {"key": message.key, "attempt": message.attempts + 1, "at": now,
                     "outcome": status, "detail": detail[:500]},
                )
        return lost

    def forget_finished(self, older_than: timedelta) -> int:
        """Deletes final messages (and their delivery log) that ended longer
        ago than ``older_than``: the recipient address is personal data.
        For the registry's retention rules to call; returns how many."""
        cutoff = _text(utcnow() - older_than)
        with self.transaction() as tx:
            keys = [r["key"] for r in tx.query(
                "SELECT key FROM messages WHERE final_at IS NOT NULL AND final_at < :cutoff",
                {"cutoff": cutoff},
            )]
            if keys:
                tx.execute("DELETE FROM message_attempts WHERE message_key = :k",
                           [{"k": k} for k in keys])
                tx.execute("DELETE FROM messages WHERE key = :k", [{"k": k} for k in keys])
        return len(keys)

    def forget(self, reference: str) -> int:
        """Wipes what is personal from an ended order's final messages: the
        recipient, the server's replies (which may quote it) and the delivery
        log's details. What was sent when, and how it ended, stays for the
        office (`order get`). A message still on its way keeps its recipient
        until it is final and the next retention run comes. Returns how many."""
        with self.transaction() as tx:
            keys = [r["key"] for r in tx.query(
                "SELECT key FROM messages WHERE order_reference = :ref AND final_at IS NOT NULL"
                " AND (recipient != '' OR last_error != '' OR provider_id != '')",
                {"ref": reference},
            )]
            if keys:
                tx.execute(
                    "UPDATE messages SET recipient = '', last_error = '', provider_id = ''"
                    " WHERE key = :k", [{"k": k} for k in keys],
                )
                tx.execute("UPDATE message_attempts SET detail = '' WHERE message_key = :k",
                           [{"k": k} for k in keys])
        if keys and not self._inside:  # and out of SQLite's write-ahead log too
            self.db.checkpoint_wal()
        return len(keys)

    def bounce_sent(self, channel: str, provider_id: str, reason: str) -> Message | None:
        """A bounce that arrived after "sent" (bounces.py): the message with
        this provider id (the e-mail's Message-ID, the gateway's SMS id)
        becomes ``bounced`` with the reason. Returns it, or None when no sent
        message has that id (unknown, or this bounce was processed before:
        a report delivered twice changes nothing)."""
        if not provider_id:
            return None
        now = _text(utcnow())
        with self.transaction() as tx:
            rows = tx.query(
                "UPDATE messages SET status = :bounced, last_error = :reason, final_at = :now"
                " WHERE provider_id = :pid AND channel = :channel AND status = :sent RETURNING *",
                {"bounced": BOUNCED, "reason": reason[:500], "now": now, "pid": provider_id,
                 "channel": channel, "sent": SENT},
            )
            for row in rows:
                tx.execute(
                    "INSERT INTO message_attempts (message_key, attempt, at, outcome, detail)"
                    " VALUES (:key, :attempt, :at, :outcome, :detail)",
                    {"key": row["key"], "attempt": row["attempts"], "at": now,
                     "outcome": BOUNCED, "detail": f"bounce after delivery: {reason}"[:500]},
                )
        return Message.from_row(rows[0]) if rows else None

    def next_due(self) -> datetime | None:
        """When the next message is due: a queued one's next attempt, or the
        end of a claim's lease (it may be taken over then)."""
        with self.transaction() as tx:
            rows = tx.query(
                "SELECT MIN(next_attempt) AS due FROM messages WHERE status = :queued"
                " UNION ALL SELECT MIN(lease_until) FROM messages WHERE status = :sending",
                {"queued": QUEUED, "sending": SENDING},
            )
        moments = [_moment(r["due"]) for r in rows if r["due"] is not None]
        return min(moments) if moments else None

    def wake(self) -> None:
        """Wakes this process's worker. Another instance's worker finds what
        was queued here by its idle poll (worker.IDLE_POLL_SECONDS)."""
        with self._wake:
            self._wake.notify_all()

    def wait(self, timeout: float) -> None:
        with self._wake:
            self._wake.wait(timeout)

    # -------------------------------------------------------------- reads

    def for_order(self, order_reference: str) -> list[Message]:
        with self.transaction() as tx:
            rows = tx.query("SELECT * FROM messages WHERE order_reference = :ref ORDER BY seq",
                            {"ref": order_reference})
        return [Message.from_row(r) for r in rows]

    def get(self, key: str) -> Message | None:
        with self.transaction() as tx:
            rows = tx.query("SELECT * FROM messages WHERE key = :key", {"key": key})
        return Message.from_row(rows[0]) if rows else None

    def counts(self) -> dict[str, int]:
        with self.transaction() as tx:
            rows = tx.query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
        return {row["status"]: row["n"] for row in rows}

    def attempts(self, key: str) -> list[dict[str, Any]]:
        """The delivery log of one message."""
        with self.transaction() as tx:
            return tx.query(
                "SELECT attempt, at, outcome, detail FROM message_attempts"
                " WHERE message_key = :key ORDER BY id", {"key": key},
            )

    # ------------------------------------------------------ kiosk heartbeats

    def kiosks_silent_since(self, moment: datetime) -> list[tuple[str, datetime, str]]:
        """(kiosk, last heartbeat, office) of enrolled kiosks silent since before
        ``moment``, from the registry's own record of heartbeats (``kiosks``)."""
        with self.transaction() as tx:
            rows = tx.query(
                "SELECT k.kiosk_id, k.last_seen, COALESCE(e.office_id, '') AS office_id"
                " FROM kiosks AS k LEFT JOIN kiosk_enrolments AS e ON e.kiosk_id = k.kiosk_id"
                " WHERE k.last_seen < :moment AND e.revoke_time IS NULL",
                {"moment": moment.astimezone(timezone.utc).isoformat()},
            )
        return [(r["kiosk_id"], datetime.fromisoformat(r["last_seen"]), r["office_id"])
                for r in rows]

    # ------------------------------------------------------------- alarms

    def raise_alarm(
        self, kind: str, text: str, order_reference: str = "", scope: str = "",
        office_id: str = "", source_event: str = "",
    ) -> Alarm:
        """Records an alarm. An open alarm of the same kind about the same
        order or scope is returned instead (``new`` False): one alarm, not
        one per message or per repeated kiosk report (nor one per instance:
        the check and the insert hold a lock on PostgreSQL)."""
        with self.transaction() as tx:
            tx.lock(f"oncall_alarm:{kind}:{order_reference}:{scope}")
            found = tx.query(
                "SELECT * FROM oncall_alarms WHERE kind = :kind AND order_reference = :ref"
                " AND scope = :scope AND acknowledged_at IS NULL AND cleared_at IS NULL",
                {"kind": kind, "ref": order_reference, "scope": scope},
            )
            if found:
                return Alarm.from_row(found[0])
            row = tx.query(
                "INSERT INTO oncall_alarms (kind, order_reference, scope, text, raised_at,"
                " office_id, source_event) VALUES (:kind, :ref, :scope, :text, :now, :office,"
                " :event) RETURNING *",
                {"kind": kind, "ref": order_reference, "scope": scope, "text": text,
                 "now": _text(utcnow()), "office": office_id, "event": source_event},
            )[0]
        return Alarm.from_row(row, new=True)

    def alarms(self, *, open_only: bool = False) -> list[Alarm]:
        query = "SELECT * FROM oncall_alarms"
        if open_only:
            query += " WHERE acknowledged_at IS NULL AND cleared_at IS NULL"
        with self.transaction() as tx:
            rows = tx.query(query + " ORDER BY id")
        return [Alarm.from_row(r) for r in rows]

    def alarm(self, alarm_id: int) -> Alarm | None:
        with self.transaction() as tx:
            rows = tx.query("SELECT * FROM oncall_alarms WHERE id = :id", {"id": alarm_id})
        return Alarm.from_row(rows[0]) if rows else None

    def acknowledge_alarm(self, alarm_id: int, by: str = "", comment: str = "") -> Alarm | None:
        """Someone took care of it: no more reminders. None if not open."""
        with self.transaction() as tx:
            rows = tx.query(
                "UPDATE oncall_alarms SET acknowledged_at = :now, acknowledged_by = :by,"
                " comment = :comment WHERE id = :id AND acknowledged_at IS NULL"
                " AND cleared_at IS NULL RETURNING *",
                {"now": _text(utcnow()), "by": by, "comment": comment, "id": alarm_id},
            )
        return Alarm.from_row(rows[0]) if rows else None

    def has_uncleared(self, kinds: tuple[str, ...], scope: str) -> bool:
        """Whether ``scope`` has an alarm of ``kinds`` not cleared yet; asked on a
        read connection (registry.database.reading), so that the answer "no", the
        common one, costs no write transaction."""
        marks, params = _marks("k", kinds)
        with self.db.reading() as tx:
            rows = tx.query(
                "SELECT 1 FROM oncall_alarms WHERE scope = :scope"
                f" AND kind IN ({marks}) AND cleared_at IS NULL LIMIT 1",
                {"scope": scope, **params},
            )
        return bool(rows)

    def clear_alarms(self, kinds: tuple[str, ...], scope: str) -> list[Alarm]:
        """The cause is gone (the kiosk reported it resolved): all-clear.
        Acknowledged alarms are cleared too; they still need the all-clear."""
        marks, params = _marks("k", kinds)
        with self.transaction() as tx:
            rows = tx.query(
                "UPDATE oncall_alarms SET cleared_at = :now WHERE scope = :scope"
                f" AND kind IN ({marks}) AND cleared_at IS NULL RETURNING *",
                {"now": _text(utcnow()), "scope": scope, **params},
            )
        return [Alarm.from_row(r) for r in rows]
