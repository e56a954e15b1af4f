"""Imports the queue file of a release before 7, once, into the registry database.

Until schema version 6 each registry process kept its messages, their
delivery log, the kiosks' heartbeats and the on-call alarms in a SQLite
file of its own (``messages.sqlite3`` beside the registry database, or
``[queue] path``). When the messages notifier first meets the registry's
database (the server's start) and that file exists, everything in it is
copied into the database's tables (migration 0007) in one transaction (the
heartbeats are not: the registry's ``kiosks.last_seen`` has them), and
the file is deleted: it holds recipients and, for unsent notices, pickup
codes, which must not stay behind in a second place.

Alarm numbers change (the database numbers its own): the messages of an
alarm (``alarm-<id>`` in their key and the id in their text) are renumbered
with it. Run twice (a crash between the commit and the deletion) it changes
nothing: a message of a known key is skipped, an alarm raised at the same
moment about the same thing is the same alarm. Messages still ``sending``
in the file were interrupted: they are queued again (at-least-once).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

from registry.messages.queue import QUEUED, SENDING, MessageQueue, message_key

log = logging.getLogger(__name__)
ALARM_PREFIX = "alarm-"


def _rows(conn: sqlite3.Connection, table: str) -> list[sqlite3.Row]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (table,)).fetchone()
    return conn.execute(f"SELECT * FROM {table}").fetchall() if exists else []  # noqa: S608


def _get(row: sqlite3.Row, name: str, default=""):
    return row[name] if name in row.keys() else default


def renumbered(reference: str, ids: dict[int, int]) -> str:
    """``alarm-<old id>`` as the imported alarm is numbered now; others unchanged."""
    if reference.startswith(ALARM_PREFIX) and reference[len(ALARM_PREFIX):].isdigit():
        new = ids.get(int(reference[len(ALARM_PREFIX):]))
        if new is not None:
            return f"{ALARM_PREFIX}{new}"
    return reference


def _values(text: str | None, ids: dict[int, int]) -> str | None:
    if not text:
        return text
    values = json.loads(text)
    if isinstance(values.get("alarm_id"), str) and values["alarm_id"].isdigit():
        values["alarm_id"] = str(ids.get(int(values["alarm_id"]), values["alarm_id"]))
    alarm = values.get("alarm")
    if isinstance(alarm, dict) and isinstance(alarm.get("id"), int):
        alarm["id"] = ids.get(alarm["id"], alarm["id"])
    return json.dumps(values, ensure_ascii=False)


def _is_registry_database(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return True  # not a SQLite file at all: leave it alone
    finally:
        conn.close()
    return "alembic_version" in names or "meta" in names


def import_file(queue: MessageQueue, path: Path) -> dict[str, int]:
    """Copies the file's rows into the queue's database (one transaction);
    returns how many of each were new."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        messages = _rows(conn, "messages")
        attempts = _rows(conn, "attempts")
        alarm_rows = _rows(conn, "alarms")
    finally:
        conn.close()  # the last connection folds the file's WAL back in
    counts = {"messages": 0, "attempts": 0, "alarms": 0}
    ids: dict[int, int] = {}
    with queue.transaction() as tx:
        for row in alarm_rows:
            found = tx.query(
                "SELECT id FROM oncall_alarms WHERE kind = :kind AND order_reference = :ref"
                " AND scope = :scope AND raised_at = :raised",
                {"kind": row["kind"], "ref": row["order_reference"], "scope": row["scope"],
                 "raised": row["raised_at"]},
            )
            if found:
                ids[row["id"]] = found[0]["id"]
                continue
            ids[row["id"]] = tx.query(
                "INSERT INTO oncall_alarms (kind, order_reference, scope, text, raised_at,"
                " acknowledged_at, cleared_at, office_id) VALUES (:kind, :ref, :scope, :text,"
                " :raised, :acked, :cleared, :office) RETURNING id",
                {"kind": row["kind"], "ref": row["order_reference"], "scope": row["scope"],
                 "text": row["text"], "raised": row["raised_at"],
                 "acked": row["acknowledged_at"], "cleared": row["cleared_at"],
                 "office": _get(row, "office_id")},
            )[0]["id"]
            counts["alarms"] += 1
        keys: dict[str, str] = {}
        for row in messages:  # in their order (seq), which claims keep per order
            reference = renumbered(row["order_reference"], ids)
            key = row["key"]
            if reference != row["order_reference"]:
                kind, channel, sequence = key[len(row["order_reference"]) + 1:].rsplit(":", 2)
                key = message_key(reference, kind, channel, int(sequence))
            keys[row["key"]] = key
            interrupted = row["status"] == SENDING
            counts["messages"] += tx.execute(
                "INSERT INTO messages (key, order_reference, kind, channel, recipient, language,"
                " template_values, status, attempts, not_before, next_attempt, last_error,"
                " provider_id, created_at, final_at, office_id) VALUES (:key, :ref, :kind,"
                " :channel, :recipient, :language, :values, :status, :attempts, :not_before,"
                " :next, :error, :pid, :created, :final, :office) ON CONFLICT (key) DO NOTHING",
                {"key": key, "ref": reference, "kind": row["kind"], "channel": row["channel"],
                 "recipient": row["recipient"], "language": row["language"],
                 "values": _values(row["values"], ids),
                 "status": QUEUED if interrupted else row["status"],
                 "attempts": row["attempts"], "not_before": row["not_before"],
                 "next": row["next_attempt"], "error": row["last_error"],
                 "pid": row["provider_id"], "created": row["created_at"],
                 "final": row["final_at"], "office": _get(row, "office_id")},
            )
        new_keys = {keys[k] for k in keys} - {
            r["message_key"] for r in tx.query("SELECT DISTINCT message_key FROM message_attempts")
        }
        log_rows = [
            {"key": keys.get(r["message_key"], r["message_key"]), "attempt": r["attempt"],
             "at": r["at"], "outcome": r["outcome"], "detail": r["detail"]}
            for r in attempts if keys.get(r["message_key"], r["message_key"]) in new_keys
        ]
        if log_rows:
            counts["attempts"] = tx.execute(
                "INSERT INTO message_attempts (message_key, attempt, at, outcome, detail)"
                " VALUES (:key, :attempt, :at, :outcome, :detail)", log_rows)
    return counts


def import_once(queue: MessageQueue, path: Path) -> dict[str, int] | None:
    """Imports ``path`` if it exists and deletes it; None when there was none."""
    path = Path(path)
    if not path.is_file():
        return None
    if _is_registry_database(path) or path.resolve() == getattr(
            queue.db.location, "path", None):
        return None  # a registry database (tests name theirs like this), not a queue file
    counts = import_file(queue, path)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    log.warning(
        "imported the message queue file %s into the registry database (%d messages,"
        " %d alarms) and deleted it: the queue is in the database now",
        path, counts["messages"], counts["alarms"])
    return counts
