"""The queue's rules: one row per key, backoff, recovery after a crash,
scheduled reminders, and what the notifier queues for an order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from registry.messages.config import MessagesConfig, Office
from registry.messages.notifier import MessagesNotifier
from registry.messages.queue import (
    CANCELLED, QUEUED, SENDING, backoff, message_key, utcnow,
)
from registry.messages.status import message_to_proto, summary
from registry.messages.webhooks import WebhookConfig
from registry.notifier import OrderChange, ReadyNotice
from tests.messages.helpers import enqueue


def test_same_key_is_queued_once(queue):
    assert queue.enqueue(order_reference="PO-A", kind="ready", channel="email",
                         recipient="a@example.org", language="de", values={})
    assert not queue.enqueue(order_reference="PO-A", kind="ready", channel="email",
                             recipient="a@example.org", language="de", values={})
    assert queue.counts() == {QUEUED: 1}
    assert message_key("PO-A", "ready", "email") == "PO-A:ready:email:0"


def test_backoff_doubles_up_to_the_limit():
    delays = [backoff(n, 30, 3600).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_recover_requeues_what_was_in_flight(queue, backend):
    key = enqueue(queue, channel="email", recipient="a@example.org")
    (claimed,) = queue.claim_due(10)
    assert queue.get(key).status == SENDING and claimed.attempts == 0
    assert queue.claim_due(10) == []  # not claimed twice while in flight
    if backend == "postgresql":
        # Another instance may be sending it right now: only once its lease ran out.
        assert queue.recover() == 0
        with queue.transaction() as tx:
            tx.execute("UPDATE messages SET lease_until = '2000-01-01T00:00:00.000000+00:00'")
    assert queue.recover() == 1
    assert queue.get(key).status == QUEUED
    assert queue.attempts(key)[0]["outcome"] == "unknown"


def test_scheduled_message_waits_and_does_not_block_others(queue):
    later = utcnow() + timedelta(days=2)
    queue.enqueue(order_reference="PO-A", kind="reminder", channel="email",
                  recipient="a@example.org", language="de", values={}, not_before=later)
    enqueue(queue, channel="email", recipient="a@example.org", kind="collected",
            reference="PO-A")
    claimed = queue.claim_due(10)
    assert [m.kind for m in claimed] == ["collected"]
    assert queue.claim_due(10, now=later + timedelta(seconds=1))[0].kind == "reminder"


def _notifier(tmp_path, **config):
    office = Office(name="Bürgerbüro", phone="0123", timezone="Europe/Berlin")
    return MessagesNotifier(MessagesConfig(office=office, **config),
                            database=tmp_path / "q.sqlite3")


def _notice(contact, deadline):
    return ReadyNotice(reference="PO-A", pickup_code="K7M2-9QXD-45",
                       qr_payload="PBX1:K7M29QXD45", pickup_deadline=deadline,
                       office_contact="", contact=contact, document_kind="passport",
                       kiosk_id="k1", compartment_number=2)


def test_ready_notice_queues_message_reminder_and_last_day(tmp_path):
    from registry.messages.mail import SmtpConfig
    notifier = _notifier(tmp_path, reminder_days=3, last_day_hour=8,
                         email=SmtpConfig(host="127.0.0.1", port=1, sender="a@b.de"))
    deadline = datetime(2099, 12, 20, 17, 0, tzinfo=timezone.utc)  # 18:00 in Berlin
    notifier.order_ready(_notice("anna@example.org;lang=pl", deadline))
    notifier.order_ready(_notice("anna@example.org;lang=pl", deadline))  # a retry
    messages = notifier.queue.for_order("PO-A")
    assert [(m.kind, m.language) for m in messages] == [
        ("ready", "pl"), ("reminder", "pl"), ("last_day", "pl")]
    ready, reminder, last_day = messages
    assert ready.values["code"] == "K7M2-9QXD-45" and ready.values["deadline"] == "20.12.2099 18:00"
    assert reminder.values["code"] == "" and last_day.values["qr_payload"] == ""
    assert reminder.not_before == deadline - timedelta(days=3)
    assert last_day.not_before == datetime(2099, 12, 20, 7, 0, tzinfo=timezone.utc)
    # Collected: the reminders are cancelled, the receipt is queued.
    notifier.order_changed(OrderChange(kind="collected", reference="PO-A",
                                       document_kind="passport",
                                       contact="anna@example.org;lang=pl",
                                       occurred=datetime(2099, 12, 1, 9, 30, tzinfo=timezone.utc),
                                       kiosk_id="k1", compartment_number=2))
    statuses = {m.kind: m.status for m in notifier.queue.for_order("PO-A")}
    assert statuses == {"ready": QUEUED, "reminder": CANCELLED, "last_day": CANCELLED,
                        "collected": QUEUED}
    receipt = notifier.queue.for_order("PO-A")[-1]
    assert receipt.values["time"] == "01.12.2099 10:30" and receipt.values["code"] == ""
    lines = [summary(message_to_proto(m)) for m in notifier.queue.for_order("PO-A")]
    assert lines[0] == "ready via email: queued" and "cancelled" in lines[1]
    notifier.close()


def test_no_channel_for_the_contact_raises_alarm(tmp_path):
    notifier = _notifier(tmp_path)
    notifier.order_ready(_notice("+49 151 23456789", None))
    assert notifier.queue.for_order("PO-A") == []
    (alarm,) = notifier.queue.alarms()
    assert "no sms channel" in alarm.text and "print the letter" in alarm.text
    notifier.order_ready(_notice("", None))  # letter only: nothing, no alarm
    assert len(notifier.queue.alarms()) == 1
    notifier.close()


def test_webhooks_get_only_the_events_they_registered(tmp_path):
    hooks = (WebhookConfig("a", "http://127.0.0.1:1/", frozenset({"collected"}), "x" * 16),
             WebhookConfig("b", "http://127.0.0.1:1/", frozenset({"deposited"}), "y" * 16))
    notifier = _notifier(tmp_path, webhooks=hooks)
    notifier.order_ready(_notice("", None))
    (deposited,) = notifier.queue.for_order("PO-A")
    assert deposited.channel == "webhook:b" and deposited.kind == "deposited"
    assert "K7M2" not in str(deposited.values)  # no code in events
    notifier.close()


def test_finished_messages_are_forgotten_after_the_retention_time(queue):
    sent = enqueue(queue, channel="email", recipient="a@example.org", reference="PO-A")
    waiting = enqueue(queue, channel="email", recipient="b@example.org", reference="PO-B")
    (message, _) = queue.claim_due(10)
    queue.record([(message, "sent", "<id@x>", None)])
    assert queue.forget_finished(timedelta(days=1)) == 0
    assert queue.forget_finished(timedelta(seconds=-1)) == 1
    assert queue.get(sent) is None and queue.attempts(sent) == []
    assert queue.get(waiting) is not None  # unfinished messages stay


def test_an_ended_order_loses_its_recipients_except_where_still_on_its_way(queue):
    sent = enqueue(queue, channel="email", recipient="a@example.org", reference="PO-A")
    (message,) = queue.claim_due(10)
    queue.record([(message, "sent", "<id@x>", None)])
    receipt = enqueue(queue, channel="email", recipient="a@example.org", reference="PO-A",
                      kind="collected")
    other = enqueue(queue, channel="email", recipient="b@example.org", reference="PO-B")
    assert queue.forget("PO-A") == 1
    forgotten = queue.get(sent)
    assert forgotten.recipient == "" and forgotten.status == "sent"  # the office still sees it
    assert [a["detail"] for a in queue.attempts(sent)] == [""]
    # Not final yet: the next retention run takes it.
    assert queue.get(receipt).recipient == "a@example.org"
    assert queue.get(other).recipient == "b@example.org"
    assert queue.forget("PO-A") == 0


def test_together_is_one_transaction(queue):
    # A ready notice's messages are queued all or none: a failure half-way
    # leaves nothing, and the repeated hook queues them all.
    def queue_both(fail: bool) -> None:
        with queue.together():
            enqueue(queue, channel="email", recipient="a@example.org")
            if fail:
                raise OSError("disk full")
            enqueue(queue, channel="email", recipient="a@example.org", kind="reminder")

    try:
        queue_both(fail=True)
    except OSError:
        pass
    assert queue.for_order("PO-TEST0001") == []
    queue_both(fail=False)
    assert [m.kind for m in queue.for_order("PO-TEST0001")] == ["ready", "reminder"]
