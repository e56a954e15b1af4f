"""The citizen's pickup session, state by state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain_kit import POLICY, T0, OrderBook, issue, of_type, unlocks
from common.credentials import group_code, qr_payload
from kiosk.domain.effects import (
    RecordFailedPin,
    RecordHandover,
    ReportEvent,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind, OrderStatus
from kiosk.domain.pickup_session import PickupSession, PickupState
from kiosk.domain.throttle import AttemptThrottle

SEC = timedelta(seconds=1)
ST = PickupState


def wrong(pin: str) -> str:
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


@pytest.fixture
def passport():
    return issue("P-1", kind=DocumentKind.PASSPORT, compartment=4, pin="314159")


@pytest.fixture
def id_card():
    return issue("ID-1", kind=DocumentKind.ID_CARD, compartment=7, pin="271828")


@pytest.fixture
def book(passport, id_card):
    return OrderBook(passport, id_card)


def at_pin(session, issued, book, now=T0):
    assert session.submit_code(issued.code, now, book.find) == []
    assert session.state is ST.AWAITING_PIN
    return session


def opening(session, issued, book, now=T0):
    at_pin(session, issued, book, now)
    effects = session.submit_pin(issued.pin, now)
    if issued.order.requires_pin_letter_confirmation:
        assert effects == [] and session.state is ST.AWAITING_PIN_LETTER
        effects = session.confirm_pin_letter(True, now)
    assert session.state is ST.DOOR_OPENING
    return effects


# ---------------------------------------------------------------- happy paths

def test_happy_path_passport_with_door_sensors(pickup, passport, book):
    assert pickup.state is ST.IDLE
    assert pickup.submit_code(qr_payload(passport.code).encode(), T0, book.find) == []
    assert pickup.state is ST.AWAITING_PIN
    assert pickup.order_reference == "P-1"
    assert pickup.compartment is None, "the compartment is not shown before the PIN"
    assert pickup.attempts_left == POLICY.max_pin_attempts
    assert not pickup.requires_pin_letter

    effects = pickup.submit_pin(passport.pin, T0 + 5 * SEC)
    assert effects == [UnlockCompartment(4, UnlockPurpose.HANDOVER, "P-1")]
    assert pickup.state is ST.DOOR_OPENING
    assert pickup.compartment == 4

    assert pickup.unlock_result(4, True, "", T0 + 6 * SEC) == []
    assert pickup.state is ST.DOOR_OPENING, "an acknowledged pulse is not an open door"

    assert pickup.door_opened(4, T0 + 7 * SEC) == [RecordHandover("P-1", 4, pin_letter_confirmed=False)]
    assert pickup.state is ST.DOOR_OPEN
    assert pickup._code == ""

    assert pickup.door_closed(4, T0 + 20 * SEC) == []
    assert pickup.state is ST.DONE
    assert pickup.compartment == 4

    assert pickup.tick(T0 + 20 * SEC + POLICY.result_timeout) == []
    assert pickup.state is ST.IDLE
    assert pickup.order_reference is None


def test_happy_path_id_card_needs_pin_letter_confirmation(pickup, id_card, book):
    at_pin(pickup, id_card, book)
    assert pickup.requires_pin_letter
    assert pickup.submit_pin(id_card.pin, T0) == []
    assert pickup.state is ST.AWAITING_PIN_LETTER
    assert pickup.compartment is None

    effects = pickup.confirm_pin_letter(True, T0 + SEC)
    assert effects == [UnlockCompartment(7, UnlockPurpose.HANDOVER, "ID-1")]
    assert pickup.door_opened(7, T0 + 2 * SEC) == [RecordHandover("ID-1", 7, pin_letter_confirmed=True)]


def test_residence_permit_needs_pin_letter_too(pickup):
    permit = issue("EAT-1", kind=DocumentKind.RESIDENCE_PERMIT, compartment=2)
    at_pin(pickup, permit, OrderBook(permit))
    assert pickup.submit_pin(permit.pin, T0) == []
    assert pickup.state is ST.AWAITING_PIN_LETTER


@pytest.mark.parametrize("spelling", [str.lower, group_code, lambda c: group_code(c).lower().replace("-", " "),
                                      qr_payload])
def test_code_spellings(pickup, passport, book, spelling):
    pickup.submit_code(spelling(passport.code), T0, book.find)
    assert pickup.state is ST.AWAITING_PIN and pickup.order_reference == "P-1"


def test_next_citizen_can_start_right_after_done(pickup, passport, id_card, book):
    opening(pickup, passport, book)
    pickup.door_opened(4, T0)
    pickup.door_closed(4, T0)
    assert pickup.state is ST.DONE
    at_pin(pickup, id_card, book, T0 + SEC)
    assert pickup.order_reference == "ID-1"


# -------------------------------------------------------- identification fails

@pytest.mark.parametrize("raw", ["", "hello", "ABCD-EFGH-JK", "PBX2:ABCDEFGHJK", b"\xff\x00", "0" * 10, "x" * 500])
def test_invalid_code_is_not_counted_and_not_looked_up(pickup, throttle, book, raw):
    assert pickup.submit_code(raw, T0, book.find) == []
    assert pickup.state is ST.INVALID_CODE
    assert pickup.error_detail
    assert throttle.recent_failures == 0
    assert book.lookups == 0
    assert pickup.order_reference is None


def test_typo_in_a_real_code_is_invalid_not_unknown(pickup, passport, book):
    code = passport.code
    typo = code[:3] + ("A" if code[3] != "A" else "B") + code[4:]
    pickup.submit_code(typo, T0, book.find)
    assert pickup.state is ST.INVALID_CODE
    assert "typo" in pickup.error_detail


def test_unknown_code_counts_against_the_throttle(pickup, throttle, book):
    stranger = issue("NOT-HERE")
    assert pickup.submit_code(stranger.code, T0, book.find) == []
    assert pickup.state is ST.UNKNOWN_CODE
    assert throttle.recent_failures == 1
    assert book.lookups == 1


@pytest.mark.parametrize("status", [OrderStatus.ANNOUNCED, OrderStatus.COLLECTED, OrderStatus.CANCELLED,
                                    OrderStatus.REMOVED])
def test_not_available(pickup, throttle, status):
    order = issue("N-1", status=status)
    pickup.submit_code(order.code, T0, OrderBook(order).find)
    assert pickup.state is ST.NOT_AVAILABLE
    assert pickup.error_detail == status.value
    assert pickup.order_reference is None
    assert throttle.recent_failures == 0, "a real code is not a guess"
    assert pickup.submit_pin(order.pin, T0) == []


def test_deposited_without_compartment_is_not_available(pickup):
    order = issue("N-2", compartment=None)
    pickup.submit_code(order.code, T0, OrderBook(order).find)
    assert pickup.state is ST.NOT_AVAILABLE


@pytest.mark.parametrize(
    "status, deadline",
    [
        (OrderStatus.EXPIRED, T0 + timedelta(days=1)),
        (OrderStatus.DEPOSITED, T0 - SEC),
        (OrderStatus.DEPOSITED, T0),
    ],
)
def test_expired(pickup, status, deadline):
    order = issue("E-1", status=status, deadline=deadline)
    pickup.submit_code(order.code, T0, OrderBook(order).find)
    assert pickup.state is ST.EXPIRED
    assert pickup.submit_pin(order.pin, T0) == []


def test_deadline_passing_while_the_pin_is_typed_opens_nothing(pickup):
    order = issue("E-2", deadline=T0 + 30 * SEC)
    at_pin(pickup, order, OrderBook(order))
    assert pickup.submit_pin(order.pin, T0 + 31 * SEC) == []
    assert pickup.state is ST.EXPIRED
    assert pickup._code == ""


def test_deadline_passing_at_the_pin_letter_question_opens_nothing(pickup):
    order = issue("E-3", kind=DocumentKind.ID_CARD, deadline=T0 + 30 * SEC)
    at_pin(pickup, order, OrderBook(order))
    pickup.submit_pin(order.pin, T0 + 10 * SEC)
    assert pickup.state is ST.AWAITING_PIN_LETTER
    assert pickup.confirm_pin_letter(True, T0 + 40 * SEC) == []
    assert pickup.state is ST.EXPIRED


def test_handover_is_recorded_when_the_deadline_passes_while_the_door_opens(pickup):
    """The document is out once the door opens: the handover must be recorded
    even if the deadline passed in the seconds since the unlock."""
    order = issue("E-4", deadline=T0 + 5 * SEC)
    at_pin(pickup, order, OrderBook(order))
    assert unlocks(pickup.submit_pin(order.pin, T0 + SEC))
    assert pickup.door_opened(1, T0 + 8 * SEC) == [RecordHandover("E-4", 1, False)]


def test_locked_order(pickup, throttle):
    order = issue("L-1", locked=True, failed_pin_attempts=3)
    pickup.submit_code(order.code, T0, OrderBook(order).find)
    assert pickup.state is ST.LOCKED
    assert pickup.submit_pin(order.pin, T0) == []
    assert throttle.recent_failures == 0


# ------------------------------------------------------------------ the PIN

def test_wrong_pins_count_down_then_lock(pickup, throttle, passport, book):
    at_pin(pickup, passport, book)
    bad = wrong(passport.pin)
    assert pickup.submit_pin(bad, T0) == [RecordFailedPin("P-1", 1, locked=False)]
    assert (pickup.state, pickup.attempts_left) == (ST.WRONG_PIN, 2)
    assert pickup.submit_pin(bad, T0) == [RecordFailedPin("P-1", 2, locked=False)]
    assert (pickup.state, pickup.attempts_left) == (ST.WRONG_PIN, 1)
    effects = pickup.submit_pin(bad, T0)
    assert of_type(effects, RecordFailedPin) == [RecordFailedPin("P-1", 3, locked=True)]
    assert (pickup.state, pickup.attempts_left) == (ST.LOCKED, 0)
    assert pickup._code == ""
    # Locked means locked, even for the right PIN.
    assert pickup.submit_pin(passport.pin, T0) == []
    assert pickup.state is ST.LOCKED
    assert throttle.recent_failures == 3


def test_right_pin_after_a_wrong_one_still_opens(pickup, passport, book):
    at_pin(pickup, passport, book)
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.state is ST.WRONG_PIN
    assert unlocks(pickup.submit_pin(passport.pin, T0 + SEC)) == [UnlockCompartment(4, UnlockPurpose.HANDOVER, "P-1")]


def test_earlier_failures_stored_with_the_order_count(pickup):
    order = issue("F-1", failed_pin_attempts=POLICY.max_pin_attempts - 1)
    at_pin(pickup, order, OrderBook(order))
    assert pickup.attempts_left == 1
    effects = pickup.submit_pin(wrong(order.pin), T0)
    assert RecordFailedPin("F-1", POLICY.max_pin_attempts, locked=True) in effects
    assert pickup.state is ST.LOCKED


def test_pin_of_another_order_does_not_open(pickup, passport, id_card, book):
    at_pin(pickup, passport, book)
    effects = pickup.submit_pin(id_card.pin, T0)
    assert unlocks(effects) == [] and pickup.state is ST.WRONG_PIN


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 456"])
def test_malformed_pin_is_not_a_guess(pickup, throttle, passport, book, pin):
    at_pin(pickup, passport, book)
    assert pickup.submit_pin(pin, T0) == []
    assert pickup.state is ST.WRONG_PIN
    assert "6 digits" in pickup.error_detail
    assert pickup.attempts_left == POLICY.max_pin_attempts
    assert throttle.recent_failures == 0


def test_pin_outside_pin_entry_is_ignored(pickup, passport, book):
    assert pickup.submit_pin(passport.pin, T0) == []
    assert pickup.state is ST.IDLE


# ----------------------------------------------------------------- throttle

def test_throttle_blocks_codes_after_repeated_unknown_codes(throttle, passport, book):
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    for i in range(throttle.free_failures + 1):
        pickup.submit_code(issue(f"X-{i}").code, T0, book.find)
        assert pickup.state is ST.UNKNOWN_CODE
    lookups = book.lookups
    pickup.submit_code(passport.code, T0 + SEC, book.find)
    assert pickup.state is ST.THROTTLED
    assert pickup.error_detail.startswith("wait ")
    assert book.lookups == lookups, "no lookup while throttled"
    pickup.submit_code(passport.code, T0 + throttle.base_delay, book.find)
    assert pickup.state is ST.AWAITING_PIN


def test_throttle_blocks_pin_attempts_too(passport, book):
    throttle = AttemptThrottle(free_failures=0, base_delay=timedelta(seconds=30))
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    at_pin(pickup, passport, book)
    pickup.submit_pin(wrong(passport.pin), T0)
    assert throttle.wait_time(T0) == timedelta(seconds=30)
    assert unlocks(pickup.submit_pin(passport.pin, T0 + SEC)) == []
    assert pickup.state is ST.WRONG_PIN
    assert pickup.error_detail.startswith("wait ")
    assert pickup.attempts_left == POLICY.max_pin_attempts - 1, "a refused attempt is not a wrong PIN"
    assert unlocks(pickup.submit_pin(passport.pin, T0 + 30 * SEC)) != []


def test_throttled_session_says_when_to_retry(passport, book):
    throttle = AttemptThrottle(free_failures=0, base_delay=timedelta(seconds=40))
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    assert pickup.retry_at is None
    pickup.submit_code(issue("X-1").code, T0, book.find)
    assert pickup.state is ST.UNKNOWN_CODE and pickup.retry_at is None
    pickup.submit_code(passport.code, T0 + 10 * SEC, book.find)
    assert pickup.state is ST.THROTTLED
    assert pickup.retry_at == T0 + 40 * SEC, "the real end of the backoff, not a fixed minute"
    pickup.submit_code(passport.code, T0 + 40 * SEC, book.find)
    assert pickup.state is ST.AWAITING_PIN and pickup.retry_at is None


def test_throttled_pin_says_when_to_retry(passport, book):
    throttle = AttemptThrottle(free_failures=0, base_delay=timedelta(seconds=30))
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    at_pin(pickup, passport, book)
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.retry_at is None, "a wrong PIN is answered at once; the wait shows on the next try"
    pickup.submit_pin(passport.pin, T0 + 5 * SEC)
    assert pickup.retry_at == T0 + 30 * SEC
    pickup.cancel(T0 + 6 * SEC)
    assert pickup.retry_at is None


def test_document_kind_only_after_the_code_and_reference_only_on_the_receipt(pickup, id_card, book):
    assert pickup.accepted_kind is None
    pickup.submit_code(issue("X-1").code, T0, book.find)
    assert pickup.accepted_kind is None
    at_pin(pickup, id_card, book)
    assert pickup.accepted_kind is DocumentKind.ID_CARD
    assert pickup.receipt_reference is None, "no order data on the PIN screen beyond the kind"
    pickup.submit_pin(id_card.pin, T0)
    assert pickup.accepted_kind is DocumentKind.ID_CARD and pickup.receipt_reference is None
    pickup.confirm_pin_letter(True, T0)
    pickup.door_opened(7, T0)
    pickup.door_closed(7, T0)
    assert pickup.state is ST.DONE
    assert (pickup.accepted_kind, pickup.receipt_reference) == (DocumentKind.ID_CARD, "ID-1")
    pickup.tick(T0 + POLICY.result_timeout)
    assert (pickup.accepted_kind, pickup.receipt_reference) == (None, None)


def test_locked_order_shows_no_kind(pickup, passport, book):
    at_pin(pickup, passport, book)
    for _ in range(POLICY.max_pin_attempts):
        pickup.submit_pin(wrong(passport.pin), T0 + 60 * 60 * SEC)
    assert pickup.state is ST.LOCKED and pickup.accepted_kind is None


def test_repeated_guessing_raises_the_alarm_once(book):
    throttle = AttemptThrottle(free_failures=100, alarm_after=5)
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    alarms = []
    for i in range(8):
        effects = pickup.submit_code(issue(f"G-{i}").code, T0 + i * SEC, book.find)
        alarms += [e for e in effects if isinstance(e, ReportEvent)]
    assert [a.type for a in alarms] == [EventType.ATTEMPTS_THROTTLED]


def test_hammering_through_the_backoff_raises_the_alarm(book):
    throttle = AttemptThrottle(free_failures=0, base_delay=timedelta(minutes=1), alarm_after=5)
    pickup = PickupSession(POLICY, throttle, has_door_sensors=True)
    pickup.submit_code(issue("G-0").code, T0, book.find)
    alarms = []
    for i in range(1, 8):
        effects = pickup.submit_code(issue(f"G-{i}").code, T0 + i * SEC, book.find)
        assert pickup.state is ST.THROTTLED
        alarms += [e.type for e in effects if isinstance(e, ReportEvent)]
    assert alarms == [EventType.ATTEMPTS_THROTTLED]


# -------------------------------------------------------------- PIN letter

def test_pin_letter_declined(pickup, id_card, book):
    at_pin(pickup, id_card, book)
    pickup.submit_pin(id_card.pin, T0)
    assert pickup.confirm_pin_letter(False, T0) == []
    assert pickup.state is ST.PIN_LETTER_DECLINED
    assert pickup._code == ""
    assert pickup.confirm_pin_letter(True, T0) == [], "no second chance without the code"


def test_pin_letter_answer_outside_its_state_is_ignored(pickup, passport, book):
    at_pin(pickup, passport, book)
    assert pickup.confirm_pin_letter(True, T0) == []
    assert pickup.state is ST.AWAITING_PIN


# ----------------------------------------------------------------- the door

def test_door_failed_when_the_unlock_is_not_acknowledged(pickup, passport, book):
    opening(pickup, passport, book)
    effects = pickup.unlock_result(4, False, "", T0)
    assert effects == [
        ReportEvent(EventType.DOOR_FAILED, "the lock did not acknowledge", "P-1", 4),
        SetOutOfService(4, "door did not open for a pickup: the lock did not acknowledge"),
    ]
    assert pickup.state is ST.DOOR_FAILED
    assert pickup.error_detail == "the lock did not acknowledge"
    assert pickup._code == ""
    assert pickup.door_opened(4, T0) == [], "too late: nothing is handed over"


def test_door_failed_event(pickup, passport, book):
    opening(pickup, passport, book)
    effects = pickup.door_failed(4, "jammed", T0)
    assert [(e.type, e.detail) for e in of_type(effects, ReportEvent)] == [(EventType.DOOR_FAILED, "jammed")]
    assert [e.compartment for e in of_type(effects, SetOutOfService)] == [4]
    assert pickup.state is ST.DOOR_FAILED
    assert of_type(effects, RecordHandover) == []


def test_door_opening_timeout(pickup, passport, book):
    opening(pickup, passport, book)
    pickup.unlock_result(4, True, "", T0)
    assert pickup.tick(T0 + POLICY.door_opening_timeout - SEC) == []
    effects = pickup.tick(T0 + POLICY.door_opening_timeout)
    assert [e.type for e in of_type(effects, ReportEvent)] == [EventType.DOOR_FAILED]
    assert [e.compartment for e in of_type(effects, SetOutOfService)] == [4]
    assert pickup.state is ST.DOOR_FAILED


def test_after_a_door_failure_the_citizen_can_try_again(pickup, passport, book):
    opening(pickup, passport, book)
    pickup.unlock_result(4, False, "timeout", T0)
    effects = opening(pickup, passport, book, T0 + SEC)
    assert unlocks(effects) == [UnlockCompartment(4, UnlockPurpose.HANDOVER, "P-1")]


def test_door_events_of_other_compartments_are_ignored(pickup, passport, book):
    opening(pickup, passport, book)
    assert pickup.unlock_result(5, False, "", T0) == []
    assert pickup.door_failed(5, "x", T0) == []
    assert pickup.door_opened(5, T0) == []
    assert pickup.state is ST.DOOR_OPENING
    pickup.door_opened(4, T0)
    assert pickup.door_closed(5, T0) == []
    assert pickup.state is ST.DOOR_OPEN


def test_door_events_without_a_session_do_nothing(pickup):
    for n in (0, 1, 4):
        assert pickup.unlock_result(n, True, "", T0) == []
        assert pickup.door_opened(n, T0) == []
        assert pickup.door_failed(n, "", T0) == []
        assert pickup.door_closed(n, T0) == []
    assert pickup.state is ST.IDLE


def test_bank_without_door_sensors_hands_over_on_acknowledge(sensorless_pickup, passport, book):
    pickup = sensorless_pickup
    opening(pickup, passport, book)
    assert pickup.unlock_result(4, True, "", T0) == [RecordHandover("P-1", 4, False)]
    assert pickup.state is ST.DOOR_OPEN
    assert pickup.confirm_door_closed(T0 + 10 * SEC) == []
    assert pickup.state is ST.DONE


def test_bank_without_sensors_still_fails_on_missing_acknowledge(sensorless_pickup, passport, book):
    opening(sensorless_pickup, passport, book)
    effects = sensorless_pickup.unlock_result(4, False, "", T0)
    assert [e.type for e in of_type(effects, ReportEvent)] == [EventType.DOOR_FAILED]


def test_handover_is_recorded_once_even_if_the_sensor_also_reports(sensorless_pickup, passport, book):
    opening(sensorless_pickup, passport, book)
    first = sensorless_pickup.unlock_result(4, True, "", T0)
    second = sensorless_pickup.door_opened(4, T0)
    assert len(of_type(first + second, RecordHandover)) == 1


def test_with_sensors_the_door_closed_button_is_not_trusted(pickup, passport, book):
    opening(pickup, passport, book)
    pickup.door_opened(4, T0)
    assert pickup.confirm_door_closed(T0) == []
    assert pickup.state is ST.DOOR_OPEN


def test_door_left_open_is_reported(pickup, passport, book):
    opening(pickup, passport, book)
    pickup.door_opened(4, T0)
    effects = pickup.tick(T0 + POLICY.door_open_timeout)
    assert [(e.type, e.order_reference, e.compartment) for e in effects] == [(EventType.DOOR_LEFT_OPEN, "P-1", 4)]
    assert pickup.state is ST.IDLE


@pytest.mark.parametrize("door_state", ["opening", "open"])
def test_door_states_ignore_cancel_and_new_codes(pickup, passport, id_card, book, door_state):
    opening(pickup, passport, book)
    if door_state == "open":
        pickup.door_opened(4, T0)
    before = pickup.state
    assert pickup.cancel(T0) == []
    assert pickup.submit_code(id_card.code, T0, book.find) == []
    assert pickup.state is before
    assert pickup.order_reference == "P-1"
    expiry = pickup.expires_at
    pickup.extend(T0 + 10 * SEC)
    assert pickup.expires_at == expiry, "door timeouts are not extended"


# ---------------------------------------------------- timeouts and secrets

def test_pin_entry_times_out_and_forgets_the_code(pickup, passport, book):
    at_pin(pickup, passport, book)
    assert pickup._code == passport.code
    assert pickup.tick(T0 + POLICY.input_timeout - SEC) == []
    assert pickup.state is ST.AWAITING_PIN
    assert pickup.tick(T0 + POLICY.input_timeout) == []
    assert pickup.state is ST.IDLE
    assert pickup._code == "" and pickup.order_reference is None
    assert pickup.submit_pin(passport.pin, T0 + POLICY.input_timeout) == []


def test_pin_letter_question_times_out(pickup, id_card, book):
    at_pin(pickup, id_card, book)
    pickup.submit_pin(id_card.pin, T0)
    pickup.tick(T0 + POLICY.input_timeout)
    assert pickup.state is ST.IDLE and pickup._code == ""
    assert pickup.confirm_pin_letter(True, T0 + POLICY.input_timeout) == []


@pytest.mark.parametrize("make_error", ["invalid", "unknown", "locked"])
def test_error_screens_return_to_idle(pickup, book, make_error):
    if make_error == "invalid":
        pickup.submit_code("nope", T0, book.find)
    elif make_error == "unknown":
        pickup.submit_code(issue("U").code, T0, book.find)
    else:
        order = issue("L", locked=True)
        pickup.submit_code(order.code, T0, OrderBook(order).find)
    assert pickup.state is not ST.IDLE
    pickup.tick(T0 + POLICY.result_timeout - SEC)
    assert pickup.state is not ST.IDLE
    pickup.tick(T0 + POLICY.result_timeout)
    assert pickup.state is ST.IDLE and pickup.error_detail == ""


def test_cancel_forgets_everything(pickup, passport, book):
    at_pin(pickup, passport, book)
    pickup.submit_pin(wrong(passport.pin), T0)
    assert pickup.cancel(T0) == []
    assert pickup.state is ST.IDLE
    assert pickup._code == "" and pickup.order_reference is None and pickup.attempts_left is None


def test_code_is_cleared_once_the_door_is_open(pickup, passport, book):
    opening(pickup, passport, book)
    pickup.door_opened(4, T0)
    assert pickup._code == ""
    pickup.door_closed(4, T0)
    assert pickup._code == ""


def test_extend_pushes_the_expiry(pickup, passport, book):
    at_pin(pickup, passport, book)
    assert pickup.expires_at == T0 + POLICY.input_timeout
    pickup.extend(T0 + 50 * SEC)
    assert pickup.expires_at == T0 + 50 * SEC + POLICY.input_timeout
    pickup.tick(T0 + POLICY.input_timeout + SEC)
    assert pickup.state is ST.AWAITING_PIN
    assert unlocks(pickup.submit_pin(passport.pin, T0 + 100 * SEC))


def test_extend_on_an_error_screen_uses_the_result_timeout(pickup, book):
    pickup.submit_code("nope", T0, book.find)
    pickup.extend(T0 + 10 * SEC)
    assert pickup.expires_at == T0 + 10 * SEC + POLICY.result_timeout


def test_extend_when_idle_does_nothing(pickup):
    pickup.extend(T0)
    assert pickup.expires_at is None
    assert pickup.tick(T0 + timedelta(days=1)) == []


def test_new_code_is_refused_while_a_pin_is_awaited(pickup, passport, id_card, book):
    at_pin(pickup, passport, book)
    assert pickup.submit_code(id_card.code, T0, book.find) == []
    assert pickup.order_reference == "P-1"
