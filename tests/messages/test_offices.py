"""Several offices (tenants) on one registry: each citizen hears from their
own office (sender, SMTP relay, name, address, hours, phone), each office's
staff get their own kiosks' alarms and each integration only its office's
events. Configuration: ``[offices.<id>]`` inherits what it does not name."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from common.convert import to_timestamp
from registry.messages.config import ConfigError, inherit, load
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.messages.conftest import start_smtp
from tests.messages.test_registry_messages import start_registry
from tests.messages.test_webhooks import receiver_accepts

SECRET = "nordstadt-register-secret-0123"


def test_an_office_inherits_what_it_does_not_name():
    defaults = {
        "office": {"name": "Amt", "phone": "0123", "hours": "Mo–Fr"},
        "email": {"host": "relay.example", "sender": "amt@example.org", "password_env": "PW"},
        "webhooks": [{"name": "register", "url": "https://r.example"}],
        "queue": {"batch_size": 5},
    }
    merged = inherit(defaults, {
        "office": {"name": "Nordstadt"},
        "email": {"sender": "nord@example.org", "password_file": "nord.pw"},
        "webhooks": [],
    }, "offices.nord")
    assert merged["office"] == {"name": "Nordstadt", "phone": "0123", "hours": "Mo–Fr"}
    # Same relay, own sender; its own secret file replaces the default's variable.
    assert merged["email"] == {"host": "relay.example", "sender": "nord@example.org",
                               "password_file": "nord.pw"}
    assert merged["webhooks"] == []  # an office's own list replaces the default one
    assert "queue" not in merged  # one queue for all offices
    with pytest.raises(ConfigError, match=r"\[offices.nord\] unknown \['queue'\]"):
        inherit(defaults, {"queue": {}}, "offices.nord")


def test_office_errors_name_the_office_section(tmp_path):
    path = tmp_path / "messages.toml"
    path.write_text('[email]\nhost = "m.example"\nsender = "a@b.de"\n'
                    '[offices.nord.email]\nsecurity = "ssl"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[offices.nord.email\] security must be one of"):
        load(path)
    path.write_text('[offices.nord.office]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[offices.nord.office\] timezone"):
        load(path)


@pytest.fixture
def two_offices(tmp_path, monkeypatch, http_receiver):
    """A registry with offices nordstadt (kiosk nord-1) and suedstadt
    (kiosk sued-1), each with its own relay, sender and office details."""
    relay, sued_relay = start_smtp(), start_smtp()
    monkeypatch.setenv("NORD_HOOK_SECRET", SECRET)
    config = tmp_path / "messages.toml"
    config.write_text(f"""
[office]
name = "Bürgerbüro"
phone = "0000 000000"
hours = "Mo–Fr 8–12 Uhr"
[queue]
retry_base_seconds = 0.1
retry_max_seconds = 0.5
[email]
host = "127.0.0.1"
port = {relay.port}
security = "none"
sender = "box@kreis.example"
[alarms]
recipients = ["leitstelle@kreis.example"]
reminder_minutes = 0

[offices.nordstadt.office]
name = "Bürgerbüro Nordstadt"
address = "Nordplatz 1, 11111 Nordstadt"
phone = "01111 11111"
[offices.nordstadt.email]
sender = "buergerbuero@nordstadt.example"
[offices.nordstadt.alarms]
recipients = ["hausmeister@nordstadt.example"]
[[offices.nordstadt.webhooks]]
name = "register"
url = "{http_receiver.url}/nordstadt"
events = ["deposited", "alarm"]
secret_env = "NORD_HOOK_SECRET"

