"""Alarms: what a kiosk reported that needs a person (a forced or failed door,
a device or the disk failing, a compartment to inspect, guessing throttled,
a refused command, ...), and their acknowledgement with a comment.

An alarm is a stored kiosk event of an alarm type (registry/events.py
decides which). Acknowledging one appends ``alarm.acknowledged`` to the
audit log with the event id, who, when and the comment: the log is the
record, tamper-evident like every other entry, and an alarm is open while
no such entry names it. Open alarms of the office are counted on every page
(base.html) for those who may read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from starlette.responses import Response

from common.convert import from_timestamp
from registry.database import stored_moment
from registry.console import history
from registry.console.app import Console, Page
from registry.console.texts import ENGLISH, N_
from registry.events import ALARM_EVENTS, event_type_name
from registry.permissions import Permission
from pickupbox.registry.v1 import registry_pb2 as pb

# Older alarm events are history (the audit log and ListKioskEvents keep them).
WINDOW = timedelta(days=30)
ACK_ACTION = "alarm.acknowledged"
ALARM_TYPE_NAMES = sorted(event_type_name(t) for t in ALARM_EVENTS)
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
}
MAX_COMMENT = 500


@dataclass(frozen=True)
class AlarmView:
    event_id: str
    kiosk_id: str
    type: str
    compartment: int
    order_reference: str
    detail: str
    occurred: datetime | None
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    comment: str = ""

    @property
    def open(self) -> bool:
        return not self.acknowledged_by


def _scope(office_id: str | None) -> tuple[str, dict]:
    """Only the kiosks of the principal's office (None: the operator, all offices)."""
    if office_id is None:
        return "", {}
    return (" AND kiosk_id IN (SELECT kiosk_id FROM kiosk_enrolments WHERE office_id = :office)",
            {"office": office_id})


def _types() -> tuple[str, dict]:
    names = {f"type{i}": name for i, name in enumerate(ALARM_TYPE_NAMES)}
    return "type IN (" + ", ".join(f":{key}" for key in names) + ")", names


def alarm_rows(tx, office_id: str | None, now: datetime) -> list[dict]:
    types, params = _types()
    scope, scope_params = _scope(office_id)
    return tx.query(
        "SELECT event_id, kiosk_id, type, payload, received_at FROM events WHERE " + types
        + scope + " AND received_at >= :since ORDER BY received_at DESC",
        {**params, **scope_params, "since": (now - WINDOW).isoformat()})


def acknowledgements(tx, event_ids: list[str]) -> dict[str, dict]:
    if not event_ids:
        return {}
    names = {f"e{i}": event_id for i, event_id in enumerate(event_ids)}
    rows = tx.query(
        "SELECT target, actor, time, detail FROM audit_log WHERE action = :action AND target IN ("
        + ", ".join(f":{key}" for key in names) + ")", {"action": ACK_ACTION, **names})
    return {row["target"]: row for row in rows}


def alarm_views(rows: list[dict], acks: dict[str, dict]) -> list[AlarmView]:
    """Pure: stored alarm events and their acknowledgements as the page shows them."""
    views = []
    for row in rows:
        event = pb.KioskEvent.FromString(row["payload"])
        ack = acks.get(row["event_id"])
        views.append(AlarmView(
            event_id=row["event_id"], kiosk_id=row["kiosk_id"], type=row["type"],
            compartment=event.compartment_number, order_reference=event.order_reference,
            detail=event.detail,
            occurred=from_timestamp(event.occur_time) or stored_moment(row["received_at"]),
            acknowledged_by=ack["actor"] if ack else "",
            acknowledged_at=stored_moment(ack["time"]) if ack else None,
            comment=json.loads(ack["detail"]).get("comment", "") if ack else "",
        ))
    return views


def load_alarms(db, office_id: str | None) -> list[AlarmView]:
    now = datetime.now(timezone.utc)
    with db.transaction() as tx:
        rows = alarm_rows(tx, office_id, now)
        acks = acknowledgements(tx, [row["event_id"] for row in rows])
    return alarm_views(rows, acks)


def open_alarm_count(db, office_id: str | None) -> int:
    return sum(1 for alarm in load_alarms(db, office_id) if alarm.open)


def check_comment(comment: str, _=ENGLISH) -> str | None:
    if not comment:
        return _("Please say what was done or found, e.g. 'door closed, document still inside'.")
    if len(comment) > MAX_COMMENT:
        return _("Please keep the comment under {count} characters.", count=MAX_COMMENT)
    return None


async def alarms_page(page: Page, *, errors: dict | None = None, status_code: int = 200,
                      notice: str = "") -> Response:
    alarms = load_alarms(page.console.db, page.principal.office_id)
    return page.render(
        "alarms.html", status_code, alarms=alarms, labels=LABELS, errors=errors or {},
        open_alarms=[a for a in alarms if a.open], done=[a for a in alarms if not a.open],
        notice=notice or (page._("The alarm was acknowledged.")
                          if page.request.query_params.get("done") == "1" else ""),
        when=lambda moment: history.local_time(moment, page.language),
    )


async def acknowledge(page: Page) -> Response:
    event_id = page.request.path_params["event_id"]
    # One form per alarm on the page, so each comment field has its own name and id.
    comment = page.field(f"comment-{event_id}")
    alarm = next((a for a in load_alarms(page.console.db, page.principal.office_id)
                  if a.event_id == event_id), None)
    if alarm is None:
        return await alarms_page(page, status_code=404, notice=page._(
            "There is no such alarm in your office (or it is older than 30 days)."))
    if not alarm.open:  # a second click or a stale page: nothing happens twice
        return page.redirect("/alarms?done=1")
    problem = check_comment(comment, page._)
    if problem:
        return await alarms_page(page, errors={f"comment-{event_id}": problem}, status_code=422)
    with page.console.db.transaction() as tx:
        if acknowledgements(tx, [event_id]):
            return page.redirect("/alarms?done=1")
        tx.audit(page.principal.label, ACK_ACTION, office_id=page.principal.office_id or "",
                 target=event_id, kiosk=alarm.kiosk_id, alarm=alarm.type, comment=comment)
    return page.redirect("/alarms?done=1")


def register(console: Console) -> None:
    console.add("/alarms", alarms_page, needs=Permission.EVENTS_READ)
    console.add("/alarms/{event_id}/acknowledge", acknowledge,
                needs=Permission.ALARMS_ACKNOWLEDGE, methods=("POST",))
    console.nav("/alarms", N_("Alarms"), needs=Permission.EVENTS_READ,
                description=N_("Forced or failed doors, failed devices, compartments to inspect:"
                               " acknowledge with a comment."))
