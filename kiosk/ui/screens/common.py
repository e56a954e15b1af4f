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
    warming: bool = False  # filling the widget cache ahead of time (see KioskApp._schedule_prebuild)

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
        elif self.warming:
            return widget  # built already, and maybe on screen right now: leave it there
        elif widget.parent is not None:
            widget.parent.remove_widget(widget)
        return widget

    def t(self, msgid: str, **values) -> str:
        return t(msgid, self.lang, **values)

    # ---------------------------------------------------------- blocks

    def label(self, msgid: str, role: str = "body", muted: bool = False, halign: str = "auto", *,
              keep: bool = False, **values) -> TextLabel:
        """A translated text. `keep=True`: a fixed text of its screen (a title,
        an instruction), built and laid out once and reused by every render,
        like the blocks of `reuse` (rendering text is the costly part of a tap).
        Only for labels that appear once on a screen and are not changed after."""
        if keep:
            name = ("label", msgid, role, muted, halign, tuple(sorted(values.items())))
            return self.reuse(repr(name), lambda: self.label(msgid, role, muted, halign, **values))
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

    @property
    def rtl(self) -> bool:
        return language(self.lang).rtl

    def row(self, *children: Widget, height: float | None = None) -> BoxLayout:
        """Children side by side in reading order: mirrored in right-to-left
        languages, so "Back" sits where a reader starts and "Continue" at the end."""
        box = BoxLayout(orientation="horizontal", spacing=self.m.mm(4), size_hint_y=None,
                        height=height or self.m.target)
        for child in reading_order(children, self.rtl):
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

    def notice_box(self, title: str, text: str, icon: str = "warning", kind: str = "error") -> BoxLayout:
        """An error, or with kind="success" a confirmation: pictogram + bold title +
        text (never colour alone). Success is drawn green with a check mark, never
        in the red error box."""
        p = self.pal
        fill, ink = notice_colours(p, kind)
        if kind == "success" and icon == "warning":
            icon = "check"
        box = BoxLayout(orientation="horizontal", size_hint_y=None, padding=self.m.mm(3), spacing=self.m.mm(3))
        with_background(box, fill, ink, 2)
        picture = Pictogram(icon, ink, size_hint=(None, None), size=(self.m.target, self.m.target),
                            pos_hint={"center_y": 0.5})
        inner = self.column(1.5)
        inner.pos_hint = {"center_y": 0.5}
        inner.add_widget(TextLabel(raw=title, lang=self.lang, colour=ink, font_size=self.m.font("body"),
                                   bold_text=True))
        if text:
            # Explanations are what a citizen needs most: body size, not small print.
            inner.add_widget(TextLabel(raw=text, lang=self.lang, colour=ink, font_size=self.m.font("body")))
        # The pictogram leads: on the left, or on the right in right-to-left languages.
        for child in ((inner, picture) if language(self.lang).rtl else (picture, inner)):
            box.add_widget(child)
        inner.bind(height=lambda *_: setattr(box, "height", max(inner.height, self.m.target) + 2 * self.m.mm(3)))
        return box

    def contact_line(self) -> TextLabel:
        """The office's name, phone and hours (built once per language and mode)."""
        return self.reuse("contact", self._contact_line)

    def _contact_line(self) -> TextLabel:
        o = self.office
        return TextLabel(raw=office_contact(o.name, o.phone, o.opening_hours, self.lang), lang=self.lang,
                         colour=self.pal.muted_text, font_size=self.m.font("body"))


def spacer() -> Widget:
    return Widget()


def reading_order(children, rtl: bool) -> list:
    """Left-to-right order of widgets laid out in a row: reversed for right-to-left."""
    return list(reversed(children)) if rtl else list(children)


def notice_colours(pal: Palette, kind: str) -> tuple:
    """(fill, text and border colour) of a notice box: errors red, confirmations green."""
    return (pal.success, pal.success_text) if kind == "success" else (pal.error, pal.error_text)


def toggle_label(name: str, on: bool, lang: str) -> str:
    """A toggle's caption with its state in words ("High contrast: on"), so the
    state is not carried by colour or shape alone (EN 301 549 5.6.2)."""
    return f"{t(name, lang)}: {t(texts.STATE_ON if on else texts.STATE_OFF, lang)}"


def citizen_toolbar(ctx: Ctx) -> BoxLayout:
    """Language, accessibility, contrast, text size and help: on every citizen screen.
    (The cache key holds the contrast and text-size modes, so the toggles show their state.)"""
    return ctx.reuse("toolbar", lambda: _toolbar(ctx))


def toggle_button(ctx: Ctx, msgid: str, on: bool, action, icon: str, name: str, role: str = "body") -> KioskButton:
    """A switch: its state in words and a check box pictogram, drawn in the
    secondary style with a thick border when on, never like an action button."""
    button = ctx.button("", action, raw=toggle_label(msgid, on, ctx.lang), icon="check" if on else icon,
                        name=name, role=role)
    button.toggled = on
    if on:
        # A second, thicker frame over the first one (canvas.before: the label stays on top).
        with_background(button, ctx.pal.button_secondary, ctx.pal.text, 4)
    return button


