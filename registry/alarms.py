"""Alarms: what needs a person, in one list, and their acknowledgement with a comment.

The one implementation behind every front door: the OfficeService's
ListAlarms and AcknowledgeAlarm (gRPC and the HTTP API), the console's
alarms page and banner, and ``kiosk-registry alarm list|ack``. Two sources,
one list:

- a kiosk's alarm event (a forced or failed door, a device or the disk
  failing, a compartment to inspect, guessing throttled, a refused command,
  ...; registry/events.py decides which types). Acknowledging one appends
  ``alarm.acknowledged`` to the audit log with the event id, who, when and
  the comment: the log is the record, and the alarm is open while no such
  entry names it. The on-call alarm the same door raised is acknowledged
  with it, so its reminders stop.
- an on-call alarm of the messages subsystem no kiosk event stands for
  (a kiosk silent, a citizen unreachable: print the letter, an integration
  unreachable; table ``oncall_alarms``), named ``oncall-<id>``.
  Acknowledging one sets it acknowledged there and audits
  ``alarm.acknowledged`` with that name as target.

Kiosk events older than 30 days are history (the audit log and
ListKioskEvents keep them): the audit log's acknowledgements are not kept
forever, so an old event could not tell whether it was acknowledged.

The decisions (which alarms a request lists, in which order and page, what a
caller who may not read orders sees, whether an alarm may be acknowledged,
whether a comment will do) are pure functions below that tests call directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from common.convert import from_timestamp, to_timestamp
from registry.database import DEFAULT_OFFICE, stored_moment
from registry.errors import ALARM_ALREADY_ACKNOWLEDGED, ALARM_CLEARED
from registry.events import ALARM_EVENTS, event_type_name
from registry.messages import alarms as oncall
from registry.messages.queue import MessageQueue
from pickupbox.registry.v1 import registry_pb2 as pb

WINDOW = timedelta(days=30)
ACK_ACTION = oncall.ACK_ACTION
ALARM_TYPE_NAMES = sorted(event_type_name(t) for t in ALARM_EVENTS)
# On-call alarms of these kinds stand for a kiosk event: the event is listed.
EVENT_KINDS = tuple(oncall.EVENT_TYPE_OF)
# The on-call alarms listed as themselves (raised by registry/messages).
ONCALL_KINDS = (oncall.KIOSK_OFFLINE, "citizen_unreachable", "integration_unreachable")
# Every kind ListAlarms reports (and filters by).
KINDS = (*ALARM_TYPE_NAMES, *ONCALL_KINDS)
MAX_COMMENT = 500

# How a comment fails (comment_problem); the console says it in its languages.
COMMENT_MISSING, COMMENT_TOO_LONG = "missing", "too_long"
COMMENT_MESSAGES = {
    COMMENT_MISSING: "is required: say what was done or found,"
                     " e.g. 'door closed, document still inside'",
    COMMENT_TOO_LONG: f"is longer than {MAX_COMMENT} characters; say it shorter",
}
# What acknowledge_alarm found.
DONE, ALREADY, MISSING = "done", "already", "missing"


@dataclass(frozen=True)
class AlarmView:
    event_id: str  # the alarm's id: a kiosk event id, or oncall-<id>
    kiosk_id: str
    type: str  # its kind: an EVENT_TYPE_... name, or an on-call kind
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
    # Whose alarm it is; only set by find_alarm ('' for none).
    office_id: str = ""

    @property
    def open(self) -> bool:
        return not self.acknowledged_by and not self.acknowledged_at and not self.cleared


# ---------------------------------------------------------------- reading


def _scope(office_id: str | None, column: str = "kiosk_id") -> tuple[str, dict]:
    """Only the kiosks of the principal's office (None: the operator, all offices)."""
    if office_id is None:
        return "", {}
    return (f" AND {column} IN (SELECT kiosk_id FROM kiosk_enrolments WHERE office_id = :office)",
            {"office": office_id})


def _types(kinds: tuple[str, ...] = ()) -> tuple[str, dict]:
    """The alarm event types, or those of ``kinds`` (none of them: no row)."""
    wanted = [name for name in ALARM_TYPE_NAMES if not kinds or name in kinds] or [""]
    names = {f"type{i}": name for i, name in enumerate(wanted)}
    return "type IN (" + ", ".join(f":{key}" for key in names) + ")", names


