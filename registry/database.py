"""The registry's SQLite database.

One file, WAL mode, ``synchronous=FULL``: the registry is the office's record
of which document went where, so a power cut must not lose a committed
change. All access goes through :meth:`RegistryDatabase.transaction`, which
serialises callers with a lock and makes each mutation one transaction.

Change sequence
    Every insert or update of an order or a staff member takes the next value
    of one global counter (``meta.change_seq``) and stores it in the row's
    ``change_seq``. A kiosk's sync cursor is the last value it has seen, so
    "what changed since" is an indexed range query and nothing is missed.

Plaintext codes
    ``orders.pending_code`` holds the citizen's code in plaintext only until
    the "ready for pickup" notice has been written after the deposit; then it
    is set to NULL. It is also wiped when the order ends in any other way.
    Everything else is hashes: ``code_lookup`` finds an order by its code,
    ``pin_verifier`` checks code + PIN. PINs are never stored.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kiosk.domain.compartment import Size
from common.credentials import KdfParams
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from common import audit_chain as audit_rules

SCHEMA_VERSION = 4
DEFAULT_OFFICE = "default"
# After these the document is out of the box or was never put in for the
# citizen: the contact is no longer needed and the retention clock starts.
ENDED_STATUSES = frozenset({OrderStatus.COLLECTED, OrderStatus.REMOVED, OrderStatus.CANCELLED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    reference TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    size TEXT NOT NULL,
    needs_low INTEGER NOT NULL,
    requires_pin_letter_confirmation INTEGER NOT NULL,
    kiosk_id TEXT NOT NULL,
    compartment_number INTEGER,
    create_time TEXT NOT NULL,
    deposit_time TEXT,
    collect_time TEXT,
    old_document_return_time TEXT,
    pickup_deadline TEXT,
    code_lookup BLOB NOT NULL UNIQUE,
    pin_verifier TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    pending_code TEXT,
    locked INTEGER NOT NULL DEFAULT 0,
    cancel_reason TEXT NOT NULL DEFAULT '',
    change_seq INTEGER NOT NULL,
    office_id TEXT NOT NULL DEFAULT 'default',
    end_time TEXT
);
CREATE INDEX IF NOT EXISTS orders_by_kiosk_change ON orders (kiosk_id, change_seq);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    card_lookup BLOB NOT NULL UNIQUE,
    pin_verifier TEXT NOT NULL,
    active INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    change_seq INTEGER NOT NULL,
    office_id TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX IF NOT EXISTS staff_by_change ON staff (change_seq);
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id TEXT PRIMARY KEY,
    software_version TEXT NOT NULL DEFAULT '',
    registered_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    devices TEXT NOT NULL DEFAULT '[]',
    compartments TEXT NOT NULL DEFAULT '[]',
    outbox_backlog INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    type TEXT NOT NULL,
    order_reference TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_order ON events (order_reference);
CREATE TABLE IF NOT EXISTS request_replays (
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (method, request_id)
);
CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL UNIQUE,
    kiosk_id TEXT NOT NULL,
    type TEXT NOT NULL,
    compartment_number INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    service_opening INTEGER NOT NULL DEFAULT 0,
    expire_at TEXT
);
CREATE INDEX IF NOT EXISTS commands_pending ON commands (kiosk_id, delivered_at, seq);
""" + """
CREATE TABLE IF NOT EXISTS offices (
    office_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    create_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS principals (
    principal_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    office_id TEXT,
    roles TEXT NOT NULL DEFAULT '',
    kiosk_id TEXT NOT NULL DEFAULT '',
    secret_salt BLOB NOT NULL,
    secret_hash BLOB NOT NULL,
    create_time TEXT NOT NULL,
    revoke_time TEXT,
    expire_time TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_name ON principals (name) WHERE kind = 'user';
CREATE TABLE IF NOT EXISTS kiosk_enrolments (
    kiosk_id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    certificate_name TEXT UNIQUE,
    create_time TEXT NOT NULL,
    revoke_time TEXT
);
-- Office software that proves itself with a client certificate instead of an
-- API key: the certificate's CN or one of its SANs names one principal
-- (kind 'client_cert', no secret: the TLS handshake proves the key).
CREATE TABLE IF NOT EXISTS principal_certificates (
    certificate_name TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL UNIQUE
);
-- People who sign in through OpenID Connect: the identity provider's
-- (issuer, subject) names one local user, whose record holds office and roles.
CREATE TABLE IF NOT EXISTS oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    create_time TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    {audit_columns}
);
CREATE TABLE IF NOT EXISTS order_counts (
    day TEXT NOT NULL,
    office_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, office_id, kind, status)
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
-- Where the registry's chain starts once its oldest entries were purged
-- (audit retention): the last purged entry's seq and hash, signed. One row.
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL,
    purge_time TEXT NOT NULL
);
-- Each kiosk's own audit chain, exactly as the kiosk hashed it, and the
-- registry's signed checkpoints over what it received (registry key, per kiosk).
CREATE TABLE IF NOT EXISTS kiosk_audit_log (
    kiosk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    {audit_columns},
    PRIMARY KEY (kiosk_id, seq)
);
CREATE TABLE IF NOT EXISTS kiosk_audit_checkpoints (
    kiosk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, seq)
);
""".replace("{audit_columns}", audit_rules.ENTRY_COLUMNS_SQL.strip())


