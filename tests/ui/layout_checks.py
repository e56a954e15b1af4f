"""Checks on the screenshots' layout records (see screenshots.py): pure functions."""

from __future__ import annotations

from kiosk.ui.theme import MIN_TARGET_MM

Box = list[float]


def inside(box: Box, window: list[float], tolerance: float = 1.0) -> bool:
    x, y, w, h = box
    return x >= -tolerance and y >= -tolerance and x + w <= window[0] + tolerance and y + h <= window[1] + tolerance


def overlap(a: Box, b: Box, tolerance: float = 1.0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return (min(ax + aw, bx + bw) - max(ax, bx) > tolerance) and (min(ay + ah, by + bh) - max(ay, by) > tolerance)


def layout_problems(record: dict) -> list[str]:
    """Buttons or text outside the window, buttons on top of each other, text wider than its label."""
    problems = []
    window = record["window"]
    for button in record["buttons"]:
        if not inside(button["box"], window):
            problems.append(f"button {button['name']} outside the window: {button['box']}")
    for label in record["labels"]:
        if not inside(label["box"], window):
            problems.append(f"text {label['text'][:30]!r} outside the window: {label['box']}")
        tw, th = label["text_box"][2:]
        if tw > label["box"][2] + 2 or th > label["box"][3] + 2:
            problems.append(f"text {label['text'][:30]!r} clipped: {tw:.0f}x{th:.0f} in {label['box'][2:]}")
    buttons = record["buttons"]
    for i, a in enumerate(buttons):
        for b in buttons[i + 1:]:
            if overlap(a["box"], b["box"]):
                problems.append(f"buttons {a['name']} and {b['name']} overlap")
    return problems


def small_targets(record: dict) -> list[str]:
    """Buttons smaller than 15 mm on either side at the configured DPI."""
    minimum = MIN_TARGET_MM / 25.4 * record["dpi"]
    return [f"{b['name']}: {b['box'][2]:.0f}x{b['box'][3]:.0f} px < {minimum:.0f} px"
            for b in record["buttons"] if min(b["box"][2], b["box"][3]) < minimum - 0.5]