def _toolbar(ctx: Ctx) -> BoxLayout:
    a, ui = ctx.act, ctx.ui
    bar = ctx.row(
        ctx.button(texts.LANGUAGE, a.open_language, icon="language", name="language", role="tool"),
        toggle_button(ctx, texts.HIGH_CONTRAST, ui.high_contrast, a.toggle_contrast, "contrast", "contrast", "tool"),
        toggle_button(ctx, texts.LARGE_TEXT, ui.large_text, a.toggle_large_text, "text-size", "large_text", "tool"),
        ctx.button(texts.ACCESSIBILITY, a.open_a11y, icon="accessibility", name="accessibility", role="tool"),
        ctx.button(texts.HELP, a.help, icon="help", name="help", role="tool"),
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
    and the keyboard focus stays inside it. The screen behind stays visible
    (a citizen reading the PIN letter text must not lose it): the question is
    a framed panel in the lower part, and touches beside it are caught."""
    shade = Modal(anchor_x="center", anchor_y="bottom", padding=ctx.m.mm(8))
    box = ctx.column(3)
    box.size_hint_x = 0.8
    box.padding = ctx.m.mm(4)
    with_background(box, ctx.pal.background, ctx.pal.text, 4)
    box.add_widget(ctx.notice_box(ctx.t(texts.TIMEOUT_TITLE), ctx.t(texts.TIMEOUT_TEXT, seconds=ctx.warning),
                                  icon="clock"))
    more = ctx.button(texts.TIMEOUT_MORE, ctx.act.more_time, primary=True, icon="clock", name="more_time")
    more.height = ctx.m.target * 1.5
    box.add_widget(ctx.row(more, height=more.height))
    shade.add_widget(box)
    return shade


def citizen_frame(ctx: Ctx, info: Widget, controls: Widget | None = None, *, step: str | None = None,
                  contact: bool = True) -> BoxLayout:
    """The layout of every citizen screen.

    Normal: toolbar on top, then the information, then the controls.
    Reach mode: information and the office contact on top, then the toolbar,
    then the controls at the very bottom: every control ends up lower than
    in the normal layout (within reach from a wheelchair), none higher.
    `step` (a STEP_* msgid) shows where the citizen is in the pickup.
    """
    root = BoxLayout(orientation="vertical", padding=ctx.m.mm(5), spacing=ctx.m.mm(3))
    toolbar = citizen_toolbar(ctx)
    if not ctx.ui.reach:
        root.add_widget(toolbar)
    if step is not None:
        letter = ctx.view.requires_pin_letter
        root.add_widget(ctx.reuse(f"steps-{step}-{letter}", lambda: step_indicator(ctx, step)))
    root.add_widget(info)
    if ctx.ui.reach and contact:
        root.add_widget(ctx.contact_line())
    root.add_widget(spacer())
    if ctx.ui.reach:
        root.add_widget(toolbar)
    if controls is not None:
        root.add_widget(controls)
    if not ctx.ui.reach and contact:
        root.add_widget(ctx.contact_line())
    return root


PICKUP_STEPS = (texts.STEP_CODE, texts.STEP_PIN, texts.STEP_LETTER, texts.STEP_TAKE)


def step_names(requires_pin_letter: bool) -> tuple[str, ...]:
    """The steps of this pickup: the PIN-letter step only for ID cards and eATs."""
    return PICKUP_STEPS if requires_pin_letter else tuple(s for s in PICKUP_STEPS if s != texts.STEP_LETTER)


def step_number(step: str, requires_pin_letter: bool) -> int:
    return step_names(requires_pin_letter or step == texts.STEP_LETTER).index(step) + 1


def step_indicator(ctx: Ctx, step_msgid: str) -> BoxLayout:
    """"Step 2 of 4" in words, then each step as a numbered box; the current one
    filled and bold: position shown in text, not by colour alone."""
    names = step_names(ctx.view.requires_pin_letter or step_msgid == texts.STEP_LETTER)
    step = step_number(step_msgid, ctx.view.requires_pin_letter)
    row = BoxLayout(orientation="horizontal", spacing=ctx.m.mm(2), size_hint_y=None, height=ctx.m.mm(9))
    where = ctx.label(texts.STEP_OF, "small", n=step, total=len(names))
    where.size_hint_y = 1
    row.add_widget(where)
    for i, msgid in enumerate(names, start=1):
        current = i == step
        cell = BoxLayout(padding=[ctx.m.mm(1.5), 0])
        p = ctx.pal
        with_background(cell, p.button if current else p.background, p.border, 2 if current else 1)
        cell.add_widget(TextLabel(raw=f"{i}  {ctx.t(msgid)}", lang=ctx.lang, halign="center",
                                  colour=p.button_text if current else p.text, font_size=ctx.m.font("small"),
                                  bold_text=current, pos_hint={"center_y": 0.5}))
        row.add_widget(cell)
    if ctx.rtl:
        kids = list(row.children)  # Kivy keeps them last-added first
        row.clear_widgets()
        for child in kids:
            row.add_widget(child)
    return row
