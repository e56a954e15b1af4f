"""Merging the registry's order and staff changes into the kiosk store.

The registry is the authority on what orders exist and on their
credentials; the kiosk is the authority on physical facts (what is in which
compartment, what was handed over). So a registry record never overrides a
local status that the kiosk has not yet reported, and never resurrects a
document the kiosk no longer holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from kiosk.domain.pickup_order import OrderStatus, PickupOrder
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore

# Finished orders: once the registry confirms them, the kiosk keeps nothing.
FINISHED = (OrderStatus.COLLECTED, OrderStatus.REMOVED)
# Ended by the office: the code must stop working here.
ENDED_BY_OFFICE = (OrderStatus.CANCELLED, OrderStatus.RETURNED_TO_COUNTER)


def merge_orders(store: KioskStore, records: list[PickupOrder]) -> None:
    pending = store.orders_with_pending_events()
    with store.transaction() as tx:
        for remote in records:
            local = store.order(remote.reference)
            if local is None:
                if remote.status is OrderStatus.ANNOUNCED:
                    store.save_order(tx, remote)
                continue
            if remote.reference in pending or local.uncertain.value:
                # Our own report is still on its way, or staff must first
                # inspect its compartment: the kiosk decides.
                continue
            if remote.status is OrderStatus.RETURNED_TO_COUNTER and local.status in FINISHED:
                # The office hands it over at the counter; the box is done with it.
                store.delete_order(tx, local.reference)
            elif remote.status in ENDED_BY_OFFICE:
                if local.status is OrderStatus.ANNOUNCED:
                    store.delete_order(tx, local.reference)
                elif local.status in (OrderStatus.DEPOSITED, OrderStatus.EXPIRED):
                    # The document stays in its compartment until staff remove it.
                    # (The registry refuses a counter return of a document in the
                    # box; this only meets a deposit it has not heard of yet.)
                    store.save_order(tx, replace(local, status=OrderStatus.CANCELLED))
            elif remote.status in FINISHED and local.status in FINISHED:
                store.delete_order(tx, local.reference)
            elif local.status is OrderStatus.ANNOUNCED and remote.status is OrderStatus.ANNOUNCED:
                # Details may change before the deposit (size, accessibility).
                store.save_order(tx, replace(remote, failed_pin_attempts=local.failed_pin_attempts,
                                             locked=local.locked))
            elif (changed := office_changes(local, remote)) != local:
                store.save_order(tx, changed)


def office_changes(local: PickupOrder, remote: PickupOrder) -> PickupOrder:
    """What the office may still change about a document in the box: its code and
    PIN (a reissue) and, later only, its pickup deadline (an extension)."""
    merged = with_new_credentials(local, remote) if reissued(local, remote) else local
    if (local.status is OrderStatus.DEPOSITED and remote.status is OrderStatus.DEPOSITED
            and remote.pickup_deadline is not None
            and (local.pickup_deadline is None or remote.pickup_deadline > local.pickup_deadline)):
        merged = replace(merged, pickup_deadline=remote.pickup_deadline)
    return merged


def reissued(local: PickupOrder, remote: PickupOrder) -> bool:
    """The office gave a document in the box a new code and PIN (a lost letter)."""
    return (local.status in (OrderStatus.DEPOSITED, OrderStatus.EXPIRED)
            and remote.status is local.status
            and bool(remote.code_lookup) and bool(remote.pin_verifier)
            and (remote.code_lookup, remote.pin_verifier)
            != (local.code_lookup, local.pin_verifier))


def with_new_credentials(local: PickupOrder, remote: PickupOrder) -> PickupOrder:
    """Only the new hashes and a fresh count of wrong PINs (the office's reissue also
    unlocks); where the document is and since when stays the kiosk's own record."""
    return replace(local, code_lookup=remote.code_lookup, pin_verifier=remote.pin_verifier,
                   failed_pin_attempts=0, locked=False)


def staff_change(before: tuple[bytes, str] | None, record: StaffRecord) -> str | None:
    """The audit action of a synced staff record (None: nothing changed at this kiosk)."""
    if not record.active:
        return "staff.card_removed" if before is not None else None
    if before is None:
        return "staff.card_added"
    if before != (record.card_lookup, record.pin_verifier):
        return "staff.card_changed"
    return None


def merge_staff(store: KioskStore, records: list[StaffRecord], now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    with store.transaction() as tx:
        for record in records:
            row = tx.execute("SELECT card_lookup, pin_verifier FROM staff WHERE staff_id=?",
                             (record.staff_id,)).fetchone()
            action = staff_change((bytes(row[0]), row[1]) if row else None, record)
            store.save_staff(tx, record)
            if action:
                # Who may open the box changed: audited, without the card's hash.
                store.audit(tx, now, "registry", action, target=record.staff_id)
