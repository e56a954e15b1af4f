"""One alarm list (issue 11): the console's alarms page and banner show the
kiosks' alarm events and the messages subsystem's on-call alarms (kiosk
silent, citizen unreachable: print the letter) together; acknowledging one
in the console or with `kiosk-registry alarm ack` acknowledges it in the one
store (``oncall_alarms`` in the registry database), cancels its reminder and
writes one audit entry. Through HTTP against a real registry and console;
the on-call alarms are raised by the real messages notifier on the
registry's database (its worker not started: nothing is sent here)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from registry.cli import main as registry_cli
from registry.console import alarms
from registry.messages.config import MessagesConfig
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from tests.console.conftest import form_fields
from tests.console.test_console_fleet import _alarm, _register

pytestmark = pytest.mark.integration
CARETAKER = "hausmeister@musterstadt.example"


@pytest.fixture
def on_call(console):
    """The messages notifier on the console's registry database."""
    config = MessagesConfig(
        email=SmtpConfig(host="127.0.0.1", port=9, sender="box@musterstadt.example",
                         security=PLAIN, timeout=1),
        alarm_routes={"*": (CARETAKER,)}, alarm_reminder_minutes=15, offline_minutes=0)
    notifier = MessagesNotifier(config, database=console.registry.server.db)
    yield notifier
    notifier.queue.close()


def _reminders(notifier, alarm_id: int) -> list[str]:
    return [m.status for m in notifier.queue.for_order(f"alarm-{alarm_id}")
            if m.kind == "alarm_reminder"]


