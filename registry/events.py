"""Applying a kiosk's event reports to the registry's orders.

The kiosk is the authority over physical facts: when it says a document was
deposited, collected or removed, that happened, whatever the registry thought
the order's status was (for example, the office cancelled the order while the
kiosk was offline). Such a report is applied anyway and logged as a warning,
so staff can follow up; refusing it would leave the registry wrong about
where a document is and the kiosk's outbox retrying forever.

One exception: a deposit does not undo an office cancellation. The order
stays cancelled but records the compartment, so the kiosk learns at its
next sync that staff must take the document out again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.pickup_order import ALLOWED_TRANSITIONS, DEFAULT_PICKUP_DAYS, OrderStatus
from common.convert import from_timestamp
from registry.database import StoredOrder, Transaction
from pickupbox.registry.v1 import registry_pb2 as pb

log = logging.getLogger(__name__)

ORDER_EVENTS = frozenset(
    {
        pb.EVENT_TYPE_ORDER_DEPOSITED,
        pb.EVENT_TYPE_ORDER_COLLECTED,
        pb.EVENT_TYPE_ORDER_EXPIRED,
        pb.EVENT_TYPE_ORDER_REMOVED,
        pb.EVENT_TYPE_ORDER_LOCKED,
        pb.EVENT_TYPE_OLD_DOCUMENT_RETURNED,
        pb.EVENT_TYPE_PROBLEM_REPORTED,
    }
)


# Kiosk events that go into the audit log, with the action name they get there.
AUDITED_EVENTS = {
    pb.EVENT_TYPE_ORDER_DEPOSITED: "order.deposited",
    pb.EVENT_TYPE_ORDER_COLLECTED: "order.handed_over",
    pb.EVENT_TYPE_ORDER_REMOVED: "order.removed",
    pb.EVENT_TYPE_ORDER_LOCKED: "order.locked",
    pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED: "compartment.service_opened",
    pb.EVENT_TYPE_DOOR_FORCED: "alarm.door_forced",
    pb.EVENT_TYPE_DOOR_LEFT_OPEN: "alarm.door_left_open",
    pb.EVENT_TYPE_ATTEMPTS_THROTTLED: "alarm.attempts_throttled",
    pb.EVENT_TYPE_STAFF_LOGIN: "staff.login",
    pb.EVENT_TYPE_STAFF_LOGIN_FAILED: "staff.login_failed",
    pb.EVENT_TYPE_STAFF_CARD_LOCKED: "staff.card_locked",
    pb.EVENT_TYPE_COMMAND_REFUSED: "command.refused",
    pb.EVENT_TYPE_INSPECTION_RESOLVED: "compartment.inspection_resolved",
    pb.EVENT_TYPE_PROBLEM_REPORTED: "alarm.problem_reported",
}


def event_type_name(value: int) -> str:
    try:
        return pb.EventType.Name(value)
    except ValueError:  # sent by a newer kiosk; still worth keeping
        return f"EVENT_TYPE_{value}"


def record_event(tx: Transaction, kiosk_id: str, event: pb.KioskEvent, now: datetime) -> bool:
    """Stores the event and applies it, once. False if it was already stored.

    Runs inside the caller's transaction, so the event id and its effect are
    committed together: a crash in between can neither apply it twice nor
    acknowledge it without applying it.
    """
    if tx.event_exists(event.event_id):
        return False
    tx.insert_event(
        event_id=event.event_id,
        kiosk_id=kiosk_id,
        type=event_type_name(event.type),
        order_reference=event.order_reference,
        payload=event.SerializeToString(),
    )
    if event.type in ALARM_EVENTS:
        tx.mark_alarm_open(event.event_id)
    if event.type in AUDITED_EVENTS:
        tx.audit(
            f"kiosk:{kiosk_id}", AUDITED_EVENTS[event.type],
            office_id=tx.kiosk_office(kiosk_id) or "", target=event.order_reference,
            compartment=event.compartment_number, staff=list(event.staff_ids),
            pin_letter_confirmed=event.pin_letter_confirmed, detail=event.detail,
            event_id=event.event_id,
        )
    if event.type in ORDER_EVENTS:
        _apply_order_event(tx, kiosk_id, event, now)
    return True


def may_apply(order: StoredOrder, event_type: int, kiosk_id: str, kiosk_office: str | None) -> bool:
    """A kiosk changes only its own orders; a deposit may land in another
    kiosk of the same office (staff chose the nearer box)."""
    if order.kiosk_id == kiosk_id:
        return True
    return event_type == pb.EVENT_TYPE_ORDER_DEPOSITED and kiosk_office == order.office_id


def _apply_order_event(tx: Transaction, kiosk_id: str, event: pb.KioskEvent, now: datetime) -> None:
    kind = event_type_name(event.type)
    order = tx.get_order(event.order_reference) if event.order_reference else None
    if order is None:
        # Acknowledged anyway: the kiosk cannot do better, and staff can find
        # the stored event by its id.
        log.warning(
            "event %s (%s) from kiosk %s names unknown order %r: stored, not applied",
            event.event_id, kind, kiosk_id, event.order_reference,
        )
        return
    if not may_apply(order, event.type, kiosk_id, tx.kiosk_office(kiosk_id)):
        log.warning(
            "event %s (%s) from kiosk %s names order %s of kiosk %s: stored, not applied",
            event.event_id, kind, kiosk_id, order.reference, order.kiosk_id,
        )
        tx.audit(f"kiosk:{kiosk_id}", "event.refused", office_id=order.office_id,
                 target=order.reference, outcome="denied", event=kind,
                 reason="the order belongs to another kiosk")
        return
    occurred = from_timestamp(event.occur_time) or now

    if event.type == pb.EVENT_TYPE_ORDER_DEPOSITED:
        _deposited(tx, kiosk_id, order, event, occurred)
    elif event.type == pb.EVENT_TYPE_ORDER_COLLECTED:
        _warn_if_unexpected(order, OrderStatus.COLLECTED, event, kiosk_id)
        tx.update_order(
            order.reference, status=OrderStatus.COLLECTED, collect_time=occurred, pending_code=None
        )
    elif event.type == pb.EVENT_TYPE_ORDER_REMOVED:
        _warn_if_unexpected(order, OrderStatus.REMOVED, event, kiosk_id)
        tx.update_order(
            order.reference, status=OrderStatus.REMOVED, compartment_number=None, pending_code=None
        )
    elif event.type == pb.EVENT_TYPE_ORDER_EXPIRED:
        # Expiry is a judgement, not a physical fact: it must not overwrite
        # e.g. a collection or cancellation the registry already knows.
        if OrderStatus.EXPIRED in ALLOWED_TRANSITIONS[order.status]:
            tx.update_order(order.reference, status=OrderStatus.EXPIRED, pending_code=None)
        else:
            log.warning(
                "event %s from kiosk %s: order %s is %s and cannot expire; stored, not applied",
                event.event_id, kiosk_id, order.reference, order.status.value,
            )
    elif event.type == pb.EVENT_TYPE_OLD_DOCUMENT_RETURNED:
        tx.update_order(order.reference, old_document_return_time=occurred)
    elif event.type == pb.EVENT_TYPE_PROBLEM_REPORTED:
        # The citizen said at the door that something is wrong (compartment
        # empty, not their document, door stuck): the kiosk holds the handover
        # for an inspection, so it does not count as collected meanwhile. The
        # inspection's answer comes as ORDER_COLLECTED / ORDER_REMOVED.
        if order.status is OrderStatus.COLLECTED:
            tx.update_order(order.reference, status=OrderStatus.DEPOSITED, collect_time=None,
                            compartment_number=event.compartment_number or order.compartment_number)
    elif event.type == pb.EVENT_TYPE_ORDER_LOCKED:
        tx.update_order(order.reference, locked=True)
        log.warning(
            "order %s locked by kiosk %s after too many wrong PINs", order.reference, kiosk_id
        )


def _deposited(
    tx: Transaction, kiosk_id: str, order: StoredOrder, event: pb.KioskEvent, occurred: datetime
) -> None:
    where = dict(
        compartment_number=event.compartment_number or None,
        deposit_time=occurred,
        kiosk_id=kiosk_id,
    )
    if order.kiosk_id != kiosk_id:
        log.warning(
            "order %s was announced for kiosk %s but deposited in kiosk %s",
            order.reference, order.kiosk_id, kiosk_id,
        )
    if order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED_TO_COUNTER):
        log.warning(
            "order %s was deposited in kiosk %s compartment %s after the office %s:"
            " it is cancelled and the document must be removed",
            order.reference, kiosk_id, event.compartment_number,
            ("cancelled it" if order.status is OrderStatus.CANCELLED
             else "returned it to the counter"),
        )
        # Cancelled, so that the kiosk keeps refusing its code and staff are
        # asked to take the document out (a full sync sends deposited cancelled
        # orders, registry.database.OPEN_FOR_KIOSK).
        tx.update_order(order.reference, status=OrderStatus.CANCELLED, **where)
        return
    _warn_if_unexpected(order, OrderStatus.DEPOSITED, event, kiosk_id)
    deadline = from_timestamp(event.pickup_deadline) or occurred + timedelta(
        days=DEFAULT_PICKUP_DAYS
    )
    tx.update_order(
        order.reference, status=OrderStatus.DEPOSITED, pickup_deadline=deadline, **where
    )


def _warn_if_unexpected(
    order: StoredOrder, to: OrderStatus, event: pb.KioskEvent, kiosk_id: str
) -> None:
    if to not in ALLOWED_TRANSITIONS[order.status]:
        log.warning(
            "event %s from kiosk %s: order %s went from %s to %s, which the registry did not"
            " expect; applied because the kiosk reports what physically happened",
            event.event_id, kiosk_id, order.reference, order.status.value, to.value,
        )


# What an operator must look at: a door, a device, the store or a person's
# attempts went wrong, or a compartment is held for inspection.
ALARM_EVENTS = frozenset(
    {
        pb.EVENT_TYPE_DOOR_FORCED,
        pb.EVENT_TYPE_DOOR_FAILED,
        pb.EVENT_TYPE_DOOR_LEFT_OPEN,
        pb.EVENT_TYPE_ATTEMPTS_THROTTLED,
        pb.EVENT_TYPE_DEVICE_FAULT,
        pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION,
        pb.EVENT_TYPE_COMMAND_REFUSED,
        pb.EVENT_TYPE_CLOCK_STEP,
        pb.EVENT_TYPE_STORAGE_FAULT,
        pb.EVENT_TYPE_STAFF_CARD_LOCKED,
        pb.EVENT_TYPE_PROBLEM_REPORTED,
    }
)


def open_inspections(events: list[pb.KioskEvent]) -> dict[int, pb.KioskEvent]:
    """Compartments still held for inspection, by number, with the event that
    asked for it: a NEEDS_INSPECTION not followed (in the order given: the
    order the registry received them) by an INSPECTION_RESOLVED for that
    compartment. A later NEEDS_INSPECTION replaces an earlier open one."""
    waiting: dict[int, pb.KioskEvent] = {}
    for event in events:
        if event.type == pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION:
            waiting[event.compartment_number] = event
        elif event.type == pb.EVENT_TYPE_INSPECTION_RESOLVED:
            waiting.pop(event.compartment_number, None)
    return waiting


@dataclass(frozen=True)
class CardLock:
    """A staff card some kiosks locked after wrong PINs, and the office has not
    unlocked since: where, and when it last happened."""

    staff_id: str
    kiosk_ids: tuple[str, ...]
    since: datetime


def open_card_locks(events: list[tuple[str, pb.KioskEvent]],
                    unlocked: dict[str, datetime | None]) -> list[CardLock]:
    """The cards still locked, by staff id: a STAFF_CARD_LOCKED (``events``:
    (kiosk id, event) pairs) that occurred after the member's last unlock
    (``unlocked``: staff id -> card_unlock_time, only the active members; a
    lock of anyone else, or of a card nobody has, is left out). A kiosk lifts
    every lock it set before the unlock reached it, so an earlier lock is over."""
    locks: dict[str, dict[str, datetime]] = {}
    for kiosk_id, event in events:
        if event.type != pb.EVENT_TYPE_STAFF_CARD_LOCKED or not event.staff_ids:
            continue
        staff_id = event.staff_ids[0]
        if staff_id not in unlocked:
            continue
        occurred = from_timestamp(event.occur_time)
        last_unlock = unlocked[staff_id]
        if occurred is None or (last_unlock is not None and occurred <= last_unlock):
            continue
        where = locks.setdefault(staff_id, {})
        where[kiosk_id] = max(occurred, where.get(kiosk_id, occurred))
    return [CardLock(staff_id, tuple(sorted(where)), max(where.values()))
            for staff_id, where in sorted(locks.items())]
