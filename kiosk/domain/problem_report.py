"""A citizen reports a problem at the open door.

"The compartment is empty", "this is not my document", "the door does not
open / does not close": the kiosk cannot check any of these itself. The
handover was recorded the moment the door-open signal came (see
pickup_session), so a report puts it back in doubt, exactly like a handover
cut off by a crash: the compartment goes to NEEDS_INSPECTION holding the
order, the order is DEPOSITED again with `Uncertainty.HANDOVER`, and an alarm
(EVENT_TYPE_PROBLEM_REPORTED, with the order) goes to the registry. Staff
then look and say what they found (`records.resolve_inspection`): the
document inside waits for the citizen again, an empty compartment confirms
the collection, anything else goes back to the counter. Pure function, no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.effects import Problem
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.pickup_order import OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.records import Change, FinishIntents, RecordIntegrityError


def report_problem(
    problem: Problem,
    compartment: Compartment | None,
    stored: PickupOrder | None,
    held: PickupOrder | None,
    now: datetime,
) -> Change:
    """The change a problem report makes.

    `stored` is the order as the store has it (None once the registry has
    confirmed the collection and the store dropped it); `held` is the copy
    the pickup session read when the code was accepted, which still knows
    the compartment and the pickup deadline.
    """
    order = stored or held
    if compartment is None or order is None:
        raise RecordIntegrityError("a problem report needs the compartment and the order of the pickup")
    # The handover is in doubt again: not collected until staff have looked.
    # A plain replace, not a transition: "collected" is final for what the
    # kiosk knows, and this report says the kiosk did not know it.
    doubted = replace(
        order,
        status=OrderStatus.DEPOSITED,
        compartment_number=compartment.number,
        pickup_deadline=order.pickup_deadline or (held.pickup_deadline if held else None),
        uncertain=Uncertainty.HANDOVER,
    )
    held_for_inspection = compartment.with_state(CompartmentState.NEEDS_INSPECTION, order.reference)
    detail = (f"citizen reports {problem.value} at compartment {compartment.number}: "
              f"handover of {order.reference} held until staff inspect it")
    return Change(
        compartments=(held_for_inspection,),
        orders=(doubted,),
        events=(
            KioskEvent(EventType.PROBLEM_REPORTED, now, order.reference, compartment.number,
                       detail=detail),
        ),
        journal=(("problem_reported", {"compartment": compartment.number, "order": order.reference,
                                       "problem": problem.value,
                                       "was": order.status.value}),),
        # The handover unlock is settled: the report is its outcome.
        finished=(FinishIntents(compartment.number),),
    )