def test_on_call_alarms_join_the_list_and_are_acknowledged_once(console, on_call, capsys):
    _register(console)
    now = datetime.now(timezone.utc)
    # A forced door: the kiosk's event, and the on-call alarm the notifier raised for it.
    door_event = _alarm(console)
    on_call.staff_alarm("door_forced", "kiosk-1/3", "Tür aufgebrochen", now, "default",
                        door_event)
    on_call.staff_alarm("kiosk_offline", "kiosk-1", "letzte Meldung 09:00", now, "default")
    letter = on_call.queue.raise_alarm(
        "citizen_unreachable", "order BB-7 could not be reached by email: print the letter",
        "BB-7", office_id="default")
    door, offline = [a for a in on_call.queue.alarms() if a.kind != "citizen_unreachable"]
    assert _reminders(on_call, door.id) == _reminders(on_call, offline.id) == ["queued"]

    sven = console.client("sven")
    # Three, not four: the door's on-call alarm is the door event's entry.
    assert "Offene Alarme: 3" in sven.get("/").text
    assert alarms.open_alarm_count(console.registry.server.db, "default") == 3
    assert alarms.open_alarm_count(console.registry.server.db, "elsewhere") == 0
    page = sven.get("/alarms")
    assert "Station meldet sich nicht" in page.text and "bitte Brief drucken" in page.text
    assert "letzte Meldung 09:00" in page.text and "Tür aufgebrochen" in page.text
    assert page.text.count('class="alarm"') == 3

    # The console acknowledges the silent kiosk: in the one store, audited, reminder cancelled.
    key = f"oncall-{offline.id}"
    fields = form_fields(page.text)
    empty = sven.post(f"/alarms/{key}/acknowledge", data={**fields, f"comment-{key}": ""})
    assert empty.status_code == 422 and on_call.queue.alarm(offline.id).open
    done = sven.post(f"/alarms/{key}/acknowledge",
                     data={**fields, f"comment-{key}": "Netzteil getauscht"})
    assert done.status_code == 303
    acknowledged = on_call.queue.alarm(offline.id)
    assert not acknowledged.open and acknowledged.acknowledged_by == "user:sven"
    assert acknowledged.comment == "Netzteil getauscht"
    assert _reminders(on_call, offline.id) == ["cancelled"]
    assert sven.post(f"/alarms/{key}/acknowledge",
                     data={**fields, f"comment-{key}": "nochmal"}).status_code == 303
    assert "Offene Alarme: 2" in sven.get("/").text

    # The door event acknowledged in the console takes its on-call alarm along.
    sven.post(f"/alarms/{door_event}/acknowledge",
              data={**fields, f"comment-{door_event}": "Tür geschlossen"})
    assert not on_call.queue.alarm(door.id).open
    assert _reminders(on_call, door.id) == ["cancelled"]
    assert "Offene Alarme: 1" in sven.get("/").text

    # The CLI acknowledges the last one in the same store.
    db = str(console.registry.db_path)
    assert registry_cli(["alarm", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert f"{letter.id:>5}" in listed and "citizen_unreachable" in listed
    assert registry_cli(["alarm", "ack", str(letter.id), "--db", db,
                         "--comment", "Brief gedruckt"]) == 0
    assert registry_cli(["alarm", "ack", str(letter.id), "--db", db,
                         "--comment", "nochmal"]) == 1  # not open any more
    assert "Offene Alarme" not in sven.get("/").text
    assert "Brief gedruckt" in sven.get("/alarms").text

    entries = console.audit("alarm.acknowledged")
    assert [e["target"] for e in entries] == [key, door_event, f"oncall-{letter.id}"]
    assert entries[0]["actor"] == "user:sven" and entries[2]["actor"].startswith("local:")


def test_an_on_call_alarm_of_another_office_is_not_shown_nor_acknowledged(console, on_call):
    other = on_call.queue.raise_alarm("kiosk_offline", "letzte Meldung", scope="kiosk-9",
                                      office_id="elsewhere")
    sven = console.client("sven")
    assert "Offene Alarme" not in sven.get("/").text
    key = f"oncall-{other.id}"
    fields = form_fields(sven.get("/alarms").text)
    response = sven.post(f"/alarms/{key}/acknowledge", data={**fields, f"comment-{key}": "x"})
    assert response.status_code == 404 and on_call.queue.alarm(other.id).open
    assert console.audit("alarm.acknowledged") == []


@pytest.mark.browser
def test_an_on_call_alarm_is_acknowledged_in_the_browser(browser_page, console, on_call):
    from tests.console.conftest import axe_violations, browser_signin

    _register(console)
    alarm = on_call.queue.raise_alarm(
        "citizen_unreachable", "order BB-8 could not be reached by sms: print the letter",
        "BB-8", office_id="default")
    page = browser_page
    browser_signin(page, "sven")
    page.get_by_role("link", name="Offene Alarme: 1").click()
    assert page.get_by_role("heading", name="Bürgerin oder Bürger nicht erreichbar: bitte"
                                             " Brief drucken").is_visible()
    assert axe_violations(page) == []
    page.get_by_label("Kommentar").fill("Brief gedruckt und versandt")
    page.get_by_role("button", name="Alarm bestätigen").click()
    page.wait_for_selector("text=Der Alarm wurde bestätigt.")
    assert page.get_by_role("link", name="Offene Alarme: 1").count() == 0
    assert page.get_by_role("cell", name="Brief gedruckt und versandt").is_visible()
    assert not on_call.queue.alarm(alarm.id).open


def test_the_cli_acknowledges_a_kiosk_alarm_event_as_the_console_does(console, capsys):
    _register(console)
    event_id = _alarm(console)
    db = str(console.registry.db_path)
    assert registry_cli(["alarm", "ack", event_id, "--db", db, "--comment", ""]) == 1
    assert "--comment" in capsys.readouterr().err
    assert registry_cli(["alarm", "ack", event_id, "--db", db, "--comment", "Tür zu"]) == 0
    assert "Offene Alarme" not in console.client("sven").get("/").text
    (entry,) = console.audit("alarm.acknowledged")
    assert entry["target"] == event_id and entry["actor"].startswith("local:")
    assert "Tür zu" in console.client("sven").get("/alarms").text
