"""Compartments page (service opening, out of / back in service) and device health."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.domain.compartment import CompartmentState
from kiosk.ui import texts
from kiosk.ui.messages import COMPARTMENT_STATE_TEXTS, device_name
from kiosk.ui.screens.common import Ctx
from kiosk.ui.screens.staff_common import staff_frame
from kiosk.ui.screens.staff_work import compartment_grid
from hardware.interfaces import HealthStatus

SERVICE_REASONS = (
    texts.SERVICE_REASON_CHECK,
    texts.SERVICE_REASON_CLEAN,
    texts.SERVICE_REASON_REPAIR,
    texts.SERVICE_REASON_CITIZEN,
    texts.SERVICE_REASON_FOUND,
)
HEALTH_TEXTS = {HealthStatus.OK: texts.HEALTH_OK, HealthStatus.DEGRADED: texts.HEALTH_DEGRADED,
                HealthStatus.FAILED: texts.HEALTH_FAILED}


def compartments(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    body = ctx.column()
    body.add_widget(ctx.label(texts.SERVICE_CHOOSE, "small", muted=True))
    body.add_widget(compartment_grid(ctx, on_select=a.select_compartment))
    selected = next((c for c in ctx.view.compartments if c.number == ctx.ui.selected), None)
    buttons = [ctx.button(texts.BACK, lambda: a.staff_page("menu"), icon="back", name="back")]
    if selected is not None:
        body.add_widget(ctx.label(texts.SERVICE_SELECTED, number=selected.number,
                                  state=ctx.t(COMPARTMENT_STATE_TEXTS[selected.state])))
        buttons.append(ctx.button(texts.SERVICE_OPEN, a.ask_reason, primary=True, icon="door", name="service_open"))
        if selected.state is CompartmentState.OUT_OF_SERVICE:
            buttons.append(ctx.button(texts.SERVICE_IN, a.set_in_service, name="service_in"))
        else:
            buttons.append(ctx.button(texts.SERVICE_OUT, a.set_out_of_service, icon="warning", name="service_out"))
    return staff_frame(ctx, texts.SERVICE_TITLE, body, ctx.row(*buttons))


def reason(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    body = ctx.column()
    body.add_widget(ctx.label(texts.SERVICE_REASON_TITLE, number=ctx.ui.selected))
    grid = ctx.grid(1)
    for i, msgid in enumerate(SERVICE_REASONS):
        # The English msgid is what the journal and the registry record.
        grid.add_widget(ctx.button(msgid, lambda m=msgid: a.open_for_service(m), name=f"reason_{i}"))
    body.add_widget(grid)
    controls = ctx.row(ctx.button(texts.BACK, a.cancel_reason, icon="back", name="back"))
    return staff_frame(ctx, texts.SERVICE_TITLE, body, controls)


def health(ctx: Ctx) -> BoxLayout:
    body = ctx.column()
    for device in ctx.act.device_health():
        line = ctx.t(texts.HEALTH_DEVICE, device=device_name(device.device, ctx.lang),
                     status=ctx.t(HEALTH_TEXTS[device.status]))
        body.add_widget(ctx.plain(line + (f"  ({device.detail})" if device.detail else "")))
    controls = ctx.row(ctx.button(texts.BACK, lambda: ctx.act.staff_page("menu"), icon="back", name="back"))
    return staff_frame(ctx, texts.HEALTH_TITLE, body, controls)