AUDIT_KEY_FILE = "audit.key"


def _load_or_create_key(path: Path) -> bytes:
    """The audit checkpoints' HMAC key: created once, readable by the registry only."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key.hex() + "\n")
    return key


class DuplicateError(Exception):
    """An insert hit a UNIQUE constraint; ``what`` names the column."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class CredentialPolicy:
    params: KdfParams
    lookup_salt: bytes


@dataclass(frozen=True)
class StoredOrder:
    reference: str
    kind: DocumentKind
    status: OrderStatus
    size: Size
    needs_low_compartment: bool
    requires_pin_letter_confirmation: bool
    kiosk_id: str
    compartment_number: int | None
    create_time: datetime
    deposit_time: datetime | None
    collect_time: datetime | None
    old_document_return_time: datetime | None
    pickup_deadline: datetime | None
    code_lookup: bytes
    pin_verifier: str
    contact: str
    locked: bool
    change_seq: int
    office_id: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredOrder:
        return cls(
            reference=row["reference"],
            kind=DocumentKind(row["kind"]),
            status=OrderStatus(row["status"]),
            size=Size(row["size"]),
            needs_low_compartment=bool(row["needs_low"]),
            requires_pin_letter_confirmation=bool(row["requires_pin_letter_confirmation"]),
            kiosk_id=row["kiosk_id"],
            compartment_number=row["compartment_number"],
            create_time=_moment(row["create_time"]),  # type: ignore[arg-type]
            deposit_time=_moment(row["deposit_time"]),
            collect_time=_moment(row["collect_time"]),
            old_document_return_time=_moment(row["old_document_return_time"]),
            pickup_deadline=_moment(row["pickup_deadline"]),
            code_lookup=row["code_lookup"],
            pin_verifier=row["pin_verifier"],
            contact=row["contact"],
            locked=bool(row["locked"]),
            change_seq=row["change_seq"],
            office_id=row["office_id"],
        )

    def to_domain(self) -> PickupOrder:
        return PickupOrder(
            reference=self.reference,
            kind=self.kind,
            status=self.status,
            size=self.size,
            needs_low_compartment=self.needs_low_compartment,
            requires_pin_letter_confirmation=self.requires_pin_letter_confirmation,
            code_lookup=self.code_lookup,
            pin_verifier=self.pin_verifier,
            compartment_number=self.compartment_number,
            pickup_deadline=self.pickup_deadline,
            locked=self.locked,
        )


@dataclass(frozen=True)
class StoredStaff:
    staff_id: str
    card_lookup: bytes
    pin_verifier: str
    active: bool
    create_time: datetime
    change_seq: int
    office_id: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredStaff:
        return cls(
            staff_id=row["staff_id"],
            card_lookup=row["card_lookup"],
            pin_verifier=row["pin_verifier"],
            active=bool(row["active"]),
            create_time=_moment(row["create_time"]),  # type: ignore[arg-type]
            change_seq=row["change_seq"],
            office_id=row["office_id"],
        )


@dataclass(frozen=True)
class StoredKiosk:
    kiosk_id: str
    software_version: str
    last_seen: datetime
    # Lists of protobuf-JSON dicts, exactly as the kiosk last reported them.
    devices: list[dict[str, Any]]
    compartments: list[dict[str, Any]]
    outbox_backlog: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredKiosk:
        return cls(
            kiosk_id=row["kiosk_id"],
            software_version=row["software_version"],
            last_seen=_moment(row["last_seen"]),  # type: ignore[arg-type]
            devices=json.loads(row["devices"]),
            compartments=json.loads(row["compartments"]),
            outbox_backlog=row["outbox_backlog"],
        )


@dataclass(frozen=True)
class StoredCommand:
    seq: int
    command_id: str
    kiosk_id: str
    type: str  # the protobuf CommandType name, e.g. "COMMAND_TYPE_RESYNC"
    compartment_number: int
    reason: str
    requested_by: str
    created_at: str = ""  # when the office sent it (the kiosk refuses stale opens)
    # An open of a compartment holding a document runs only as a service opening.
    service_opening: bool = False
    expire_at: str = ""  # the caller's expiry; empty: the registry's default

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredCommand:
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        fields["service_opening"] = bool(fields["service_opening"])
        fields["expire_at"] = fields["expire_at"] or ""
        return cls(**fields)


# Columns an order update may set; anything else is a programming error.
_ORDER_UPDATABLE = frozenset(
    {
        "status",
        "kiosk_id",
        "compartment_number",
        "deposit_time",
        "collect_time",
        "old_document_return_time",
        "pickup_deadline",
        "locked",
        "cancel_reason",
        "pending_code",
        "code_lookup",
        "pin_verifier",
        "contact",
    }
)


