"""The frame of the staff screens: who is logged in, notices, auto-logout."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.ui import texts
from kiosk.ui.flow import seconds_left
from kiosk.ui.messages import notice_kind, staff_notice
from kiosk.ui.screens.common import Ctx, spacer

# Show the automatic-logout countdown this long before it happens.
LOGOUT_WARNING_SECONDS = 60


def staff_frame(ctx: Ctx, title: str, body: Widget, controls: Widget | None = None) -> BoxLayout:
    root = BoxLayout(orientation="vertical", padding=ctx.m.mm(5), spacing=ctx.m.mm(3))
    head = ctx.column(1)
    head.add_widget(ctx.label(title, "title"))
    if ctx.view.staff_ids:
        head.add_widget(ctx.label(texts.STAFF_LOGGED_IN, "small", muted=True, staff=", ".join(ctx.view.staff_ids)))
    root.add_widget(head)
    error = staff_notice(ctx.view.staff_error_notice, ctx.lang)
    if error:
        root.add_widget(ctx.notice_box(error, ""))
    message = staff_notice(ctx.view.staff_message_notice, ctx.lang)
    if message:
        # "Order ... deposited", "2 documents removed": a confirmation, not an error.
        root.add_widget(ctx.notice_box(message, "", icon="check",
                                       kind=notice_kind(ctx.view.staff_message_notice)))
    left = seconds_left(ctx.view.staff_expires_at, ctx.now)
    if left is not None and left <= LOGOUT_WARNING_SECONDS:
        root.add_widget(ctx.label(texts.STAFF_AUTO_LOGOUT, "small", seconds=left))
    root.add_widget(body)
    root.add_widget(spacer())
    if controls is not None:
        root.add_widget(controls)
    return root
