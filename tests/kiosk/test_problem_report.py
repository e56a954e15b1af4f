"""A problem reported at the open door, through the real core and store (simulated bank)."""

from __future__ import annotations

from kiosk.domain.compartment import CompartmentState
from kiosk.domain.effects import Problem
from kiosk.domain.pickup_order import OrderStatus, Uncertainty
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import StaffState
from tests.kiosk.test_core import announce, deposit, event_types, kiosk, login  # noqa: F401 (fixture)


def test_compartment_empty_raises_the_alarm_and_holds_the_order_until_staff_confirm(kiosk):  # noqa: F811
    core, store, bank, clock = kiosk
    code = announce(store)
    number = deposit(core, bank)
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPEN
    assert store.order("PO-1").status is OrderStatus.COLLECTED  # recorded when the door opened
    view = core.report_problem(Problem.COMPARTMENT_EMPTY)
    assert view.pickup_state is PickupState.PROBLEM_REPORTED
    assert store.order("PO-1").status is OrderStatus.DEPOSITED
    assert store.order("PO-1").uncertain is Uncertainty.HANDOVER
    assert store.compartment(number).state is CompartmentState.NEEDS_INSPECTION
    alarm = [e[2] for e in store.journal_entries("event") if e[2]["type"] == "problem_reported"]
    assert alarm and alarm[0]["order_reference"] == "PO-1" and alarm[0]["compartment_number"] == number
    bank.close_door(number)  # the citizen shuts it: still held
    assert store.compartment(number).state is CompartmentState.NEEDS_INSPECTION
    core.cancel()
    # The code opens nothing while staff have not looked.
    assert core.submit_code(code).pickup_state is PickupState.NOT_AVAILABLE
    core.cancel()
    # Staff see it among the inspections, look, and find the document inside: it waits again.
    login(core)
    assert [i.compartment for i in core.view().inspections] == [number]
    assert core.start_inspection(number).staff_state is StaffState.INSPECTION_DOOR_OPEN
    core.resolve_inspection("inside")
    bank.close_door(number)
    assert store.order("PO-1").status is OrderStatus.DEPOSITED
    assert store.compartment(number).state is CompartmentState.OCCUPIED
    assert event_types(store)[-1] == "inspection_resolved"


def test_door_does_not_open_can_be_reported_before_the_handover(kiosk):  # noqa: F811
    core, store, bank, clock = kiosk
    code = announce(store)
    number = deposit(core, bank)
    bank.jam_door(number)
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPENING
    assert core.report_problem("door_stuck").pickup_state is PickupState.PROBLEM_REPORTED
    assert store.compartment(number).state is CompartmentState.NEEDS_INSPECTION
    assert store.order("PO-1").uncertain is Uncertainty.HANDOVER
    assert store.open_intents() == []  # the report settled the handover unlock


def test_no_report_outside_the_door_steps(kiosk):  # noqa: F811
    core, store, bank, clock = kiosk
    code = announce(store)
    deposit(core, bank)
    core.submit_code(code)
    assert core.report_problem("not_my_document").pickup_state is PickupState.AWAITING_PIN
    assert "problem_reported" not in event_types(store)