def _since(now: datetime, window: timedelta = WINDOW) -> str:
    return (now - window).isoformat()


def _kiosk(kiosk_id: str, column: str = "kiosk_id") -> tuple[str, dict]:
    return (f" AND {column} = :kiosk", {"kiosk": kiosk_id}) if kiosk_id else ("", {})


def alarm_rows(tx, office_id: str | None, now: datetime, open_only: bool = False,
               window: timedelta = WINDOW, kiosk_id: str = "",
               kinds: tuple[str, ...] = ()) -> list[dict]:
    """The stored alarm events of the office (None: all), newest received
    first; only the kiosk's (''/(): any) and of ``kinds``, chosen in SQL."""
    if open_only:  # the few open ones (open_alarm_events), not 30 days of events
        scope, scope_params = _scope(office_id, "o.kiosk_id")
        kiosk, kiosk_params = _kiosk(kiosk_id, "o.kiosk_id")
        types, type_params = _types(kinds)
        return tx.query(
            "SELECT e.event_id, e.kiosk_id, e.type, e.payload, e.received_at"
            " FROM open_alarm_events AS o JOIN events AS e ON e.event_id = o.event_id"
            " WHERE o.received_at >= :since AND e." + types + scope + kiosk
            + " ORDER BY o.received_at DESC",
            {**scope_params, **kiosk_params, **type_params, "since": _since(now)})
    types, params = _types(kinds)
    scope, scope_params = _scope(office_id)
    kiosk, kiosk_params = _kiosk(kiosk_id)
    return tx.query(
        "SELECT event_id, kiosk_id, type, payload, received_at FROM events WHERE " + types
        + scope + kiosk + " AND received_at >= :since ORDER BY received_at DESC",
        {**params, **scope_params, **kiosk_params, "since": _since(now, window)})


def acknowledged_rows(tx, office_id: str | None, now: datetime, limit: int) -> list[dict]:
    """The ``limit`` alarm events acknowledged last (of the office, None:
    all; of the last 30 days), with their acknowledgement: the console's
    list of done ones, joined in SQL rather than 30 days of events read."""
    types, params = _types()
    scope, scope_params = _scope(office_id, "e.kiosk_id")
    return tx.query(
        "SELECT e.event_id, e.kiosk_id, e.type, e.payload, e.received_at,"
        " a.actor, a.time, a.detail FROM audit_log AS a JOIN events AS e ON e.event_id = a.target"
        " WHERE a.action = :action AND e." + types + scope + " AND e.received_at >= :since"
        # The log's order is its chain's (seq), the order acknowledgements came
        # in; index audit_log_by_action_seq (migration 0012) reads it backwards.
        " ORDER BY a.seq DESC LIMIT :limit",
        {**params, **scope_params, "action": ACK_ACTION, "since": _since(now), "limit": limit})


def acknowledgements(tx, event_ids: list[str]) -> dict[str, dict]:
    if not event_ids:
        return {}
    names = {f"e{i}": event_id for i, event_id in enumerate(event_ids)}
    rows = tx.query(
        "SELECT target, actor, time, detail FROM audit_log WHERE action = :action AND target IN ("
        + ", ".join(f":{key}" for key in names) + ")", {"action": ACK_ACTION, **names})
    return {row["target"]: row for row in rows}


def alarm_views(rows: list[dict], acks: dict[str, dict]) -> list[AlarmView]:
    """Pure: stored alarm events and their acknowledgements as alarms."""
    views = []
    for row in rows:
        event = pb.KioskEvent.FromString(bytes(row["payload"]))
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
    clause = " AND (office_id = :office" + (" OR office_id = ''" if office_id == DEFAULT_OFFICE
                                             else "") + ")"
    return clause, {"office": office_id}


def _not_event_kinds() -> tuple[str, dict]:
    names = {f"kind{i}": kind for i, kind in enumerate(EVENT_KINDS)}
    return "kind NOT IN (" + ", ".join(f":{key}" for key in names) + ")", names


