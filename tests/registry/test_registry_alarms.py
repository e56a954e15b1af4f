"""ListAlarms and AcknowledgeAlarm against a real registry (SQLite and
PostgreSQL): the kiosks' alarm events and the messages subsystem's on-call
alarms in one list, scoped to the caller's office, filtered and paged;
acknowledged once with a comment and one audit entry, replayed by
request_id, refused the second time. Then the rules of registry/alarms.py
called directly."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from common.convert import to_timestamp
from registry import alarms, identity
from registry.cli import main as registry_cli
from registry.errors import error_reason
from registry.messages.queue import MessageQueue
from registry.permissions import Role
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def report(registry, type_, kiosk_id="kiosk-1", compartment=3, reference="", minutes_ago=0,
           detail="") -> str:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, compartment_number=compartment,
                          order_reference=reference, detail=detail, occur_time=to_timestamp(
                              datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)))
    registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id=kiosk_id, events=[event]),
                                timeout=5)
    return event.event_id


def stub(registry, office: str, role: Role) -> pb_grpc.OfficeServiceStub:
    with registry.server.db.transaction() as tx:
        key = identity.create_api_key(tx, f"{office}-{role.value}-{uuid.uuid4().hex[:4]}",
                                      office, frozenset({role}))
    return pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(key)))


def refusal(call, request) -> tuple[grpc.StatusCode, str | None]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=5)
    return caught.value.code(), error_reason(caught.value)


def acks(registry) -> list[dict]:
    rows = registry.sql("SELECT target, actor, office_id, detail FROM audit_log"
                        " WHERE action = 'alarm.acknowledged' ORDER BY seq")
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


@pytest.fixture
def world(registry, register_kiosk):
    """kiosk-1 (default office): a forced door (with its on-call alarm) and a
    failed device; kiosk-n (office north): a full disk; on-call: kiosk-1 silent,
    a citizen of default unreachable."""
    registry.kiosk.tokens["kiosk-n"] = enrol(registry.server.db, "kiosk-n", "north")
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-n")
    queue = MessageQueue(registry.server.db)
    ids = {
        "door": report(registry, pb.EVENT_TYPE_DOOR_FORCED, reference="PO-DOOR", minutes_ago=30,
                       detail="door 3 opened without unlock"),
        "device": report(registry, pb.EVENT_TYPE_DEVICE_FAULT, compartment=0, minutes_ago=20),
        "disk": report(registry, pb.EVENT_TYPE_STORAGE_FAULT, kiosk_id="kiosk-n", compartment=0,
                       minutes_ago=10),
        "inspected": report(registry, pb.EVENT_TYPE_INSPECTION_RESOLVED, minutes_ago=5),
    }
    ids["door_oncall"] = queue.raise_alarm("door_forced", "Tür aufgebrochen", scope="kiosk-1/3",
                                           office_id="default", source_event=ids["door"]).id
    ids["silent"] = "oncall-%d" % queue.raise_alarm(
        "kiosk_offline", "letzte Meldung 08:00", scope="kiosk-1", office_id="default").id
    ids["letter"] = "oncall-%d" % queue.raise_alarm(
        "citizen_unreachable", "order PO-LETTER could not be reached: print the letter",
        "PO-LETTER", office_id="").id  # '' is the default office's
    return ids


def test_each_office_lists_its_open_alarms_newest_first(registry, world):
    listed = registry.office.ListAlarms(pb.ListAlarmsRequest(), timeout=5).alarms
    # The operator's admin key sees every office; the door's on-call alarm is the door event's.
    assert [a.alarm_id for a in listed] == [world["letter"], world["silent"], world["disk"],
                                            world["device"], world["door"]]
    door = listed[-1]
    assert (door.kind, door.kiosk_id, door.compartment_number, door.order_reference,
            door.detail, door.state) == ("EVENT_TYPE_DOOR_FORCED", "kiosk-1", 3, "PO-DOOR",
                                         "door 3 opened without unlock", pb.ALARM_STATE_OPEN)
    supervisor = stub(registry, "default", Role.SUPERVISOR)
    own = supervisor.ListAlarms(pb.ListAlarmsRequest(), timeout=5).alarms
    assert world["disk"] not in [a.alarm_id for a in own] and len(own) == 4
    north = stub(registry, "north", Role.TECHNICIAN).ListAlarms(pb.ListAlarmsRequest(), timeout=5)
    assert [a.alarm_id for a in north.alarms] == [world["disk"]]
    # A technician sees where and what, not whose order (nor in the on-call text).
    technician = stub(registry, "default", Role.TECHNICIAN).ListAlarms(
        pb.ListAlarmsRequest(), timeout=5).alarms
    assert {a.order_reference for a in technician} == {""}
    assert not any("PO-" in a.detail for a in technician)
    # Clerks work with orders: refused, as the console's alarms page is.
    assert refusal(stub(registry, "default", Role.CLERK).ListAlarms, pb.ListAlarmsRequest()) == (
        grpc.StatusCode.PERMISSION_DENIED, "ROLE_MISSING")


def test_filters_and_pages_give_every_alarm_once(registry, world):
    office = registry.office
    kiosk = office.ListAlarms(pb.ListAlarmsRequest(kiosk_id="kiosk-1"), timeout=5).alarms
    assert [a.alarm_id for a in kiosk] == [world["silent"], world["device"], world["door"]]
    kinds = office.ListAlarms(pb.ListAlarmsRequest(
        kinds=["EVENT_TYPE_DOOR_FORCED", "citizen_unreachable"]), timeout=5).alarms
    assert [a.alarm_id for a in kinds] == [world["letter"], world["door"]]
    seen, token, pages = [], "", 0
    while True:
        page = office.ListAlarms(pb.ListAlarmsRequest(page_size=2, page_token=token), timeout=5)
        seen += [a.alarm_id for a in page.alarms]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    everything = office.ListAlarms(pb.ListAlarmsRequest(), timeout=5).alarms
    assert seen == [a.alarm_id for a in everything] and pages == 3
    for bad, field in ((pb.ListAlarmsRequest(days=31), "days"),
                       (pb.ListAlarmsRequest(kinds=["door_forced"]), "kinds[0]"),
                       (pb.ListAlarmsRequest(page_token="nonsense"), "page_token"),
                       (pb.ListAlarmsRequest(kiosk_id="no/such"), "kiosk_id")):
        with pytest.raises(grpc.RpcError) as caught:
            office.ListAlarms(bad, timeout=5)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details().startswith(field + ":"), caught.value.details()


def test_the_database_reads_only_the_kiosk_and_kinds_asked_for(registry, world):
    # load_alarms itself (no filter after it): the kiosk and kinds are chosen in SQL.
    db = registry.server.db
    for open_only in (True, False):
        kiosk = alarms.load_alarms(db, None, open_only=open_only, kiosk_id="kiosk-1")
        assert [a.event_id for a in kiosk if a.open] == [world["silent"], world["device"],
                                                         world["door"]]
        assert {a.kiosk_id for a in kiosk} == {"kiosk-1"}
        kinds = alarms.load_alarms(db, None, open_only=open_only,
                                   kinds=("EVENT_TYPE_DOOR_FORCED", "citizen_unreachable"))
        assert [a.event_id for a in kinds] == [world["letter"], world["door"]]
        both = alarms.load_alarms(db, "north", open_only=open_only, kiosk_id="kiosk-n",
                                  kinds=("EVENT_TYPE_STORAGE_FAULT",))
        assert [a.event_id for a in both] == [world["disk"]]
        assert alarms.load_alarms(db, "default", open_only=open_only, kiosk_id="kiosk-n") == []
        assert alarms.load_alarms(db, None, open_only=open_only,
                                  kinds=("integration_unreachable",)) == []


def test_the_console_reads_the_open_alarms_and_the_last_done_ones(registry, world):
    db = registry.server.db
    for key in ("device", "door"):
        assert alarms.acknowledge_alarm(db, world[key], "anna", f"{key} checked", None) == "done"
    opened, done = alarms.load_console_alarms(db, "default")
    assert [a.event_id for a in opened] == [world["letter"], world["silent"]]
    assert [(a.event_id, a.acknowledged_by, a.comment) for a in done] == [
        (world["device"], "anna", "device checked"), (world["door"], "anna", "door checked")]
    # The one acknowledged last (the door, after the device), not the newest.
    assert [a.event_id for a in alarms.load_console_alarms(db, "default", done_limit=1)[1]] == [
        world["door"]]
    north_open, north_done = alarms.load_console_alarms(db, "north")
    assert [a.event_id for a in north_open] == [world["disk"]] and north_done == []


def test_an_alarm_is_acknowledged_once_with_its_comment(registry, world):
    technician = stub(registry, "default", Role.TECHNICIAN)
    request = pb.AcknowledgeAlarmRequest(request_id=str(uuid.uuid4()), alarm_id=world["door"],
                                         comment="Tür geschlossen, Fach leer")
    done = technician.AcknowledgeAlarm(request, timeout=5).alarm
    assert done.state == pb.ALARM_STATE_ACKNOWLEDGED and done.comment == request.comment
    assert done.acknowledged_by.startswith("api_key:default-technician")
    assert done.order_reference == ""  # a technician's answer, too
    # A retry of the same request: the same answer, nothing done twice.
    assert technician.AcknowledgeAlarm(request, timeout=5).alarm == done
    entries = acks(registry)
    assert [(e["target"], e["office_id"], e["detail"]["comment"]) for e in entries] == [
        (world["door"], "default", "Tür geschlossen, Fach leer")]
    assert registry.sql("SELECT event_id FROM open_alarm_events WHERE event_id = ?",
                        world["door"]) == []
    # The on-call alarm the same door raised is acknowledged with it (its reminders stop).
    door_oncall = MessageQueue(registry.server.db).alarm(world["door_oncall"])
    assert not door_oncall.open and door_oncall.comment == "Tür geschlossen, Fach leer"
    # A second acknowledgement: a clear refusal, no second audit entry.
    again = pb.AcknowledgeAlarmRequest(request_id=str(uuid.uuid4()), alarm_id=world["door"],
                                       comment="nochmal")
    with pytest.raises(grpc.RpcError) as caught:
        registry.office.AcknowledgeAlarm(again, timeout=5)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(caught.value) == "ALARM_ALREADY_ACKNOWLEDGED"
    assert "acknowledged already by api_key:default-technician" in caught.value.details()
    assert len(acks(registry)) == 1
    # The CLI uses the same rules: not open any more.
    assert registry_cli(["alarm", "ack", world["door"], "--db", registry.db_target,
                         "--comment", "nochmal"]) == 1
    assert len(acks(registry)) == 1
    # No longer open, but in the last day's list with who, when and what.
    open_ids = [a.alarm_id for a in registry.office.ListAlarms(pb.ListAlarmsRequest(),
                                                                timeout=5).alarms]
    assert world["door"] not in open_ids
    day = registry.office.ListAlarms(pb.ListAlarmsRequest(days=1), timeout=5).alarms
    listed = next(a for a in day if a.alarm_id == world["door"])
    assert listed.comment == "Tür geschlossen, Fach leer" and listed.order_reference == "PO-DOOR"
    assert listed.acknowledge_time.seconds > 0


def test_on_call_alarms_and_the_refusals(registry, world):
    supervisor = stub(registry, "default", Role.SUPERVISOR)
    done = supervisor.AcknowledgeAlarm(pb.AcknowledgeAlarmRequest(
        alarm_id=world["letter"], comment="Brief gedruckt"), timeout=5).alarm
    assert done.state == pb.ALARM_STATE_ACKNOWLEDGED and done.order_reference == "PO-LETTER"
    letter = MessageQueue(registry.server.db).alarm(int(world["letter"].split("-")[1]))
    assert not letter.open and letter.comment == "Brief gedruckt"
    assert [e["target"] for e in acks(registry)] == [world["letter"]]
    # A silent kiosk that reported back (cleared): nothing to acknowledge.
    MessageQueue(registry.server.db).clear_alarms(("kiosk_offline",), "kiosk-1")
    assert refusal(supervisor.AcknowledgeAlarm, pb.AcknowledgeAlarmRequest(
        alarm_id=world["silent"], comment="x")) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                    "ALARM_CLEARED")
    # Another office's alarm: refused and audited; an unknown one: not found.
    assert refusal(supervisor.AcknowledgeAlarm, pb.AcknowledgeAlarmRequest(
        alarm_id=world["disk"], comment="x")) == (grpc.StatusCode.PERMISSION_DENIED,
                                                  "OTHER_OFFICE")
    denied = registry.sql("SELECT target FROM audit_log WHERE action = 'call.denied'")
    assert world["disk"] in [row["target"] for row in denied]
    for missing in ("oncall-999", "no-such-event", world["inspected"]):  # not an alarm type
        assert refusal(supervisor.AcknowledgeAlarm, pb.AcknowledgeAlarmRequest(
            alarm_id=missing, comment="x")) == (grpc.StatusCode.NOT_FOUND, "ALARM_NOT_FOUND")
    assert refusal(supervisor.AcknowledgeAlarm, pb.AcknowledgeAlarmRequest(
        alarm_id="x" * 129, comment="x")) == (grpc.StatusCode.INVALID_ARGUMENT,
                                              "INVALID_ARGUMENT")
    # No comment, no acknowledgement; an auditor only reads.
    assert refusal(supervisor.AcknowledgeAlarm, pb.AcknowledgeAlarmRequest(
        alarm_id=world["device"], comment="  ")) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                     "INVALID_ARGUMENT")
    assert refusal(stub(registry, "default", Role.AUDITOR).AcknowledgeAlarm,
                   pb.AcknowledgeAlarmRequest(alarm_id=world["device"], comment="x")) == (
        grpc.StatusCode.PERMISSION_DENIED, "ROLE_MISSING")
    assert [e["target"] for e in acks(registry)] == [world["letter"]]


# ------------------------------------------------------------------ rules


def view(key: str, minutes: int, **fields) -> alarms.AlarmView:
    fields.setdefault("type", "EVENT_TYPE_DOOR_FORCED")
    return alarms.AlarmView(event_id=key, kiosk_id=fields.pop("kiosk_id", "kiosk-1"),
                            compartment=0, order_reference=fields.pop("order_reference", ""),
                            detail=fields.pop("detail", ""),
                            occurred=NOW - timedelta(minutes=minutes), **fields)


def test_select_open_or_of_the_last_days_by_kiosk_and_kind():
    listed = [view("a", 10), view("b", 60 * 30, acknowledged_by="user:x"),
              view("c", 60 * 24 * 3, kiosk_id="kiosk-2", type="kiosk_offline", oncall=True),
              view("d", 5, cleared=True, oncall=True, type="kiosk_offline")]
    keys = lambda found: [a.event_id for a in found]  # noqa: E731
    assert keys(alarms.select(listed, now=NOW)) == ["a", "c"]
    assert keys(alarms.select(listed, now=NOW, days=2)) == ["a", "b", "d"]
    assert keys(alarms.select(listed, now=NOW, days=30, kiosk_id="kiosk-2")) == ["c"]
    assert keys(alarms.select(listed, now=NOW, days=30, kinds=("kiosk_offline",))) == ["c", "d"]


def test_pages_follow_the_newest_first_order_and_survive_new_alarms():
    listed = alarms.newest_first([view(k, m) for k, m in
                                  (("a", 1), ("b", 2), ("c", 2), ("d", 3))])
    assert [a.event_id for a in listed] == ["a", "c", "b", "d"]  # same moment: by id
    first, token = alarms.one_page(listed, None, 2)
    assert [a.event_id for a in first] == ["a", "c"] and token
    # A new alarm meanwhile is newer than the position: the next page is unchanged.
    after = alarms.parse_page_token(token)
    grown = alarms.newest_first([view("new", 0), *listed])
    second, last = alarms.one_page(grown, after, 2)
    assert [a.event_id for a in second] == ["b", "d"] and last == ""
    for bad in ("", "12", "x.y", "12.", ".a", "1" * 301 + ".a"):
        assert alarms.parse_page_token(bad) is None


def test_the_order_is_left_out_for_those_who_may_not_read_orders():
    alarm = view("a", 1, order_reference="PO-7", detail="order PO-7: print the letter")
    hidden = alarms.without_order(alarm)
    assert hidden.order_reference == "" and "PO-7" not in hidden.detail
    assert alarms.without_order(view("b", 1, detail="door")) == view("b", 1, detail="door")


def test_comment_and_acknowledgement_rules():
    assert alarms.comment_problem("") == alarms.comment_problem(" ") == alarms.COMMENT_MISSING
    assert alarms.comment_problem("x" * (alarms.MAX_COMMENT + 1)) == alarms.COMMENT_TOO_LONG
    assert alarms.comment_problem("Tür geschlossen") is None
    assert alarms.acknowledge_refusal(view("a", 1)) is None
    reason, why = alarms.acknowledge_refusal(view("a", 1, acknowledged_by="user:sven",
                                                  acknowledged_at=NOW))
    assert reason == "ALARM_ALREADY_ACKNOWLEDGED" and "user:sven" in why and "09:00" in why
    # Acknowledged and later cleared: acknowledged is what the caller needs to hear.
    assert alarms.acknowledge_refusal(view("a", 1, acknowledged_by="x", cleared=True))[0] == (
        "ALARM_ALREADY_ACKNOWLEDGED")
    assert alarms.acknowledge_refusal(view("a", 1, cleared=True))[0] == "ALARM_CLEARED"
    assert alarms.in_office(view("a", 1, office_id="north"), None)
    assert not alarms.in_office(view("a", 1, office_id="north"), "default")
