"""The console's alarms page: every alarm of the office in one list, and
their acknowledgement with a comment.

The alarms and their rules are registry/alarms.py's, which the
OfficeService's ListAlarms and AcknowledgeAlarm (gRPC, the HTTP API) and
``kiosk-registry alarm`` use too; acknowledging goes through the
OfficeServicer (registry/console/calls.py) like every other console action,
so permission, office, comment and audit are decided in one place. Here are
only the page, its German and English labels, and the banner's count.

Open alarms of the office are counted on every page (base.html) for those
who may read them: two COUNT queries, not a read of 30 days of events.
"""

from __future__ import annotations

from starlette.responses import Response

from registry.alarms import (  # noqa: F401  (the banner, reports and tests use them from here)
    ACK_ACTION,
    COMMENT_MISSING,
    COMMENT_TOO_LONG,
    MAX_COMMENT,
    AlarmView,
    comment_problem,
    load_alarms,
    load_console_alarms,
    open_alarm_count,
    without_order,
)
from registry import errors as reasons
from registry import permissions
from registry.console import history
from registry.console.app import Console, Page
from registry.console.calls import ServiceError
from registry.console.problems import failure_status, service_problem
from registry.console.texts import ENGLISH, N_
from registry.permissions import Permission, may_see_order_references
from pickupbox.registry.v1 import registry_pb2 as pb

LABELS = {
    "EVENT_TYPE_DOOR_FORCED": N_("Door forced open"),
    "EVENT_TYPE_DOOR_FAILED": N_("Door did not open or close"),
    "EVENT_TYPE_DOOR_LEFT_OPEN": N_("Door left open"),
    "EVENT_TYPE_ATTEMPTS_THROTTLED": N_("Many wrong codes or PINs (guessing throttled)"),
    "EVENT_TYPE_DEVICE_FAULT": N_("Device failed"),
    "EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION": N_("Compartment needs inspection"),
    "EVENT_TYPE_COMMAND_REFUSED": N_("Remote command refused"),
    "EVENT_TYPE_CLOCK_STEP": N_("Kiosk clock jumped"),
    "EVENT_TYPE_STORAGE_FAULT": N_("Kiosk storage failed (e.g. disk full)"),
    "EVENT_TYPE_STAFF_CARD_LOCKED": N_("Staff card locked after wrong PINs"),
    "EVENT_TYPE_PROBLEM_REPORTED": N_("Citizen reported a problem at the door"),
    # on-call alarms no kiosk event stands for (registry/messages)
    "kiosk_offline": N_("Kiosk not reporting"),
    "citizen_unreachable": N_("Citizen could not be reached: print the letter"),
    "integration_unreachable": N_("Integration not reachable"),
}
COMMENT_TEXTS = {
    COMMENT_MISSING: N_("Please say what was done or found, e.g. 'door closed, document still"
                        " inside'."),
    COMMENT_TOO_LONG: N_("Please keep the comment under {count} characters."),
}


def check_comment(comment: str, _=ENGLISH) -> str | None:
    """registry/alarms.py's comment rule, said in the page's language."""
    problem = comment_problem(comment)
    return None if problem is None else _(COMMENT_TEXTS[problem], count=MAX_COMMENT)


# The page lists every open alarm and the alarms acknowledged (or cleared)
# last, at most this many: a fleet acknowledges thousands in 30 days.
DONE_SHOWN = 100


def page_alarms(page: Page) -> tuple[list[AlarmView], list[AlarmView]]:
    """The open alarms and the last done ones, without order references for
    whom may not see them."""
    opened, done = load_console_alarms(page.console.db, page.principal.office_id,
                                       done_limit=DONE_SHOWN)
    if may_see_order_references(page.principal):
        return opened, done
    return [without_order(a) for a in opened], [without_order(a) for a in done]


async def alarms_page(page: Page, *, errors: dict | None = None, status_code: int = 200,
                      notice: str = "") -> Response:
    opened, done = page_alarms(page)
    return page.render(
        "alarms.html", status_code, alarms=opened + done, labels=LABELS, errors=errors or {},
        open_alarms=opened, done=done, done_shown=DONE_SHOWN,
        notice=notice or (page._("The alarm was acknowledged.")
                          if page.request.query_params.get("done") == "1" else ""),
        when=lambda moment: history.local_time(moment, page.language),
    )


async def acknowledge(page: Page) -> Response:
    event_id = page.request.path_params["event_id"]
    # One form per alarm on the page, so each comment field has its own name and id.
    field = f"comment-{event_id}"
    comment = page.field(field)
    problem = check_comment(comment, page._)  # said in the page's language, before asking
    if problem:
        return await alarms_page(page, errors={field: problem}, status_code=422)
    try:
        await page.office.call("AcknowledgeAlarm", pb.AcknowledgeAlarmRequest(
            request_id=page.field(f"request_id-{event_id}"), alarm_id=event_id, comment=comment))
    except ServiceError as error:
        if error.reason in (reasons.ALARM_ALREADY_ACKNOWLEDGED, reasons.ALARM_CLEARED):
            # A second click or a stale page: nothing happens twice.
            return page.redirect("/alarms?done=1")
        # Another office's alarm is not in this one's list (the refusal is audited).
        if error.reason in (reasons.ALARM_NOT_FOUND, permissions.OTHER_OFFICE):
            return await alarms_page(page, status_code=404, notice=page._(
                "There is no such alarm in your office (or it is older than 30 days)."))
        errors: dict[str, str] = {}
        notice = service_problem(page, error, errors, {"comment": field})
        return await alarms_page(page, errors=errors, status_code=failure_status(error),
                                 notice=notice)
    return page.redirect("/alarms?done=1")


def register(console: Console) -> None:
    console.add("/alarms", alarms_page, needs=Permission.EVENTS_READ)
    console.add("/alarms/{event_id}/acknowledge", acknowledge,
                needs=Permission.ALARMS_ACKNOWLEDGE, methods=("POST",))
    console.nav("/alarms", N_("Alarms"), needs=Permission.EVENTS_READ,
                description=N_("Forced or failed doors, failed devices, compartments to inspect:"
                               " acknowledge with a comment."))
