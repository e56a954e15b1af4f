"""Events the kiosk reports to the registry (through the outbox).

Each event gets its idempotency key when it is created, so a retry after a
lost acknowledgement can never count twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class EventType(str, Enum):
    ORDER_DEPOSITED = "order_deposited"
    ORDER_COLLECTED = "order_collected"
    ORDER_EXPIRED = "order_expired"
    ORDER_REMOVED = "order_removed"
    ORDER_LOCKED = "order_locked"
    COMPARTMENT_OUT_OF_SERVICE = "compartment_out_of_service"
    COMPARTMENT_IN_SERVICE = "compartment_in_service"
    COMPARTMENT_SERVICE_OPENED = "compartment_service_opened"
    DOOR_FORCED = "door_forced"
    DOOR_FAILED = "door_failed"
    DOOR_LEFT_OPEN = "door_left_open"
    ATTEMPTS_THROTTLED = "attempts_throttled"
    DEVICE_FAULT = "device_fault"
    STAFF_LOGIN = "staff_login"
    STAFF_LOGIN_FAILED = "staff_login_failed"
    OLD_DOCUMENT_RETURNED = "old_document_returned"
    COMPARTMENT_NEEDS_INSPECTION = "compartment_needs_inspection"
    INSPECTION_RESOLVED = "inspection_resolved"
    COMMAND_REFUSED = "command_refused"
    CLOCK_STEP = "clock_step"
    STORAGE_FAULT = "storage_fault"
    STAFF_CARD_LOCKED = "staff_card_locked"
    PROBLEM_REPORTED = "problem_reported"


@dataclass(frozen=True)
class KioskEvent:
    type: EventType
    occur_time: datetime
    order_reference: str = ""
    compartment_number: int = 0
    staff_ids: tuple[str, ...] = ()
    detail: str = ""
    pickup_deadline: datetime | None = None
    pin_letter_confirmed: bool = False
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict:
        return {
            "event_id": self.event_id,
            "type": self.type.value,
            "occur_time": self.occur_time.isoformat(),
            "order_reference": self.order_reference,
            "compartment_number": self.compartment_number,
            "staff_ids": list(self.staff_ids),
            "detail": self.detail,
            "pickup_deadline": self.pickup_deadline.isoformat() if self.pickup_deadline else None,
            "pin_letter_confirmed": self.pin_letter_confirmed,
        }

    @classmethod
    def from_json(cls, data: dict) -> KioskEvent:
        deadline = data.get("pickup_deadline")
        return cls(
            event_id=data["event_id"],
            type=EventType(data["type"]),
            occur_time=datetime.fromisoformat(data["occur_time"]),
            order_reference=data.get("order_reference", ""),
            compartment_number=data.get("compartment_number", 0),
            staff_ids=tuple(data.get("staff_ids", ())),
            detail=data.get("detail", ""),
            pickup_deadline=datetime.fromisoformat(deadline) if deadline else None,
            pin_letter_confirmed=data.get("pin_letter_confirmed", False),
        )
