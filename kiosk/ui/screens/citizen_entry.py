"""Scan the QR code, type the code, type the PIN, confirm the PIN letter."""

from __future__ import annotations

import re

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.graphics import Color, Line

from common.credentials import ALPHABET, CODE_LENGTH, PIN_LENGTH
from kiosk.domain.pickup_session import PickupState
from kiosk.ui import texts
from kiosk.ui.messages import citizen_error, document_kind_line
from kiosk.ui.screens.common import Ctx, citizen_frame, reading_order
from kiosk.ui.widgets import Pictogram, PinDots, TextLabel, with_background


def framing_guide(ctx: Ctx) -> FloatLayout:
    """The camera picture (or a QR pictogram) with corner marks to aim at."""
    box = FloatLayout(size_hint_y=None, height=ctx.m.mm(70))
    if ctx.preview is not None:
        ctx.preview.size_hint = (1, 1)
        ctx.preview.pos_hint = {"x": 0, "y": 0}
        box.add_widget(ctx.preview)
    else:
        box.add_widget(Pictogram("qr", ctx.pal.text, size_hint=(0.5, 0.6), pos_hint={"center_x": 0.5, "center_y": 0.5}))
    with box.canvas.after:
        Color(*ctx.pal.focus, 1)
        corners = [Line(points=[], width=4) for _ in range(4)]

    def draw(*_):
        side = min(box.width, box.height) * 0.8
        x0, y0 = box.center_x - side / 2, box.center_y - side / 2
        arm = side * 0.18
        for line, (x, y, dx, dy) in zip(corners, [(x0, y0, 1, 1), (x0 + side, y0, -1, 1),
                                                  (x0, y0 + side, 1, -1), (x0 + side, y0 + side, -1, -1)]):
            line.points = [x + dx * arm, y, x, y, x, y + dy * arm]

    box.bind(pos=draw, size=draw)
    return box


def scan(ctx: Ctx) -> BoxLayout:
    info = ctx.column()
    info.add_widget(ctx.label(texts.SCAN_TITLE, "title", keep=True))
    info.add_widget(ctx.label(texts.SCAN_INSTRUCTION, keep=True))
    camera_ok = ctx.act.camera_available()
    if not camera_ok:
        info.add_widget(ctx.notice_box(ctx.t(texts.SCAN_CAMERA_UNAVAILABLE), ""))
    else:
        info.add_widget(ctx.reuse("camera-where", lambda: where_line(ctx, "camera", texts.SCAN_CAMERA_WHERE)))
    # Without a live picture the guide is the same every time: built once.
    info.add_widget(framing_guide(ctx) if ctx.preview is not None
                    else ctx.reuse("framing-guide", lambda: framing_guide(ctx)))
    # Scanning is the main way; typing is the fallback, so it is the secondary
    # button unless the camera is out.
    controls = ctx.reuse(f"scan-actions-{camera_ok}", lambda: ctx.row(
        ctx.button(texts.BACK, ctx.act.back, icon="back", name="back"),
        ctx.button(texts.SCAN_TYPE_INSTEAD, ctx.act.type_instead, primary=not camera_ok, icon="keypad",
                   name="type_instead"),
    ))
    return citizen_frame(ctx, info, controls, step=texts.STEP_CODE)


def where_line(ctx: Ctx, icon: str, msgid: str) -> BoxLayout:
    """A pictogram with where a part of the box is ("The camera is below the screen")."""
    row = BoxLayout(orientation="horizontal", size_hint_y=None, height=ctx.m.mm(12), spacing=ctx.m.mm(3))
    picture = Pictogram(icon, ctx.pal.text, size_hint=(None, 1), width=ctx.m.mm(12))
    label = ctx.label(msgid, "body")
    label.size_hint_y = 1
    for child in reading_order((picture, label), ctx.rtl):
        row.add_widget(child)
    return row


def entry_display(ctx: Ctx, text: str) -> BoxLayout:
    """The characters typed so far, large and left to right in every language
    (codes are written left to right in Arabic too)."""
    box = BoxLayout(size_hint_y=None, height=ctx.m.mm(16), padding=ctx.m.mm(2))
    with_background(box, ctx.pal.button_secondary, ctx.pal.border, 2)
    label = ctx.plain(text, "display", halign="center")
    label.lang = "en"
    label.pos_hint = {"center_y": 0.5}
    box.add_widget(label)
    return box


def pin_display(ctx: Ctx, count: int) -> BoxLayout:
    box = BoxLayout(size_hint_y=None, height=ctx.m.mm(16), padding=ctx.m.mm(2))
    with_background(box, ctx.pal.button_secondary, ctx.pal.border, 2)
    box.add_widget(PinDots(count, PIN_LENGTH, ctx.pal.button_secondary_text, ctx.m.mm(6)))
    return box


def code(ctx: Ctx) -> BoxLayout:
    buffer = ctx.buffers.code
    info = ctx.column()
    info.add_widget(ctx.label(texts.CODE_TITLE, "title", keep=True))
    info.add_widget(ctx.label(texts.CODE_INSTRUCTION, keep=True))
    info.add_widget(entry_display(ctx, spaced_slots(buffer.display())))
    info.add_widget(ctx.label(texts.CODE_PROGRESS, "small", count=buffer.count, total=CODE_LENGTH))
    if ctx.ui.code_error is not None:
        msgid, values = ctx.ui.code_error
        info.add_widget(ctx.notice_box(ctx.t(msgid, **dict(values)), ""))
    controls = code_keys_block(ctx)
    return citizen_frame(ctx, info, controls, step=texts.STEP_CODE)