def oncall_rows(tx, office_id: str | None, now: datetime, open_only: bool = False,
                window: timedelta = WINDOW, kiosk_id: str = "",
                kinds: tuple[str, ...] = (), done_limit: int = 0) -> list[dict]:
    """On-call alarms no kiosk event stands for: open ones, and (unless
    ``open_only``) those raised in the last 30 days; only the kiosk's and
    of ``kinds`` (''/(): any). ``done_limit``: the acknowledged or cleared
    ones raised last, at most that many."""
    names, params = _not_event_kinds()
    scope, scope_params = _oncall_scope(office_id)
    if kinds:
        wanted = {f"want{i}": kind for i, kind in enumerate(kinds)}
        scope += " AND kind IN (" + ", ".join(f":{key}" for key in wanted) + ")"
        scope_params |= wanted
    if kiosk_id:  # scope is the kiosk, or kiosk/compartment
        # '_' in an id is LIKE's any-character: select() keeps the exact kiosk.
        scope += " AND (scope = :kiosk OR scope LIKE :compartments)"
        scope_params |= {"kiosk": kiosk_id, "compartments": kiosk_id + "/%"}
    if done_limit:
        state = (" AND (acknowledged_at IS NOT NULL OR cleared_at IS NOT NULL)"
                 " AND raised_at >= :since")
        return tx.query(
            "SELECT * FROM oncall_alarms WHERE " + names + scope + state
            + " ORDER BY raised_at DESC LIMIT :limit",
            {**params, **scope_params, "since": oncall_since(now, window), "limit": done_limit})
    recent = "" if open_only else " OR raised_at >= :since"
    return tx.query(
        "SELECT * FROM oncall_alarms WHERE " + names + scope
        + " AND ((acknowledged_at IS NULL AND cleared_at IS NULL)" + recent + ")"
        " ORDER BY raised_at DESC",
        {**params, **scope_params, **({} if open_only else {"since": oncall_since(now, window)})})


def oncall_since(now: datetime, window: timedelta = WINDOW) -> str:
    # oncall_alarms store microseconds (registry/messages/queue.py)
    return (now - window).astimezone(timezone.utc).isoformat(timespec="microseconds")


def oncall_views(rows: list[dict]) -> list[AlarmView]:
    """Pure: on-call alarm rows as alarms."""
    views = []
    for row in rows:
        kiosk, _, compartment = row["scope"].partition("/")
        views.append(AlarmView(
            event_id=oncall.oncall_target(row["id"]), kiosk_id=kiosk, type=row["kind"],
            compartment=int(compartment) if compartment.isdigit() else 0,
            order_reference=row["order_reference"], detail=row["text"],
            occurred=stored_moment(row["raised_at"]),
            acknowledged_by=row["acknowledged_by"] or ("?" if row["acknowledged_at"] else ""),
            acknowledged_at=stored_moment(row["acknowledged_at"]), comment=row["comment"],
            oncall=True, cleared=row["cleared_at"] is not None,
            office_id=row["office_id"] or DEFAULT_OFFICE,
        ))
    return views


def load_alarms(db, office_id: str | None, now: datetime | None = None, *,
                open_only: bool = False, window: timedelta = WINDOW, kiosk_id: str = "",
                kinds: tuple[str, ...] = ()) -> list[AlarmView]:
    """Every alarm of the office (None: all offices), newest first: the kiosk
    alarm events of the last 30 days (or ``window``, shorter) and the
    on-call alarms open or raised in that time; with ``open_only`` the open
    ones only, read as such; ``kiosk_id``, ``kinds``: only those, in SQL."""
    now = now or datetime.now(timezone.utc)
    window = min(window, WINDOW)
    with db.transaction() as tx:
        rows = alarm_rows(tx, office_id, now, open_only, window, kiosk_id, kinds)
        acks = {} if open_only else acknowledgements(tx, [row["event_id"] for row in rows])
        others = oncall_rows(tx, office_id, now, open_only, window, kiosk_id, kinds)
    return newest_first(alarm_views(rows, acks) + oncall_views(others))


def load_console_alarms(db, office_id: str | None, now: datetime | None = None,
                        done_limit: int = 100) -> tuple[list[AlarmView], list[AlarmView]]:
    """The console's page: every open alarm of the office, and the
    ``done_limit`` acknowledged (or cleared) last within 30 days, newest
    first; read as such, not as 30 days of events."""
    now = now or datetime.now(timezone.utc)
    with db.transaction() as tx:
        opened = alarm_rows(tx, office_id, now, open_only=True)
        open_others = oncall_rows(tx, office_id, now, open_only=True)
        done = acknowledged_rows(tx, office_id, now, done_limit)
        done_others = oncall_rows(tx, office_id, now, done_limit=done_limit)
    acks = {row["event_id"]: row for row in done}
    return (newest_first(alarm_views(opened, {}) + oncall_views(open_others)),
            newest_first(alarm_views(done, acks) + oncall_views(done_others))[:done_limit])


