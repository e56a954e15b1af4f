"""Arrow-key focus movement between buttons, by their position on screen.

Pure geometry so it is tested without a window: given the rectangles of the
focusable buttons, the focused one and a direction, find the next button
that way. Buttons in the same row (for left/right) or column (for up/down)
come first, so a keypad behaves like a grid and a wide button row below it
is walked button by button.
"""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[float, float, float, float]  # x, y (bottom-left, Kivy style), width, height
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, 1), "down": (0, -1)}


def _center(rect: Rect) -> tuple[float, float]:
    x, y, w, h = rect
    return x + w / 2, y + h / 2


def _lined_up(a: Rect, b: Rect, horizontal: bool) -> bool:
    """Whether b shares a row (moving horizontally) or a column (vertically) with a."""
    if horizontal:
        return min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > 0
    return min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > 0


def next_focus(rects: Sequence[Rect], current: int | None, direction: str) -> int | None:
    if not rects:
        return None
    if current is None or not 0 <= current < len(rects):
        return 0
    dx, dy = DIRECTIONS[direction]
    here = rects[current]
    cx, cy = _center(here)
    lined, other = [], []
    for i, rect in enumerate(rects):
        if i == current:
            continue
        x, y = _center(rect)
        along = (x - cx) * dx + (y - cy) * dy  # distance in the wanted direction
        across = abs((x - cx) * dy) + abs((y - cy) * dx)  # sideways offset
        if along <= 1:
            continue
        (lined if _lined_up(here, rect, horizontal=dx != 0) else other).append((along + 2 * across, i))
    if lined or other:
        return min(lined or other)[1]
    # Nothing further that way: wrap in reading order, so every button is reachable.
    step = 1 if direction in ("right", "down") else -1
    return (current + step) % len(rects)