class Transaction:
    """Queries and updates inside one database transaction."""

    def __init__(self, conn: sqlite3.Connection, db: RegistryDatabase) -> None:
        self._conn = conn
        self._db = db
        self.commands_queued = False

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read-only query as plain dicts, for read models outside this module.

        Portable by contract: named ``:param`` placeholders and SQL that both
        SQLite and PostgreSQL understand, so callers survive a change of backend.
        """
        cursor = self._conn.execute(sql, params or {})
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    # ------------------------------------------------------------- sequence

    def next_seq(self) -> int:
        row = self._conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_seq' "
            "RETURNING CAST(value AS INTEGER)"
        ).fetchone()
        return row[0]

    def current_seq(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()
        return int(row[0])

    # --------------------------------------------------------- idempotency

    def replay(self, method: str, request_id: str) -> bytes | None:
        if not request_id:
            return None
        row = self._conn.execute(
            "SELECT response FROM request_replays WHERE method = ? AND request_id = ?",
            (method, request_id),
        ).fetchone()
        return None if row is None else row[0]

    def remember(self, method: str, request_id: str, response: bytes) -> None:
        if request_id:
            self._conn.execute(
                "INSERT INTO request_replays (method, request_id, response, created_at) "
                "VALUES (?, ?, ?, ?)",
                (method, request_id, response, _text(utcnow())),
            )

    # -------------------------------------------------------------- orders

    def get_order(self, reference: str) -> StoredOrder | None:
        row = self._conn.execute(
            "SELECT * FROM orders WHERE reference = ?", (reference,)
        ).fetchone()
        return None if row is None else StoredOrder.from_row(row)

    def insert_order(
        self,
        *,
        reference: str,
        kind: DocumentKind,
        size: Size,
        needs_low_compartment: bool,
        requires_pin_letter_confirmation: bool,
        kiosk_id: str,
        code_lookup: bytes,
        pin_verifier: str,
        pending_code: str,
        contact: str,
        create_time: datetime,
        office_id: str = DEFAULT_OFFICE,
    ) -> StoredOrder:
        """Raises DuplicateError("reference") or DuplicateError("code_lookup")."""
        if self.get_order(reference) is not None:
            raise DuplicateError("reference")
        if self._conn.execute(
            "SELECT 1 FROM orders WHERE code_lookup = ?", (code_lookup,)
        ).fetchone():
            raise DuplicateError("code_lookup")
        self._conn.execute(
            "INSERT INTO orders (reference, kind, status, size, needs_low,"
            " requires_pin_letter_confirmation, kiosk_id, create_time, code_lookup,"
            " pin_verifier, contact, pending_code, change_seq, office_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                kind.value,
                OrderStatus.ANNOUNCED.value,
                size.value,
                int(needs_low_compartment),
                int(requires_pin_letter_confirmation),
                kiosk_id,
                _text(create_time),
                code_lookup,
                pin_verifier,
                contact,
                pending_code,
                self.next_seq(),
                office_id,
            ),
        )
        return self.get_order(reference)  # type: ignore[return-value]

    def update_order(self, reference: str, **changes: Any) -> StoredOrder:
        """Sets the given columns and moves the order to a new change_seq."""
        unknown = set(changes) - _ORDER_UPDATABLE
        if unknown:
            raise ValueError(f"orders has no updatable column {sorted(unknown)}")
        if changes.get("status") in ENDED_STATUSES:
            # When the order ended starts its retention clock (set once).
            self._conn.execute(
                "UPDATE orders SET end_time = COALESCE(end_time, ?) WHERE reference = ?",
                (_text(utcnow()), reference),
            )
        values = []
        for value in changes.values():
            if isinstance(value, datetime):
                value = _text(value)
            elif isinstance(value, OrderStatus):
                value = value.value
            elif isinstance(value, bool):
                value = int(value)
            values.append(value)
        assignments = "".join(f"{column} = ?, " for column in changes)
        self._conn.execute(
            f"UPDATE orders SET {assignments}change_seq = ? WHERE reference = ?",
            (*values, self.next_seq(), reference),
        )
        return self.get_order(reference)  # type: ignore[return-value]

    def orders_changed_since(self, kiosk_id: str, seq: int, limit: int) -> list[StoredOrder]:
        rows = self._conn.execute(
            "SELECT * FROM orders WHERE kiosk_id = ? AND change_seq > ?"
            " ORDER BY change_seq LIMIT ?",
            (kiosk_id, seq, limit),
        ).fetchall()
        return [StoredOrder.from_row(r) for r in rows]

    def list_orders(
        self,
        *,
        statuses: list[OrderStatus],
        kiosk_id: str,
        after_rowid: int,
        limit: int,
        office_id: str | None = None,
    ) -> list[tuple[int, StoredOrder]]:
        """Orders in creation order, paged by rowid (a stable keyset)."""
        clauses = ["rowid > ?"]
        params: list[Any] = [after_rowid]
        if office_id is not None:
            clauses.append("office_id = ?")
            params.append(office_id)
        if statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(s.value for s in statuses)
        if kiosk_id:
            clauses.append("kiosk_id = ?")
            params.append(kiosk_id)
        rows = self._conn.execute(
            f"SELECT rowid, * FROM orders WHERE {' AND '.join(clauses)} ORDER BY rowid LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [(r["rowid"], StoredOrder.from_row(r)) for r in rows]

    def pending_notifications(self) -> list[tuple[StoredOrder, str]]:
        """Deposited orders whose citizen has not been told yet, with the code."""
        rows = self._conn.execute(
            "SELECT * FROM orders WHERE pending_code IS NOT NULL AND status = ?",
            (OrderStatus.DEPOSITED.value,),
        ).fetchall()
        return [(StoredOrder.from_row(r), r["pending_code"]) for r in rows]

    def wipe_pending_code(self, reference: str) -> None:
        # No change_seq bump: kiosks never see this column.
        self._conn.execute(
            "UPDATE orders SET pending_code = NULL WHERE reference = ?", (reference,)
        )

    # ------------------------------------------------------------ retention

    def ended_orders(self) -> list[tuple[str, str, str, str, str, str]]:
        """(reference, office, kind, status, end_time, contact) of every ended order."""
        rows = self._conn.execute(
            "SELECT reference, office_id, kind, status, end_time, contact FROM orders"
            " WHERE end_time IS NOT NULL"
        ).fetchall()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def wipe_contact(self, reference: str) -> None:
        self._conn.execute(
            "UPDATE orders SET contact = '', pending_code = NULL WHERE reference = ?", (reference,)
        )

    def delete_order(self, reference: str, office_id: str, kind: str, status: str,
                     day: str) -> None:
        """Deletes an order and what names it, keeping one anonymous count."""
        self._conn.execute(
            "INSERT INTO order_counts (day, office_id, kind, status, count) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (day, office_id, kind, status) DO UPDATE SET count = count + 1",
            (day, office_id, kind, status),
        )
        self._conn.execute("DELETE FROM events WHERE order_reference = ?", (reference,))
        self._conn.execute("DELETE FROM orders WHERE reference = ?", (reference,))

    def delete_replays_before(self, moment: datetime) -> int:
        return self._conn.execute(
            "DELETE FROM request_replays WHERE created_at < ?", (_text(moment),)
        ).rowcount

    def order_counts(self) -> list[sqlite3.Row]:
        return self._conn.execute("SELECT * FROM order_counts ORDER BY day").fetchall()

    # --------------------------------------------------------------- staff

    def get_staff(self, staff_id: str) -> StoredStaff | None:
        row = self._conn.execute("SELECT * FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
        return None if row is None else StoredStaff.from_row(row)

    def staff_by_card(self, card_lookup: bytes) -> StoredStaff | None:
        row = self._conn.execute(
            "SELECT * FROM staff WHERE card_lookup = ?", (card_lookup,)
        ).fetchone()
        return None if row is None else StoredStaff.from_row(row)

    def insert_staff(
        self, *, staff_id: str, card_lookup: bytes, pin_verifier: str, create_time: datetime,
        office_id: str = DEFAULT_OFFICE,
    ) -> StoredStaff:
        self._conn.execute(
            "INSERT INTO staff (staff_id, card_lookup, pin_verifier, active, create_time,"
            " change_seq, office_id) VALUES (?, ?, ?, 1, ?, ?, ?)",
            (staff_id, card_lookup, pin_verifier, _text(create_time), self.next_seq(), office_id),
        )
        return self.get_staff(staff_id)  # type: ignore[return-value]

    def deactivate_staff(self, staff_id: str) -> StoredStaff:
        self._conn.execute(
            "UPDATE staff SET active = 0, change_seq = ? WHERE staff_id = ?",
            (self.next_seq(), staff_id),
        )
        return self.get_staff(staff_id)  # type: ignore[return-value]

    def release_card(self, staff_id: str) -> None:
        """Frees a deactivated member's card for a new member (the row stays for the audit)."""
        self._conn.execute(
            "UPDATE staff SET card_lookup = ? WHERE staff_id = ? AND active = 0",
            (b"released:" + staff_id.encode(), staff_id),
        )

    def staff_changed_since(self, seq: int, limit: int, office_id: str) -> list[StoredStaff]:
        rows = self._conn.execute(
            "SELECT * FROM staff WHERE change_seq > ? AND office_id = ?"
            " ORDER BY change_seq LIMIT ?",
            (seq, office_id, limit),
        ).fetchall()
        return [StoredStaff.from_row(r) for r in rows]

    def list_staff(self, office_id: str | None = None) -> list[StoredStaff]:
        """Every staff member, or those of one office."""
        rows = self._conn.execute(
            "SELECT * FROM staff WHERE ? IS NULL OR office_id = ? ORDER BY staff_id",
            (office_id, office_id),
        ).fetchall()
        return [StoredStaff.from_row(r) for r in rows]

    # -------------------------------------------------------------- kiosks

    def get_kiosk(self, kiosk_id: str) -> StoredKiosk | None:
        row = self._conn.execute("SELECT * FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).fetchone()
        return None if row is None else StoredKiosk.from_row(row)

    def register_kiosk(
        self,
        kiosk_id: str,
        software_version: str,
        compartments: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        self._conn.execute(
            "INSERT INTO kiosks (kiosk_id, software_version, registered_at, last_seen,"
            " compartments) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (kiosk_id) DO UPDATE SET software_version = excluded.software_version,"
            " last_seen = excluded.last_seen, compartments = excluded.compartments",
            (kiosk_id, software_version, _text(now), _text(now), json.dumps(compartments)),
        )

    def record_heartbeat(
        self,
        kiosk_id: str,
        *,
        devices: list[dict[str, Any]],
        outbox_backlog: int,
        compartments: list[dict[str, Any]] | None,
        now: datetime,
    ) -> None:
        self._conn.execute(
            "UPDATE kiosks SET last_seen = ?, devices = ?, outbox_backlog = ? WHERE kiosk_id = ?",
            (_text(now), json.dumps(devices), outbox_backlog, kiosk_id),
        )
        if compartments is not None:
            self._conn.execute(
                "UPDATE kiosks SET compartments = ? WHERE kiosk_id = ?",
                (json.dumps(compartments), kiosk_id),
            )

    def touch_kiosk(self, kiosk_id: str, now: datetime) -> None:
        self._conn.execute(
            "UPDATE kiosks SET last_seen = ? WHERE kiosk_id = ?", (_text(now), kiosk_id)
        )

    def list_kiosks(self, office_id: str | None = None) -> list[StoredKiosk]:
        """Registered kiosks, or those enrolled in one office."""
        rows = self._conn.execute(
            "SELECT * FROM kiosks WHERE ? IS NULL OR kiosk_id IN"
            " (SELECT kiosk_id FROM kiosk_enrolments WHERE office_id = ?) ORDER BY kiosk_id",
            (office_id, office_id),
        ).fetchall()
        return [StoredKiosk.from_row(r) for r in rows]

    # -------------------------------------------------------------- events

    def event_exists(self, event_id: str) -> bool:
        return bool(
            self._conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone()
        )

    def insert_event(
        self, *, event_id: str, kiosk_id: str, type: str, order_reference: str, payload: bytes
    ) -> None:
        self._conn.execute(
            "INSERT INTO events (event_id, kiosk_id, type, order_reference, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, kiosk_id, type, order_reference, payload, _text(utcnow())),
        )

    # ------------------------------------------------------------ commands

    def queue_command(
        self,
        kiosk_id: str,
        type: str,
        *,
        compartment_number: int = 0,
        reason: str = "",
        requested_by: str = "",
        service_opening: bool = False,
        expire_at: datetime | None = None,
    ) -> str:
        command_id = str(uuid.uuid4())
        self._conn.execute(
            "INSERT INTO commands (command_id, kiosk_id, type, compartment_number, reason,"
            " requested_by, created_at, service_opening, expire_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (command_id, kiosk_id, type, compartment_number, reason, requested_by,
             _text(utcnow()), int(service_opening), _text(expire_at)),
        )
        self.commands_queued = True
        return command_id

    def has_undelivered(self, kiosk_id: str, type: str) -> bool:
        return bool(
            self._conn.execute(
                "SELECT 1 FROM commands WHERE kiosk_id = ? AND type = ? AND delivered_at IS NULL",
                (kiosk_id, type),
            ).fetchone()
        )

    def undelivered_commands(self, kiosk_id: str) -> list[StoredCommand]:
        rows = self._conn.execute(
            "SELECT * FROM commands WHERE kiosk_id = ? AND delivered_at IS NULL ORDER BY seq",
            (kiosk_id,),
        ).fetchall()
        return [StoredCommand.from_row(r) for r in rows]

    def acknowledge_commands(self, kiosk_id: str, command_ids: list[str]) -> None:
        self._conn.executemany(
            "UPDATE commands SET delivered_at = ? WHERE kiosk_id = ? AND command_id = ?"
            " AND delivered_at IS NULL",
            [(_text(utcnow()), kiosk_id, command_id) for command_id in command_ids],
        )

    # ------------------------------------------------------------- offices

    def get_office(self, office_id: str) -> sqlite3.Row | None:
        return self._conn.execute(
            "SELECT * FROM offices WHERE office_id = ?", (office_id,)
        ).fetchone()

    def add_office(self, office_id: str, name: str) -> None:
        self._conn.execute(
            "INSERT INTO offices (office_id, name, create_time) VALUES (?, ?, ?)",
            (office_id, name, _text(utcnow())),
        )

    def list_offices(self) -> list[sqlite3.Row]:
        return self._conn.execute("SELECT * FROM offices ORDER BY office_id").fetchall()

    # ----------------------------------------------------- kiosk enrolment

    def enrol_kiosk(self, kiosk_id: str, office_id: str, certificate_name: str | None) -> None:
        """Binds a kiosk id to its office and (optionally) its certificate's name."""
        self._conn.execute(
            "INSERT INTO kiosk_enrolments (kiosk_id, office_id, certificate_name, create_time)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE SET"
            " office_id = excluded.office_id, certificate_name = excluded.certificate_name,"
            " revoke_time = NULL",
            (kiosk_id, office_id, certificate_name, _text(utcnow())),
        )

    def get_enrolment(self, kiosk_id: str) -> sqlite3.Row | None:
        return self._conn.execute(
            "SELECT * FROM kiosk_enrolments WHERE kiosk_id = ? AND revoke_time IS NULL",
            (kiosk_id,),
        ).fetchone()

    def enrolment_by_certificate(self, names: list[str]) -> sqlite3.Row | None:
        for name in names:
            row = self._conn.execute(
                "SELECT * FROM kiosk_enrolments WHERE certificate_name = ?"
                " AND revoke_time IS NULL",
                (name,),
            ).fetchone()
            if row is not None:
                return row
        return None

    def kiosk_office(self, kiosk_id: str) -> str | None:
        row = self.get_enrolment(kiosk_id)
        return None if row is None else row["office_id"]

    def enrolled_kiosks(self, office_id: str | None) -> list[str]:
        rows = self._conn.execute(
            "SELECT kiosk_id FROM kiosk_enrolments WHERE revoke_time IS NULL"
            " AND (? IS NULL OR office_id = ?) ORDER BY kiosk_id",
            (office_id, office_id),
        ).fetchall()
        return [r[0] for r in rows]

    # ---------------------------------------------------------- principals

    def insert_principal(
        self, *, principal_id: str, kind: str, name: str, office_id: str | None, roles: str,
        kiosk_id: str, secret_salt: bytes, secret_hash: bytes,
        expire_time: datetime | None = None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO principals (principal_id, kind, name, office_id, roles, kiosk_id,"
            " secret_salt, secret_hash, create_time, expire_time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (principal_id, kind, name, office_id, roles, kiosk_id, secret_salt, secret_hash,
             _text(utcnow()), _text(expire_time)),
        )

    def get_principal(self, principal_id: str) -> sqlite3.Row | None:
        return self._conn.execute(
            "SELECT * FROM principals WHERE principal_id = ?", (principal_id,)
        ).fetchone()

    def user_by_name(self, name: str) -> sqlite3.Row | None:
        return self._conn.execute(
            "SELECT * FROM principals WHERE kind = 'user' AND name = ?", (name,)
        ).fetchone()

    def list_principals(self, kind: str) -> list[sqlite3.Row]:
        return self._conn.execute(
            "SELECT * FROM principals WHERE kind = ? ORDER BY create_time", (kind,)
        ).fetchall()

    def revoke_principal(self, principal_id: str) -> bool:
        cursor = self._conn.execute(
            "UPDATE principals SET revoke_time = ? WHERE principal_id = ? AND revoke_time IS NULL",
            (_text(utcnow()), principal_id),
        )
        return cursor.rowcount == 1

    def link_oidc_identity(self, issuer: str, subject: str, principal_id: str) -> None:
        self._conn.execute(
            "INSERT INTO oidc_identities (issuer, subject, principal_id, create_time)"
            " VALUES (?, ?, ?, ?)",
            (issuer, subject, principal_id, _text(utcnow())),
        )

    def unlink_oidc_identity(self, issuer: str, subject: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM oidc_identities WHERE issuer = ? AND subject = ?", (issuer, subject))
        return cursor.rowcount == 1

    def oidc_principal(self, issuer: str, subject: str) -> sqlite3.Row | None:
        """The user an identity provider's subject signs in as (revoked ones included)."""
        return self._conn.execute(
            "SELECT p.* FROM oidc_identities i JOIN principals p ON p.principal_id ="
            " i.principal_id WHERE i.issuer = ? AND i.subject = ?", (issuer, subject),
        ).fetchone()

    def bind_certificate(self, principal_id: str, certificate_name: str) -> None:
        self._conn.execute(
            "INSERT INTO principal_certificates (certificate_name, principal_id) VALUES (?, ?)",
            (certificate_name, principal_id),
        )

    def certificate_principal(self, names: list[str]) -> tuple[str, sqlite3.Row] | None:
        """The (certificate name, principal row) a certificate's CN or SAN is bound to,
        revoked ones included (the caller refuses those with a reason)."""
        for name in names:
            row = self._conn.execute(
                "SELECT p.* FROM principal_certificates c JOIN principals p"
                " ON p.principal_id = c.principal_id WHERE c.certificate_name = ?",
                (name,),
            ).fetchone()
            if row is not None:
                return name, row
        return None

    def certificate_name_of(self, principal_id: str) -> str | None:
        row = self._conn.execute(
            "SELECT certificate_name FROM principal_certificates WHERE principal_id = ?",
            (principal_id,),
        ).fetchone()
        return None if row is None else row[0]

    def certificate_name_taken(self, name: str) -> str | None:
        """What already answers to this certificate name: a kiosk or a principal."""
        row = self._conn.execute(
            "SELECT kiosk_id FROM kiosk_enrolments WHERE certificate_name = ?", (name,)
        ).fetchone()
        if row is not None:
            return f"kiosk {row[0]}"
        row = self._conn.execute(
            "SELECT principal_id FROM principal_certificates WHERE certificate_name = ?", (name,)
        ).fetchone()
        return None if row is None else f"client certificate principal {row[0]}"

    def revoke_kiosk_credentials(self, kiosk_id: str) -> None:
        self._conn.execute(
            "UPDATE principals SET revoke_time = ? WHERE kind = 'kiosk' AND kiosk_id = ?"
            " AND revoke_time IS NULL",
            (_text(utcnow()), kiosk_id),
        )

    # --------------------------------------------------------------- audit

    def audit(self, actor: str, action: str, *, office_id: str = "", target: str = "",
              outcome: str = "ok", **detail: Any) -> int:
        """Appends one entry to the hash chain (and a signed checkpoint now and then)."""
        last = self._conn.execute(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is None:  # empty, or every entry purged: go on from the anchor
            last = self._conn.execute("SELECT seq, hash FROM audit_anchor").fetchone()
        seq, prev = (1, audit_rules.GENESIS) if last is None else (last[0] + 1, last[1])
        time = _text(utcnow())
        detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = audit_rules.entry_hash(
            prev, seq, time, actor, action, office_id, target, outcome, detail_text  # type: ignore[arg-type]
        )
        self._conn.execute(
            "INSERT INTO audit_log (seq, time, actor, action, office_id, target, outcome, detail,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, time, actor, action, office_id, target, outcome, detail_text, prev, digest),
        )
        if audit_rules.needs_checkpoint(seq):
            self.audit_checkpoint(seq, digest)
        return seq

    def audit_checkpoint(self, seq: int, digest: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO audit_checkpoints (seq, hash, mac) VALUES (?, ?, ?)",
            (seq, digest, audit_rules.checkpoint_mac(self._db.audit_key, seq, digest)),
        )

    def checkpoint_head(self) -> None:
        """Signs the current end of the chain (at shutdown, so a cut tail shows)."""
        last = self._conn.execute(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is not None:
            self.audit_checkpoint(last[0], last[1])

    def audit_entries(self) -> list[audit_rules.AuditEntry]:
        rows = self._conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
        return [audit_rules.AuditEntry(**dict(r)) for r in rows]

    def audit_checkpoints(self) -> list[audit_rules.Checkpoint]:
        rows = self._conn.execute("SELECT * FROM audit_checkpoints ORDER BY seq").fetchall()
        return [audit_rules.Checkpoint(**dict(r)) for r in rows]

    def audit_anchor(self) -> audit_rules.Anchor | None:
        row = self._conn.execute("SELECT seq, hash, mac FROM audit_anchor").fetchone()
        return None if row is None else audit_rules.Anchor(**dict(row))

    def purge_audit_before(self, before: datetime) -> int:
        """Deletes the oldest entries written before ``before`` and anchors the
        chain at the last of them, so what remains still verifies. Refuses
        (ValueError) while the chain is broken: a purge must not erase evidence."""
        key = self._db.audit_key
        plan = audit_rules.plan_purge(self.audit_entries(), self.audit_checkpoints(), key,
                                      self.audit_anchor(), before)
        if plan is None:
            return 0
        cut, digest = plan
        self._conn.execute(
            "INSERT OR REPLACE INTO audit_anchor (id, seq, hash, mac, purge_time)"
            " VALUES (1, ?, ?, ?, ?)",
            (cut, digest, audit_rules.anchor_mac(key, cut, digest), _text(utcnow())),
        )
        deleted = self._conn.execute("DELETE FROM audit_log WHERE seq <= ?", (cut,)).rowcount
        self._conn.execute("DELETE FROM audit_checkpoints WHERE seq <= ?", (cut,))
        return deleted

    # ------------------------------------------------- kiosks' audit chains

    def kiosk_audit_head(self, kiosk_id: str) -> tuple[int, str]:
        """(seq, hash) of the last entry held for the kiosk; (0, GENESIS) for none."""
        row = self._conn.execute(
            "SELECT seq, hash FROM kiosk_audit_log WHERE kiosk_id = ? ORDER BY seq DESC LIMIT 1",
            (kiosk_id,),
        ).fetchone()
        return (0, audit_rules.GENESIS) if row is None else (row[0], row[1])

    def kiosk_audit_hashes(self, kiosk_id: str, first: int, last: int) -> dict[int, str]:
        rows = self._conn.execute(
            "SELECT seq, hash FROM kiosk_audit_log WHERE kiosk_id = ? AND seq BETWEEN ? AND ?",
            (kiosk_id, first, last),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def append_kiosk_audit(self, kiosk_id: str, entries: list[audit_rules.AuditEntry]) -> None:
        """Stores entries already checked to continue the chain, and signs the new head
        (a checkpoint per batch: entries cut off the end later show)."""
        self._conn.executemany(
            "INSERT INTO kiosk_audit_log (kiosk_id, seq, time, actor, action, office_id, target,"
            " outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(kiosk_id, e.seq, e.time, e.actor, e.action, e.office_id, e.target, e.outcome,
              e.detail, e.prev_hash, e.hash) for e in entries],
        )
        if entries:
            head = entries[-1]
            key = audit_rules.kiosk_chain_key(self._db.audit_key, kiosk_id)
            self._conn.execute(
                "INSERT OR REPLACE INTO kiosk_audit_checkpoints (kiosk_id, seq, hash, mac)"
                " VALUES (?, ?, ?, ?)",
                (kiosk_id, head.seq, head.hash, audit_rules.checkpoint_mac(key, head.seq, head.hash)),
            )

    def kiosk_audit_entries(self, kiosk_id: str) -> list[audit_rules.AuditEntry]:
        rows = self._conn.execute(
            "SELECT seq, time, actor, action, office_id, target, outcome, detail, prev_hash, hash"
            " FROM kiosk_audit_log WHERE kiosk_id = ? ORDER BY seq", (kiosk_id,),
        ).fetchall()
        return [audit_rules.AuditEntry(**dict(r)) for r in rows]

    def kiosk_audit_checkpoints(self, kiosk_id: str) -> list[audit_rules.Checkpoint]:
        rows = self._conn.execute(
            "SELECT seq, hash, mac FROM kiosk_audit_checkpoints WHERE kiosk_id = ? ORDER BY seq",
            (kiosk_id,),
        ).fetchall()
        return [audit_rules.Checkpoint(**dict(r)) for r in rows]

    # ------------------------------------------------ events, for the office

    def list_events(
        self,
        kiosk_id: str,
        *,
        types: list[str],
        since: datetime | None,
        after_rowid: int,
        limit: int,
    ) -> list[tuple[int, str, bytes, datetime | None]]:
        """A kiosk's stored events in the order they arrived, paged by rowid:
        (rowid, kiosk id, the reported KioskEvent, received at)."""
        clauses = ["kiosk_id = ?", "rowid > ?"]
        params: list[Any] = [kiosk_id, after_rowid]
        if types:
            clauses.append(f"type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        if since is not None:
            clauses.append("received_at >= ?")
            params.append(_text(since))
        rows = self._conn.execute(
            "SELECT rowid, kiosk_id, payload, received_at FROM events"
            f" WHERE {' AND '.join(clauses)} ORDER BY rowid LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [(r[0], r[1], r[2], _moment(r[3])) for r in rows]


class RegistryDatabase:
    """Opens (and on first use creates) the registry database."""

    def __init__(self, path: str | Path, *, kdf_params: KdfParams | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the gRPC worker threads; the lock below is
        # what makes that safe, and it also keeps transactions from
        # interleaving. SQLite serialises writers anyway, so little is lost.
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # Contacts and codes live here: the registry's user only (SQLite gives
        # the -wal and -shm files the database file's mode).
        os.chmod(self.path, 0o600)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 5000")
        # Deleted rows (wiped codes, purged contacts) are overwritten with
        # zeros in the file instead of lingering in free pages.
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.executescript(_SCHEMA)
        self.audit_key = _load_or_create_key(self.path.parent / AUDIT_KEY_FILE)
        # Wakes StreamCommands streams when a transaction queued a command.
        self._commands_changed = threading.Condition()
        self._commands_generation = 0
        self.policy = self._load_or_create_policy(kdf_params or KdfParams())

    def _load_or_create_policy(self, new_params: KdfParams) -> CredentialPolicy:
        # The policy is fixed once the first credential may have been hashed
        # with it: changing the salt or parameters would orphan every lookup key.
        with self.transaction() as tx:
            rows = dict(tx._conn.execute("SELECT key, value FROM meta").fetchall())
            if "lookup_salt" not in rows:
                rows = {
                    "schema_version": str(SCHEMA_VERSION),
                    "change_seq": "0",
                    "kdf_n": str(new_params.n),
                    "kdf_r": str(new_params.r),
                    "kdf_p": str(new_params.p),
                    "lookup_salt": secrets.token_bytes(16).hex(),
                }
                tx._conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())
            else:
                version = int(rows["schema_version"])
                if version > SCHEMA_VERSION or version < 1:
                    raise RuntimeError(
                        f"{self.path} has schema version {rows['schema_version']}; "
                        f"this registry understands version {SCHEMA_VERSION}"
                    )
                if version < 2:
                    # Version 2 added the old-document return time.
                    tx._conn.execute("ALTER TABLE orders ADD COLUMN old_document_return_time TEXT")
                if version < 3:
                    # Version 3 added offices (tenants); what existed belongs to the default one.
                    # It also records when an order ended, for the retention rules.
                    for table, column, kind in (
                        ("orders", "office_id", f"TEXT NOT NULL DEFAULT '{DEFAULT_OFFICE}'"),
                        ("staff", "office_id", f"TEXT NOT NULL DEFAULT '{DEFAULT_OFFICE}'"),
                        ("orders", "end_time", "TEXT"),
                    ):
                        columns = {r[1] for r in tx._conn.execute(f"PRAGMA table_info({table})")}
                        if column not in columns:
                            tx._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                    for kiosk_id, in tx._conn.execute("SELECT kiosk_id FROM kiosks").fetchall():
                        tx.enrol_kiosk(kiosk_id, DEFAULT_OFFICE, kiosk_id)
                if version < 4:
                    # Version 4 carries a command's service-opening mark and expiry to the kiosk.
                    columns = {r[1] for r in tx._conn.execute("PRAGMA table_info(commands)")}
                    for column, kind in (
                        ("service_opening", "INTEGER NOT NULL DEFAULT 0"),
                        ("expire_at", "TEXT"),
                    ):
                        if column not in columns:
                            tx._conn.execute(f"ALTER TABLE commands ADD COLUMN {column} {kind}")
                tx._conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )
            if tx.get_office(DEFAULT_OFFICE) is None:
                tx.add_office(DEFAULT_OFFICE, "Default office")
        return CredentialPolicy(
            params=KdfParams(n=int(rows["kdf_n"]), r=int(rows["kdf_r"]), p=int(rows["kdf_p"])),
            lookup_salt=bytes.fromhex(rows["lookup_salt"]),
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._conn, self)
            try:
                yield tx
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        if tx.commands_queued:
            with self._commands_changed:
                self._commands_generation += 1
                self._commands_changed.notify_all()

    @property
    def in_transaction(self) -> bool:
        """True inside `transaction()` (on this connection, whichever thread holds it)."""
        return self._conn.in_transaction

    def checkpoint_wal(self) -> None:
        """Folds the WAL into the database, so wiped secrets leave no copy in -wal."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @property
    def commands_generation(self) -> int:
        with self._commands_changed:
            return self._commands_generation

    def wait_for_commands(self, seen_generation: int, timeout: float) -> int:
        """Blocks until a command was queued after ``seen_generation`` or the timeout."""
        with self._commands_changed:
            self._commands_changed.wait_for(
                lambda: self._commands_generation != seen_generation, timeout
            )
            return self._commands_generation

    def wake_streams(self) -> None:
        """Lets waiting streams re-check whether they should end (shutdown)."""
        with self._commands_changed:
            self._commands_generation += 1
            self._commands_changed.notify_all()

    def close(self) -> None:
        with self._lock:
            with self.transaction() as tx:
                tx.checkpoint_head()
            # Folds the WAL into the database file, so wiped secrets do not
            # linger in the -wal file.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
