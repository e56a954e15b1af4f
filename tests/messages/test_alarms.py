"""Alarms to staff on call through a real registry: a forced door reported
twice gives one message per recipient (e-mail and SMS), a reminder is
scheduled and cancelled by the acknowledgement, the resolved inspection
sends the all-clear."""

from __future__ import annotations

import json

import pytest

from registry.messages.__main__ import main as messages_cli
from registry.messages.config import ConfigError, MessagesConfig, parse
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.sms import SmsConfig
from tests.messages.test_registry_messages import report, start_registry

pytestmark = pytest.mark.integration
ON_CALL_PHONE = "+49 151 11111111"
CARETAKER = "hausmeister@musterstadt.example"


@pytest.fixture
def registry_with_alarms(tmp_path, smtp_server, http_receiver):
    config = MessagesConfig(
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        email=SmtpConfig(host="127.0.0.1", port=smtp_server.port,
                         sender="box@musterstadt.example", security=PLAIN, timeout=5),
        sms=SmsConfig(url=http_receiver.url + "/sms", body='{"to": "{to}", "text": "{text}"}',
                      timeout=5),
        alarm_routes={"*": (CARETAKER,), "door_forced": (ON_CALL_PHONE, CARETAKER)},
        alarm_reminder_minutes=15,
    )
    server, office, kiosk, messages, close = start_registry(tmp_path, config)
    yield kiosk, messages, tmp_path
    close()


def test_door_forced_alarm_reminder_ack_and_all_clear(registry_with_alarms, smtp_server,
                                                      http_receiver, capsys):
    from pickupbox.registry.v1 import registry_pb2 as pb
    kiosk, messages, tmp_path = registry_with_alarms
    report(kiosk, pb.EVENT_TYPE_DOOR_FORCED, "", compartment_number=7)
    report(kiosk, pb.EVENT_TYPE_DOOR_FORCED, "", compartment_number=7)  # repeated: no new alarm

    (sms,) = http_receiver.wait_for(1)
    text = json.loads(sms.body)["text"]
    assert json.loads(sms.body)["to"] == "+4915111111111"
    assert "Tür aufgebrochen: kiosk-1/7" in text and "kiosk-registry alarm ack 1" in text
    (mail,) = smtp_server.handler.wait_for(1)
    assert mail.recipients == [CARETAKER]
    assert "ALARM 1: Tür aufgebrochen – kiosk-1/7" in str(mail.parsed()["Subject"])
    assert messages.worker.wait_until_idle(10)
    (alarm,) = messages.queue.alarms(open_only=True)
    reminders = [m for m in messages.queue.for_order("alarm-1") if m.kind == "alarm_reminder"]
    assert [m.status for m in reminders] == ["queued", "queued"]  # one per recipient, later

    db = str(tmp_path / "registry.sqlite3")
    assert messages_cli(["--db", db, "alarms"]) == 0
    # One list: the kiosk's event and nothing twice for the on-call alarm it raised.
    listed = capsys.readouterr().out
    assert "EVENT_TYPE_DOOR_FORCED  kiosk-1/7" in listed and "door_forced" not in listed
    assert messages_cli(["--db", db, "alarms", "ack", "1", "--comment", "Tür zu"]) == 0
    assert [m.status for m in messages.queue.for_order("alarm-1")
            if m.kind == "alarm_reminder"] == ["cancelled", "cancelled"]
    assert messages_cli(["--db", db, "alarms", "ack", "1"]) == 1  # no comment
    assert "--comment" in capsys.readouterr().err
    assert messages_cli(["--db", db, "alarms", "ack", "1", "--comment", "x"]) == 1  # not open
    with messages.queue.transaction() as tx:
        targets = [r["target"] for r in tx.query(
            "SELECT target FROM audit_log WHERE action = 'alarm.acknowledged' ORDER BY seq")]
    assert targets[0] == "oncall-1" and len(targets) == 3  # and the two door events
    assert messages_cli(["--db", db, "alarms"]) == 0
    assert "keine offenen Alarme" in capsys.readouterr().out

    report(kiosk, pb.EVENT_TYPE_INSPECTION_RESOLVED, "", compartment_number=7)
    all_clear = http_receiver.wait_for(2)[1]
    assert "Entwarnung ALARM 1" in json.loads(all_clear.body)["text"]
    assert "Entwarnung" in str(smtp_server.handler.wait_for(2)[1].parsed()["Subject"])
    assert len(http_receiver.requests) == 2 and len(smtp_server.handler.received) == 2

    # A new forced door after the all-clear is a new alarm.
    report(kiosk, pb.EVENT_TYPE_DOOR_FORCED, "", compartment_number=7)
    assert "ALARM 2" in json.loads(http_receiver.wait_for(3)[2].body)["text"]


