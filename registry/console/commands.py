"""Remote commands (supervisors; technicians for service state): open a
compartment for service with a reason, out of / back in service, resync,
and what became of each command.

Sending goes through the OfficeServicer, whose rules decide per command type
who may (a remote opening needs the supervisor role and a reason) and which
carry the principal and an expiry to the kiosk. The result of a command is
read back from what the kiosk did with it: taken from the stream
(delivered), refused (the kiosk's COMMAND_REFUSED event names the command),
carried out (the kiosk's event for that compartment after the command), or
expired before any kiosk took it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from starlette.responses import Response

from common.convert import from_timestamp
from registry.database import stored_moment
from registry.console import history
from registry.console.app import Console, Page
from registry.console.calls import ServiceError
from registry.console.problems import failure_status, service_problem
from registry.console.texts import ENGLISH, N_
from registry.permissions import Permission, command_permission
from pickupbox.registry.v1 import registry_pb2 as pb

RECENT = 20
COMMAND_TYPES = [
    ("open", pb.COMMAND_TYPE_OPEN_COMPARTMENT, N_("Open a compartment for service")),
    ("out", pb.COMMAND_TYPE_SET_OUT_OF_SERVICE, N_("Take a compartment out of service")),
    ("in", pb.COMMAND_TYPE_SET_IN_SERVICE, N_("Put a compartment back in service")),
    ("resync", pb.COMMAND_TYPE_RESYNC, N_("Resynchronise the kiosk with the registry")),
]
TYPE_LABELS = {pb.CommandType.Name(proto): label for _, proto, label in COMMAND_TYPES}
# The kiosk event that shows a command was carried out.
DONE_BY = {
    "COMMAND_TYPE_OPEN_COMPARTMENT": pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED,
    "COMMAND_TYPE_SET_OUT_OF_SERVICE": pb.EVENT_TYPE_COMPARTMENT_OUT_OF_SERVICE,
    "COMMAND_TYPE_SET_IN_SERVICE": pb.EVENT_TYPE_COMPARTMENT_IN_SERVICE,
}
COMMAND_FIELDS = {"command": "compartment", "kiosk_id": "kind"}
NEEDS_COMPARTMENT = {"open", "out", "in"}


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    type: str
    compartment: int
    reason: str
    requested_by: str
    created: datetime | None
    outcome: str  # a msgid
    detail: str = ""


def command_outcome(row: dict, events: list[pb.KioskEvent], now: datetime) -> tuple[str, str]:
    """What became of one queued command: (a msgid, a detail), from the kiosk's events."""
    for event in events:
        if event.type == pb.EVENT_TYPE_COMMAND_REFUSED and row["command_id"] in event.detail:
            return N_("refused by the kiosk"), event.detail.split("refused: ", 1)[-1]
    done = DONE_BY.get(row["type"])
    created = stored_moment(row["created_at"])
    for event in events:
        occurred = from_timestamp(event.occur_time)
        if (done is not None and event.type == done
                and event.compartment_number == row["compartment_number"]
                and occurred is not None and created is not None and occurred >= created):
            return N_("carried out"), ""
    if row["delivered_at"]:
        return N_("taken by the kiosk"), ""
    expire = stored_moment(row["expire_at"])
    if expire is not None and expire <= now:
        return N_("expired: no kiosk took it in time"), ""
    return N_("waiting for the kiosk"), ""


async def _kiosk(page: Page, kiosk_id: str) -> pb.KioskStatus | None:
    """The kiosk if it is one of the signed-in principal's office (ListKiosks decides)."""
    kiosks = (await page.office.call("ListKiosks", pb.ListKiosksRequest())).kiosks
    return next((k for k in kiosks if k.kiosk_id == kiosk_id), None)


