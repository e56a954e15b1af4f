"""ReissuePickupCode through a real registry on loopback and a real aiosmtpd:
a deposited order's citizen gets the "code reissued" e-mail once per reissue,
with the NEW code's QR inline and no trace of the old code or any PIN."""

from __future__ import annotations

import json
import uuid

import cv2
import numpy as np
import pytest

from hardware.camera.decoding import decode, installed_decoders, make_decoder
from pickupbox.registry.v1 import registry_pb2 as pb
from registry.messages.config import MessagesConfig
from registry.messages.sms import SmsConfig
from tests.messages.test_registry_messages import (  # noqa: F401
    _create, report, running, start_registry,
)

pytestmark = pytest.mark.integration


def _reissue(office, reference, request_id):
    return office.ReissuePickupCode(pb.ReissuePickupCodeRequest(
        reference=reference, request_id=request_id, reason="code lost"), timeout=5)


def _qr_payloads(mail) -> set[bytes]:
    """Every payload the project's decoders read from the mail's inline images."""
    found: set[bytes] = set()
    for part in mail.walk():
        if part.get_content_type() != "image/png":
            continue
        picture = cv2.imdecode(np.frombuffer(part.get_content(), np.uint8),
                               cv2.IMREAD_GRAYSCALE)
        for name in installed_decoders():
            hit = decode(picture, make_decoder(name))
            assert hit is not None, name
            found.update(hit.payloads)
    return found


def _readable(mail) -> str:
    """Headers and decoded text and HTML: what the citizen can read."""
    parts = [mail.as_string()]
    parts += [p.get_content() for p in mail.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def _assert_carries_only(mail, new, old_codes, pins):
    text = mail.get_body(("plain",)).get_content()
    assert new.pickup_code in text and new.pickup_code in mail.get_body(("html",)).get_content()
    assert _qr_payloads(mail) == {new.qr_payload.encode()}
    readable = _readable(mail)
    for old in old_codes:
        assert old.pickup_code not in readable and old.qr_payload not in readable
        assert old.qr_payload.split(":", 1)[1] not in readable
    # The PIN is never in a message. Only what the citizen reads is searched:
    # six digits may turn up by chance in a Message-ID or a Date header.
    texts = [mail["Subject"]] + [p.get_content() for p in mail.walk()
                                 if p.get_content_maintype() == "text"]
    for pin in pins:
        assert not any(pin in text for text in texts)


def test_reissue_of_a_deposited_order_mails_the_new_code_once(running, smtp_server):  # noqa: F811
    _, office, kiosk, messages, _ = running
    created = _create(office, "anna@example.org;lang=tr")
    reference = created.order.reference
    report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2)
    smtp_server.handler.wait_for(1)

    first_id = str(uuid.uuid4())
    first = _reissue(office, reference, first_id)
    assert first.pickup_code != created.pickup_code
    reissued = smtp_server.handler.wait_for(2)[1].parsed()
    assert reference in reissued["Subject"]
    _assert_carries_only(reissued, first, [created], [created.pin, first.pin])

    # A retried request is answered from the replay store and sends nothing.
    again = _reissue(office, reference, first_id)
    assert again.pickup_code == first.pickup_code
    assert messages.worker.wait_until_idle(10)
    # The next kiosk report flushes pending notices: the ready notice with the
    # new code must not go out a second time either.
    report(kiosk, pb.EVENT_TYPE_STAFF_LOGIN, "")
    assert messages.worker.wait_until_idle(10)

    # A second reissue is a new message with a third code.
    second = _reissue(office, reference, str(uuid.uuid4()))
    received = smtp_server.handler.wait_for(3)
    _assert_carries_only(received[2].parsed(), second, [created, first],
                         [created.pin, first.pin, second.pin])
    assert messages.worker.wait_until_idle(10)
    assert len(smtp_server.handler.received) == 3

    reissues = [m for m in messages.queue.for_order(reference) if m.kind == "code_reissued"]
    assert [(m.channel, m.status) for m in reissues] == [("email", "sent")] * 2
    assert all(m.values == {} for m in reissues)  # the new codes are wiped once sent


def test_reissue_before_the_deposit_goes_with_the_ready_notice(running, smtp_server):  # noqa: F811
    _, office, kiosk, messages, _ = running
    created = _create(office, "jan@example.org")
    reference = created.order.reference
    new = _reissue(office, reference, str(uuid.uuid4()))
    assert messages.worker.wait_until_idle(10)
    assert smtp_server.handler.received == []  # nothing yet: no code was ever told

    report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=1)
    (ready,) = smtp_server.handler.wait_for(1)
    _assert_carries_only(ready.parsed(), new, [created], [created.pin, new.pin])
    kinds = {m.kind for m in messages.queue.for_order(reference)}
    assert "code_reissued" not in kinds and "ready" in kinds


def test_reissue_sms_has_the_new_code_and_no_pin(tmp_path, http_receiver):
    config = MessagesConfig(
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        sms=SmsConfig(url=http_receiver.url + "/sms", body='{"to": "{to}", "text": "{text}"}',
                      success_pattern='"status"', timeout=5),
    )
    _, office, kiosk, messages, close = start_registry(tmp_path, config)
    try:
        created = _create(office, "+49 151 23456789")
        reference = created.order.reference
        report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=1)
        http_receiver.wait_for(1)
        new = _reissue(office, reference, str(uuid.uuid4()))
        text = json.loads(http_receiver.wait_for(2)[1].body)["text"]
        assert new.pickup_code in text and created.pickup_code not in text
        assert new.pin not in text and created.pin not in text
        assert messages.worker.wait_until_idle(10)
        (sms,) = [m for m in messages.queue.for_order(reference) if m.kind == "code_reissued"]
        assert sms.status == "sent" and sms.values == {}
    finally:
        close()
