"""The office's order actions through a real registry on loopback and a real
aiosmtpd: the pickup reminder sent again arrives as a second message (and a
double submit sends none), a counter return cancels what was scheduled."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.convert import to_timestamp
from pickupbox.registry.v1 import registry_pb2 as pb
from registry.errors import error_reason
from tests.messages.test_registry_messages import (  # noqa: F401
    _create, report, running,
)

pytestmark = pytest.mark.integration


def _resend(office, reference, request_id):
    return office.ResendPickupReminder(pb.ResendPickupReminderRequest(
        reference=reference, request_id=request_id), timeout=5)


def _deposit(kiosk, reference):
    report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2,
           pickup_deadline=to_timestamp(datetime.now(timezone.utc) + timedelta(days=10)))


def test_the_reminder_sent_again_really_arrives_again(running, smtp_server):  # noqa: F811
    _, office, kiosk, messages, _ = running
    created = _create(office, "ines@example.org")
    reference = created.order.reference
    _deposit(kiosk, reference)
    smtp_server.handler.wait_for(1)  # the ready notice

    request_id = str(uuid.uuid4())
    first = _resend(office, reference, request_id)
    assert first.channel == "email" and first.order.status == pb.ORDER_STATUS_DEPOSITED
    reminder = smtp_server.handler.wait_for(2)[1].parsed()
    assert reminder["Subject"].startswith("Erinnerung: Bitte holen Sie Ihr Dokument")
    text = reminder.get_body(("plain",)).get_content()
    assert created.pickup_code not in reminder.as_string()  # reminders carry no code
    assert reminder["To"] == "ines@example.org" and text

    # A double submit (the same request id) is answered from the replay store.
    assert _resend(office, reference, request_id) == first
    assert messages.worker.wait_until_idle(10)
    assert len(smtp_server.handler.received) == 2

    _resend(office, reference, str(uuid.uuid4()))  # the citizen asks once more
    assert len(smtp_server.handler.wait_for(3)) == 3
    assert messages.worker.wait_until_idle(10)
    kinds = [(m.kind, m.status) for m in messages.queue.for_order(reference)
             if m.kind == "reminder"]
    # The scheduled one still waits for its day; the two sent again went out.
    assert sorted(kinds) == [("reminder", "queued"), ("reminder", "sent"), ("reminder", "sent")]


def test_a_counter_return_ends_the_order_without_a_message(running, smtp_server):  # noqa: F811
    server, office, kiosk, messages, _ = running
    created = _create(office, "jan@example.org")
    reference = created.order.reference
    _deposit(kiosk, reference)
    smtp_server.handler.wait_for(1)
    with pytest.raises(grpc.RpcError) as in_box:
        office.MarkReturnedToCounter(pb.MarkReturnedToCounterRequest(reference=reference),
                                     timeout=5)
    assert error_reason(in_box.value) == "ORDER_IN_BOX"
    report(kiosk, pb.EVENT_TYPE_ORDER_REMOVED, reference, compartment_number=2)
    smtp_server.handler.wait_for(2)  # "back at the counter", with the removal
    office.MarkReturnedToCounter(pb.MarkReturnedToCounterRequest(reference=reference),
                                 timeout=5)
    assert messages.worker.wait_until_idle(10)
    assert len(smtp_server.handler.received) == 2  # nothing more to tell
    assert not [m for m in messages.queue.for_order(reference) if m.status == "queued"]
    with pytest.raises(grpc.RpcError) as ended:
        _resend(office, reference, str(uuid.uuid4()))
    assert error_reason(ended.value) == "ORDER_NOT_WAITING"


def test_the_ended_hook_cancels_the_scheduled_reminders(running, smtp_server):  # noqa: F811
    _, office, kiosk, messages, _ = running
    reference = _create(office, "eva@example.org").order.reference
    _deposit(kiosk, reference)
    smtp_server.handler.wait_for(1)
    scheduled = [m for m in messages.queue.for_order(reference) if m.status == "queued"]
    assert {m.kind for m in scheduled} >= {"reminder"}
    messages.order_ended(reference)
    assert {m.status for m in messages.queue.for_order(reference)
            if m.kind in ("reminder", "last_day")} == {"cancelled"}
