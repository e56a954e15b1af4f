"""Start-up reconciliation: what the records can still say after a crash.

Each unlock intent left in the store (see `kiosk.domain.intents`) is checked
against the compartment and order records and what the door sensor says now.
Where the kiosk cannot know what happened while it was down (a door that
was opened, a handover cut between the pulse and the door-open signal, a
bank without sensors), the compartment goes to NEEDS_INSPECTION and its
order is flagged with what is uncertain; staff resolve it on the kiosk
(`kiosk.domain.records.resolve_inspection`). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum

from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.effects import UnlockPurpose
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.pickup_order import OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.records import NOTHING, Change, FinishIntents


class DoorReading(str, Enum):
    """The door sensor right now (the same values as hardware.interfaces.DoorState)."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


_DOUBT = {
    UnlockPurpose.DEPOSIT: Uncertainty.DEPOSIT,
    UnlockPurpose.HANDOVER: Uncertainty.HANDOVER,
    UnlockPurpose.REMOVAL: Uncertainty.REMOVAL,
    UnlockPurpose.SERVICE: Uncertainty.SERVICE,
    UnlockPurpose.INSPECTION: Uncertainty.SERVICE,
}


def reconcile_intent(
    intent: UnlockIntent,
    compartment: Compartment | None,
    order: PickupOrder | None,
    door: DoorReading,
    now: datetime,
) -> Change:
    """The change that settles one unfinished unlock at start-up."""
    finished = (FinishIntents(intent.compartment, (intent.purpose,)),)
    note = {
        "compartment": intent.compartment,
        "purpose": intent.purpose.value,
        "order": intent.order_reference,
        "door": door.value,
    }
    if compartment is None:
        return Change(journal=(("intent_dropped", note),), finished=finished)
    if intent.purpose is UnlockPurpose.RETURN:
        # Old ID cards are not orders; whether one went in is for staff to see
        # when they empty the return compartment.
        return Change(
            events=(
                KioskEvent(
                    EventType.COMPARTMENT_NEEDS_INSPECTION,
                    now,
                    "",
                    intent.compartment,
                    detail=f"old-ID return cut off by a restart (door {door.value}): "
                    "check the return compartment",
                ),
            ),
            journal=(("intent_reconciled", note),),
            finished=finished,
        )
    holds = compartment.order_reference
    if (
        intent.purpose is UnlockPurpose.INSPECTION
        and compartment.state is CompartmentState.NEEDS_INSPECTION
    ):
        # The inspection itself was cut off: it is simply still to do.
        return Change(journal=(("intent_reconciled", note),), finished=finished)
    if holds is None or order is None or holds != order.reference:
        # No document is recorded there (a service opening of an empty
        # compartment, or the outcome was recorded already): nothing to lose.
        if compartment.state is CompartmentState.RESERVED:
            compartment = compartment.with_state(CompartmentState.FREE, None)
            return Change(
                compartments=(compartment,),
                journal=(("intent_reconciled", note),),
                finished=finished,
            )
        return Change(journal=(("intent_reconciled", note),), finished=finished)
    if intent.purpose is UnlockPurpose.DEPOSIT and order.status is not OrderStatus.ANNOUNCED:
        return Change(journal=(("intent_reconciled", note),), finished=finished)
    if intent.purpose is UnlockPurpose.HANDOVER and order.status is OrderStatus.COLLECTED:
        return Change(journal=(("intent_reconciled", note),), finished=finished)
    doubt = _DOUBT[intent.purpose]
    if order.uncertain is not Uncertainty.NONE:
        doubt = order.uncertain  # already flagged by an earlier restart: keep the first doubt
    flagged = replace(order, uncertain=doubt)
    detail = (
        f"{doubt.value} uncertain after a restart: the door was unlocked for "
        f"{intent.purpose.value} and now reads {door.value}; is document {order.reference} inside?"
    )
    return Change(
        compartments=(compartment.with_state(CompartmentState.NEEDS_INSPECTION),),
        orders=(flagged,),
        events=(
            KioskEvent(
                EventType.COMPARTMENT_NEEDS_INSPECTION,
                now,
                order.reference,
                intent.compartment,
                staff_ids=intent.staff_ids,
                detail=detail,
            ),
        ),
        journal=(("needs_inspection", {**note, "uncertain": doubt.value}),),
        finished=finished,
    )


def settle_at_start(compartment: Compartment, door: DoorReading, has_door_sensors: bool) -> Change:
    """A compartment left OPEN or RESERVED once every unlock intent is reconciled.

    OPEN means its handover was recorded (the document is with the citizen):
    free once the sensor reads closed (a bank without sensors: at once, as
    nobody will ever report the door). RESERVED with no intent means the
    pulse was never sent (the intent is committed before it): free again.
    """
    if compartment.state is CompartmentState.OPEN:
        if has_door_sensors and door is not DoorReading.CLOSED:
            return NOTHING  # still open: the door-closed event will free it
        return Change(
            compartments=(compartment.with_state(CompartmentState.FREE, None),),
            journal=(
                (
                    "compartment_free",
                    {"compartment": compartment.number, "door": door.value, "when": "start-up"},
                ),
            ),
        )
    if compartment.state is CompartmentState.RESERVED:
        return Change(
            compartments=(compartment.with_state(CompartmentState.FREE, None),),
            journal=(
                ("reservation_released", {"compartment": compartment.number, "when": "start-up"}),
            ),
        )
    return NOTHING
