"""Staff menu with the compartment overview, deposit, and open doors."""

from __future__ import annotations

from kivy.graphics import Color, Line
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.domain.compartment import Compartment, CompartmentState
from common.credentials import ALPHABET
from kiosk.domain.staff_session import StaffState
from kiosk.ui import texts
from kiosk.ui.inspection_texts import STAFF_INSPECTIONS
from kiosk.ui.messages import COMPARTMENT_STATE_TEXTS
from kiosk.ui.screens.box_schematic import BoxSchematic
from kiosk.ui.screens.cabinet_grid import SIZE_ROOM, CabinetGrid
from kiosk.ui.screens.citizen_entry import entry_display
from kiosk.ui.screens.staff_clock import with_clock_question
from kiosk.ui.screens.common import Ctx
from kiosk.ui.screens.staff_common import staff_frame
from kiosk.ui.widgets import KioskButton

# Keys for typing an order reference ("PO-" + code alphabet); O, 0 and 1 too,
# because references from other registries may use them.
REFERENCE_KEYS = ALPHABET + "O01-"


def mark_state(button: KioskButton, compartment: Compartment, colour) -> None:
    """A pattern per state, so the grid relies on neither colour nor text alone.

    Occupied: a bar along the bottom. Out of service: crosses in two corners.
    Open: an inner frame. Reserved: a folded top-right corner.
    """
    state = compartment.state
    with button.canvas.after:
        Color(*colour, 1)
        lines = [Line(points=[], width=2.5) for _ in range(4)]

    def place(*_):
        x, y, w, h = button.x, button.y, button.width, button.height
        c = min(w, h) * 0.22  # size of the corner marks
        for line in lines:
            line.points = []
        if state is CompartmentState.OCCUPIED:
            lines[0].points = [x + 8, y + 8, x + w - 8, y + 8]
            lines[0].width = 5
        elif state is CompartmentState.OUT_OF_SERVICE:
            lines[0].points = [x + 6, y + h - 6, x + 6 + c, y + h - 6 - c]
            lines[1].points = [x + 6, y + h - 6 - c, x + 6 + c, y + h - 6]
            lines[2].points = [x + w - 6 - c, y + 6, x + w - 6, y + 6 + c]
            lines[3].points = [x + w - 6 - c, y + 6 + c, x + w - 6, y + 6]
        elif state is CompartmentState.OPEN:
            lines[0].points = [x + 7, y + 7, x + w - 7, y + 7, x + w - 7, y + h - 7, x + 7, y + h - 7, x + 7, y + 7]
        elif state is CompartmentState.RESERVED:
            lines[0].points = [x + w - 6 - c, y + h - 6, x + w - 6, y + h - 6 - c]
            lines[1].points = [x + w - 6 - c, y + h - 6, x + w - 6 - c, y + h - 6 - c, x + w - 6, y + h - 6 - c]

    button.bind(pos=place, size=place)


def cabinet_cells(compartments) -> list[list[Compartment | None]]:
    """The compartments as the cabinet stands: one list per row, the top row
    first, columns from the left; None where a column has no compartment at
    that row (a large door spans the room of smaller ones)."""
    if not compartments:
        return []
    columns = sorted({c.column for c in compartments})
    top = max(c.row for c in compartments)
    at = {(c.column, c.row): c for c in compartments}
    return [[at.get((col, row)) for col in columns] for row in range(top, 0, -1)]


def compartment_caption(ctx: Ctx, c: Compartment) -> str:
    """Number, "low" for wheelchair-reachable ones, and the state; for a
    compartment that holds a document, its order and pickup deadline."""
    first = [ctx.t(texts.COMPARTMENT_LABEL, number=c.number)]
    if c.is_low:
        first.append(ctx.t(texts.COMPARTMENT_LOW))
    first.append(ctx.t(COMPARTMENT_STATE_TEXTS[c.state]))
    lines = [" · ".join(first)]
    if c.order_reference and c.state in (CompartmentState.OCCUPIED, CompartmentState.RESERVED,
                                         CompartmentState.OPEN, CompartmentState.NEEDS_INSPECTION):
        second = [c.order_reference]
        deadline = dict(ctx.view.pickup_deadlines).get(c.number)
        if deadline is not None and c.state is not CompartmentState.RESERVED:
            second.append(ctx.t(texts.COMPARTMENT_DEADLINE, date=deadline.astimezone().strftime("%d.%m.%Y")))
        lines.append(" · ".join(second))
    return "\n".join(lines)


def compartment_grid(ctx: Ctx, on_select=None, room: float = SIZE_ROOM) -> Widget:
    """The compartments laid out like the cabinet (see cabinet_grid)."""

    def door(c: Compartment) -> KioskButton:
        selected = ctx.ui.selected == c.number
        action = (lambda n=c.number: on_select(n)) if on_select else (lambda: None)
        button = ctx.button("", action, raw=compartment_caption(ctx, c), name=f"compartment_{c.number}",
                            role="small", primary=selected)
        mark_state(button, c, ctx.pal.button_text if selected else ctx.pal.text)
        return button

    return CabinetGrid(ctx.view.compartments, door, door=ctx.m.target * 1.02, gap=ctx.m.mm(1.5), room=room)


