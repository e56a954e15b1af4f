"""Delivery status of an order's messages, for the OfficeService's
ListOrderMessages (and so `kiosk-registry order get` and the web console).

What leaves here is what the clerk needs to follow up: kind, channel,
status, reason, attempts and times. Never the message text, the code or the
recipient (the clerk has the contact on the order itself).
"""

from __future__ import annotations

from datetime import datetime, timezone

from common.convert import to_timestamp
from registry.messages.queue import (
    BOUNCED, CANCELLED, FAILED, QUEUED, SENDING, SENT, Message, utcnow,
)
from pickupbox.registry.v1 import registry_pb2 as pb

QUEUE_ENV = "PICKUPBOX_MESSAGES_QUEUE"

STATUS_TO_PROTO = {
    QUEUED: pb.MESSAGE_STATUS_QUEUED,
    SENDING: pb.MESSAGE_STATUS_SENDING,
    SENT: pb.MESSAGE_STATUS_SENT,
    FAILED: pb.MESSAGE_STATUS_FAILED,
    BOUNCED: pb.MESSAGE_STATUS_BOUNCED,
    CANCELLED: pb.MESSAGE_STATUS_CANCELLED,
}


def message_to_proto(message: Message) -> pb.OrderMessage:
    return pb.OrderMessage(
        kind=message.kind,
        channel=message.channel,
        status=STATUS_TO_PROTO.get(message.status, pb.MESSAGE_STATUS_UNSPECIFIED),
        reason=message.last_error,
        attempts=message.attempts,
        create_time=to_timestamp(message.created_at),
        scheduled_time=to_timestamp(message.not_before),
        final_time=to_timestamp(message.final_at) if message.final_at else None,
    )


def order_messages(notifier, reference: str) -> pb.ListOrderMessagesResponse:
    """The order's messages from whichever notifier keeps them (the messages
    notifier, alone or among others); ``messages_enabled`` False if none does."""
    source = getattr(notifier, "delivery_status", None)
    messages = source(reference) if source is not None else None
    if messages is None:
        return pb.ListOrderMessagesResponse(messages_enabled=False)
    return pb.ListOrderMessagesResponse(
        messages=[message_to_proto(m) for m in messages], messages_enabled=True,
    )


def summary(message: pb.OrderMessage, now: datetime | None = None) -> str:
    """One line for `kiosk-registry order get`, e.g. "ready via email: sent"."""
    status = pb.MessageStatus.Name(message.status).removeprefix("MESSAGE_STATUS_").lower()
    line = f"{message.kind} via {message.channel}: {status}"
    scheduled = message.scheduled_time.ToDatetime(tzinfo=timezone.utc)
    if message.status == pb.MESSAGE_STATUS_QUEUED and message.attempts:
        line += f" (attempt {message.attempts} failed: {message.reason})"
    elif message.status in (pb.MESSAGE_STATUS_FAILED, pb.MESSAGE_STATUS_BOUNCED):
        line += f" ({message.reason})"
    elif message.status == pb.MESSAGE_STATUS_QUEUED and scheduled > (now or utcnow()):
        line += f" (scheduled for {scheduled:%Y-%m-%d %H:%M} UTC)"
    return line


def message_to_dict(message: pb.OrderMessage) -> dict[str, object]:
    """For `kiosk-registry order get --json`: plain names, ISO times, the line."""

    def moment(field: str) -> str | None:
        if not message.HasField(field):
            return None
        return getattr(message, field).ToDatetime(tzinfo=timezone.utc).isoformat()

    return {
        "kind": message.kind,
        "channel": message.channel,
        "status": pb.MessageStatus.Name(message.status).removeprefix("MESSAGE_STATUS_").lower(),
        "reason": message.reason,
        "attempts": message.attempts,
        "create_time": moment("create_time"),
        "scheduled_time": moment("scheduled_time"),
        "final_time": moment("final_time"),
        "summary": summary(message),
    }
