"""Alarms to staff on call: one message per alarm, a reminder while nobody
has acknowledged it, an all-clear when the kiosk reports the cause gone.

Which kiosk events raise which alarm, and which clear it, is decided here;
who gets them is in ``[alarms]`` of messages.toml::

    [alarms]
    recipients = ["+49 151 11111111"]            # every kind not listed below
    reminder_minutes = 15                        # 0: no reminder
    [alarms.kinds]
    door_forced = ["+49 151 11111111", "hausmeister@musterstadt.de"]
    storage_fault = ["it@musterstadt.de"]

Staff messages are German with English below (the console's languages);
they name the kiosk and compartment, never an order's code or a citizen.
Acknowledge on the console's alarms page, or with ``kiosk-registry alarm ack ID
--comment TEXT`` (or ``python -m registry.messages alarms ack ID``): one
store (the registry database's ``oncall_alarms``), one audit entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pickupbox.registry.v1 import registry_pb2 as pb

from registry.messages.queue import Alarm, MessageQueue

ALARM = "alarm"
ALARM_REMINDER = "alarm_reminder"
ALL_CLEAR = "all_clear"
STAFF_KINDS = frozenset({ALARM, ALARM_REMINDER, ALL_CLEAR})

RAISED_BY = {
    pb.EVENT_TYPE_DOOR_FORCED: "door_forced",
    pb.EVENT_TYPE_DOOR_FAILED: "door_failed",
    pb.EVENT_TYPE_DOOR_LEFT_OPEN: "door_left_open",
    pb.EVENT_TYPE_DEVICE_FAULT: "device_failed",
    pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION: "needs_inspection",
    pb.EVENT_TYPE_STORAGE_FAULT: "storage_fault",
}
# The kiosk's "inspection resolved" means staff looked at the compartment:
# whatever was wrong with its door is over. Back in service ends a failed door.
CLEARED_BY = {
    pb.EVENT_TYPE_INSPECTION_RESOLVED: (
        "needs_inspection", "door_forced", "door_failed", "door_left_open",
    ),
    pb.EVENT_TYPE_COMPARTMENT_IN_SERVICE: ("door_failed", "door_left_open"),
}
KIOSK_OFFLINE = "kiosk_offline"  # raised by the notifier's watcher, not by an event
ALARM_KINDS = (*dict.fromkeys(RAISED_BY.values()), KIOSK_OFFLINE)

LABELS = {
    "door_forced": ("Tür aufgebrochen", "door forced"),
    "door_failed": ("Tür öffnet oder schließt nicht", "door failed"),
    "door_left_open": ("Tür steht offen", "door left open"),
    "device_failed": ("Gerät ausgefallen", "device failed"),
    "needs_inspection": ("Fach muss geprüft werden", "compartment needs inspection"),
    "kiosk_offline": ("Terminal meldet sich nicht", "kiosk offline"),
    "storage_fault": (
        "Speicher des Terminals fehlerhaft oder voll", "kiosk storage faulty or full",
    ),
}


def scope(kiosk_id: str, compartment: int) -> str:
    return f"{kiosk_id}/{compartment}" if compartment else kiosk_id


def render_staff(kind: str, values: dict[str, str]) -> tuple[str, str]:
    """(subject, text) of a staff message, German then English."""
    de, en = LABELS.get(values["alarm_kind"], (values["alarm_kind"], values["alarm_kind"]))
    where = values["where"]
    number = values["alarm_id"]
    if kind == ALARM:
        subject = f"ALARM {number}: {de} – {where}"
        german = f"ALARM {number}: {de}: {where}, seit {values['time']}."
        if values["detail"] and values["detail"] != de:
            german += "\n" + values["detail"]
        english = f"{en}: {where}, since {values['time']}."
    elif kind == ALARM_REMINDER:
        subject = f"Erinnerung ALARM {number}: {de} – {where}"
        german = f"ALARM {number} noch nicht bestätigt: {de}: {where}, seit {values['time']}."
        english = f"Not acknowledged yet: {en}: {where}, since {values['time']}."
    else:
        subject = f"Entwarnung ALARM {number}: {de} – {where}"
        german = f"Entwarnung: {de}: {where} ist behoben ({values['time']})."
        english = f"All clear: {en}: {where} is resolved ({values['time']})."
    if kind != ALL_CLEAR:
        german += (f"\nBestätigen: in der Konsole unter Alarme, oder"
                   f" kiosk-registry alarm ack {number}")
        english += f"\nAcknowledge: console, Alarms; or kiosk-registry alarm ack {number}"
    return subject, f"{german.strip()}\n\n{english}\n"


def alarm_reference(alarm: Alarm) -> str:
    """What stands in for the order reference in the queue key."""
    return f"alarm-{alarm.id}"


# One audit action for every alarm acknowledged, wherever (console, CLI).
ACK_ACTION = "alarm.acknowledged"
ONCALL_PREFIX = "oncall-"
# Kiosk events older than this are history on the alarms page (and here).
EVENT_WINDOW = timedelta(days=30)
EVENT_TYPE_OF = {kind: pb.EventType.Name(t) for t, kind in RAISED_BY.items()}


def oncall_target(alarm_id: int) -> str:
    """How the audit log and the console name an on-call alarm."""
    return f"{ONCALL_PREFIX}{alarm_id}"


def event_scope(kiosk_id: str, payload: bytes) -> str:
    return scope(kiosk_id, pb.KioskEvent.FromString(payload).compartment_number)


def open_events_of(tx, alarm: Alarm) -> list[dict]:
    """The kiosk's alarm events this on-call alarm stands for that nobody
    acknowledged yet (same kind, kiosk and compartment, last 30 days)."""
    event_type = EVENT_TYPE_OF.get(alarm.kind)
    if event_type is None:
        return []
    kiosk = alarm.scope.split("/", 1)[0]
    since = (datetime.now(timezone.utc) - EVENT_WINDOW).isoformat()
    rows = tx.query(
        "SELECT e.event_id, e.kiosk_id, e.payload FROM open_alarm_events AS o"
        " JOIN events AS e ON e.event_id = o.event_id WHERE e.type = :type"
        " AND o.kiosk_id = :kiosk AND o.received_at >= :since",
        {"type": event_type, "kiosk": kiosk, "since": since},
    )
    return [r for r in rows if event_scope(r["kiosk_id"], bytes(r["payload"])) == alarm.scope]


def acknowledge(queue: MessageQueue, alarm_id: int, by: str = "", comment: str = "",
                office_id: str | None = None) -> Alarm | None:
    """Marks the on-call alarm acknowledged, cancels its pending reminder and
    audits it, in one transaction; the kiosk events it stands for count as
    acknowledged too (the console's alarms page shows them so). ``office_id``:
    only an alarm of that office (None: any). None if not open (or not there)."""
    with queue.transaction() as tx:
        found = queue.alarm(alarm_id)
        if found is None or (office_id is not None and not in_office(found, office_id)):
            return None
        alarm = queue.acknowledge_alarm(alarm_id, by, comment)
        if alarm is None:
            return None
        queue.cancel_scheduled(alarm_reference(alarm), (ALARM_REMINDER,))
        actor = by or "unknown"
        tx.audit(actor, ACK_ACTION, office_id=alarm.office_id, target=oncall_target(alarm.id),
                 kind=alarm.kind, scope=alarm.scope, order=alarm.order_reference,
                 comment=comment)
        for event in open_events_of(tx, alarm):
            tx.audit(actor, ACK_ACTION, office_id=alarm.office_id, target=event["event_id"],
                     kiosk=event["kiosk_id"], alarm=EVENT_TYPE_OF[alarm.kind],
                     comment=comment, oncall=alarm.id)
            tx.execute("DELETE FROM open_alarm_events WHERE event_id = :e",
                       {"e": event["event_id"]})
    return alarm


def acknowledge_for_event(queue: MessageQueue, tx, kiosk_id: str, event_type: str,
                          payload: bytes, by: str, comment: str) -> list[Alarm]:
    """A kiosk alarm event was acknowledged (the console, inside its
    transaction ``tx``): the open on-call alarm about the same door or device
    is acknowledged with it, its reminder cancelled. Returns those alarms."""
    kind = next((k for k, name in EVENT_TYPE_OF.items() if name == event_type), None)
    if kind is None:
        return []
    where = event_scope(kiosk_id, payload)
    done = []
    for row in tx.query(
        "SELECT id FROM oncall_alarms WHERE kind = :kind AND scope = :scope"
        " AND acknowledged_at IS NULL AND cleared_at IS NULL", {"kind": kind, "scope": where},
    ):
        alarm = queue.acknowledge_alarm(row["id"], by, comment)
        if alarm is not None:
            queue.cancel_scheduled(alarm_reference(alarm), (ALARM_REMINDER,))
            done.append(alarm)
    return done


def in_office(alarm: Alarm, office_id: str) -> bool:
    """An on-call alarm's office as the console scopes it: '' is the default office's."""
    return alarm.office_id == office_id or (not alarm.office_id and office_id == "default")
