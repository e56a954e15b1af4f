"""Staff PIN after the card, and the second card of the four-eyes rule."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.domain.staff_session import StaffState
from kiosk.ui import texts
from kiosk.ui.screens.citizen_entry import pin_display, pin_keypad
from kiosk.ui.screens.common import Ctx
from kiosk.ui.screens.staff_common import staff_frame


def staff_pin(ctx: Ctx) -> BoxLayout:
    second = ctx.view.staff_state is StaffState.AWAITING_SECOND_PIN
    body = ctx.column()
    body.add_widget(ctx.label(texts.STAFF_SECOND_PIN_INSTRUCTION if second else texts.STAFF_PIN_INSTRUCTION))
    body.add_widget(pin_display(ctx, ctx.buffers.pin.count))
    controls = ctx.column(2)
    controls.add_widget(pin_keypad(ctx))
    controls.add_widget(ctx.row(ctx.button(texts.CANCEL, ctx.act.staff_cancel, icon="back", name="cancel")))
    return staff_frame(ctx, texts.STAFF_SECOND_CARD_TITLE if second else texts.STAFF_PIN_TITLE, body, controls)


def second_card(ctx: Ctx) -> BoxLayout:
    body = ctx.column()
    body.add_widget(ctx.label(texts.STAFF_SECOND_CARD_TEXT))
    controls = ctx.row(ctx.button(texts.CANCEL, ctx.act.staff_finish, icon="back", name="cancel"))
    return staff_frame(ctx, texts.STAFF_SECOND_CARD_TITLE, body, controls)
