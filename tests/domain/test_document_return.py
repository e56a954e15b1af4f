"""The old-ID return step as a pure state machine."""

from datetime import datetime, timedelta, timezone

from kiosk.domain.document_return import DocumentReturn, ReturnPolicy, ReturnState
from kiosk.domain.effects import ReportEvent, UnlockCompartment, UnlockPurpose
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def offered(sensors=True, compartment=9):
    machine = DocumentReturn(ReturnPolicy(compartment=compartment), has_door_sensors=sensors)
    machine.offer("REF-1", DocumentKind.ID_CARD, T0)
    return machine


def test_switched_off_without_a_compartment():
    machine = offered(compartment=None)
    assert machine.state is ReturnState.OFF
    assert machine.card_presented(True, T0) == []


def test_only_for_documents_that_replace_an_eid_card():
    for kind in DocumentKind:
        machine = DocumentReturn(ReturnPolicy(compartment=9), has_door_sensors=True)
        machine.offer("REF-1", kind, T0)
        expected = kind in (DocumentKind.ID_CARD, DocumentKind.RESIDENCE_PERMIT)
        assert (machine.state is ReturnState.OFFERED) is expected, kind


def test_happy_path_with_sensors():
    machine = offered()
    assert machine.card_presented(True, T0) == [UnlockCompartment(9, UnlockPurpose.RETURN, "REF-1")]
    assert machine.state is ReturnState.DOOR_OPENING
    assert machine.unlock_result(9, True, "", T0) == []
    assert machine.state is ReturnState.DOOR_OPENING  # the ack is not the opening
    machine.door_opened(9, T0)
    assert machine.confirm_door_closed(T0) == [], "with sensors only the sensor counts"
    effects = machine.door_closed(9, T0)
    assert machine.state is ReturnState.RETURNED
    assert [e.type for e in effects] == [EventType.OLD_DOCUMENT_RETURNED]
    assert effects[0].order_reference == "REF-1" and effects[0].compartment == 9


def test_without_sensors_the_person_confirms():
    machine = offered(sensors=False)
    machine.card_presented(True, T0)
    machine.unlock_result(9, True, "", T0)
    assert machine.state is ReturnState.DOOR_OPEN
    assert machine.confirm_door_closed(T0)[0].type is EventType.OLD_DOCUMENT_RETURNED


def test_other_cards_are_refused_and_nothing_opens():
    machine = offered()
    assert machine.card_presented(False, T0) == []
    assert machine.state is ReturnState.NOT_AN_EID
    assert machine.card_presented(True, T0)[0].compartment == 9


def test_door_that_does_not_open_is_reported():
    machine = offered()
    machine.card_presented(True, T0)
    effects = machine.unlock_result(9, False, "no ack", T0)
    assert machine.state is ReturnState.DOOR_FAILED
    assert effects == [ReportEvent(EventType.DOOR_FAILED, "no ack", "REF-1", 9)]


def test_timeouts():
    machine = offered()
    machine.tick(T0 + timedelta(seconds=59))
    assert machine.state is ReturnState.OFFERED
    machine.tick(T0 + timedelta(seconds=61))
    assert machine.state is ReturnState.OFF

    machine = offered()
    machine.card_presented(True, T0)
    machine.door_opened(9, T0)
    effects = machine.tick(T0 + timedelta(minutes=3))
    assert [e.type for e in effects] == [EventType.DOOR_LEFT_OPEN]
    assert machine.state is ReturnState.OFF


def test_skip_and_events_for_other_compartments_are_ignored():
    machine = offered()
    machine.card_presented(True, T0)
    assert machine.door_opened(3, T0) == [] and machine.state is ReturnState.DOOR_OPENING
    assert machine.skip(T0) == [] and machine.state is ReturnState.DOOR_OPENING, "no skipping an open door"
    machine = offered()
    machine.skip(T0)
    assert machine.state is ReturnState.OFF and machine.compartment is None
