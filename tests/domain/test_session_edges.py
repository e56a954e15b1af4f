"""The edges of the sessions: every timeout and limit at its exact boundary,
intents outside their states, the staff feedback after each kind of step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain_kit import (
    ALICE, BOB, T0, OrderBook, StaffDirectory, compartment, issue, of_type, unlocks,
)
from kiosk.domain import pickup_order, staff
from kiosk.domain.effects import RecordFailedPin, ReleaseReservation, ReportEvent, SetOutOfService
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind, OrderStatus
from kiosk.domain.pickup_session import PickupPolicy, PickupSession, PickupState
from kiosk.domain.staff_session import Notice, StaffPolicy, StaffSession, StaffState
from kiosk.domain.throttle import AttemptThrottle

TICK = timedelta(microseconds=1)
SEC = timedelta(seconds=1)
ST = PickupState


# The cast: a passport (no PIN letter) and an ID card (with one).
PASSPORT_PIN, ID_CARD_PIN = "314159", "271828"


def wrong(pin: str) -> str:
    """Another six digits: the last one moved on by one."""
    return pin[:-1] + str((int(pin[-1]) + 1) % 10)


@pytest.fixture
def passport():
    return issue("P-1", kind=DocumentKind.PASSPORT, compartment=4, pin=PASSPORT_PIN)


@pytest.fixture
def id_card():
    return issue("ID-1", kind=DocumentKind.ID_CARD, compartment=7, pin=ID_CARD_PIN)


@pytest.fixture
def book(passport, id_card):
    return OrderBook(passport, id_card)


def default_pickup() -> PickupSession:
    """A session with every default: the values a real kiosk runs with."""
    return PickupSession(PickupPolicy(), AttemptThrottle(), has_door_sensors=True)


def guessing_at_leisure(issued, book) -> PickupSession:
    """At the PIN of `issued`, with a kiosk throttle that never blocks: only
    the per-order limit applies."""
    throttle = AttemptThrottle(free_failures=100)
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    pickup.submit_code(issued.code, T0, book.find)
    return pickup


# ------------------------------------------------------------- the defaults

def test_pickup_defaults():
    policy = PickupPolicy()
    assert policy.max_pin_attempts == 5 == pickup_order.DEFAULT_MAX_PIN_ATTEMPTS
    assert policy.input_timeout == timedelta(seconds=60)
    assert policy.result_timeout == timedelta(seconds=20)
    assert policy.door_opening_timeout == timedelta(seconds=15)
    assert policy.door_open_timeout == timedelta(minutes=3)


def test_staff_defaults():
    policy = StaffPolicy()
    assert policy.four_eyes_deposit is False
    assert policy.pickup_period == timedelta(days=14)
    assert pickup_order.DEFAULT_PICKUP_DAYS == 14
    assert policy.inactivity_timeout == timedelta(minutes=5)
    assert policy.pin_timeout == timedelta(seconds=60)


def test_throttle_defaults():
    throttle = AttemptThrottle()
    assert throttle.free_failures == 3
    assert throttle.base_delay == timedelta(seconds=2)
    assert throttle.max_delay == timedelta(minutes=5)
    assert throttle.alarm_after == 10
    assert throttle.window == timedelta(minutes=15)
    assert throttle.recent_failures == 0
    assert throttle.wait_time(T0) == timedelta(0)


def test_staff_record_is_active_unless_told_otherwise():
    record = staff.StaffRecord("dora", b"key", "verifier")
    assert record.active is True


# ------------------------------------------------------ timeouts, exactly

def test_result_timeout_boundary(passport, book):
    pickup = default_pickup()
    pickup.submit_code(issue("NOPE").code, T0, book.find)
    assert pickup.state is ST.UNKNOWN_CODE
    assert pickup.expires_at == T0 + 20 * SEC
    assert pickup.tick(T0 + 20 * SEC - TICK) == []
    assert pickup.state is ST.UNKNOWN_CODE
    assert pickup.tick(T0 + 20 * SEC) == []
    assert pickup.state is ST.IDLE and pickup.expires_at is None


def test_input_timeout_boundary_in_every_input_state(passport, id_card, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    assert pickup.state is ST.AWAITING_PIN and pickup.expires_at == T0 + 60 * SEC
    pickup.submit_pin(wrong(passport.pin), T0 + SEC)
    assert pickup.state is ST.WRONG_PIN and pickup.expires_at == T0 + 61 * SEC
    pickup.tick(T0 + 61 * SEC - TICK)
    assert pickup.state is ST.WRONG_PIN
    pickup.tick(T0 + 61 * SEC)
    assert pickup.state is ST.IDLE

    pickup.submit_code(id_card.code, T0, book.find)
    pickup.submit_pin(id_card.pin, T0)
    assert pickup.state is ST.AWAITING_PIN_LETTER and pickup.expires_at == T0 + 60 * SEC
    pickup.tick(T0 + 60 * SEC - TICK)
    assert pickup.state is ST.AWAITING_PIN_LETTER
    pickup.tick(T0 + 60 * SEC)
    assert pickup.state is ST.IDLE


def test_door_opening_timeout_boundary(passport, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    pickup.submit_pin(passport.pin, T0)
    assert pickup.state is ST.DOOR_OPENING and pickup.expires_at == T0 + 15 * SEC
    assert pickup.tick(T0 + 15 * SEC - TICK) == []
    effects = pickup.tick(T0 + 15 * SEC)
    assert pickup.state is ST.DOOR_FAILED
    assert of_type(effects, SetOutOfService)[0].compartment == 4
    assert pickup.expires_at == T0 + 15 * SEC + 20 * SEC  # the error stays on screen


def test_door_open_timeout_boundary(passport, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    pickup.submit_pin(passport.pin, T0)
    pickup.door_opened(4, T0 + SEC)
    assert pickup.state is ST.DOOR_OPEN and pickup.expires_at == T0 + SEC + 3 * 60 * SEC
    assert pickup.tick(T0 + SEC + 3 * 60 * SEC - TICK) == []
    assert pickup.state is ST.DOOR_OPEN
    effects = pickup.tick(T0 + SEC + 3 * 60 * SEC)
    assert effects == [
        ReportEvent(EventType.DOOR_LEFT_OPEN, "door still open after the handover", "P-1", 4)]
    assert pickup.state is ST.IDLE


def test_done_screen_uses_the_result_timeout(passport, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    pickup.submit_pin(passport.pin, T0)
    pickup.door_opened(4, T0)
    pickup.door_closed(4, T0 + 5 * SEC)
    assert pickup.state is ST.DONE and pickup.expires_at == T0 + 25 * SEC
    assert pickup.compartment == 4


def test_staff_inactivity_boundary():
    session = StaffSession(StaffPolicy(), AttemptThrottle())
    directory = StaffDirectory(ALICE)
    session.card_presented(ALICE.uid, T0)
    assert session.expires_at == T0 + 60 * SEC
    session.tick(T0 + 60 * SEC - TICK)
    assert session.state is StaffState.AWAITING_PIN
    session.submit_pin(ALICE.pin, T0 + 60 * SEC - TICK, directory.find)
    assert session.state is StaffState.MENU
    login_at = T0 + 60 * SEC - TICK
    assert session.expires_at == login_at + 5 * 60 * SEC
    session.tick(login_at + 5 * 60 * SEC - TICK)
    assert session.logged_in
    session.tick(login_at + 5 * 60 * SEC)
    assert session.state is StaffState.LOGGED_OUT and not session.logged_in


def test_staff_pin_timeout_boundary():
    session = StaffSession(StaffPolicy(), AttemptThrottle())
    session.card_presented(ALICE.uid, T0)
    session.touch(T0 + 10 * SEC)  # any input restarts the PIN timeout, not the inactivity one
    assert session.expires_at == T0 + 70 * SEC
    session.tick(T0 + 70 * SEC)
    assert session.state is StaffState.LOGGED_OUT


def test_touch_while_logged_out_does_nothing():
    session = StaffSession(StaffPolicy(), AttemptThrottle())
    session.touch(T0)
    assert session.expires_at is None and session.state is StaffState.LOGGED_OUT


def test_touch_in_the_menu_restarts_the_inactivity_timeout():
    session = StaffSession(StaffPolicy(), AttemptThrottle())
    session.card_presented(ALICE.uid, T0)
    session.submit_pin(ALICE.pin, T0, StaffDirectory(ALICE).find)
    session.touch(T0 + 4 * 60 * SEC)
    assert session.expires_at == T0 + 9 * 60 * SEC


# --------------------------------------------------------- limits, exactly

def test_order_locks_at_exactly_the_fifth_wrong_pin(passport, book):
    pickup = guessing_at_leisure(passport, book)
    for attempt in range(1, 5):
        effects = pickup.submit_pin(wrong(passport.pin), T0)
        assert effects == [RecordFailedPin("P-1", attempt, False)]
        assert pickup.state is ST.WRONG_PIN and pickup.attempts_left == 5 - attempt
    effects = pickup.submit_pin(wrong(passport.pin), T0)
    assert effects == [RecordFailedPin("P-1", 5, True)]
    assert pickup.state is ST.LOCKED and pickup.attempts_left == 0


def test_alarm_at_exactly_ten_failures():
    throttle = AttemptThrottle()
    now = T0
    for _ in range(9):
        assert throttle.record_failure(now) is False
        now += SEC
    assert throttle.recent_failures == 9
    assert throttle.record_failure(now) is True
    assert throttle.record_failure(now) is False  # once


def test_alarm_counts_refused_attempts_too():
    throttle = AttemptThrottle()
    for _ in range(5):
        throttle.record_failure(T0)
    for _ in range(4):
        assert throttle.record_refused(T0) is False
    assert throttle.record_refused(T0) is True


def test_backoff_starts_after_exactly_three_free_failures():
    throttle = AttemptThrottle()
    for _ in range(3):
        throttle.record_failure(T0)
        assert throttle.wait_time(T0) == timedelta(0)
    throttle.record_failure(T0)
    assert throttle.wait_time(T0) == timedelta(seconds=2)
    throttle.record_failure(T0)
    assert throttle.wait_time(T0) == timedelta(seconds=4)
    throttle.record_failure(T0)
    assert throttle.wait_time(T0) == timedelta(seconds=8)


def test_wait_ends_at_exactly_the_end_of_the_backoff():
    throttle = AttemptThrottle(free_failures=0)
    throttle.record_failure(T0)
    assert throttle.wait_time(T0 + 2 * SEC - TICK) == TICK
    assert throttle.wait_time(T0 + 2 * SEC) == timedelta(0)


def test_backoff_is_capped_at_five_minutes():
    throttle = AttemptThrottle(alarm_after=1000)
    for _ in range(3 + 20):
        throttle.record_failure(T0)
    assert throttle.wait_time(T0) == timedelta(minutes=5)


def test_window_boundary_is_fifteen_minutes():
    throttle = AttemptThrottle(free_failures=1)
    throttle.record_failure(T0)
    throttle.record_failure(T0 + 15 * 60 * SEC - TICK)  # the first still counts: backoff
    assert throttle.recent_failures == 2
    assert throttle.wait_time(T0 + 15 * 60 * SEC - TICK) == timedelta(seconds=2)
    fresh = AttemptThrottle(free_failures=1)
    fresh.record_failure(T0)
    fresh.record_failure(T0 + 15 * 60 * SEC)  # the first has just left the window
    assert fresh.recent_failures == 1
    assert fresh.wait_time(T0 + 15 * 60 * SEC) == timedelta(0)


# ------------------------------------------------- the throttle and the PIN

def test_throttled_pin_entered_from_awaiting_pin(passport, book):
    throttle = AttemptThrottle()
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    pickup.submit_code(passport.code, T0, book.find)
    assert pickup.state is ST.AWAITING_PIN
    for _ in range(4):  # someone else's failures at this kiosk: 2 s backoff
        throttle.record_failure(T0)
    effects = pickup.submit_pin(passport.pin, T0 + SEC)
    assert effects == [] and unlocks(effects) == []
    assert pickup.state is ST.WRONG_PIN
    assert pickup.error_detail == "wait 2 s"  # 1 s left, rounded up
    assert pickup.attempts_left == 5, "a refused attempt is no wrong PIN"
    assert pickup.expires_at == T0 + SEC + 60 * SEC
    assert throttle.recent_failures == 5, "the refused attempt counts towards the alarm"
    effects = pickup.submit_pin(passport.pin, T0 + 2 * SEC)
    assert unlocks(effects) and pickup.state is ST.DOOR_OPENING


def test_throttled_pin_raises_the_alarm_when_it_reaches_the_threshold(passport, book):
    throttle = AttemptThrottle(alarm_after=5)
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    pickup.submit_code(passport.code, T0, book.find)
    for _ in range(4):
        throttle.record_failure(T0)
    effects = pickup.submit_pin(passport.pin, T0)
    assert [e.type for e in of_type(effects, ReportEvent)] == [EventType.ATTEMPTS_THROTTLED]
    assert "5 failed or refused pickup attempts" in effects[0].detail


def test_throttled_code_detail_rounds_up(passport, book):
    throttle = AttemptThrottle()
    for _ in range(4):
        throttle.record_failure(T0)
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    assert pickup.submit_code(passport.code, T0, book.find) == []
    assert pickup.state is ST.THROTTLED and pickup.error_detail == "wait 3 s"
    assert throttle.recent_failures == 5


def test_throttled_code_detail_with_an_odd_number_of_seconds_left(passport, book):
    throttle = AttemptThrottle()
    for _ in range(4):
        throttle.record_failure(T0)
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    pickup.submit_code(passport.code, T0 + SEC, book.find)  # 1 s of 2 s left
    assert pickup.state is ST.THROTTLED and pickup.error_detail == "wait 2 s"


def test_wrong_pin_detail_is_cleared_after_a_throttle_message(passport, book):
    throttle = AttemptThrottle()
    pickup = PickupSession(PickupPolicy(), throttle, has_door_sensors=True)
    pickup.submit_code(passport.code, T0, book.find)
    for _ in range(4):
        throttle.record_failure(T0)
    pickup.submit_pin(passport.pin, T0)
    assert pickup.error_detail.startswith("wait")
    pickup.submit_pin(wrong(passport.pin), T0 + 10 * SEC)
    assert pickup.state is ST.WRONG_PIN and pickup.error_detail == ""


def test_malformed_pin_keeps_its_reason(passport, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    assert pickup.submit_pin("12", T0) == []
    assert pickup.state is ST.WRONG_PIN and "6 digits" in pickup.error_detail
    assert pickup.attempts_left == 5


# ------------------------------------------- submit_pin outside PIN states

def test_submit_pin_outside_the_pin_states_changes_nothing(passport, id_card, book):
    pickup = default_pickup()
    # idle
    assert pickup.submit_pin(passport.pin, T0) == [] and pickup.state is ST.IDLE
    # an error screen
    pickup.submit_code(issue("NOPE").code, T0, book.find)
    assert pickup.submit_pin(passport.pin, T0) == [] and pickup.state is ST.UNKNOWN_CODE
    # the PIN-letter question: a second PIN must not skip the confirmation
    pickup.submit_code(id_card.code, T0, book.find)
    pickup.submit_pin(id_card.pin, T0)
    assert pickup.submit_pin(id_card.pin, T0) == [] and pickup.state is ST.AWAITING_PIN_LETTER
    assert pickup.submit_pin(wrong(id_card.pin), T0) == []
    assert pickup.state is ST.AWAITING_PIN_LETTER
    # the door is opening, open, and closed again: no second unlock
    pickup.confirm_pin_letter(True, T0)
    assert pickup.state is ST.DOOR_OPENING
    assert pickup.submit_pin(id_card.pin, T0) == [] and pickup.state is ST.DOOR_OPENING
    pickup.door_opened(7, T0)
    assert pickup.submit_pin(id_card.pin, T0) == [] and pickup.state is ST.DOOR_OPEN
    pickup.door_closed(7, T0)
    assert pickup.submit_pin(id_card.pin, T0) == [] and pickup.state is ST.DONE
    assert pickup.throttle.recent_failures == 1  # only the unknown code


def test_submit_pin_after_a_lock_changes_nothing(passport, book):
    pickup = guessing_at_leisure(passport, book)
    for _ in range(5):
        pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.state is ST.LOCKED
    assert pickup.submit_pin(passport.pin, T0) == [] and pickup.state is ST.LOCKED


# --------------------------------------------------- staff feedback edges

@pytest.fixture
def orders():
    return OrderBook(
        issue("A-1", status=OrderStatus.ANNOUNCED),
        issue("A-2", status=OrderStatus.ANNOUNCED),
    )


def bank():
    return [compartment(1), compartment(2), compartment(3)]


def logged_in(policy: StaffPolicy = StaffPolicy()) -> StaffSession:
    session = StaffSession(policy, AttemptThrottle())
    session.card_presented(ALICE.uid, T0)
    session.submit_pin(ALICE.pin, T0, StaffDirectory(ALICE, BOB).find)
    assert session.state is StaffState.MENU
    return session


def test_staff_error_after_a_door_failure_during_deposit(orders):
    session = logged_in()
    session.start_deposit(T0)
    session.submit_reference("A-1", T0, orders.get, bank())
    effects = session.door_failed(1, "jammed", T0 + SEC)
    assert effects[0] == ReleaseReservation(1)
    assert session.state is StaffState.DEPOSIT_AWAITING_REFERENCE
    assert session.error_notice == Notice("door_failed_deposit", (("number", 1),))
    assert "scan the document again" in session.error
    assert session.expires_at == T0 + SEC + 5 * 60 * SEC
    # the next reference clears the error
    session.submit_reference("A-2", T0 + 2 * SEC, orders.get, bank())
    assert session.error_notice == Notice() and session.error == ""


def test_staff_error_after_a_door_failure_during_service():
    session = logged_in()
    session.open_for_service(2, "cleaning", T0)
    effects = session.unlock_result(2, False, "", True, T0 + SEC)
    assert [type(e) for e in effects] == [ReportEvent, SetOutOfService]
    assert effects[0].detail == "the lock did not acknowledge"
    assert session.state is StaffState.MENU
    assert session.error_notice == Notice("door_failed", (("number", 2),))
    assert session.current_compartment is None


def test_staff_unlock_acknowledged_changes_nothing():
    session = logged_in()
    session.open_for_service(2, "cleaning", T0)
    assert session.unlock_result(2, True, "", True, T0) == []
    assert session.state is StaffState.SERVICE_DOOR_OPEN
    assert session.unlock_result(3, False, "", True, T0) == []  # another compartment
    assert session.state is StaffState.SERVICE_DOOR_OPEN


def test_staff_door_failure_during_removal_goes_on_with_the_next():
    session = logged_in()
    effects = session.start_removal([("OLD-1", 1), ("OLD-2", 2)], T0)
    assert session.current_compartment == 1
    effects = session.door_failed(1, "jammed", T0)
    assert session.state is StaffState.REMOVAL_DOOR_OPEN and session.current_compartment == 2
    assert unlocks(effects)[0].compartment == 2
    session.door_closed(2, T0)
    assert session.state is StaffState.MENU
    assert session.message_notice == Notice("removed", (("count", 1),))


def test_staff_message_after_a_cancelled_deposit(orders):
    session = logged_in()
    session.start_deposit(T0)
    session.submit_reference("A-1", T0, orders.get, bank())
    effects = session.abort_deposit(T0 + SEC)
    assert effects == [ReleaseReservation(1)]
    assert session.state is StaffState.DEPOSIT_AWAITING_REFERENCE
    assert session.message_notice == Notice("deposit_cancelled", (("number", 1),))
    assert session.error_notice == Notice()
    assert session.current_compartment is None
    assert session.abort_deposit(T0) == []  # nothing left to cancel


def test_staff_error_is_cleared_by_a_good_second_login(orders):
    session = logged_in(StaffPolicy(four_eyes_deposit=True))
    session.start_deposit(T0)
    assert session.state is StaffState.AWAITING_SECOND_CARD
    directory = StaffDirectory(ALICE, BOB)
    session.card_presented(BOB.uid, T0)
    session.submit_pin(wrong(BOB.pin), T0, directory.find)
    assert session.error_notice == Notice("login_failed")
    assert session.state is StaffState.AWAITING_SECOND_CARD
    session.card_presented(BOB.uid, T0)
    effects = session.submit_pin(BOB.pin, T0, directory.find)
    assert effects == [ReportEvent(EventType.STAFF_LOGIN, "staff logged in", staff_ids=("bob",))]
    assert session.state is StaffState.DEPOSIT_AWAITING_REFERENCE
    assert session.error_notice == Notice() and session.error == ""
    assert session.staff_ids == ("alice", "bob")


def test_staff_error_is_cleared_by_a_good_first_login():
    session = StaffSession(StaffPolicy(), AttemptThrottle())
    directory = StaffDirectory(ALICE)
    session.card_presented(ALICE.uid, T0)
    session.submit_pin(wrong(ALICE.pin), T0, directory.find)
    assert session.error_notice == Notice("login_failed")
    assert session.state is StaffState.LOGGED_OUT and session.expires_at is None
    session.card_presented(ALICE.uid, T0)
    session.submit_pin(ALICE.pin, T0, directory.find)
    assert session.error_notice == Notice() and session.error == ""


def test_staff_login_wait_names_the_seconds():
    throttle = AttemptThrottle()
    session = StaffSession(StaffPolicy(), throttle)
    for _ in range(4):
        throttle.record_failure(T0)
    session.card_presented(ALICE.uid, T0)
    assert session.submit_pin(ALICE.pin, T0 + SEC, StaffDirectory(ALICE).find) == []
    assert session.error_notice == Notice("login_wait", (("seconds", 2),))
    assert session.error == "too many failed logins: wait 2 s"
    assert session.state is StaffState.AWAITING_PIN


def test_staff_submit_pin_outside_the_pin_states_is_ignored():
    session = logged_in()
    assert session.submit_pin(ALICE.pin, T0, StaffDirectory(ALICE).find) == []
    assert session.state is StaffState.MENU and session.staff_ids == ("alice",)


# ------------------------------------------- door signals of the wrong kind

def test_pickup_door_closed_of_a_lower_or_higher_compartment_is_ignored(passport, book):
    pickup = default_pickup()
    pickup.submit_code(passport.code, T0, book.find)
    pickup.submit_pin(passport.pin, T0)
    pickup.door_opened(4, T0)
    for other in (3, 5, 1):
        pickup.door_closed(other, T0)
        assert pickup.state is ST.DOOR_OPEN
    pickup.door_closed(4, T0)
    assert pickup.state is ST.DONE


def test_confirm_door_closed_only_in_door_open(passport, book):
    pickup = PickupSession(PickupPolicy(), AttemptThrottle(), has_door_sensors=False)
    pickup.confirm_door_closed(T0)
    assert pickup.state is ST.IDLE
    pickup.submit_code(issue("NOPE").code, T0, book.find)
    pickup.confirm_door_closed(T0)
    assert pickup.state is ST.UNKNOWN_CODE
    pickup.submit_code(passport.code, T0, book.find)
    pickup.confirm_door_closed(T0)
    assert pickup.state is ST.AWAITING_PIN
    pickup.submit_pin(passport.pin, T0)
    pickup.confirm_door_closed(T0)
    assert pickup.state is ST.DOOR_OPENING, "no handover was recorded yet"
    pickup.unlock_result(4, True, "", T0)
    assert pickup.state is ST.DOOR_OPEN
    pickup.confirm_door_closed(T0)
    assert pickup.state is ST.DONE


@pytest.mark.parametrize("which, malformed, next_state", [
    ("passport", "12", ST.DOOR_OPENING),
    ("id_card", "1234567", ST.AWAITING_PIN_LETTER),
])
def test_a_reason_on_screen_is_cleared_by_the_next_step(which, malformed, next_state, request):
    issued = request.getfixturevalue(which)
    pickup = default_pickup()
    pickup.submit_code(issued.code, T0, request.getfixturevalue("book").find)
    pickup.submit_pin(malformed, T0)
    assert pickup.error_detail != ""
    pickup.submit_pin(issued.pin, T0)
    assert pickup.state is next_state and pickup.error_detail == ""


def test_a_reason_is_cleared_when_the_order_locks(passport, book):
    pickup = guessing_at_leisure(passport, book)
    for _ in range(4):
        pickup.submit_pin(wrong(passport.pin), T0)
    pickup.submit_pin("12", T0)
    assert pickup.error_detail != ""
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.state is ST.LOCKED and pickup.error_detail == ""


# ------------------------------------------ staff intents in the wrong state

def in_service_opening() -> StaffSession:
    session = logged_in()
    session.open_for_service(2, "cleaning", T0)
    assert session.state is StaffState.SERVICE_DOOR_OPEN
    return session


def in_removal() -> StaffSession:
    session = logged_in()
    session.start_removal([("OLD-1", 3)], T0)
    assert session.state is StaffState.REMOVAL_DOOR_OPEN
    return session


@pytest.mark.parametrize("open_door", [in_service_opening, in_removal])
def test_no_deposit_starts_or_aborts_while_another_door_is_open(open_door):
    session = open_door()
    state, current = session.state, session.current_compartment
    assert session.start_deposit(T0) == []
    assert session.abort_deposit(T0) == []
    assert session.finish_deposits(T0) == []
    assert (session.state, session.current_compartment) == (state, current)
    assert session.message_notice == Notice()


def test_reference_of_64_characters_is_looked_up_65_are_refused(orders):
    session = logged_in()
    session.start_deposit(T0)
    session.submit_reference("R" * 64, T0, orders.get, bank())
    assert session.error_notice.code == "unknown_order"
    session.submit_reference("R" * 65, T0, orders.get, bank())
    assert session.error_notice == Notice("not_reference")
    session.submit_reference("A-\x001", T0, orders.get, bank())
    assert session.error_notice == Notice("not_reference")
    session.submit_reference("  A-1  ", T0, orders.get, bank())
    assert session.state is StaffState.DEPOSIT_DOOR_OPEN and session.current_order == "A-1"


def test_large_compartment_numbers_are_matched_by_value():
    session = logged_in()
    number = int("300")  # a number built at run time, not a cached small int
    session.open_for_service(number, "cleaning", T0)
    effects = session.unlock_result(int("300"), False, "", True, T0)
    assert of_type(effects, SetOutOfService)[0].compartment == 300
    session.open_for_service(int("301"), "cleaning", T0)
    session.door_closed(int("301"), T0)
    assert session.state is StaffState.MENU
    assert session.message_notice == Notice("service_closed", (("number", 301),))


# ----------------------------------------------------- throttle extremes

def test_an_alarm_threshold_of_one_fires_on_the_first_failure():
    assert AttemptThrottle(alarm_after=1).record_failure(T0) is True
    assert AttemptThrottle(alarm_after=1).record_refused(T0) is True


def test_refused_attempts_leave_the_window_at_exactly_fifteen_minutes():
    throttle = AttemptThrottle()
    throttle.record_refused(T0)
    throttle.record_refused(T0 + 15 * 60 * SEC - TICK)
    assert throttle.recent_failures == 2
    throttle.record_refused(T0 + 15 * 60 * SEC)
    assert throttle.recent_failures == 2  # the first one dropped out


def test_compartment_is_shown_only_once_the_door_opens(passport, book):
    pickup = guessing_at_leisure(passport, book)
    assert pickup.compartment is None
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.state is ST.WRONG_PIN and pickup.compartment is None
    for _ in range(4):
        pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.state is ST.LOCKED and pickup.compartment is None


def test_compartment_is_hidden_after_a_declined_pin_letter(id_card, book):
    pickup = default_pickup()
    pickup.submit_code(id_card.code, T0, book.find)
    pickup.submit_pin(id_card.pin, T0)
    assert pickup.compartment is None
    pickup.confirm_pin_letter(False, T0)
    assert pickup.state is ST.PIN_LETTER_DECLINED and pickup.compartment is None



def test_a_door_signal_before_the_pin_hands_nothing_over(passport, book):
    # A sensor glitch (or a forced door) while the citizen types must never
    # count as the handover: only DOOR_OPENING listens for the opening.
    pickup = guessing_at_leisure(passport, book)
    assert pickup.door_opened(4, T0) == [] and pickup.state is ST.AWAITING_PIN
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.door_opened(4, T0) == [] and pickup.state is ST.WRONG_PIN
    assert pickup.door_failed(4, "x", T0) == [] and pickup.state is ST.WRONG_PIN
    assert pickup.unlock_result(4, False, "x", T0) == [] and pickup.state is ST.WRONG_PIN
