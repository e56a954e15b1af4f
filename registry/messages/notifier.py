"""The ``messages`` notifier: turns the registry's hooks into queued messages.

Registered as the ``messages`` entry point of ``pickupbox.notifier``; run it
beside the directory notifier with ``--notifier directory,messages``. It
reads ``messages.toml`` (``config=`` or $PICKUPBOX_MESSAGES_CONFIG) and keeps
its queue in the registry's database (the server hands it over with
``attach_registry``), so every instance on one PostgreSQL shares one queue.
A queue file of an older release (``messages.sqlite3`` beside the registry
database, the parent of the notification directory, or ``[queue] path``) is
imported at that moment, once, and then deleted (legacy.py).

Several offices (tenants) on one registry: each order and each kiosk alarm
carries its office id, and goes out with that office's sender, gateway,
texts, alarm recipients and integrations (config.py, ``[offices.<id>]``).

Which channel: the order's contact decides (contacts.py): an e-mail address
goes by e-mail, a mobile number by SMS, nothing means letter only.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from registry.messages import alarms, bounces, legacy, texts
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


@dataclass
class OfficeSetup:
    """What one office's messages go out with: its settings, texts, time
    zone and channels (its own SMTP pool, SMS gateway and integrations)."""

    config: MessagesConfig
    catalogs: Catalogs
    zone: ZoneInfo
    channels: dict[str, Channel]


def _setup(config: MessagesConfig, catalogs: Catalogs) -> OfficeSetup:
    channels: dict[str, Channel] = {}
    if config.email is not None:
        channels["email"] = SmtpChannel(config.email, catalogs)
    if config.sms is not None:
        channels["sms"] = HttpSmsChannel(config.sms, catalogs)
    for hook in config.webhooks:
        channels[f"webhook:{hook.name}"] = WebhookChannel(hook)
    return OfficeSetup(config, catalogs, ZoneInfo(config.office.timezone), channels)


class MessagesNotifier:
    # What the OfficeService asks before it promises a message (a reminder sent again).
    sends_citizen_messages = True

    def __init__(
        self,
        config: str | Path | MessagesConfig | None = None,
        *,
        directory: str | Path | None = None,
        queue_path: str | Path | None = None,
        database=None,
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
        # Offices that share a template folder share its (checked) catalogs.
        catalogs: dict[Path | None, Catalogs] = {}

        def catalogs_for(folder: Path | None) -> Catalogs:
            if folder not in catalogs:
                catalogs[folder] = Catalogs(folder)
            return catalogs[folder]

        self.default = _setup(c, catalogs_for(c.templates_dir))
        self.catalogs = self.default.catalogs
        self.offices = {
            office_id: _setup(own, catalogs_for(own.templates_dir))
            for office_id, own in c.offices.items()
        }
        # An older release's queue file, imported once (legacy.py).
        self.legacy_queue = Path(queue_path or c.queue_path or default_queue_path(directory))
        self.queue: MessageQueue | None = None
        self.worker: DeliveryWorker | None = None
        if database is not None:
            self._connect(database)
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._registry_db = None  # for the audit log, once the server attaches it
        # One watcher per bounce mailbox (offices may share one or have their own).
        folders = {setup.config.bounce_maildir: setup.config.bounce_interval_seconds
                   for setup in (self.default, *self.offices.values())
                   if setup.config.bounce_maildir is not None}
        self.bounce_watchers = [
            bounces.MaildirWatcher(folder, interval, self._email_bounce)
            for folder, interval in folders.items()
        ]

    def _connect(self, database) -> None:
        c = self.config
        self.queue = MessageQueue(database, lease_seconds=c.lease_seconds)
        self.worker = DeliveryWorker(
            self.queue,
            self.default.channels,
            office_channels={o: setup.channels for o, setup in self.offices.items()},
            batch_size=c.batch_size,
            retry_base_seconds=c.retry_base_seconds,
            retry_max_seconds=c.retry_max_seconds,
            on_permanent_failure=self._permanent_failure,
            senders=c.senders,
        )
        legacy.import_once(self.queue, self.legacy_queue)

    def attach_registry(self, db) -> None:
        """The server's hook: the queue lives in its database (an older
        release's queue file is imported now), refused delivery reports go
        into its audit log."""
        self._registry_db = db
        if self.queue is None or self.queue.db is not db:  # first, or a restarted server
            self._connect(db)

    def office(self, office_id: str) -> OfficeSetup:
        """The office's setup; an office without a section of its own gets the defaults."""
        return self.offices.get(office_id or "", self.default)

    # ----------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self.worker is None:
            raise RuntimeError("the messages notifier has no database: the registry server"
                               " attaches its own (attach_registry), or pass database=")
        self.worker.start()
        for watcher in self.bounce_watchers:
            watcher.start()
        if self.config.offline_minutes > 0 and self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch_kiosks, name="kiosk-offline-watch", daemon=True
            )
            self._watcher.start()

    def close(self) -> None:
        self._stopping.set()
        for watcher in self.bounce_watchers:
            watcher.stop()
        if self._watcher is not None:
            self._watcher.join(10)
            self._watcher = None
        if self.worker is not None:
            self.worker.stop()
            self.queue.close()

    def forget(self, reference: str) -> bool:
        """The retention job's hook: an ended order's final messages lose their recipient."""
        return self.queue.forget(reference) > 0

    def delivery_status(self, reference: str) -> list[Message]:
        """The order's messages (the OfficeService's ListOrderMessages reads them)."""
        return self.queue.for_order(reference)

    def kiosk_seen(self, kiosk_id: str, at: datetime, office_id: str = "") -> None:
        """The registry's heartbeat hook: ends a kiosk_offline alarm."""
        # The heartbeat itself is in kiosks.last_seen already (the registry
        # wrote it); here only an open kiosk_offline alarm is cleared, and
        # the worker woken only for that all-clear. Almost every heartbeat has
        # none to clear: a read says so without a write transaction per beat
        # after the heartbeats' group commit.
        scope = alarms.scope(kiosk_id, 0)
        if not self.queue.has_uncleared((alarms.KIOSK_OFFLINE,), scope):
            return
        with self.queue.transaction():
            cleared = self._all_clear((alarms.KIOSK_OFFLINE,), scope, at)
        if cleared:
            self.queue.wake()

    def check_offline_kiosks(self) -> None:
        limit = timedelta(minutes=self.config.offline_minutes)
        for kiosk_id, last_seen, office_id in self.queue.kiosks_silent_since(utcnow() - limit):
            self.staff_alarm(
                alarms.KIOSK_OFFLINE, alarms.scope(kiosk_id, 0),
                f"letzte Meldung {self._local(last_seen, self.office(office_id))}", last_seen,
                office_id,
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
        office_id = getattr(notice, "office_id", "")
        setup = self.office(office_id)
        values = self._values(
            setup, notice.reference, notice.document_kind, notice.pickup_deadline,
            kiosk=notice.kiosk_id, compartment=notice.compartment_number,
        )
        values.update(
            code=notice.pickup_code,
            qr_payload=notice.qr_payload,
            pin_letter="1" if notice.requires_pin_letter_confirmation else "",
        )
        with self.queue.together():
            self._ready_messages(office_id, notice, values)

    def _ready_messages(self, office_id: str, notice, values: dict[str, Any]) -> None:
        self._to_citizen(office_id, notice.reference, texts.READY, notice.contact, values)
        self._schedule_reminders(office_id, notice.reference, notice.contact, values,
                                 notice.pickup_deadline)
        self._to_integrations(office_id, notice.reference, "deposited", {
            "reference": notice.reference,
            "document_kind": notice.document_kind,
            "kiosk_id": notice.kiosk_id,
            "compartment_number": notice.compartment_number,
            "pickup_deadline": _iso(notice.pickup_deadline),
        }, utcnow())

    def order_ended(self, reference: str) -> None:
        """The registry's hook for an order that ended without a message of its
        own (returned to the counter): its scheduled reminders are cancelled."""
        cancelled = self.queue.cancel_scheduled(reference, (texts.REMINDER, texts.LAST_DAY))
        if cancelled:
            log.info("%d scheduled reminders of order %s cancelled", cancelled, reference)

    def order_changed(self, change) -> None:
        """Every later step of an order (an OrderChange): collected, returned
        to the counter, cancelled, code reissued, a reminder sent again."""
        office_id = getattr(change, "office_id", "")
        setup = self.office(office_id)
        with self.queue.together():
            self._change_messages(office_id, setup, change)

    def _change_messages(self, office_id: str, setup: OfficeSetup, change) -> None:
        kind = change.kind
        if kind in ENDING:
            self.queue.cancel_scheduled(change.reference, (texts.REMINDER, texts.LAST_DAY))
        values = self._values(
            setup, change.reference, change.document_kind, change.pickup_deadline,
            kiosk=change.kiosk_id, compartment=change.compartment_number,
        )
        values["time"] = self._local(change.occurred, setup)
        if kind == texts.CODE_REISSUED:
            values.update(code=change.pickup_code, qr_payload=change.qr_payload)
        self._to_citizen(office_id, change.reference, kind, change.contact, values,
                         change.sequence)
        order = {
            "reference": change.reference,
            "document_kind": change.document_kind,
            "kiosk_id": change.kiosk_id,
            "compartment_number": change.compartment_number,
        }
        if kind == texts.COLLECTED:
            order["pin_letter_confirmed"] = change.pin_letter_confirmed
        self._to_integrations(office_id, change.reference, kind, order, change.occurred,
                              change.sequence)

    def staff_alarm(self, kind: str, scope: str, detail: str, occurred: datetime,
                    office_id: str = "", source_event: str = "") -> None:
        """A kiosk reported trouble: alarm its office's staff on call, once
        (the alarm and its messages in one commit)."""
        with self.queue.together():
            alarm = self.queue.raise_alarm(kind, detail, scope=scope, office_id=office_id,
                                           source_event=source_event)
            if not alarm.new:
                return  # already raised and not yet acknowledged or cleared
            self._alarm_messages(alarm, alarms.ALARM, occurred)
            minutes = self.office(office_id).config.alarm_reminder_minutes
            if minutes > 0:
                self._alarm_messages(alarm, alarms.ALARM_REMINDER, occurred,
                                     not_before=utcnow() + timedelta(minutes=minutes))
            self._alarm_event(alarm, "raised", occurred)

    def all_clear(self, kinds: tuple[str, ...], scope: str, occurred: datetime,
                  office_id: str = "") -> None:
        # The alarm rows know their office; office_id is the caller's, for symmetry.
        with self.queue.together():
            self._all_clear(kinds, scope, occurred)

    def _all_clear(self, kinds: tuple[str, ...], scope: str, occurred: datetime) -> int:
        cleared = self.queue.clear_alarms(kinds, scope)
        for alarm in cleared:
            reference = alarms.alarm_reference(alarm)
            self.queue.cancel_scheduled(reference, (alarms.ALARM_REMINDER,))
            self._alarm_messages(alarm, alarms.ALL_CLEAR, occurred)
            self._alarm_event(alarm, "cleared", occurred)
        return len(cleared)

    def bounced_later(self, channel: str, provider_id: str, reason: str) -> Message | None:
        """A bounce that arrived after the message was sent (bounces.py): the
        message becomes ``bounced`` and, for a citizen's message, the clerk
        gets "citizen could not be reached: print the letter". A bounce for
        an unknown id, or one processed before, does nothing (None)."""
        message = self.queue.bounce_sent(channel, provider_id, reason)
        if message is None:
            return None
        log.warning("message %s (%s) bounced after delivery", message.key, channel)
        self.worker.permanent_failure(message, f"bounced after delivery: {reason}")
        return message

    def _email_bounce(self, bounce: bounces.Bounce) -> None:
        if self.bounced_later("email", bounce.message_id, bounce.reason) is None:
            log.info("a bounce for a message that is not (or no longer) sent here: ignored")

    def sms_report(self, office_id: str, signature: str, body: bytes,
                   content_type: str) -> Message | None:
        """An SMS gateway's delivery report (bounces.py): checked against the
        office's shared secret, then a failed delivery bounces the message.
        Raises ReportError with the HTTP status to answer."""
        reports = self._sms_reports(office_id)
        if reports is None:
            raise bounces.ReportError(
                404, f"no [sms.delivery_reports] for office {office_id or '(default)'}")
        try:
            bounces.check_report(reports, signature, body)
        except bounces.ReportError as error:
            log.warning("refused an SMS delivery report for office %s: bad signature",
                        office_id or "(default)")
            if self._registry_db is not None:
                with self._registry_db.transaction() as tx:
                    tx.audit("sms-gateway", "sms_report.refused", office_id=office_id,
                             outcome="denied", reason=error.reason)
            raise
        gateway_id, status, failed, reason = bounces.parse_report(reports, body, content_type)
        if not failed:
            return None
        return self.bounced_later("sms", gateway_id, reason)

    def _sms_reports(self, office_id: str) -> bounces.ReportConfig | None:
        setup = self.offices.get(office_id) if office_id else self.default
        return setup.config.sms_reports if setup is not None else None

    def web_routes(self) -> list:
        """The SMS gateway's delivery-report endpoint, for the registry's web
        front door (registry/web.py) to mount beside the console and the API."""
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Mount, Route

        async def report(request: Request) -> Response:
            body = await request.body()
            if len(body) > bounces.MAX_REPORT_BYTES:
                return PlainTextResponse("report too large", status_code=413)
            office_id = request.path_params.get("office_id", "")
            reports = self._sms_reports(office_id)
            header = reports.header if reports is not None else ""
            try:
                await run_in_threadpool(
                    self.sms_report, office_id, request.headers.get(header, ""), body,
                    request.headers.get("content-type", ""),
                )
            except bounces.ReportError as error:
                return PlainTextResponse(error.reason, status_code=error.status)
            return Response(status_code=204)

        return [Mount("/messages", routes=[
            Route("/sms-reports", report, methods=["POST"]),
            Route("/sms-reports/{office_id}", report, methods=["POST"]),
        ])]

    def _alarm_messages(self, alarm, kind: str, occurred: datetime,
                        not_before: datetime | None = None) -> None:
        setup = self.office(alarm.office_id)
        values = {
            "alarm_id": str(alarm.id), "alarm_kind": alarm.kind, "where": alarm.scope,
            "detail": alarm.text, "time": self._local(occurred, setup),
        }
        for index, recipient in enumerate(setup.config.alarm_recipients(alarm.kind)):
            contact = parse_contact(recipient)  # checked when the config was loaded
            if contact.channel not in setup.channels:
                log.error("alarm %s: no %s channel for %s", alarm.id, contact.channel, recipient)
                continue
            self.queue.enqueue(
                order_reference=alarms.alarm_reference(alarm), kind=kind,
                channel=contact.channel, recipient=contact.address, language="de",
                values=values, sequence=index, not_before=not_before,
                office_id=alarm.office_id,
            )

    def _alarm_event(self, alarm, state: str, occurred: datetime) -> None:
        for hook in self.office(alarm.office_id).config.webhooks:
            if "alarm" in hook.events:
                self.queue.enqueue(
                    order_reference=alarms.alarm_reference(alarm), kind="alarm",
                    channel=f"webhook:{hook.name}", recipient=hook.url, language="",
                    sequence=0 if state == "raised" else 1, office_id=alarm.office_id,
                    values={"order": {}, "occurred_at": _iso(occurred),
                            "alarm": {"id": alarm.id, "kind": alarm.kind, "scope": alarm.scope,
                                      "state": state, "detail": alarm.text}},
                )

    # ------------------------------------------------------------- helpers

    @staticmethod
    def _local(moment: datetime | None, setup: OfficeSetup) -> str:
        return "" if moment is None else f"{moment.astimezone(setup.zone):%d.%m.%Y %H:%M}"

    def _values(self, setup: OfficeSetup, reference: str, document_kind: str,
                deadline: datetime | None, *, kiosk: str, compartment: int) -> dict[str, Any]:
        office = setup.config.office
        return {
            "reference": reference,
            "document_kind": document_kind or "other",
            "deadline": self._local(deadline, setup),
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

    def _to_citizen(self, office_id: str, reference: str, kind: str, contact_text: str,
                    values: dict[str, Any], sequence: int = 0,
                    not_before: datetime | None = None) -> None:
        try:
            contact = parse_contact(contact_text)
        except ContactError as error:
            # Orders made before validation existed; the clerk must write.
            self.queue.raise_alarm(
                "citizen_unreachable",
                f"order {reference}: contact is unusable ({error}): print the letter",
                reference, office_id=office_id,
            )
            return
        if contact.channel == NONE:
            return
        if contact.channel not in self.office(office_id).channels:
            self.queue.raise_alarm(
                "citizen_unreachable",
                f"order {reference}: no {contact.channel} channel is configured: print the letter",
                reference, office_id=office_id,
            )
            return
        self.queue.enqueue(
            order_reference=reference, kind=kind, channel=contact.channel,
            recipient=contact.address, language=contact.language, values=values,
            sequence=sequence, not_before=not_before, office_id=office_id,
        )

    def _schedule_reminders(self, office_id: str, reference: str, contact: str,
                            values: dict[str, Any], deadline: datetime | None) -> None:
        if deadline is None:
            return
        setup = self.office(office_id)
        config = setup.config
        now = utcnow()
        reminder_at = deadline - timedelta(days=config.reminder_days)
        local_deadline = deadline.astimezone(setup.zone)
        last_day_at = local_deadline.replace(
            hour=config.last_day_hour, minute=0, second=0, microsecond=0
        )
        base = {**values, "code": "", "qr_payload": ""}  # reminders carry no code
        if config.reminder_days > 0 and reminder_at > now and reminder_at < last_day_at:
            self._to_citizen(office_id, reference, texts.REMINDER, contact, base,
                             not_before=reminder_at)
        if now < last_day_at < deadline:
            self._to_citizen(office_id, reference, texts.LAST_DAY, contact, base,
                             not_before=last_day_at)

    def _to_integrations(self, office_id: str, reference: str, kind: str,
                         order: dict[str, Any], occurred: datetime | None,
                         sequence: int = 0) -> None:
        for hook in self.office(office_id).config.webhooks:
            if kind in hook.events:
                self.queue.enqueue(
                    order_reference=reference, kind=kind, channel=f"webhook:{hook.name}",
                    recipient=hook.url, language="", sequence=sequence, office_id=office_id,
                    values={"order": order, "occurred_at": _iso(occurred)},
                )

    def _permanent_failure(self, message: Message, reason: str) -> None:
        if message.channel.startswith("webhook:"):
            self.queue.raise_alarm(
                "integration_unreachable",
                f"{message.channel} gave up on {message.key}: {reason}",
                message.order_reference, office_id=message.office_id,
            )
            return
        for hook in self.office(message.office_id).config.webhooks:
            if "alarm" in hook.events:
                self.queue.enqueue(
                    order_reference=message.order_reference, kind="alarm",
                    channel=f"webhook:{hook.name}", recipient=hook.url, language="",
                    sequence=message.seq, office_id=message.office_id,
                    values={"order": {"reference": message.order_reference},
                            "occurred_at": _iso(utcnow()),
                            "alarm": {"kind": "citizen_unreachable", "channel": message.channel,
                                      "message": message.kind, "state": "raised"}},
                )


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()
