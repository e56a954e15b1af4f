"""The kiosk's own tamper-evident audit log.

Every security-relevant act at the box (staff logins and failed logins,
deposits, handovers with the PIN-letter confirmation, remote commands
received, carried out or refused, staff card changes, door alarms, service
openings) is appended to a hash chain in the kiosk's database, in the same
transaction as the change it describes: a crash, even a SIGKILL between two
statements, leaves either both or neither, so the chain always verifies.

The rules are those of the registry's log (common/audit_chain.py). Every
``CHECKPOINT_EVERY`` entries, and when the store closes, the head is signed
with an HMAC key kept beside the database (``<store>.audit-key``, mode
0600), so entries cut off the end show. Entries the registry holds are
pruned after ``kiosk.journal_retention_days`` (kiosk/store/retention.py);
the chain then starts at a signed anchor, so what stays still verifies. The uplink sends the chain to the
registry (ReportAuditEntries), which stores it only if it continues what it
already holds and signs each new head with its own key: from then on a
rewrite on the kiosk cannot go unnoticed even by someone who holds the
kiosk's key. ``kiosk audit verify`` checks the local chain.

No personal data goes in here: order references, compartment numbers, staff
ids and registry principals only (never codes, PINs or card UIDs).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from common import audit_chain
from common.audit_chain import Anchor, AuditEntry, Checkpoint, VerifyResult

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    {audit_chain.ENTRY_COLUMNS_SQL.strip()}
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
-- Where the chain starts once entries the registry holds were pruned.
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
"""
# How far the registry holds the chain (store meta key).
REPORTED_KEY = "audit_reported_seq"
_COLUMNS = "seq, time, actor, action, office_id, target, outcome, detail, prev_hash, hash"


def key_path(store_path: Path) -> Path:
    return store_path.with_suffix(".audit-key")


def load_or_create_key(path: Path | None) -> bytes:
    """The checkpoint key; an in-memory store (tests) gets a fresh one."""
    if path is None:
        return secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as file:
        file.write(key.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key


def append(tx: sqlite3.Connection, key: bytes, at: datetime, actor: str, action: str, *,
           target: str = "", outcome: str = "ok", **detail: Any) -> AuditEntry:
    """Appends one entry inside the caller's transaction (and a checkpoint now and then)."""
    last = (tx.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            or tx.execute("SELECT seq, hash FROM audit_anchor").fetchone())
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    entry = audit_chain.next_entry(
        tuple(last) if last else None, at.isoformat(), actor, action, "", target, outcome,
        detail_text,
    )
    tx.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (entry.seq, entry.time, entry.actor, entry.action, entry.office_id, entry.target,
         entry.outcome, entry.detail, entry.prev_hash, entry.hash),
    )
    if audit_chain.needs_checkpoint(entry.seq):
        checkpoint(tx, key, entry.seq, entry.hash)
    return entry


def checkpoint(tx: sqlite3.Connection, key: bytes, seq: int, digest: str) -> None:
    tx.execute("INSERT OR REPLACE INTO audit_checkpoints (seq, hash, mac) VALUES (?,?,?)",
               (seq, digest, audit_chain.checkpoint_mac(key, seq, digest)))


def checkpoint_head(tx: sqlite3.Connection, key: bytes) -> None:
    last = tx.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if last is not None:
        checkpoint(tx, key, last[0], last[1])


def entries(db: sqlite3.Connection, after: int = 0, limit: int | None = None) -> list[AuditEntry]:
    sql = f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq"
    params: tuple = (after,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [AuditEntry(*row) for row in db.execute(sql, params).fetchall()]


def checkpoints(db: sqlite3.Connection) -> list[Checkpoint]:
    rows = db.execute("SELECT seq, hash, mac FROM audit_checkpoints ORDER BY seq").fetchall()
    return [Checkpoint(*row) for row in rows]


def anchor(db: sqlite3.Connection) -> Anchor | None:
    row = db.execute("SELECT seq, hash, mac FROM audit_anchor").fetchone()
    return None if row is None else Anchor(*row)


def verify(db: sqlite3.Connection, key: bytes) -> VerifyResult:
    return audit_chain.verify_chain(entries(db), checkpoints(db), key, anchor(db))


def prune(tx: sqlite3.Connection, key: bytes, before: datetime) -> int:
    """Deletes entries older than ``before`` that the registry already holds
    (it keeps them, checked and signed), anchoring what stays. Entries the
    registry has not confirmed are never pruned; nor is a broken chain
    (ValueError): that would erase the evidence."""
    reported = tx.execute("SELECT value FROM meta WHERE key=?", (REPORTED_KEY,)).fetchone()
    if reported is None:
        return 0
    plan = audit_chain.plan_purge(entries(tx), checkpoints(tx), key, anchor(tx), before,
                                  up_to=int(reported[0]))
    if plan is None:
        return 0
    cut, digest = plan
    tx.execute("INSERT OR REPLACE INTO audit_anchor (id, seq, hash, mac) VALUES (1, ?, ?, ?)",
               (cut, digest, audit_chain.anchor_mac(key, cut, digest)))
    tx.execute("DELETE FROM audit_checkpoints WHERE seq <= ?", (cut,))
    return tx.execute("DELETE FROM audit_log WHERE seq <= ?", (cut,)).rowcount


def event_actor(staff_ids: tuple[str, ...] | list[str], event_type: str) -> str:
    """Who did what an event reports: the staff logged in, the citizen at a
    handover, else the kiosk itself (alarms, faults)."""
    if staff_ids:
        return "staff:" + "+".join(staff_ids)
    if event_type in ("order_collected", "old_document_returned", "problem_reported"):
        return "citizen"
    return "kiosk"