async def _recent(page: Page, kiosk_id: str) -> list[CommandResult]:
    with page.console.db.transaction() as tx:
        rows = tx.query(
            "SELECT command_id, type, compartment_number, reason, requested_by, created_at,"
            " delivered_at, expire_at FROM commands WHERE kiosk_id = :kiosk"
            " ORDER BY seq DESC LIMIT :limit", {"kiosk": kiosk_id, "limit": RECENT})
    events: list[pb.KioskEvent] = []
    if rows and page.may(Permission.EVENTS_READ):
        oldest = min(stored_moment(r["created_at"]) for r in rows)
        request = pb.ListKioskEventsRequest(
            kiosk_id=kiosk_id, page_size=500,
            types=[pb.EVENT_TYPE_COMMAND_REFUSED, *DONE_BY.values()])
        request.since_time.FromDatetime(oldest)
        events = [e.event for e in (await page.office.call("ListKioskEvents", request)).events]
    now = datetime.now(timezone.utc)
    results = []
    for row in rows:
        outcome, detail = command_outcome(row, events, now)
        results.append(CommandResult(
            row["command_id"], row["type"], row["compartment_number"], row["reason"],
            row["requested_by"], stored_moment(row["created_at"]), outcome, detail))
    return results


async def commands_page(page: Page, *, errors: dict | None = None, problem: str = "",
                        status_code: int = 200) -> Response:
    kiosk_id = page.request.path_params["kiosk_id"]
    try:
        kiosk = await _kiosk(page, kiosk_id)
    except ServiceError as error:
        return page.render("commands.html", failure_status(error), kiosk=None, kiosk_id=kiosk_id,
                           problem=service_problem(page, error, {}), results=[], sent=False,
                           **_form(page, errors))
    if kiosk is None:
        return page.render("commands.html", 404, kiosk=None, kiosk_id=kiosk_id,
                           problem=page._("This kiosk is not enrolled in your office."),
                           results=[], sent=False, **_form(page, errors))
    done = page.request.query_params.get("sent") == "1"
    return page.render(
        "commands.html", status_code, kiosk=kiosk, kiosk_id=kiosk_id, problem=problem,
        results=await _recent(page, kiosk_id), sent=done, **_form(page, errors))


def _form(page: Page, errors: dict | None) -> dict:
    _ = page._
    return {
        "errors": errors or {}, "request_id": page.new_request_id(),
        # Only what this account may send (the servicer decides again on sending).
        "type_options": [(value, _(label)) for value, proto, label in COMMAND_TYPES
                         if page.may(command_permission(proto))],
        "type_labels": TYPE_LABELS,
        "values": {name: page.field(name) for name in ("type", "compartment", "reason")},
        "when": lambda moment: history.local_time(moment, page.language),
    }


def check_command_form(kind: str, compartment: str, reason: str,
                       _=ENGLISH) -> dict[str, str]:
    """The form's own checks (the servicer checks again): what is wrong, by field."""
    errors = {}
    if kind not in {value for value, _proto, _label in COMMAND_TYPES}:
        errors["type"] = _("Please choose what the kiosk should do.")
    if kind in NEEDS_COMPARTMENT and not (compartment.isdigit() and int(compartment) > 0):
        errors["compartment"] = _("Please enter the compartment's number, e.g. 12.")
    if kind == "open" and not reason:
        errors["reason"] = _("A remote opening needs a reason; it goes into the audit log.")
    if len(reason) > 200:
        errors["reason"] = _("Please keep the reason under 200 characters.")
    return errors


async def send_command(page: Page) -> Response:
    kiosk_id = page.request.path_params["kiosk_id"]
    kind, compartment, reason = page.field("type"), page.field("compartment"), page.field("reason")
    errors = check_command_form(kind, compartment, reason, page._)
    if errors:
        return await commands_page(page, errors=errors, status_code=422)
    proto = next(p for value, p, _label in COMMAND_TYPES if value == kind)
    command = pb.RemoteCommand(
        type=proto, reason=reason, service_opening=kind == "open",
        compartment_number=int(compartment) if kind in NEEDS_COMPARTMENT else 0)
    try:
        await page.office.call("SendKioskCommand", pb.SendKioskCommandRequest(
            request_id=page.field("request_id"), kiosk_id=kiosk_id, command=command))
    except ServiceError as error:
        errors = {}
        problem = service_problem(page, error, errors, {"command": "compartment"})
        return await commands_page(page, errors=errors, problem=problem,
                                   status_code=failure_status(error))
    return page.redirect(f"/kiosks/{kiosk_id}/commands?sent=1")


def register(console: Console) -> None:
    console.add("/kiosks/{kiosk_id}/commands", commands_page, needs=Permission.COMMAND_RESYNC)
    console.add("/kiosks/{kiosk_id}/commands/send", send_command,
                needs=Permission.COMMAND_RESYNC, methods=("POST",))
