"""Staff inspect compartments a crash left uncertain (kiosk.domain.inspection).

The list page names each compartment and the document the records expect;
opening one unlocks its door and asks "is document PO-... inside?", with
three answers: yes, no (empty), something else. The core records the answer
with the staff ids and reports it to the registry.
"""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.domain.effects import InspectionOutcome
from kiosk.ui import inspection_texts as itexts
from kiosk.ui import texts
from kiosk.ui.screens.common import Ctx
from kiosk.ui.screens.staff_common import staff_frame


def inspections(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    body = ctx.column()
    if ctx.view.inspections:
        body.add_widget(ctx.label(itexts.INSPECTIONS_WHY, "small", muted=True))
    else:
        body.add_widget(ctx.label(itexts.INSPECTION_NONE_LEFT))
    for item in ctx.view.inspections:
        if item.order_reference:
            what = ctx.label(
                itexts.INSPECTION_ITEM, number=item.compartment, reference=item.order_reference
            )
        else:
            what = ctx.label(itexts.INSPECTION_ITEM_NO_ORDER, number=item.compartment)
        body.add_widget(
            ctx.row(
                what,
                ctx.button(
                    "",
                    lambda n=item.compartment: a.start_inspection(n),
                    icon="door",
                    name=f"inspect_{item.compartment}",
                    raw=ctx.t(itexts.INSPECTION_OPEN, number=item.compartment),
                ),
            )
        )
    controls = ctx.row(
        ctx.button(texts.BACK, lambda: a.staff_page("menu"), icon="back", name="back")
    )
    return staff_frame(ctx, itexts.INSPECTIONS_TITLE, body, controls)


def inspection_door(ctx: Ctx) -> BoxLayout:
    a, view = ctx.act, ctx.view
    number = view.staff_compartment or 0
    body = ctx.column()
    if view.staff_order:
        body.add_widget(
            ctx.label(
                itexts.INSPECTION_QUESTION, "title", number=number, reference=view.staff_order
            )
        )
    else:
        body.add_widget(ctx.label(itexts.INSPECTION_QUESTION_NO_ORDER, "title", number=number))
    controls = ctx.row(
        ctx.button(
            itexts.INSPECTION_YES,
            lambda: a.resolve_inspection(InspectionOutcome.INSIDE.value),
            primary=True,
            name="inspection_inside",
        ),
        ctx.button(
            itexts.INSPECTION_NO,
            lambda: a.resolve_inspection(InspectionOutcome.EMPTY.value),
            name="inspection_empty",
        ),
        ctx.button(
            itexts.INSPECTION_OTHER,
            lambda: a.resolve_inspection(InspectionOutcome.OTHER.value),
            icon="warning",
            name="inspection_other",
        ),
    )
    return staff_frame(ctx, itexts.INSPECTIONS_TITLE, body, controls)
