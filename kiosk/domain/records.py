"""The kiosk's records rules: how an effect changes compartments and orders.

Pure functions, no SQLite: each takes the records it needs and returns a
`Change` (the compartments and orders to save, the events for the registry,
the journal rows, the unlock intents it finishes). The core persists a
`Change` in one transaction; the property tests (tests/domain) apply the very
same functions to an in-memory model, so the two can never drift apart.

Broken integrity (an effect naming an unknown order, reserving a compartment
that is not free, handing out an order twice) raises `RecordIntegrityError`
or `OrderTransitionError`, real exceptions that roll the transaction back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.effects import (
    Effect,
    InspectionOutcome,
    RecordDeposit,
    RecordFailedPin,
    RecordHandover,
    RecordRemoval,
    ReleaseReservation,
    ReportEvent,
    ReportProblem,
    ReserveCompartment,
    ResolveInspection,
    SetInService,
    SetOutOfService,
    UnlockPurpose,
)
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.pickup_order import OrderStatus, OrderTransitionError, PickupOrder, Uncertainty

CompartmentLookup = Callable[[int], Compartment | None]
OrderLookup = Callable[[str], PickupOrder | None]


class RecordIntegrityError(Exception):
    """An effect the records cannot take without losing track of a document."""


@dataclass(frozen=True)
class FinishIntents:
    """The unlocks of this compartment (of these purposes; all if empty) are settled."""

    compartment: int
    purposes: tuple[UnlockPurpose, ...] = ()


@dataclass(frozen=True)
class Change:
    compartments: tuple[Compartment, ...] = ()
    orders: tuple[PickupOrder, ...] = ()
    events: tuple[KioskEvent, ...] = ()
    journal: tuple[tuple[str, dict], ...] = ()
    finished: tuple[FinishIntents, ...] = ()
    # Set when the change carried nothing to store (the core then skips the wake-up).
    empty: bool = field(default=False, compare=False)

    def __add__(self, other: Change) -> Change:
        return Change(
            self.compartments + other.compartments,
            self.orders + other.orders,
            self.events + other.events,
            self.journal + other.journal,
            self.finished + other.finished,
            self.empty and other.empty,
        )


NOTHING = Change(empty=True)

# A record effect settles every unlock of its compartment: the door's outcome
# is now in the records.
_SETTLING = (RecordHandover, RecordDeposit, RecordRemoval, ReleaseReservation, SetOutOfService)


def apply_effect(
    effect: Effect, compartment_of: CompartmentLookup, order_of: OrderLookup, now: datetime
) -> Change:
    """The change one effect (other than an unlock) makes to the records."""
    change = _apply(effect, compartment_of, order_of, now)
    if isinstance(effect, _SETTLING) and not change.empty:
        change = replace(change, finished=change.finished + (FinishIntents(effect.compartment),))
    return change


def _apply(
    effect: Effect, compartment_of: CompartmentLookup, order_of: OrderLookup, now: datetime
) -> Change:
    if isinstance(effect, RecordFailedPin):
        order = order_of(effect.order_reference)
        if order is None:
            return NOTHING
        events = ()
        if effect.locked:
            events = (
                KioskEvent(
                    EventType.ORDER_LOCKED,
                    now,
                    order.reference,
                    detail=f"{effect.attempts} wrong PINs",
                ),
            )
        return Change(
            orders=(replace(order, failed_pin_attempts=effect.attempts, locked=effect.locked),),
            events=events,
            journal=(("wrong_pin", {"order": order.reference, "attempts": effect.attempts}),),
        )
    if isinstance(effect, RecordHandover):
        order = _order(order_of, effect.order_reference)
        if order.status is OrderStatus.COLLECTED:
            raise OrderTransitionError(f"order {order.reference} was already handed out")
        if order.uncertain is not Uncertainty.NONE:
            raise RecordIntegrityError(
                f"order {order.reference} awaits an inspection; it cannot be handed out"
            )
        journal: tuple = ()
        if order.status is not OrderStatus.DEPOSITED:
            # The office cancelled it while the door was opening. The
            # document left the box all the same: record the fact.
            journal = (("late_handover", {"order": order.reference, "status": order.status.value}),)
        compartment = _compartment(compartment_of, effect.compartment)
        return Change(
            compartments=(compartment.with_state(CompartmentState.OPEN, None),),
            orders=(replace(order, status=OrderStatus.COLLECTED),),
            events=(
                KioskEvent(
                    EventType.ORDER_COLLECTED,
                    now,
                    order.reference,
                    effect.compartment,
                    pin_letter_confirmed=effect.pin_letter_confirmed,
                ),
            ),
            journal=journal,
        )
    if isinstance(effect, ReserveCompartment):
        compartment = _compartment(compartment_of, effect.compartment)
        if compartment.state is not CompartmentState.FREE:
            raise RecordIntegrityError(
                f"compartment {compartment.number} is {compartment.state.value}, not free:"
                " cannot reserve it"
            )
        return Change(
            compartments=(
                compartment.with_state(CompartmentState.RESERVED, effect.order_reference),
            ),
            journal=(
                ("reserved", {"compartment": effect.compartment, "order": effect.order_reference}),
            ),
        )
    if isinstance(effect, ReleaseReservation):
        compartment = compartment_of(effect.compartment)
        if compartment is None or compartment.order_reference is None:
            return NOTHING
        saved: tuple = ()
        if compartment.state is CompartmentState.RESERVED:
            saved = (compartment.with_state(CompartmentState.FREE, None),)
        elif compartment.state is CompartmentState.OUT_OF_SERVICE:
            # Taken out of service during the deposit (forced door):
            # it stays out, but the document was never put in.
            saved = (compartment.with_state(CompartmentState.OUT_OF_SERVICE, None),)
        return Change(
            compartments=saved,
            journal=(("reservation_released", {"compartment": effect.compartment}),),
        )
    if isinstance(effect, RecordDeposit):
        order = _order(order_of, effect.order_reference)
        compartment = _compartment(compartment_of, effect.compartment)
        return Change(
            compartments=(compartment.with_state(CompartmentState.OCCUPIED, order.reference),),
            orders=(
                order.transition(
                    OrderStatus.DEPOSITED,
                    compartment_number=effect.compartment,
                    pickup_deadline=effect.pickup_deadline,
                ),
            ),
            events=(
                KioskEvent(
                    EventType.ORDER_DEPOSITED,
                    now,
                    order.reference,
                    effect.compartment,
                    staff_ids=effect.staff_ids,
                    pickup_deadline=effect.pickup_deadline,
                ),
            ),
        )
    if isinstance(effect, RecordRemoval):
        order = _order(order_of, effect.order_reference)
        if order.status is OrderStatus.DEPOSITED:
            order = order.transition(OrderStatus.EXPIRED)
        compartment = _compartment(compartment_of, effect.compartment)
        return Change(
            compartments=(compartment.with_state(CompartmentState.FREE, None),),
            orders=(order.transition(OrderStatus.REMOVED, compartment_number=None),),
            events=(
                KioskEvent(
                    EventType.ORDER_REMOVED,
                    now,
                    order.reference,
                    effect.compartment,
                    staff_ids=effect.staff_ids,
                ),
            ),
        )
    if isinstance(effect, SetOutOfService):
        compartment = compartment_of(effect.compartment)
        if compartment is None:
            return NOTHING
        # A compartment awaiting inspection stays so: only the inspection
        # says what is inside. The report still goes out.
        saved = (
            ()
            if compartment.state is CompartmentState.NEEDS_INSPECTION
            else (compartment.with_state(CompartmentState.OUT_OF_SERVICE),)
        )
        return Change(
            compartments=saved,
            events=(
                KioskEvent(
                    EventType.COMPARTMENT_OUT_OF_SERVICE,
                    now,
                    compartment.order_reference or "",
                    effect.compartment,
                    staff_ids=effect.staff_ids,
                    detail=effect.reason,
                ),
            ),
        )
    if isinstance(effect, SetInService):
        compartment = compartment_of(effect.compartment)
        if compartment is None or compartment.state is not CompartmentState.OUT_OF_SERVICE:
            return NOTHING
        back = CompartmentState.OCCUPIED if compartment.order_reference else CompartmentState.FREE
        return Change(
            compartments=(compartment.with_state(back),),
            events=(
                KioskEvent(
                    EventType.COMPARTMENT_IN_SERVICE,
                    now,
                    "",
                    effect.compartment,
                    staff_ids=effect.staff_ids,
                ),
            ),
        )
    if isinstance(effect, ResolveInspection):
        return resolve_inspection(effect, compartment_of, order_of, now)
    if isinstance(effect, ReportEvent):
        return Change(
            events=(
                KioskEvent(
                    effect.type,
                    now,
                    effect.order_reference,
                    effect.compartment,
                    staff_ids=effect.staff_ids,
                    detail=effect.detail,
                ),
            )
        )
    if isinstance(effect, ReportProblem):
        # Imported here: problem_report builds on this module's Change.
        from kiosk.domain.problem_report import report_problem

        return report_problem(effect.problem, compartment_of(effect.compartment),
                              order_of(effect.order_reference), effect.held, now)
    raise TypeError(f"unhandled effect {effect!r}")


def free_open_compartment(compartment: Compartment) -> Change:
    """A door closed: a compartment emptied by a handover is free again."""
    if compartment.state is not CompartmentState.OPEN:
        return NOTHING
    return Change(
        compartments=(compartment.with_state(CompartmentState.FREE, None),),
        journal=(("compartment_free", {"compartment": compartment.number}),),
    )


def expire_order(order: PickupOrder, now: datetime) -> Change:
    """A deposited order whose pickup deadline passed."""
    if not order.is_expired(now):
        return NOTHING
    return Change(
        orders=(order.transition(OrderStatus.EXPIRED),),
        events=(
            KioskEvent(
                EventType.ORDER_EXPIRED, now, order.reference, order.compartment_number or 0
            ),
        ),
    )


# ----------------------------------------------------------------- inspection


def resolve_inspection(
    effect: ResolveInspection,
    compartment_of: CompartmentLookup,
    order_of: OrderLookup,
    now: datetime,
) -> Change:
    """What staff found decides the order's fate; the answer is reported with their ids.

    | unsure of   | document inside       | compartment empty | something else          |
    | the deposit | deposited             | back to announced | out of service, announced |
    | handover    | waits for the citizen | collected         | removed, out of service |
    | removal, service | removed (staff take it) | removed  | removed, out of service |
    """
    compartment = _compartment(compartment_of, effect.compartment)
    if compartment.state is not CompartmentState.NEEDS_INSPECTION:
        raise RecordIntegrityError(f"compartment {compartment.number} does not need an inspection")
    reference = compartment.order_reference or ""
    order = order_of(reference) if reference else None
    outcome, staff = effect.outcome, effect.staff_ids
    doubt = order.uncertain if order is not None else Uncertainty.NONE
    resolved = KioskEvent(
        EventType.INSPECTION_RESOLVED,
        now,
        reference,
        compartment.number,
        staff_ids=staff,
        detail=f"{doubt.value or 'contents'} uncertain: {outcome.value}",
    )
    journal = (
        (
            "inspection_resolved",
            {
                "compartment": compartment.number,
                "order": reference,
                "outcome": outcome.value,
                "staff": list(staff),
            },
        ),
    )
    free = compartment.with_state(CompartmentState.FREE, None)
    out = compartment.with_state(CompartmentState.OUT_OF_SERVICE, None)
    out_event = KioskEvent(
        EventType.COMPARTMENT_OUT_OF_SERVICE,
        now,
        "",
        compartment.number,
        staff_ids=staff,
        detail="inspection: something else inside",
    )
    base = Change(
        events=(resolved,),
        journal=journal,
        finished=(FinishIntents(compartment.number, (UnlockPurpose.INSPECTION,)),),
    )
    if order is None:
        # Nothing the records name was in it (or the office dropped the order).
        return base + Change(
            compartments=(out if outcome is InspectionOutcome.OTHER else free,),
            events=(out_event,) if outcome is InspectionOutcome.OTHER else (),
        )
    cleared = replace(order, uncertain=Uncertainty.NONE)
    if doubt is Uncertainty.DEPOSIT or order.status is OrderStatus.ANNOUNCED:
        if outcome is InspectionOutcome.INSIDE:
            if effect.pickup_deadline is None:
                raise RecordIntegrityError("a completed deposit needs its pickup deadline")
            deposited = cleared.transition(
                OrderStatus.DEPOSITED,
                compartment_number=compartment.number,
                pickup_deadline=effect.pickup_deadline,
            )
            return base + Change(
                compartments=(compartment.with_state(CompartmentState.OCCUPIED, order.reference),),
                orders=(deposited,),
                events=(
                    KioskEvent(
                        EventType.ORDER_DEPOSITED,
                        now,
                        order.reference,
                        compartment.number,
                        staff_ids=staff,
                        pickup_deadline=effect.pickup_deadline,
                    ),
                ),
            )
        # Not deposited: the document is at the counter and can be deposited again.
        back = replace(cleared, compartment_number=None, pickup_deadline=None)
        if outcome is InspectionOutcome.EMPTY:
            return base + Change(compartments=(free,), orders=(back,))
        return base + Change(compartments=(out,), orders=(back,), events=(out_event,))
    if doubt is Uncertainty.HANDOVER and outcome is InspectionOutcome.INSIDE:
        # The citizen did not take it: it waits for them again.
        return base + Change(
            compartments=(compartment.with_state(CompartmentState.OCCUPIED),), orders=(cleared,)
        )
    if doubt is Uncertainty.HANDOVER and outcome is InspectionOutcome.EMPTY:
        collected = replace(cleared, status=OrderStatus.COLLECTED)
        return base + Change(
            compartments=(free,),
            orders=(collected,),
            events=(
                KioskEvent(
                    EventType.ORDER_COLLECTED,
                    now,
                    order.reference,
                    compartment.number,
                    staff_ids=staff,
                    detail="confirmed by inspection",
                    pin_letter_confirmed=order.requires_pin_letter_confirmation,
                ),
            ),
        )
    # Everything else goes back to the counter: staff take what is inside.
    removed = replace(cleared, status=OrderStatus.REMOVED, compartment_number=None)
    events = (
        KioskEvent(
            EventType.ORDER_REMOVED,
            now,
            order.reference,
            compartment.number,
            staff_ids=staff,
            detail=f"inspection: {outcome.value}",
        ),
    )
    if outcome is InspectionOutcome.OTHER:
        return base + Change(compartments=(out,), orders=(removed,), events=events + (out_event,))
    return base + Change(compartments=(free,), orders=(removed,), events=events)


# ------------------------------------------------------------------ helpers


def _compartment(compartment_of: CompartmentLookup, number: int) -> Compartment:
    compartment = compartment_of(number)
    if compartment is None:
        raise RecordIntegrityError(f"compartment {number} is not in this box")
    return compartment


def _order(order_of: OrderLookup, reference: str) -> PickupOrder:
    order = order_of(reference)
    if order is None:
        raise RecordIntegrityError(f"order {reference!r} is not known at this kiosk")
    return order
