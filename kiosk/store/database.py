"""SQLite store for compartments, orders, staff hashes, the journal and the outbox.

Why SQLite in WAL mode: a power cut must never lose which document is in
which compartment, nor let one be handed out twice. Every state change is a
single transaction that also appends to the journal and, where the registry
must hear of it, to the outbox. The outbox is drained by the uplink, so a
registry outage only delays reports and never loses them.

One connection is shared behind a lock: the kiosk has one core thread and
one uplink thread, and the write rate is a few rows per minute.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sqlite3
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from kiosk.domain.effects import UnlockPurpose
from kiosk.domain.events import KioskEvent
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.staff import StaffRecord
from kiosk.store import audit_log
from kiosk.store.faults import fault_point

SCHEMA = """
CREATE TABLE IF NOT EXISTS compartment (
    number INTEGER PRIMARY KEY,
    size TEXT NOT NULL,
    col INTEGER NOT NULL,
    row INTEGER NOT NULL,
    height_class TEXT NOT NULL,
    state TEXT NOT NULL,
    -- UNIQUE: a document is never recorded in two compartments.
    order_reference TEXT UNIQUE
);
CREATE TABLE IF NOT EXISTS pickup_order (
    reference TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    size TEXT NOT NULL,
    needs_low INTEGER NOT NULL,
    requires_pin_letter INTEGER NOT NULL,
    code_lookup BLOB NOT NULL,
    pin_verifier TEXT NOT NULL,
    compartment_number INTEGER,
    pickup_deadline TEXT,
    failed_pin_attempts INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    uncertain TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS pickup_order_lookup ON pickup_order (code_lookup);
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    card_lookup BLOB NOT NULL,
    pin_verifier TEXT NOT NULL,
    unlock_generation INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS staff_lookup ON staff (card_lookup);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    order_reference TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL
);
-- Write-ahead intents: committed before every unlock pulse, finished in the
-- transaction that records the outcome. One left over at start-up means the
-- kiosk stopped between the two; start-up reconciles it with the sensors.
CREATE TABLE IF NOT EXISTS intent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    compartment INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    order_reference TEXT NOT NULL,
    staff_ids TEXT NOT NULL,
    pin_letter_confirmed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    pass


class StorageFault(StoreError):
    """A write failed (disk full, I/O error): nothing of that transaction was stored."""


class KioskStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lockfile = None
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lockfile = _exclusive_lock(self.path.with_suffix(".lock"))
        self._lock = threading.RLock()
        # Why the last write failed (None: writes work), and since when.
        self.fault: str | None = None
        self.fault_since: datetime | None = None
        # A check the tests switch on: set to the core thread, every write from
        # another thread is listed in `foreign_writes` (the core owns all kiosk
        # state; the uplink writes through it, see KioskCore.write).
        self.writer: threading.Thread | None = None
        self.foreign_writes: list[str] = []
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed handover survives a power cut, not only a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            self._db.executescript(audit_log.SCHEMA)
            _migrate(self._db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the kiosk database {path}: {exc}. "
                "Check the file and its permissions; restore it from backup if it is corrupt."
            ) from exc
        self._seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
        self.audit_key = audit_log.load_or_create_key(
            None if str(path) == ":memory:" else audit_log.key_path(self.path))

    def close(self) -> None:
        with self._lock:
            try:
                # Sign the end of the audit chain: a tail cut off later shows.
                # (Not through transaction(): closing is no write of kiosk state.)
                with self._db:
                    audit_log.checkpoint_head(self._db, self.audit_key)
            except sqlite3.Error as exc:
                logging.getLogger(__name__).warning(
                    "could not sign the end of the audit log at close: %s", exc)
            self._db.close()
        if self._lockfile is not None:
            self._lockfile.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write. A failed write raises `StorageFault` and sets `fault`;
        the next write that commits clears it."""
        if self.writer is not None and threading.current_thread() is not self.writer:
            callers = traceback.extract_stack(limit=5)[:-2]  # without contextlib and this
            where = " < ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})"
                               for f in reversed(callers))
            self.foreign_writes.append(f"{threading.current_thread().name}: {where}")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._rollback()
                raise
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise self._storage_fault(exc) from exc
            except BaseException:
                self._rollback()
                raise
            self.fault = self.fault_since = None

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (SQLITE_FULL): then a
        # ROLLBACK would fail with "no transaction is active" and hide the cause.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _storage_fault(self, exc: sqlite3.OperationalError) -> StorageFault:
        where = self.path.parent if str(self.path) != ":memory:" else Path(".")
        try:
            free = f"{shutil.disk_usage(where).free // 1024} KiB"
        except OSError:
            free = "unknown"
        text = str(exc)
        if "full" in text:
            detail = f"disk full, free space on {where}: {free}"
        else:
            detail = f"write failed ({text}), free space on {where}: {free}"
        if self.fault is None:
            self.fault_since = datetime.now(timezone.utc)
        self.fault = detail
        return StorageFault(detail)

    def probe(self) -> bool:
        """Tries a small write; True (and `fault` cleared) if writes work again."""
        try:
            with self.transaction() as tx:
                self.set_meta(tx, "store_probe", datetime.now(timezone.utc).isoformat())
        except StorageFault:
            return False
        return True

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --------------------------------------------------------- compartments

    def install_layout(self, layout: list[Compartment]) -> None:
        """Adds compartments the cabinet has; keeps the state of known ones."""
        with self.transaction() as tx:
            for c in layout:
                tx.execute(
                    "INSERT INTO compartment (number, size, col, row, height_class, state, order_reference)"
                    " VALUES (?, ?, ?, ?, ?, ?, NULL)"
                    " ON CONFLICT(number) DO UPDATE SET size=excluded.size, col=excluded.col,"
                    " row=excluded.row, height_class=excluded.height_class",
                    (c.number, c.size.value, c.column, c.row, c.height_class.value, c.state.value),
                )

    def compartments(self) -> list[Compartment]:
        rows = self._query(
            "SELECT number, size, col, row, height_class, state, order_reference FROM compartment ORDER BY number"
        )
        return [_compartment(r) for r in rows]

    def compartment(self, number: int) -> Compartment | None:
        rows = self._query(
            "SELECT number, size, col, row, height_class, state, order_reference FROM compartment WHERE number=?",
            (number,),
        )
        return _compartment(rows[0]) if rows else None

    @staticmethod
    def save_compartment(tx: sqlite3.Connection, c: Compartment) -> None:
        tx.execute(
            "UPDATE compartment SET state=?, order_reference=? WHERE number=?",
            (c.state.value, c.order_reference, c.number),
        )

    # --------------------------------------------------------------- orders

    _ORDER_COLUMNS = (
        "reference, kind, status, size, needs_low, requires_pin_letter, code_lookup, pin_verifier,"
        " compartment_number, pickup_deadline, failed_pin_attempts, locked, uncertain"
    )

    def order(self, reference: str) -> PickupOrder | None:
        rows = self._query(f"SELECT {self._ORDER_COLUMNS} FROM pickup_order WHERE reference=?", (reference,))
        return _order(rows[0]) if rows else None

    def order_by_lookup(self, code_lookup: bytes) -> PickupOrder | None:
        rows = self._query(f"SELECT {self._ORDER_COLUMNS} FROM pickup_order WHERE code_lookup=?", (code_lookup,))
        return _order(rows[0]) if rows else None

    def orders(self, statuses: tuple[OrderStatus, ...] | None = None) -> list[PickupOrder]:
        if statuses:
            marks = ",".join("?" * len(statuses))
            rows = self._query(
                f"SELECT {self._ORDER_COLUMNS} FROM pickup_order WHERE status IN ({marks}) ORDER BY reference",
                tuple(s.value for s in statuses),
            )
        else:
            rows = self._query(f"SELECT {self._ORDER_COLUMNS} FROM pickup_order ORDER BY reference")
        return [_order(r) for r in rows]

    @classmethod
    def save_order(cls, tx: sqlite3.Connection, o: PickupOrder) -> None:
        tx.execute(
            f"INSERT INTO pickup_order ({cls._ORDER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(reference) DO UPDATE SET kind=excluded.kind, status=excluded.status,"
            " size=excluded.size, needs_low=excluded.needs_low,"
            " requires_pin_letter=excluded.requires_pin_letter, code_lookup=excluded.code_lookup,"
            " pin_verifier=excluded.pin_verifier, compartment_number=excluded.compartment_number,"
            " pickup_deadline=excluded.pickup_deadline,"
            " failed_pin_attempts=excluded.failed_pin_attempts, locked=excluded.locked,"
            " uncertain=excluded.uncertain",
            (
                o.reference,
                o.kind.value,
                o.status.value,
                o.size.value,
                int(o.needs_low_compartment),
                int(o.requires_pin_letter_confirmation),
                o.code_lookup,
                o.pin_verifier,
                o.compartment_number,
                o.pickup_deadline.isoformat() if o.pickup_deadline else None,
                o.failed_pin_attempts,
                int(o.locked),
                o.uncertain.value,
            ),
        )

    @staticmethod
    def delete_order(tx: sqlite3.Connection, reference: str) -> None:
        tx.execute("DELETE FROM pickup_order WHERE reference=?", (reference,))

    # ---------------------------------------------------------------- staff

    def staff_by_lookup(self, card_lookup: bytes) -> StaffRecord | None:
        rows = self._query(
            "SELECT staff_id, card_lookup, pin_verifier, unlock_generation FROM staff"
            " WHERE card_lookup=?", (card_lookup,)
        )
        return StaffRecord(rows[0][0], rows[0][1], rows[0][2], True, rows[0][3]) if rows else None

    def staff_count(self) -> int:
        return self._query("SELECT COUNT(*) FROM staff")[0][0]

    @staticmethod
    def save_staff(tx: sqlite3.Connection, record: StaffRecord) -> None:
        if not record.active:
            # Deactivated staff are simply forgotten: nothing to keep.
            tx.execute("DELETE FROM staff WHERE staff_id=?", (record.staff_id,))
            return
        tx.execute(
            "INSERT INTO staff (staff_id, card_lookup, pin_verifier, unlock_generation)"
            " VALUES (?,?,?,?)"
            " ON CONFLICT(staff_id) DO UPDATE SET card_lookup=excluded.card_lookup,"
            " pin_verifier=excluded.pin_verifier, unlock_generation=excluded.unlock_generation",
            (record.staff_id, record.card_lookup, record.pin_verifier, record.unlock_generation),
        )

    # ------------------------------------------------------ journal, outbox

    @staticmethod
    def journal(tx: sqlite3.Connection, at: datetime, kind: str, **detail) -> None:
        tx.execute(
            "INSERT INTO journal (at, kind, detail) VALUES (?,?,?)",
            (at.isoformat(), kind, json.dumps(detail, sort_keys=True, default=str)),
        )

    def journal_entries(self, kind: str | None = None) -> list[tuple[str, str, dict]]:
        sql = "SELECT at, kind, detail FROM journal"
        params: tuple = ()
        if kind:
            sql += " WHERE kind=?"
            params = (kind,)
        return [(at, k, json.loads(d)) for at, k, d in self._query(sql + " ORDER BY id", params)]

    def enqueue(self, tx: sqlite3.Connection, event: KioskEvent) -> None:
        self._seq += 1
        tx.execute(
            "INSERT INTO outbox (event_id, seq, order_reference, payload, next_attempt_at) VALUES (?,?,?,?,?)",
            (event.event_id, self._seq, event.order_reference, json.dumps(event.to_json()),
             event.occur_time.isoformat()),
        )
        self.journal(tx, event.occur_time, "event", **event.to_json())
        # Every reported event is also a security-relevant act of the box
        # (deposit, handover with the PIN-letter confirmation, login, alarm, ...).
        self.audit(
            tx, event.occur_time, audit_log.event_actor(event.staff_ids, event.type.value),
            "event." + event.type.value, target=event.order_reference,
            compartment=event.compartment_number, detail=event.detail,
            event_id=event.event_id,
            **({"pin_letter_confirmed": True} if event.pin_letter_confirmed else {}),
        )

    # ------------------------------------------------------------- audit log

    def audit(self, tx: sqlite3.Connection, at: datetime, actor: str, action: str, *,
              target: str = "", outcome: str = "ok", **detail) -> None:
        """One entry of the kiosk's hash-chained audit log, inside the caller's transaction."""
        audit_log.append(tx, self.audit_key, at, actor, action, target=target, outcome=outcome,
                         **detail)

    def audit_entries(self, after: int = 0, limit: int | None = None):
        with self._lock:
            return audit_log.entries(self._db, after, limit)

    def audit_verify(self):
        with self._lock:
            return audit_log.verify(self._db, self.audit_key)

    def outbox_due(self, now: datetime, limit: int = 100) -> list[tuple[KioskEvent, int]]:
        """The oldest events, in the order they happened, if the first is due.

        Strictly first in, first out: a deposit must never reach the registry
        after the handover of the same document, so a later event never
        overtakes an earlier one that is waiting for its retry.
        """
        rows = self._query("SELECT payload, attempts, next_attempt_at FROM outbox ORDER BY seq LIMIT ?", (limit,))
        if not rows or datetime.fromisoformat(rows[0][2]) > now:
            return []
        return [(KioskEvent.from_json(json.loads(p)), attempts) for p, attempts, _ in rows]

    def outbox_acknowledge(self, event_ids: list[str]) -> None:
        with self.transaction() as tx:
            tx.executemany("DELETE FROM outbox WHERE event_id=?", [(i,) for i in event_ids])
            fault_point("outbox_ack")
        fault_point("outbox_ack:committed")

    def outbox_postpone(self, event_ids: list[str], until: datetime) -> None:
        with self.transaction() as tx:
            tx.executemany(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=? WHERE event_id=?",
                [(until.isoformat(), i) for i in event_ids],
            )

    def outbox_backlog(self) -> int:
        return self._query("SELECT COUNT(*) FROM outbox")[0][0]

    def next_outbox_attempt(self) -> datetime | None:
        rows = self._query("SELECT next_attempt_at FROM outbox ORDER BY seq LIMIT 1")
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def orders_with_pending_events(self) -> set[str]:
        return {r[0] for r in self._query("SELECT DISTINCT order_reference FROM outbox WHERE order_reference != ''")}

    # -------------------------------------------------------------- intents

    @staticmethod
    def add_intent(tx: sqlite3.Connection, intent: UnlockIntent) -> int:
        cursor = tx.execute(
            "INSERT INTO intent (compartment, purpose, order_reference, staff_ids,"
            " pin_letter_confirmed, created_at) VALUES (?,?,?,?,?,?)",
            (intent.compartment, intent.purpose.value, intent.order_reference,
             json.dumps(intent.staff_ids), int(intent.pin_letter_confirmed),
             intent.created_at.isoformat()),
        )
        return cursor.lastrowid

    @staticmethod
    def finish_intents(tx: sqlite3.Connection, compartment: int,
                       purposes: tuple[UnlockPurpose, ...] = ()) -> None:
        """The outcome of every unlock of `compartment` (of these purposes) is recorded."""
        if purposes:
            marks = ",".join("?" * len(purposes))
            tx.execute(f"DELETE FROM intent WHERE compartment=? AND purpose IN ({marks})",
                       (compartment, *(p.value for p in purposes)))
        else:
            tx.execute("DELETE FROM intent WHERE compartment=?", (compartment,))

    def open_intents(self) -> list[UnlockIntent]:
        rows = self._query(
            "SELECT id, compartment, purpose, order_reference, staff_ids, pin_letter_confirmed,"
            " created_at FROM intent ORDER BY id"
        )
        return [
            UnlockIntent(number, UnlockPurpose(purpose), reference, tuple(json.loads(staff)),
                         bool(pin_letter), datetime.fromisoformat(at), intent_id)
            for intent_id, number, purpose, reference, staff, pin_letter, at in rows
        ]

    # ----------------------------------------------------------------- meta

    def meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    @staticmethod
    def set_meta(tx: sqlite3.Connection, key: str, value: str) -> None:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )


def _migrate(db: sqlite3.Connection) -> None:
    """Columns added since the first release, for stores created before them."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(pickup_order)")}
    if "uncertain" not in columns:
        db.execute("ALTER TABLE pickup_order ADD COLUMN uncertain TEXT NOT NULL DEFAULT ''")
    columns = {row[1] for row in db.execute("PRAGMA table_info(staff)")}
    if "unlock_generation" not in columns:
        db.execute("ALTER TABLE staff ADD COLUMN unlock_generation INTEGER NOT NULL DEFAULT 0")


def _exclusive_lock(path: Path):
    """Two kiosk processes on one store would hand out the same document twice."""
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(
            f"the kiosk store {path.with_suffix('.sqlite3')} is in use by another kiosk process; "
            "stop it first, or give this kiosk its own kiosk.data_dir"
        ) from None
    return handle


def _compartment(row: tuple) -> Compartment:
    number, size, col, r, height, state, ref = row
    return Compartment(number, Size(size), col, r, HeightClass(height), CompartmentState(state), ref)


def _order(row: tuple) -> PickupOrder:
    (reference, kind, status, size, low, pin_letter, lookup, verifier, number, deadline, failed,
     locked, uncertain) = row
    return PickupOrder(
        reference=reference,
        kind=DocumentKind(kind),
        status=OrderStatus(status),
        size=Size(size),
        needs_low_compartment=bool(low),
        requires_pin_letter_confirmation=bool(pin_letter),
        code_lookup=lookup,
        pin_verifier=verifier,
        compartment_number=number,
        pickup_deadline=datetime.fromisoformat(deadline) if deadline else None,
        failed_pin_attempts=failed,
        locked=bool(locked),
        uncertain=Uncertainty(uncertain),
    )
