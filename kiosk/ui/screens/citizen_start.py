"""Idle screen, language choice and accessibility settings."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.ui import texts
from kiosk.domain.staff_session import Notice
from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.messages import staff_notice
from kiosk.ui.messages import office_contact
from kiosk.ui.screens.common import Ctx, citizen_frame, reading_order, toggle_button
from kiosk.ui.widgets import Pictogram, TextLabel


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
    info.add_widget(ctx.label(texts.IDLE_TITLE, "title", halign="center", keep=True))
    info.add_widget(ctx.label(texts.IDLE_SUBTITLE, halign="center", keep=True))
    info.add_widget(ctx.label(texts.IDLE_HINT, halign="center", keep=True))
    if isinstance(ctx.flash, Notice):  # a failed staff login ends on this screen
        info.add_widget(ctx.notice_box(staff_notice(ctx.flash, ctx.lang), ""))
    elif ctx.flash:
        info.add_widget(ctx.notice_box(ctx.t(ctx.flash), "", icon="clock"))
    controls = ctx.column()
    start = ctx.button(texts.IDLE_START, ctx.act.start, primary=True, icon="qr", name="start", role="title")
    start.height = ctx.m.target * 1.6
    controls.add_widget(ctx.row(start, height=start.height))
    controls.add_widget(ctx.reuse("language-grid-4", lambda: language_grid(ctx)))
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
    info.add_widget(ctx.label(texts.A11Y_EXPLAIN))
    controls = ctx.column()

    def toggle(msgid: str, on: bool, action, icon: str, name: str):
        # The state in words ("on"/"off"), a check mark and a thick frame; never
        # the filled style of the "Done" action button.
        return toggle_button(ctx, msgid, on, action, icon, name)

    grid = ctx.grid(2)
    grid.add_widget(toggle(texts.HIGH_CONTRAST, ui.high_contrast, a.toggle_contrast, "contrast", "a11y_contrast"))
    grid.add_widget(toggle(texts.LARGE_TEXT, ui.large_text, a.toggle_large_text, "text-size", "a11y_large"))
    grid.add_widget(toggle(texts.REACH, ui.reach, a.toggle_reach, "reach", "a11y_reach"))
    grid.add_widget(toggle(texts.SPEECH, ui.speech, a.toggle_speech, "speaker", "a11y_speech"))
    controls.add_widget(grid)
    controls.add_widget(ctx.row(ctx.button(texts.A11Y_CLOSE, a.close_overlay, primary=True, icon="check",
                                           name="a11y_done")))
    return citizen_frame(ctx, info, controls)


CALL_TEXTS = {"calling": texts.HELP_CALLING, "connected": texts.HELP_CONNECTED, "failed": texts.HELP_CALL_FAILED}


def help_page(ctx: Ctx) -> BoxLayout:
    """The help page of the step the citizen was on: what to do, where the
    camera and the card reader are, and how to reach a person. Read aloud
    when it opens (KioskApp.help_speech)."""
    from kiosk.ui.flow import Screen
    from kiosk.ui.messages import help_text

    about = Screen(ctx.ui.help_for) if ctx.ui.help_for else None
    info = ctx.column()
    info.add_widget(ctx.label(texts.HELP_TITLE, "title"))
    info.add_widget(ctx.label(help_text(about)))
    for icon, msgid in (("camera", texts.HELP_CAMERA_WHERE), ("card", texts.HELP_READER_WHERE)):
        info.add_widget(_pictogram_line(ctx, icon, ctx.label(msgid)))
    o = ctx.office
    person = ctx.column(1)
    person.add_widget(ctx.label(texts.HELP_PERSON, "body"))
    person.add_widget(TextLabel(raw=office_contact(o.name, o.phone, o.opening_hours, ctx.lang), lang=ctx.lang,
                                colour=ctx.pal.text, font_size=ctx.m.font("body"), bold_text=True))
    info.add_widget(_pictogram_line(ctx, "person", person))
    state = ctx.act.call_state() if ctx.act.help_call is not None else None
    if state in CALL_TEXTS:
        info.add_widget(ctx.notice_box(ctx.t(CALL_TEXTS[state]), "", icon="person",
                                       kind="error" if state == "failed" else "success"))
    info.add_widget(ctx.label(texts.HELP_KEYS, "small", muted=True))
    buttons = [ctx.button(texts.HELP_BACK, ctx.act.close_overlay, primary=True, icon="back", name="help_back")]
    if state is not None and state not in ("calling", "connected"):
        # Only when the box has a help-call device (hardware.help_call).
        buttons.append(ctx.button(texts.HELP_CALL_NOW, ctx.act.call_for_help, icon="person", name="help_call"))
    controls = ctx.row(*buttons)
    return citizen_frame(ctx, info, controls, contact=False)


def _pictogram_line(ctx: Ctx, icon: str, content) -> BoxLayout:
    row = BoxLayout(orientation="horizontal", size_hint_y=None, spacing=ctx.m.mm(3))
    picture = Pictogram(icon, ctx.pal.text, size_hint=(None, None), size=(ctx.m.mm(12), ctx.m.mm(12)),
                        pos_hint={"center_y": 0.5})
    content.pos_hint = {"center_y": 0.5}
    for child in reading_order((picture, content), ctx.rtl):
        row.add_widget(child)
    content.bind(height=lambda *_: setattr(row, "height", max(content.height, ctx.m.mm(12))))
    row.height = max(content.height, ctx.m.mm(12))
    return row
