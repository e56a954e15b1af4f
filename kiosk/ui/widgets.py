"""The few Kivy widgets every screen is built from.

* `TextLabel`: translated text, wrapped in logical order and shaped for
  Arabic by `kiosk.ui.shaping` (Kivy does not shape Arabic itself), right
  aligned for right-to-left languages.
* `KioskButton`: a touch target of at least 15 mm with an optional
  pictogram, a border (so buttons are recognisable without colour) and a
  thick focus ring for keyboard users.
* `Pictogram`: a white-on-transparent PNG from images/png, tinted; shows
  nothing if the file is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

import kiosk
from kiosk.ui import fonts, shaping
from kiosk.ui.theme import RGB

IMAGES_DIR = Path(kiosk.__file__).resolve().parents[1] / "images" / "png"
# Bidi control characters have done their work once a line is reordered; a
# font would draw them as boxes.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def with_background(widget: Widget, colour: RGB, border: RGB | None = None, border_width: float = 2) -> None:
    """Paints a filled rectangle (and border) behind `widget`, following its size."""
    with widget.canvas.before:
        Color(*colour, 1)
        rect = Rectangle(pos=widget.pos, size=widget.size)
        if border is not None:
            Color(*border, 1)
            line = Line(rectangle=(*widget.pos, *widget.size), width=border_width)

    def follow(*_):
        rect.pos, rect.size = widget.pos, widget.size
        if border is not None:
            line.rectangle = (*widget.pos, *widget.size)

    widget.bind(pos=follow, size=follow)


# One measuring label per font and size, and the widths it measured: wrapping
# measures every word of every label, and a screen shows the same texts again
# at every render (issue 13: creating a CoreLabel per word was a large part of
# a tap). The cache holds (text, font, size) -> width, so it stays small: the
# texts of the catalogs in a few sizes.
_MEASURERS: dict[tuple[str, float], CoreLabel] = {}
_WIDTHS: dict[tuple[str, str, float], float] = {}
_MAX_WIDTHS = 20000


def text_width(text: str, font_name: str, font_size: float) -> float:
    """The rendered width of one line of (shaped) text."""
    key = (text, font_name, font_size)
    width = _WIDTHS.get(key)
    if width is None:
        measurer = _MEASURERS.get((font_name, font_size))
        if measurer is None:
            measurer = _MEASURERS[(font_name, font_size)] = CoreLabel(font_size=font_size, font_name=font_name)
        width = measurer.get_extents(text)[0]
        if len(_WIDTHS) >= _MAX_WIDTHS:
            _WIDTHS.clear()  # typed codes and numbers make new texts; never grow without bound
        _WIDTHS[key] = width
    return width


class TextLabel(Label):
    """A label for translated text; set `raw` (logical order) and `lang`."""

    raw = StringProperty("")
    lang = StringProperty("de")
    bold_text = BooleanProperty(False)

    def __init__(self, **kwargs):
        colour = kwargs.pop("colour", None)
        kwargs.setdefault("size_hint_y", None)  # the label grows to its wrapped text
        super().__init__(**kwargs)
        if colour is not None:
            self.color = (*colour, 1)
        self.font_name = fonts.font_for(self.lang, self.bold_text)
        self.valign = "middle"
        self._laid_out_for: tuple = ()
        self._requested_font = self.font_size  # the size asked for; a long word may shrink it
        self.bind(raw=self._relayout, lang=self._relayout, width=self._relayout, font_size=self._relayout)
        self._relayout()

    @property
    def rtl(self) -> bool:
        return shaping.is_rtl(self.lang)

    def _measure(self, text: str) -> float:
        return text_width(text, self.font_name, float(self.font_size))

    def _wrap(self, width: float) -> list[str]:
        lines: list[str] = []
        for paragraph in self.raw.split("\n"):
            lines.extend(shaping.wrap(paragraph, self.lang, width, self._measure) or [""])
        return lines

    def _relayout(self, *_):
        if getattr(self, "_in_relayout", False):
            return  # our own font shrinking below fires the font_size binding again
        self._in_relayout = True
        try:
            self._do_relayout()
        finally:
            self._in_relayout = False

    def _do_relayout(self):
        if self._laid_out_for and self.font_size != self._laid_out_for[3] * self._laid_out_for[4]:
            self._requested_font = self.font_size  # a new size from outside, not our own shrinking
        key = (self.raw, self.lang, round(self.width), self._requested_font)
        if key == self._laid_out_for[:4]:
            return  # layouts set the same width more than once; rendering text is the costly part
        self.font_name = fonts.font_for(self.lang, self.bold_text)
        if self.halign in ("left", "right", "auto") or self.halign == "":
            self.halign = "right" if self.rtl else "left"
        width = max(10.0, self.width - 4)
        self.font_size = self._requested_font
        lines = self._wrap(width)
        scale = 1.0
        if self.width > 10 and any(self._measure(line) > width for line in lines if " " not in line.strip()):
            # A word wider than the label: shrink the font rather than break it mid-syllable.
            scale = shaping.fit_scale(self.raw, self.lang, width, self._measure) * 0.97
            self.font_size = self._requested_font * scale
            lines = self._wrap(width)
        self._laid_out_for = (*key, scale)
        self.text = "\n".join(lines).translate(BIDI_CONTROLS)
        self.text_size = (self.width, None)
        self.texture_update()
        # Grow to the text: screens are vertical stacks of labels.
        self.height = max(self.texture_size[1], self.font_size * 1.2)


class PinDots(Widget):
    """One circle per PIN digit, filled for each digit typed: shows progress, never digits."""

    def __init__(self, count: int, length: int, colour: RGB, diameter: float, **kwargs):
        super().__init__(**kwargs)
        self.count, self.length, self.colour, self.diameter = count, length, colour, diameter
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_):
        self.canvas.clear()
        d, gap = self.diameter, self.diameter * 0.6
        x = self.center_x - (self.length * d + (self.length - 1) * gap) / 2
        y = self.center_y - d / 2
        with self.canvas:
            Color(*self.colour, 1)
            for i in range(self.length):
                if i < self.count:
                    Ellipse(pos=(x, y), size=(d, d))
                else:
                    Line(circle=(x + d / 2, y + d / 2, d / 2 - 1.5), width=2)
                x += d + gap


class Pictogram(Image):
    """A tinted pictogram; an empty widget if the image is missing."""

    def __init__(self, name: str, colour: RGB, **kwargs):
        path = IMAGES_DIR / f"{name}.png"
        kwargs.setdefault("fit_mode", "contain")
        super().__init__(**kwargs)
        if path.exists():
            self.source = str(path)
            self.color = (*colour, 1)
        else:
            self.color = (0, 0, 0, 0)  # draw nothing rather than Kivy's broken-image placeholder


# Pictograms that point in the reading direction get a mirrored twin for right to left.
MIRRORED_ICONS = {"back": "back-rtl"}


def mirrored_icon(icon: str | None, rtl: bool) -> str | None:
    return MIRRORED_ICONS.get(icon, icon) if rtl and icon else icon


class KioskButton(ButtonBehavior, BoxLayout):
    """A large, focusable button. `action` runs on release (touch or Enter)."""

    focused = BooleanProperty(False)
    toggled = BooleanProperty(False)  # a switch that is on (see screens.common.toggle_button)
    speak_text = StringProperty("")  # spoken when keyboard focus reaches the button
    focus_colour = ListProperty([1, 0.5, 0, 1])

    def __init__(self, text: str, lang: str, action: Callable[[], None], *, fill: RGB, text_colour: RGB,
                 border: RGB, focus: RGB, min_size: float, font_size: float, icon: str | None = None,
                 name: str = "", **kwargs):
        kwargs.setdefault("orientation", "horizontal")
        kwargs.setdefault("padding", [min_size * 0.2, min_size * 0.1])
        kwargs.setdefault("spacing", min_size * 0.15)
        super().__init__(**kwargs)
        self.action = action
        self.name = name or text
        self.speak_text = text
        self.min_size = min_size
        self.focus_colour = [*focus, 1]
        if self.size_hint_y is None or self.height < min_size:
            self.height = max(self.height, min_size)
        if self.size_hint_x is None:
            self.width = max(self.width, min_size)
        with_background(self, fill, border, 1.5)
        rtl = shaping.is_rtl(lang)
        icon = mirrored_icon(icon, rtl)
        picture = None
        if icon and (IMAGES_DIR / f"{icon}.png").exists():
            picture = Pictogram(icon, text_colour, size_hint=(None, 1), width=min_size * 0.6)
        self.label = TextLabel(raw=text, lang=lang, colour=text_colour, font_size=font_size, bold_text=True,
                               halign="center", pos_hint={"center_y": 0.5})
        # The pictogram leads the caption: on its left, or on its right in right-to-left languages.
        for child in (self.label, picture) if rtl else (picture, self.label):
            if child is not None:
                self.add_widget(child)
        with self.canvas.after:
            self._focus_colour = Color(0, 0, 0, 0)
            self._focus_line = Line(rectangle=(0, 0, 0, 0), width=4)
        self.bind(pos=self._draw_focus, size=self._draw_focus, focused=self._draw_focus)
        self.label.bind(height=self._fit_label)

    def _fit_label(self, *_):
        # A long translation makes the button taller instead of clipping.
        needed = self.label.height + self.padding[1] * 2
        if self.size_hint_y is None and needed > self.height:
            self.height = needed

    def _draw_focus(self, *_):
        self._focus_colour.rgba = self.focus_colour if self.focused else (0, 0, 0, 0)
        self._focus_line.rectangle = (self.x - 5, self.y - 5, self.width + 10, self.height + 10)

    def on_release(self):
        self.action()
