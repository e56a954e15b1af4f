"""The rules of the tamper-evident audit log, as pure functions.

One implementation for both ends: the registry keeps its own chain, each
kiosk keeps one of its acts (kiosk/store/audit_log.py) and sends it to the
registry, which checks that every batch continues the chain it holds
(:func:`continuation_problem`) before it stores it per kiosk.

Each entry's hash covers its own fields and the previous entry's hash, so
editing, inserting or deleting an entry breaks every hash after it. Every
``CHECKPOINT_EVERY`` entries the registry also stores an HMAC of the chain
head made with a key kept beside the database (``audit.key``, mode 0600):
cutting entries off the end leaves a checkpoint pointing past the end, and a
rewritten chain cannot carry valid checkpoints without the key. (Someone who
holds the key and the database can rewrite both; exporting checkpoints to a
separate log server closes that gap.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone

GENESIS = "0" * 64
CHECKPOINT_EVERY = 20
# The checkpoint keys of kiosk chains held by the registry are derived from
# the registry's key and the kiosk id, so a checkpoint of kiosk A's chain
# cannot be passed off as one of kiosk B's.
_KIOSK_KEY_LABEL = b"pickupbox kiosk audit chain:"


# The SQL columns of an entry after its seq, the same in every table that
# holds a chain (the registry's, each kiosk's, the registry's copies of those).
ENTRY_COLUMNS_SQL = """
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    office_id TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
"""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str  # ISO 8601, UTC
    actor: str  # "user:anna", "api_key:fachverfahren", "kiosk:kiosk-1", "anonymous", ...
    action: str  # "order.created", "call.denied", "login.failed", ...
    office_id: str
    target: str  # what the act touched: an order reference, a kiosk, a staff id
    outcome: str  # "ok" or "denied"
    detail: str  # JSON object: where (peer), why (reason), what else
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    mac: str


def entry_hash(prev_hash: str, seq: int, time: str, actor: str, action: str, office_id: str,
               target: str, outcome: str, detail: str) -> str:
    # A JSON array is an unambiguous encoding: no field can run into the next.
    body = json.dumps(
        [prev_hash, seq, time, actor, action, office_id, target, outcome, detail],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    return entry_hash(entry.prev_hash, entry.seq, entry.time, entry.actor, entry.action,
                      entry.office_id, entry.target, entry.outcome, entry.detail)


def next_entry(last: AuditEntry | tuple[int, str] | None, time: str, actor: str, action: str,
               office_id: str, target: str, outcome: str, detail: str) -> AuditEntry:
    """The entry that follows ``last`` (an entry, its (seq, hash), or None for the first)."""
    if last is None:
        seq, prev = 1, GENESIS
    elif isinstance(last, AuditEntry):
        seq, prev = last.seq + 1, last.hash
    else:
        seq, prev = last[0] + 1, last[1]
    digest = entry_hash(prev, seq, time, actor, action, office_id, target, outcome, detail)
    return AuditEntry(seq, time, actor, action, office_id, target, outcome, detail, prev, digest)


def checkpoint_mac(key: bytes, seq: int, head_hash: str) -> str:
    return hmac.new(key, f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    broken_seq: int | None = None  # the first entry (or checkpoint) that does not fit
    problem: str = ""


@dataclass(frozen=True)
class Anchor:
    """Where a chain starts after its oldest entries were purged (retention):
    the last purged entry's seq and hash, signed. Its MAC is domain-separated
    from a checkpoint's, so a checkpoint cannot be passed off as an anchor to
    hide entries cut off the front."""

    seq: int
    hash: str
    mac: str


def anchor_mac(key: bytes, seq: int, head_hash: str) -> str:
    return hmac.new(key, f"anchor:{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


def verify_chain(entries: list[AuditEntry], checkpoints: list[Checkpoint],
                 key: bytes, anchor: Anchor | None = None) -> VerifyResult:
    """Checks entries (in seq order) and checkpoints; names the first break.
    With an ``anchor`` the chain starts after the purged entries it vouches for."""
    prev = GENESIS
    expected_seq = 1
    if anchor is not None:
        if not hmac.compare_digest(anchor.mac, anchor_mac(key, anchor.seq, anchor.hash)):
            return VerifyResult(False, len(entries), anchor.seq,
                                f"the anchor of the purged entries 1 to {anchor.seq} has a"
                                " wrong signature")
        prev, expected_seq = anchor.hash, anchor.seq + 1
        checkpoints = [c for c in checkpoints if c.seq > anchor.seq]
    by_seq: dict[int, str] = {}
    for entry in entries:
        if entry.seq != expected_seq:
            return VerifyResult(False, len(entries), expected_seq,
                                f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != prev:
            return VerifyResult(False, len(entries), entry.seq,
                                f"entry {entry.seq} does not follow entry {entry.seq - 1}")
        if hash_of(entry) != entry.hash:
            return VerifyResult(False, len(entries), entry.seq,
                                f"entry {entry.seq} was changed after it was written")
        by_seq[entry.seq] = entry.hash
        prev = entry.hash
        expected_seq += 1
    last = expected_seq - 1
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if not hmac.compare_digest(checkpoint.mac, checkpoint_mac(key, checkpoint.seq,
                                                                  checkpoint.hash)):
            return VerifyResult(False, len(entries), checkpoint.seq,
                                f"checkpoint at entry {checkpoint.seq} has a wrong signature")
        if checkpoint.seq not in by_seq:
            return VerifyResult(
                False, len(entries), last + 1,
                f"the log ends at entry {last} but a checkpoint vouches for"
                f" entry {checkpoint.seq}: entries were cut off the end",
            )
        if by_seq[checkpoint.seq] != checkpoint.hash:
            return VerifyResult(False, len(entries), checkpoint.seq,
                                f"entry {checkpoint.seq} differs from its signed checkpoint")
    return VerifyResult(True, len(entries))


def purge_cut(entries: list[tuple[int, datetime]], before: datetime) -> int | None:
    """The last seq to purge: the oldest entries, in seq order, written before
    ``before``. It stops at the first younger entry, so a clock that stepped
    back never tears a hole into the middle of the chain."""
    cut = None
    for seq, time in entries:
        if time >= before:
            break
        cut = seq
    return cut


def entry_moment(text: str) -> datetime:
    """An entry's time, for comparing with the retention's cut-off: ISO 8601,
    read as UTC when it carries no offset (never an error for a kiosk whose
    clock wrote it so). ValueError names a time that is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"entry time {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def plan_purge(entries: list[AuditEntry], checkpoints: list[Checkpoint], key: bytes,
               anchor: Anchor | None, before: datetime,
               up_to: int | None = None) -> tuple[int, str] | None:
    """(seq, hash) of the new anchor when the entries written before ``before``
    (and, if given, with seq <= ``up_to``) are purged; None: nothing to purge.
    Raises ValueError while the chain is broken: a purge must not erase evidence."""
    result = verify_chain(entries, checkpoints, key, anchor)
    if not result.ok:
        raise ValueError(f"the audit log is broken at entry {result.broken_seq}"
                         f" ({result.problem}); nothing purged")
    cut = purge_cut([(e.seq, entry_moment(e.time)) for e in entries
                     if up_to is None or e.seq <= up_to], before)
    if cut is None:
        return None
    return cut, next(e.hash for e in entries if e.seq == cut)


