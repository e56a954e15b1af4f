"""A drawing of the cabinet with one compartment highlighted.

Drawn from the layout in the view (columns, rows from the floor, sizes), so
it matches the real box. The highlighted compartment is filled, outlined
thickly and labelled with its number: not marked by colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from kivy.graphics import Color, Line, Rectangle
from kivy.uix.widget import Widget

from kiosk.domain.compartment import Compartment, Size
from kiosk.ui.theme import Palette

# Relative heights of the sizes: a large compartment takes the room of three small ones.
SIZE_UNITS = {Size.S: 1, Size.M: 2, Size.L: 3}


def column_stacks(compartments: Iterable[Compartment]) -> dict[int, list[Compartment]]:
    """Compartments per column, from the floor up."""
    columns: dict[int, list[Compartment]] = {}
    for c in compartments:
        columns.setdefault(c.column, []).append(c)
    return {col: sorted(stack, key=lambda c: c.row) for col, stack in sorted(columns.items())}


Rect = tuple[float, float, float, float]  # x, y, width, height
GAP = 4.0  # pixels between neighbouring doors
THIN, THICK = 1.5, 4.0  # outline widths: every door, the highlighted one


def cell_rects(compartments: Iterable[Compartment], x: float, y: float, width: float,
               height: float) -> dict[int, Rect]:
    """Where each compartment is drawn: columns of equal width, each filling the
    cabinet's height in proportion to its doors' sizes, GAP apart, all inside
    the widget (so every door, the last column's too, gets its whole outline)."""
    stacks = column_stacks(compartments)
    if not stacks:
        return {}
    col_w = width / len(stacks)
    rects: dict[int, Rect] = {}
    for i, stack in enumerate(stacks.values()):
        unit_h = height / sum(SIZE_UNITS[c.size] for c in stack)
        bottom = y
        for c in stack:
            h = SIZE_UNITS[c.size] * unit_h
            rects[c.number] = (x + i * col_w + GAP / 2, bottom + GAP / 2, col_w - GAP, h - GAP)
            bottom += h
    return rects


def outline_rect(rect: Rect, line_width: float) -> Rect:
    """The rectangle to stroke so a line of `line_width` stays inside `rect`
    (Kivy centres a line on its path): the highlight never spills onto a neighbour."""
    x, y, w, h = rect
    inset = line_width / 2
    return (x + inset, y + inset, max(0.0, w - 2 * inset), max(0.0, h - 2 * inset))


class BoxSchematic(Widget):
    def __init__(self, compartments: tuple[Compartment, ...], highlight: int | None, pal: Palette,
                 label_font: float, **kwargs):
        super().__init__(**kwargs)
        self.compartments = compartments
        self.highlight = highlight
        self.pal = pal
        self.label_font = label_font
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_):
        from kivy.core.text import Label as CoreLabel

        self.canvas.clear()
        rects = cell_rects(self.compartments, self.x, self.y, self.width, self.height)
        with self.canvas:
            for c in self.compartments:
                if c.number not in rects:
                    continue
                x, y, w, h = rects[c.number]
                mine = c.number == self.highlight
                Color(*(self.pal.highlight if mine else self.pal.background), 1)
                Rectangle(pos=(x, y), size=(w, h))
                width = THICK if mine else THIN
                Color(*(self.pal.text if mine else self.pal.border), 1)
                Line(rectangle=outline_rect((x, y, w, h), width), width=width)
                if mine:
                    label = CoreLabel(text=str(c.number), font_size=min(self.label_font, h * 0.7), bold=True)
                    label.refresh()
                    Color(*self.pal.highlight_text, 1)
                    tw, th = label.texture.size
                    Rectangle(texture=label.texture, pos=(x + (w - tw) / 2, y + (h - th) / 2),
                              size=label.texture.size)
