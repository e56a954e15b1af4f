"""Start-up reconciliation and inspection answers: the pure rules, no store, no hardware."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.compartment import Compartment, CompartmentState, Size
from kiosk.domain.effects import (
    InspectionOutcome,
    ResolveInspection,
    SetOutOfService,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.inspection import DoorReading, reconcile_intent, settle_at_start
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.records import RecordIntegrityError, apply_effect

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
DEADLINE = NOW + timedelta(days=14)


def order(status=OrderStatus.DEPOSITED, uncertain=Uncertainty.NONE, number=4) -> PickupOrder:
    return PickupOrder(
        "PO-1",
        DocumentKind.ID_CARD,
        status,
        requires_pin_letter_confirmation=True,
        compartment_number=number if status is not OrderStatus.ANNOUNCED else None,
        uncertain=uncertain,
    )


def compartment(state=CompartmentState.OCCUPIED, reference="PO-1") -> Compartment:
    return Compartment(4, Size.S, 1, 1, state=state, order_reference=reference)


@pytest.mark.parametrize(
    "purpose, state, status, doubt",
    [
        (
            UnlockPurpose.DEPOSIT,
            CompartmentState.RESERVED,
            OrderStatus.ANNOUNCED,
            Uncertainty.DEPOSIT,
        ),
        (
            UnlockPurpose.HANDOVER,
            CompartmentState.OCCUPIED,
            OrderStatus.DEPOSITED,
            Uncertainty.HANDOVER,
        ),
        (
            UnlockPurpose.REMOVAL,
            CompartmentState.OCCUPIED,
            OrderStatus.CANCELLED,
            Uncertainty.REMOVAL,
        ),
        (
            UnlockPurpose.SERVICE,
            CompartmentState.OCCUPIED,
            OrderStatus.DEPOSITED,
            Uncertainty.SERVICE,
        ),
    ],
)
@pytest.mark.parametrize("door", list(DoorReading))
def test_an_unfinished_unlock_of_a_compartment_with_a_document_needs_inspection(
    purpose, state, status, doubt, door
):
    change = reconcile_intent(
        UnlockIntent(4, purpose, "PO-1"), compartment(state), order(status), door, NOW
    )
    assert [c.state for c in change.compartments] == [CompartmentState.NEEDS_INSPECTION]
    assert change.compartments[0].order_reference == "PO-1"
    assert [o.uncertain for o in change.orders] == [doubt]
    assert [e.type for e in change.events] == [EventType.COMPARTMENT_NEEDS_INSPECTION]
    assert door.value in change.events[0].detail
    assert change.finished and change.finished[0].compartment == 4


def test_an_unfinished_handover_that_was_recorded_changes_nothing():
    change = reconcile_intent(
        UnlockIntent(4, UnlockPurpose.HANDOVER, "PO-1"),
        compartment(CompartmentState.OPEN, None),
        order(OrderStatus.COLLECTED),
        DoorReading.OPEN,
        NOW,
    )
    assert not change.compartments and not change.orders and change.finished


def test_a_service_opening_of_an_empty_compartment_needs_no_inspection():
    change = reconcile_intent(
        UnlockIntent(4, UnlockPurpose.SERVICE),
        compartment(CompartmentState.FREE, None),
        None,
        DoorReading.OPEN,
        NOW,
    )
    assert not change.compartments and not change.events and change.finished


def test_an_interrupted_old_id_return_is_reported_for_staff_to_check():
    change = reconcile_intent(
        UnlockIntent(20, UnlockPurpose.RETURN, "PO-1"),
        Compartment(20, Size.S, 4, 1, state=CompartmentState.OUT_OF_SERVICE),
        None,
        DoorReading.CLOSED,
        NOW,
    )
    assert [e.type for e in change.events] == [EventType.COMPARTMENT_NEEDS_INSPECTION]
    assert not change.compartments


def test_open_after_a_restart_is_freed_once_the_sensor_reads_closed_or_at_once_without_sensors():
    stuck = compartment(CompartmentState.OPEN, None)
    assert settle_at_start(stuck, DoorReading.OPEN, True).empty
    assert (
        settle_at_start(stuck, DoorReading.CLOSED, True).compartments[0].state
        is CompartmentState.FREE
    )
    assert (
        settle_at_start(stuck, DoorReading.UNKNOWN, False).compartments[0].state
        is CompartmentState.FREE
    )
    reserved = compartment(CompartmentState.RESERVED)
    freed = settle_at_start(reserved, DoorReading.CLOSED, True).compartments[0]
    assert freed.state is CompartmentState.FREE and freed.order_reference is None


def resolve(outcome, doubt, status):
    records = {4: compartment(CompartmentState.NEEDS_INSPECTION)}
    orders = {"PO-1": order(status, doubt)}
    return apply_effect(
        ResolveInspection(4, outcome, ("anna", "ben"), DEADLINE), records.get, orders.get, NOW
    )


@pytest.mark.parametrize(
    "outcome, doubt, status, order_after, compartment_after, consequence",
    [
        ("inside", "deposit", "announced", "deposited", "occupied", EventType.ORDER_DEPOSITED),
        ("empty", "deposit", "announced", "announced", "free", None),
        (
            "other",
            "deposit",
            "announced",
            "announced",
            "out_of_service",
            EventType.COMPARTMENT_OUT_OF_SERVICE,
        ),
        ("inside", "handover", "deposited", "deposited", "occupied", None),
        ("empty", "handover", "deposited", "collected", "free", EventType.ORDER_COLLECTED),
        ("other", "handover", "deposited", "removed", "out_of_service", EventType.ORDER_REMOVED),
        ("inside", "removal", "cancelled", "removed", "free", EventType.ORDER_REMOVED),
        ("empty", "removal", "cancelled", "removed", "free", EventType.ORDER_REMOVED),
        ("inside", "service", "deposited", "removed", "free", EventType.ORDER_REMOVED),
    ],
)
def test_what_staff_find_decides_the_order(
    outcome, doubt, status, order_after, compartment_after, consequence
):
    change = resolve(InspectionOutcome(outcome), Uncertainty(doubt), OrderStatus(status))
    assert [o.status.value for o in change.orders] == [order_after]
    assert change.orders[0].uncertain is Uncertainty.NONE
    assert [c.state.value for c in change.compartments] == [compartment_after]
    assert change.events[0].type is EventType.INSPECTION_RESOLVED
    assert change.events[0].staff_ids == ("anna", "ben") and outcome in change.events[0].detail
    assert [e.type for e in change.events[1:2]] == ([consequence] if consequence else [])
    if order_after == "collected":
        assert change.events[1].pin_letter_confirmed  # confirmed before the pulse went out


def test_resolving_a_compartment_that_needs_no_inspection_is_refused():
    records = {4: compartment(CompartmentState.OCCUPIED)}
    with pytest.raises(RecordIntegrityError):
        apply_effect(
            ResolveInspection(4, InspectionOutcome.EMPTY, ("anna",)), records.get, {}.get, NOW
        )


def test_out_of_service_does_not_hide_a_pending_inspection():
    records = {4: compartment(CompartmentState.NEEDS_INSPECTION)}
    change = apply_effect(SetOutOfService(4, "forced"), records.get, {}.get, NOW)
    assert not change.compartments
    assert [e.type for e in change.events] == [EventType.COMPARTMENT_OUT_OF_SERVICE]
