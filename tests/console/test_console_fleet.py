"""Fleet dashboard, remote commands and alarms in the console: the pure rules
called directly, the pages through HTTP against a real registry, and the
live update as a real server-sent event stream."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from registry.console import alarms, cabinet, commands, fleet, history
from tests.console.conftest import form_fields
from tests.registry.conftest import compartments
from pickupbox.registry.v1 import registry_pb2 as pb

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------- pure rules

def test_a_cabinet_is_drawn_column_by_column_with_each_compartment_as_tall_as_its_size():
    layout = [
        pb.Compartment(number=1, column=1, row=1, size=pb.COMPARTMENT_SIZE_S),
        pb.Compartment(number=2, column=1, row=2, size=pb.COMPARTMENT_SIZE_L),
        pb.Compartment(number=3, column=2, row=1, size=pb.COMPARTMENT_SIZE_M,
                       state=pb.COMPARTMENT_STATE_OCCUPIED, order_reference="BB-1"),
    ]
    drawn = cabinet.draw(layout)
    cells = {cell.number: cell for cell in drawn.cells}
    gap, width, unit = cabinet.GAP, cabinet.COLUMN_WIDTH, cabinet.UNIT_HEIGHT
    assert (cells[1].x, cells[1].y, cells[1].height) == (gap, gap, unit)
    assert (cells[2].x, cells[2].y, cells[2].height) == (gap, 2 * gap + unit, 3 * unit)
    assert (cells[3].x, cells[3].y, cells[3].height) == (2 * gap + width, gap, 2 * unit)
    assert cells[3].order_reference == "BB-1"
    assert drawn.width == gap + 2 * (width + gap)
    assert drawn.height == 3 * gap + 4 * unit
    # Neighbours never overlap, whatever the order the kiosk reported them in.
    again = cabinet.draw(list(reversed(layout)))
    assert sorted(again.cells, key=lambda c: c.number) == sorted(drawn.cells, key=lambda c: c.number)


def test_cabinets_of_the_same_build_share_their_geometry_but_not_their_states():
    def build(states):
        return cabinet.draw([pb.Compartment(number=n + 1, column=1, row=n + 1, state=state,
                                            order_reference=f"BB-{n}"
                                            if state != pb.COMPARTMENT_STATE_FREE else "")
                             for n, state in enumerate(states)])
    free = build([pb.COMPARTMENT_STATE_FREE] * 2)
    busy = build([pb.COMPARTMENT_STATE_OCCUPIED, pb.COMPARTMENT_STATE_NEEDS_INSPECTION])
    assert [(c.x, c.y, c.height) for c in free.cells] == [(c.x, c.y, c.height) for c in busy.cells]
    assert [(c.state, c.order_reference) for c in busy.cells] == [
        (pb.COMPARTMENT_STATE_OCCUPIED, "BB-0"), (pb.COMPARTMENT_STATE_NEEDS_INSPECTION, "BB-1")]
    assert [c.order_reference for c in free.cells] == ["", ""]


def test_the_cabinet_svg_escapes_what_the_kiosk_reported():
    drawn = cabinet.draw([pb.Compartment(number=7, column=1, row=1,
                                         state=pb.COMPARTMENT_STATE_OCCUPIED,
                                         order_reference='BB-<script>"')])
    cells = fleet.describe_cells(drawn, {}, {0: "?", pb.COMPARTMENT_STATE_OCCUPIED: "besetzt"},
                                 lambda moment: "")
    svg = str(fleet.cells_svg(cells))
    assert svg == ('<g class="cell occupied"><title>7: besetzt, BB-&lt;script&gt;&#34;</title>'
                   '<rect x="4" y="4" width="96" height="40" rx="3"></rect>'
                   '<text x="10" y="20">7 ●</text></g>')


def test_each_compartment_is_shown_with_its_state_order_and_deadline_in_words():
    drawn = cabinet.draw([
        pb.Compartment(number=1, column=1, row=1, state=pb.COMPARTMENT_STATE_FREE),
        pb.Compartment(number=2, column=1, row=2, state=pb.COMPARTMENT_STATE_OCCUPIED,
                       order_reference="BB-1"),
        pb.Compartment(number=3, column=1, row=3, state=99),
    ])
    cells = fleet.describe_cells(drawn, {"BB-1": NOW}, {0: "?", pb.COMPARTMENT_STATE_FREE: "frei",
                                                        pb.COMPARTMENT_STATE_OCCUPIED: "besetzt"},
                                 lambda moment: moment.strftime("%d.%m."))
    assert [(c.css, c.mark, c.description) for c in cells] == [
        ("free", "", "1: frei"), ("occupied", "●", "2: besetzt, BB-1, 02.12."),
        ("unknown", "?", "3: ?")]


def _row(**changes) -> dict:
    row = {"command_id": "c-1", "type": "COMMAND_TYPE_OPEN_COMPARTMENT", "compartment_number": 3,
           "created_at": (NOW - timedelta(minutes=1)).isoformat(), "delivered_at": None,
           "expire_at": (NOW + timedelta(minutes=4)).isoformat()}
    return {**row, **changes}


def _event(type_, compartment=3, detail="", at=NOW):
    event = pb.KioskEvent(type=type_, compartment_number=compartment, detail=detail)
    event.occur_time.FromDatetime(at)
    return event


def test_what_became_of_a_command_is_read_from_the_kiosks_events():
    assert commands.command_outcome(_row(), [], NOW)[0] == "waiting for the kiosk"
    assert commands.command_outcome(_row(delivered_at=NOW.isoformat()), [], NOW)[0] == \
        "taken by the kiosk"
    expired = _row(expire_at=(NOW - timedelta(seconds=1)).isoformat())
    assert commands.command_outcome(expired, [], NOW)[0] == "expired: no kiosk took it in time"
    refused = _event(pb.EVENT_TYPE_COMMAND_REFUSED,
                     detail="command c-1 (open) from user:sven refused: expired")
    assert commands.command_outcome(_row(), [refused], NOW) == ("refused by the kiosk", "expired")
    opened = _event(pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED)
    assert commands.command_outcome(_row(), [opened], NOW)[0] == "carried out"
    # An opening of another compartment, or one before the command, is not its result.
    assert commands.command_outcome(
        _row(), [_event(pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED, compartment=4)], NOW
    )[0] == "waiting for the kiosk"
    earlier = _event(pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED, at=NOW - timedelta(hours=1))
    assert commands.command_outcome(_row(), [earlier], NOW)[0] == "waiting for the kiosk"


def test_the_command_form_names_what_is_missing():
    assert commands.check_command_form("resync", "", "") == {}
    assert commands.check_command_form("out", "7", "") == {}
    assert set(commands.check_command_form("open", "", "")) == {"compartment", "reason"}
    assert set(commands.check_command_form("open", "0", "x")) == {"compartment"}
    assert set(commands.check_command_form("fly", "1", "")) == {"type"}
    assert set(commands.check_command_form("open", "2", "x" * 201)) == {"reason"}


def test_an_alarm_acknowledgement_needs_a_short_comment():
    assert alarms.check_comment("") is not None
    assert alarms.check_comment("x" * (alarms.MAX_COMMENT + 1)) is not None
    assert alarms.check_comment("Tür geschlossen, Dokument noch da") is None


# -------------------------------------------------------- pages on a registry

def _register(console, states=(pb.COMPARTMENT_STATE_FREE,) * 3) -> None:
    console.registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="kiosk-1", software_version="test", compartments=compartments(*states)),
        timeout=5)


def _deposit(console, reference: str, compartment: int = 2) -> None:
    console.registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        request_id=str(uuid.uuid4()), reference=reference, kind=pb.DOCUMENT_KIND_ID_CARD,
        kiosk_id="kiosk-1"), timeout=5)
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_DEPOSITED,
                          order_reference=reference, compartment_number=compartment,
                          staff_ids=["s-1"])
    event.occur_time.GetCurrentTime()
    deadline = datetime.now(timezone.utc) + timedelta(days=14)
    event.pickup_deadline.FromDatetime(deadline)
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)
    layout = compartments(pb.COMPARTMENT_STATE_FREE, pb.COMPARTMENT_STATE_OCCUPIED,
                          pb.COMPARTMENT_STATE_FREE)
    layout[compartment - 1].order_reference = reference
    console.registry.kiosk.Heartbeat(pb.HeartbeatRequest(
        kiosk_id="kiosk-1", compartments=layout, outbox_backlog=2,
        devices=[pb.DeviceHealth(device="locker_bank", status=pb.DEVICE_STATUS_OK)]), timeout=5)


def _alarm(console, type_=pb.EVENT_TYPE_DOOR_FORCED) -> str:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, compartment_number=3,
                          detail="door 3 opened without unlock")
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)
    return event.event_id


def test_the_dashboard_shows_each_kiosk_its_cabinet_orders_and_deadlines(console):
    _register(console)
    _deposit(console, "BB-FLEET-1")
    page = console.client("sven").get("/fleet")
    assert page.status_code == 200
    html = page.text
    assert "kiosk-1" in html and "✓ erreichbar" in html
    assert "<svg" in html and "Schrank von kiosk-1" in html
    assert "<title>2: besetzt, BB-FLEET-1, " in html  # the occupied compartment's order
    assert '<td class="backlog">2</td>' in html
    assert "locker_bank: ✓ in Ordnung" in html
    detail = console.client("sven").get("/fleet/kiosk-1")
    assert detail.status_code == 200
    assert 'href="/orders/BB-FLEET-1"' in detail.text  # the order and its deadline in a table
    deadline = console.registry.sql(
        "SELECT pickup_deadline FROM orders WHERE reference = 'BB-FLEET-1'")[0][0]
    assert deadline and datetime.fromisoformat(deadline).astimezone(
        history.TIME_ZONE).strftime("%d.%m.%Y %H:%M") in detail.text
    assert console.client("sven").get("/fleet/kiosk-9").status_code == 404
    # A technician sees the states but no order's details.
    for path in ("/fleet", "/fleet/kiosk-1"):
        technician = console.client("tina").get(path).text
        assert "besetzt" in technician and "BB-FLEET-1" not in technician


def test_the_dashboard_stream_sends_the_new_state_when_a_kiosk_reports(console):
    _register(console)
    client = console.client("sven")
    received: list[str] = []
    got_update = threading.Event()

    def listen():
        with client.stream("GET", "/fleet/live", timeout=20) as stream:
            for line in stream.iter_lines():
                received.append(line)
                if "BB-LIVE-1" in line:
                    got_update.set()
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    _deposit(console, "BB-LIVE-1")
    assert got_update.wait(15), received[-5:]
    assert "event: fleet" in received


def test_a_supervisor_opens_a_compartment_remotely_and_sees_the_result(console):
    _register(console, (pb.COMPARTMENT_STATE_FREE,) * 3)
    client = console.client("sven")
    form = client.get("/kiosks/kiosk-1/commands")
    assert form.status_code == 200
    fields = form_fields(form.text)
    missing = client.post("/kiosks/kiosk-1/commands/send",
                          data={**fields, "type": "open", "compartment": "2", "reason": ""})
    assert missing.status_code == 422 and 'id="error-reason"' in missing.text
    assert console.registry.sql("SELECT * FROM commands") == []
    sent = client.post("/kiosks/kiosk-1/commands/send",
                       data={**fields, "type": "open", "compartment": "2", "reason": "Wartung"})
    assert sent.status_code == 303
    again = client.post("/kiosks/kiosk-1/commands/send",  # double submit: replayed, not re-sent
                        data={**fields, "type": "open", "compartment": "2", "reason": "Wartung"})
    assert again.status_code == 303
    rows = console.registry.sql("SELECT * FROM commands")
    assert [(r["type"], r["compartment_number"], r["requested_by"]) for r in rows] == [
        ("COMMAND_TYPE_OPEN_COMPARTMENT", 2, "user:sven")]
    listing = client.get("/kiosks/kiosk-1/commands?sent=1").text
    assert "Wartung" in listing and "wartet auf die Station" in listing
    # The kiosk reports the opening: the page shows the command carried out.
    event = pb.KioskEvent(event_id=str(uuid.uuid4()),
                          type=pb.EVENT_TYPE_COMPARTMENT_SERVICE_OPENED, compartment_number=2)
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)
    assert "ausgeführt" in client.get("/kiosks/kiosk-1/commands").text


def test_a_clerk_is_refused_remote_commands_and_a_technician_cannot_open(console):
    _register(console)
    clerk = console.client("clara")
    assert clerk.get("/kiosks/kiosk-1/commands").status_code == 403
    technician = console.client("tina")
    page = technician.get("/kiosks/kiosk-1/commands")
    assert page.status_code == 200
    assert 'value="open"' not in page.text and 'value="out"' in page.text
    refused = technician.post("/kiosks/kiosk-1/commands/send", data={
        **form_fields(page.text), "type": "open", "compartment": "1", "reason": "x"})
    assert refused.status_code == 403
    assert console.registry.sql("SELECT * FROM commands") == []
    assert console.client("sven").get("/kiosks/kiosk-9/commands").status_code == 404


def test_an_alarm_shows_on_every_page_until_acknowledged_with_a_comment(console):
    _register(console)
    event_id = _alarm(console)
    sven = console.client("sven")
    assert "Offene Alarme: 1" in sven.get("/").text
    page = sven.get("/alarms")
    assert "Tür aufgebrochen" in page.text and "door 3 opened without unlock" in page.text
    fields = form_fields(page.text)
    empty = sven.post(f"/alarms/{event_id}/acknowledge", data={**fields, f"comment-{event_id}": ""})
    assert empty.status_code == 422 and console.audit("alarm.acknowledged") == []
    done = sven.post(f"/alarms/{event_id}/acknowledge",
                     data={**fields, f"comment-{event_id}": "Tür geschlossen, Polizei informiert"})
    assert done.status_code == 303
    twice = sven.post(f"/alarms/{event_id}/acknowledge", data={**fields, f"comment-{event_id}": "nochmal"})
    assert twice.status_code == 303
    entries = console.audit("alarm.acknowledged")
    assert [(e["actor"], e["target"]) for e in entries] == [("user:sven", event_id)]
    assert "Offene Alarme" not in sven.get("/").text
    assert "Polizei informiert" in sven.get("/alarms").text
    # Clerks work with orders, not alarms.
    assert console.client("clara").get("/alarms").status_code == 403


def test_an_unknown_alarm_is_not_acknowledged(console):
    sven = console.client("sven")
    fields = form_fields(sven.get("/alarms").text)
    response = sven.post("/alarms/no-such-event/acknowledge", data={**fields, "comment-no-such-event": "x"})
    assert response.status_code == 404
    assert console.audit("alarm.acknowledged") == []


def test_a_supervisor_extends_the_deadline_of_a_document_in_the_box(console):
    _register(console)
    _deposit(console, "BB-EXTEND-1")
    sven = console.client("sven")
    page = sven.get("/orders/BB-EXTEND-1")
    assert "Abholfrist verlängern" in page.text
    fields = form_fields(page.text)
    bad = sven.post("/orders/BB-EXTEND-1/extend",
                    data={**fields, "new_deadline": "morgen", "extend_reason": "Urlaub"})
    assert bad.status_code == 422 and 'id="error-new_deadline"' in bad.text
    day = (datetime.now(history.TIME_ZONE) + timedelta(days=40)).date()
    done = sven.post("/orders/BB-EXTEND-1/extend",
                     data={**fields, "new_deadline": day.isoformat(), "extend_reason": "Urlaub"})
    assert done.status_code == 303
    order = console.registry.office.GetPickupOrder(
        pb.GetPickupOrderRequest(reference="BB-EXTEND-1"), timeout=5).order
    local = order.pickup_deadline.ToDatetime(tzinfo=timezone.utc).astimezone(history.TIME_ZONE)
    assert (local.date(), local.hour, local.minute) == (day, 23, 59)
    history_page = sven.get("/orders/BB-EXTEND-1?done=extended").text
    assert "Abholfrist verlängert" in history_page and "Urlaub" in history_page
    # A clerk neither sees the form nor gets through with a forged one.
    clara = console.client("clara")
    assert "Abholfrist verlängern" not in clara.get("/orders/BB-EXTEND-1").text
    refused = clara.post("/orders/BB-EXTEND-1/extend", data={
        **form_fields(clara.get("/orders/BB-EXTEND-1").text),
        "new_deadline": day.isoformat(), "extend_reason": "x"})
    assert refused.status_code == 403
