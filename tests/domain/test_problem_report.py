"""A problem reported at the open door: the pure rule, no store, no hardware."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.compartment import Compartment, CompartmentState, Size
from kiosk.domain.effects import InspectionOutcome, Problem, ReportProblem, ResolveInspection
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.problem_report import report_problem
from kiosk.domain.records import RecordIntegrityError, apply_effect

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
DEADLINE = NOW + timedelta(days=14)


def order(status=OrderStatus.DEPOSITED) -> PickupOrder:
    return PickupOrder("PO-1", DocumentKind.ID_CARD, status, requires_pin_letter_confirmation=True,
                       compartment_number=4, pickup_deadline=DEADLINE)


def compartment(state=CompartmentState.OPEN, reference=None) -> Compartment:
    return Compartment(4, Size.S, 1, 1, state=state, order_reference=reference)


@pytest.mark.parametrize("problem", list(Problem))
def test_a_report_after_the_recorded_handover_holds_it_for_staff(problem):
    change = report_problem(problem, compartment(), order(OrderStatus.COLLECTED), order(), NOW)
    (held,) = change.compartments
    assert held.state is CompartmentState.NEEDS_INSPECTION and held.order_reference == "PO-1"
    (doubted,) = change.orders
    # Not collected any more: deposited, with the handover in doubt until staff look.
    assert doubted.status is OrderStatus.DEPOSITED and doubted.uncertain is Uncertainty.HANDOVER
    assert doubted.compartment_number == 4 and doubted.pickup_deadline == DEADLINE
    (alarm,) = change.events
    assert alarm.type is EventType.PROBLEM_REPORTED
    assert (alarm.order_reference, alarm.compartment_number) == ("PO-1", 4)
    assert problem.value in alarm.detail
    assert change.finished[0].compartment == 4


def test_the_sessions_copy_stands_in_when_the_store_dropped_the_collected_order():
    change = report_problem(Problem.COMPARTMENT_EMPTY, compartment(), None, order(), NOW)
    assert change.orders[0].status is OrderStatus.DEPOSITED
    assert change.orders[0].uncertain is Uncertainty.HANDOVER


def test_a_door_that_did_not_open_is_held_as_well():
    change = report_problem(Problem.DOOR_STUCK, compartment(CompartmentState.OCCUPIED, "PO-1"), order(), order(),
                            NOW)
    assert change.compartments[0].state is CompartmentState.NEEDS_INSPECTION
    assert change.orders[0].uncertain is Uncertainty.HANDOVER


def test_nothing_to_hold_is_an_integrity_error():
    with pytest.raises(RecordIntegrityError):
        report_problem(Problem.NOT_MY_DOCUMENT, None, order(), order(), NOW)
    with pytest.raises(RecordIntegrityError):
        report_problem(Problem.NOT_MY_DOCUMENT, compartment(), None, None, NOW)


@pytest.mark.parametrize("outcome, status, state", [
    (InspectionOutcome.INSIDE, OrderStatus.DEPOSITED, CompartmentState.OCCUPIED),  # waits for the citizen
    (InspectionOutcome.EMPTY, OrderStatus.COLLECTED, CompartmentState.FREE),  # the collection stands
    (InspectionOutcome.OTHER, OrderStatus.REMOVED, CompartmentState.OUT_OF_SERVICE),  # to the counter
])
def test_staff_answer_decides_whether_it_counts_as_collected(outcome, status, state):
    effect = ReportProblem(Problem.COMPARTMENT_EMPTY, "PO-1", 4, order())
    reported = apply_effect(effect, lambda n: compartment(), lambda r: order(OrderStatus.COLLECTED), NOW)
    held, doubted = reported.compartments[0], reported.orders[0]
    resolved = apply_effect(ResolveInspection(4, outcome, ("anna",)), lambda n: held, lambda r: doubted, NOW)
    assert resolved.orders[-1].status is status
    assert resolved.compartments[-1].state is state
