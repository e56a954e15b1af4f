"""The staff's compartment grid, laid out like the cabinet stands.

Columns side by side from the left (as seen from the front: the cabinet is
not mirrored in right-to-left languages), doors from the floor up, every
column as tall as the cabinet, and a larger door taller than a smaller one
of the same column, as in `box_schematic`. Unlike the schematic every door
here is a touch target, so no door is drawn below the 15 mm minimum: the
rule `door_heights` gives small doors that floor and shares the rest out in
proportion to the sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from kiosk.domain.compartment import Compartment
from kiosk.ui.screens.box_schematic import SIZE_UNITS, column_stacks


def door_heights(units: Sequence[int], total: float, floor: float) -> list[float]:
    """Heights of a column's doors (floor first): proportional to `units`,
    none below `floor`, together `total` (or more, if the floors need it)."""
    heights = [0.0] * len(units)
    fixed: set[int] = set()
    while True:
        free = [i for i in range(len(units)) if i not in fixed]
        room = total - floor * len(fixed)
        share = sum(units[i] for i in free)
        small = [i for i in free if share and room * units[i] / share < floor]
        if not small:
            for i in free:
                heights[i] = room * units[i] / share if share else floor
            for i in fixed:
                heights[i] = floor
            return heights
        fixed.update(small)


# Room beyond the smallest doors, so that larger doors can be drawn larger.
SIZE_ROOM = 1.2


def cabinet_height(compartments: Sequence[Compartment], door: float, room: float = SIZE_ROOM) -> float:
    """Tall enough that the column with the most doors gives each at least
    `door`, with `room` for the larger doors to show their size."""
    stacks = column_stacks(compartments)
    return max((len(stack) for stack in stacks.values()), default=1) * door * room


class CabinetGrid(FloatLayout):
    """Places one widget per compartment where its door is on the cabinet."""

    def __init__(self, compartments: Sequence[Compartment], make: Callable[[Compartment], Widget], *,
                 door: float, gap: float, room: float = SIZE_ROOM, **kwargs):
        kwargs.setdefault("size_hint_y", None)
        kwargs.setdefault("height", cabinet_height(compartments, door + gap, room))
        super().__init__(**kwargs)
        self._door, self._gap = door, gap
        self._stacks = column_stacks(compartments)
        self._cells: dict[int, Widget] = {}
        for stack in self._stacks.values():
            for c in stack:
                cell = make(c)
                cell.size_hint = (None, None)
                self._cells[c.number] = cell
                self.add_widget(cell)
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_):
        if not self._stacks:
            return
        gap = self._gap
        col_w = self.width / len(self._stacks)
        for i, stack in enumerate(self._stacks.values()):
            heights = door_heights([SIZE_UNITS[c.size] for c in stack], self.height, self._door + gap)
            bottom = self.y
            for c, h in zip(stack, heights):
                cell = self._cells[c.number]
                cell.pos = (self.x + i * col_w + gap / 2, bottom + gap / 2)
                cell.size = (col_w - gap, h - gap)
                bottom += h
