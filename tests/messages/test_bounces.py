"""Bounces after "sent": an RFC 3464 DSN delivered into the bounce Maildir,
and an SMS gateway's signed delivery report POSTed to the registry's web
port, mark the message bounced with its reason and alarm the clerk."""

from __future__ import annotations

import mailbox
from email.mime.text import MIMEText

import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from registry.database import RegistryDatabase
from registry.messages.bounces import ReportConfig, ReportError, check_report, parse_dsn
from registry.messages.bounces import parse_report, sign_report
from registry.messages.notifier import MessagesNotifier
from registry.messages.queue import BOUNCED, SENT
from registry.notifier import ReadyNotice
from registry.web import WebServer, build_app

pytestmark = pytest.mark.integration
REPORT_SECRET = "gateway-report-secret-0123"


def dsn(message_id: str, action: str = "failed",
        diagnostic: str = "smtp; 550 5.1.1 <anna@example.org>: Recipient address rejected"
        ) -> bytes:
    """A DSN as Postfix writes it: text, delivery-status, the original headers."""
    return f"""From: MAILER-DAEMON@mail.musterstadt.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@musterstadt.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B0UND"

--B0UND
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UND
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.musterstadt.example
Arrival-Date: Wed,  2 Dec 2026 17:00:00 +0100 (CET)

Final-Recipient: rfc822; anna@example.org
Action: {action}
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: {diagnostic}

--B0UND
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: box@musterstadt.example
To: anna@example.org
Message-ID: {message_id}
Subject: Ihr Dokument

--B0UND--
""".replace("\n", "\r\n").encode()


@dataclass
class Answer:
    status_code: int
    text: str


