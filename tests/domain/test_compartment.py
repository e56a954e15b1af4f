"""Choosing a compartment for a deposit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain_kit import compartment
from kiosk.domain.compartment import CompartmentState, HeightClass, Size, choose_compartment

LOW, STD, HIGH = HeightClass.LOW, HeightClass.STANDARD, HeightClass.HIGH
S, M, L = Size.S, Size.M, Size.L


def numbers(compartments):
    return [c.number for c in compartments]


def test_size_ranks_are_ordered():
    assert S.rank < M.rank < L.rank


def test_smallest_fitting_size_wins():
    bank = [compartment(1, L), compartment(2, M), compartment(3, S), compartment(4, M)]
    assert choose_compartment(bank, S, needs_low=False).number == 3
    assert choose_compartment(bank, M, needs_low=False).number == 2  # lowest number among equals
    assert choose_compartment(bank, L, needs_low=False).number == 1


def test_a_larger_compartment_is_used_when_the_size_itself_is_full():
    bank = [compartment(1, S, state=CompartmentState.OCCUPIED), compartment(2, L), compartment(3, M)]
    assert choose_compartment(bank, S, needs_low=False).number == 3


def test_nothing_fits():
    bank = [compartment(1, S), compartment(2, M)]
    assert choose_compartment(bank, L, needs_low=False) is None
    assert choose_compartment(bank, L, needs_low=True) is None
    assert choose_compartment([], S, needs_low=False) is None


@pytest.mark.parametrize("state", [s for s in CompartmentState if s is not CompartmentState.FREE])
def test_never_picks_a_compartment_that_is_not_free(state):
    bank = [compartment(1, S, LOW, state=state), compartment(2, S, STD, state=state)]
    assert choose_compartment(bank, S, needs_low=False) is None
    assert choose_compartment(bank, S, needs_low=True) is None
    bank.append(compartment(3, L, HIGH))
    assert choose_compartment(bank, S, needs_low=True).number == 3


def test_accessible_order_prefers_a_low_compartment_even_if_larger():
    bank = [compartment(1, S, STD), compartment(2, L, LOW), compartment(3, M, LOW)]
    assert choose_compartment(bank, S, needs_low=True).number == 3  # low, then smallest


def test_accessible_order_falls_back_to_a_higher_compartment():
    bank = [compartment(1, S, LOW, state=CompartmentState.OCCUPIED), compartment(2, M, HIGH), compartment(3, S, STD)]
    assert choose_compartment(bank, S, needs_low=True).number == 3


def test_other_orders_leave_low_compartments_free_while_higher_ones_are_free():
    bank = [compartment(1, S, LOW), compartment(2, L, HIGH), compartment(3, M, STD)]
    assert choose_compartment(bank, S, needs_low=False).number == 3


def test_other_orders_use_low_compartments_when_only_low_ones_remain():
    bank = [
        compartment(1, M, LOW),
        compartment(2, S, LOW),
        compartment(3, S, STD, state=CompartmentState.OCCUPIED),
        compartment(4, L, HIGH, state=CompartmentState.OUT_OF_SERVICE),
    ]
    assert choose_compartment(bank, S, needs_low=False).number == 2


def test_with_state_keeps_or_replaces_the_order_reference():
    c = compartment(1, S)
    reserved = c.with_state(CompartmentState.RESERVED, "ORD-1")
    assert (reserved.state, reserved.order_reference) == (CompartmentState.RESERVED, "ORD-1")
    occupied = reserved.with_state(CompartmentState.OCCUPIED)
    assert occupied.order_reference == "ORD-1"
    assert occupied.with_state(CompartmentState.FREE, None).order_reference is None
    assert c.state is CompartmentState.FREE  # frozen: the original is unchanged


compartments_strategy = st.lists(
    st.builds(
        compartment,
        number=st.integers(1, 40),
        size=st.sampled_from(Size),
        height=st.sampled_from(HeightClass),
        state=st.sampled_from(CompartmentState),
    ),
    max_size=12,
    unique_by=lambda c: c.number,
)


@given(compartments_strategy, st.sampled_from(Size), st.booleans())
@settings(max_examples=300)
def test_choice_is_the_best_free_fitting_compartment(bank, size, needs_low):
    chosen = choose_compartment(bank, size, needs_low)
    candidates = [c for c in bank if c.state is CompartmentState.FREE and c.size.rank >= size.rank]
    if not candidates:
        assert chosen is None
        return
    assert chosen in candidates
    preferred = [c for c in candidates if c.is_low == needs_low] or candidates
    # The height preference comes first, then the smallest size, then the number.
    assert chosen in preferred
    assert chosen.size.rank == min(c.size.rank for c in preferred)
    assert chosen.number == min(c.number for c in preferred if c.size is chosen.size)
