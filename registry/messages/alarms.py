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
Acknowledge with ``python -m registry.messages alarms ack ID``.
"""

from __future__ import annotations

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
        german += f"\nBestätigen: python -m registry.messages alarms ack {number}"
        english += f"\nAcknowledge: python -m registry.messages alarms ack {number}"
    return subject, f"{german.strip()}\n\n{english}\n"


def alarm_reference(alarm: Alarm) -> str:
    """What stands in for the order reference in the queue key."""
    return f"alarm-{alarm.id}"


def acknowledge(queue: MessageQueue, alarm_id: int) -> Alarm | None:
    """Marks the alarm acknowledged and cancels its pending reminder."""
    alarm = queue.acknowledge_alarm(alarm_id)
    if alarm is not None:
        queue.cancel_scheduled(alarm_reference(alarm), (ALARM_REMINDER,))
    return alarm
