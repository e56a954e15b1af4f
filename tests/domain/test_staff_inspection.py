"""Staff inspection of a compartment, and inactivity after its deadline has passed.

Found by mutation testing (docs/mutation.md): the inspection steps of the
staff session were only driven by the Hypothesis state machine, which the
mutation run leaves out, so nothing fast pinned them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain_kit import ALICE, PICKUP_PERIOD, T0, compartment
from kiosk.domain.compartment import CompartmentState, Size
from kiosk.domain.effects import InspectionOutcome, ResolveInspection, UnlockCompartment, UnlockPurpose
from kiosk.domain.staff_session import StaffPolicy, StaffSession, StaffState
from kiosk.domain.throttle import AttemptThrottle

ST = StaffState
SEC = timedelta(seconds=1)


def login(session, directory, now=T0):
    session.card_presented(ALICE.uid, now)
    session.submit_pin(ALICE.pin, now, directory.find)
    assert session.state is ST.MENU


def needing_inspection(number=6, reference="PO-7"):
    return compartment(number, Size.M, state=CompartmentState.NEEDS_INSPECTION,
                       order_reference=reference)


@pytest.mark.parametrize("outcome", list(InspectionOutcome))
def test_an_inspection_opens_the_compartment_and_records_the_answer(staff, staff_directory,
                                                                     outcome):
    login(staff, staff_directory)
    effects = staff.start_inspection(needing_inspection(), T0)
    assert effects == [UnlockCompartment(6, UnlockPurpose.INSPECTION, "PO-7", ("alice",))]
    assert staff.state is ST.INSPECTION_DOOR_OPEN and staff.current_compartment == 6
    # A shut door is not the answer: the session waits for it.
    assert staff.door_closed(6, T0) == []
    assert staff.state is ST.INSPECTION_DOOR_OPEN

    later = T0 + 5 * SEC
    effects = staff.resolve_inspection(outcome, later)
    assert effects == [ResolveInspection(6, outcome, ("alice",), later + PICKUP_PERIOD)]
    assert staff.state is ST.MENU and staff.current_compartment is None
    assert staff.message == f"compartment 6: {outcome.value} recorded"
    # Answered once: a second answer is ignored.
    assert staff.resolve_inspection(outcome, later) == []


def test_a_found_document_waits_the_configured_pickup_period(staff_directory):
    session = StaffSession(StaffPolicy(pickup_period=timedelta(days=3)), AttemptThrottle())
    login(session, staff_directory)
    session.start_inspection(needing_inspection(), T0)
    [effect] = session.resolve_inspection(InspectionOutcome.INSIDE, T0)
    assert effect.pickup_deadline == T0 + timedelta(days=3)


def test_an_inspection_of_a_compartment_without_an_order_names_none(staff, staff_directory):
    login(staff, staff_directory)
    effects = staff.start_inspection(needing_inspection(reference=None), T0)
    assert effects == [UnlockCompartment(6, UnlockPurpose.INSPECTION, "", ("alice",))]


@pytest.mark.parametrize("state", [s for s in CompartmentState
                                   if s is not CompartmentState.NEEDS_INSPECTION])
def test_only_a_compartment_that_needs_inspection_is_opened_for_one(staff, staff_directory, state):
    login(staff, staff_directory)
    assert staff.start_inspection(compartment(6, state=state, order_reference="PO-7"), T0) == []
    assert staff.state is ST.MENU
    assert staff.error == "this compartment does not need an inspection"


def test_no_compartment_no_inspection(staff, staff_directory):
    login(staff, staff_directory)
    assert staff.start_inspection(None, T0) == []
    assert staff.state is ST.MENU
    assert staff.error == "this compartment does not need an inspection"


def test_inspection_needs_the_menu(staff, staff_directory):
    assert staff.start_inspection(needing_inspection(), T0) == []
    assert staff.state is ST.LOGGED_OUT
    assert staff.resolve_inspection(InspectionOutcome.EMPTY, T0) == []


def test_inactivity_logout_when_the_first_tick_comes_after_the_deadline(staff, staff_directory):
    # Ticks are not exact: the first one after the deadline must log out too.
    login(staff, staff_directory)
    staff.tick(T0 + StaffPolicy().inactivity_timeout + 3 * SEC)
    assert staff.state is ST.LOGGED_OUT and staff.staff_ids == ()
