"""A kiosk's cabinet drawn as it is built: columns side by side, each column's
compartments stacked by row, each as tall as its size.

Pure geometry from the layout the kiosk reported (column, row, size), so the
dashboard's picture matches the box staff stand in front of. The console
draws it as SVG (attributes, no inline styles: the page's CSP forbids them).
"""

from __future__ import annotations

from dataclasses import dataclass

from pickupbox.registry.v1 import registry_pb2 as pb

# Heights in units: an S compartment is one unit, M two, L three (roughly the
# proportions of ID-card, passport and parcel compartments).
UNITS = {pb.COMPARTMENT_SIZE_S: 1, pb.COMPARTMENT_SIZE_M: 2, pb.COMPARTMENT_SIZE_L: 3}
COLUMN_WIDTH = 96
UNIT_HEIGHT = 40
GAP = 4


@dataclass(frozen=True)
class Cell:
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
    columns: dict[int, list] = {}
    for compartment in compartments:
        columns.setdefault(compartment.column or 1, []).append(compartment)
    cells: list[Cell] = []
    height = 0
    for index, column in enumerate(sorted(columns)):
        y = GAP
        for compartment in sorted(columns[column], key=lambda c: (c.row == 0, c.row, c.number)):
            tall = UNITS.get(compartment.size, 1) * UNIT_HEIGHT
            cells.append(Cell(
                number=compartment.number, x=GAP + index * (COLUMN_WIDTH + GAP), y=y,
                width=COLUMN_WIDTH, height=tall, state=compartment.state,
                size=compartment.size, order_reference=compartment.order_reference,
            ))
            y += tall + GAP
        height = max(height, y)
    width = GAP + len(columns) * (COLUMN_WIDTH + GAP)
    return Cabinet(tuple(cells), width, height)
