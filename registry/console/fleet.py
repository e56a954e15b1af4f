"""The fleet dashboard: every kiosk of the office, online or not, its devices,
outbox backlog and cabinet with each compartment's state, order and deadline.

The page updates itself without reloading: ``/fleet/live`` is a server-sent
event stream (registry/console/live.py, as for an order's page) that sends
the re-rendered kiosk list whenever the registry's data for the office
changed (an order, an event, a heartbeat, an alarm acknowledged), checked
twice a second, and at least every 30 s so the online state follows the
clock. The stream does not count as activity: an unattended dashboard is
signed out like any page, and the stream then ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from markupsafe import Markup, escape
from starlette.responses import Response

from common.convert import from_timestamp
from registry.console import cabinet, history
from registry.console import live as live_parts
from registry.console.app import Console, Page
from registry.console.calls import ServiceError
from registry.console.problems import service_problem
from registry.console.texts import N_
from registry.permissions import Permission
from pickupbox.registry.v1 import registry_pb2 as pb

REFRESH_SECONDS = 30.0

UNKNOWN = N_("unknown")
STATE_LABELS = {
    pb.COMPARTMENT_STATE_FREE: N_("free"),
    pb.COMPARTMENT_STATE_RESERVED: N_("reserved"),
    pb.COMPARTMENT_STATE_OCCUPIED: N_("occupied"),
    pb.COMPARTMENT_STATE_OPEN: N_("door open"),
    pb.COMPARTMENT_STATE_OUT_OF_SERVICE: N_("out of service"),
    pb.COMPARTMENT_STATE_NEEDS_INSPECTION: N_("needs inspection"),
}
# A short mark beside the colour, so the state never depends on colour alone.
STATE_MARKS = {
    pb.COMPARTMENT_STATE_FREE: "", pb.COMPARTMENT_STATE_RESERVED: "R",
    pb.COMPARTMENT_STATE_OCCUPIED: "●", pb.COMPARTMENT_STATE_OPEN: "▯",
    pb.COMPARTMENT_STATE_OUT_OF_SERVICE: "✗", pb.COMPARTMENT_STATE_NEEDS_INSPECTION: "!",
}
STATE_CLASSES = {
    pb.COMPARTMENT_STATE_FREE: "free", pb.COMPARTMENT_STATE_RESERVED: "reserved",
    pb.COMPARTMENT_STATE_OCCUPIED: "occupied", pb.COMPARTMENT_STATE_OPEN: "open",
    pb.COMPARTMENT_STATE_OUT_OF_SERVICE: "out", pb.COMPARTMENT_STATE_NEEDS_INSPECTION: "inspect",
}
DEVICE_LABELS = {
    pb.DEVICE_STATUS_OK: N_("working"), pb.DEVICE_STATUS_DEGRADED: N_("degraded"),
    pb.DEVICE_STATUS_FAILED: N_("failed"),
}
SIZE_NAMES = {pb.COMPARTMENT_SIZE_S: "S", pb.COMPARTMENT_SIZE_M: "M", pb.COMPARTMENT_SIZE_L: "L"}


class CellView(NamedTuple):  # a tuple, not a dataclass: made 4,800 times per dashboard
    cell: cabinet.Cell
    css: str
    mark: str
    state: str  # in the page's language
    deadline: str  # the order's pickup deadline, local time ("" without an order)

    @property
    def description(self) -> str:
        """One line for the cell's tooltip: "3: occupied, BB-1, 16.12.2026 10:00"."""
        parts = [f"{self.cell.number}: {self.state}", self.cell.order_reference, self.deadline]
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True)
class KioskView:
    status: pb.KioskStatus
    last_seen: datetime | None
    cabinet: cabinet.Cabinet
    cells: tuple[CellView, ...]
    inspections: int  # compartments that need a person to look


def describe_cells(drawn: cabinet.Cabinet, deadlines: dict[str, datetime | None],
                   state_text: dict[int, str], when) -> tuple[CellView, ...]:
    """Pure: each drawn compartment with its look, state and deadline as shown;
    ``state_text`` and ``when`` word them in the page's language."""
    return tuple(
        CellView(cell, STATE_CLASSES.get(cell.state, "unknown"), STATE_MARKS.get(cell.state, "?"),
                 state_text.get(cell.state, state_text.get(0, "")),
                 when(deadlines.get(cell.order_reference)) if cell.order_reference else "")
        for cell in drawn.cells
    )


# One compartment of the cabinet's SVG. Built in Python rather than in
# _cabinet.html: 200 kiosks have 4,800 compartments, and the template's
# lookups and escapes per compartment were a third of the dashboard's time.
_CELL_SVG = ('<g class="cell {css}"><title>{title}</title><rect x="{x}" y="{y}" width="{width}"'
             ' height="{height}" rx="3"></rect><text x="{text_x}" y="{text_y}">{number} {mark}'
             '</text></g>')


def cells_svg(cells: tuple[CellView, ...]) -> Markup:
    """Pure: the SVG elements of the drawn compartments, escaped."""
    return Markup("".join(
        _CELL_SVG.format(css=shown.css, title=escape(shown.description), x=shown.cell.x,
                         y=shown.cell.y, width=shown.cell.width, height=shown.cell.height,
                         text_x=shown.cell.x + 6, text_y=shown.cell.y + 16,
                         number=shown.cell.number, mark=shown.mark)
        for shown in cells))