def find_alarm(tx, key: str, now: datetime | None = None) -> AlarmView | None:
    """The alarm ``key`` (an event id, or ``oncall-<id>``) of any office, with
    its office set; None if there is none (or the event is history)."""
    now = now or datetime.now(timezone.utc)
    if key.startswith(oncall.ONCALL_PREFIX):
        number = key[len(oncall.ONCALL_PREFIX):]
        # Any kind: the staff message of a door alarm names its number too.
        rows = tx.query("SELECT * FROM oncall_alarms WHERE id = :id",
                        {"id": int(number)}) if number.isdigit() and len(number) < 19 else []
        return oncall_views(rows)[0] if rows else None
    types, params = _types()
    rows = tx.query(
        "SELECT event_id, kiosk_id, type, payload, received_at FROM events WHERE " + types
        + " AND event_id = :key AND received_at >= :since",
        {**params, "key": key, "since": _since(now)})
    if not rows:
        return None
    view = alarm_views(rows, acknowledgements(tx, [key]))[0]
    return replace(view, office_id=tx.kiosk_office(view.kiosk_id) or "")


def open_alarm_count(db, office_id: str | None) -> int:
    """The console banner's number: open alarm events of the last 30 days
    (table ``open_alarm_events``: each stored alarm event until its
    acknowledgement) plus open on-call alarms, counted by the database
    (migration 0007), not by reading 30 days of events."""
    now = datetime.now(timezone.utc)
    scope, scope_params = _scope(office_id)
    kinds, kind_params = _not_event_kinds()
    oncall_scope, oncall_params = _oncall_scope(office_id)
    with db.transaction() as tx:
        events = tx.query(
            "SELECT COUNT(*) AS n FROM open_alarm_events WHERE received_at >= :since" + scope,
            {**scope_params, "since": _since(now)})[0]["n"]
        others = tx.query(
            "SELECT COUNT(*) AS n FROM oncall_alarms WHERE " + kinds + oncall_scope
            + " AND acknowledged_at IS NULL AND cleared_at IS NULL",
            {**kind_params, **oncall_params})[0]["n"]
    return int(events) + int(others)


# ------------------------------------------------------------------ rules

_FAR_PAST = datetime.min.replace(tzinfo=timezone.utc)


def _sort_key(alarm: AlarmView) -> tuple[int, str]:
    moment = alarm.occurred or _FAR_PAST
    return (int((moment - _FAR_PAST).total_seconds() * 1_000_000), alarm.event_id)


def newest_first(alarms: list[AlarmView]) -> list[AlarmView]:
    """Pure: newest first; alarms of the same moment by id, so pages are stable."""
    return sorted(alarms, key=_sort_key, reverse=True)


def select(alarms: list[AlarmView], *, now: datetime, kiosk_id: str = "",
           kinds: tuple[str, ...] = (), days: int = 0) -> list[AlarmView]:
    """Pure: what a ListAlarms request asks for. ``days`` 0: the open alarms;
    else every alarm (open, acknowledged or cleared) raised in the last
    ``days`` days. ``kiosk_id``, ``kinds``: only those ('' / (): any)."""
    since = now - timedelta(days=days)
    return [a for a in alarms
            if (a.open if not days else (a.occurred or _FAR_PAST) >= since)
            and (not kiosk_id or a.kiosk_id == kiosk_id) and (not kinds or a.type in kinds)]


def page_token(alarm: AlarmView) -> str:
    """Where the next page starts: after this alarm in newest_first's order."""
    micros, key = _sort_key(alarm)
    return f"{micros}.{key}"


def parse_page_token(token: str) -> tuple[int, str] | None:
    """Pure: a page_token's position, or None if it is not one page_token made."""
    micros, dot, key = token.partition(".")
    if not dot or not key or not (micros.isascii() and micros.isdigit()) or len(token) > 300:
        return None
    return int(micros), key


def one_page(alarms: list[AlarmView], after: tuple[int, str] | None,
             size: int) -> tuple[list[AlarmView], str]:
    """Pure: ``size`` alarms (newest first) after the position ``after``, and
    the next page's token ('' on the last page). Alarms raised meanwhile are
    newer than the position, so no page repeats or skips one."""
    rest = [a for a in alarms if after is None or _sort_key(a) < after]
    page = rest[:size]
    return page, page_token(page[-1]) if len(rest) > size else ""


