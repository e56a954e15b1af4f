"""The old-ID return step at its edges: every timeout at its boundary, door
signals in the wrong state or for another compartment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.document_return import RETURNABLE_KINDS, DocumentReturn, ReturnPolicy, ReturnState
from kiosk.domain.effects import ReportEvent
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
SEC = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
RS = ReturnState


def machine(sensors: bool = True) -> DocumentReturn:
    m = DocumentReturn(ReturnPolicy(compartment=9), has_door_sensors=sensors)
    m.offer("REF-1", DocumentKind.ID_CARD, T0)
    assert m.state is RS.OFFERED
    return m


def test_defaults():
    policy = ReturnPolicy()
    assert policy.compartment is None
    assert policy.offer_timeout == 60 * SEC
    assert policy.door_opening_timeout == 15 * SEC
    assert policy.door_open_timeout == timedelta(minutes=2)
    assert policy.result_timeout == 10 * SEC
    assert RETURNABLE_KINDS == {DocumentKind.ID_CARD, DocumentKind.RESIDENCE_PERMIT}
    off = DocumentReturn(policy, has_door_sensors=True)
    assert off.state is RS.OFF and not off.active and off.compartment is None
    assert off.expires_at is None


def test_offer_timeout_boundary():
    m = machine()
    assert m.expires_at == T0 + 60 * SEC and m.compartment == 9 and m.active
    m.tick(T0 + 60 * SEC - TICK)
    assert m.state is RS.OFFERED
    assert m.tick(T0 + 60 * SEC) == []
    assert m.state is RS.OFF and m.compartment is None


def test_not_an_eid_restarts_the_offer_timeout():
    m = machine()
    m.card_presented(False, T0 + 10 * SEC)
    assert m.state is RS.NOT_AN_EID and m.expires_at == T0 + 70 * SEC
    m.card_presented(True, T0 + 20 * SEC)
    assert m.state is RS.DOOR_OPENING


def test_door_opening_timeout_boundary():
    m = machine()
    m.card_presented(True, T0)
    assert m.expires_at == T0 + 15 * SEC
    assert m.tick(T0 + 15 * SEC - TICK) == []
    effects = m.tick(T0 + 15 * SEC)
    assert effects == [
        ReportEvent(EventType.DOOR_FAILED, "no door-open signal in time", "REF-1", 9)]
    assert m.state is RS.DOOR_FAILED and m.expires_at == T0 + 25 * SEC


def test_door_open_timeout_boundary_with_sensors():
    m = machine()
    m.card_presented(True, T0)
    m.door_opened(9, T0 + SEC)
    assert m.state is RS.DOOR_OPEN and m.expires_at == T0 + SEC + 120 * SEC
    assert m.tick(T0 + 121 * SEC - TICK) == []
    effects = m.tick(T0 + 121 * SEC)
    assert effects == [
        ReportEvent(EventType.DOOR_LEFT_OPEN, "return compartment left open", "REF-1", 9)]
    assert m.state is RS.OFF


def test_door_open_timeout_without_sensors_starts_at_the_acknowledge():
    m = machine(sensors=False)
    m.card_presented(True, T0)
    m.unlock_result(9, True, "", T0 + 2 * SEC)
    assert m.state is RS.DOOR_OPEN and m.expires_at == T0 + 122 * SEC


def test_result_timeout_boundary():
    m = machine()
    m.card_presented(True, T0)
    m.door_opened(9, T0)
    m.door_closed(9, T0 + 5 * SEC)
    assert m.state is RS.RETURNED and m.expires_at == T0 + 15 * SEC
    m.tick(T0 + 15 * SEC - TICK)
    assert m.state is RS.RETURNED
    m.tick(T0 + 15 * SEC)
    assert m.state is RS.OFF


def test_unlock_failure_names_its_reason():
    m = machine()
    m.card_presented(True, T0)
    assert m.unlock_result(9, False, "", T0) == [
        ReportEvent(EventType.DOOR_FAILED, "the return compartment did not unlock", "REF-1", 9)]
    assert m.expires_at == T0 + 10 * SEC


@pytest.mark.parametrize("other", [8, 10, 1])
def test_signals_for_other_compartments_are_ignored(other):
    m = machine(sensors=False)
    m.card_presented(True, T0)
    assert m.unlock_result(other, False, "", T0) == []
    assert m.unlock_result(other, True, "", T0) == []
    assert m.door_opened(other, T0) == [] and m.door_failed(other, "x", T0) == []
    assert m.state is RS.DOOR_OPENING
    m.unlock_result(9, True, "", T0)
    assert m.door_closed(other, T0) == []
    assert m.state is RS.DOOR_OPEN


@pytest.mark.parametrize("state", ["offered", "not_an_eid", "returned", "off"])
def test_door_signals_outside_the_door_states_are_ignored(state):
    m = machine()
    if state == "not_an_eid":
        m.card_presented(False, T0)
    elif state == "returned":
        m.card_presented(True, T0)
        m.door_opened(9, T0)
        m.door_closed(9, T0)
    elif state == "off":
        m.skip(T0)
    before = m.state
    assert m.unlock_result(9, False, "", T0) == []
    assert m.door_opened(9, T0) == []
    assert m.door_failed(9, "x", T0) == []
    assert m.door_closed(9, T0) == []
    assert m.confirm_door_closed(T0) == []
    assert m.state is before


def test_a_second_offer_while_active_is_ignored():
    m = machine()
    m.offer("REF-2", DocumentKind.ID_CARD, T0 + 5 * SEC)
    assert m.expires_at == T0 + 60 * SEC
    m.card_presented(True, T0)
    m.door_opened(9, T0)
    assert m.door_closed(9, T0)[0].order_reference == "REF-1"


def test_skip_is_refused_while_the_door_moves():
    m = machine()
    m.card_presented(True, T0)
    m.skip(T0)
    assert m.state is RS.DOOR_OPENING
    m.door_opened(9, T0)
    m.skip(T0)
    assert m.state is RS.DOOR_OPEN


def test_a_late_unlock_result_changes_nothing_once_the_door_is_open_or_failed():
    m = machine()
    m.card_presented(True, T0)
    m.door_opened(9, T0)
    assert m.unlock_result(9, False, "late", T0) == []
    assert m.state is RS.DOOR_OPEN
    failed = machine()
    failed.card_presented(True, T0)
    failed.door_failed(9, "jammed", T0)
    assert failed.state is RS.DOOR_FAILED
    assert failed.unlock_result(9, False, "late", T0) == [] and failed.door_opened(9, T0) == []
    assert failed.state is RS.DOOR_FAILED
