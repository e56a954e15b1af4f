"""The kiosk's guards that must survive a restart, in the kiosk store.

- the per-kiosk guessing throttles (citizen codes/PINs and staff logins) and
  whether their alarm was raised: a restart must not hand an attacker a
  fresh set of free attempts;
- wrong staff PINs per card, and which cards are locked (after
  `kiosk.staff_card_max_pin_attempts` in a row; the office unlocks a card by
  giving its holder a new PIN or with UnlockStaffCard, which raises the staff
  record's unlock generation; either reaches the kiosk with the staff sync);
- the remote commands already handled (so a resent one never runs twice);
- the last trusted time (kiosk.clock), so time never runs backwards across
  a restart.

The tables live beside the core's in the same SQLite file; the rules stay
in pure code (kiosk.domain.throttle, kiosk.clock). Card locks are keyed by
the card's lookup hash, never by its UID.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.domain.throttle import AttemptThrottle, restore_throttle, throttle_state
from kiosk.store.database import KioskStore, StorageFault

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS guard_throttle (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staff_card_guard (
    card_lookup BLOB PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL,
    -- set when the card locked: the PIN verifier it was locked with (a new
    -- PIN from the office, i.e. another verifier, unlocks it)
    locked_verifier TEXT,
    locked_at TEXT,
    -- the staff record's unlock generation when it locked (a higher one
    -- from the office unlocks it)
    locked_generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS handled_command (
    command_id TEXT PRIMARY KEY,
    handled_at TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS guard_value (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

LAST_TRUSTED_KEY = "last_trusted_time"


@dataclass
class PersistentThrottle(AttemptThrottle):
    """An AttemptThrottle that saves what it counted as soon as it counts it.

    Saved before the kiosk answers the attempt, so killing the kiosk right
    after a guess does not forget the guess.
    """

    save: Callable[[AttemptThrottle], None] = field(default=lambda throttle: None, repr=False)

    def record_failure(self, now: datetime) -> bool:
        alarm = super().record_failure(now)
        self.save(self)
        return alarm

    def record_refused(self, now: datetime) -> bool:
        alarm = super().record_refused(now)
        self.save(self)
        return alarm


def unlock_reason(locked_verifier: str, locked_generation: int, record) -> str | None:
    """Why the office's staff record ``record`` unlocks a card locked with this
    verifier under this unlock generation (None: it stays locked)."""
    if not record.active:
        return None
    if record.pin_verifier != locked_verifier:
        return "the office issued a new PIN"
    if record.unlock_generation > (locked_generation or 0):
        return "the office unlocked the card"
    return None


class GuardTables:
    def __init__(self, store: KioskStore):
        self.store = store
        with store.transaction() as tx:
            for statement in filter(str.strip, SCHEMA.split(";")):
                tx.execute(statement)
            columns = {row[1] for row in tx.execute("PRAGMA table_info(staff_card_guard)")}
            if "locked_generation" not in columns:  # a store from before UnlockStaffCard
                tx.execute("ALTER TABLE staff_card_guard"
                           " ADD COLUMN locked_generation INTEGER NOT NULL DEFAULT 0")

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.store._query(sql, params)

    # ----------------------------------------------------------- throttles

    def throttle(self, name: str, template: AttemptThrottle) -> PersistentThrottle:
        """A throttle with `template`'s policy and what was counted under `name` before."""
        throttle = PersistentThrottle(
            free_failures=template.free_failures,
            base_delay=template.base_delay,
            max_delay=template.max_delay,
            alarm_after=template.alarm_after,
            window=template.window,
        )
        rows = self._query("SELECT state FROM guard_throttle WHERE name=?", (name,))
        if rows:
            try:
                restore_throttle(throttle, json.loads(rows[0][0]))
            except (ValueError, TypeError, KeyError) as exc:  # never let a bad row stop the kiosk
                log.warning(
                    "stored %s throttle unreadable (%s); starting it from the alarm state",
                    name,
                    exc,
                )
                throttle._alarmed = True
        throttle.save = lambda t: self._save_throttle(name, t)
        return throttle

    def _save_throttle(self, name: str, throttle: AttemptThrottle) -> None:
        try:
            with self.store.transaction() as tx:
                tx.execute(
                    "INSERT INTO guard_throttle (name, state) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET state=excluded.state",
                    (name, json.dumps(throttle_state(throttle))),
                )
        except StorageFault as exc:
            # The count stays in memory; with writes failing no door opens anyway.
            log.error("could not store the %s throttle: %s", name, exc)

    # ---------------------------------------------------- staff card locks

    def card_locked(self, card_lookup: bytes) -> bool:
        rows = self._query(
            "SELECT locked_at FROM staff_card_guard WHERE card_lookup=?", (card_lookup,)
        )
        return bool(rows and rows[0][0])

    def card_failed(self, card_lookup: bytes, verifier: str, now: datetime, limit: int,
                    staff_id: str = "", generation: int = 0) -> bool:
        """Counts a wrong PIN for the card; True when this failure locks it.
        `staff_id` names the card's holder for the audit log ("" for a card nobody has)."""
        with self.store.transaction() as tx:
            rows = tx.execute(
                "SELECT failures, locked_at FROM staff_card_guard WHERE card_lookup=?",
                (card_lookup,),
            ).fetchall()
            failures = (rows[0][0] if rows else 0) + 1
            already = bool(rows and rows[0][1])
            locks = failures >= limit and not already
            tx.execute(
                "INSERT INTO staff_card_guard (card_lookup, failures, last_failure_at)"
                " VALUES (?, ?, ?)"
                " ON CONFLICT(card_lookup) DO UPDATE SET failures=excluded.failures,"
                " last_failure_at=excluded.last_failure_at",
                (card_lookup, failures, now.isoformat()),
            )
            if locks:
                tx.execute(
                    "UPDATE staff_card_guard SET locked_at=?, locked_verifier=?,"
                    " locked_generation=? WHERE card_lookup=?",
                    (now.isoformat(), verifier, generation, card_lookup),
                )
            self.store.journal(
                tx, now, "staff_card_wrong_pin", failures=failures, locked=locks or already
            )
            self.store.audit(
                tx, now, f"staff:{staff_id}" if staff_id else "unknown card", "staff.login_failed",
                target=staff_id, outcome="denied", failures=failures,
                locked=locks or already,
            )
        return locks

    def locked_card_tried(self, card_lookup: bytes, now: datetime) -> None:
        """A PIN typed for a locked card (not checked): a failed login, audited."""
        with self.store.transaction() as tx:
            rows = tx.execute("SELECT failures FROM staff_card_guard WHERE card_lookup=?",
                              (card_lookup,)).fetchall()
            self.store.audit(tx, now, "locked card", "staff.login_failed", outcome="denied",
                             failures=rows[0][0] if rows else 0, locked=True)

    def card_succeeded(self, card_lookup: bytes) -> None:
        """The right PIN: the count of wrong ones in a row starts again.

        (The per-kiosk throttle deliberately does not.)
        """
        with self.store.transaction() as tx:
            tx.execute(
                "DELETE FROM staff_card_guard WHERE card_lookup=? AND locked_at IS NULL",
                (card_lookup,),
            )

    def unlock_renewed_cards(self, records: list, now: datetime) -> list[bytes]:
        """Unlocks each locked card whose active staff record now has another PIN
        verifier or a higher unlock generation (see :func:`unlock_reason`).

        `records` are the StaffRecords of a sync page: the office gives the
        holder a new PIN (a new staff record for the card) or unlocks the card
        (UnlockStaffCard), and the sync brings the record.
        """
        unlocked = []
        with self.store.transaction() as tx:
            for record in records:
                rows = tx.execute(
                    "SELECT locked_verifier, locked_generation FROM staff_card_guard"
                    " WHERE card_lookup=? AND locked_at IS NOT NULL",
                    (record.card_lookup,),
                ).fetchall()
                why = unlock_reason(rows[0][0], rows[0][1], record) if rows else None
                if why is None:
                    continue
                tx.execute(
                    "DELETE FROM staff_card_guard WHERE card_lookup=?", (record.card_lookup,)
                )
                self.store.journal(tx, now, "staff_card_unlocked", staff=record.staff_id,
                                   by=f"registry: {why}")
                self.store.audit(tx, now, "registry", "staff.card_unlocked",
                                 target=record.staff_id, why=why)
                unlocked.append(record.card_lookup)
        return unlocked

    # ----------------------------------------------------- remote commands

    def command_handled(self, command_id: str) -> bool:
        if self._query("SELECT 1 FROM handled_command WHERE command_id=?", (command_id,)):
            return True
        # Handled by an older version, which kept them in the meta table.
        return self.store.meta("command/" + command_id) is not None

    def mark_command(self, command_id: str, now: datetime, outcome: str,
                     requested_by: str = "", detail: dict | None = None) -> None:
        """Marks a command as handled, and audits its arrival (who sent it, what for)."""
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO handled_command (command_id, handled_at, outcome)"
                " VALUES (?,?,?)",
                (command_id, now.isoformat(), outcome),
            )
            self.store.audit(tx, now, f"registry:{requested_by}" if requested_by else "registry",
                             "command.received", target=command_id, kind=outcome, **(detail or {}))

    # --------------------------------------------------------------- clock

    def last_trusted_time(self) -> datetime | None:
        rows = self._query("SELECT value FROM guard_value WHERE key=?", (LAST_TRUSTED_KEY,))
        try:
            return datetime.fromisoformat(rows[0][0]) if rows else None
        except ValueError:
            return None

    def save_trusted_time(self, now: datetime) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO guard_value (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (LAST_TRUSTED_KEY, now.isoformat()),
            )
