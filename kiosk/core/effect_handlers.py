"""Effect handlers: each effect a session asks for becomes one store transaction.

The journal and the outbox are written in the same transaction as the
compartment and order they describe, so a crash never separates a change
from its report.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from kiosk.domain.compartment import CompartmentState
from kiosk.domain.effects import (
    Effect,
    RecordDeposit,
    RecordFailedPin,
    RecordHandover,
    RecordRemoval,
    ReleaseReservation,
    ReportEvent,
    ReserveCompartment,
    SetInService,
    SetOutOfService,
)
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.pickup_order import OrderStatus, OrderTransitionError
from kiosk.store import KioskStore

log = logging.getLogger("kiosk.core")


def record_effect(store: KioskStore, effect: Effect, now: datetime) -> bool:
    """Carries out one effect that needs no hardware; False if it changed nothing."""
    with store.transaction() as tx:
        if isinstance(effect, RecordFailedPin):
            order = store.order(effect.order_reference)
            if order is None:
                return False
            store.save_order(tx, replace(order, failed_pin_attempts=effect.attempts, locked=effect.locked))
            store.journal(tx, now, "wrong_pin", order=order.reference, attempts=effect.attempts)
            if effect.locked:
                store.enqueue(tx, KioskEvent(EventType.ORDER_LOCKED, now, order.reference,
                                             detail=f"{effect.attempts} wrong PINs"))
        elif isinstance(effect, RecordHandover):
            order = store.order(effect.order_reference)
            assert order is not None
            if order.status is OrderStatus.COLLECTED:
                raise OrderTransitionError(f"order {order.reference} was already handed out")
            if order.status is not OrderStatus.DEPOSITED:
                # The office cancelled it while the door was opening. The
                # document left the box all the same: record the fact.
                log.warning("order %s handed out while %s", order.reference, order.status.value)
                store.journal(tx, now, "late_handover", order=order.reference, status=order.status.value)
            store.save_order(tx, replace(order, status=OrderStatus.COLLECTED))
            compartment = store.compartment(effect.compartment)
            assert compartment is not None
            store.save_compartment(tx, compartment.with_state(CompartmentState.OPEN, None))
            store.enqueue(tx, KioskEvent(EventType.ORDER_COLLECTED, now, order.reference, effect.compartment,
                                         pin_letter_confirmed=effect.pin_letter_confirmed))
        elif isinstance(effect, ReserveCompartment):
            compartment = store.compartment(effect.compartment)
            assert compartment is not None and compartment.state is CompartmentState.FREE
            store.save_compartment(tx, compartment.with_state(CompartmentState.RESERVED, effect.order_reference))
            store.journal(tx, now, "reserved", compartment=effect.compartment, order=effect.order_reference)
        elif isinstance(effect, ReleaseReservation):
            compartment = store.compartment(effect.compartment)
            if compartment is None or compartment.order_reference is None:
                return False
            if compartment.state is CompartmentState.RESERVED:
                store.save_compartment(tx, compartment.with_state(CompartmentState.FREE, None))
            elif compartment.state is CompartmentState.OUT_OF_SERVICE:
                # Taken out of service during the deposit (forced door):
                # it stays out, but the document was never put in.
                store.save_compartment(tx, compartment.with_state(CompartmentState.OUT_OF_SERVICE, None))
            store.journal(tx, now, "reservation_released", compartment=effect.compartment)
        elif isinstance(effect, RecordDeposit):
            order = store.order(effect.order_reference)
            assert order is not None
            store.save_order(tx, order.transition(OrderStatus.DEPOSITED, compartment_number=effect.compartment,
                                                  pickup_deadline=effect.pickup_deadline))
            compartment = store.compartment(effect.compartment)
            assert compartment is not None
            store.save_compartment(tx, compartment.with_state(CompartmentState.OCCUPIED, order.reference))
            store.enqueue(tx, KioskEvent(EventType.ORDER_DEPOSITED, now, order.reference, effect.compartment,
                                         staff_ids=effect.staff_ids, pickup_deadline=effect.pickup_deadline))
        elif isinstance(effect, RecordRemoval):
            order = store.order(effect.order_reference)
            assert order is not None
            if order.status is OrderStatus.DEPOSITED:
                order = order.transition(OrderStatus.EXPIRED)
            store.save_order(tx, order.transition(OrderStatus.REMOVED, compartment_number=None))
            compartment = store.compartment(effect.compartment)
            assert compartment is not None
            store.save_compartment(tx, compartment.with_state(CompartmentState.FREE, None))
            store.enqueue(tx, KioskEvent(EventType.ORDER_REMOVED, now, order.reference, effect.compartment,
                                         staff_ids=effect.staff_ids))
        elif isinstance(effect, SetOutOfService):
            compartment = store.compartment(effect.compartment)
            if compartment is None:
                return False
            store.save_compartment(tx, compartment.with_state(CompartmentState.OUT_OF_SERVICE))
            store.enqueue(tx, KioskEvent(EventType.COMPARTMENT_OUT_OF_SERVICE, now,
                                         compartment.order_reference or "", effect.compartment,
                                         staff_ids=effect.staff_ids, detail=effect.reason))
        elif isinstance(effect, SetInService):
            compartment = store.compartment(effect.compartment)
            if compartment is None or compartment.state is not CompartmentState.OUT_OF_SERVICE:
                return False
            back = CompartmentState.OCCUPIED if compartment.order_reference else CompartmentState.FREE
            store.save_compartment(tx, compartment.with_state(back))
            store.enqueue(tx, KioskEvent(EventType.COMPARTMENT_IN_SERVICE, now, "", effect.compartment,
                                         staff_ids=effect.staff_ids))
        elif isinstance(effect, ReportEvent):
            store.enqueue(tx, KioskEvent(effect.type, now, effect.order_reference, effect.compartment,
                                         staff_ids=effect.staff_ids, detail=effect.detail))
        else:  # pragma: no cover - a new effect type without a handler
            raise TypeError(f"unhandled effect {effect!r}")
    return True
