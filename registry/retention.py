"""How long the registry keeps personal data, and the purge that enforces it.

The rules (pure functions, tested directly):

- The citizen's contact is needed only to send notices. Once the order has
  ended (collected, removed from the box, cancelled, returned to the
  counter) it is deleted, after an optional grace period the office may
  configure (e.g. for a follow-up notice sent by another channel).
- The order record (reference, kind, times, compartment) is kept for
  ``record_days`` after the order ended (default 90: procedural notes belong
  in the office's register, not here); then it and the kiosk events that
  name it are deleted, leaving one anonymous count per day, office, kind and
  final status.
- Notice files of an ended order are removed with the contact.
- Audit entries are kept for ever unless ``audit_days`` is set (the office's
  records schedule): then the oldest entries are deleted and the chain is
  anchored at the last deleted one (a signed seq + hash,
  common/audit_chain.Anchor), so ``audit verify`` still proves that nothing
  after the anchor was changed, removed or cut off. A broken chain is never
  purged: that would erase the evidence.
- The copies of the kiosks' chains (ReportAuditEntries) name staff and
  orders too: the same run purges each with the same ``audit_days``, behind
  the same kind of anchor (one per kiosk, signed with that chain's key), so
  ``audit verify --kiosk`` still holds. The anchor also keeps the chain's
  head: the kiosk's next batch must still continue it. Each kiosk's purge
  is recorded in the registry's own log (``kiosk_audit.purged``); a broken
  kiosk chain is left whole and the others are purged.

``kiosk-registry purge`` runs :func:`purge` on demand; the server runs it
once at start and then daily.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from registry.database import RegistryDatabase, _moment, utcnow

log = logging.getLogger(__name__)

DEFAULT_RECORD_DAYS = 90
REPLAY_WINDOW = timedelta(days=1)
PURGE_INTERVAL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class RetentionPolicy:
    contact_grace: timedelta = timedelta(0)
    record_days: int = DEFAULT_RECORD_DAYS
    audit_days: int | None = None  # None: the audit log is kept whole


def contact_due(ended: datetime, policy: RetentionPolicy, now: datetime) -> bool:
    return now >= ended + policy.contact_grace


def record_due(ended: datetime, policy: RetentionPolicy, now: datetime) -> bool:
    return now >= ended + timedelta(days=policy.record_days)


@dataclass(frozen=True)
class PurgeReport:
    contacts_wiped: int
    orders_deleted: int
    notice_files_removed: int
    audit_entries_purged: int = 0
    kiosk_audit_entries_purged: int = 0  # of the kiosks' chains, all kiosks together


# Orders are looked up minutes beyond each cutoff and before the last purge:
# the stored text compares almost like the moment (and a purge in another
# process may just have missed an order that ended as it ran). The rules
# above decide each order looked at.
LOOKUP_MARGIN = timedelta(minutes=5)
# The contact cutoff of the last purge: orders that ended before it (less the
# margin) have had their contact wiped and their notices forgotten.
PURGED_UNTIL_KEY = "retention_contacts_purged_until"
# Without that mark (the first purge on a database, or one a registry before
# issue 10 kept, which purged everything at every start, after every order
# that ended and daily) a purge looks this far back beyond the contact grace:
# what the daily run may not have reached yet. Not at a million historic
# orders, which made the first start take minutes.
FIRST_LOOKBACK = timedelta(days=2)


def purge(db: RegistryDatabase, notifier, policy: RetentionPolicy,
          now: datetime | None = None) -> PurgeReport:
    """Deletes the records that are due and wipes the contacts (and notices) that are.

    It runs after every order that ends, so it looks only at what can be due
    since the last run (an index on ``end_time``, a batch at a time), not at
    every historic order: with a million of those it used to read them all
    into memory each time (see FIRST_LOOKBACK for the first run).
    """
    now = now or utcnow()
    wiped = deleted = files = 0
    forget = getattr(notifier, "forget", None)
    record_cutoff = now - timedelta(days=policy.record_days)
    contact_cutoff = now - policy.contact_grace
    with db.transaction() as tx:
        for reference, office_id, kind, status, end_text, _ in tx.ended_orders(
                ended_until=record_cutoff + LOOKUP_MARGIN):
            ended = _moment(end_text)
            if ended is None or not record_due(ended, policy, now):
                continue
            tx.delete_order(reference, office_id, kind, status, ended.date().isoformat())
            deleted += 1
            if forget is not None and forget(reference):
                files += 1
        purged_until = _moment(tx.meta_value(PURGED_UNTIL_KEY)) or contact_cutoff - FIRST_LOOKBACK
        for reference, _, _, _, end_text, contact in tx.ended_orders(
                ended_after=purged_until - LOOKUP_MARGIN,
                ended_until=contact_cutoff + LOOKUP_MARGIN):
            ended = _moment(end_text)
            if ended is None or record_due(ended, policy, now) or not contact_due(ended, policy, now):
                continue  # deleted above, or not yet
            if contact:
                tx.wipe_contact(reference)
                wiped += 1
            if forget is not None and forget(reference):
                files += 1
        if contact_cutoff > purged_until:
            tx.set_meta_value(PURGED_UNTIL_KEY, contact_cutoff.isoformat())
        tx.delete_replays_before(now - REPLAY_WINDOW)
        if wiped or deleted:
            tx.audit("registry", "retention.purged", contacts_wiped=wiped,
                     orders_deleted=deleted, notice_files_removed=files)
    audit_purged = kiosk_purged = 0
    if policy.audit_days is not None:
        kiosk_purged = purge_kiosk_chains(db, policy.audit_days, now)
        try:
            with db.transaction() as tx:
                audit_purged = tx.purge_audit_before(now - timedelta(days=policy.audit_days))
                if audit_purged:
                    anchor = tx.audit_anchor()
                    tx.audit("registry", "audit.purged", entries=audit_purged,
                             anchored_at=anchor.seq if anchor else 0,
                             audit_days=policy.audit_days)
        except ValueError as error:
            log.error("audit retention skipped: %s", error)
    db.checkpoint_wal()
    if wiped or deleted or files or audit_purged or kiosk_purged:
        log.info("retention: %d contacts wiped, %d orders deleted, %d notices removed,"
                 " %d audit entries purged, %d of kiosks' audit entries purged",
                 wiped, deleted, files, audit_purged, kiosk_purged)
    return PurgeReport(wiped, deleted, files, audit_purged, kiosk_purged)


def purge_kiosk_chains(db: RegistryDatabase, audit_days: int, now: datetime) -> int:
    """Purges every kiosk's chain held here, one transaction per kiosk (a
    broken one stays whole, for whoever looks, and the others go on)."""
    before = now - timedelta(days=audit_days)
    with db.transaction() as tx:
        kiosks = tx.kiosks_with_audit_entries()
    total = 0
    for kiosk_id in kiosks:
        try:
            with db.transaction() as tx:
                purged = tx.purge_kiosk_audit_before(kiosk_id, before)
                if purged:
                    anchor = tx.kiosk_audit_anchor(kiosk_id)
                    tx.audit("registry", "kiosk_audit.purged",
                             office_id=tx.kiosk_office(kiosk_id) or "", target=kiosk_id,
                             entries=purged, anchored_at=anchor.seq if anchor else 0,
                             audit_days=audit_days)
        except ValueError as error:
            log.error("audit retention skipped kiosk %s: %s", kiosk_id, error)
            continue
        total += purged
    return total


def kiosk_anchor_problem(anchor_seq: int, recorded: list[int]) -> str | None:
    """Why a kiosk chain's anchor (0: none) does not fit the purges the
    registry's own log records for it (``kiosk_audit.purged``'s anchored_at).
    Without this, deleting the anchor together with every entry after a full
    purge would leave an empty chain that verifies; the record of the purge
    is in the registry's chain, whose verify finds it removed."""
    if recorded and anchor_seq < max(recorded):
        where = f"after entry {anchor_seq}" if anchor_seq else "at entry 1"
        return (f"the registry's audit log records this kiosk's entries up to {max(recorded)}"
                f" purged, but the chain held starts {where}: its anchor was removed or"
                " replaced")
    return None


class Retention:
    """The purge bound to one registry: run after an order ends, and daily."""

    def __init__(self, db: RegistryDatabase, notifier, policy: RetentionPolicy) -> None:
        self._db = db
        self._notifier = notifier
        self.policy = policy

    def run(self) -> PurgeReport | None:
        try:
            return purge(self._db, self._notifier, self.policy)
        except Exception:  # the next run retries; serving calls matters more
            log.exception("retention purge failed")
            return None

    def run_daily(self, stopping) -> None:
        while not stopping.wait(PURGE_INTERVAL_SECONDS):
            self.run()
