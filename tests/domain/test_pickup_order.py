"""The pickup order lifecycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain_kit import T0, issue
from kiosk.domain.pickup_order import (
    ALLOWED_TRANSITIONS,
    DocumentKind,
    OrderStatus,
    OrderTransitionError,
    requires_pin_letter_confirmation,
)

A, D, C, E, R, X, T = (OrderStatus.ANNOUNCED, OrderStatus.DEPOSITED, OrderStatus.COLLECTED,
                       OrderStatus.EXPIRED, OrderStatus.REMOVED, OrderStatus.CANCELLED,
                       OrderStatus.RETURNED_TO_COUNTER)

# T: back at the counter, from an order never deposited or a document staff took out.
ALLOWED = {(A, D), (A, X), (A, T), (D, C), (D, E), (D, X), (D, R), (E, R), (X, R), (R, T)}


def order_in(status):
    return issue(status=status).order


@pytest.mark.parametrize("source", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_transition_table(source, target):
    order = order_in(source)
    if (source, target) in ALLOWED:
        moved = order.transition(target)
        assert moved.status is target
        assert order.status is source  # orders are immutable values
    else:
        with pytest.raises(OrderTransitionError, match=f"from {source.value} to {target.value}"):
            order.transition(target)


def test_table_matches_the_documented_lifecycle():
    assert {(s, t) for s, targets in ALLOWED_TRANSITIONS.items() for t in targets} == ALLOWED


def test_collected_only_once():
    collected = order_in(D).transition(C)
    for target in OrderStatus:
        with pytest.raises(OrderTransitionError):
            collected.transition(target)


def test_terminal_states():
    assert ALLOWED_TRANSITIONS[C] == frozenset() and ALLOWED_TRANSITIONS[T] == frozenset()
    assert ALLOWED_TRANSITIONS[R] == frozenset({T})


def test_transition_applies_changes():
    deadline = T0 + timedelta(days=14)
    order = order_in(A).transition(D, compartment_number=7, pickup_deadline=deadline)
    assert (order.status, order.compartment_number, order.pickup_deadline) == (D, 7, deadline)


@pytest.mark.parametrize(
    "kind, required",
    [
        (DocumentKind.ID_CARD, True),
        (DocumentKind.RESIDENCE_PERMIT, True),
        (DocumentKind.PASSPORT, False),
        (DocumentKind.CHILD_PASSPORT, False),
        (DocumentKind.OTHER, False),
    ],
)
def test_pin_letter_confirmation_only_for_documents_with_eid(kind, required):
    assert requires_pin_letter_confirmation(kind) is required
    assert issue(kind=kind).order.requires_pin_letter_confirmation is required


def test_is_expired_from_the_deadline_on():
    deadline = T0 + timedelta(days=14)
    order = issue(status=D, deadline=deadline).order
    assert not order.is_expired(deadline - timedelta(microseconds=1))
    assert order.is_expired(deadline)
    assert order.is_expired(deadline + timedelta(days=300))


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not OrderStatus.DEPOSITED])
def test_only_deposited_orders_expire_by_time(status):
    order = issue(status=D, deadline=T0).order
    assert not replace(order, status=status).is_expired(T0 + timedelta(days=1))


def test_deposited_order_without_deadline_never_expires():
    assert not issue(status=D, deadline=None).order.is_expired(T0 + timedelta(days=10_000))
