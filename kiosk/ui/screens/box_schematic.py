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
        stacks = column_stacks(self.compartments)
        if not stacks:
            return
        col_w = self.width / len(stacks)
        with self.canvas:
            for i, stack in enumerate(stacks.values()):
                # Each column fills the cabinet's height, as the real doors do.
                unit_h = self.height / sum(SIZE_UNITS[c.size] for c in stack)
                y = self.y
                for c in stack:
                    h = SIZE_UNITS[c.size] * unit_h
                    x = self.x + i * col_w
                    mine = c.number == self.highlight
                    Color(*(self.pal.highlight if mine else self.pal.background), 1)
                    Rectangle(pos=(x + 2, y + 2), size=(col_w - 4, h - 4))
                    Color(*(self.pal.highlight if mine else self.pal.border), 1)
                    Line(rectangle=(x + 2, y + 2, col_w - 4, h - 4), width=4 if mine else 1)
                    if mine:
                        label = CoreLabel(text=str(c.number), font_size=min(self.label_font, h * 0.7), bold=True)
                        label.refresh()
                        Color(*self.pal.highlight_text, 1)
                        tw, th = label.texture.size
                        Rectangle(texture=label.texture, pos=(x + (col_w - tw) / 2, y + (h - th) / 2),
                                  size=label.texture.size)
                    y += h
