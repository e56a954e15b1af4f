"""The door opens, the door is open, done, and the error screens."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.domain.compartment import HeightClass
from kiosk.domain.effects import Problem
from kiosk.ui import texts
from kiosk.domain.document_return import ReturnState
from kiosk.ui.messages import (RETRYABLE, citizen_error, compartment_place, document_kind_line, isolate,
                                retry_wait, return_text)
from kiosk.ui.screens.box_schematic import BoxSchematic
from kiosk.ui.screens.common import Ctx, citizen_frame
from kiosk.ui.widgets import TextLabel, with_background


def _schematic(ctx: Ctx, number: int | None) -> BoxLayout:
    holder = BoxLayout(size_hint_y=None, height=ctx.m.mm(75), padding=[ctx.m.mm(30), 0])
    holder.add_widget(BoxSchematic(ctx.view.compartments, number, ctx.pal, ctx.m.font("title")))
    return holder


def _where(ctx: Ctx, number: int) -> str:
    compartment = next((c for c in ctx.view.compartments if c.number == number), None)
    place = compartment_place(ctx.view, number)
    height = {HeightClass.LOW: texts.OPENING_LOW, HeightClass.HIGH: texts.OPENING_HIGH}.get(
        compartment.height_class if compartment else HeightClass.STANDARD, texts.OPENING_MIDDLE)
    return " ".join((ctx.t(texts.OPENING_WHERE), ctx.t(height),
                     ctx.t(texts.OPENING_COLUMN, column=place["column"], columns=place["columns"])))


def opening(ctx: Ctx) -> BoxLayout:
    number = ctx.view.pickup_compartment or 0
    info = ctx.column()
    info.add_widget(ctx.label(texts.OPENING_TITLE, "title", number=number))
    info.add_widget(ctx.plain(_where(ctx, number)))
    info.add_widget(_schematic(ctx, number))
    # "The door does not open": the citizen need not wait for the time-out.
    return citizen_frame(ctx, info, ctx.row(problem_button(ctx)), step=texts.STEP_TAKE)


def problem_button(ctx: Ctx):
    """ "Report a problem": while the door opens, is open, and on the receipt."""
    return ctx.button(texts.PROBLEM_BUTTON, ctx.act.open_problem, icon="warning", name="problem")



def door_open(ctx: Ctx) -> BoxLayout:
    number = ctx.view.pickup_compartment or 0
    info = ctx.column()
    info.add_widget(ctx.label(texts.OPEN_TITLE, "title"))
    info.add_widget(ctx.label(texts.OPEN_INSTRUCTION, number=number))
    info.add_widget(_schematic(ctx, number))
    buttons = [problem_button(ctx)]
    if not ctx.view.has_door_sensors:
        buttons.append(ctx.button(texts.OPEN_CLOSED_BUTTON, ctx.act.door_closed, primary=True, icon="door",
                                  name="door_closed"))
    return citizen_frame(ctx, info, ctx.row(*buttons), step=texts.STEP_TAKE)


def receipt_lines(ctx: Ctx) -> list[str]:
    """What the receipt on the done screen says: the document kind, the order
    number from the office's letter, the compartment and the time of the
    handover (no code, no name)."""
    local = ctx.now.astimezone()
    kind = document_kind_line(ctx.view, ctx.lang)
    lines = [kind] if kind else []
    if ctx.view.pickup_reference:
        reference = ctx.view.pickup_reference
        # The order number keeps its own reading order in Arabic text.
        reference = isolate(reference) if ctx.rtl else reference
        lines.append(ctx.t(texts.RECEIPT_REFERENCE, reference=reference))
    if ctx.view.pickup_compartment:
        lines.append(ctx.t(texts.RECEIPT_COMPARTMENT, number=ctx.view.pickup_compartment))
    when = local.strftime("%d.%m.%Y %H:%M")
    # Date and time keep their own reading order in Arabic text.
    lines.append(ctx.t(texts.RECEIPT_TIME, time=isolate(when) if ctx.rtl else when))
    return lines


def done(ctx: Ctx) -> BoxLayout:
    info = ctx.column()
    info.add_widget(ctx.label(texts.DONE_TITLE, "title"))
    info.add_widget(ctx.label(texts.DONE_TEXT))
    receipt = ctx.column(1.5)
    receipt.padding = ctx.m.mm(3)
    with_background(receipt, ctx.pal.button_secondary, ctx.pal.border, 2)
    receipt.add_widget(ctx.label(texts.RECEIPT_TITLE, muted=True))
    for line in receipt_lines(ctx):
        receipt.add_widget(TextLabel(raw=line, lang=ctx.lang, colour=ctx.pal.text, font_size=ctx.m.font("body"),
                                     bold_text=True))
    info.add_widget(receipt)
    controls = ctx.row(problem_button(ctx),
                       ctx.button(texts.ERROR_TO_START, ctx.act.to_start, primary=True, icon="check", name="to_start"))
    return citizen_frame(ctx, info, controls)


PROBLEM_CHOICES = (
    (Problem.COMPARTMENT_EMPTY, texts.PROBLEM_EMPTY),
    (Problem.NOT_MY_DOCUMENT, texts.PROBLEM_NOT_MINE),
    (Problem.DOOR_STUCK, texts.PROBLEM_DOOR),
)


def problem(ctx: Ctx) -> BoxLayout:
    """What is wrong at the door: one large button per answer, one task on the screen."""
    info = ctx.column()
    info.add_widget(ctx.label(texts.PROBLEM_TITLE, "title"))
    info.add_widget(ctx.label(texts.PROBLEM_INTRO))
    for choice, msgid in PROBLEM_CHOICES:
        info.add_widget(ctx.row(ctx.button(msgid, lambda c=choice: ctx.act.report_problem(c), icon="warning",
                                           name=f"problem_{choice.value}")))
    controls = ctx.row(ctx.button(texts.BACK, ctx.act.close_overlay, icon="back", name="problem_back"))
    return citizen_frame(ctx, info, controls, step=texts.STEP_TAKE)


def problem_reported(ctx: Ctx) -> BoxLayout:
    """What happens next: the pickup is on hold, staff look, the office gets in touch."""
    info = ctx.column()
    text = ctx.t(texts.PROBLEM_REPORTED_TEXT)
    if ctx.view.pickup_detail == Problem.NOT_MY_DOCUMENT.value:
        text = " ".join((text, ctx.t(texts.PROBLEM_PUT_BACK)))
    info.add_widget(ctx.notice_box(ctx.t(texts.PROBLEM_REPORTED_TITLE), text, icon="person", kind="success"))
    info.add_widget(ctx.label(texts.PROBLEM_NEXT))
    info.add_widget(ctx.contact_line())
    controls = ctx.row(ctx.button(texts.ERROR_TO_START, ctx.act.to_start, primary=True, icon="check",
                                  name="to_start"))
    return citizen_frame(ctx, info, controls, contact=False)


def error(ctx: Ctx) -> BoxLayout:
    fallback = ((texts.ERR_INVALID_CODE_TITLE, {}), ("", {}))
    (title, tv), (text, xv) = citizen_error(ctx.view, ctx.now) or fallback
    info = ctx.column()
    info.add_widget(ctx.notice_box(ctx.t(title, **tv), ctx.t(text, **xv)))
    # The office contact once, in body size, under its lead-in (the footer is left out).
    info.add_widget(ctx.label(texts.ERROR_CONTACT))
    info.add_widget(ctx.contact_line())
    # A throttled citizen is offered the retry only once the wait is over.
    retry = ctx.view.pickup_state in RETRYABLE and not retry_wait(ctx.view, ctx.now)
    buttons = [ctx.button(texts.ERROR_TO_START, ctx.act.to_start, icon="back", name="to_start",
                          primary=not retry)]
    if retry:
        buttons.append(ctx.button(texts.ERROR_TRY_AGAIN, ctx.act.try_again, primary=True, name="try_again"))
    return citizen_frame(ctx, info, ctx.row(*buttons), contact=False)


def old_id_return(ctx: Ctx) -> BoxLayout:
    view, a = ctx.view, ctx.act
    state = view.return_state
    info = ctx.column()
    info.add_widget(ctx.label(texts.RETURN_TITLE, "title"))
    text = return_text(view, ctx.lang)
    if state is ReturnState.NOT_AN_EID or state is ReturnState.DOOR_FAILED:
        info.add_widget(ctx.notice_box(text, ""))
    else:
        info.add_widget(ctx.plain(text))
    if state in (ReturnState.DOOR_OPENING, ReturnState.DOOR_OPEN) and any(
            c.number == view.return_compartment for c in view.compartments):
        # The return compartment is usually kept out of the layout the kiosk
        # deposits into; then there is nothing to highlight.
        info.add_widget(_schematic(ctx, view.return_compartment))
    buttons = []
    if state in (ReturnState.OFFERED, ReturnState.NOT_AN_EID):
        buttons.append(ctx.button(texts.RETURN_SKIP, a.finish_return, icon="back", name="return_skip"))
    elif state is ReturnState.DOOR_OPEN and not view.has_door_sensors:
        buttons.append(ctx.button(texts.OPEN_CLOSED_BUTTON, a.door_closed, primary=True, icon="door",
                                  name="door_closed"))
    elif state in (ReturnState.RETURNED, ReturnState.DOOR_FAILED):
        buttons.append(ctx.button(texts.RETURN_FINISH, a.finish_return, primary=True, icon="check",
                                  name="return_finish"))
    return citizen_frame(ctx, info, ctx.row(*buttons) if buttons else None)
