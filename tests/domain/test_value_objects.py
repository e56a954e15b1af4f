"""Value objects: frozen, with the defaults the rest of the code relies on,
and the audit event's JSON form both ways."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from common import credentials
from hardware.kerong import codec, legacy_codec
from kiosk.domain import compartment as compartment_module
from kiosk.domain import (
    document_return, effects, pickup_order, pickup_session, staff, staff_session,
)
from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)

FROZEN = [
    credentials.KdfParams,
    pickup_session.PickupPolicy,
    staff_session.StaffPolicy,
    staff_session.Notice,
    document_return.ReturnPolicy,
    staff.StaffRecord,
    pickup_order.PickupOrder,
    compartment_module.Compartment,
    KioskEvent,
    codec.Request,
    codec.Status,
    codec.Found,
    legacy_codec.Request,
    legacy_codec.Reply,
    legacy_codec.BoardStatus,
] + [
    cls for cls in vars(effects).values()
    if isinstance(cls, type) and cls.__module__ == effects.__name__
    and not issubclass(cls, (str, Exception))  # enums and errors are no value objects
]


@pytest.mark.parametrize("cls", FROZEN, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_value_objects_stay_frozen(cls):
    assert dataclasses.is_dataclass(cls), f"{cls.__name__} must stay a dataclass"
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} must stay frozen"


def test_every_effect_is_listed():
    names = {cls.__name__ for cls in FROZEN}
    for name in ("UnlockCompartment", "RecordFailedPin", "RecordHandover", "ReserveCompartment",
                 "ReleaseReservation", "RecordDeposit", "RecordRemoval", "SetOutOfService",
                 "SetInService", "ReportEvent"):
        assert name in names


def test_assignment_is_refused():
    event = effects.ReportEvent(EventType.DOOR_FAILED, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.detail = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Compartment(1, Size.S, 1, 0).state = CompartmentState.OPEN  # type: ignore[misc]


def test_report_event_defaults():
    # An event about no compartment in particular (a login, a throttle alarm)
    # names compartment 0: numbering starts at 1, so 0 is "none".
    event = effects.ReportEvent(EventType.STAFF_LOGIN, "staff logged in")
    assert (event.order_reference, event.compartment, event.staff_ids) == ("", 0, ())


def test_pickup_order_defaults():
    order = PickupOrder("R-1", DocumentKind.PASSPORT, OrderStatus.ANNOUNCED)
    assert order.size is Size.S
    assert order.needs_low_compartment is False
    assert order.requires_pin_letter_confirmation is False
    assert (order.code_lookup, order.pin_verifier) == (b"", "")
    assert order.compartment_number is None and order.pickup_deadline is None
    assert order.failed_pin_attempts == 0 and order.locked is False
    assert (pickup_order.DEFAULT_PICKUP_DAYS, pickup_order.DEFAULT_MAX_PIN_ATTEMPTS) == (14, 5)


def test_compartment_defaults():
    c = Compartment(3, Size.M, column=1, row=2)
    assert c.height_class is HeightClass.STANDARD
    assert c.state is CompartmentState.FREE
    assert c.order_reference is None
    assert not c.is_low and Compartment(3, Size.M, 1, 2, HeightClass.LOW).is_low


def test_with_state_can_clear_the_order_reference():
    c = Compartment(3, Size.M, 1, 2, state=CompartmentState.OCCUPIED, order_reference="R-1")
    assert c.with_state(CompartmentState.OPEN).order_reference == "R-1"
    assert c.with_state(CompartmentState.FREE, None).order_reference is None


def test_event_defaults():
    event = KioskEvent(EventType.STAFF_LOGIN, T0)
    assert event.order_reference == "" and event.compartment_number == 0
    assert event.staff_ids == () and event.detail == ""
    assert event.pickup_deadline is None and event.pin_letter_confirmed is False
    assert len(event.event_id) == 36
    assert event.event_id != KioskEvent(EventType.STAFF_LOGIN, T0).event_id


def test_event_json_round_trip_with_every_field():
    event = KioskEvent(EventType.ORDER_COLLECTED, T0, "R-1", 12, ("alice", "bob"), "detail",
                       T0.replace(day=17), True)
    data = event.to_json()
    assert data == {
        "event_id": event.event_id,
        "type": event.type.value,
        "occur_time": "2025-03-03T09:00:00+00:00",
        "order_reference": "R-1",
        "compartment_number": 12,
        "staff_ids": ["alice", "bob"],
        "detail": "detail",
        "pickup_deadline": "2025-03-17T09:00:00+00:00",
        "pin_letter_confirmed": True,
    }
    assert KioskEvent.from_json(data) == event


def test_event_json_without_a_deadline():
    event = KioskEvent(EventType.DOOR_FAILED, T0)
    data = event.to_json()
    assert data["pickup_deadline"] is None
    assert KioskEvent.from_json(data) == event


def test_event_from_minimal_json_uses_the_defaults():
    event = KioskEvent.from_json({"event_id": "e-1", "type": EventType.DOOR_FAILED.value,
                                  "occur_time": T0.isoformat()})
    assert event == KioskEvent(EventType.DOOR_FAILED, T0, event_id="e-1")
    assert event.compartment_number == 0 and event.pin_letter_confirmed is False
    assert event.pickup_deadline is None and event.staff_ids == ()
