"""Bounded growth: what the kiosk store forgets, and when.

A kiosk runs for years; its journal gains about nine rows per pickup and
every remote command leaves a row. The registry keeps the audit trail (every
event reaches it through the outbox, which deletes a row only once the
registry acknowledged it), so the kiosk keeps locally only what it needs to
explain recent days:

- journal rows older than `kiosk.journal_retention_days`;
- the ids of handled remote commands older than
  `kiosk.command_retention_days` (a command expires within minutes, so a
  repeat after that is refused as expired anyway), in the guard table and
  the meta rows ("command/<id>") older versions wrote;
- counts of wrong staff PINs that did not lock a card, after a day (the
  limit is "in a row", not "ever"), and locks of cards no staff member has;
- audit log entries older than `kiosk.journal_retention_days` that the
  registry already holds, behind a signed anchor (kiosk/store/audit_log.py).

Unacknowledged outbox rows, orders and compartments are never pruned here.
`prune_due` is the pure rule for when to run; `prune` does one run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.store import audit_log
from kiosk.store.database import KioskStore

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)
PIN_COUNT_RESET = timedelta(days=1)


@dataclass(frozen=True)
class Retention:
    journal: timedelta = timedelta(days=90)
    commands: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Pruned:
    journal: int = 0
    commands: int = 0
    card_counts: int = 0
    audit: int = 0

    @property
    def total(self) -> int:
        return self.journal + self.commands + self.card_counts + self.audit


def prune_due(last_run: datetime | None, now: datetime) -> bool:
    """Once an hour, and at once after start (`last_run` None). A clock that
    went back makes it wait for the next hour rather than run on every tick."""
    return last_run is None or now - last_run >= PRUNE_EVERY


def prune(store: KioskStore, retention: Retention, now: datetime) -> Pruned:
    """Deletes what is older than the retention; needs the guard tables (GuardTables) to exist."""
    journal_cutoff = (now - retention.journal).isoformat()
    command_cutoff = (now - retention.commands).isoformat()
    with store.transaction() as tx:
        journal = tx.execute("DELETE FROM journal WHERE at < ?", (journal_cutoff,)).rowcount
        commands = tx.execute(
            "DELETE FROM handled_command WHERE handled_at < ?", (command_cutoff,)
        ).rowcount
        commands += tx.execute(
            "DELETE FROM meta WHERE key LIKE 'command/%' AND value < ?", (command_cutoff,)
        ).rowcount
        cards = tx.execute(
            "DELETE FROM staff_card_guard WHERE locked_at IS NULL AND last_failure_at < ?",
            ((now - PIN_COUNT_RESET).isoformat(),),
        ).rowcount
        cards += tx.execute(
            "DELETE FROM staff_card_guard WHERE locked_at IS NOT NULL AND locked_at < ?"
            " AND card_lookup NOT IN (SELECT card_lookup FROM staff)",
            (journal_cutoff,),
        ).rowcount
        try:
            audit = audit_log.prune(tx, store.audit_key, now - retention.journal)
        except ValueError as error:  # a broken chain stays as it is, for whoever looks
            log.error("kiosk audit log not pruned: %s", error)
            audit = 0
        result = Pruned(journal, commands, cards, audit)
        if result.total:
            store.journal(tx, now, "pruned", journal=journal, commands=commands, card_counts=cards,
                          audit=audit)
    return result
