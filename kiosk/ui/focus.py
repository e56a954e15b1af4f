"""Arrow-key focus movement between buttons, by their position on screen.

Pure geometry so it is tested without a window: given the rectangles of the
focusable buttons, the focused one and a direction, find the nearest button
in that direction (a grid keypad behaves like a grid).
"""

from __future__ import annotations

from collections.abc import Sequence

Rect = tuple[float, float, float, float]  # x, y (bottom-left, Kivy style), width, height
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, 1), "down": (0, -1)}


def _center(rect: Rect) -> tuple[float, float]:
    x, y, w, h = rect
    return x + w / 2, y + h / 2


def next_focus(rects: Sequence[Rect], current: int | None, direction: str) -> int | None:
    if not rects:
        return None
    if current is None or not 0 <= current < len(rects):
        return 0
    dx, dy = DIRECTIONS[direction]
    cx, cy = _center(rects[current])
    ahead, aside = [], []
    for i, rect in enumerate(rects):
        if i == current:
            continue
        x, y = _center(rect)
        along = (x - cx) * dx + (y - cy) * dy  # distance in the wanted direction
        across = abs((x - cx) * dy) + abs((y - cy) * dx)  # sideways offset
        if along <= 1:
            continue
        # Within 45 degrees of the arrow counts as "that way"; others only if nothing is.
        (ahead if across <= along else aside).append((along + 2 * across, i))
    if ahead or aside:
        return min(ahead or aside)[1]
    # Nothing further that way: wrap in reading order, so every button is reachable.
    step = 1 if direction in ("right", "down") else -1
    return (current + step) % len(rects)
