"""Idle screen, language choice and accessibility settings."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.ui import texts
from kiosk.domain.staff_session import Notice
from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.messages import staff_notice
from kiosk.ui.screens.common import Ctx, citizen_frame
from kiosk.ui.widgets import KioskButton, Pictogram


def language_grid(ctx: Ctx, cols: int = 4) -> BoxLayout:
    grid = ctx.grid(cols)
    for language in LANGUAGES:
        button = ctx.button("", lambda code=language.code: ctx.act.set_language(code), raw=language.native_name,
                            name=f"lang_{language.code}")
        # Each name is drawn in its own language, so the Arabic name is shaped.
        button.label.lang = language.code
        grid.add_widget(button)
    return grid


def idle(ctx: Ctx) -> BoxLayout:
    info = ctx.column()
    logo = BoxLayout(size_hint_y=None, height=ctx.m.mm(22))
    logo.add_widget(Pictogram("logo", (1, 1, 1)))
    info.add_widget(logo)
    info.add_widget(ctx.label(texts.IDLE_TITLE, "title", halign="center"))
    info.add_widget(ctx.label(texts.IDLE_SUBTITLE, halign="center"))
    info.add_widget(ctx.label(texts.IDLE_HINT, "small", muted=True, halign="center"))
    if isinstance(ctx.flash, Notice):  # a failed staff login ends on this screen
        info.add_widget(ctx.notice_box(staff_notice(ctx.flash, ctx.lang), ""))
    elif ctx.flash:
        info.add_widget(ctx.notice_box(ctx.t(ctx.flash), "", icon="clock"))
    controls = ctx.column()
    start = ctx.button(texts.IDLE_START, ctx.act.start, primary=True, icon="qr", name="start", role="title")
    start.height = ctx.m.target * 1.6
    controls.add_widget(ctx.row(start, height=start.height))
    controls.add_widget(language_grid(ctx))
    return citizen_frame(ctx, info, controls)


def language(ctx: Ctx) -> BoxLayout:
    info = ctx.column()
    info.add_widget(ctx.label(texts.LANGUAGE_TITLE, "title"))
    controls = ctx.column()
    controls.add_widget(language_grid(ctx, cols=2))
    controls.add_widget(ctx.row(ctx.button(texts.BACK, ctx.act.close_overlay, icon="back", name="back")))
    return citizen_frame(ctx, info, controls)


def accessibility(ctx: Ctx) -> BoxLayout:
    ui, a = ctx.ui, ctx.act
    info = ctx.column()
    info.add_widget(ctx.label(texts.A11Y_TITLE, "title"))
    info.add_widget(ctx.label(texts.A11Y_EXPLAIN, "small", muted=True))
    controls = ctx.column()

    def toggle(msgid: str, on: bool, action, icon: str, name: str) -> KioskButton:
        # The state is shown by a check mark and by the filled style, not by colour alone.
        return ctx.button(msgid, action, primary=on, icon="check" if on else icon, name=name)

    grid = ctx.grid(2)
    grid.add_widget(toggle(texts.HIGH_CONTRAST, ui.high_contrast, a.toggle_contrast, "contrast", "a11y_contrast"))
    grid.add_widget(toggle(texts.LARGE_TEXT, ui.large_text, a.toggle_large_text, "text-size", "a11y_large"))
    grid.add_widget(toggle(texts.REACH, ui.reach, a.toggle_reach, "reach", "a11y_reach"))
    grid.add_widget(toggle(texts.SPEECH_ON if ui.speech else texts.SPEECH_OFF, ui.speech, a.toggle_speech,
                           "speaker", "a11y_speech"))
    controls.add_widget(grid)
    controls.add_widget(ctx.row(ctx.button(texts.A11Y_CLOSE, a.close_overlay, primary=True, icon="check",
                                           name="a11y_done")))
    return citizen_frame(ctx, info, controls)
