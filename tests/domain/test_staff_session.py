"""The staff session: login, deposit, removal and service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain_kit import ALICE, BOB, CAROL_INACTIVE, PICKUP_PERIOD, T0, OrderBook, compartment, issue, of_type
from kiosk.domain.compartment import CompartmentState, HeightClass, Size
from common.credentials import CredentialFormatError
from kiosk.domain.effects import (
    RecordDeposit,
    RecordRemoval,
    ReleaseReservation,
    ReportEvent,
    ReserveCompartment,
    SetInService,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import OrderStatus
from kiosk.domain.staff_session import StaffPolicy, StaffSession, StaffState, removable_orders
from kiosk.domain.throttle import AttemptThrottle

SEC = timedelta(seconds=1)
ST = StaffState
INACTIVITY = StaffPolicy().inactivity_timeout


def bank():
    return [
        compartment(1, Size.S, HeightClass.LOW),
        compartment(2, Size.S),
        compartment(3, Size.M),
        compartment(4, Size.L, HeightClass.HIGH),
        compartment(5, Size.S, state=CompartmentState.OCCUPIED, order_reference="OLD-1"),
    ]


@pytest.fixture
def orders():
    return OrderBook(
        issue("A-1", status=OrderStatus.ANNOUNCED),
        issue("A-2", status=OrderStatus.ANNOUNCED),
        issue("A-LOW", status=OrderStatus.ANNOUNCED, needs_low=True),
        issue("A-BIG", status=OrderStatus.ANNOUNCED, size=Size.L),
        issue("OLD-1", status=OrderStatus.DEPOSITED, compartment=5),
        issue("GONE-1", status=OrderStatus.COLLECTED),
    )


def login(session, directory, member=ALICE, now=T0):
    session.card_presented(member.uid, now)
    effects = session.submit_pin(member.pin, now, directory.find)
    assert session.logged_in, session.error
    return effects


def depositing(session, directory, now=T0):
    login(session, directory, now=now)
    session.start_deposit(now)
    assert session.state is ST.DEPOSIT_AWAITING_REFERENCE
    return session


# -------------------------------------------------------------------- login

def test_login_with_card_and_pin(staff, staff_directory):
    assert not staff.logged_in
    assert staff.card_presented(ALICE.uid, T0) == []
    assert staff.state is ST.AWAITING_PIN
    assert staff.expires_at == T0 + staff.policy.pin_timeout
    effects = staff.submit_pin(ALICE.pin, T0 + SEC, staff_directory.find)
    assert effects == [ReportEvent(EventType.STAFF_LOGIN, "staff logged in", staff_ids=("alice",))]
    assert staff.state is ST.MENU and staff.logged_in
    assert staff.staff_ids == ("alice",)


@pytest.mark.parametrize("spelling", ["04A1B2C3D4E5F6", "04a1b2c3d4e5f6", "04 A1 B2 C3 D4 E5 F6"])
def test_card_uid_spellings(staff, staff_directory, spelling):
    staff.card_presented(spelling, T0)
    staff.submit_pin(ALICE.pin, T0, staff_directory.find)
    assert staff.staff_ids == ("alice",)


@pytest.mark.parametrize(
    "uid, pin",
    [
        (ALICE.uid, BOB.pin),  # wrong PIN
        (ALICE.uid, ""),
        (ALICE.uid, ALICE.pin + "0"),
        (BOB.uid, ALICE.pin),  # right PIN, other card
        ("DEADBEEF", ALICE.pin),  # unknown card
        (CAROL_INACTIVE.uid, CAROL_INACTIVE.pin),  # inactive staff
    ],
)
def test_login_refused(staff, staff_directory, uid, pin):
    staff.card_presented(uid, T0)
    assert staff.submit_pin(pin, T0, staff_directory.find) == []
    assert staff.state is ST.LOGGED_OUT and not staff.logged_in
    assert staff.error == "card or PIN not accepted"
    assert staff.staff_ids == ()
    assert staff.throttle.recent_failures == 1


def test_unreadable_card_is_refused_before_anything_happens(staff):
    with pytest.raises(CredentialFormatError):
        staff.card_presented("not hex", T0)
    assert staff.state is ST.LOGGED_OUT


def test_pin_without_card_is_ignored(staff, staff_directory):
    assert staff.submit_pin(ALICE.pin, T0, staff_directory.find) == []
    assert not staff.logged_in


def test_login_throttle_and_alarm(staff, staff_directory):
    alarms = []
    for i in range(staff.throttle.free_failures + 1):
        staff.card_presented(ALICE.uid, T0)
        alarms += staff.submit_pin("000000", T0, staff_directory.find)
    assert staff.throttle.wait_time(T0) > timedelta(0)
    # Even the right PIN is not checked during the backoff.
    staff.card_presented(ALICE.uid, T0 + SEC)
    assert staff.submit_pin(ALICE.pin, T0 + SEC, staff_directory.find) == []
    assert staff.state is ST.AWAITING_PIN
    assert staff.error.startswith("too many failed logins")
    later = T0 + timedelta(minutes=1)
    alarms += staff.submit_pin("000000", later, staff_directory.find)  # 5th failure: alarm
    assert [e.type for e in alarms] == [EventType.STAFF_LOGIN_FAILED]
    assert staff.state is ST.LOGGED_OUT
    staff.card_presented(ALICE.uid, later + timedelta(minutes=10))
    login_effects = staff.submit_pin(ALICE.pin, later + timedelta(minutes=10), staff_directory.find)
    assert [e.type for e in login_effects] == [EventType.STAFF_LOGIN]


def test_pin_entry_times_out(staff, staff_directory):
    staff.card_presented(ALICE.uid, T0)
    staff.tick(T0 + staff.policy.pin_timeout)
    assert staff.state is ST.LOGGED_OUT
    assert staff.submit_pin(ALICE.pin, T0 + staff.policy.pin_timeout, staff_directory.find) == []
    assert not staff.logged_in


def test_second_card_while_waiting_for_the_pin_is_ignored(staff, staff_directory):
    staff.card_presented(ALICE.uid, T0)
    staff.card_presented(BOB.uid, T0)
    staff.submit_pin(ALICE.pin, T0, staff_directory.find)
    assert staff.staff_ids == ("alice",)


# ------------------------------------------------------------------ deposit

def test_deposit_reserves_unlocks_and_records(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    effects = staff.submit_reference(" A-1 ", T0 + SEC, orders.get, bank())
    assert effects == [
        ReserveCompartment(2, "A-1"),
        UnlockCompartment(2, UnlockPurpose.DEPOSIT, "A-1", ("alice",)),
    ]
    assert staff.state is ST.DEPOSIT_DOOR_OPEN
    assert (staff.current_order, staff.current_compartment) == ("A-1", 2)
    assert staff.unlock_result(2, True, "", True, T0 + SEC) == []

    closed_at = T0 + 30 * SEC
    effects = staff.door_closed(2, closed_at)
    assert effects == [RecordDeposit("A-1", 2, closed_at + PICKUP_PERIOD, ("alice",))]
    assert staff.state is ST.DEPOSIT_AWAITING_REFERENCE, "the next deposit needs no new login"
    assert "A-1" in staff.message and "2" in staff.message
    assert staff.current_compartment is None


def test_deposits_one_after_another(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    layout = bank()
    staff.submit_reference("A-1", T0, orders.get, layout)
    staff.door_closed(2, T0)
    layout[1] = layout[1].with_state(CompartmentState.OCCUPIED, "A-1")
    effects = staff.submit_reference("A-2", T0 + SEC, orders.get, layout)
    assert effects[0] == ReserveCompartment(3, "A-2")  # next smallest non-low compartment
    assert of_type(staff.door_closed(3, T0 + SEC), RecordDeposit)


def test_deposit_for_an_accessible_order_uses_a_low_compartment(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    assert staff.submit_reference("A-LOW", T0, orders.get, bank())[0] == ReserveCompartment(1, "A-LOW")


def test_custom_pickup_period(staff_directory, orders):
    session = StaffSession(StaffPolicy(pickup_period=timedelta(days=3)), AttemptThrottle())
    depositing(session, staff_directory)
    session.submit_reference("A-1", T0, orders.get, bank())
    [deposit] = session.door_closed(2, T0)
    assert deposit.pickup_deadline == T0 + timedelta(days=3)


@pytest.mark.parametrize(
    "reference, error",
    [
        ("NOPE-1", "not known at this kiosk"),
        ("OLD-1", "it is deposited"),
        ("GONE-1", "it is collected"),
        ("", "not an order reference"),
        ("   ", "not an order reference"),
        ("A-1\x00", "not an order reference"),
        ("A\n1", "not an order reference"),
        ("X" * 65, "not an order reference"),
    ],
)
def test_deposit_errors(staff, staff_directory, orders, reference, error):
    depositing(staff, staff_directory)
    assert staff.submit_reference(reference, T0, orders.get, bank()) == []
    assert error in staff.error
    assert staff.state is ST.DEPOSIT_AWAITING_REFERENCE


def test_no_free_compartment_that_fits(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    layout = [c if c.size is not Size.L else c.with_state(CompartmentState.OUT_OF_SERVICE) for c in bank()]
    assert staff.submit_reference("A-BIG", T0, orders.get, layout) == []
    assert "no free compartment of size L" in staff.error


def test_reference_outside_the_deposit_screen_is_ignored(staff, staff_directory, orders):
    login(staff, staff_directory)
    assert staff.submit_reference("A-1", T0, orders.get, bank()) == []
    staff.logout(T0)
    assert staff.submit_reference("A-1", T0, orders.get, bank()) == []


def test_abort_deposit_releases_the_reservation(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    staff.submit_reference("A-1", T0, orders.get, bank())
    assert staff.abort_deposit(T0) == [ReleaseReservation(2)]
    assert staff.state is ST.DEPOSIT_AWAITING_REFERENCE
    assert staff.door_closed(2, T0) == [], "an aborted deposit is never recorded"
    assert staff.abort_deposit(T0) == []


@pytest.mark.parametrize("how", ["not acknowledged", "door failed"])
def test_door_failure_during_deposit(staff, staff_directory, orders, how):
    depositing(staff, staff_directory)
    staff.submit_reference("A-1", T0, orders.get, bank())
    if how == "not acknowledged":
        effects = staff.unlock_result(2, False, "", True, T0)
        detail = "the lock did not acknowledge"
    else:
        effects = staff.door_failed(2, "jammed", T0)
        detail = "jammed"
    assert effects == [
        ReleaseReservation(2),
        ReportEvent(EventType.DOOR_FAILED, detail, "A-1", 2, ("alice",)),
        SetOutOfService(2, f"door did not open: {detail}", ("alice",)),
    ]
    assert staff.state is ST.DEPOSIT_AWAITING_REFERENCE
    assert "scan the document again" in staff.error
    assert of_type(staff.door_closed(2, T0), RecordDeposit) == []


def test_door_events_of_other_compartments_are_ignored(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    staff.submit_reference("A-1", T0, orders.get, bank())
    assert staff.unlock_result(3, False, "", True, T0) == []
    assert staff.door_failed(3, "x", T0) == []
    assert staff.door_closed(3, T0) == []
    assert staff.state is ST.DEPOSIT_DOOR_OPEN


def test_confirm_door_closed_on_a_bank_without_sensors(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    staff.submit_reference("A-1", T0, orders.get, bank())
    assert staff.confirm_door_closed(T0) == [RecordDeposit("A-1", 2, T0 + PICKUP_PERIOD, ("alice",))]
    assert staff.confirm_door_closed(T0) == []


# ---------------------------------------------------------------- four eyes

def test_four_eyes_deposit_needs_a_second_person(four_eyes_staff, staff_directory, orders):
    staff = four_eyes_staff
    login(staff, staff_directory)
    staff.start_deposit(T0)
    assert staff.state is ST.AWAITING_SECOND_CARD
    assert staff.submit_reference("A-1", T0, orders.get, bank()) == []

    # The same person twice does not count.
    staff.card_presented(ALICE.uid, T0)
    assert staff.state is ST.AWAITING_SECOND_PIN
    assert staff.submit_pin(ALICE.pin, T0, staff_directory.find) == []
    assert staff.state is ST.AWAITING_SECOND_CARD
    assert "different staff member" in staff.error

    # A wrong second PIN keeps the first login.
    staff.card_presented(BOB.uid, T0)
    assert staff.submit_pin(ALICE.pin, T0, staff_directory.find) == []
    assert staff.state is ST.AWAITING_SECOND_CARD and staff.staff_ids == ("alice",)

    staff.card_presented(BOB.uid, T0)
    assert [e.staff_ids for e in staff.submit_pin(BOB.pin, T0, staff_directory.find)] == [("bob",)]
    assert staff.state is ST.DEPOSIT_AWAITING_REFERENCE
    assert staff.staff_ids == ("alice", "bob")

    effects = staff.submit_reference("A-1", T0, orders.get, bank())
    assert of_type(effects, UnlockCompartment)[0].staff_ids == ("alice", "bob")
    assert staff.door_closed(2, T0)[0].staff_ids == ("alice", "bob")

    staff.finish_deposits(T0)
    assert staff.state is ST.MENU and staff.staff_ids == ("alice",)
    staff.start_deposit(T0)
    assert staff.state is ST.AWAITING_SECOND_CARD, "the second login holds for one round only"


def test_four_eyes_inactive_second_person_is_refused(four_eyes_staff, staff_directory):
    login(four_eyes_staff, staff_directory)
    four_eyes_staff.start_deposit(T0)
    four_eyes_staff.card_presented(CAROL_INACTIVE.uid, T0)
    four_eyes_staff.submit_pin(CAROL_INACTIVE.pin, T0, staff_directory.find)
    assert four_eyes_staff.state is ST.AWAITING_SECOND_CARD
    assert four_eyes_staff.staff_ids == ("alice",)


def test_four_eyes_can_be_abandoned(four_eyes_staff, staff_directory):
    login(four_eyes_staff, staff_directory)
    four_eyes_staff.start_deposit(T0)
    four_eyes_staff.finish_deposits(T0)
    assert four_eyes_staff.state is ST.MENU


# ------------------------------------------------------------------ removal

def test_removal_of_several_compartments_one_after_another(staff, staff_directory):
    login(staff, staff_directory)
    effects = staff.start_removal([("E-1", 3), ("E-2", 5), ("E-3", 7)], T0)
    assert effects == [UnlockCompartment(3, UnlockPurpose.REMOVAL, "E-1", ("alice",))]
    assert staff.state is ST.REMOVAL_DOOR_OPEN
    assert staff.removal_queue == (("E-2", 5), ("E-3", 7))

    assert staff.door_closed(3, T0) == [
        RecordRemoval("E-1", 3, ("alice",)),
        UnlockCompartment(5, UnlockPurpose.REMOVAL, "E-2", ("alice",)),
    ]
    effects = staff.door_failed(5, "stuck", T0)
    assert [type(e) for e in effects] == [ReportEvent, SetOutOfService, UnlockCompartment]
    assert effects[-1] == UnlockCompartment(7, UnlockPurpose.REMOVAL, "E-3", ("alice",))
    assert of_type(effects, RecordRemoval) == [], "a door that did not open removed nothing"

    assert staff.door_closed(7, T0) == [RecordRemoval("E-3", 7, ("alice",))]
    assert staff.state is ST.MENU
    assert staff.message == "2 document(s) removed"


def test_removal_with_nothing_due(staff, staff_directory):
    login(staff, staff_directory)
    assert staff.start_removal([], T0) == []
    assert staff.state is ST.MENU and staff.message == "no documents to remove"


def test_removal_needs_the_menu(staff, staff_directory):
    assert staff.start_removal([("E-1", 3)], T0) == []
    depositing(staff, staff_directory)
    assert staff.start_removal([("E-1", 3)], T0) == []


def test_removable_orders():
    now = T0 + timedelta(days=20)
    orders = [
        issue("EXP", status=OrderStatus.EXPIRED, compartment=4).order,
        issue("LATE", status=OrderStatus.DEPOSITED, compartment=2, deadline=now).order,
        issue("CANC", status=OrderStatus.CANCELLED, compartment=6).order,
        issue("FRESH", status=OrderStatus.DEPOSITED, compartment=1, deadline=now + SEC).order,
        issue("DONE", status=OrderStatus.COLLECTED, compartment=3).order,
        issue("MOVED", status=OrderStatus.EXPIRED, compartment=5).order,  # compartment says otherwise
        issue("EMPTY", status=OrderStatus.EXPIRED, compartment=7).order,  # compartment is free
        issue("NOWHERE", status=OrderStatus.CANCELLED, compartment=None).order,
        issue("UNKNOWN", status=OrderStatus.EXPIRED, compartment=99).order,
    ]
    layout = [
        compartment(1, state=CompartmentState.OCCUPIED, order_reference="FRESH"),
        compartment(2, state=CompartmentState.OCCUPIED, order_reference="LATE"),
        compartment(3, state=CompartmentState.OPEN),
        compartment(4, state=CompartmentState.OCCUPIED, order_reference="EXP"),
        compartment(5, state=CompartmentState.OCCUPIED, order_reference="FRESH"),
        compartment(6, state=CompartmentState.OUT_OF_SERVICE, order_reference="CANC"),
        compartment(7),
    ]
    assert removable_orders(orders, layout, now) == [("LATE", 2), ("EXP", 4), ("CANC", 6)]


# ------------------------------------------------------------------ service

@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_service_opening_requires_a_reason(staff, staff_directory, reason):
    login(staff, staff_directory)
    assert staff.open_for_service(3, reason, T0) == []
    assert staff.error == "give a reason for opening the compartment"
    assert staff.state is ST.MENU


def test_service_opening(staff, staff_directory):
    login(staff, staff_directory)
    effects = staff.open_for_service(3, " lock check ", T0)
    assert effects == [
        ReportEvent(EventType.COMPARTMENT_SERVICE_OPENED, "lock check", compartment=3, staff_ids=("alice",)),
        UnlockCompartment(3, UnlockPurpose.SERVICE, "", ("alice",)),
    ]
    assert staff.state is ST.SERVICE_DOOR_OPEN
    assert staff.door_closed(3, T0) == []
    assert staff.state is ST.MENU and "closed after service" in staff.message


def test_service_door_failure_sets_out_of_service(staff, staff_directory):
    login(staff, staff_directory)
    staff.open_for_service(3, "check", T0)
    effects = staff.unlock_result(3, False, "no power", True, T0)
    assert of_type(effects, SetOutOfService) == [SetOutOfService(3, "door did not open: no power", ("alice",))]
    assert of_type(effects, ReleaseReservation) == []
    assert staff.state is ST.MENU


def test_out_of_and_back_in_service(staff, staff_directory):
    login(staff, staff_directory)
    assert staff.set_out_of_service(4, " hinge broken ", T0) == [SetOutOfService(4, "hinge broken", ("alice",))]
    assert staff.set_out_of_service(4, "  ", T0) == [SetOutOfService(4, "set by staff", ("alice",))]
    assert staff.set_in_service(4, T0) == [SetInService(4, ("alice",))]


def test_service_actions_need_a_login(staff):
    assert staff.open_for_service(3, "x", T0) == []
    assert staff.set_out_of_service(3, "x", T0) == []
    assert staff.set_in_service(3, T0) == []
    assert staff.start_deposit(T0) == [] and staff.state is ST.LOGGED_OUT


# ----------------------------------------------------- logout and timeouts

@pytest.mark.parametrize("door", ["deposit", "removal", "service"])
def test_logout_refused_while_a_door_is_open(staff, staff_directory, orders, door):
    if door == "deposit":
        depositing(staff, staff_directory)
        staff.submit_reference("A-1", T0, orders.get, bank())
        number = 2
    elif door == "removal":
        login(staff, staff_directory)
        staff.start_removal([("E-1", 3)], T0)
        number = 3
    else:
        login(staff, staff_directory)
        staff.open_for_service(4, "check", T0)
        number = 4
    assert staff.logout(T0) == []
    assert staff.logged_in and staff.error == "close the open compartment first"
    staff.door_closed(number, T0)
    staff.finish_deposits(T0)
    staff.logout(T0)
    assert staff.state is ST.LOGGED_OUT and staff.staff_ids == ()


def test_inactivity_logout(staff, staff_directory):
    login(staff, staff_directory)
    staff.tick(T0 + INACTIVITY - SEC)
    assert staff.logged_in
    staff.touch(T0 + INACTIVITY - SEC)
    staff.tick(T0 + INACTIVITY)
    assert staff.logged_in, "activity pushes the timeout"
    staff.tick(T0 + 2 * INACTIVITY - SEC)
    assert staff.state is ST.LOGGED_OUT and staff.staff_ids == ()


def test_inactivity_logout_from_the_deposit_screen(staff, staff_directory):
    depositing(staff, staff_directory)
    staff.tick(T0 + INACTIVITY)
    assert staff.state is ST.LOGGED_OUT


def test_door_left_open_alarm_once_and_no_logout(staff, staff_directory, orders):
    depositing(staff, staff_directory)
    staff.submit_reference("A-1", T0, orders.get, bank())
    effects = staff.tick(T0 + INACTIVITY)
    assert effects == [ReportEvent(EventType.DOOR_LEFT_OPEN, "compartment left open during a staff session",
                                   "A-1", 2, ("alice",))]
    assert staff.tick(T0 + 10 * INACTIVITY) == []
    assert staff.state is ST.DEPOSIT_DOOR_OPEN
    closed = T0 + 11 * INACTIVITY
    assert of_type(staff.door_closed(2, closed), RecordDeposit)
    staff.tick(closed + INACTIVITY)
    assert staff.state is ST.LOGGED_OUT
