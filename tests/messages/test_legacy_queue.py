"""A queue file of release 6 (its own SQLite file per registry process) is
imported into the registry database once, when the messages notifier meets
the database, and deleted; its queued notice is then sent from there, its
alarm keeps its reminder (renumbered with it), and importing again changes
nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

from registry.messages import legacy
from registry.messages.config import MessagesConfig
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from registry.messages.queue import MessageQueue
from tests.messages.helpers import ORDER_VALUES

# The file's tables exactly as release 6 created them (registry/messages/queue.py then).
RELEASE_6_SCHEMA = """
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


T = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def _at(minutes: float = 0) -> str:
    return (T + timedelta(minutes=minutes)).isoformat(timespec="microseconds")


def release_6_file(path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(RELEASE_6_SCHEMA)
    rows = [  # key, order, kind, status, values, attempts, final
        ("PO-1:ready:email:0", "PO-1", "ready", "queued", json.dumps(ORDER_VALUES), 0, None),
        ("PO-2:ready:email:0", "PO-2", "ready", "sending", json.dumps(ORDER_VALUES), 1, None),
        ("PO-3:ready:email:0", "PO-3", "ready", "sent", None, 1, _at(1)),
        ("alarm-5:alarm_reminder:email:0", "alarm-5", "alarm_reminder", "queued",
         json.dumps({"alarm_id": "5", "alarm_kind": "kiosk_offline", "where": "kiosk-1",
                     "detail": "", "time": ""}), 0, None),
    ]
    for key, order, kind, status, values, attempts, final in rows:
        conn.execute(
            'INSERT INTO messages (key, order_reference, kind, channel, recipient, language,'
            ' "values", status, attempts, not_before, next_attempt, created_at, final_at)'
            " VALUES (?, ?, ?, 'email', ?, 'de', ?, ?, ?, ?, ?, ?, ?)",
            (key, order, kind, f"{order.lower()}@example.org", values, status, attempts,
             _at(), _at(), _at(), final))
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(timespec="microseconds")
    conn.execute("UPDATE messages SET not_before = ?, next_attempt = ?"
                 " WHERE kind = 'alarm_reminder'", (later, later))  # still to come
    conn.execute("INSERT INTO attempts VALUES ('PO-3:ready:email:0', 1, ?, 'sent', '<m3@x>')",
                 (_at(1),))
    conn.execute("INSERT INTO alarms (id, kind, scope, text, raised_at) VALUES"
                 " (5, 'kiosk_offline', 'kiosk-1', 'letzte Meldung 09:00', ?)", (_at(),))
    conn.execute("INSERT INTO alarms (id, kind, scope, text, raised_at, cleared_at) VALUES"
                 " (6, 'door_forced', 'kiosk-1/3', 'Tür aufgebrochen', ?, ?)", (_at(), _at(2)))
    conn.execute("INSERT INTO kiosks_seen VALUES ('kiosk-1', ?, 'default')", (_at(),))
    conn.commit()
    conn.close()


def test_a_release_6_queue_file_is_imported_once_and_sent_from_the_database(
        tmp_path, registry_database, smtp_server):
    old = tmp_path / "messages.sqlite3"  # beside the notices, as release 6 kept it
    release_6_file(old)
    spare = tmp_path / "copy.sqlite3"
    shutil.copy(old, spare)
    config = MessagesConfig(
        email=SmtpConfig(host="127.0.0.1", port=smtp_server.port, sender="box@amt.example",
                         security=PLAIN, timeout=5),
        retry_base_seconds=0.1, retry_max_seconds=0.5, offline_minutes=0)
    notifier = MessagesNotifier(config, directory=tmp_path / "notes")
    notifier.attach_registry(registry_database)  # what the server does at its start
    assert not old.exists()  # imported and deleted: no second copy of codes and addresses
    queue = notifier.queue
    (alarm,) = [a for a in queue.alarms() if a.kind == "kiosk_offline"]
    assert alarm.open and alarm.text == "letzte Meldung 09:00"
    reminder = queue.get(f"alarm-{alarm.id}:alarm_reminder:email:0")
    assert reminder.status == "queued" and reminder.values["alarm_id"] == str(alarm.id)
    assert [a.cleared_at is not None for a in queue.alarms() if a.kind == "door_forced"] == [True]
    assert queue.get("PO-2:ready:email:0").status == "queued"  # interrupted: sent again
    assert queue.get("PO-3:ready:email:0").status == "sent"
    assert [a["detail"] for a in queue.attempts("PO-3:ready:email:0")] == ["<m3@x>"]

    notifier.start()
    try:
        received = smtp_server.handler.wait_for(2)
        assert sorted(r.recipients[0] for r in received) == ["po-1@example.org",
                                                             "po-2@example.org"]
        assert notifier.worker.wait_until_idle(10)
    finally:
        notifier.close()

    # The same file again (a crash between the import's commit and the deletion): nothing new.
    again = MessageQueue(registry_database)
    assert legacy.import_once(again, spare) == {"messages": 0, "attempts": 0, "alarms": 0}
    assert len(again.alarms()) == 2 and again.counts() == {"sent": 3, "queued": 1}
