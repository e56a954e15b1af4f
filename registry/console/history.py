"""An order's history as a clerk reads it: from the audit log and the kiosk's events.

The audit log holds every act on an order (created, reissued, cancelled by
whom; deposited, handed over, removed, locked as the kiosk reported them,
with staff and compartment). Kiosk events the log does not keep (the
deadline passing, the old ID card returned) come from the events table.
Callers show this only after GetPickupOrder allowed the principal to see the
order, so the office rule is the OfficeServicer's, not repeated here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from registry.console.texts import N_, translate
from registry.events import AUDITED_EVENTS

TIME_ZONE = ZoneInfo("Europe/Berlin")  # the offices' local time

ACTIONS = {
    "order.created": N_("Order created"),
    "order.reissued": N_("New code and PIN issued (the old ones no longer work)"),
    "order.deadline_extended": N_("Deadline extended"),
    "order.cancelled": N_("Order cancelled"),
    "order.returned_to_counter": N_("Back at the counter (the order has ended)"),
    "order.reminder_resent": N_("Reminder sent again"),
    "order.deposited": N_("Placed in the box"),
    "order.handed_over": N_("Collected by the citizen"),
    "order.removed": N_("Taken out of the box by staff"),
    "order.locked": N_("Locked after wrong PINs"),
    "event.refused": N_("Report of another kiosk refused"),
    "call.denied": N_("Access refused"),
    "ORDER_EXPIRED": N_("Deadline passed"),
    "OLD_DOCUMENT_RETURNED": N_("Old ID card returned at the box"),
    "ORDER_COLLECTED": N_("Collected by the citizen"),
}


@dataclass(frozen=True)
class Entry:
    time: str
    who: str
    what: str
    details: list[str]
    outcome: str


def local_time(value: datetime | None, language: str) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(TIME_ZONE)
    return local.strftime("%d.%m.%Y %H:%M" if language == "de" else "%Y-%m-%d %H:%M")


def _who(actor: str, language: str) -> str:
    kind, _, name = actor.partition(":")
    label = {"user": N_("{name} (console or CLI user)"), "kiosk": N_("Box {name}"),
             "api_key": N_("Office software {name}"), "local": N_("{name} (registry command)")}
    return translate(language, label[kind], name=name) if kind in label else actor


def _details(detail: dict, language: str) -> list[str]:
    lines = []
    if detail.get("compartment"):
        lines.append(translate(language, N_("Compartment {number}"), number=detail["compartment"]))
    if detail.get("staff"):
        lines.append(translate(language, N_("Staff: {names}"), names=", ".join(detail["staff"])))
    if detail.get("kiosk"):
        lines.append(translate(language, N_("Box {name}"), name=detail["kiosk"]))
    if detail.get("pin_letter_confirmed"):
        lines.append(translate(language, N_("PIN letter confirmed")))
    if detail.get("channel"):
        lines.append(translate(language, N_("By {channel}"), channel={
            "email": translate(language, N_("e-mail")), "sms": translate(language, N_("SMS")),
        }.get(detail["channel"], detail["channel"])))
    if detail.get("reason"):
        lines.append(translate(language, N_("Reason: {reason}"), reason=detail["reason"]))
    if detail.get("deadline"):
        lines.append(translate(language, N_("Collect by {when}"), when=local_time(
            datetime.fromisoformat(detail["deadline"]), language)))
    return lines


def order_history(db, reference: str, language: str) -> list[Entry]:
    with db.transaction() as tx:
        audited = tx.query(
            "SELECT time, actor, action, outcome, detail FROM audit_log"
            " WHERE target = :reference ORDER BY seq", {"reference": reference})
        events = tx.query(
            "SELECT kiosk_id, type, received_at FROM events WHERE order_reference = :reference"
            " ORDER BY received_at", {"reference": reference})
    rows = []
    for row in audited:
        detail = json.loads(row["detail"] or "{}")
        rows.append((row["time"], Entry(
            time=local_time(datetime.fromisoformat(row["time"]), language),
            who=_who(row["actor"], language),
            what=translate(language, ACTIONS[row["action"]]) if row["action"] in ACTIONS
            else row["action"],
            details=_details(detail, language), outcome=row["outcome"])))
    audited_types = {name.removeprefix("EVENT_TYPE_") for name in _audited_type_names()}
    for row in events:
        if row["type"].removeprefix("EVENT_TYPE_") in audited_types:
            continue  # already in the audit log, with more detail
        name = row["type"].removeprefix("EVENT_TYPE_")
        rows.append((row["received_at"], Entry(
            time=local_time(datetime.fromisoformat(row["received_at"]), language),
            who=_who(f"kiosk:{row['kiosk_id']}", language),
            what=translate(language, ACTIONS[name]) if name in ACTIONS else name,
            details=[], outcome="ok")))
    rows.sort(key=lambda pair: pair[0])
    return [entry for _, entry in rows]


# The audit actions order_history shows (the others are kiosk event types).
AUDIT_ACTIONS = tuple(action for action in ACTIONS if "." in action)


def order_history_version(tx, reference: str) -> tuple:
    """A cheap fingerprint of what an order's page shows (its live update):
    the order's row, its kiosk events and its audit entries. Reads by index
    only (orders' key, events_by_order, audit_log_by_action_target)."""
    names = {f"a{i}": action for i, action in enumerate(AUDIT_ACTIONS)}
    row = tx.query(
        "SELECT (SELECT change_seq FROM orders WHERE reference = :reference) AS order_seq,"
        " (SELECT COUNT(*) FROM events WHERE order_reference = :reference) AS events,"
        " (SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE action IN ("
        + ", ".join(f":{name}" for name in names) + ") AND target = :reference) AS audited",
        {"reference": reference, **names},
    )[0]
    return tuple(row.values())


def _audited_type_names() -> list[str]:
    from pickupbox.registry.v1 import registry_pb2 as pb

    return [pb.EventType.Name(value) for value in AUDITED_EVENTS]