def post(url: str, content: bytes, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, data=content, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return Answer(answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


def test_parse_dsn_finds_the_failed_message():
    bounce = parse_dsn(dsn("<abc@musterstadt.example>"))
    assert bounce.message_id == "<abc@musterstadt.example>"
    assert bounce.reason == "5.1.1 550 5.1.1 <anna@example.org>: Recipient address rejected"
    assert parse_dsn(dsn("<abc@x>", action="delayed")) is None  # still trying: no bounce
    assert parse_dsn(dsn("<abc@x>", action="delivered")) is None
    assert parse_dsn(MIMEText("Out of office").as_bytes()) is None
    assert parse_dsn(b"garbage\r\n\r\n") is None


def test_report_signature_and_fields_are_checked():
    config = ReportConfig(REPORT_SECRET)
    body = b'{"id": "gw-1", "status": "FAILED", "error": "absent subscriber"}'
    check_report(config, sign_report(REPORT_SECRET, body), body)
    check_report(config, "sha256=" + sign_report(REPORT_SECRET, body), body)
    for wrong in ("", sign_report("another-secret-0123456", body), "zz"):
        with pytest.raises(ReportError, match="X-Signature") as refused:
            check_report(config, wrong, body)
        assert refused.value.status == 401
    token = ReportConfig(REPORT_SECRET, auth="token", header="Authorization")
    check_report(token, f"Bearer {REPORT_SECRET}", body)
    with pytest.raises(ReportError):
        check_report(token, "Bearer nope", body)
    assert parse_report(config, body, "application/json") == (
        "gw-1", "FAILED", True, "gateway reports FAILED: absent subscriber")
    assert parse_report(config, b"id=gw-2&status=delivered", "application/x-www-form-urlencoded"
                        )[2] is False
    with pytest.raises(ReportError, match="needs 'id' and 'status'") as bad:
        parse_report(config, b'{"msgid": "x"}', "application/json")
    assert bad.value.status == 400


@pytest.fixture
def notifier(tmp_path, smtp_server, http_receiver, monkeypatch):
    monkeypatch.setenv("REPORT_SECRET", REPORT_SECRET)
    (tmp_path / "bounces").mkdir()
    config = tmp_path / "messages.toml"
    config.write_text(f"""
[queue]
retry_base_seconds = 0.1
[email]
host = "127.0.0.1"
port = {smtp_server.port}
security = "none"
sender = "buergerbuero@musterstadt.example"
return_path = "bounces@musterstadt.example"
[sms]
url = "{http_receiver.url}/sms"
body = '{{"to": "{{to}}", "text": "{{text}}"}}'
id_pattern = '"id"\\s*:\\s*"([^"]+)"'
[sms.delivery_reports]
secret_env = "REPORT_SECRET"
[bounces]
maildir = "bounces/Maildir"
interval_seconds = 3600
""", encoding="utf-8")
    mailbox.Maildir(tmp_path / "bounces" / "Maildir", create=True)
    n = MessagesNotifier(config, database=tmp_path / "registry.sqlite3")
    n.start()
    yield n
    n.close()


def _ready(notifier, reference, contact):
    notifier.order_ready(ReadyNotice(
        reference=reference, pickup_code="K7M2-9QXD-45", qr_payload="PBX1:K7M29QXD45",
        pickup_deadline=None, office_contact="", contact=contact, document_kind="id_card",
        kiosk_id="kiosk-1", compartment_number=1))
    assert notifier.worker.wait_until_idle(10)
    (message,) = notifier.queue.for_order(reference)
    assert message.status == SENT
    return message


def test_dsn_in_the_maildir_bounces_the_sent_mail(notifier, smtp_server, tmp_path):
    message = _ready(notifier, "PO-MAIL", "anna@example.org")
    (received,) = smtp_server.handler.wait_for(1)
    assert received.sender == "bounces@musterstadt.example"  # MAIL FROM: the bounce box
    message_id = received.parsed()["Message-ID"]
    box = mailbox.Maildir(tmp_path / "bounces" / "Maildir", create=False)
    box.add(MIMEText("Ein Brief an das Amt").as_bytes())  # not a DSN: left, marked seen
    box.add(dsn(message_id))
    (watcher,) = notifier.bounce_watchers
    assert watcher.run_once() == 1

    bounced = notifier.queue.get(message.key)
    assert bounced.status == BOUNCED and "Recipient address rejected" in bounced.last_error
    (alarm,) = notifier.queue.alarms(open_only=True)
    assert alarm.kind == "citizen_unreachable" and alarm.order_reference == "PO-MAIL"
    assert "print the letter" in alarm.text
    assert [m.get_subdir() for m in box] == ["cur"]  # the DSN is gone, the letter kept
    # The same DSN again (a second copy): nothing changes, no second alarm.
    box.add(dsn(message_id))
    assert watcher.run_once() == 1
    assert len(notifier.queue.alarms()) == 1
    assert notifier.queue.attempts(message.key)[-1]["outcome"] == BOUNCED


def test_signed_sms_delivery_report_bounces_the_sms(notifier, tmp_path):
    message = _ready(notifier, "PO-SMS", "+49 151 23456789")
    assert message.provider_id == "gw-1"  # from the gateway's answer
    db = RegistryDatabase(tmp_path / "registry.sqlite3")
    notifier.attach_registry(db)  # as create_server does
    web = WebServer(build_app(notifier.web_routes()), "127.0.0.1:0")
    web.start()
    try:
        url = f"{web.url}/messages/sms-reports"
        failed = b'{"id": "gw-1", "status": "undeliverable", "error": "absent subscriber"}'
        # Unsigned or wrongly signed: refused, nothing changes.
        for signature in ("", sign_report("not-the-shared-secret-0", failed)):
            answer = post(url, content=failed, headers={
                "X-Signature": signature, "Content-Type": "application/json"})
            assert answer.status_code == 401 and "shared secret" in answer.text
        assert notifier.queue.get(message.key).status == SENT
        with db.transaction() as tx:
            refused = [e for e in tx.audit_entries() if e.action == "sms_report.refused"]
        assert len(refused) == 2 and all(e.outcome == "denied" for e in refused)
        delivered = b'{"id": "gw-1", "status": "delivered"}'
        answer = post(url, content=delivered, headers={
            "X-Signature": sign_report(REPORT_SECRET, delivered),
            "Content-Type": "application/json"})
        assert answer.status_code == 204
        assert notifier.queue.get(message.key).status == SENT
        answer = post(url, content=failed, headers={
            "X-Signature": sign_report(REPORT_SECRET, failed),
            "Content-Type": "application/json"})
        assert answer.status_code == 204
        bounced = notifier.queue.get(message.key)
        assert bounced.status == BOUNCED
        assert bounced.last_error == "gateway reports undeliverable: absent subscriber"
        (alarm,) = notifier.queue.alarms(open_only=True)
        assert alarm.order_reference == "PO-SMS" and "print the letter" in alarm.text
        assert post(f"{url}/nordstadt", content=failed).status_code == 404
        assert post(url, content=b"x" * 70_000).status_code == 413
    finally:
        web.stop()