def spaced_slots(display: str) -> str:
    """Empty slots as separate marks ("K7_ _-_ _ _ _"), so the number of missing
    characters can be counted: "K7__-____" runs together into one line."""
    return re.sub(r"_(?=_)", "_\u2009", display)


def code_keys_block(ctx: Ctx) -> BoxLayout:
    """The code keypad and its action row, built once per language and mode
    (and ahead of time, see KioskApp._schedule_prebuild)."""
    return ctx.reuse("code_keys", lambda: _code_controls(ctx))


def _code_controls(ctx: Ctx) -> BoxLayout:
    controls = ctx.column(2)
    controls.add_widget(code_keys(ctx))
    controls.add_widget(ctx.row(
        ctx.button(texts.BACK, ctx.act.back, icon="back", name="back"),
        ctx.button(texts.DELETE, ctx.act.delete, name="delete"),
        ctx.button(texts.CONTINUE, ctx.act.submit, primary=True, icon="check", name="continue"),
    ))
    return controls


def code_keys(ctx: Ctx) -> BoxLayout:
    keys = ctx.grid(8)
    for char in ALPHABET:
        keys.add_widget(ctx.button("", lambda c=char: ctx.act.key(c), raw=char, name=f"key_{char}", role="key"))
    return keys


def pin_keypad(ctx: Ctx) -> BoxLayout:
    """Phone layout (1-2-3 on top), like the tactile keypad below the screen."""
    return ctx.reuse("pin_keypad", lambda: _pin_keypad(ctx))


def _pin_keypad(ctx: Ctx) -> BoxLayout:
    controls = ctx.column(2)
    keys = ctx.grid(3)
    for digit in "123456789":
        keys.add_widget(ctx.button("", lambda d=digit: ctx.act.key(d), raw=digit, name=f"key_{digit}", role="key"))
    # The digits keep the phone layout in every language (like the tactile
    # keypad); the action row follows the reading direction: Continue at its end.
    for button in reading_order((
            ctx.button(texts.DELETE, ctx.act.delete, name="delete"),
            ctx.button("", lambda: ctx.act.key("0"), raw="0", name="key_0", role="key"),
            ctx.button(texts.CONTINUE, ctx.act.submit, primary=True, name="continue")), ctx.rtl):
        keys.add_widget(button)
    controls.add_widget(keys)
    return controls


def add_document_kind(ctx: Ctx, info: BoxLayout) -> None:
    """Which document this is ("Document: Passport"): orientation while typing the PIN."""
    line = document_kind_line(ctx.view, ctx.lang)
    if line:
        info.add_widget(TextLabel(raw=line, lang=ctx.lang, colour=ctx.pal.text, font_size=ctx.m.font("body"),
                                  bold_text=True))


def title_with_kind(ctx: Ctx, msgid: str) -> BoxLayout:
    """The screen title, and at the end of its line "Document: Passport" (in reading order)."""
    title = ctx.label(msgid, "title")
    line = document_kind_line(ctx.view, ctx.lang)
    if not line:
        return title
    title.size_hint_x = 0.6
    kind = TextLabel(raw=line, lang=ctx.lang, colour=ctx.pal.text, font_size=ctx.m.font("body"), bold_text=True,
                     size_hint_x=0.4, pos_hint={"center_y": 0.5})
    row = BoxLayout(orientation="horizontal", size_hint_y=None, spacing=ctx.m.mm(4))
    for child in reading_order((title, kind), ctx.rtl):
        row.add_widget(child)

    def fit(*_):
        row.height = max(title.height, kind.height)

    title.bind(height=fit)
    kind.bind(height=fit)
    fit()
    return row


def pin(ctx: Ctx) -> BoxLayout:
    buffer = ctx.buffers.pin
    info = ctx.column()
    # The document beside the title, on every PIN screen (after a wrong PIN
    # too: which document it is tells the citizen which letter, and so which
    # pickup PIN, to look for), without taking a line of the full screen.
    info.add_widget(title_with_kind(ctx, texts.PIN_TITLE))
    info.add_widget(ctx.label(texts.PIN_INSTRUCTION))
    if ctx.view.pickup_state is PickupState.WRONG_PIN:
        error = citizen_error(ctx.view, ctx.now)
        if error:
            (title, tv), (text, xv) = error
            info.add_widget(ctx.notice_box(ctx.t(title, **tv), ctx.t(text, **xv)))
    info.add_widget(pin_display(ctx, buffer.count))
    if buffer.count:
        info.add_widget(ctx.label(texts.PIN_PROGRESS, "small", n=buffer.count, total=PIN_LENGTH))
    controls = ctx.column(2)
    controls.add_widget(pin_keypad(ctx))
    controls.add_widget(ctx.reuse("pin-cancel", lambda: ctx.row(
        ctx.button(texts.CANCEL, ctx.act.cancel, icon="back", name="cancel"))))
    return citizen_frame(ctx, info, controls, step=texts.STEP_PIN)


def pin_letter(ctx: Ctx) -> BoxLayout:
    info = ctx.column()
    info.add_widget(ctx.label(texts.PIN_LETTER_TITLE, "title"))
    add_document_kind(ctx, info)
    info.add_widget(ctx.label(texts.PIN_LETTER_TEXT))
    info.add_widget(ctx.label(texts.PIN_LETTER_NOT_RECEIVED))
    controls = ctx.row(
        ctx.button(texts.PIN_LETTER_NO, lambda: ctx.act.pin_letter(False), name="pin_letter_no"),
        ctx.button(texts.PIN_LETTER_YES, lambda: ctx.act.pin_letter(True), primary=True, icon="check",
                   name="pin_letter_yes"),
    )
    return citizen_frame(ctx, info, controls, step=texts.STEP_LETTER)
