"""The ``messages`` notifier: turns the registry's hooks into queued messages.

Registered as the ``messages`` entry point of ``pickupbox.notifier``; run it
beside the directory notifier with ``--notifier directory,messages``. It
reads ``messages.toml`` (``config=`` or $PICKUPBOX_MESSAGES_CONFIG) and keeps
its queue in ``messages.sqlite3`` beside the registry database (the parent
of the notification directory) unless the configuration names another file.

Which channel: the order's contact decides (contacts.py): an e-mail address
goes by e-mail, a mobile number by SMS, nothing means letter only.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from registry.messages import alarms, texts
from registry.messages.channels import Channel
from registry.messages.config import CONFIG_ENV, MessagesConfig, load
from registry.messages.contacts import NONE, ContactError, parse_contact
from registry.messages.mail import SmtpChannel
from registry.messages.queue import MessageQueue, Message, utcnow
from registry.messages.sms import HttpSmsChannel
from registry.messages.templates import Catalogs
from registry.messages.webhooks import WebhookChannel
from registry.messages.worker import DeliveryWorker

log = logging.getLogger(__name__)

QUEUE_FILE = "messages.sqlite3"
# Kinds that end an order: its scheduled reminders are cancelled.
ENDING = (texts.COLLECTED, texts.RETURNED, texts.CANCELLED)


def default_queue_path(directory: str | Path | None) -> Path:
    if directory is not None:
        return Path(directory).parent / QUEUE_FILE
    return Path("var") / QUEUE_FILE


class MessagesNotifier:
    def __init__(
        self,
        config: str | Path | MessagesConfig | None = None,
        *,
        directory: str | Path | None = None,
        queue_path: str | Path | None = None,
        **_other_notifiers_options: Any,
    ) -> None:
        if config is None and os.environ.get(CONFIG_ENV):
            config = os.environ[CONFIG_ENV]
        if config is None:
            self.config = MessagesConfig()
        elif isinstance(config, MessagesConfig):
            self.config = config
        else:
            self.config = load(config)
        c = self.config
        self.catalogs = Catalogs(c.templates_dir)
        path = Path(queue_path or c.queue_path or default_queue_path(directory))
        self.queue = MessageQueue(path)
        channels: dict[str, Channel] = {}
        if c.email is not None:
            channels["email"] = SmtpChannel(c.email, self.catalogs)
        if c.sms is not None:
            channels["sms"] = HttpSmsChannel(c.sms, self.catalogs)
        for hook in c.webhooks:
            channels[f"webhook:{hook.name}"] = WebhookChannel(hook)
        self.worker = DeliveryWorker(
            self.queue,
            channels,
            batch_size=c.batch_size,
            retry_base_seconds=c.retry_base_seconds,
            retry_max_seconds=c.retry_max_seconds,
            on_permanent_failure=self._permanent_failure,
        )
        self._zone = ZoneInfo(c.office.timezone)
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        self.worker.start()
        if self.config.offline_minutes > 0 and self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch_kiosks, name="kiosk-offline-watch", daemon=True
            )
            self._watcher.start()

    def close(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(10)
            self._watcher = None
        self.worker.stop()
        self.queue.close()

    def forget(self, reference: str) -> bool:
        """The retention job's hook: an ended order's final messages lose their recipient."""
        return self.queue.forget(reference) > 0

    def kiosk_seen(self, kiosk_id: str, at: datetime) -> None:
        """The registry's heartbeat hook: ends a kiosk_offline alarm."""
        self.queue.kiosk_seen(kiosk_id, at)
        self.all_clear((alarms.KIOSK_OFFLINE,), alarms.scope(kiosk_id, 0), at)

    def check_offline_kiosks(self) -> None:
        limit = timedelta(minutes=self.config.offline_minutes)
        for kiosk_id, last_seen in self.queue.kiosks_silent_since(utcnow() - limit):
            self.staff_alarm(
                alarms.KIOSK_OFFLINE, alarms.scope(kiosk_id, 0),
                f"letzte Meldung {self._local(last_seen)}", last_seen,
            )

    def _watch_kiosks(self) -> None:
        while not self._stopping.wait(self.config.offline_check_seconds):
            try:
                self.check_offline_kiosks()
            except Exception:
                log.exception("checking for offline kiosks failed")

    # ---------------------------------------------------------------- hooks

    def order_ready(self, notice) -> None:
        """The registry's "ready for pickup" hook (a ReadyNotice)."""
        values = self._values(
            notice.reference, notice.document_kind, notice.pickup_deadline,
            kiosk=notice.kiosk_id, compartment=notice.compartment_number,
        )
        values.update(
            code=notice.pickup_code,
            qr_payload=notice.qr_payload,
            pin_letter="1" if notice.requires_pin_letter_confirmation else "",
        )
        self._to_citizen(notice.reference, texts.READY, notice.contact, values)
        self._schedule_reminders(notice.reference, notice.contact, values,
                                 notice.pickup_deadline)
        self._to_integrations(notice.reference, "deposited", {
            "reference": notice.reference,
            "document_kind": notice.document_kind,
            "kiosk_id": notice.kiosk_id,
            "compartment_number": notice.compartment_number,
            "pickup_deadline": _iso(notice.pickup_deadline),
        }, utcnow())

    def order_changed(self, change) -> None:
        """Every later step of an order (an OrderChange): collected, returned
        to the counter, cancelled, code reissued."""
        kind = change.kind
        if kind in ENDING:
            self.queue.cancel_scheduled(change.reference, (texts.REMINDER, texts.LAST_DAY))
        values = self._values(
            change.reference, change.document_kind, change.pickup_deadline,
            kiosk=change.kiosk_id, compartment=change.compartment_number,
        )
        values["time"] = self._local(change.occurred)
        if kind == texts.CODE_REISSUED:
            values.update(code=change.pickup_code, qr_payload=change.qr_payload)
        self._to_citizen(change.reference, kind, change.contact, values, change.sequence)
        order = {
            "reference": change.reference,
            "document_kind": change.document_kind,
            "kiosk_id": change.kiosk_id,
            "compartment_number": change.compartment_number,
        }
        if kind == texts.COLLECTED:
            order["pin_letter_confirmed"] = change.pin_letter_confirmed
        self._to_integrations(change.reference, kind, order, change.occurred, change.sequence)

    def staff_alarm(self, kind: str, scope: str, detail: str, occurred: datetime) -> None:
        """A kiosk reported trouble: alarm the staff on call, once."""
        alarm = self.queue.raise_alarm(kind, detail, scope=scope)
        if not alarm.new:
            return  # already raised and not yet acknowledged or cleared
        self._alarm_messages(alarm, alarms.ALARM, occurred)
        minutes = self.config.alarm_reminder_minutes
        if minutes > 0:
            self._alarm_messages(alarm, alarms.ALARM_REMINDER, occurred,
                                 not_before=utcnow() + timedelta(minutes=minutes))
        self._alarm_event(alarm, "raised", occurred)

    def all_clear(self, kinds: tuple[str, ...], scope: str, occurred: datetime) -> None:
        for alarm in self.queue.clear_alarms(kinds, scope):
            reference = alarms.alarm_reference(alarm)
            self.queue.cancel_scheduled(reference, (alarms.ALARM_REMINDER,))
            self._alarm_messages(alarm, alarms.ALL_CLEAR, occurred)
            self._alarm_event(alarm, "cleared", occurred)

    def _alarm_messages(self, alarm, kind: str, occurred: datetime,
                        not_before: datetime | None = None) -> None:
        values = {
            "alarm_id": str(alarm.id), "alarm_kind": alarm.kind, "where": alarm.scope,
            "detail": alarm.text, "time": self._local(occurred),
        }
        for index, recipient in enumerate(self.config.alarm_recipients(alarm.kind)):
            contact = parse_contact(recipient)  # checked when the config was loaded
            if contact.channel not in self.worker.channels:
                log.error("alarm %s: no %s channel for %s", alarm.id, contact.channel, recipient)
                continue
            self.queue.enqueue(
                order_reference=alarms.alarm_reference(alarm), kind=kind,
                channel=contact.channel, recipient=contact.address, language="de",
                values=values, sequence=index, not_before=not_before,
            )

    def _alarm_event(self, alarm, state: str, occurred: datetime) -> None:
        for hook in self.config.webhooks:
            if "alarm" in hook.events:
                self.queue.enqueue(
                    order_reference=alarms.alarm_reference(alarm), kind="alarm",
                    channel=f"webhook:{hook.name}", recipient=hook.url, language="",
                    sequence=0 if state == "raised" else 1,
                    values={"order": {}, "occurred_at": _iso(occurred),
                            "alarm": {"id": alarm.id, "kind": alarm.kind, "scope": alarm.scope,
                                      "state": state, "detail": alarm.text}},
                )

    # ------------------------------------------------------------- helpers

    def _local(self, moment: datetime | None) -> str:
        return "" if moment is None else f"{moment.astimezone(self._zone):%d.%m.%Y %H:%M}"

    def _values(self, reference: str, document_kind: str, deadline: datetime | None, *,
                kiosk: str, compartment: int) -> dict[str, Any]:
        office = self.config.office
        return {
            "reference": reference,
            "document_kind": document_kind or "other",
            "deadline": self._local(deadline),
            "office_name": office.name,
            "office_address": office.address,
            "office_hours": office.hours,
            "office_phone": office.phone,
            "kiosk": kiosk,
            "compartment": str(compartment or ""),
            "time": "",
            "code": "",
            "qr_payload": "",
        }

    def _to_citizen(self, reference: str, kind: str, contact_text: str,
                    values: dict[str, Any], sequence: int = 0,
                    not_before: datetime | None = None) -> None:
        try:
            contact = parse_contact(contact_text)
        except ContactError as error:
            # Orders made before validation existed; the clerk must write.
            self.queue.raise_alarm(
                "citizen_unreachable",
                f"order {reference}: contact is unusable ({error}): print the letter",
                reference,
            )
            return
        if contact.channel == NONE:
            return
        if contact.channel not in self.worker.channels:
            self.queue.raise_alarm(
                "citizen_unreachable",
                f"order {reference}: no {contact.channel} channel is configured: print the letter",
                reference,
            )
            return
        self.queue.enqueue(
            order_reference=reference, kind=kind, channel=contact.channel,
            recipient=contact.address, language=contact.language, values=values,
            sequence=sequence, not_before=not_before,
        )

    def _schedule_reminders(self, reference: str, contact: str, values: dict[str, Any],
                            deadline: datetime | None) -> None:
        if deadline is None:
            return
        now = utcnow()
        reminder_at = deadline - timedelta(days=self.config.reminder_days)
        local_deadline = deadline.astimezone(self._zone)
        last_day_at = local_deadline.replace(
            hour=self.config.last_day_hour, minute=0, second=0, microsecond=0
        )
        base = {**values, "code": "", "qr_payload": ""}  # reminders carry no code
        if self.config.reminder_days > 0 and reminder_at > now and reminder_at < last_day_at:
            self._to_citizen(reference, texts.REMINDER, contact, base, not_before=reminder_at)
        if now < last_day_at < deadline:
            self._to_citizen(reference, texts.LAST_DAY, contact, base, not_before=last_day_at)

    def _to_integrations(self, reference: str, kind: str, order: dict[str, Any],
                         occurred: datetime | None, sequence: int = 0) -> None:
        for hook in self.config.webhooks:
            if kind in hook.events:
                self.queue.enqueue(
                    order_reference=reference, kind=kind, channel=f"webhook:{hook.name}",
                    recipient=hook.url, language="", sequence=sequence,
                    values={"order": order, "occurred_at": _iso(occurred)},
                )

    def _permanent_failure(self, message: Message, reason: str) -> None:
        if message.channel.startswith("webhook:"):
            self.queue.raise_alarm(
                "integration_unreachable",
                f"{message.channel} gave up on {message.key}: {reason}",
                message.order_reference,
            )
            return
        for hook in self.config.webhooks:
            if "alarm" in hook.events:
                self.queue.enqueue(
                    order_reference=message.order_reference, kind="alarm",
                    channel=f"webhook:{hook.name}", recipient=hook.url, language="",
                    sequence=message.seq,
                    values={"order": {"reference": message.order_reference},
                            "occurred_at": _iso(utcnow()),
                            "alarm": {"kind": "citizen_unreachable", "channel": message.channel,
                                      "message": message.kind, "state": "raised"}},
                )


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()