def fleet_version(tx, office_id: str | None) -> tuple:
    """A cheap fingerprint of what the dashboard shows for one office (None: all)."""
    scope = "" if office_id is None else (
        " WHERE kiosk_id IN (SELECT kiosk_id FROM kiosk_enrolments WHERE office_id = :office)")
    orders_scope = "" if office_id is None else " WHERE office_id = :office"
    row = tx.query(
        "SELECT (SELECT COALESCE(MAX(change_seq), 0) FROM orders" + orders_scope + ") AS orders,"
        " (SELECT COUNT(*) FROM events" + scope + ") AS events,"
        " (SELECT COALESCE(MAX(last_seen), '') FROM kiosks" + scope + ") AS seen,"
        " (SELECT COUNT(*) FROM commands" + scope + ") AS commands,"
        " (SELECT COUNT(*) FROM audit_log WHERE action = 'alarm.acknowledged') AS acks",
        {"office": office_id},
    )[0]
    return tuple(row.values())


async def kiosk_views(page: Page) -> list[KioskView]:
    kiosks = (await page.office.call("ListKiosks", pb.ListKiosksRequest())).kiosks
    deadlines: dict[str, datetime | None] = {}
    # Technicians see device health and states, never an order's details.
    if page.may(Permission.ORDERS_READ):
        token = ""
        while True:
            response = await page.office.call("ListPickupOrders", pb.ListPickupOrdersRequest(
                statuses=[pb.ORDER_STATUS_DEPOSITED, pb.ORDER_STATUS_ANNOUNCED],
                page_size=500, page_token=token))
            deadlines.update({o.reference: from_timestamp(o.pickup_deadline)
                              for o in response.orders})
            token = response.next_page_token
            if not token:
                break
    _ = page._
    # Translated once per page, not once per compartment: a fleet has thousands.
    state_text = {0: _(UNKNOWN), **{state: _(label) for state, label in STATE_LABELS.items()}}

    def when(moment: datetime | None) -> str:
        return history.local_time(moment, page.language)

    views = []
    for status in kiosks:
        if not page.may(Permission.ORDERS_READ):
            for compartment in status.compartments:
                compartment.order_reference = ""
        drawn = cabinet.draw(status.compartments)
        inspections = sum(1 for c in status.compartments
                          if c.state == pb.COMPARTMENT_STATE_NEEDS_INSPECTION)
        views.append(KioskView(status, from_timestamp(status.last_seen_time), drawn,
                               describe_cells(drawn, deadlines, state_text, when),
                               inspections))
    return views


def _context(page: Page, views: list[KioskView]) -> dict:
    return {"kiosks": views, "device_labels": DEVICE_LABELS, "size_names": SIZE_NAMES,
            "unknown": UNKNOWN, "cells_svg": cells_svg, "when": lambda moment: history.local_time(moment, page.language)}


async def kiosk_page(page: Page) -> Response:
    """One kiosk: its cabinet and every compartment in a table (state, order, deadline)."""
    kiosk_id = page.request.path_params["kiosk_id"]
    problem = ""
    views: list[KioskView] = []
    try:
        views = [v for v in await kiosk_views(page) if v.status.kiosk_id == kiosk_id]
    except ServiceError as error:
        problem = service_problem(page, error, {})
    if not views and not problem:
        problem = page._("This kiosk is not enrolled in your office.")
    return page.render("fleet_kiosk.html", 200 if views else 404, problem=problem,
                       kiosk_id=kiosk_id, **_context(page, views))


async def dashboard(page: Page) -> Response:
    problem = ""
    views: list[KioskView] = []
    try:
        views = await kiosk_views(page)
    except ServiceError as error:
        problem = service_problem(page, error, {})
    return page.render("fleet.html", problem=problem, **_context(page, views))


async def live(page: Page) -> Response:
    """Server-sent events: the kiosk list, re-rendered when the office's data changed
    (registry/console/live.py), and every 30 s so the online state follows the clock."""
    office_id = page.principal.office_id

    async def render() -> str | None:
        try:
            views = await kiosk_views(page)
        except ServiceError:
            return None  # e.g. the account lost its right: the next page load says why
        kiosks = page.render("_fleet_kiosks.html", **_context(page, views)).body.decode()
        return f'<div id="fleet">{kiosks}</div>'

    return live_parts.stream(page, "fleet", lambda tx: fleet_version(tx, office_id), render,
                             refresh=REFRESH_SECONDS)


def register(console: Console) -> None:
    console.add("/fleet", dashboard, needs=Permission.KIOSKS_READ)
    console.add("/fleet/live", live, needs=Permission.KIOSKS_READ)
    console.add("/fleet/{kiosk_id}", kiosk_page, needs=Permission.KIOSKS_READ)
    console.nav("/fleet", N_("Fleet"), needs=Permission.KIOSKS_READ,
                description=N_("Every kiosk: online, devices, and its compartments as built."))
