"""The registry's database: SQLite (embedded default) or PostgreSQL, one API.

SQLite is one file, WAL mode, ``synchronous=FULL``: the registry is the
office's record of which document went where, so a power cut must not lose a
committed change. PostgreSQL serves fleets, with several registry processes
on one database. All access goes through :meth:`RegistryDatabase.transaction`,
which makes each mutation one transaction: on SQLite a lock serialises the
callers on one connection; on PostgreSQL each transaction has its own pooled
connection and the writes that must be ordered take row or advisory locks
(see below). SQL here is portable (named ``:param`` placeholders) and runs
through SQLAlchemy Core; the schema and its migrations are in registry.storage.

Change sequence
    Every insert or update of an order or a staff member takes the next value
    of one global counter (``meta.change_seq``) and stores it in the row's
    ``change_seq``. A kiosk's sync cursor is the last value it has seen, so
    "what changed since" is an indexed range query. Nothing is missed because
    a transaction that took a value holds the counter's row lock (and on
    PostgreSQL the writer lock) until it commits: values become visible in order.

Plaintext codes
    ``orders.pending_code`` holds the citizen's code in plaintext only until
    the "ready for pickup" notice has been written after the deposit; then it
    is set to NULL. It is also wiped when the order ends in any other way.
    Everything else is hashes: ``code_lookup`` finds an order by its code,
    ``pin_verifier`` checks code + PIN. PINs are never stored.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa

from kiosk.domain.compartment import Size
from common.credentials import KdfParams
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from common import audit_chain as audit_rules
from registry import credential_watch
from registry.errors import RegistryError
from registry.storage import migrations
from registry.storage.location import (
    POSTGRESQL,
    SQLITE,
    Location,
    StorageError,
    explain,
    locate,
    sqlite_read_engine,
)

SCHEMA_VERSION = migrations.SCHEMA_VERSION
DEFAULT_OFFICE = "default"
# After these the document is out of the box or was never put in for the
# citizen: the contact is no longer needed and the retention clock starts.
ENDED_STATUSES = frozenset({OrderStatus.COLLECTED, OrderStatus.REMOVED, OrderStatus.CANCELLED,
                            OrderStatus.RETURNED_TO_COUNTER})

AUDIT_KEY_FILE = "audit.key"


class Row:
    """A result row read by name or position, like the sqlite3.Row callers knew."""

    __slots__ = ("_keys", "_values")

    def __init__(self, keys: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self._keys = keys
        self._values = values

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self._values[self._keys.index(key)]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._keys)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._keys == other._keys and self._values == other._values
        return NotImplemented

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._keys, self._values))!r})"


# Orders a kiosk's full sync needs: those not ended, and cancelled ones whose
# document may still be in the box (staff must remove it). Spelled exactly as
# the partial index orders_open_by_kiosk (migration 0005), so it is used.
OPEN_FOR_KIOSK = "(end_time IS NULL OR (status = 'cancelled' AND deposit_time IS NOT NULL))"
log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
# PostgreSQL: whether this thread (or asyncio task) is inside transaction().
_in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "registry_in_transaction", default=False
)
# The transaction this thread (or task) is in, for stores that join it (the message queue).
_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "registry_current_transaction", default=None
)
# Where a PostgreSQL registry keeps its files (audit key, admin credential) by default.
STATE_DIR_ENV = "KIOSK_REGISTRY_STATE_DIR"
DEFAULT_STATE_DIR = "var"
# One name for PostgreSQL's transaction-level advisory lock that orders the
# change sequence and the audit chain across registry processes.
_WRITER_LOCK = "registry.writer"


@dataclass(frozen=True)
class _Chain:
    """Where one audit chain's rows are: its entries, checkpoints and anchor
    tables, and the condition that picks this chain's rows from them."""

    log: str
    checkpoints: str
    anchor: str
    anchor_key: str  # the anchor table's key column
    anchor_id: Any
    scope: dict[str, Any]  # column = value of this chain's rows ({}: the whole table)

    @property
    def and_scope(self) -> str:
        return "".join(f" AND {column} = :{column}" for column in self.scope)


_REGISTRY_CHAIN = _Chain("audit_log", "audit_checkpoints", "audit_anchor", "id", 1, {})


def _kiosk_chain(kiosk_id: str) -> _Chain:
    return _Chain("kiosk_audit_log", "kiosk_audit_checkpoints", "kiosk_audit_anchors",
                  "kiosk_id", kiosk_id, {"kiosk_id": kiosk_id})


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


def stored_moment(text: str | None) -> datetime | None:
    """A time as this database stores it (ISO text, UTC), timezone-aware; for read
    models that query rows themselves (reports, the console)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
    def from_row(cls, row: Row) -> StoredOrder:
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
    unlock_generation: int = 0
    card_unlock_time: datetime | None = None

    @classmethod
    def from_row(cls, row: Row) -> StoredStaff:
        return cls(
            staff_id=row["staff_id"],
            card_lookup=row["card_lookup"],
            pin_verifier=row["pin_verifier"],
            active=bool(row["active"]),
            create_time=_moment(row["create_time"]),  # type: ignore[arg-type]
            change_seq=row["change_seq"],
            office_id=row["office_id"],
            unlock_generation=row["unlock_generation"],
            card_unlock_time=_moment(row["card_unlock_time"]),
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
    def from_row(cls, row: Row) -> StoredKiosk:
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
    def from_row(cls, row: Row) -> StoredCommand:
        fields = {name: row[name] for name in cls.__dataclass_fields__}
        fields["service_opening"] = bool(fields["service_opening"])
        fields["expire_at"] = fields["expire_at"] or ""
        return cls(**fields)


@dataclass(frozen=True)
class Heartbeat:
    """One kiosk's heartbeat as stored: lists of protobuf-JSON dicts."""

    kiosk_id: str
    devices: list[dict[str, Any]]
    outbox_backlog: int
    compartments: list[dict[str, Any]] | None  # None: unchanged
    now: datetime


# Kiosk ids per "IN (...)" query: well below any driver's parameter limit.
_IN_CHUNK = 500

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


# The statements' SQL is a fixed text per call site (an IN list per chunk
# size): parsed into a TextClause once, not on every call (its bind-parameter
# scan showed in the hot paths' profiles). TextClauses are immutable.
_statement = functools.lru_cache(maxsize=1024)(sa.text)