def test_alarm_config_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="unknown \\['door_open'\\]"):
        parse({"alarms": {"kinds": {"door_open": ["a@example.org"]}}}, tmp_path)
    with pytest.raises(ConfigError, match="not a German mobile number"):
        parse({"alarms": {"recipients": ["030 1234567"]}}, tmp_path)
    config = parse({"alarms": {"recipients": ["a@example.org"],
                               "kinds": {"storage_fault": ["it@example.org"]}}}, tmp_path)
    assert config.alarm_recipients("storage_fault") == ("it@example.org",)
    assert config.alarm_recipients("door_failed") == ("a@example.org",)


def test_unacknowledged_alarm_gets_its_reminder(tmp_path, smtp_server):
    from datetime import datetime, timezone

    from registry.messages.notifier import MessagesNotifier
    config = MessagesConfig(
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        email=SmtpConfig(host="127.0.0.1", port=smtp_server.port,
                         sender="box@musterstadt.example", security=PLAIN, timeout=5),
        alarm_routes={"*": (CARETAKER,)}, alarm_reminder_minutes=0.01,  # 0.6 s
    )
    notifier = MessagesNotifier(config, database=tmp_path / "q.sqlite3")
    notifier.start()
    try:
        notifier.staff_alarm("storage_fault", "kiosk-1", "Speicher voll",
                             datetime.now(timezone.utc))
        first, reminder = smtp_server.handler.wait_for(2, timeout=15)
        assert "ALARM 1: Speicher" in str(first.parsed()["Subject"])
        assert "Erinnerung ALARM 1" in str(reminder.parsed()["Subject"])
        body = reminder.parsed().get_payload()[0].get_payload(decode=True).decode()
        assert "noch nicht best" in body
    finally:
        notifier.close()


def test_kiosk_offline_alarm_and_all_clear_from_heartbeats(tmp_path, smtp_server):
    from datetime import datetime, timezone

    from pickupbox.registry.v1 import registry_pb2 as pb
    config = MessagesConfig(
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        email=SmtpConfig(host="127.0.0.1", port=smtp_server.port,
                         sender="box@musterstadt.example", security=PLAIN, timeout=5),
        alarm_routes={"*": (CARETAKER,)}, alarm_reminder_minutes=0,
        offline_minutes=0.01, offline_check_seconds=0.1,  # 0.6 s without a heartbeat
    )
    server, office, kiosk, messages, close = start_registry(tmp_path, config)
    try:
        kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=5)
        (alarm,) = smtp_server.handler.wait_for(1, timeout=15)
        assert "Terminal meldet sich nicht – kiosk-1" in str(alarm.parsed()["Subject"])
        # The next heartbeat ends it.
        kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=5)
        all_clear = smtp_server.handler.wait_for(2, timeout=15)[1]
        assert "Entwarnung" in str(all_clear.parsed()["Subject"])
        assert messages.queue.alarms()[0].cleared_at is not None
        assert datetime.now(timezone.utc) > messages.queue.alarms()[0].raised_at
    finally:
        close()