[offices.suedstadt.office]
name = "Bürgeramt Südstadt"
address = "Marktstraße 5, 22222 Südstadt"
hours = "Di+Do 14–18 Uhr"
phone = "02222 22222"
[offices.suedstadt.email]
port = {sued_relay.port}
sender = "amt@suedstadt.example"
""", encoding="utf-8")
    server, office, kiosk, messages, close = start_registry(
        tmp_path, config, (("nord-1", "nordstadt"), ("sued-1", "suedstadt")))
    yield office, kiosk, messages, relay, sued_relay
    close()
    relay.controller.stop()
    sued_relay.controller.stop()


def _report(kiosk, kiosk_id, type_, reference="", **fields):
    event = pb.KioskEvent(type=type_, order_reference=reference, event_id=str(uuid.uuid4()),
                          occur_time=to_timestamp(datetime.now(timezone.utc)), **fields)
    kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id=kiosk_id, events=[event]), timeout=5)


def _deposit(office, kiosk, kiosk_id, contact):
    created = office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=pb.DOCUMENT_KIND_PASSPORT, contact=contact, kiosk_id=kiosk_id,
        request_id=str(uuid.uuid4())), timeout=5)
    _report(kiosk, kiosk_id, pb.EVENT_TYPE_ORDER_DEPOSITED, created.order.reference,
            compartment_number=1,
            pickup_deadline=to_timestamp(datetime.now(timezone.utc) + timedelta(days=10)))
    return created


def test_two_offices_on_one_registry_send_differently(two_offices, http_receiver):
    office, kiosk, messages, relay, sued_relay = two_offices
    nord = _deposit(office, kiosk, "nord-1", "anna@example.org")
    sued = _deposit(office, kiosk, "sued-1", "ben@example.org")

    (nord_mail,) = relay.handler.wait_for(1)
    (sued_mail,) = sued_relay.handler.wait_for(1)
    assert nord_mail.recipients == ["anna@example.org"]
    assert sued_mail.recipients == ["ben@example.org"]  # through Südstadt's own relay
    assert nord_mail.sender == "buergerbuero@nordstadt.example"
    assert sued_mail.sender == "amt@suedstadt.example"
    nord_text = nord_mail.parsed().get_body(("plain",)).get_content()
    sued_text = sued_mail.parsed().get_body(("plain",)).get_content()
    assert "Bürgerbüro Nordstadt" in nord_text and "01111 11111" in nord_text
    assert "Mo–Fr 8–12 Uhr" in nord_text  # not set for Nordstadt: the default's hours
    assert "Südstadt" not in nord_text and "Nordstadt" not in sued_text
    assert "Bürgeramt Südstadt" in sued_text and "Di+Do 14–18 Uhr" in sued_text
    assert "02222 22222" in sued_text and nord.pickup_code in nord_text
    assert sued.pickup_code in sued_text

    # Only Nordstadt's register hears of Nordstadt's deposit, and nothing of Südstadt's.
    (event,) = http_receiver.wait_for(1)
    assert event.path == "/nordstadt" and receiver_accepts(event, secret=SECRET)
    assert json.loads(event.body)["order"]["reference"] == nord.order.reference

    # A forced door alarms the staff of the kiosk's own office.
    _report(kiosk, "nord-1", pb.EVENT_TYPE_DOOR_FORCED, compartment_number=3)
    _report(kiosk, "sued-1", pb.EVENT_TYPE_DOOR_FORCED, compartment_number=2)
    received = relay.handler.wait_for(2)
    assert messages.worker.wait_until_idle(10)
    alarm_rcpts = sorted(r.recipients[0] for r in received[1:])
    # Südstadt inherits the default recipients, but sends through its own relay.
    assert alarm_rcpts == ["hausmeister@nordstadt.example"]
    sued_alarms = sued_relay.handler.wait_for(2)[1:]
    assert [r.recipients for r in sued_alarms] == [["leitstelle@kreis.example"]]
    assert "sued-1/2" in sued_alarms[0].parsed()["Subject"]
    assert {a.scope: a.office_id for a in messages.queue.alarms()} == {
        "nord-1/3": "nordstadt", "sued-1/2": "suedstadt"}
    assert len(http_receiver.wait_for(2)) == 2  # Nordstadt's alarm event only
    assert http_receiver.requests[1].path == "/nordstadt"
