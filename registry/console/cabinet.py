"""A kiosk's cabinet drawn as it is built: columns side by side, each column's
compartments stacked by row, each as tall as its size.

Pure geometry from the layout the kiosk reported (column, row, size), so the
dashboard's picture matches the box staff stand in front of. The console
draws it as SVG (attributes, no inline styles: the page's CSP forbids them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from pickupbox.registry.v1 import registry_pb2 as pb

# Heights in units: an S compartment is one unit, M two, L three (roughly the
# proportions of ID-card, passport and parcel compartments).
UNITS = {pb.COMPARTMENT_SIZE_S: 1, pb.COMPARTMENT_SIZE_M: 2, pb.COMPARTMENT_SIZE_L: 3}
COLUMN_WIDTH = 96
UNIT_HEIGHT = 40
GAP = 4


class Cell(NamedTuple):  # a tuple, not a dataclass: made 4,800 times per dashboard
    number: int
    x: int
    y: int
    width: int
    height: int
    state: int  # pb.CompartmentState
    size: int  # pb.CompartmentSize
    order_reference: str


@dataclass(frozen=True)
class Cabinet:
    cells: tuple[Cell, ...]
    width: int
    height: int


def draw(compartments) -> Cabinet:
    """Places each compartment; unknown positions (column or row 0) go last in column 1."""
    compartments = list(compartments)
    places, width, height = _places(
        tuple((c.number, c.column, c.row, c.size) for c in compartments))
    cells = []
    for index, x, y, tall in places:
        compartment = compartments[index]
        cells.append(Cell(compartment.number, x, y, COLUMN_WIDTH, tall, compartment.state,
                          compartment.size, compartment.order_reference))
    return Cabinet(tuple(cells), width, height)


@lru_cache(maxsize=256)
def _places(layout: tuple[tuple[int, int, int, int], ...]
            ) -> tuple[tuple[tuple[int, int, int, int], ...], int, int]:
    """Where each compartment (number, column, row, size) goes: (its index in
    `layout`, x, y, height) in drawing order, and the cabinet's size. Kept per
    layout: a fleet has a few cabinet models, and a dashboard draws them all
    every time it updates."""
    columns: dict[int, list[int]] = {}
    for index, (_, column, _, _) in enumerate(layout):
        columns.setdefault(column or 1, []).append(index)
    places = []
    height = 0
    for position, column in enumerate(sorted(columns)):
        y = GAP
        for index in sorted(columns[column], key=lambda i: (layout[i][2] == 0, layout[i][2],
                                                            layout[i][0])):
            tall = UNITS.get(layout[index][3], 1) * UNIT_HEIGHT
            places.append((index, GAP + position * (COLUMN_WIDTH + GAP), y, tall))
            y += tall + GAP
        height = max(height, y)
    width = GAP + len(columns) * (COLUMN_WIDTH + GAP)
    return tuple(places), width, height