class Transaction:
    """Queries and updates inside one database transaction."""

    def __init__(self, conn: sa.Connection, db: RegistryDatabase) -> None:
        self._conn = conn
        self._db = db
        self._postgresql = db.dialect == POSTGRESQL
        self._locks: set[str] = set()
        self.commands_queued = False
        self.queued_for: set[str] = set()  # kiosks whose streams to wake (registry.wakeup)
        self._ended = False
        # A credential was revoked (credentials_changed): verified credentials this
        # process believes (registry.identity) are forgotten once this transaction commits.
        self.credentials_revoked = False

    # ----------------------------------------------------------- plumbing

    def _run(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None):
        return self._conn.execute(_statement(sql), params if params is not None else {})

    def _all(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        result = self._run(sql, params)
        keys = tuple(result.keys())
        return [Row(keys, tuple(values)) for values in result]

    def _one(self, sql: str, params: dict[str, Any] | None = None) -> Row | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _lock(self, name: str) -> None:
        """Holds a named lock until this transaction ends (PostgreSQL, across processes).

        SQLite needs none: one connection, and BEGIN IMMEDIATE holds the file's
        write lock for the whole transaction.
        """
        if self._postgresql and name not in self._locks:
            self._run("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))", {"name": name})
            self._locks.add(name)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read-only query as plain dicts, for read models outside this module.

        Portable by contract: named ``:param`` placeholders and SQL that both
        SQLite and PostgreSQL understand, so callers survive a change of backend.
        """
        result = self._run(sql, params or {})
        names = list(result.keys())
        return [dict(zip(names, row)) for row in result]

    def execute(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None
                ) -> int:
        """A portable write (``:param`` placeholders; a list of dicts runs it once
        per dict) for stores outside this module, e.g. the message queue
        (registry/messages/queue.py); returns the number of rows it changed."""
        return self._run(sql, params if params is not None else {}).rowcount

    def lock(self, name: str) -> None:
        """Holds a named lock until this transaction ends, across registry
        instances on PostgreSQL (SQLite's one writer needs none)."""
        self._lock(name)

    @property
    def postgresql(self) -> bool:
        return self._postgresql

    # ------------------------------------------------------------- sequence

    def next_seq(self) -> int:
        # The writer lock first: whoever takes a value also appends to the audit
        # chain in the same order, so two transactions never wait on each other
        # crosswise. The UPDATE then holds the counter's row until commit.
        self._lock(_WRITER_LOCK)
        value = self._run(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)"
            " WHERE key = 'change_seq' RETURNING value"
        ).scalar_one()
        return int(value)

    def current_seq(self) -> int:
        return int(self._run("SELECT value FROM meta WHERE key = 'change_seq'").scalar_one())

    # --------------------------------------------------------- idempotency

    def replay(self, method: str, request_id: str) -> bytes | None:
        if not request_id:
            return None
        # A retry reaching another instance waits for the first attempt's
        # transaction, then finds its answer instead of acting twice.
        self._lock(f"replay:{method}:{request_id}")
        row = self._one(
            "SELECT response FROM request_replays WHERE method = :method AND request_id = :rid",
            {"method": method, "rid": request_id},
        )
        return None if row is None else bytes(row[0])

    def remember(self, method: str, request_id: str, response: bytes) -> None:
        if request_id:
            self._run(
                "INSERT INTO request_replays (method, request_id, response, created_at)"
                " VALUES (:method, :rid, :response, :now)",
                {"method": method, "rid": request_id, "response": response,
                 "now": _text(utcnow())},
            )

    # -------------------------------------------------------------- orders

    def get_order(self, reference: str) -> StoredOrder | None:
        row = self._one("SELECT * FROM orders WHERE reference = :ref", {"ref": reference})
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
        if self._one("SELECT 1 FROM orders WHERE code_lookup = :c", {"c": code_lookup}):
            raise DuplicateError("code_lookup")
        params = {
            "reference": reference, "kind": kind.value, "status": OrderStatus.ANNOUNCED.value,
            "size": size.value, "needs_low": int(needs_low_compartment),
            "pin_letter": int(requires_pin_letter_confirmation), "kiosk_id": kiosk_id,
            "create_time": _text(create_time), "code_lookup": code_lookup,
            "pin_verifier": pin_verifier, "contact": contact, "pending_code": pending_code,
            "change_seq": self.next_seq(), "office_id": office_id,
        }
        try:
            # A savepoint, so a race lost to another process (PostgreSQL) leaves
            # this transaction usable for the caller's next attempt.
            with self._conn.begin_nested():
                self._run(
                    "INSERT INTO orders (reference, kind, status, size, needs_low,"
                    " requires_pin_letter_confirmation, kiosk_id, create_time, code_lookup,"
                    " pin_verifier, contact, pending_code, change_seq, office_id)"
                    " VALUES (:reference, :kind, :status, :size, :needs_low, :pin_letter,"
                    " :kiosk_id, :create_time, :code_lookup, :pin_verifier, :contact,"
                    " :pending_code, :change_seq, :office_id)",
                    params,
                )
        except sa.exc.IntegrityError as error:
            raise DuplicateError(
                "code_lookup" if "code_lookup" in str(error.orig) else "reference"
            ) from None
        return self.get_order(reference)  # type: ignore[return-value]

    def update_order(self, reference: str, **changes: Any) -> StoredOrder:
        """Sets the given columns and moves the order to a new change_seq."""
        unknown = set(changes) - _ORDER_UPDATABLE
        if unknown:
            raise ValueError(f"orders has no updatable column {sorted(unknown)}")
        if changes.get("status") in ENDED_STATUSES:
            # When the order ended starts its retention clock (set once).
            self._run(
                "UPDATE orders SET end_time = COALESCE(end_time, :now) WHERE reference = :ref",
                {"now": _text(utcnow()), "ref": reference},
            )
        params: dict[str, Any] = {}
        for column, value in changes.items():
            if isinstance(value, datetime):
                value = _text(value)
            elif isinstance(value, OrderStatus):
                value = value.value
            elif isinstance(value, bool):
                value = int(value)
            params[f"v_{column}"] = value
        assignments = "".join(f"{column} = :v_{column}, " for column in changes)
        params["seq"] = self.next_seq()
        params["ref"] = reference
        self._run(f"UPDATE orders SET {assignments}change_seq = :seq WHERE reference = :ref",
                  params)
        return self.get_order(reference)  # type: ignore[return-value]

    def orders_changed_since(self, kiosk_id: str, seq: int, limit: int) -> list[StoredOrder]:
        rows = self._all(
            "SELECT * FROM orders WHERE kiosk_id = :kiosk AND change_seq > :seq"
            " ORDER BY change_seq LIMIT :limit",
            {"kiosk": kiosk_id, "seq": seq, "limit": limit},
        )
        return [StoredOrder.from_row(r) for r in rows]

    def orders_for_full_sync(
        self, kiosk_id: str, seq: int, snapshot: int, limit: int
    ) -> list[StoredOrder]:
        """A full sync's orders after ``seq``: up to ``snapshot`` (where the sync
        began) only those the kiosk still needs (OPEN_FOR_KIOSK), after it every
        change, so an order that ends while the pages are fetched still reaches
        a kiosk that got its open version on an earlier page."""
        rows = []
        if seq < snapshot:
            rows = self._all(
                "SELECT * FROM orders WHERE kiosk_id = :kiosk AND change_seq > :seq"
                f" AND change_seq <= :snapshot AND {OPEN_FOR_KIOSK}"
                " ORDER BY change_seq LIMIT :limit",
                {"kiosk": kiosk_id, "seq": seq, "snapshot": snapshot, "limit": limit},
            )
        if len(rows) < limit:
            rows += self._all(
                "SELECT * FROM orders WHERE kiosk_id = :kiosk AND change_seq > :seq"
                " ORDER BY change_seq LIMIT :limit",
                {"kiosk": kiosk_id, "seq": max(seq, snapshot), "limit": limit - len(rows)},
            )
        return [StoredOrder.from_row(r) for r in rows]

    def list_orders(
        self,
        *,
        statuses: list[OrderStatus],
        kiosk_id: str,
        after_rowid: int,
        limit: int,
        office_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[tuple[int, StoredOrder]]:
        """Orders in creation order, paged by rowid (a stable keyset)."""
        row_id = self._db.row_id
        clauses = [f"{row_id} > :after"]
        params: dict[str, Any] = {"after": after_rowid, "limit": limit}
        # create_time is UTC ISO text, which sorts as the moments do.
        if created_after is not None:
            clauses.append("create_time >= :created_after")
            params["created_after"] = _text(created_after)
        if created_before is not None:
            clauses.append("create_time < :created_before")
            params["created_before"] = _text(created_before)
        if office_id is not None:
            clauses.append("office_id = :office")
            params["office"] = office_id
        if statuses:
            names = [f"s{i}" for i in range(len(statuses))]
            clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
            params.update({n: s.value for n, s in zip(names, statuses)})
        if kiosk_id:
            clauses.append("kiosk_id = :kiosk")
            params["kiosk"] = kiosk_id
        rows = self._all(
            f"SELECT {row_id} AS row_key, * FROM orders WHERE {' AND '.join(clauses)}"
            f" ORDER BY {row_id} LIMIT :limit",
            params,
        )
        return [(r["row_key"], StoredOrder.from_row(r)) for r in rows]

    def pending_notifications(self) -> list[tuple[StoredOrder, str]]:
        """Deposited orders whose citizen has not been told yet, with the code."""
        rows = self._all(
            "SELECT * FROM orders WHERE pending_code IS NOT NULL AND status = :status",
            {"status": OrderStatus.DEPOSITED.value},
        )
        return [(StoredOrder.from_row(r), r["pending_code"]) for r in rows]

    def wipe_pending_code(self, reference: str) -> None:
        # No change_seq bump: kiosks never see this column.
        self._run("UPDATE orders SET pending_code = NULL WHERE reference = :ref",
                  {"ref": reference})

    # ------------------------------------------------------------ retention

    def ended_orders(self, *, ended_after: datetime | None = None,
                     ended_until: datetime | None = None,
                     batch: int = 1000) -> Iterator[tuple[str, str, str, str, str, str]]:
        """(reference, office, kind, status, end_time, contact) of the orders that
        ended in (``ended_after``, ``ended_until``], both bounds optional, read a
        batch at a time: a registry with a million historic orders does not hold
        them all in memory. Bounds compare the stored text (ISO, UTC), so a caller
        that needs an exact rule widens them and checks each row itself."""
        clauses = ["end_time IS NOT NULL"]
        params: dict[str, Any] = {"batch": batch, "key_time": "", "key_ref": ""}
        if ended_after is not None:
            clauses.append("end_time > :ended_after")
            params["ended_after"] = _text(ended_after)
        if ended_until is not None:
            clauses.append("end_time <= :ended_until")
            params["ended_until"] = _text(ended_until)
        # Keyset paging in the order of the index orders_by_end_time (migration 0010).
        clauses.append("(end_time > :key_time OR (end_time = :key_time AND reference > :key_ref))")
        while True:
            rows = self._all(
                "SELECT reference, office_id, kind, status, end_time, contact FROM orders"
                f" WHERE {' AND '.join(clauses)} ORDER BY end_time, reference LIMIT :batch",
                params)
            for row in rows:
                yield tuple(row)  # type: ignore[misc]
            if len(rows) < batch:
                return
            params["key_time"], params["key_ref"] = rows[-1][4], rows[-1][0]

    def meta_value(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = :key", {"key": key})
        return None if row is None else row[0]

    def set_meta_value(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (:key, :value)"
                  " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  {"key": key, "value": value})

    def wipe_contact(self, reference: str) -> None:
        self._run("UPDATE orders SET contact = '', pending_code = NULL WHERE reference = :ref",
                  {"ref": reference})

    def delete_order(self, reference: str, office_id: str, kind: str, status: str,
                     day: str) -> None:
        """Deletes an order and what names it, keeping one anonymous count."""
        self._run(
            "INSERT INTO order_counts (day, office_id, kind, status, count)"
            " VALUES (:day, :office, :kind, :status, 1)"
            " ON CONFLICT (day, office_id, kind, status)"
            " DO UPDATE SET count = order_counts.count + 1",
            {"day": day, "office": office_id, "kind": kind, "status": status},
        )
        self._run("DELETE FROM open_alarm_events WHERE event_id IN"
                  " (SELECT event_id FROM events WHERE order_reference = :ref)", {"ref": reference})
        self._run("DELETE FROM events WHERE order_reference = :ref", {"ref": reference})
        self._run("DELETE FROM orders WHERE reference = :ref", {"ref": reference})

    def delete_replays_before(self, moment: datetime) -> int:
        return self._run("DELETE FROM request_replays WHERE created_at < :moment",
                         {"moment": _text(moment)}).rowcount

    def order_counts(self) -> list[Row]:
        return self._all("SELECT * FROM order_counts ORDER BY day")

    # --------------------------------------------------------------- staff

    def get_staff(self, staff_id: str) -> StoredStaff | None:
        row = self._one("SELECT * FROM staff WHERE staff_id = :id", {"id": staff_id})
        return None if row is None else StoredStaff.from_row(row)

    def staff_by_card(self, card_lookup: bytes) -> StoredStaff | None:
        row = self._one("SELECT * FROM staff WHERE card_lookup = :card", {"card": card_lookup})
        return None if row is None else StoredStaff.from_row(row)

    def insert_staff(
        self, *, staff_id: str, card_lookup: bytes, pin_verifier: str, create_time: datetime,
        office_id: str = DEFAULT_OFFICE,
    ) -> StoredStaff:
        self._run(
            "INSERT INTO staff (staff_id, card_lookup, pin_verifier, active, create_time,"
            " change_seq, office_id) VALUES (:id, :card, :pin, 1, :created, :seq, :office)",
            {"id": staff_id, "card": card_lookup, "pin": pin_verifier,
             "created": _text(create_time), "seq": self.next_seq(), "office": office_id},
        )
        return self.get_staff(staff_id)  # type: ignore[return-value]

    def deactivate_staff(self, staff_id: str) -> StoredStaff:
        self._run("UPDATE staff SET active = 0, change_seq = :seq WHERE staff_id = :id",
                  {"seq": self.next_seq(), "id": staff_id})
        return self.get_staff(staff_id)  # type: ignore[return-value]

    def unlock_card(self, staff_id: str, now: datetime) -> StoredStaff:
        """One more unlock generation: the kiosks lift their lock at the next sync."""
        self._run(
            "UPDATE staff SET unlock_generation = unlock_generation + 1, card_unlock_time = :now,"
            " change_seq = :seq WHERE staff_id = :id",
            {"now": _text(now), "seq": self.next_seq(), "id": staff_id},
        )
        return self.get_staff(staff_id)  # type: ignore[return-value]

    def release_card(self, staff_id: str) -> None:
        """Frees a deactivated member's card for a new member (the row stays for the audit)."""
        self._run(
            "UPDATE staff SET card_lookup = :card WHERE staff_id = :id AND active = 0",
            {"card": b"released:" + staff_id.encode(), "id": staff_id},
        )

    def staff_changed_since(self, seq: int, limit: int, office_id: str) -> list[StoredStaff]:
        rows = self._all(
            "SELECT * FROM staff WHERE change_seq > :seq AND office_id = :office"
            " ORDER BY change_seq LIMIT :limit",
            {"seq": seq, "office": office_id, "limit": limit},
        )
        return [StoredStaff.from_row(r) for r in rows]

    def list_staff(self, office_id: str | None = None) -> list[StoredStaff]:
        """Every staff member, or those of one office."""
        where = "" if office_id is None else " WHERE office_id = :office"
        rows = self._all(f"SELECT * FROM staff{where} ORDER BY staff_id", {"office": office_id})
        return [StoredStaff.from_row(r) for r in rows]

    # -------------------------------------------------------------- kiosks

    def get_kiosk(self, kiosk_id: str) -> StoredKiosk | None:
        row = self._one("SELECT * FROM kiosks WHERE kiosk_id = :id", {"id": kiosk_id})
        return None if row is None else StoredKiosk.from_row(row)

    def register_kiosk(
        self,
        kiosk_id: str,
        software_version: str,
        compartments: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        self._run(
            "INSERT INTO kiosks (kiosk_id, software_version, registered_at, last_seen,"
            " compartments) VALUES (:id, :version, :now, :now, :compartments)"
            " ON CONFLICT (kiosk_id) DO UPDATE SET software_version = excluded.software_version,"
            " last_seen = excluded.last_seen, compartments = excluded.compartments",
            {"id": kiosk_id, "version": software_version, "now": _text(now),
             "compartments": json.dumps(compartments)},
        )

    def record_heartbeats(self, beats: list[Heartbeat]) -> set[str]:
        """Several kiosks' heartbeats in this one transaction (registry.batching);
        returns the kiosks that are registered, whose rows were updated. A few
        statements for the whole batch, not two per kiosk."""
        found = self.registered_among([beat.kiosk_id for beat in beats])
        stored = [beat for beat in beats if beat.kiosk_id in found]
        if stored:  # in order: a kiosk's later beat in the batch wins
            self._run(
                "UPDATE kiosks SET last_seen = :now, devices = :devices, outbox_backlog = :backlog"
                " WHERE kiosk_id = :id",
                [{"now": _text(beat.now), "devices": json.dumps(beat.devices),
                  "backlog": beat.outbox_backlog, "id": beat.kiosk_id} for beat in stored],
            )
        layouts = [beat for beat in stored if beat.compartments is not None]
        if layouts:
            self._run("UPDATE kiosks SET compartments = :c WHERE kiosk_id = :id",
                      [{"c": json.dumps(beat.compartments), "id": beat.kiosk_id}
                       for beat in layouts])
        return found

    def registered_among(self, kiosk_ids: list[str]) -> set[str]:
        """Those of ``kiosk_ids`` that have registered (have a kiosks row)."""
        found: set[str] = set()
        unique = list(dict.fromkeys(kiosk_ids))
        for start in range(0, len(unique), _IN_CHUNK):
            names = {f"k{i}": kiosk_id
                     for i, kiosk_id in enumerate(unique[start:start + _IN_CHUNK])}
            found.update(row[0] for row in self._all(
                f"SELECT kiosk_id FROM kiosks WHERE kiosk_id IN"
                f" ({', '.join(':' + n for n in names)})", names))
        return found

    def touch_kiosk(self, kiosk_id: str, now: datetime) -> None:
        self._run("UPDATE kiosks SET last_seen = :now WHERE kiosk_id = :id",
                  {"now": _text(now), "id": kiosk_id})

    def list_kiosks(self, office_id: str | None = None) -> list[StoredKiosk]:
        """Registered kiosks, or those enrolled in one office."""
        where = "" if office_id is None else (
            " WHERE kiosk_id IN (SELECT kiosk_id FROM kiosk_enrolments WHERE office_id = :office)"
        )
        rows = self._all(f"SELECT * FROM kiosks{where} ORDER BY kiosk_id", {"office": office_id})
        return [StoredKiosk.from_row(r) for r in rows]

    # -------------------------------------------------------------- events

    def event_exists(self, event_id: str) -> bool:
        # The same event redelivered to another instance waits here for the
        # first delivery's transaction: applied once, never twice.
        self._lock(f"event:{event_id}")
        return bool(self._one("SELECT 1 FROM events WHERE event_id = :id", {"id": event_id}))

    def insert_event(
        self, *, event_id: str, kiosk_id: str, type: str, order_reference: str, payload: bytes
    ) -> None:
        self._run(
            "INSERT INTO events (event_id, kiosk_id, type, order_reference, payload, received_at)"
            " VALUES (:id, :kiosk, :type, :ref, :payload, :now)",
            {"id": event_id, "kiosk": kiosk_id, "type": type, "ref": order_reference,
             "payload": payload, "now": _text(utcnow())},
        )

    def mark_alarm_open(self, event_id: str) -> None:
        """The stored event is an alarm: open until acknowledged (the console's
        banner counts these, see migration 0007)."""
        self._run(
            "INSERT INTO open_alarm_events (event_id, kiosk_id, received_at)"
            " SELECT event_id, kiosk_id, received_at FROM events WHERE event_id = :id",
            {"id": event_id},
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
        self._run(
            "INSERT INTO commands (command_id, kiosk_id, type, compartment_number, reason,"
            " requested_by, created_at, service_opening, expire_at)"
            " VALUES (:id, :kiosk, :type, :compartment, :reason, :by, :now, :service, :expire)",
            {"id": command_id, "kiosk": kiosk_id, "type": type, "compartment": compartment_number,
             "reason": reason, "by": requested_by, "now": _text(utcnow()),
             "service": int(service_opening), "expire": _text(expire_at)},
        )
        self.commands_queued = True
        self.queued_for.add(kiosk_id)
        return command_id

    def has_undelivered(self, kiosk_id: str, type: str) -> bool:
        return bool(self._one(
            "SELECT 1 FROM commands WHERE kiosk_id = :kiosk AND type = :type"
            " AND delivered_at IS NULL",
            {"kiosk": kiosk_id, "type": type},
        ))

    def undelivered_commands(self, kiosk_id: str) -> list[StoredCommand]:
        rows = self._all(
            "SELECT * FROM commands WHERE kiosk_id = :kiosk AND delivered_at IS NULL ORDER BY seq",
            {"kiosk": kiosk_id},
        )
        return [StoredCommand.from_row(r) for r in rows]

    def undelivered_commands_of(self, kiosk_ids: list[str]) -> dict[str, list[StoredCommand]]:
        """:meth:`undelivered_commands` of many kiosks in a few queries (the
        streams woken together by a burst of commands, registry.batching)."""
        found: dict[str, list[StoredCommand]] = {kiosk_id: [] for kiosk_id in kiosk_ids}
        unique = list(found)
        for start in range(0, len(unique), _IN_CHUNK):
            names = {f"k{i}": kiosk_id
                     for i, kiosk_id in enumerate(unique[start:start + _IN_CHUNK])}
            rows = self._all(
                f"SELECT * FROM commands WHERE kiosk_id IN ({', '.join(':' + n for n in names)})"
                " AND delivered_at IS NULL ORDER BY seq",
                names,
            )
            for row in rows:
                found[row["kiosk_id"]].append(StoredCommand.from_row(row))
        return found

    def acknowledge_commands(self, kiosk_id: str, command_ids: list[str]) -> None:
        if not command_ids:
            return
        now = _text(utcnow())
        self._run(
            "UPDATE commands SET delivered_at = :now WHERE kiosk_id = :kiosk AND command_id = :id"
            " AND delivered_at IS NULL",
            [{"now": now, "kiosk": kiosk_id, "id": command_id} for command_id in command_ids],
        )

    # ------------------------------------------------------------- offices

    def get_office(self, office_id: str) -> Row | None:
        return self._one("SELECT * FROM offices WHERE office_id = :id", {"id": office_id})

    def add_office(self, office_id: str, name: str) -> None:
        self._run("INSERT INTO offices (office_id, name, create_time) VALUES (:id, :name, :now)",
                  {"id": office_id, "name": name, "now": _text(utcnow())})

    def list_offices(self) -> list[Row]:
        return self._all("SELECT * FROM offices ORDER BY office_id")

    # ----------------------------------------------------- kiosk enrolment

    def enrol_kiosk(self, kiosk_id: str, office_id: str, certificate_name: str | None) -> None:
        """Binds a kiosk id to its office and (optionally) its certificate's name."""
        before = self.get_enrolment(kiosk_id)
        if before is not None and before["office_id"] != office_id:
            self.credentials_changed()  # a believed credential names the old office
        self._run(
            "INSERT INTO kiosk_enrolments (kiosk_id, office_id, certificate_name, create_time)"
            " VALUES (:kiosk, :office, :cert, :now) ON CONFLICT (kiosk_id) DO UPDATE SET"
            " office_id = excluded.office_id, certificate_name = excluded.certificate_name,"
            " revoke_time = NULL",
            {"kiosk": kiosk_id, "office": office_id, "cert": certificate_name,
             "now": _text(utcnow())},
        )

    def get_enrolment(self, kiosk_id: str) -> Row | None:
        return self._one(
            "SELECT * FROM kiosk_enrolments WHERE kiosk_id = :kiosk AND revoke_time IS NULL",
            {"kiosk": kiosk_id},
        )

    def enrolment_by_certificate(self, names: list[str]) -> Row | None:
        for name in names:
            row = self._one(
                "SELECT * FROM kiosk_enrolments WHERE certificate_name = :name"
                " AND revoke_time IS NULL",
                {"name": name},
            )
            if row is not None:
                return row
        return None

    def kiosk_office(self, kiosk_id: str) -> str | None:
        row = self.get_enrolment(kiosk_id)
        return None if row is None else row["office_id"]

    def enrolled_kiosks(self, office_id: str | None) -> list[str]:
        where = "" if office_id is None else " AND office_id = :office"
        rows = self._all(
            f"SELECT kiosk_id FROM kiosk_enrolments WHERE revoke_time IS NULL{where}"
            " ORDER BY kiosk_id",
            {"office": office_id},
        )
        return [r[0] for r in rows]

    # ---------------------------------------------------------- principals

    def insert_principal(
        self, *, principal_id: str, kind: str, name: str, office_id: str | None, roles: str,
        kiosk_id: str, secret_salt: bytes, secret_hash: bytes,
        expire_time: datetime | None = None, password_change_required: bool = False,
    ) -> None:
        self._run(
            "INSERT INTO principals (principal_id, kind, name, office_id, roles, kiosk_id,"
            " secret_salt, secret_hash, create_time, expire_time, password_change_required)"
            " VALUES (:id, :kind, :name, :office, :roles, :kiosk, :salt, :hash, :now, :expire,"
            " :change)",
            {"id": principal_id, "kind": kind, "name": name, "office": office_id,
             "roles": roles, "kiosk": kiosk_id, "salt": secret_salt, "hash": secret_hash,
             "now": _text(utcnow()), "expire": _text(expire_time),
             "change": int(password_change_required)},
        )

    def get_principal(self, principal_id: str) -> Row | None:
        return self._one("SELECT * FROM principals WHERE principal_id = :id",
                         {"id": principal_id})

    def token_principal(self, principal_id: str) -> Row | None:
        """A token's principal row and, for a kiosk's, ``enrolled_kiosk``: its kiosk id
        if that kiosk is still enrolled, else NULL. One statement, because a kiosk's
        full credential check needs both and a fleet reconnecting does 1,000 of them."""
        return self._one(
            "SELECT p.*, e.kiosk_id AS enrolled_kiosk FROM principals p"
            " LEFT JOIN kiosk_enrolments e ON p.kind = 'kiosk' AND e.kiosk_id = p.kiosk_id"
            " AND e.revoke_time IS NULL WHERE p.principal_id = :id",
            {"id": principal_id})

    def user_by_name(self, name: str) -> Row | None:
        return self._one("SELECT * FROM principals WHERE kind = 'user' AND name = :name",
                         {"name": name})

    def list_principals(self, kind: str) -> list[Row]:
        return self._all("SELECT * FROM principals WHERE kind = :kind ORDER BY create_time",
                         {"kind": kind})

    def revoke_principal(self, principal_id: str) -> bool:
        result = self._run(
            "UPDATE principals SET revoke_time = :now WHERE principal_id = :id"
            " AND revoke_time IS NULL",
            {"now": _text(utcnow()), "id": principal_id},
        )
        if result.rowcount:
            self.credentials_changed()
        return result.rowcount == 1

    def reinstate_principal(self, principal_id: str) -> bool:
        """Undoes a revocation (users only: a revoked key or kiosk credential stays revoked)."""
        result = self._run(
            "UPDATE principals SET revoke_time = NULL WHERE principal_id = :id"
            " AND kind = 'user' AND revoke_time IS NOT NULL",
            {"id": principal_id},
        )
        return result.rowcount == 1

    def set_principal_roles(self, principal_id: str, roles: str) -> None:
        self._run("UPDATE principals SET roles = :roles WHERE principal_id = :id",
                  {"roles": roles, "id": principal_id})

    def set_principal_secret(self, principal_id: str, salt: bytes, digest: bytes,
                             change_required: bool = False) -> None:
        """A new password; ``change_required``: one an administrator issued, which the
        user must replace with their own at the next sign-in."""
        self._run("UPDATE principals SET secret_salt = :salt, secret_hash = :hash,"
                  " password_change_required = :change WHERE principal_id = :id",
                  {"salt": salt, "hash": digest, "id": principal_id,
                   "change": int(change_required)})

    def record_sign_in(self, principal_id: str) -> None:
        """The console's sign-in time of a user (the users page shows the latest)."""
        self._run("UPDATE principals SET last_sign_in_time = :now WHERE principal_id = :id",
                  {"now": _text(utcnow()), "id": principal_id})

    def oidc_identities_of(self, principal_id: str) -> list[Row]:
        return self._all("SELECT issuer, subject, create_time FROM oidc_identities"
                         " WHERE principal_id = :principal ORDER BY issuer, subject",
                         {"principal": principal_id})

    def link_oidc_identity(self, issuer: str, subject: str, principal_id: str) -> None:
        self._run(
            "INSERT INTO oidc_identities (issuer, subject, principal_id, create_time)"
            " VALUES (:issuer, :subject, :principal, :now)",
            {"issuer": issuer, "subject": subject, "principal": principal_id,
             "now": _text(utcnow())},
        )

    def unlink_oidc_identity(self, issuer: str, subject: str) -> bool:
        result = self._run(
            "DELETE FROM oidc_identities WHERE issuer = :issuer AND subject = :subject",
            {"issuer": issuer, "subject": subject},
        )
        return result.rowcount == 1

    def oidc_principal(self, issuer: str, subject: str) -> Row | None:
        """The user an identity provider's subject signs in as (revoked ones included)."""
        return self._one(
            "SELECT p.* FROM oidc_identities i JOIN principals p ON p.principal_id ="
            " i.principal_id WHERE i.issuer = :issuer AND i.subject = :subject",
            {"issuer": issuer, "subject": subject},
        )

    def bind_certificate(self, principal_id: str, certificate_name: str) -> None:
        self._run(
            "INSERT INTO principal_certificates (certificate_name, principal_id)"
            " VALUES (:name, :principal)",
            {"name": certificate_name, "principal": principal_id},
        )

    def certificate_principal(self, names: list[str]) -> tuple[str, Row] | None:
        """The (certificate name, principal row) a certificate's CN or SAN is bound to,
        revoked ones included (the caller refuses those with a reason)."""
        for name in names:
            row = self._one(
                "SELECT p.* FROM principal_certificates c JOIN principals p"
                " ON p.principal_id = c.principal_id WHERE c.certificate_name = :name",
                {"name": name},
            )
            if row is not None:
                return name, row
        return None

    def certificate_name_of(self, principal_id: str) -> str | None:
        row = self._one(
            "SELECT certificate_name FROM principal_certificates WHERE principal_id = :principal",
            {"principal": principal_id},
        )
        return None if row is None else row[0]

    def certificate_name_taken(self, name: str) -> str | None:
        """What already answers to this certificate name: a kiosk or a principal."""
        row = self._one("SELECT kiosk_id FROM kiosk_enrolments WHERE certificate_name = :name",
                        {"name": name})
        if row is not None:
            return f"kiosk {row[0]}"
        row = self._one(
            "SELECT principal_id FROM principal_certificates WHERE certificate_name = :name",
            {"name": name},
        )
        return None if row is None else f"client certificate principal {row[0]}"

    def revoke_kiosk_credentials(self, kiosk_id: str) -> None:
        result = self._run(
            "UPDATE principals SET revoke_time = :now WHERE kind = 'kiosk' AND kiosk_id = :kiosk"
            " AND revoke_time IS NULL",
            {"now": _text(utcnow()), "kiosk": kiosk_id},
        )
        if result.rowcount:  # a first enrolment revokes nothing: nobody need forget anything
            self.credentials_changed()

    def credentials_changed(self) -> None:
        """This transaction revokes (or re-scopes) a credential: once it commits,
        every registry process forgets the credentials it believes. This process
        at once (RegistryDatabase.credentials_generation); other instances on
        PostgreSQL through NOTIFY, sent only if this transaction commits; and every
        other process, SQLite's too, when it next polls ``meta.credentials_seq``
        (registry.credential_watch). Whatever revokes a credential calls this."""
        if self.credentials_revoked:
            return
        self.credentials_revoked = True
        # The writer lock first, as next_seq takes it, so that the counter's row is
        # never held by a transaction that waits for the lock another one holds.
        self._lock(_WRITER_LOCK)
        # Inserted by the first revocation: no migration, every schema has `meta`.
        self._run("INSERT INTO meta (key, value) VALUES (:key, '1') ON CONFLICT (key)"
                  " DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
                  {"key": credential_watch.SEQ_KEY})
        if self._postgresql:
            self._run("SELECT pg_notify(:channel, '')", {"channel": credential_watch.CHANNEL})

    # --------------------------------------------------------------- audit

    def audit(self, actor: str, action: str, *, office_id: str = "", target: str = "",
              outcome: str = "ok", **detail: Any) -> int:
        """Appends one entry to the hash chain (and a signed checkpoint now and then)."""
        # Across processes the chain has one end: the writer lock is held until
        # commit, and the read below then sees the last committed entry.
        self._lock(_WRITER_LOCK)
        last = self._one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        if last is None:  # empty, or every entry purged: go on from the anchor
            last = self._one("SELECT seq, hash FROM audit_anchor")
        seq, prev = (1, audit_rules.GENESIS) if last is None else (last[0] + 1, last[1])
        time = _text(utcnow())
        detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = audit_rules.entry_hash(
            prev, seq, time, actor, action, office_id, target, outcome, detail_text  # type: ignore[arg-type]
        )
        self._run(
            "INSERT INTO audit_log (seq, time, actor, action, office_id, target, outcome, detail,"
            " prev_hash, hash) VALUES (:seq, :time, :actor, :action, :office, :target, :outcome,"
            " :detail, :prev, :hash)",
            {"seq": seq, "time": time, "actor": actor, "action": action, "office": office_id,
             "target": target, "outcome": outcome, "detail": detail_text, "prev": prev,
             "hash": digest},
        )
        if audit_rules.needs_checkpoint(seq):
            self.audit_checkpoint(seq, digest)
        return seq

    def audit_checkpoint(self, seq: int, digest: str) -> None:
        self._run(
            "INSERT INTO audit_checkpoints (seq, hash, mac) VALUES (:seq, :hash, :mac)"
            " ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash, mac = excluded.mac",
            {"seq": seq, "hash": digest,
             "mac": audit_rules.checkpoint_mac(self._db.audit_key, seq, digest)},
        )

    def checkpoint_head(self) -> None:
        """Signs the current end of the chain (at shutdown, so a cut tail shows)."""
        self._lock(_WRITER_LOCK)
        last = self._one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        if last is not None:
            self.audit_checkpoint(last[0], last[1])

    def audit_entries(self) -> list[audit_rules.AuditEntry]:
        return self._chain_entries(_REGISTRY_CHAIN)

    def audit_checkpoints(self) -> list[audit_rules.Checkpoint]:
        return self._chain_checkpoints(_REGISTRY_CHAIN)

    def audit_anchor(self) -> audit_rules.Anchor | None:
        return self._chain_anchor(_REGISTRY_CHAIN)

    def purge_audit_before(self, before: datetime) -> int:
        """Deletes the oldest entries written before ``before`` and anchors the
        chain at the last of them, so what remains still verifies. Refuses
        (ValueError) while the chain is broken: a purge must not erase evidence."""
        # The chain's end must not move while it is checked and cut (other processes).
        self._lock(_WRITER_LOCK)
        return self._purge_chain(_REGISTRY_CHAIN, self._db.audit_key, before)

    # One chain's rows, wherever it is kept: the registry's own chain, or the
    # copy of one kiosk's. Reading, anchoring and purging are the same for both.

    def _chain_entries(self, chain: _Chain) -> list[audit_rules.AuditEntry]:
        rows = self._all(
            "SELECT seq, time, actor, action, office_id, target, outcome, detail, prev_hash, hash"
            f" FROM {chain.log} WHERE true{chain.and_scope} ORDER BY seq", chain.scope,
        )
        return [audit_rules.AuditEntry(**dict(r)) for r in rows]

    def _chain_checkpoints(self, chain: _Chain) -> list[audit_rules.Checkpoint]:
        rows = self._all(f"SELECT seq, hash, mac FROM {chain.checkpoints} WHERE"
                         f" true{chain.and_scope} ORDER BY seq", chain.scope)
        return [audit_rules.Checkpoint(**dict(r)) for r in rows]

    def _chain_anchor(self, chain: _Chain) -> audit_rules.Anchor | None:
        row = self._one(f"SELECT seq, hash, mac FROM {chain.anchor} WHERE"
                        f" {chain.anchor_key} = :anchor_id", {"anchor_id": chain.anchor_id})
        return None if row is None else audit_rules.Anchor(**dict(row))

    def _purge_chain(self, chain: _Chain, key: bytes, before: datetime) -> int:
        """Cuts ``chain`` at the last entry written before ``before`` (the rules:
        common.audit_chain.plan_purge) behind an anchor signed with ``key``;
        the caller holds the lock that keeps the chain's end still."""
        first = self._one(f"SELECT time FROM {chain.log} WHERE true{chain.and_scope}"
                          " ORDER BY seq LIMIT 1", chain.scope)
        if first is None or audit_rules.entry_moment(first[0]) >= before:
            # The cut stops at the first younger entry: nothing to cut, and no
            # need to read and check the whole chain (the daily run, most days).
            return 0
        plan = audit_rules.plan_purge(self._chain_entries(chain), self._chain_checkpoints(chain),
                                      key, self._chain_anchor(chain), before)
        if plan is None:
            return 0
        cut, digest = plan
        self._run(
            f"INSERT INTO {chain.anchor} ({chain.anchor_key}, seq, hash, mac, purge_time)"
            f" VALUES (:anchor_id, :seq, :hash, :mac, :now) ON CONFLICT ({chain.anchor_key})"
            " DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac,"
            " purge_time = excluded.purge_time",
            {"anchor_id": chain.anchor_id, "seq": cut, "hash": digest,
             "mac": audit_rules.anchor_mac(key, cut, digest), "now": _text(utcnow())},
        )
        through = {"cut": cut, **chain.scope}
        deleted = self._run(f"DELETE FROM {chain.log} WHERE seq <= :cut{chain.and_scope}",
                            through).rowcount
        self._run(f"DELETE FROM {chain.checkpoints} WHERE seq <= :cut{chain.and_scope}", through)
        return deleted

    # ------------------------------------------------- kiosks' audit chains

    def kiosk_audit_head(self, kiosk_id: str) -> tuple[int, str]:
        """(seq, hash) of the last entry held for the kiosk; (0, GENESIS) for none.
        Once retention purged every entry held, the anchor is the head: the
        kiosk's next entry must follow the last one purged."""
        # Two reports of one kiosk (two registry processes) must not both extend
        # the same head: the second waits, then sees the first's entries.
        self._lock(f"kiosk_audit:{kiosk_id}")
        row = self._one(
            "SELECT seq, hash FROM kiosk_audit_log WHERE kiosk_id = :kiosk"
            " ORDER BY seq DESC LIMIT 1",
            {"kiosk": kiosk_id},
        )
        if row is not None:
            return (row[0], row[1])
        anchor = self.kiosk_audit_anchor(kiosk_id)
        return (0, audit_rules.GENESIS) if anchor is None else (anchor.seq, anchor.hash)

    def kiosk_audit_hashes(self, kiosk_id: str, first: int, last: int) -> dict[int, str]:
        """The hashes still held of the kiosk's entries ``first`` to ``last``
        (the anchor's among them: retention keeps it of the last entry purged)."""
        rows = self._all(
            "SELECT seq, hash FROM kiosk_audit_log WHERE kiosk_id = :kiosk"
            " AND seq BETWEEN :first AND :last",
            {"kiosk": kiosk_id, "first": first, "last": last},
        )
        held = {r[0]: r[1] for r in rows}
        anchor = self.kiosk_audit_anchor(kiosk_id)
        if anchor is not None and first <= anchor.seq <= last:
            held[anchor.seq] = anchor.hash
        return held

    def append_kiosk_audit(self, kiosk_id: str, entries: list[audit_rules.AuditEntry]) -> None:
        """Stores entries already checked to continue the chain, and signs the new head
        (a checkpoint per batch: entries cut off the end later show)."""
        if not entries:
            return
        self._lock(f"kiosk_audit:{kiosk_id}")
        self._run(
            "INSERT INTO kiosk_audit_log (kiosk_id, seq, time, actor, action, office_id, target,"
            " outcome, detail, prev_hash, hash) VALUES (:kiosk, :seq, :time, :actor, :action,"
            " :office, :target, :outcome, :detail, :prev, :hash)",
            [{"kiosk": kiosk_id, "seq": e.seq, "time": e.time, "actor": e.actor,
              "action": e.action, "office": e.office_id, "target": e.target,
              "outcome": e.outcome, "detail": e.detail, "prev": e.prev_hash, "hash": e.hash}
             for e in entries],
        )
        head = entries[-1]
        key = audit_rules.kiosk_chain_key(self._db.audit_key, kiosk_id)
        self._run(
            "INSERT INTO kiosk_audit_checkpoints (kiosk_id, seq, hash, mac)"
            " VALUES (:kiosk, :seq, :hash, :mac) ON CONFLICT (kiosk_id, seq) DO UPDATE SET"
            " hash = excluded.hash, mac = excluded.mac",
            {"kiosk": kiosk_id, "seq": head.seq, "hash": head.hash,
             "mac": audit_rules.checkpoint_mac(key, head.seq, head.hash)},
        )

    def kiosk_audit_entries(self, kiosk_id: str) -> list[audit_rules.AuditEntry]:
        return self._chain_entries(_kiosk_chain(kiosk_id))

    def kiosk_audit_checkpoints(self, kiosk_id: str) -> list[audit_rules.Checkpoint]:
        return self._chain_checkpoints(_kiosk_chain(kiosk_id))

    def kiosk_audit_anchor(self, kiosk_id: str) -> audit_rules.Anchor | None:
        return self._chain_anchor(_kiosk_chain(kiosk_id))

    def kiosks_with_audit_entries(self) -> list[str]:
        return [r[0] for r in self._all("SELECT DISTINCT kiosk_id FROM kiosk_audit_log"
                                        " ORDER BY kiosk_id")]

    def kiosk_audit_purges(self, kiosk_id: str) -> list[int]:
        """Where the registry's own log says each purge anchored the kiosk's chain."""
        rows = self._all("SELECT detail FROM audit_log WHERE action = 'kiosk_audit.purged'"
                         " AND target = :kiosk ORDER BY seq", {"kiosk": kiosk_id})
        return [int(json.loads(r[0]).get("anchored_at", 0)) for r in rows]

    def purge_kiosk_audit_before(self, kiosk_id: str, before: datetime) -> int:
        """As :meth:`purge_audit_before`, for the registry's copy of one kiosk's
        chain (anchored with that chain's key). The anchor keeps the chain's
        head, so the kiosk's next batch is still checked against it."""
        self._lock(f"kiosk_audit:{kiosk_id}")  # no report extends it meanwhile
        key = audit_rules.kiosk_chain_key(self._db.audit_key, kiosk_id)
        return self._purge_chain(_kiosk_chain(kiosk_id), key, before)

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
        row_id = self._db.row_id
        clauses = ["kiosk_id = :kiosk", f"{row_id} > :after"]
        params: dict[str, Any] = {"kiosk": kiosk_id, "after": after_rowid, "limit": limit}
        if types:
            names = [f"t{i}" for i in range(len(types))]
            clauses.append(f"type IN ({', '.join(':' + n for n in names)})")
            params.update(zip(names, types))
        if since is not None:
            clauses.append("received_at >= :since")
            params["since"] = _text(since)
        rows = self._all(
            f"SELECT {row_id}, kiosk_id, payload, received_at FROM events"
            f" WHERE {' AND '.join(clauses)} ORDER BY {row_id} LIMIT :limit",
            params,
        )
        return [(r[0], r[1], bytes(r[2]), _moment(r[3])) for r in rows]


class RegistryDatabase:
    """Opens (and on first use creates) the registry database.

    ``target`` is a SQLite path, ``sqlite:///PATH`` or ``postgresql://…``.
    ``state_dir`` holds what must not live in the database (the audit
    checkpoints' key, the local admin credential, notices); it defaults to the
    SQLite file's folder, and for PostgreSQL to ``$KIOSK_REGISTRY_STATE_DIR`` or
    ``./var``. ``upgrade``: whether an older schema is migrated on open (default:
    yes for SQLite, the embedded case; no for PostgreSQL, where the operator runs
    ``kiosk-registry db upgrade``).
    Raises StorageError, with a one-line message, when the database cannot be used.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        kdf_params: KdfParams | None = None,
        state_dir: str | Path | None = None,
        upgrade: bool | None = None,
    ) -> None:
        self.location: Location = locate(target)
        self.dialect = self.location.dialect
        # The database's URL (PostgreSQL: as given, for LISTEN/NOTIFY and tools).
        self.url = self.location.url
        sqlite = self.dialect == SQLITE
        if state_dir is None:
            state_dir = (self.location.path.parent if sqlite  # type: ignore[union-attr]
                         else os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Kept for callers that find the state folder as `db.path.parent`.
        self.path = self.location.path if sqlite else self.state_dir / "postgresql"
        # How list_orders/list_events page in creation order.
        self.row_id = "rowid" if sqlite else "row_id"
        self._lock = threading.RLock() if sqlite else None
        self._engine = self.location.engine()
        self._shared: sa.Connection | None = None
        # SQLite: read-only transactions (reading()) on connections of their own.
        self._readers = sqlite_read_engine(self.location.path) if sqlite else None  # type: ignore[arg-type]
        try:
            if sqlite:
                # One connection shared by the gRPC worker threads; the lock is
                # what makes that safe, and it also keeps transactions from
                # interleaving. SQLite serialises writers anyway, so little is lost.
                self._shared = self._engine.connect()
                # Contacts and codes live here: the registry's user only (SQLite
                # gives the -wal and -shm files the database file's mode).
                os.chmod(self.location.path, 0o600)  # type: ignore[arg-type]
            self._migrate(sqlite if upgrade is None else upgrade)
            self.audit_key = _load_or_create_key(self.state_dir / AUDIT_KEY_FILE)
            # Wakes StreamCommands streams when a transaction queued a command.
            self._commands_changed = threading.Condition()
            self._commands_generation = 0
            # Counts committed revocations (see Transaction.credentials_revoked).
            self.credentials_generation = 0
            # Called after a commit with the kiosks a command was queued for (registry.wakeup).
            self.command_listeners: list = []
            self.policy = self._load_or_create_policy(kdf_params or KdfParams())
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            self._dispose()
            raise StorageError(explain(self.location, error)) from None
        except BaseException:
            self._dispose()
            raise

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def _connection(self) -> sa.Connection:
        return self._shared if self._shared is not None else self._engine.connect()

    def _migrate(self, upgrade: bool) -> None:
        conn = self._connection()
        try:
            state = migrations.schema_state(conn)
            conn.rollback()
            refusal = migrations.refusal(state, self.location.display)
            if state.newer or (refusal is not None and not upgrade):
                raise StorageError(refusal)
            if not state.current:
                migrations.upgrade(conn)
        finally:
            if conn is not self._shared:
                conn.close()

    def _load_or_create_policy(self, new_params: KdfParams) -> CredentialPolicy:
        # The policy is fixed once the first credential may have been hashed
        # with it: changing the salt or parameters would orphan every lookup key.
        with self.transaction() as tx:
            # Two instances starting on a new database: one writes the policy.
            tx._lock(_WRITER_LOCK)
            rows = {r[0]: r[1] for r in tx._all("SELECT key, value FROM meta")}
            if "lookup_salt" not in rows:
                rows = {
                    "schema_version": str(SCHEMA_VERSION),
                    "change_seq": "0",
                    "kdf_n": str(new_params.n),
                    "kdf_r": str(new_params.r),
                    "kdf_p": str(new_params.p),
                    "lookup_salt": secrets.token_bytes(16).hex(),
                }
                tx._run("INSERT INTO meta (key, value) VALUES (:key, :value)",
                        [{"key": k, "value": v} for k, v in rows.items()])
            if tx.get_office(DEFAULT_OFFICE) is None:
                tx.add_office(DEFAULT_OFFICE, "Default office")
        return CredentialPolicy(
            params=KdfParams(n=int(rows["kdf_n"]), r=int(rows["kdf_r"]), p=int(rows["kdf_p"])),
            lookup_salt=bytes.fromhex(rows["lookup_salt"]),
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        if self._shared is not None:
            with self._lock:  # type: ignore[union-attr]
                with self._shared.begin():  # BEGIN IMMEDIATE (see registry.storage.location)
                    tx = Transaction(self._shared, self)
                    current = _current.set(tx)
                    try:
                        yield tx
                    finally:
                        tx._ended = True
                        _current.reset(current)
        else:
            token = _in_transaction.set(True)
            try:
                with self._engine.begin() as conn:
                    tx = Transaction(conn, self)
                    current = _current.set(tx)
                    try:
                        yield tx
                    finally:
                        tx._ended = True
                        _current.reset(current)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                # PostgreSQL restarting, a dropped connection, a deadlock
                # victim: the call fails as UNAVAILABLE (nothing was committed)
                # and the caller's retry succeeds once the database is back.
                log.warning("database unavailable: %s", explain(self.location, error))
                raise RegistryError(
                    grpc.StatusCode.UNAVAILABLE, DATABASE_UNAVAILABLE,
                    "the registry's database is unavailable; nothing was changed, try again",
                ) from None
            finally:
                _in_transaction.reset(token)
        if tx.credentials_revoked:
            with self._commands_changed:
                self.credentials_generation += 1
        if tx.commands_queued:
            with self._commands_changed:
                self._commands_generation += 1
                self._commands_changed.notify_all()
            for listener in self.command_listeners:
                listener(frozenset(tx.queued_for))

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read-only transaction: on SQLite a snapshot on a connection of its
        own, so it neither waits for the writer nor makes it wait; on
        PostgreSQL the same as :meth:`transaction`. Nothing may be written in it."""
        if self._readers is None:
            with self.transaction() as tx:
                yield tx
            return
        with self._readers.connect() as conn:
            with conn.begin():
                yield Transaction(conn, self)

    @property
    def current_transaction(self) -> Transaction | None:
        """The transaction of this database this thread (or task) is inside, if any:
        code called from within one (a notifier's hook) joins it instead of
        opening a second one, which on SQLite's one connection could not begin."""
        tx = _current.get()
        # Not one that ended (a task started inside it copied the context).
        return tx if tx is not None and tx._db is self and not tx._ended else None

    @property
    def in_transaction(self) -> bool:
        """True inside `transaction()` (SQLite: on the shared connection, whichever
        thread holds it; PostgreSQL: in this thread or task, since each transaction
        has its own connection)."""
        if self._shared is None:
            return _in_transaction.get()
        return self._shared.in_transaction()

    def checkpoint_wal(self) -> None:
        """Folds the WAL into the database, so wiped secrets leave no copy in -wal."""
        if self._shared is not None:
            with self._lock:  # type: ignore[union-attr]
                # On the driver's connection, outside any transaction: a
                # checkpoint inside one could not fold what it still reads.
                self._shared.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                )

    def credentials_seq(self) -> int:
        """How many transactions revoked a credential (meta.credentials_seq; 0: none yet)."""
        with self.reading() as tx:
            value = tx.meta_value(credential_watch.SEQ_KEY)
        return 0 if value is None else int(value)

    def forget_credentials(self) -> None:
        """Makes this process forget the credentials it believes (registry.identity):
        another process revoked one, or may have (registry.credential_watch, wakeup)."""
        with self._commands_changed:
            self.credentials_generation += 1

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

    def _dispose(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self._readers is not None:
            self._readers.dispose()
        self._engine.dispose()

    def close(self) -> None:
        if self._shared is not None:
            with self._lock:  # type: ignore[union-attr]
                with self.transaction() as tx:
                    tx.checkpoint_head()
                # Folds the WAL into the database file, so wiped secrets do not
                # linger in the -wal file.
                self.checkpoint_wal()
                self._dispose()
        else:
            with self.transaction() as tx:
                tx.checkpoint_head()
            self._dispose()
