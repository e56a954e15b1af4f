"""E-mail against a real aiosmtpd server on loopback: content, inline QR
decoded by the kiosk's own decoder, TLS, AUTH and refusals."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import segno

from hardware.camera.decoding import decode, installed_decoders, make_decoder
from registry.messages.mail import (
    IMPLICIT_TLS, PLAIN, STARTTLS, SmtpChannel, SmtpConfig, qr_png,
)
from registry.messages.queue import BOUNCED, FAILED, QUEUED, SENT
from registry.messages.worker import DeliveryWorker
from tests.messages.conftest import SMTP_PASSWORD, SMTP_USER, start_smtp
from tests.messages.helpers import enqueue

pytestmark = pytest.mark.integration
SENDER = "buergerbuero@musterstadt.example"


def worker_for(queue, catalogs, port, **config):
    config.setdefault("security", PLAIN)
    channel = SmtpChannel(
        SmtpConfig(host="127.0.0.1", port=port, sender=SENDER, timeout=5, **config), catalogs
    )
    return DeliveryWorker(queue, {"email": channel}, retry_base_seconds=0, retry_max_seconds=0)


def test_ready_email_in_turkish_with_german_and_inline_qr(queue, catalogs, smtp_server):
    key = enqueue(queue, channel="email", recipient="ayse@example.org", language="tr")
    worker = worker_for(queue, catalogs, smtp_server.port)
    assert worker.run_once() == 1
    assert queue.get(key).status == SENT, queue.get(key).last_error
    (received,) = smtp_server.handler.wait_for(1)
    assert received.sender == SENDER and received.recipients == ["ayse@example.org"]

    mail = received.parsed()
    assert mail["To"] == "ayse@example.org" and mail["From"] == SENDER
    assert mail["Message-ID"].endswith("@musterstadt.example>") and mail["Date"]
    assert "Belgeniz teslim almaya hazır" in mail["Subject"]
    assert "Ihr Dokument liegt zur Abholung bereit" in mail["Subject"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html_part = mail.get_body(("html",))
    html = html_part.get_content()
    for body in (text, html):
        assert "K7M2-9QXD-45" in body
        assert "Teslim alma kodu" in body and "Abholcode" in body  # Turkish and German
        assert "http" not in body.replace("<!DOCTYPE html>", "")  # no links, no tracking
    # The QR is inline (cid) in a multipart/related with the HTML, nowhere else.
    (image,) = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content_disposition() == "inline"
    picture = cv2.imdecode(np.frombuffer(image.get_content(), np.uint8), cv2.IMREAD_GRAYSCALE)
    for name in installed_decoders():
        hit = decode(picture, make_decoder(name))
        assert hit is not None and hit.payloads == (b"PBX1:K7M29QXD45",), name

    message = queue.get(key)
    assert message.status == SENT and message.provider_id == mail["Message-ID"]
    assert message.values == {}  # the code is wiped once sent


def test_receipt_has_no_code(queue, catalogs, smtp_server):
    enqueue(queue, channel="email", recipient="anna@example.org", kind="collected",
            values={"code": "", "qr_payload": "", "time": "02.12.2026 14:05"})
    worker_for(queue, catalogs, smtp_server.port).run_once()
    mail = smtp_server.handler.wait_for(1)[0].parsed()
    text = mail.get_body(("plain",)).get_content()
    assert "Vorgang: PO-TEST0001" in text and "Abgeholt: 02.12.2026 14:05" in text
    assert "Fach 3" in text and "K7M2" not in text
    assert not [p for p in mail.walk() if p.get_content_maintype() == "image"]


# aiosmtpd warns about AUTH without required TLS on the implicit-TLS server (see conftest).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", [STARTTLS, IMPLICIT_TLS])
def test_tls_and_authentication(queue, catalogs, certificate, mode):
    server = start_smtp(mode="tls" if mode == IMPLICIT_TLS else "starttls",
                        certificate=certificate, auth=True)
    try:
        enqueue(queue, channel="email", recipient="anna@example.org")
        worker = worker_for(queue, catalogs, server.port, security=mode,
                            username=SMTP_USER, password=SMTP_PASSWORD,
                            ca_file=str(certificate[0]))
        worker.run_once()
        assert len(server.handler.wait_for(1)) == 1
        assert server.handler.logins  # AUTH happened, over TLS (aiosmtpd requires it)
    finally:
        server.controller.stop()


def test_wrong_password_is_retried_not_sent(queue, catalogs, certificate):
    server = start_smtp(mode="starttls", certificate=certificate, auth=True)
    try:
        key = enqueue(queue, channel="email", recipient="anna@example.org")
        worker_for(queue, catalogs, server.port, security=STARTTLS, username=SMTP_USER,
                   password="wrong", ca_file=str(certificate[0])).run_once()
        message = queue.get(key)
        assert message.status == QUEUED and "login refused: 535" in message.last_error
        assert SMTP_PASSWORD not in message.last_error and not server.handler.received
    finally:
        server.controller.stop()


def test_untrusted_certificate_is_refused(queue, catalogs, certificate):
    server = start_smtp(mode="starttls", certificate=certificate)
    try:
        key = enqueue(queue, channel="email", recipient="anna@example.org")
        worker_for(queue, catalogs, server.port, security=STARTTLS).run_once()  # system CAs
        assert "CERTIFICATE_VERIFY_FAILED" in queue.get(key).last_error
        assert not server.handler.received
    finally:
        server.controller.stop()


def test_4xx_is_retried_with_backoff_then_sent(queue, catalogs, smtp_server):
    smtp_server.handler.data_reply = ["451 4.3.0 try again later"]
    key = enqueue(queue, channel="email", recipient="anna@example.org")
    worker = worker_for(queue, catalogs, smtp_server.port)
    worker.run_once()
    message = queue.get(key)
    assert message.status == QUEUED and "451" in message.last_error
    worker.run_once()
    assert queue.get(key).status == SENT
    assert len(smtp_server.handler.received) == 1
    assert [a["outcome"] for a in queue.attempts(key)] == [QUEUED, SENT]


def test_5xx_on_data_fails_and_raises_alarm(queue, catalogs, smtp_server):
    smtp_server.handler.data_reply = ["554 5.7.1 rejected as spam"]
    key = enqueue(queue, channel="email", recipient="anna@example.org")
    worker_for(queue, catalogs, smtp_server.port).run_once()
    message = queue.get(key)
    assert message.status == FAILED and "554" in message.last_error
    (alarm,) = queue.alarms(open_only=True)
    assert alarm.kind == "citizen_unreachable" and alarm.order_reference == "PO-TEST0001"
    assert "print the letter" in alarm.text


def test_unknown_recipient_bounces(queue, catalogs, smtp_server):
    smtp_server.handler.rcpt_reply = "550 5.1.1 no such user"
    key = enqueue(queue, channel="email", recipient="nobody@example.org")
    worker_for(queue, catalogs, smtp_server.port).run_once()
    assert queue.get(key).status == BOUNCED
    assert "550" in queue.get(key).last_error and queue.alarms()


def test_dropped_connection_is_retried(queue, catalogs, smtp_server):
    smtp_server.handler.drop = 1
    key = enqueue(queue, channel="email", recipient="anna@example.org")
    worker = worker_for(queue, catalogs, smtp_server.port)
    worker.run_once()
    assert queue.get(key).status == QUEUED
    worker.run_once()
    assert queue.get(key).status == SENT and len(smtp_server.handler.received) == 1


def test_server_down_then_up(queue, catalogs):
    from tests.messages.conftest import free_port
    port = free_port()
    key = enqueue(queue, channel="email", recipient="anna@example.org")
    worker = worker_for(queue, catalogs, port, max_attempts=3)
    worker.run_once()
    assert queue.get(key).status == QUEUED and "refused" in queue.get(key).last_error.lower()
    worker.run_once()
    worker.run_once()
    assert queue.get(key).status == FAILED
    assert "gave up after 3 attempts" in queue.get(key).last_error


def test_parallel_senders_send_each_once_and_in_order_per_order(queue, catalogs, smtp_server):
    # Ten orders with three messages each; four sender threads share a pool of
    # connections. Each arrives once, and an order's messages in their order.
    for order in range(10):
        for kind in ("ready", "code_reissued", "cancelled"):
            enqueue(queue, channel="email", recipient=f"c{order}@example.org", kind=kind,
                    reference=f"PO-PAR{order:04d}")
    channel = SmtpChannel(SmtpConfig(host="127.0.0.1", port=smtp_server.port, sender=SENDER,
                                     security=PLAIN, timeout=5), catalogs)
    worker = DeliveryWorker(queue, {"email": channel}, batch_size=20, senders=4)
    while worker.run_once():
        pass
    worker.stop()
    received = smtp_server.handler.wait_for(30)
    assert len(received) == 30 and queue.counts() == {"sent": 30}
    ids_by_order: dict[str, list[str]] = {}
    for mail in received:
        ids_by_order.setdefault(mail.recipients[0], []).append(
            mail.parsed()["Message-ID"])
    expected = {
        f"c{order}@example.org": [
            queue.get(f"PO-PAR{order:04d}:{kind}:email:0").provider_id
            for kind in ("ready", "code_reissued", "cancelled")]
        for order in range(10)}
    assert ids_by_order == expected


def test_own_qr_png_has_the_pixels_of_segnos_png():
    payload = "PBX1:K7M29QXD45"
    reference = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(reference, kind="png", scale=8, border=4)
    ours = cv2.imdecode(np.frombuffer(qr_png(payload), np.uint8), cv2.IMREAD_GRAYSCALE)
    theirs = cv2.imdecode(np.frombuffer(reference.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert ours.shape == theirs.shape == (232, 232) and (ours == theirs).all()
