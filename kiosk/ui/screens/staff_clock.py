"""The staff menu asks about a large wall-clock step the registry could not confirm.

The kiosk holds such a step (kiosk.clock): deadlines go on from the time it
trusts until the registry's time or staff confirm the wall clock. While a
step waits, the menu shows "the clock has moved by ...: is <time> right?"
with yes and no; the core records the answer with the staff ids.
"""

from __future__ import annotations

from kivy.uix.widget import Widget

from kiosk.ui.screens.common import Ctx
from kiosk.ui.texts import N_

CLOCK_STEP_QUESTION = N_("The clock has moved by {offset}: is {time} right?")
CLOCK_STEP_YES = N_("Yes")
CLOCK_STEP_NO = N_("No")


def with_clock_question(ctx: Ctx, body: Widget) -> Widget:
    """`body`, below the question while a step waits for staff."""
    step = ctx.view.clock_step
    if step is None:
        return body
    shown = step.wall_clock.astimezone().strftime("%d.%m.%Y %H:%M")
    box = ctx.column()
    box.add_widget(ctx.notice_box(ctx.t(CLOCK_STEP_QUESTION, offset=step.offset, time=shown), "",
                                  icon="clock"))
    box.add_widget(ctx.row(
        ctx.button(CLOCK_STEP_YES, lambda: ctx.act.confirm_clock(True), name="clock_right"),
        ctx.button(CLOCK_STEP_NO, lambda: ctx.act.confirm_clock(False), name="clock_wrong"),
    ))
    box.add_widget(body)
    return box
