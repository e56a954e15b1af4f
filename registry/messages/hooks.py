"""The registry's call sites: one function call each, after the change
committed, so a message never goes out for something that was rolled back.

A crash between the registry's commit and the enqueue is covered where the
caller retries: a kiosk re-reports an unacknowledged event, and
:func:`notify_event` runs for replayed events too (the queue drops the
duplicate by its key). An office cancellation has no such retry: if the
registry dies in the milliseconds between the two commits, that one
cancellation message is lost (the order page shows no message for it), and
so is a reissue's "code reissued" message (the clerk holds the new code from
the response and can hand it over or print the letter), and a reminder sent
again (the order page shows none; the clerk sends it once more).
"""

from __future__ import annotations

import logging

from common.convert import from_timestamp
from common.credentials import group_code, qr_payload
from kiosk.domain.pickup_order import OrderStatus
from registry.database import RegistryDatabase, StoredOrder, utcnow
from registry.messages import alarms, texts
from registry.messages.contacts import NONE, ContactError, parse_contact
from registry.notifier import OrderChange
from pickupbox.registry.v1 import registry_pb2 as pb

log = logging.getLogger(__name__)

EVENT_KINDS = {
    pb.EVENT_TYPE_ORDER_COLLECTED: texts.COLLECTED,
    # The document was taken out of the box (expired, or staff removed it):
    # it is at the counter now.
    pb.EVENT_TYPE_ORDER_REMOVED: texts.RETURNED,
}


def _send(notifier, change: OrderChange) -> None:
    handler = getattr(notifier, "order_changed", None)
    if handler is None:
        return
    try:
        handler(change)
    except Exception:
        # The registry's record stands; the clerk sees no message for it.
        log.warning("could not queue the %s message of order %s",
                    change.kind, change.reference, exc_info=True)


def notify_event(notifier, db: RegistryDatabase, kiosk_id: str, event: pb.KioskEvent) -> None:
    if event.type in alarms.RAISED_BY or event.type in alarms.CLEARED_BY:
        if hasattr(notifier, "staff_alarm"):
            with db.transaction() as tx:
                office_id = tx.kiosk_office(kiosk_id) or ""
            _alarm(notifier, kiosk_id, event, office_id)
        return
    kind = EVENT_KINDS.get(event.type)
    if kind is None or not event.order_reference or not hasattr(notifier, "order_changed"):
        return
    with db.transaction() as tx:
        order = tx.get_order(event.order_reference)
    if order is None:
        return
    if kind == texts.RETURNED and order.status is OrderStatus.CANCELLED:
        return  # the cancellation message already told the citizen
    _send(notifier, OrderChange(
        kind=kind,
        reference=order.reference,
        document_kind=order.kind.value,
        contact=order.contact,
        occurred=from_timestamp(event.occur_time) or utcnow(),
        kiosk_id=kiosk_id,
        compartment_number=event.compartment_number or order.compartment_number or 0,
        pin_letter_confirmed=event.pin_letter_confirmed,
        pickup_deadline=order.pickup_deadline,
        office_id=order.office_id,
    ))


def _alarm(notifier, kiosk_id: str, event: pb.KioskEvent, office_id: str) -> None:
    scope = alarms.scope(kiosk_id, event.compartment_number)
    occurred = from_timestamp(event.occur_time) or utcnow()
    try:
        if event.type in alarms.RAISED_BY:
            handler = getattr(notifier, "staff_alarm", None)
            if handler is not None:
                detail = alarms.LABELS[alarms.RAISED_BY[event.type]][0]
                handler(alarms.RAISED_BY[event.type], scope, detail, occurred, office_id,
                        event.event_id)
        else:
            handler = getattr(notifier, "all_clear", None)
            if handler is not None:
                handler(alarms.CLEARED_BY[event.type], scope, occurred, office_id)
    except Exception:
        log.warning("could not queue the alarm messages for event %s", event.event_id,
                    exc_info=True)


def notify_heartbeat(notifier, kiosk_id: str, now, office_id: str = "") -> None:
    handler = getattr(notifier, "kiosk_seen", None)
    if handler is None:
        return
    try:
        handler(kiosk_id, now, office_id)
    except Exception:
        log.warning("could not record the heartbeat of kiosk %s", kiosk_id, exc_info=True)


def notify_cancelled(notifier, order: StoredOrder) -> None:
    # Only a citizen who was told "ready" needs to hear "cancelled".
    if notifier is None or order.deposit_time is None:
        return
    _send(notifier, _office_change(texts.CANCELLED, order))


def notify_reissued(notifier, order: StoredOrder, code: str) -> None:
    """The citizen's new code, after ReissuePickupCode committed.

    Only a deposited order's citizen is told now: they were told the old code
    with the ready notice. An announced order's citizen has been told no code
    yet; the ready notice at the deposit carries the new one (pending_code).
    ``order.change_seq`` comes from the reissue's own update, so a second
    reissue is a new message and a retried request (answered from the replay
    store, never reaching this hook) is none. The PIN is not passed at all.
    """
    if notifier is None or order.status is not OrderStatus.DEPOSITED:
        return
    _send(notifier, _office_change(
        texts.CODE_REISSUED, order,
        pickup_code=group_code(code), qr_payload=qr_payload(code), sequence=order.change_seq,
    ))


def reminder_channel(order: StoredOrder) -> str:
    """How a reminder of this order would go out ("email", "sms"); "" when it
    has no usable contact (none given, wiped, or unusable)."""
    try:
        contact = parse_contact(order.contact)
    except ContactError:
        return ""
    return "" if contact.channel == NONE else contact.channel


def sends_messages(notifier) -> bool:
    """Does this registry's notifier send citizens' messages (the messages notifier,
    alone or among others)? The directory notifier only writes ready notices."""
    notifiers = getattr(notifier, "notifiers", None)
    if isinstance(notifiers, list):  # a FanOutNotifier
        return any(sends_messages(n) for n in notifiers)
    # ``is True``: a FanOutNotifier answers every name with a callable.
    return getattr(notifier, "sends_citizen_messages", False) is True


def notify_reminder(notifier, order: StoredOrder, sequence: int) -> None:
    """The reminder once more, after ResendPickupReminder committed. ``sequence``
    (the audit entry of the resend) makes it a message of its own: the scheduled
    reminder has sequence 0, and each resend another number."""
    if notifier is None:
        return
    _send(notifier, _office_change(texts.REMINDER, order, sequence=sequence))


def notify_returned_to_counter(notifier, order: StoredOrder) -> None:
    """The order ended at the counter: reminders still scheduled for it are dropped.
    No message: a document taken out of the box was announced to the citizen
    with the removal ("returned"), and one never deposited was never announced."""
    handler = getattr(notifier, "order_ended", None) if notifier is not None else None
    if handler is None:
        return
    try:
        handler(order.reference)
    except Exception:
        log.warning("could not cancel the reminders of order %s", order.reference, exc_info=True)


def _office_change(kind: str, order: StoredOrder, **extra) -> OrderChange:
    """A change an office call made to the order, now."""
    return OrderChange(
        kind=kind,
        reference=order.reference,
        document_kind=order.kind.value,
        contact=order.contact,
        occurred=utcnow(),
        kiosk_id=order.kiosk_id,
        compartment_number=order.compartment_number or 0,
        pickup_deadline=order.pickup_deadline,
        office_id=order.office_id,
        **extra,
    )
