"""Effects: what a session asks the kiosk core to do.

Sessions never touch hardware or storage themselves. They return these
values, and the core carries them out in one transaction each, so the
state machines stay pure and testable without any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import PickupOrder


class UnlockPurpose(str, Enum):
    HANDOVER = "handover"
    DEPOSIT = "deposit"
    REMOVAL = "removal"
    SERVICE = "service"
    RETURN = "return"  # the return compartment for old ID cards
    INSPECTION = "inspection"  # staff look into a compartment that needs inspection


class InspectionOutcome(str, Enum):
    """What staff found in a compartment that needed inspection."""

    INSIDE = "inside"  # the order's document is inside
    EMPTY = "empty"  # the compartment is empty
    OTHER = "other"  # something else is inside (or the document is damaged): to the counter


class Problem(str, Enum):
    """What a citizen reports at the open door (kiosk.domain.problem_report)."""

    COMPARTMENT_EMPTY = "compartment_empty"
    NOT_MY_DOCUMENT = "not_my_document"
    DOOR_STUCK = "door_stuck"  # does not open, or does not close


@dataclass(frozen=True)
class UnlockCompartment:
    compartment: int
    purpose: UnlockPurpose
    order_reference: str = ""
    staff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordFailedPin:
    order_reference: str
    attempts: int
    locked: bool


@dataclass(frozen=True)
class RecordHandover:
    order_reference: str
    compartment: int
    pin_letter_confirmed: bool


@dataclass(frozen=True)
class ReserveCompartment:
    compartment: int
    order_reference: str


@dataclass(frozen=True)
class ReleaseReservation:
    compartment: int


@dataclass(frozen=True)
class RecordDeposit:
    order_reference: str
    compartment: int
    pickup_deadline: datetime
    staff_ids: tuple[str, ...]


@dataclass(frozen=True)
class RecordRemoval:
    order_reference: str
    compartment: int
    staff_ids: tuple[str, ...]


@dataclass(frozen=True)
class SetOutOfService:
    compartment: int
    reason: str
    staff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetInService:
    compartment: int
    staff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolveInspection:
    """Staff looked into a compartment that needed inspection and said what they found."""

    compartment: int
    outcome: InspectionOutcome
    staff_ids: tuple[str, ...]
    # Where a found document now waits for its citizen (a completed deposit).
    pickup_deadline: datetime | None = None


@dataclass(frozen=True)
class ReportEvent:
    """Something the registry should hear about: alarms, logins, service openings."""

    type: EventType
    detail: str
    order_reference: str = ""
    compartment: int = 0
    staff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportProblem:
    """The citizen says something is wrong at the door: hold the handover for staff."""

    problem: Problem
    order_reference: str
    compartment: int
    # The session's copy of the order (the store may have dropped it once the
    # registry confirmed the collection).
    held: PickupOrder | None = None


Effect = (
    UnlockCompartment
    | RecordFailedPin
    | RecordHandover
    | ReserveCompartment
    | ReleaseReservation
    | RecordDeposit
    | RecordRemoval
    | SetOutOfService
    | SetInService
    | ResolveInspection
    | ReportEvent
    | ReportProblem
)


class SessionStateError(Exception):
    """A session was asked for something its own state rules out (a bug, not bad input)."""
