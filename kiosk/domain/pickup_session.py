"""The citizen's pickup session, as an explicit state machine.

Happy path::

    idle ─code─▶ awaiting_pin ─PIN─▶ [awaiting_pin_letter] ─▶ door_opening
         ─door opened─▶ door_open ─door closed─▶ done ─▶ idle

Every failure is a state of its own, so the UI can say exactly what went
wrong and what to do next. Each method takes the current time and returns
the effects the core must carry out; the session itself does no I/O.

The only way to reach ``door_opening`` (the only state that emits an
unlock) is a verified code *and* PIN for a deposited, unlocked, unexpired
order, plus the PIN-letter confirmation where the document needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from common import credentials
from kiosk.domain.effects import (
    Effect,
    Problem,
    SessionStateError,
    RecordFailedPin,
    RecordHandover,
    ReportEvent,
    ReportProblem,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import (
    DEFAULT_MAX_PIN_ATTEMPTS,
    DocumentKind,
    OrderStatus,
    PickupOrder,
    Uncertainty,
)
from kiosk.domain.throttle import AttemptThrottle


class PickupState(str, Enum):
    IDLE = "idle"
    AWAITING_PIN = "awaiting_pin"
    AWAITING_PIN_LETTER = "awaiting_pin_letter"
    DOOR_OPENING = "door_opening"
    DOOR_OPEN = "door_open"
    DONE = "done"
    # failures
    INVALID_CODE = "invalid_code"
    UNKNOWN_CODE = "unknown_code"
    NOT_AVAILABLE = "not_available"
    EXPIRED = "expired"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"
    THROTTLED = "throttled"
    PIN_LETTER_DECLINED = "pin_letter_declined"
    DOOR_FAILED = "door_failed"
    # The citizen reported a problem at the door; staff are alerted.
    PROBLEM_REPORTED = "problem_reported"


# States in which the citizen can start over with a (new) code.
CODE_ENTRY_STATES = frozenset(
    {
        PickupState.IDLE,
        PickupState.INVALID_CODE,
        PickupState.UNKNOWN_CODE,
        PickupState.NOT_AVAILABLE,
        PickupState.EXPIRED,
        PickupState.LOCKED,
        PickupState.THROTTLED,
        PickupState.PIN_LETTER_DECLINED,
        PickupState.DOOR_FAILED,
        PickupState.DONE,
        PickupState.PROBLEM_REPORTED,
    }
)
PIN_ENTRY_STATES = frozenset({PickupState.AWAITING_PIN, PickupState.WRONG_PIN})
# While the door is moving or open the session must not silently vanish.
DOOR_STATES = frozenset({PickupState.DOOR_OPENING, PickupState.DOOR_OPEN})
# Where the citizen may report a problem with the door or the document.
PROBLEM_STATES = DOOR_STATES | {PickupState.DONE}
# States after an accepted code, in which the citizen is shown the document kind.
KIND_STATES = PIN_ENTRY_STATES | DOOR_STATES | {PickupState.AWAITING_PIN_LETTER, PickupState.DONE}


@dataclass(frozen=True)
class PickupPolicy:
    max_pin_attempts: int = DEFAULT_MAX_PIN_ATTEMPTS
    input_timeout: timedelta = timedelta(seconds=60)
    # How long a result or error stays on screen before the kiosk resets.
    result_timeout: timedelta = timedelta(seconds=20)
    door_opening_timeout: timedelta = timedelta(seconds=15)
    door_open_timeout: timedelta = timedelta(minutes=3)


OrderLookup = Callable[[str], PickupOrder | None]


class PickupSession:
    def __init__(self, policy: PickupPolicy, throttle: AttemptThrottle, has_door_sensors: bool):
        self.policy = policy
        self.throttle = throttle
        self.has_door_sensors = has_door_sensors
        self._reset()

    # ------------------------------------------------------------- view

    @property
    def state(self) -> PickupState:
        return self._state

    @property
    def order_reference(self) -> str | None:
        return self._order.reference if self._order else None

    @property
    def document_kind(self) -> DocumentKind | None:
        return self._order.kind if self._order else None

    @property
    def accepted_kind(self) -> DocumentKind | None:
        """The document kind the citizen may see once their code was accepted
        (PIN, PIN letter, door, receipt); nothing else of the order."""
        return self.document_kind if self._state in KIND_STATES else None

    @property
    def receipt_reference(self) -> str | None:
        """The office's order number (known from the letter) for the receipt."""
        return self.order_reference if self._state is PickupState.DONE else None

    @property
    def retry_at(self) -> datetime | None:
        """When a throttled citizen may try again (None unless throttled)."""
        return self._retry_at

    @property
    def compartment(self) -> int | None:
        """Shown to the citizen only once the door is being opened for them."""
        if self._state in DOOR_STATES or self._state is PickupState.DONE:
            return self._compartment
        return None

    @property
    def attempts_left(self) -> int | None:
        if self._order is None:
            return None
        return max(0, self.policy.max_pin_attempts - self._order.failed_pin_attempts)

    @property
    def requires_pin_letter(self) -> bool:
        return bool(self._order and self._order.requires_pin_letter_confirmation)

    @property
    def expires_at(self) -> datetime | None:
        return self._expires_at

    @property
    def error_detail(self) -> str:
        return self._detail

    # ----------------------------------------------------------- intents

    def submit_code(
        self,
        raw: str | bytes,
        now: datetime,
        find_order: OrderLookup,
        in_service: Callable[[int], bool] = lambda number: True,
    ) -> list[Effect]:
        """`in_service` tells whether a compartment may be opened for a citizen:
        one taken out of service (forced door, failed lock) waits for staff."""
        if self._state not in CODE_ENTRY_STATES:
            return []
        self._reset()
        try:
            code = credentials.parse_code_input(raw)
        except credentials.CredentialFormatError as exc:
            # A typo is not a guess: the check character caught it before any
            # lookup, so it does not count against the throttle.
            return self._fail(PickupState.INVALID_CODE, now, str(exc))
        wait = self.throttle.wait_time(now)
        if wait:
            effects = [self._throttle_alarm()] if self.throttle.record_refused(now) else []
            detail = f"wait {int(wait.total_seconds()) + 1} s"
            effects += self._fail(PickupState.THROTTLED, now, detail)
            self._retry_at = now + wait
            return effects
        order = find_order(code)
        if order is None:
            return self._fail(PickupState.UNKNOWN_CODE, now, "", count_failure=True)
        if order.locked:
            return self._fail(PickupState.LOCKED, now, "")
        if order.status is OrderStatus.EXPIRED or order.is_expired(now):
            return self._fail(PickupState.EXPIRED, now, "")
        if order.status is not OrderStatus.DEPOSITED or order.compartment_number is None:
            return self._fail(PickupState.NOT_AVAILABLE, now, order.status.value)
        if order.uncertain is not Uncertainty.NONE:
            # Cut off by a crash: staff must look before the code opens anything.
            return self._fail(PickupState.NOT_AVAILABLE, now, "awaiting inspection")
        if not in_service(order.compartment_number):
            return self._fail(PickupState.NOT_AVAILABLE, now, "compartment out of service")
        self._order = order
        self._code = code
        self._compartment = order.compartment_number
        self._enter(PickupState.AWAITING_PIN, now)
        return []

    def submit_pin(self, pin: str, now: datetime) -> list[Effect]:
        if self._state not in PIN_ENTRY_STATES or self._order is None:
            return []
        try:
            credentials.validate_pin(pin)
        except credentials.CredentialFormatError as exc:
            # Not a guess either: nothing was compared.
            self._detail = str(exc)
            self._enter(PickupState.WRONG_PIN, now, keep_detail=True)
            return []
        wait = self.throttle.wait_time(now)
        if wait:
            self._detail = f"wait {int(wait.total_seconds()) + 1} s"
            self._enter(PickupState.WRONG_PIN, now, keep_detail=True)
            self._retry_at = now + wait
            return [self._throttle_alarm()] if self.throttle.record_refused(now) else []
        if credentials.check_verifier(self._order.pin_verifier, self._code, pin):
            if self._order.requires_pin_letter_confirmation:
                self._enter(PickupState.AWAITING_PIN_LETTER, now)
                return []
            return self._open_door(now, pin_letter_confirmed=False)
        attempts = self._order.failed_pin_attempts + 1
        locked = attempts >= self.policy.max_pin_attempts
        self._order = self._replace_order(failed_pin_attempts=attempts, locked=locked)
        effects: list[Effect] = [RecordFailedPin(self._order.reference, attempts, locked)]
        if self.throttle.record_failure(now):
            effects.append(self._throttle_alarm())
        if locked:
            self._enter(PickupState.LOCKED, now)
            self._clear_secrets()
        else:
            self._detail = ""
            self._enter(PickupState.WRONG_PIN, now)
        return effects

    def confirm_pin_letter(self, confirmed: bool, now: datetime) -> list[Effect]:
        if self._state is not PickupState.AWAITING_PIN_LETTER:
            return []
        if not confirmed:
            self._enter(PickupState.PIN_LETTER_DECLINED, now)
            self._clear_secrets()
            return []
        return self._open_door(now, pin_letter_confirmed=True)

    def unlock_result(self, compartment: int, acknowledged: bool, detail: str, now: datetime) -> list[Effect]:
        if self._state is not PickupState.DOOR_OPENING or compartment != self._compartment:
            return []
        if not acknowledged:
            return self._door_failed(now, detail or "the lock did not acknowledge")
        if not self.has_door_sensors:
            # Without sensors the acknowledged pulse is all we will ever know;
            # the citizen confirms the door is closed at the end.
            return self._door_opened(now)
        return []

    def door_opened(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state is PickupState.DOOR_OPENING and compartment == self._compartment:
            return self._door_opened(now)
        return []

    def door_failed(self, compartment: int, detail: str, now: datetime) -> list[Effect]:
        if self._state is PickupState.DOOR_OPENING and compartment == self._compartment:
            return self._door_failed(now, detail or "the door did not open")
        return []

    def door_closed(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state is PickupState.DOOR_OPEN and compartment == self._compartment:
            self._enter(PickupState.DONE, now)
        return []

    def confirm_door_closed(self, now: datetime) -> list[Effect]:
        """The person says the door is shut; only trusted on banks without sensors."""
        if self._state is PickupState.DOOR_OPEN and not self.has_door_sensors:
            self._enter(PickupState.DONE, now)
        return []

    def report_problem(self, problem: Problem, now: datetime) -> list[Effect]:
        """"Compartment empty", "not my document", "door does not open / close".

        The handover is held for staff (kiosk.domain.problem_report); the
        screen then says what happens next. Only while the door is opening or
        open, or on the receipt right after.
        """
        if self._state not in PROBLEM_STATES or self._order is None or self._compartment is None:
            return []
        held, compartment = self._order, self._compartment
        self._clear_secrets()
        self._enter(PickupState.PROBLEM_REPORTED, now)
        self._detail = problem.value
        return [ReportProblem(problem, held.reference, compartment, held)]

    def extend(self, now: datetime) -> None:
        """The citizen asked for more time (accessibility: time limits can be extended)."""
        if self._state is not PickupState.IDLE and self._state not in DOOR_STATES:
            self._expires_at = now + self._timeout_for(self._state)

    def cancel(self, now: datetime) -> list[Effect]:
        if self._state not in DOOR_STATES:
            self._reset()
        return []

    def tick(self, now: datetime) -> list[Effect]:
        if self._expires_at is None or now < self._expires_at:
            return []
        if self._state is PickupState.DOOR_OPENING:
            return self._door_failed(now, "no door-open signal in time")
        effects: list[Effect] = []
        if self._state is PickupState.DOOR_OPEN:
            effects.append(
                ReportEvent(
                    EventType.DOOR_LEFT_OPEN,
                    "door still open after the handover",
                    self._order.reference if self._order else "",
                    self._compartment or 0,
                )
            )
        self._reset()
        return effects

    # ----------------------------------------------------------- helpers

    def _open_door(self, now: datetime, pin_letter_confirmed: bool) -> list[Effect]:
        if self._order is None or self._compartment is None:
            raise SessionStateError(f"pickup session in {self._state.value} has no order")
        if self._order.is_expired(now):
            # The deadline passed while the PIN was typed: the order was only
            # checked when the code was entered, and an expired order must
            # not open (the core may already have marked it expired).
            return self._fail(PickupState.EXPIRED, now, "")
        self._pin_letter_confirmed = pin_letter_confirmed
        self._enter(PickupState.DOOR_OPENING, now)
        return [UnlockCompartment(self._compartment, UnlockPurpose.HANDOVER, self._order.reference)]

    def _door_opened(self, now: datetime) -> list[Effect]:
        if self._order is None or self._compartment is None:
            raise SessionStateError(f"pickup session in {self._state.value} has no order")
        self._enter(PickupState.DOOR_OPEN, now)
        reference = self._order.reference
        self._clear_secrets()
        # The handover counts from the moment the document is reachable.
        return [RecordHandover(reference, self._compartment, self._pin_letter_confirmed)]

    def _door_failed(self, now: datetime, detail: str) -> list[Effect]:
        reference = self._order.reference if self._order else ""
        compartment = self._compartment or 0
        self._detail = detail
        self._enter(PickupState.DOOR_FAILED, now, keep_detail=True)
        self._clear_secrets()
        # Out of service until staff have looked: the lock may be jammed, or a
        # broken sensor may hide a door that did open.
        return [
            ReportEvent(EventType.DOOR_FAILED, detail, reference, compartment),
            SetOutOfService(compartment, f"door did not open for a pickup: {detail}"),
        ]

    def _fail(self, state: PickupState, now: datetime, detail: str, count_failure: bool = False) -> list[Effect]:
        effects: list[Effect] = []
        if count_failure and self.throttle.record_failure(now):
            effects.append(self._throttle_alarm())
        self._clear_secrets()
        self._order = None
        self._detail = detail
        self._enter(state, now, keep_detail=True)
        return effects

    def _throttle_alarm(self) -> ReportEvent:
        return ReportEvent(
            EventType.ATTEMPTS_THROTTLED,
            f"{self.throttle.recent_failures} failed or refused pickup attempts in a short time",
        )

    def _enter(self, state: PickupState, now: datetime, keep_detail: bool = False) -> None:
        self._state = state
        self._retry_at = None
        if not keep_detail:
            self._detail = ""
        self._expires_at = now + self._timeout_for(state)

    def _timeout_for(self, state: PickupState) -> timedelta:
        if state is PickupState.DOOR_OPENING:
            return self.policy.door_opening_timeout
        if state is PickupState.DOOR_OPEN:
            return self.policy.door_open_timeout
        if state in (PickupState.AWAITING_PIN, PickupState.WRONG_PIN, PickupState.AWAITING_PIN_LETTER):
            return self.policy.input_timeout
        return self.policy.result_timeout

    def _replace_order(self, **changes) -> PickupOrder:
        if self._order is None:
            raise SessionStateError(f"pickup session in {self._state.value} has no order")
        return replace(self._order, **changes)

    def _clear_secrets(self) -> None:
        self._code = ""

    def _reset(self) -> None:
        self._state = PickupState.IDLE
        self._order: PickupOrder | None = None
        self._code = ""
        self._compartment: int | None = None
        self._pin_letter_confirmed = False
        self._expires_at: datetime | None = None
        self._retry_at: datetime | None = None
        self._detail = ""
