"""Colours and sizes, for the normal and the high-contrast mode.

Contrast ratios follow WCAG 2 (relative luminance), the measure EN 301 549
uses. The normal palette keeps text at 7:1 or better anyway, so the
high-contrast mode is about reducing glare and bolder edges, not a rescue.
Touch targets are given in millimetres and converted with the configured
screen DPI: Kivy's own dpi guess is wrong on most kiosk panels.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]

MIN_TARGET_MM = 15.0


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def relative_luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Palette:
    background: RGB
    text: RGB
    muted_text: RGB  # secondary lines; still >= 7:1 on the background
    button: RGB  # primary action
    button_text: RGB
    button_secondary: RGB
    button_secondary_text: RGB
    border: RGB
    focus: RGB  # the focus ring: a colour plus a thick outline, not colour alone
    error: RGB  # error boxes: with a warning pictogram and a title, not colour alone
    error_text: RGB
    highlight: RGB  # the compartment that opens
    highlight_text: RGB
    success: RGB  # confirmations ("deposited in compartment 6"): a check mark, green, never the error box
    success_text: RGB


NORMAL = Palette(
    background=hex_rgb("#F5F5F0"),
    text=hex_rgb("#111111"),
    muted_text=hex_rgb("#3A3A3A"),
    button=hex_rgb("#0B4A86"),
    button_text=hex_rgb("#FFFFFF"),
    button_secondary=hex_rgb("#FFFFFF"),
    button_secondary_text=hex_rgb("#111111"),
    border=hex_rgb("#444444"),
    focus=hex_rgb("#D35400"),
    error=hex_rgb("#FBE3E1"),
    error_text=hex_rgb("#6B0F0A"),
    highlight=hex_rgb("#0B4A86"),
    highlight_text=hex_rgb("#FFFFFF"),
    success=hex_rgb("#E3F4E1"),
    success_text=hex_rgb("#0C4A12"),
)
HIGH_CONTRAST = Palette(
    background=hex_rgb("#000000"),
    text=hex_rgb("#FFFFFF"),
    muted_text=hex_rgb("#FFFF00"),
    button=hex_rgb("#FFFF00"),
    button_text=hex_rgb("#000000"),
    button_secondary=hex_rgb("#000000"),
    button_secondary_text=hex_rgb("#FFFFFF"),
    border=hex_rgb("#FFFFFF"),
    focus=hex_rgb("#00FFFF"),
    error=hex_rgb("#000000"),
    error_text=hex_rgb("#FFFF00"),
    highlight=hex_rgb("#FFFF00"),
    highlight_text=hex_rgb("#000000"),
    success=hex_rgb("#000000"),
    success_text=hex_rgb("#00FF66"),
)


def palette(high_contrast: bool) -> Palette:
    return HIGH_CONTRAST if high_contrast else NORMAL


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for one screen density and text-size mode."""

    dpi: float
    large_text: bool

    def mm(self, millimetres: float) -> float:
        return millimetres / 25.4 * self.dpi

    @property
    def target(self) -> float:
        """Smallest side of any touch target (15 mm, plus a margin for rounding)."""
        return self.mm(MIN_TARGET_MM + 0.5)

    @property
    def scale(self) -> float:
        return 1.35 if self.large_text else 1.0

    def font(self, role: str) -> float:
        # Body text about 5 mm cap-to-descender: readable from a wheelchair.
        # Body text larger than it was (issue 13): explanations are what a citizen reads.
        base = {"title": 11.0, "body": 7.2, "tool": 6.2, "small": 5.6, "key": 8.0, "display": 10.0}[role]
        return self.mm(base) * self.scale * 0.72
