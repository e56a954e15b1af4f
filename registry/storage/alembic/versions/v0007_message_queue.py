"""Version 7: the messages' queue and the on-call alarms move into this database.

Until version 6 the messages notifier (registry/messages) kept its queue in a
SQLite file of its own per registry process, so two instances on one
PostgreSQL had two queues. Now every instance claims from the same tables:

``messages``
    one row per message (pickup notice, reminder, e-mail/SMS/webhook),
    keyed by ``<order>:<kind>:<channel>:<sequence>``; ``claimed_by`` and
    ``lease_until`` say which instance is sending it and until when its
    claim holds (a killed instance's claim is taken over after that).
``message_attempts``
    the delivery log of each message.
``oncall_alarms``
    alarms to the staff on call (kiosk silent, door forced, citizen
    unreachable: print the letter); acknowledged once, wherever (console,
    CLI), with who and the comment. ``source_event`` links an alarm a
    kiosk event raised to that event, so the console lists them as one.

The kiosk-offline watcher reads ``kiosks.last_seen``, which every heartbeat
already writes: no second write per heartbeat (the release-6 file kept its
own copy).

``open_alarm_events``
    the kiosks' alarm events nobody acknowledged yet (the audit log stays
    the record of who did, when, with what comment): the console's banner
    counts these on every page instead of reading 30 days of events and
    their acknowledgements. Filled here from the events already stored; the
    registry adds each alarm event with the event, in its transaction
    (registry/events.py), and removes it with the acknowledgement's audit entry.

Two indexes serve the alarms page: alarm events by type and time,
acknowledgements in the audit log by target.

A queue file of an older release is imported when the registry starts
(registry/messages/legacy.py), not here: the migration does not know where
an instance kept its file.

Revision ID: 0007
"""

from alembic import op

from registry.storage.migrations import for_dialect, statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    order_reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    template_values TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    final_at TEXT,
    office_id TEXT NOT NULL DEFAULT '',
    claimed_by TEXT NOT NULL DEFAULT '',
    lease_until TEXT
);
CREATE INDEX messages_due ON messages (status, next_attempt);
CREATE INDEX messages_by_order ON messages (order_reference, channel, seq);
CREATE INDEX messages_by_provider_id ON messages (provider_id) WHERE provider_id != '';
CREATE INDEX messages_final ON messages (final_at) WHERE final_at IS NOT NULL;
CREATE TABLE message_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_attempts_by_key ON message_attempts (message_key);
CREATE TABLE oncall_alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    order_reference TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    cleared_at TEXT,
    office_id TEXT NOT NULL DEFAULT '',
    source_event TEXT NOT NULL DEFAULT ''
);
CREATE INDEX oncall_alarms_by_subject ON oncall_alarms (kind, scope, order_reference);
CREATE INDEX oncall_alarms_open ON oncall_alarms (raised_at)
    WHERE acknowledged_at IS NULL AND cleared_at IS NULL;
CREATE TABLE open_alarm_events (
    event_id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX open_alarm_events_by_time ON open_alarm_events (received_at);
CREATE INDEX events_by_type_time ON events (type, received_at);
CREATE INDEX audit_log_by_action_target ON audit_log (action, target);
"""

TABLES = ("open_alarm_events", "oncall_alarms", "message_attempts", "messages")
# registry.events.ALARM_EVENTS as this version knew them (frozen: a migration
# must not change when that module does).
ALARM_TYPES = (
    "EVENT_TYPE_ATTEMPTS_THROTTLED", "EVENT_TYPE_CLOCK_STEP", "EVENT_TYPE_COMMAND_REFUSED",
    "EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION", "EVENT_TYPE_DEVICE_FAULT",
    "EVENT_TYPE_DOOR_FAILED", "EVENT_TYPE_DOOR_FORCED", "EVENT_TYPE_DOOR_LEFT_OPEN",
    "EVENT_TYPE_PROBLEM_REPORTED", "EVENT_TYPE_STAFF_CARD_LOCKED", "EVENT_TYPE_STORAGE_FAULT",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in statements(for_dialect(SCHEMA, dialect)):
        op.execute(statement)
    types = ", ".join(f"'{name}'" for name in ALARM_TYPES)
    op.execute(
        "INSERT INTO open_alarm_events (event_id, kiosk_id, received_at)"
        f" SELECT event_id, kiosk_id, received_at FROM events AS e WHERE type IN ({types})"
        " AND NOT EXISTS (SELECT 1 FROM audit_log AS a WHERE a.action = 'alarm.acknowledged'"
        " AND a.target = e.event_id)"
    )
    op.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")


def downgrade() -> None:
    # Going back drops the queue and the on-call alarms: let the queue drain first.
    op.execute("DROP INDEX audit_log_by_action_target")
    op.execute("DROP INDEX events_by_type_time")
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
