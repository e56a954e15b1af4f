"""Alarms: what needs a person, in one list, and their acknowledgement with a comment.

Two kinds, one page:

- a kiosk's alarm event (a forced or failed door, a device or the disk
  failing, a compartment to inspect, guessing throttled, a refused command,
  ...; registry/events.py decides which types). Acknowledging one appends
  ``alarm.acknowledged`` to the audit log with the event id, who, when and
  the comment: the log is the record, and the alarm is open while no such
  entry names it. The on-call alarm the same door raised (below) is
  acknowledged with it, so its reminders stop.
- an on-call alarm of the messages subsystem no kiosk event stands for
  (a kiosk silent, a citizen unreachable: print the letter, an integration
  unreachable; table ``oncall_alarms``). Acknowledging one sets it
  acknowledged there and audits ``alarm.acknowledged`` with target
  ``oncall-<id>``; ``kiosk-registry alarm ack`` does the same.

Open alarms of the office are counted on every page (base.html) for those
who may read them: two COUNT queries, not a read of 30 days of events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from common.convert import from_timestamp
from registry.database import stored_moment
from registry.console import history
from registry.console.app import Console, Page
from registry.console.texts import ENGLISH, N_
from registry.events import ALARM_EVENTS, event_type_name
from registry.messages import alarms as oncall
from registry.messages.queue import MessageQueue
from registry.permissions import Permission
from pickupbox.registry.v1 import registry_pb2 as pb

# Older alarm events are history (the audit log and ListKioskEvents keep them).
WINDOW = timedelta(days=30)
ACK_ACTION = oncall.ACK_ACTION
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
    # on-call alarms no kiosk event stands for (registry/messages)
    "kiosk_offline": N_("Kiosk not reporting"),
    "citizen_unreachable": N_("Citizen could not be reached: print the letter"),
    "integration_unreachable": N_("Integration not reachable"),
}
# On-call alarms of these kinds stand for a kiosk event: the event is listed.
EVENT_KINDS = tuple(oncall.EVENT_TYPE_OF)
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
    # An on-call alarm (registry/messages) rather than a kiosk event.
    oncall: bool = False
    cleared: bool = False

    @property
    def open(self) -> bool:
        return not self.acknowledged_by and not self.acknowledged_at and not self.cleared


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


def _oncall_scope(office_id: str | None) -> tuple[str, dict]:
    """The principal's office's on-call alarms ('' is the default office's)."""
    if office_id is None:
        return "", {}
    clause = " AND (office_id = :office" + (" OR office_id = ''" if office_id == "default"
                                             else "") + ")"
    return clause, {"office": office_id}


def _not_event_kinds() -> tuple[str, dict]:
    names = {f"kind{i}": kind for i, kind in enumerate(EVENT_KINDS)}
    return "kind NOT IN (" + ", ".join(f":{key}" for key in names) + ")", names


def oncall_rows(tx, office_id: str | None, now: datetime) -> list[dict]:
    """On-call alarms no kiosk event stands for: open ones, and those raised
    in the last 30 days."""
    kinds, params = _not_event_kinds()
    scope, scope_params = _oncall_scope(office_id)
    return tx.query(
        "SELECT * FROM oncall_alarms WHERE " + kinds + scope
        + " AND ((acknowledged_at IS NULL AND cleared_at IS NULL) OR raised_at >= :since)"
        " ORDER BY raised_at DESC", {**params, **scope_params, "since": oncall_since(now)})


def oncall_since(now: datetime) -> str:
    # oncall_alarms store microseconds (registry/messages/queue.py)
    return (now - WINDOW).astimezone(timezone.utc).isoformat(timespec="microseconds")


def oncall_views(rows: list[dict]) -> list[AlarmView]:
    """Pure: on-call alarm rows as the page shows them."""
    views = []
    for row in rows:
        scope = row["scope"]
        kiosk, _, compartment = scope.partition("/")
        views.append(AlarmView(
            event_id=oncall.oncall_target(row["id"]), kiosk_id=kiosk, type=row["kind"],
            compartment=int(compartment) if compartment.isdigit() else 0,
            order_reference=row["order_reference"], detail=row["text"],
            occurred=stored_moment(row["raised_at"]),
            acknowledged_by=row["acknowledged_by"] or ("?" if row["acknowledged_at"] else ""),
            acknowledged_at=stored_moment(row["acknowledged_at"]), comment=row["comment"],
            oncall=True, cleared=row["cleared_at"] is not None,
        ))
    return views


def load_alarms(db, office_id: str | None) -> list[AlarmView]:
    now = datetime.now(timezone.utc)
    with db.transaction() as tx:
        rows = alarm_rows(tx, office_id, now)
        acks = acknowledgements(tx, [row["event_id"] for row in rows])
        others = oncall_rows(tx, office_id, now)
    views = alarm_views(rows, acks) + oncall_views(others)
    far_past = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(views, key=lambda v: v.occurred or far_past, reverse=True)


def open_alarm_count(db, office_id: str | None) -> int:
    """The banner's number: open alarm events of the last 30 days (table
    ``open_alarm_events``: each stored alarm event until its acknowledgement)
    plus open on-call alarms, counted by the database (migration 0007)."""
    now = datetime.now(timezone.utc)
    scope, scope_params = _scope(office_id)
    kinds, kind_params = _not_event_kinds()
    oncall_scope, oncall_params = _oncall_scope(office_id)
    with db.transaction() as tx:
        events = tx.query(
            "SELECT COUNT(*) AS n FROM open_alarm_events WHERE received_at >= :since" + scope,
            {**scope_params, "since": (now - WINDOW).isoformat()})[0]["n"]
        others = tx.query(
            "SELECT COUNT(*) AS n FROM oncall_alarms WHERE " + kinds + oncall_scope
            + " AND acknowledged_at IS NULL AND cleared_at IS NULL",
            {**kind_params, **oncall_params})[0]["n"]
    return int(events) + int(others)


# What acknowledge_alarm found.
DONE, ALREADY, MISSING = "done", "already", "missing"


def acknowledge_alarm(db, key: str, by: str, comment: str, office_id: str | None) -> str:
    """Acknowledges the alarm ``key`` (an event id, or ``oncall-<id>``) of the
    office (None: any) in one transaction with its audit entry; DONE,
    ALREADY (nobody acknowledges twice) or MISSING."""
    queue = MessageQueue(db)
    if key.startswith(oncall.ONCALL_PREFIX):
        number = key[len(oncall.ONCALL_PREFIX):]
        found = queue.alarm(int(number)) if number.isdigit() else None
        if found is None or (office_id is not None and not oncall.in_office(found, office_id)):
            return MISSING
        if not found.open:
            return ALREADY
        done = oncall.acknowledge(queue, found.id, by, comment, office_id)
        return DONE if done is not None else ALREADY
    alarm = next((a for a in load_alarms(db, office_id) if a.event_id == key and not a.oncall),
                 None)
    if alarm is None:
        return MISSING
    if not alarm.open:
        return ALREADY
    with queue.transaction() as tx:
        if acknowledgements(tx, [key]):
            return ALREADY
        office = office_id or tx.kiosk_office(alarm.kiosk_id) or ""  # the CLI: the kiosk's
        tx.audit(by, ACK_ACTION, office_id=office, target=key,
                 kiosk=alarm.kiosk_id, alarm=alarm.type, comment=comment)
        tx.execute("DELETE FROM open_alarm_events WHERE event_id = :e", {"e": key})
        payload = tx.query("SELECT payload FROM events WHERE event_id = :e", {"e": key})[0]
        oncall.acknowledge_for_event(queue, tx, alarm.kiosk_id, alarm.type,
                                     bytes(payload["payload"]), by, comment)
    return DONE


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
    # A second click meanwhile (ALREADY) also just shows the page again.
    await run_in_threadpool(acknowledge_alarm, page.console.db, event_id, page.principal.label,
                            comment, page.principal.office_id)
    return page.redirect("/alarms?done=1")


def register(console: Console) -> None:
    console.add("/alarms", alarms_page, needs=Permission.EVENTS_READ)
    console.add("/alarms/{event_id}/acknowledge", acknowledge,
                needs=Permission.ALARMS_ACKNOWLEDGE, methods=("POST",))
    console.nav("/alarms", N_("Alarms"), needs=Permission.EVENTS_READ,
                description=N_("Forced or failed doors, failed devices, compartments to inspect:"
                               " acknowledge with a comment."))
