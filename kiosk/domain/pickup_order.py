"""Pickup orders: one document waiting for one citizen.

Lifecycle::

    announced ──deposit──▶ deposited ──handover──▶ collected
        │                     │
        │                     ├──deadline passes──▶ expired ──staff removes──▶ removed
        │                     └──office cancels───▶ cancelled (staff removes the document)
        └──office cancels───▶ cancelled
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from kiosk.domain.compartment import Size


class DocumentKind(str, Enum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    CHILD_PASSPORT = "child_passport"
    RESIDENCE_PERMIT = "residence_permit"
    OTHER = "other"


class Uncertainty(str, Enum):
    """What the kiosk could not record for an order because it was cut off.

    An order with an uncertainty is never opened by its code and never
    deposited again until staff have inspected its compartment.
    """

    NONE = ""
    DEPOSIT = "deposit"  # the document may or may not have been put in
    HANDOVER = "handover"  # the citizen may or may not have taken it
    REMOVAL = "removal"  # staff may or may not have taken it out
    SERVICE = "service"  # its door was open for service across the crash


class OrderStatus(str, Enum):
    ANNOUNCED = "announced"
    DEPOSITED = "deposited"
    COLLECTED = "collected"
    EXPIRED = "expired"
    REMOVED = "removed"
    CANCELLED = "cancelled"
    # The citizen gets the document at the office counter: never put in the
    # box, or taken back out (the office's MarkReturnedToCounter). Only the
    # registry sets it; a kiosk drops such an order.
    RETURNED_TO_COUNTER = "returned_to_counter"


ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.ANNOUNCED: frozenset(
        {OrderStatus.DEPOSITED, OrderStatus.CANCELLED, OrderStatus.RETURNED_TO_COUNTER}
    ),
    OrderStatus.DEPOSITED: frozenset(
        {OrderStatus.COLLECTED, OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.REMOVED}
    ),
    OrderStatus.EXPIRED: frozenset({OrderStatus.REMOVED}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.REMOVED}),
    OrderStatus.COLLECTED: frozenset(),
    OrderStatus.REMOVED: frozenset({OrderStatus.RETURNED_TO_COUNTER}),
    OrderStatus.RETURNED_TO_COUNTER: frozenset(),
}

DEFAULT_PICKUP_DAYS = 14
DEFAULT_MAX_PIN_ATTEMPTS = 5


class OrderTransitionError(Exception):
    pass


def requires_pin_letter_confirmation(kind: DocumentKind) -> bool:
    """PAuswV s.17: documents with an eID function are released only after the
    citizen confirms, in text form, that the PIN letter arrived. That covers
    the ID card and the electronic residence permit (eAT)."""
    return kind in (DocumentKind.ID_CARD, DocumentKind.RESIDENCE_PERMIT)


@dataclass(frozen=True)
class PickupOrder:
    reference: str
    kind: DocumentKind
    status: OrderStatus
    size: Size = Size.S
    needs_low_compartment: bool = False
    requires_pin_letter_confirmation: bool = False
    # scrypt lookup key of the code and verifier of code + PIN; never plaintext.
    code_lookup: bytes = b""
    pin_verifier: str = ""
    compartment_number: int | None = None
    pickup_deadline: datetime | None = None
    failed_pin_attempts: int = 0
    locked: bool = False
    uncertain: Uncertainty = Uncertainty.NONE

    def transition(self, to: OrderStatus, **changes) -> PickupOrder:
        if to not in ALLOWED_TRANSITIONS[self.status]:
            raise OrderTransitionError(
                f"order {self.reference} cannot go from {self.status.value} to {to.value}"
            )
        return replace(self, status=to, **changes)

    def is_expired(self, now: datetime) -> bool:
        return (
            self.status is OrderStatus.DEPOSITED
            and self.pickup_deadline is not None
            and now >= self.pickup_deadline
        )
