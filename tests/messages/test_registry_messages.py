"""The whole path through a real registry server on loopback: a deposit
becomes an e-mail at aiosmtpd and a signed webhook, a collection a receipt,
a bad contact is refused, `kiosk-registry order get` shows the status."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import grpc
import pytest

from common.convert import to_timestamp
from registry.cli import main as cli_main
from registry.messages.config import MessagesConfig, Office
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from registry.messages.webhooks import WebhookConfig
from registry.notifier import DirectoryNotifier, FanOutNotifier, load_notifier
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from common.auth import ADMIN_CREDENTIAL_FILE, authenticated_channel, bearer
from registry.database import DEFAULT_OFFICE
from tests.auth_support import KioskCaller, admin_token, enrol
from tests.messages.test_webhooks import receiver_accepts
from tests.registry.conftest import TEST_KDF, compartments

pytestmark = pytest.mark.integration
SECRET = "register-secret-0123456789"
BERLIN = ZoneInfo("Europe/Berlin")  # the offices' default zone (MessagesConfig)


def start_registry(tmp_path, config, kiosks=(("kiosk-1", DEFAULT_OFFICE),)):
    """A registry on loopback with the directory and messages notifiers and
    registered kiosks (id, office); ``config`` a MessagesConfig or a file.
    Returns (server, office stub, kiosk stub, messages, close)."""
    messages = MessagesNotifier(config)
    notifier = FanOutNotifier([DirectoryNotifier(tmp_path / "notifications"), messages])
    server = create_server("127.0.0.1:0", tmp_path / "registry.sqlite3", notifier=notifier,
                           kdf_params=TEST_KDF, stream_poll_seconds=0.2)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    admin = authenticated_channel(channel, bearer(admin_token(tmp_path / "registry.sqlite3")))
    office = registry_pb2_grpc.OfficeServiceStub(admin)
    kiosk = KioskCaller(channel, server.db)
    for kiosk_id, office_id in kiosks:
        kiosk.tokens[kiosk_id] = enrol(server.db, kiosk_id, office_id)
        kiosk.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=kiosk_id, software_version="test",
            compartments=compartments(*(pb.COMPARTMENT_STATE_FREE,) * 4)), timeout=5)

    def close():
        channel.close()
        server.stop(grace=1)

    return server, office, kiosk, messages, close


@pytest.fixture
def running(tmp_path, smtp_server, http_receiver):
    config = MessagesConfig(
        office=Office(name="Bürgerbüro Musterstadt", address="Rathausplatz 1",
                      hours="Mo–Fr 8–18", phone="0123 456789"),
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        email=SmtpConfig(host="127.0.0.1", port=smtp_server.port,
                         sender="buergerbuero@musterstadt.example", security=PLAIN, timeout=5),
        webhooks=(WebhookConfig("register", http_receiver.url + "/events",
                                frozenset({"deposited", "collected", "cancelled"}), SECRET),),
    )
    server, office, kiosk, messages, close = start_registry(tmp_path, config)
    yield server, office, kiosk, messages, tmp_path
    close()


def report(kiosk, type_, reference, **fields):
    event = pb.KioskEvent(type=type_, order_reference=reference, event_id=str(uuid.uuid4()),
                          occur_time=to_timestamp(datetime.now(timezone.utc)), **fields)
    kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)
    return event


def _create(office, contact, kind=pb.DOCUMENT_KIND_ID_CARD):
    return office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=kind, contact=contact, request_id=str(uuid.uuid4())), timeout=5)


def test_deposit_and_collection_reach_citizen_and_register(running, smtp_server, http_receiver,
                                                          capsys):
    server, office, kiosk, messages, tmp_path = running
    created = _create(office, "leyla@example.org;lang=ar")
    reference = created.order.reference
    # At 18:00 in the office's zone, so that the last-day notice (08:00 on the
    # deadline's day) is always scheduled, whatever the time of day the test runs.
    deadline = (datetime.now(BERLIN) + timedelta(days=10)).replace(
        hour=18, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2,
            pickup_deadline=to_timestamp(deadline))

    (ready,) = smtp_server.handler.wait_for(1)
    mail = ready.parsed()
    text = mail.get_body(("plain",)).get_content()
    assert created.pickup_code in text and "رمز الاستلام" in text and "Abholcode" in text
    assert created.pin not in mail.as_string()  # the PIN is never in a message
    image = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(image) == 1

    report(kiosk, pb.EVENT_TYPE_ORDER_COLLECTED, reference, compartment_number=2,
            pin_letter_confirmed=True)
    receipt = smtp_server.handler.wait_for(2)[1].parsed()
    receipt_text = receipt.get_body(("plain",)).get_content()
    assert reference in receipt_text and "Fach 2" in receipt_text
    assert created.pickup_code not in receipt.as_string()

    events = http_receiver.wait_for(2)
    assert all(receiver_accepts(r, secret=SECRET) for r in events)
    bodies = [json.loads(r.body) for r in events]
    assert [b["type"] for b in bodies] == ["order.deposited", "order.collected"]
    assert bodies[1]["order"]["pin_letter_confirmed"] is True
    assert created.pickup_code not in str(bodies)

    assert messages.worker.wait_until_idle(10)
    statuses = {(m.kind, m.channel): m.status for m in messages.queue.for_order(reference)}
    assert statuses == {
        ("ready", "email"): "sent", ("reminder", "email"): "cancelled",
        ("last_day", "email"): "cancelled", ("collected", "email"): "sent",
        ("deposited", "webhook:register"): "sent", ("collected", "webhook:register"): "sent",
    }
    # The CLI shows it (and never the code).
    # Through the API (what the web console shows), and the CLI (never the code).
    listed = office.ListOrderMessages(pb.ListOrderMessagesRequest(reference=reference),
                                      timeout=5)
    assert listed.messages_enabled
    assert {(m.kind, m.channel): m.status for m in listed.messages} == {
        k: getattr(pb, f"MESSAGE_STATUS_{v.upper()}") for k, v in statuses.items()}
    ready_message = listed.messages[0]
    assert ready_message.final_time.seconds and ready_message.attempts == 1
    assert created.pickup_code not in str(listed) and "leyla" not in str(listed)
    command = ["order", "get", reference, "--registry", f"127.0.0.1:{server.port}",
               "--credential", str(tmp_path / ADMIN_CREDENTIAL_FILE)]
    assert cli_main(command) == 0
    out = capsys.readouterr().out
    assert "ready via email: sent" in out and "collected via webhook:register: sent" in out
    assert "reminder via email: cancelled" in out
    assert created.pickup_code not in out
    assert cli_main([*command, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["messages"]
    assert shown[0]["status"] == "sent" and shown[0]["summary"] == "ready via email: sent"


def test_cancellation_after_deposit_is_told(running, smtp_server):
    server, office, kiosk, messages, _ = running
    reference = _create(office, "+49 151 23456789").order.reference  # no SMS channel here
    reference_mail = _create(office, "jan@example.org;lang=pl").order.reference
    for ref in (reference, reference_mail):
        report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, ref, compartment_number=1)
    office.CancelPickupOrder(pb.CancelPickupOrderRequest(
        reference=reference_mail, request_id=str(uuid.uuid4())), timeout=5)
    received = smtp_server.handler.wait_for(2)
    subjects = [r.parsed()["Subject"] for r in received]
    assert any("Odbiór anulowany" in s for s in subjects)
    alarms = messages.queue.alarms(open_only=True)
    assert [a.order_reference for a in alarms] == [reference]  # SMS not configured


@pytest.mark.parametrize("contact, reason", [
    ("anna(at)example.org", "not a phone number"),
    ("anna@example", "not a valid host name"),
    ("030 1234567", "not a German mobile number"),
    ("anna@example.org;lang=xx", "lang=XX"),
])
def test_bad_contact_refused_when_the_order_is_created(running, contact, reason):
    _, office, *_ = running
    with pytest.raises(grpc.RpcError) as caught:
        _create(office, contact)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "contact" in caught.value.details() and reason in caught.value.details()


def test_load_notifier_builds_several_channels(tmp_path, monkeypatch):
    config = tmp_path / "messages.toml"
    config.write_text('[office]\nname = "Amt"\n', encoding="utf-8")
    monkeypatch.setenv("PICKUPBOX_MESSAGES_CONFIG", str(config))
    notifier = load_notifier("directory,messages", directory=tmp_path / "notifications")
    assert isinstance(notifier, FanOutNotifier)
    directory, messages = notifier.notifiers
    assert isinstance(messages, MessagesNotifier)
    # An older release's queue file beside the notices is imported once the server attaches.
    assert messages.legacy_queue == tmp_path / "messages.sqlite3"
    assert messages.queue is None
    assert messages.config.office.name == "Amt"
    notifier.close()
