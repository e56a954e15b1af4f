"""Webhooks to a real HTTP receiver on loopback, verified as a receiver would."""

from __future__ import annotations

import json

import pytest

from registry.messages.queue import QUEUED, SENT
from registry.messages.webhooks import (
    WebhookChannel, WebhookConfig, event_body, sign, verify_signature,
)
from registry.messages.worker import DeliveryWorker

pytestmark = pytest.mark.integration
SECRET = "integration-secret-0123456789"


def worker(queue, receiver, secret=SECRET):
    hook = WebhookConfig("register", receiver.url + "/hooks/pickupbox",
                         frozenset({"deposited", "collected"}), secret, timeout=2)
    return DeliveryWorker(queue, {"webhook:register": WebhookChannel(hook)},
                          retry_base_seconds=0, retry_max_seconds=0)


def enqueue_event(queue, reference, kind, **order):
    queue.enqueue(order_reference=reference, kind=kind, channel="webhook:register",
                  recipient="", language="",
                  values={"order": {"reference": reference, **order},
                          "occurred_at": "2026-12-02T14:05:00+00:00"})
    return f"{reference}:{kind}:webhook:register:0"


def receiver_accepts(request, secret=SECRET, now=None) -> bool:
    """What the office's software does with a request."""
    return verify_signature(
        secret, request.headers["X-Pickupbox-Timestamp"], request.body,
        request.headers["X-Pickupbox-Signature"], now=now,
    )


def test_signed_event_verifies_and_carries_no_secrets(queue, http_receiver):
    key = enqueue_event(queue, "PO-A", "collected", document_kind="id_card",
                        pin_letter_confirmed=True, compartment_number=4)
    worker(queue, http_receiver).run_once()
    (request,) = http_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/hooks/pickupbox"
    assert receiver_accepts(request)
    assert not receiver_accepts(request, secret="another-integrations-secret")
    body = json.loads(request.body)
    assert body == {
        "id": key, "type": "order.collected", "occurred_at": "2026-12-02T14:05:00+00:00",
        "order": {"reference": "PO-A", "document_kind": "id_card",
                  "pin_letter_confirmed": True, "compartment_number": 4},
    }
    assert request.headers["X-Pickupbox-Delivery"] == key
    assert request.headers["X-Pickupbox-Event"] == "order.collected"
    assert queue.get(key).status == SENT


def test_tampered_body_and_replayed_timestamp_are_refused(queue, http_receiver):
    enqueue_event(queue, "PO-A", "deposited")
    worker(queue, http_receiver).run_once()
    (request,) = http_receiver.wait_for(1)
    request.body = request.body.replace(b"PO-A", b"PO-B")
    assert not receiver_accepts(request)
    stamp = int(request.headers["X-Pickupbox-Timestamp"])
    body = b'{"x": 1}'
    signature = sign(SECRET, stamp, body)
    assert verify_signature(SECRET, str(stamp), body, signature, now=stamp + 60)
    assert not verify_signature(SECRET, str(stamp), body, signature, now=stamp + 3600)
    assert not verify_signature(SECRET, "not-a-number", body, signature)


def test_retried_until_2xx_with_same_body_and_fresh_signature(queue, http_receiver):
    http_receiver.replies = [(500, b"", 0.0), (404, b"", 0.0)]
    key = enqueue_event(queue, "PO-A", "deposited")
    w = worker(queue, http_receiver)
    for _ in range(3):
        w.run_once()
    requests = http_receiver.wait_for(3)
    assert queue.get(key).status == SENT
    assert len({r.body for r in requests}) == 1
    assert all(receiver_accepts(r) for r in requests)
    log = queue.attempts(key)
    assert [a["outcome"] for a in log] == [QUEUED, QUEUED, SENT]
    assert "HTTP 500" in log[0]["detail"] and "HTTP 404" in log[1]["detail"]


def test_events_of_one_order_arrive_in_order(queue, http_receiver):
    """The collected event waits while the deposited one is being retried;
    another order's event is not held up."""
    http_receiver.replies = [(503, b"", 0.0)]
    enqueue_event(queue, "PO-A", "deposited")
    enqueue_event(queue, "PO-A", "collected")
    enqueue_event(queue, "PO-B", "deposited")
    w = worker(queue, http_receiver)
    w.run_once()
    first = http_receiver.wait_for(2)
    assert [(json.loads(r.body)["order"]["reference"], json.loads(r.body)["type"])
            for r in first] == [("PO-A", "order.deposited"), ("PO-B", "order.deposited")]
    w.run_once()
    w.run_once()
    types = [json.loads(r.body)["type"] for r in http_receiver.wait_for(4)
             if json.loads(r.body)["order"]["reference"] == "PO-A"]
    assert types == ["order.deposited", "order.deposited", "order.collected"]


def test_unreachable_receiver_is_retried_forever(queue, http_receiver):
    from tests.messages.conftest import free_port
    hook = WebhookConfig("register", f"http://127.0.0.1:{free_port()}/x",
                         frozenset({"deposited"}), SECRET, timeout=1)
    w = DeliveryWorker(queue, {"webhook:register": WebhookChannel(hook)},
                       retry_base_seconds=0, retry_max_seconds=0)
    key = enqueue_event(queue, "PO-A", "deposited")
    for _ in range(12):
        w.run_once()
    message = queue.get(key)
    assert message.status == QUEUED and message.attempts == 12
    assert not queue.alarms()


def test_body_is_stable(queue):
    key = enqueue_event(queue, "PO-A", "deposited")
    message = queue.get(key)
    assert event_body(message) == event_body(queue.get(key))