def without_order(alarm: AlarmView) -> AlarmView:
    """Pure: the alarm for a caller who may not read orders (a technician):
    where and what, not whose order (also not in the on-call alarm's text)."""
    reference = alarm.order_reference
    if not reference:
        return alarm
    return replace(alarm, order_reference="",
                   detail=alarm.detail.replace(reference, "(order)"))


def comment_problem(comment: str) -> str | None:
    """Pure: None if an acknowledgement's comment will do, else COMMENT_MISSING
    or COMMENT_TOO_LONG. The comment is the audit entry's account of what was
    done, so there is no acknowledgement without one."""
    if not comment.strip():
        return COMMENT_MISSING
    if len(comment) > MAX_COMMENT:
        return COMMENT_TOO_LONG
    return None


def acknowledge_refusal(alarm: AlarmView) -> tuple[str, str] | None:
    """Pure: None if the alarm may be acknowledged, else (reason, why).
    Nobody acknowledges twice: the first acknowledgement is the record."""
    if alarm.acknowledged_by or alarm.acknowledged_at:
        return ALARM_ALREADY_ACKNOWLEDGED, (
            f" was acknowledged already by {alarm.acknowledged_by or 'someone'}"
            + (f" at {alarm.acknowledged_at:%Y-%m-%d %H:%M} UTC" if alarm.acknowledged_at
               else "") + "; list it with days set to see the comment")
    if alarm.cleared:
        return ALARM_CLEARED, " is over: the kiosk reported its cause resolved"
    return None


def in_office(alarm: AlarmView, office_id: str | None) -> bool:
    """Pure: may a caller of ``office_id`` (None: the operator) see the alarm?"""
    return office_id is None or alarm.office_id == office_id


# ---------------------------------------------------------------- writing


def acknowledge(db, tx, alarm: AlarmView, by: str, comment: str) -> bool:
    """Acknowledges the open ``alarm`` (from find_alarm) inside ``tx`` with
    its audit entry; False if someone else was quicker."""
    queue = MessageQueue(db)  # joins tx
    if alarm.oncall:
        number = int(alarm.event_id[len(oncall.ONCALL_PREFIX):])
        return oncall.acknowledge(queue, number, by, comment) is not None
    if acknowledgements(tx, [alarm.event_id]):
        return False
    tx.audit(by, ACK_ACTION, office_id=alarm.office_id, target=alarm.event_id,
             kiosk=alarm.kiosk_id, alarm=alarm.type, comment=comment)
    tx.execute("DELETE FROM open_alarm_events WHERE event_id = :e", {"e": alarm.event_id})
    payload = tx.query("SELECT payload FROM events WHERE event_id = :e", {"e": alarm.event_id})
    oncall.acknowledge_for_event(queue, tx, alarm.kiosk_id, alarm.type,
                                 bytes(payload[0]["payload"]), by, comment)
    return True


def acknowledge_alarm(db, key: str, by: str, comment: str, office_id: str | None) -> str:
    """Acknowledges the alarm ``key`` of the office (None: any) in one
    transaction with its audit entry; DONE, ALREADY or MISSING. For callers
    without a request to replay (``kiosk-registry alarm ack``)."""
    with db.transaction() as tx:
        alarm = find_alarm(tx, key)
        if alarm is None or not in_office(alarm, office_id):
            return MISSING
        if acknowledge_refusal(alarm) is not None:
            return ALREADY
        return DONE if acknowledge(db, tx, alarm, by, comment) else ALREADY


def to_proto(alarm: AlarmView) -> pb.Alarm:
    state = pb.ALARM_STATE_OPEN
    if alarm.acknowledged_by or alarm.acknowledged_at:
        state = pb.ALARM_STATE_ACKNOWLEDGED
    elif alarm.cleared:
        state = pb.ALARM_STATE_CLEARED
    return pb.Alarm(
        alarm_id=alarm.event_id, kind=alarm.type, kiosk_id=alarm.kiosk_id,
        compartment_number=alarm.compartment, order_reference=alarm.order_reference,
        raise_time=to_timestamp(alarm.occurred), detail=alarm.detail, state=state,
        acknowledged_by=alarm.acknowledged_by, acknowledge_time=to_timestamp(alarm.acknowledged_at),
        comment=alarm.comment,
    )
