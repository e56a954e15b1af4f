"""The kiosk's guards, as the core calls them: staff card locks and the tick.

- `StaffCardGuard` limits wrong staff PINs per card: after
  `kiosk.staff_card_max_pin_attempts` in a row the card is locked (the staff
  session then sees it as an unknown card: no PIN is checked, and the
  per-kiosk throttle still counts each try) and STAFF_CARD_LOCKED goes to
  the registry. The office unlocks it with UnlockStaffCard (the staff
  record's unlock generation goes up) or by giving the holder a new PIN
  (deactivate the member, register the card again under a new staff id):
  the staff sync brings the record and it unlocks.
- `GuardTick` runs on the core's tick: it journals and reports clock steps
  (EVENT_TYPE_CLOCK_STEP), stores the trusted time once a minute and prunes
  the store once an hour (kiosk.store.retention).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.clock import TrustedClock
from kiosk.domain.effects import Effect, ReportEvent
from kiosk.domain.events import EventType
from kiosk.domain.staff import StaffRecord
from kiosk.store import StorageFault
from kiosk.store.guard_tables import GuardTables
from kiosk.store.retention import Retention, prune, prune_due

log = logging.getLogger(__name__)

SAVE_TRUSTED_EVERY = timedelta(minutes=1)


class StaffCardGuard:
    def __init__(self, tables: GuardTables, max_attempts: int = 5):
        self.tables = tables
        self.max_attempts = max_attempts
        self._card: bytes | None = None
        self._record: StaffRecord | None = None
        self._locked = False

    def find(
        self, card_lookup: bytes, find: Callable[[bytes], StaffRecord | None]
    ) -> StaffRecord | None:
        """The staff record for a card, or None while the card is locked."""
        self._card, self._locked = card_lookup, self.tables.card_locked(card_lookup)
        self._record = None if self._locked else find(card_lookup)
        return self._record

    def after_pin(self, effects: list[Effect], now: datetime) -> list[Effect]:
        """Counts the PIN just checked against the card `find` looked up; extra effects to apply."""
        card, record, locked = self._card, self._record, self._locked
        self._card, self._record = None, None
        if card is None:
            return []  # no PIN was checked (wrong state, or the kiosk throttle refused it)
        try:
            if any(isinstance(e, ReportEvent) and e.type is EventType.STAFF_LOGIN for e in effects):
                self.tables.card_succeeded(card)
                return []
            if locked:
                self.tables.locked_card_tried(card, now)
                return []
            if not self.tables.card_failed(
                card, record.pin_verifier if record else "", now, self.max_attempts,
                record.staff_id if record else "",
                record.unlock_generation if record else 0,
            ):
                return []
        except StorageFault as exc:  # the kiosk throttle still counts wrong PINs
            log.error("could not update the staff card's count of wrong PINs: %s", exc)
            return []
        who = (record.staff_id,) if record else ()
        log.warning(
            "staff card %s locked after %d wrong PINs",
            record.staff_id if record else "(unknown card)",
            self.max_attempts,
        )
        return [
            ReportEvent(
                EventType.STAFF_CARD_LOCKED,
                f"staff card locked after {self.max_attempts} wrong PINs in a row"
                + ("" if record else " (a card no staff member has)")
                + "; the office unlocks it (staff page) or issues a new PIN",
                staff_ids=who,
            )
        ]


class GuardTick:
    def __init__(
        self,
        tables: GuardTables,
        trusted_clock: TrustedClock | None = None,
        retention: Retention = Retention(),
    ):
        self.tables = tables
        self.trusted_clock = trusted_clock
        self.retention = retention
        self._saved_at: datetime | None = None
        self._pruned_at: datetime | None = None

    def __call__(self, now: datetime) -> list[Effect]:
        effects: list[Effect] = []
        if self.trusted_clock is not None:
            for detail in self.trusted_clock.take_reports():
                log.warning("clock: %s", detail)
                effects.append(ReportEvent(EventType.CLOCK_STEP, detail))
            if self._saved_at is None or abs(now - self._saved_at) >= SAVE_TRUSTED_EVERY:
                self._saved_at = now
                self._write("store the trusted time", self.tables.save_trusted_time, now)
        if prune_due(self._pruned_at, now):
            self._pruned_at = now
            pruned = self._write("prune the store", prune, self.tables.store, self.retention, now)
            if pruned is not None and pruned.total:
                log.info("store pruned: %s", pruned)
        return effects

    @staticmethod
    def _write(what: str, fn: Callable, *args):
        """A failed write waits for the next minute or hour (the core's health shows the disk)."""
        try:
            return fn(*args)
        except StorageFault as exc:
            log.error("could not %s: %s", what, exc)
            return None