def needs_checkpoint(seq: int) -> bool:
    return seq % CHECKPOINT_EVERY == 0


def kiosk_chain_key(registry_key: bytes, kiosk_id: str) -> bytes:
    """The key of the registry's checkpoints over one kiosk's chain."""
    return hmac.new(registry_key, _KIOSK_KEY_LABEL + kiosk_id.encode(), hashlib.sha256).digest()


def continuation_problem(head_seq: int, head_hash: str, entries: list[AuditEntry],
                         known: dict[int, str] | None = None,
                         purged_through: int = 0) -> str | None:
    """Why ``entries`` (in seq order) do not continue a chain that ends at
    ``head_seq``/``head_hash`` (None: they do).

    Entries the holder already has (seq <= head_seq) are repeats of a batch
    whose answer was lost: they pass if ``known`` holds the same hash for
    them, and anything else there is a rewritten history. Entries before
    ``purged_through`` (the holder's anchor, whose hash ``known`` holds)
    were purged by retention: nothing is left to compare them with, so they
    pass only if they are whole and link, entry by entry, up to one the
    holder knows (a reset kiosk's new entries 1, 2, ... do not).
    """
    known = known or {}
    prev_seq, prev = head_seq, head_hash
    unlinked: AuditEntry | None = None  # a repeat of a purged entry, not yet linked to a known one
    for entry in entries:
        if entry.seq <= head_seq:
            if unlinked is not None and (entry.seq != unlinked.seq + 1
                                         or entry.prev_hash != unlinked.hash):
                return f"entry {entry.seq} does not follow entry {unlinked.seq}"
            if entry.seq < purged_through and entry.seq not in known:
                if hash_of(entry) != entry.hash:
                    return f"entry {entry.seq} was changed after it was written"
                unlinked = entry
                continue
            if known.get(entry.seq) != entry.hash or hash_of(entry) != entry.hash:
                return (f"entry {entry.seq} differs from the entry {entry.seq} already received:"
                        " the kiosk's log was rewritten or reset")
            unlinked = None
            continue
        if entry.seq != prev_seq + 1:
            return f"entry {prev_seq + 1} is missing (next sent is {entry.seq})"
        if entry.prev_hash != prev:
            return f"entry {entry.seq} does not follow entry {prev_seq}"
        if hash_of(entry) != entry.hash:
            return f"entry {entry.seq} was changed after it was written"
        prev_seq, prev = entry.seq, entry.hash
    if unlinked is not None:
        return (f"entries up to {unlinked.seq} do not lead to entry {purged_through}, where the"
                " chain held continues: the kiosk's log was rewritten or reset")
    return None
