"""Bar charts as plain geometry, drawn by the templates as SVG.

Pure and tiny on purpose: office PCs get no chart library from a CDN, and
every chart has its numbers in a table beside it (the chart is for the eye,
the table for screen readers, copying and the exact figure).
"""

from __future__ import annotations

from dataclasses import dataclass

HEIGHT = 160
BAR_WIDTH = 18
GAP = 4
LABEL_SPACE = 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    maximum: int


def bars(values: list[tuple[str, int]], height: int = HEIGHT) -> Chart:
    """One bar per (label, value), scaled so the largest fills ``height``."""
    top = max((value for _label, value in values), default=0)
    drawn = []
    for index, (label, value) in enumerate(values):
        tall = round(height * value / top) if top else 0
        drawn.append(Bar(label, value, GAP + index * (BAR_WIDTH + GAP), height - tall,
                         BAR_WIDTH, tall))
    return Chart(tuple(drawn), GAP + len(values) * (BAR_WIDTH + GAP), height + LABEL_SPACE, top)
