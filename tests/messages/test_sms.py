"""SMS through a real HTTP gateway on loopback: requests byte for byte as
configured, failures, slow and garbage answers."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest

from registry.messages.queue import FAILED, QUEUED, SENT
from registry.messages.sms import FORM, JSON, HttpSmsChannel, SmsConfig
from registry.messages.templates import render_sms
from registry.messages.worker import DeliveryWorker
from tests.messages.helpers import ORDER_VALUES, enqueue

pytestmark = pytest.mark.integration
NUMBER = "+4915123456789"
SECRET = "gw-key-0123456789"


def json_config(receiver, **overrides) -> SmsConfig:
    fields = dict(
        url=receiver.url + "/api/v2/sms",
        method="POST",
        content_type=JSON,
        body='{"to": "{to}", "text": "{text}", "from": "{sender}", "ref": "{reference}"}',
        headers={"Authorization": "Bearer {secret}", "X-Client": "pickupbox"},
        secret=SECRET,
        sender="Buergerbuero",
        success_pattern=r'"status"\s*:\s*"ok"',
        id_pattern=r'"id"\s*:\s*"([^"]+)"',
        timeout=2,
    )
    fields.update(overrides)
    return SmsConfig(**fields)


def run(queue, catalogs, config):
    worker = DeliveryWorker(queue, {"sms": HttpSmsChannel(config, catalogs)},
                            retry_base_seconds=0, retry_max_seconds=0)
    worker.run_once()


def test_json_request_byte_for_byte(queue, catalogs, http_receiver):
    key = enqueue(queue, channel="sms", recipient=NUMBER, language="uk")
    run(queue, catalogs, json_config(http_receiver))
    (request,) = http_receiver.wait_for(1)
    text = render_sms(catalogs, "ready", "uk", ORDER_VALUES)
    expected = (
        '{"to": "+4915123456789", "text": "' + text + '", "from": "Buergerbuero",'
        ' "ref": "PO-TEST0001"}'
    ).encode("utf-8")
    assert request.method == "POST" and request.path == "/api/v2/sms"
    assert request.body == expected
    assert json.loads(request.body)["text"] == text  # and it is valid JSON
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.headers["X-Client"] == "pickupbox"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    message = queue.get(key)
    assert message.status == SENT and message.provider_id == "gw-1"


def test_form_body_and_quotes_in_text_are_escaped(queue, catalogs, http_receiver):
    enqueue(queue, channel="sms", recipient=NUMBER, kind="returned",
            values={"office_name": 'Amt "Mitte" & Co'})
    config = json_config(http_receiver, content_type=FORM,
                         body="to={to}&message={text}&sender={sender}")
    run(queue, catalogs, config)
    (request,) = http_receiver.wait_for(1)
    text = render_sms(catalogs, "returned", "de", {**ORDER_VALUES,
                                                   "office_name": 'Amt "Mitte" & Co'})
    expected = ("to=%2B4915123456789&message=" + urllib.parse.quote_plus(text)
                + "&sender=Buergerbuero").encode()
    assert request.body == expected
    assert urllib.parse.parse_qs(request.body.decode())["message"] == [text]


def test_get_with_query_parameters(queue, catalogs, http_receiver):
    enqueue(queue, channel="sms", recipient=NUMBER, kind="cancelled")
    config = json_config(http_receiver, method="GET", body="",
                         url=http_receiver.url + "/send?to={to}&text={text}")
    run(queue, catalogs, config)
    (request,) = http_receiver.wait_for(1)
    text = render_sms(catalogs, "cancelled", "de", ORDER_VALUES)
    assert request.method == "GET" and request.body == b""
    assert request.path == ("/send?to=%2B4915123456789&text="
                            + urllib.parse.quote(text, safe=""))


def test_gateway_5xx_is_retried(queue, catalogs, http_receiver):
    http_receiver.replies = [(503, b"busy", 0.0)]
    key = enqueue(queue, channel="sms", recipient=NUMBER)
    config = json_config(http_receiver)
    run(queue, catalogs, config)
    assert queue.get(key).status == QUEUED and "HTTP 503" in queue.get(key).last_error
    run(queue, catalogs, config)
    assert queue.get(key).status == SENT
    assert http_receiver.requests[0].body == http_receiver.requests[1].body


def test_gateway_4xx_is_permanent_and_raises_alarm(queue, catalogs, http_receiver):
    http_receiver.replies = [(401, b'{"error": "bad key"}', 0.0)]
    key = enqueue(queue, channel="sms", recipient=NUMBER)
    run(queue, catalogs, json_config(http_receiver))
    assert queue.get(key).status == FAILED and "HTTP 401" in queue.get(key).last_error
    assert "print the letter" in queue.alarms()[0].text


def test_slow_gateway_times_out_and_is_retried(queue, catalogs, http_receiver):
    http_receiver.replies = [(200, b'{"status": "ok"}', 1.5)]
    key = enqueue(queue, channel="sms", recipient=NUMBER)
    run(queue, catalogs, json_config(http_receiver, timeout=0.5))
    message = queue.get(key)
    assert message.status == QUEUED and "too slow" in message.last_error


def test_garbage_answer_is_failure_logged_without_text_code_or_number(
    queue, catalogs, http_receiver, caplog
):
    text = render_sms(catalogs, "ready", "de", ORDER_VALUES)
    garbage = f"<html>oops {text} {NUMBER} K7M2-9QXD-45</html>".encode()
    http_receiver.replies = [(200, garbage, 0.0)]
    key = enqueue(queue, channel="sms", recipient=NUMBER)
    with caplog.at_level(logging.INFO):
        run(queue, catalogs, json_config(http_receiver))
    message = queue.get(key)
    assert message.status == QUEUED and "not recognised" in message.last_error
    assert "<html>oops" in caplog.text  # the answer is logged ...
    for secret in (text, NUMBER, "K7M2-9QXD-45", "9QXD"):  # ... but not what we sent
        assert secret not in caplog.text and secret not in message.last_error


def test_text_longer_than_two_segments_is_refused(queue, catalogs, http_receiver):
    key = enqueue(queue, channel="sms", recipient=NUMBER, kind="returned",
                  values={"office_name": "Bürgerbüro " * 40})
    run(queue, catalogs, json_config(http_receiver))
    message = queue.get(key)
    assert message.status == FAILED and "SMS segments" in message.last_error
    assert not http_receiver.requests
