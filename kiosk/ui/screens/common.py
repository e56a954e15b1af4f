"""What every screen builder gets (`Ctx`) and the building blocks they share.

Screens are rebuilt from scratch whenever the view or the UI state changes:
one-way data flow, no widget keeps state the next render could disagree
with. Typed characters live in `InputBuffers`, never in widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.config import OfficeSection
from kiosk.core import KioskView
from kiosk.domain.staff_session import Notice
from kiosk.ui import texts
from kiosk.ui.i18n import language, t
from kiosk.ui.messages import office_contact
from kiosk.ui.state import InputBuffers, UiState
from kiosk.ui.theme import Metrics, Palette
from kiosk.ui.widgets import KioskButton, Pictogram, TextLabel, with_background


@dataclass
class Ctx:
    view: KioskView
    ui: UiState
    buffers: InputBuffers
    pal: Palette
    m: Metrics
    office: OfficeSection
    now: datetime
    warning: int | None  # seconds left, when the "more time?" warning is due
    act: Any  # the app: its methods are the actions buttons call
    preview: Widget | None = None  # live camera preview, owned by the app
    flash: str | Notice | None = None  # a short notice: a msgid, or a staff Notice (failed login)

    @property
    def lang(self) -> str:
        return self.ui.lang

    def reuse(self, name: str, build: Callable[[], Widget]) -> Widget:
        """A block that depends only on language and display modes (a keypad, the
        toolbar): built once and reused, because creating Kivy widgets is what
        makes a render slow, and the code screen renders on every key press."""
        key = (name, self.lang, self.ui.high_contrast, self.ui.large_text, self.m.dpi)
        widget = self.act.widget_cache.get(key)
        if widget is None:
            widget = self.act.widget_cache[key] = build()
        elif widget.parent is not None:
            widget.parent.remove_widget(widget)
        return widget

    def t(self, msgid: str, **values) -> str:
        return t(msgid, self.lang, **values)

    # ---------------------------------------------------------- blocks

    def label(self, msgid: str, role: str = "body", muted: bool = False, halign: str = "auto", **values) -> TextLabel:
        colour = self.pal.muted_text if muted else self.pal.text
        return TextLabel(raw=self.t(msgid, **values), lang=self.lang, colour=colour, font_size=self.m.font(role),
                         bold_text=role == "title", halign=halign)

    def plain(self, text: str, role: str = "body", halign: str = "auto", muted: bool = False) -> TextLabel:
        """Text that is not translated (a code display, a compartment number)."""
        colour = self.pal.muted_text if muted else self.pal.text
        return TextLabel(raw=text, lang=self.lang, colour=colour, font_size=self.m.font(role), halign=halign)

    def button(self, msgid: str, action: Callable[[], None], *, primary: bool = False, icon: str | None = None,
               name: str = "", raw: str | None = None, role: str = "body", **kwargs) -> KioskButton:
        p = self.pal
        text = raw if raw is not None else self.t(msgid)
        return KioskButton(
            text, self.lang, action,
            fill=p.button if primary else p.button_secondary,
            text_colour=p.button_text if primary else p.button_secondary_text,
            border=p.border, focus=p.focus, min_size=self.m.target, font_size=self.m.font(role), icon=icon,
            name=name or msgid, **kwargs,
        )

    def row(self, *children: Widget, height: float | None = None) -> BoxLayout:
        box = BoxLayout(orientation="horizontal", spacing=self.m.mm(4), size_hint_y=None,
                        height=height or self.m.target)
        for child in children:
            box.add_widget(child)
        return box

    def column(self, spacing_mm: float = 3) -> BoxLayout:
        """A vertical stack whose height follows its children (labels grow with their text)."""
        box = BoxLayout(orientation="vertical", spacing=self.m.mm(spacing_mm), size_hint_y=None)
        box.bind(minimum_height=box.setter("height"))
        return box

    def grid(self, cols: int) -> GridLayout:
        grid = GridLayout(cols=cols, spacing=self.m.mm(2.5), size_hint_y=None, row_force_default=True,
                          row_default_height=self.m.target)
        grid.bind(minimum_height=grid.setter("height"))
        return grid

    def notice_box(self, title: str, text: str, icon: str = "warning") -> BoxLayout:
        """An error or notice: pictogram + bold title + text (never colour alone)."""
        p = self.pal
        box = BoxLayout(orientation="horizontal", size_hint_y=None, padding=self.m.mm(3), spacing=self.m.mm(3))
        with_background(box, p.error, p.error_text, 2)
        picture = Pictogram(icon, p.error_text, size_hint=(None, None), size=(self.m.target, self.m.target),
                            pos_hint={"center_y": 0.5})
        inner = self.column(1.5)
        inner.pos_hint = {"center_y": 0.5}
        inner.add_widget(TextLabel(raw=title, lang=self.lang, colour=p.error_text, font_size=self.m.font("body"),
                                   bold_text=True))
        if text:
            inner.add_widget(TextLabel(raw=text, lang=self.lang, colour=p.error_text, font_size=self.m.font("small")))
        # The pictogram leads: on the left, or on the right in right-to-left languages.
        for child in ((inner, picture) if language(self.lang).rtl else (picture, inner)):
            box.add_widget(child)
        inner.bind(height=lambda *_: setattr(box, "height", max(inner.height, self.m.target) + 2 * self.m.mm(3)))
        return box

    def contact_line(self) -> TextLabel:
        o = self.office
        return TextLabel(raw=office_contact(o.name, o.phone, o.opening_hours, self.lang), lang=self.lang,
                         colour=self.pal.muted_text, font_size=self.m.font("small"))


def spacer() -> Widget:
    return Widget()


def citizen_toolbar(ctx: Ctx) -> BoxLayout:
    """Language, accessibility, contrast, text size and help: on every citizen screen."""
    return ctx.reuse("toolbar", lambda: _toolbar(ctx))


def _toolbar(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    bar = ctx.row(
        ctx.button(texts.LANGUAGE, a.open_language, icon="language", name="language"),
        ctx.button(texts.HIGH_CONTRAST, a.toggle_contrast, icon="contrast", name="contrast"),
        ctx.button(texts.LARGE_TEXT, a.toggle_large_text, icon="text-size", name="large_text"),
        ctx.button(texts.ACCESSIBILITY, a.open_a11y, icon="accessibility", name="accessibility"),
        ctx.button(texts.HELP, a.help, icon="help", name="help"),
    )
    return bar


class Modal(AnchorLayout):
    """Takes every touch, so a tap beside its buttons never reaches the hidden screen."""

    def on_touch_down(self, touch):
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch):
        super().on_touch_up(touch)
        return True


def timeout_overlay(ctx: Ctx) -> AnchorLayout:
    """"Do you need more time?" over the screen, so it needs no room in the layout
    and the keyboard focus stays inside it."""
    shade = Modal(anchor_x="center", anchor_y="bottom" if ctx.ui.reach else "center",
                         padding=ctx.m.mm(8))
    with_background(shade, ctx.pal.background)  # hides the screen behind: one question at a time
    box = ctx.column(3)
    box.size_hint_x = 0.8
    box.add_widget(ctx.notice_box(ctx.t(texts.TIMEOUT_TITLE), ctx.t(texts.TIMEOUT_TEXT, seconds=ctx.warning),
                                  icon="clock"))
    more = ctx.button(texts.TIMEOUT_MORE, ctx.act.more_time, primary=True, icon="clock", name="more_time")
    more.height = ctx.m.target * 1.5
    box.add_widget(ctx.row(more, height=more.height))
    shade.add_widget(box)
    return shade


def citizen_frame(ctx: Ctx, info: Widget, controls: Widget | None = None) -> BoxLayout:
    """The layout of every citizen screen.

    Normal: toolbar on top, then the information, then the controls.
    Reach mode: information on top, then controls and toolbar in the lower
    part of the screen, within reach from a wheelchair.
    """
    root = BoxLayout(orientation="vertical", padding=ctx.m.mm(5), spacing=ctx.m.mm(4))
    toolbar = citizen_toolbar(ctx)
    if not ctx.ui.reach:
        root.add_widget(toolbar)
    root.add_widget(info)
    root.add_widget(spacer())
    if controls is not None:
        root.add_widget(controls)
    if ctx.ui.reach:
        root.add_widget(toolbar)
    root.add_widget(ctx.contact_line())
    return root