def menu(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    if ctx.ui.confirm_exit:
        return _confirm_exit(ctx)
    # The clock question needs the room the larger doors would take.
    body = with_clock_question(ctx, compartment_grid(ctx, room=1.0 if ctx.view.clock_step else SIZE_ROOM))
    actions = ctx.grid(3)
    actions.add_widget(ctx.button(texts.STAFF_DEPOSIT, a.staff_deposit, primary=True, icon="door", name="deposit"))
    actions.add_widget(ctx.button(texts.STAFF_REMOVE_EXPIRED, a.staff_remove, icon="clock", name="remove"))
    actions.add_widget(ctx.button(texts.STAFF_SERVICE, lambda: a.staff_page("compartments"), icon="keypad",
                                  name="compartments"))
    actions.add_widget(ctx.button(texts.STAFF_HEALTH, lambda: a.staff_page("health"), icon="warning",
                                  name="health"))
    if ctx.view.inspections:
        waiting = ctx.t(STAFF_INSPECTIONS, count=len(ctx.view.inspections))
        actions.add_widget(ctx.button("", lambda: a.staff_page("inspections"), icon="warning",
                                      name="inspections", raw=waiting))
    actions.add_widget(ctx.button(texts.STAFF_LOGOUT, a.staff_logout, icon="back", name="logout"))
    # "Exit app" apart from the everyday actions, and it asks once more.
    actions.add_widget(Widget())
    actions.add_widget(ctx.button(texts.STAFF_EXIT_APP, a.exit_app, icon="warning", name="exit_app",
                                  role="small"))
    return staff_frame(ctx, texts.STAFF_MENU_TITLE, body, actions)


def _confirm_exit(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    body = ctx.column()
    body.add_widget(ctx.notice_box(ctx.t(texts.STAFF_EXIT_CONFIRM), ""))
    controls = ctx.row(
        ctx.button(texts.BACK, a.cancel_exit, primary=True, icon="back", name="exit_cancel"),
        ctx.button(texts.STAFF_EXIT_YES, a.confirm_exit_app, icon="warning", name="exit_confirm"),
    )
    return staff_frame(ctx, texts.STAFF_MENU_TITLE, body, controls)


def deposit(ctx: Ctx) -> BoxLayout:
    a = ctx.act
    body = ctx.column()
    body.add_widget(ctx.label(texts.DEPOSIT_INSTRUCTION))
    body.add_widget(ctx.label(texts.DEPOSIT_REFERENCE, "small", muted=True))
    reference = ctx.buffers.reference.display()
    body.add_widget(entry_display(ctx, reference or " "))
    controls = ctx.column(2)
    keys = ctx.grid(12)
    for char in REFERENCE_KEYS:
        keys.add_widget(ctx.button("", lambda c=char: a.key(c), raw=char, name=f"key_{char}", role="small"))
    controls.add_widget(keys)
    controls.add_widget(ctx.row(
        ctx.button(texts.DEPOSIT_FINISH, a.staff_finish, icon="back", name="finish"),
        ctx.button(texts.DELETE, a.delete, name="delete"),
        ctx.button(texts.DEPOSIT_SUBMIT, a.submit, primary=True, icon="door", name="submit_reference"),
    ))
    return staff_frame(ctx, texts.DEPOSIT_TITLE, body, controls)


def door(ctx: Ctx) -> BoxLayout:
    a, view = ctx.act, ctx.view
    number = view.staff_compartment or 0
    compartment = next((c for c in view.compartments if c.number == number), None)
    body = ctx.column()
    if view.staff_state is StaffState.DEPOSIT_DOOR_OPEN:
        title = texts.DEPOSIT_TITLE
        low = compartment is not None and compartment.is_low
        reference = compartment.order_reference if compartment is not None else None
        if reference:
            # The order again, so staff put the right document into this door.
            body.add_widget(ctx.label(texts.DEPOSIT_ORDER, "title", reference=reference))
        body.add_widget(ctx.label(texts.DEPOSIT_DOOR_OPEN_LOW if low else texts.DEPOSIT_DOOR_OPEN, number=number))
    elif view.staff_state is StaffState.REMOVAL_DOOR_OPEN:
        title = texts.REMOVAL_TITLE
        body.add_widget(ctx.label(texts.REMOVAL_DOOR_OPEN, number=number))
    else:
        title = texts.SERVICE_TITLE
        body.add_widget(ctx.label(texts.SERVICE_DOOR_OPEN, number=number))
    holder = BoxLayout(size_hint_y=None, height=ctx.m.mm(70), padding=[ctx.m.mm(40), 0])
    holder.add_widget(BoxSchematic(view.compartments, number, ctx.pal, ctx.m.font("title")))
    body.add_widget(holder)
    buttons = []
    if view.staff_state is StaffState.DEPOSIT_DOOR_OPEN:
        buttons.append(ctx.button(texts.DEPOSIT_ABORT, a.staff_abort, icon="back", name="abort"))
    if not view.has_door_sensors:
        buttons.append(ctx.button(texts.STAFF_DOOR_CLOSED_BUTTON, a.door_closed, primary=True, icon="door",
                                  name="door_closed"))
    return staff_frame(ctx, title, body, ctx.row(*buttons) if buttons else None)
