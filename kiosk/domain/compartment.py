"""Compartments: where a document waits for its citizen.

A compartment has a fixed place in the cabinet (column, row, height class)
and a size. Its state says what the kiosk may do with it next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Size(str, Enum):
    S = "S"
    M = "M"
    L = "L"

    @property
    def rank(self) -> int:
        return "SML".index(self.value)


class HeightClass(str, Enum):
    LOW = "low"  # reachable from a wheelchair (380-1220 mm)
    STANDARD = "standard"
    HIGH = "high"


class CompartmentState(str, Enum):
    FREE = "free"
    RESERVED = "reserved"  # assigned to a deposit that is under way
    OCCUPIED = "occupied"  # a document is inside, door closed
    OPEN = "open"  # door open for handover, removal or service
    OUT_OF_SERVICE = "out_of_service"
    # The kiosk cannot know what is inside (a crash while its door was open,
    # a handover cut between the unlock pulse and the door opening): staff
    # must look and say. Never opened for a citizen, never chosen for a deposit.
    NEEDS_INSPECTION = "needs_inspection"


@dataclass(frozen=True)
class Compartment:
    number: int
    size: Size
    column: int
    row: int
    height_class: HeightClass = HeightClass.STANDARD
    state: CompartmentState = CompartmentState.FREE
    order_reference: str | None = None

    @property
    def is_low(self) -> bool:
        return self.height_class is HeightClass.LOW

    def with_state(self, state: CompartmentState, order_reference: str | None = ...) -> Compartment:
        if order_reference is ...:
            order_reference = self.order_reference
        return replace(self, state=state, order_reference=order_reference)


def choose_compartment(
    compartments: list[Compartment], size: Size, needs_low: bool
) -> Compartment | None:
    """The free compartment that fits a document best.

    Smallest fitting size first, so large compartments stay free for
    folders. Orders that ask for accessibility get a low compartment if any
    fits; other orders avoid low ones while higher ones are free, so low
    compartments stay available for the people who need them.
    """
    fitting = [
        c for c in compartments if c.state is CompartmentState.FREE and c.size.rank >= size.rank
    ]
    if not fitting:
        return None

    def preference(c: Compartment) -> tuple:
        low_penalty = (not c.is_low) if needs_low else c.is_low
        return (low_penalty, c.size.rank, c.number)

    return min(fitting, key=preference)
