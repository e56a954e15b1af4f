"""The staff session, as an explicit state machine.

Staff log in with their card and PIN. From the menu they can deposit
documents (one after another without leaving the deposit screen), remove
expired or cancelled ones, open a compartment for service, and set
compartments out of or back in service. With ``four_eyes_deposit`` a second
staff member must log in before a deposit starts.

Like the pickup session, every method returns effects and does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from common import credentials
from kiosk.domain.compartment import Compartment, CompartmentState, choose_compartment
from kiosk.domain.effects import (
    Effect,
    SessionStateError,
    InspectionOutcome,
    ReportEvent,
    RecordDeposit,
    RecordRemoval,
    ReleaseReservation,
    ReserveCompartment,
    ResolveInspection,
    SetInService,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DEFAULT_PICKUP_DAYS, OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.staff import StaffRecord
from kiosk.domain.throttle import AttemptThrottle


class StaffState(str, Enum):
    LOGGED_OUT = "logged_out"
    AWAITING_PIN = "awaiting_pin"
    MENU = "menu"
    AWAITING_SECOND_CARD = "awaiting_second_card"
    AWAITING_SECOND_PIN = "awaiting_second_pin"
    DEPOSIT_AWAITING_REFERENCE = "deposit_awaiting_reference"
    DEPOSIT_DOOR_OPEN = "deposit_door_open"
    REMOVAL_DOOR_OPEN = "removal_door_open"
    SERVICE_DOOR_OPEN = "service_door_open"
    # Staff look into a compartment that needs inspection and say what is inside.
    INSPECTION_DOOR_OPEN = "inspection_door_open"


DOOR_STATES = frozenset(
    {StaffState.DEPOSIT_DOOR_OPEN, StaffState.REMOVAL_DOOR_OPEN, StaffState.SERVICE_DOOR_OPEN,
     StaffState.INSPECTION_DOOR_OPEN}
)
LOGGED_IN_STATES = frozenset(
    {
        StaffState.MENU,
        StaffState.AWAITING_SECOND_CARD,
        StaffState.AWAITING_SECOND_PIN,
        StaffState.DEPOSIT_AWAITING_REFERENCE,
    }
) | DOOR_STATES


@dataclass(frozen=True)
class StaffPolicy:
    four_eyes_deposit: bool = False
    pickup_period: timedelta = timedelta(days=DEFAULT_PICKUP_DAYS)
    inactivity_timeout: timedelta = timedelta(minutes=5)
    pin_timeout: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Notice:
    """The last error or message as a stable code plus its values (no English),
    e.g. Notice("deposited", (("reference", "A-1"), ("number", 4))); code "" = none."""

    code: str = ""
    values: tuple[tuple[str, object], ...] = ()


StaffLookup = Callable[[str], StaffRecord | None]
OrderByReference = Callable[[str], PickupOrder | None]


class StaffSession:
    def __init__(self, policy: StaffPolicy, throttle: AttemptThrottle):
        self.policy = policy
        self.throttle = throttle
        self._logout()

    # ------------------------------------------------------------- view

    @property
    def state(self) -> StaffState:
        return self._state

    @property
    def staff_ids(self) -> tuple[str, ...]:
        return self._staff_ids

    @property
    def message(self) -> str:
        """Outcome of the last action, for the UI (e.g. "deposited in 4")."""
        return self._message

    @property
    def error(self) -> str:
        return self._error

    @property
    def error_notice(self) -> Notice:
        return self._error_notice

    @property
    def message_notice(self) -> Notice:
        return self._message_notice

    @property
    def current_compartment(self) -> int | None:
        return self._current[1] if self._current else None

    @property
    def current_order(self) -> str | None:
        return self._current[0] if self._current else None

    @property
    def removal_queue(self) -> tuple[tuple[str, int], ...]:
        return tuple(self._removals)

    @property
    def expires_at(self) -> datetime | None:
        return self._expires_at

    @property
    def logged_in(self) -> bool:
        return self._state in LOGGED_IN_STATES

    # ------------------------------------------------------------- login

    def card_presented(self, uid: str, now: datetime) -> list[Effect]:
        if self._state is StaffState.LOGGED_OUT:
            self._pending_uid = credentials.normalize_card_uid(uid)
            self._enter(StaffState.AWAITING_PIN, now, self.policy.pin_timeout)
        elif self._state is StaffState.AWAITING_SECOND_CARD:
            self._pending_uid = credentials.normalize_card_uid(uid)
            self._enter(StaffState.AWAITING_SECOND_PIN, now, self.policy.pin_timeout)
        return []

    def submit_pin(self, pin: str, now: datetime, find_staff: StaffLookup) -> list[Effect]:
        if self._state not in (StaffState.AWAITING_PIN, StaffState.AWAITING_SECOND_PIN):
            return []
        second = self._state is StaffState.AWAITING_SECOND_PIN
        wait = self.throttle.wait_time(now)
        if wait:
            self._set_error("login_wait", f"too many failed logins: wait {int(wait.total_seconds()) + 1} s",
                            seconds=int(wait.total_seconds()) + 1)
            return []
        record = find_staff(self._pending_uid)
        ok = (
            record is not None
            and record.active
            and credentials.check_verifier(record.pin_verifier, self._pending_uid, pin)
        )
        self._pending_uid = ""
        if not ok:
            effects: list[Effect] = []
            if self.throttle.record_failure(now):
                effects.append(ReportEvent(EventType.STAFF_LOGIN_FAILED, "repeated failed staff logins"))
            self._set_error("login_failed", "card or PIN not accepted")
            if second:
                self._enter(StaffState.AWAITING_SECOND_CARD, now)
            else:
                self._state = StaffState.LOGGED_OUT
                self._expires_at = None
            return effects
        if record is None:  # ok above implies a record; say so to type checkers too
            raise SessionStateError("staff login accepted without a staff record")
        if second:
            if record.staff_id in self._staff_ids:
                self._set_error("second_same", "the second login must be a different staff member")
                self._enter(StaffState.AWAITING_SECOND_CARD, now)
                return []
            self._staff_ids = self._staff_ids + (record.staff_id,)
            self._set_error("", "")
            self._enter(StaffState.DEPOSIT_AWAITING_REFERENCE, now)
        else:
            self._staff_ids = (record.staff_id,)
            self._set_error("", "")
            self._enter(StaffState.MENU, now)
        return [ReportEvent(EventType.STAFF_LOGIN, "staff logged in", staff_ids=(record.staff_id,))]

    def logout(self, now: datetime) -> list[Effect]:
        if self._state in DOOR_STATES:
            self._set_error("close_first", "close the open compartment first")
            return []
        self._logout()
        return []

    # ------------------------------------------------------------ deposit

    def start_deposit(self, now: datetime) -> list[Effect]:
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        if self.policy.four_eyes_deposit and len(self._staff_ids) < 2:
            self._enter(StaffState.AWAITING_SECOND_CARD, now)
        else:
            self._enter(StaffState.DEPOSIT_AWAITING_REFERENCE, now)
        return []

    def submit_reference(
        self,
        reference: str,
        now: datetime,
        find_order: OrderByReference,
        compartments: list[Compartment],
    ) -> list[Effect]:
        if self._state is not StaffState.DEPOSIT_AWAITING_REFERENCE:
            return []
        self._clear_feedback()
        self._touch(now)
        reference = reference.strip()
        if not reference or len(reference) > 64 or not reference.isprintable():
            self._set_error("not_reference", "this is not an order reference: scan the barcode on the document")
            return []
        order = find_order(reference)
        if order is None:
            self._set_error("unknown_order", f"order {reference} is not known at this kiosk: check the reference or resync",
                            reference=reference)
            return []
        if order.uncertain is not Uncertainty.NONE:
            self._set_error("order_inspection",
                            f"order {reference} awaits an inspection of its compartment: "
                            "resolve the inspection first", reference=reference)
            return []
        if order.status is not OrderStatus.ANNOUNCED:
            self._set_error("order_status", f"order {reference} cannot be deposited: it is {order.status.value}",
                            reference=reference, status=order.status.value)
            return []
        compartment = choose_compartment(compartments, order.size, order.needs_low_compartment)
        if compartment is None:
            self._set_error("no_compartment", f"no free compartment of size {order.size.value} or larger",
                            size=order.size.value)
            return []
        self._current = (reference, compartment.number)
        self._enter(StaffState.DEPOSIT_DOOR_OPEN, now)
        return [
            ReserveCompartment(compartment.number, reference),
            UnlockCompartment(compartment.number, UnlockPurpose.DEPOSIT, reference, self._staff_ids),
        ]

    def abort_deposit(self, now: datetime) -> list[Effect]:
        if self._state is not StaffState.DEPOSIT_DOOR_OPEN or self._current is None:
            return []
        number = self._current[1]
        self._current = None
        self._set_message("deposit_cancelled", f"deposit cancelled; compartment {number} is free again", number=number)
        self._enter(StaffState.DEPOSIT_AWAITING_REFERENCE, now)
        return [ReleaseReservation(number)]

    def finish_deposits(self, now: datetime) -> list[Effect]:
        if self._state in (StaffState.DEPOSIT_AWAITING_REFERENCE, StaffState.AWAITING_SECOND_CARD,
                           StaffState.AWAITING_SECOND_PIN):
            # A second staff member's login only holds for this deposit round.
            self._staff_ids = self._staff_ids[:1]
            self._enter(StaffState.MENU, now)
        return []

    # ------------------------------------------------------------ removal

    def start_removal(self, due: list[tuple[str, int]], now: datetime) -> list[Effect]:
        """Opens the compartments of expired or cancelled orders one after another."""
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        self._removals = list(due)
        self._removed = 0
        if not self._removals:
            self._set_message("removal_none", "no documents to remove")
            return []
        return self._open_next_removal(now)

    def _open_next_removal(self, now: datetime) -> list[Effect]:
        reference, number = self._removals.pop(0)
        self._current = (reference, number)
        self._enter(StaffState.REMOVAL_DOOR_OPEN, now)
        return [UnlockCompartment(number, UnlockPurpose.REMOVAL, reference, self._staff_ids)]

    # ------------------------------------------------------------ service

    def open_for_service(self, compartment: int, reason: str, now: datetime) -> list[Effect]:
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        reason = reason.strip()
        if not reason:
            self._set_error("no_reason", "give a reason for opening the compartment")
            return []
        self._current = ("", compartment)
        self._enter(StaffState.SERVICE_DOOR_OPEN, now)
        return [
            ReportEvent(EventType.COMPARTMENT_SERVICE_OPENED, reason, compartment=compartment,
                       staff_ids=self._staff_ids),
            UnlockCompartment(compartment, UnlockPurpose.SERVICE, "", self._staff_ids),
        ]

    def set_out_of_service(self, compartment: int, reason: str, now: datetime) -> list[Effect]:
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        self._touch(now)
        reason = reason.strip() or "set by staff"
        return [SetOutOfService(compartment, reason, self._staff_ids)]

    def set_in_service(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        self._touch(now)
        return [SetInService(compartment, self._staff_ids)]

    # --------------------------------------------------------- inspection

    def start_inspection(self, compartment: Compartment | None, now: datetime) -> list[Effect]:
        """Opens a compartment that needs inspection, so staff can say what is inside."""
        if self._state is not StaffState.MENU:
            return []
        self._clear_feedback()
        if compartment is None or compartment.state is not CompartmentState.NEEDS_INSPECTION:
            self._set_error("no_inspection", "this compartment does not need an inspection")
            return []
        reference = compartment.order_reference or ""
        self._current = (reference, compartment.number)
        self._enter(StaffState.INSPECTION_DOOR_OPEN, now)
        return [UnlockCompartment(compartment.number, UnlockPurpose.INSPECTION, reference,
                                  self._staff_ids)]

    def resolve_inspection(self, outcome: InspectionOutcome, now: datetime) -> list[Effect]:
        """The answer to "is the document inside?", recorded with the staff ids."""
        if self._state is not StaffState.INSPECTION_DOOR_OPEN or self._current is None:
            return []
        reference, number = self._current
        self._current = None
        self._set_message("inspection_resolved", f"compartment {number}: {outcome.value} recorded",
                          number=number, reference=reference, outcome=outcome.value)
        self._enter(StaffState.MENU, now)
        deadline = now + self.policy.pickup_period  # if the document is found: deposited now
        return [ResolveInspection(number, outcome, self._staff_ids, deadline)]

    # ------------------------------------------------------- door feedback

    def unlock_result(self, compartment: int, acknowledged: bool, detail: str,
                      has_door_sensors: bool, now: datetime) -> list[Effect]:
        if self._state not in DOOR_STATES or self._current is None or compartment != self._current[1]:
            return []
        if not acknowledged:
            return self.door_failed(compartment, detail or "the lock did not acknowledge", now)
        return []

    def door_failed(self, compartment: int, detail: str, now: datetime) -> list[Effect]:
        if self._state not in DOOR_STATES or self._current is None or compartment != self._current[1]:
            return []
        reference, number = self._current
        self._current = None
        effects: list[Effect] = [
            ReportEvent(EventType.DOOR_FAILED, detail, reference, number, self._staff_ids),
            SetOutOfService(number, f"door did not open: {detail}", self._staff_ids),
        ]
        self._set_error("door_failed", f"compartment {number} did not open and is now out of service", number=number)
        if self._state is StaffState.DEPOSIT_DOOR_OPEN:
            effects.insert(0, ReleaseReservation(number))
            self._set_error("door_failed_deposit", f"compartment {number} did not open and is now out of service; "
                            "scan the document again for another compartment", number=number)
            self._enter(StaffState.DEPOSIT_AWAITING_REFERENCE, now)
        elif self._state is StaffState.REMOVAL_DOOR_OPEN:
            return effects + self._after_removal_step(now)
        else:
            self._enter(StaffState.MENU, now)
        return effects

    def door_closed(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state not in DOOR_STATES or self._current is None or compartment != self._current[1]:
            return []
        if self._state is StaffState.INSPECTION_DOOR_OPEN:
            return []  # the answer is still to give; a shut door does not give it
        reference, number = self._current
        self._current = None
        if self._state is StaffState.DEPOSIT_DOOR_OPEN:
            deadline = now + self.policy.pickup_period
            self._set_message("deposited", f"order {reference} deposited in compartment {number}",
                              reference=reference, number=number)
            self._enter(StaffState.DEPOSIT_AWAITING_REFERENCE, now)
            return [RecordDeposit(reference, number, deadline, self._staff_ids)]
        if self._state is StaffState.REMOVAL_DOOR_OPEN:
            self._removed += 1
            return [RecordRemoval(reference, number, self._staff_ids)] + self._after_removal_step(now)
        self._set_message("service_closed", f"compartment {number} closed after service", number=number)
        self._enter(StaffState.MENU, now)
        return []

    def confirm_door_closed(self, now: datetime) -> list[Effect]:
        """Staff confirm the door is shut (the only signal on banks without sensors)."""
        if self._current is None:
            return []
        return self.door_closed(self._current[1], now)

    def _after_removal_step(self, now: datetime) -> list[Effect]:
        if self._removals:
            return self._open_next_removal(now)
        self._set_message("removed", f"{self._removed} document(s) removed", count=self._removed)
        self._enter(StaffState.MENU, now)
        return []

    # -------------------------------------------------------------- time

    def tick(self, now: datetime) -> list[Effect]:
        if self._expires_at is None or now < self._expires_at:
            return []
        if self._state in DOOR_STATES:
            # Never log out with a door open: raise the alarm once and wait.
            self._expires_at = None
            reference, number = self._current or ("", 0)
            return [ReportEvent(EventType.DOOR_LEFT_OPEN, "compartment left open during a staff session",
                               reference, number, self._staff_ids)]
        self._logout()
        return []

    def touch(self, now: datetime) -> None:
        """Any staff input counts as activity."""
        if self._state is not StaffState.LOGGED_OUT:
            self._touch(now)

    # ----------------------------------------------------------- helpers

    def _enter(self, state: StaffState, now: datetime, timeout: timedelta | None = None) -> None:
        self._state = state
        self._expires_at = now + (timeout or self.policy.inactivity_timeout)

    def _touch(self, now: datetime) -> None:
        timeout = self.policy.pin_timeout if self._state in (
            StaffState.AWAITING_PIN, StaffState.AWAITING_SECOND_PIN) else self.policy.inactivity_timeout
        self._expires_at = now + timeout

    def _clear_feedback(self) -> None:
        self._set_message("", "")
        self._set_error("", "")

    def _set_error(self, code: str, text: str, **values: object) -> None:
        """`text` is for logs and tools; `code` and `values` let the UI say it in any language."""
        self._error, self._error_notice = text, Notice(code, tuple(values.items()))

    def _set_message(self, code: str, text: str, **values: object) -> None:
        self._message, self._message_notice = text, Notice(code, tuple(values.items()))

    def _logout(self) -> None:
        self._state = StaffState.LOGGED_OUT
        self._staff_ids: tuple[str, ...] = ()
        self._pending_uid = ""
        self._current: tuple[str, int] | None = None
        self._removals: list[tuple[str, int]] = []
        self._removed = 0
        self._expires_at: datetime | None = None
        self._clear_feedback()


def removable_orders(orders: list[PickupOrder], compartments: list[Compartment], now: datetime) -> list[tuple[str, int]]:
    """Orders whose document must go back to the counter: expired or cancelled
    while still in a compartment."""
    by_number = {c.number: c for c in compartments}
    due = []
    for order in orders:
        if order.compartment_number is None:
            continue
        if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED) or order.is_expired(now):
            compartment = by_number.get(order.compartment_number)
            if compartment and compartment.order_reference == order.reference and (
                compartment.state in (CompartmentState.OCCUPIED, CompartmentState.OUT_OF_SERVICE)
            ):
                due.append((order.reference, order.compartment_number))
    return sorted(due, key=lambda item: item[1])
