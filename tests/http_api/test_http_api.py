"""The HTTP/JSON API against a running registry: every endpoint, the refusals
with the same reasons as gRPC (and audited the same way), errors as HTTP
statuses, and every status the OpenAPI document lists actually happening."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from starlette.requests import Request

from common.auth import authenticated_channel, basic, bearer
from common.convert import to_timestamp
from registry import identity
from registry.errors import RegistryError
from registry.http_api.app import http_peer
from registry.http_api.errors import http_status
from registry.http_api.openapi import COMMITTED, build_document
from registry.messages.queue import MessageQueue
from registry.permissions import Role
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.http_api.conftest import grpc_reason, reason

ROOT = Path(__file__).resolve().parents[2]


def create(api, caller="integration", **fields):
    fields.setdefault("kind", "DOCUMENT_KIND_ID_CARD")
    fields.setdefault("request_id", str(uuid.uuid4()))
    with api.client(caller) as http:
        return http.post("/orders", json=fields)


def kiosk_event(api, type_, reference, **fields):
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, order_reference=reference,
                          occur_time=to_timestamp(datetime.now(timezone.utc)), **fields)
    api.registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]),
                                    timeout=5)


def alarm_event(api, reference="", type_=pb.EVENT_TYPE_DOOR_FORCED) -> str:
    """A kiosk alarm event of kiosk-1 (default office); its id is the alarm's."""
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, order_reference=reference,
                          compartment_number=2, detail="door 2 forced",
                          occur_time=to_timestamp(datetime.now(timezone.utc)))
    api.registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]),
                                    timeout=5)
    return event.event_id


# ------------------------------------------------------------------ endpoints


def test_an_order_from_creation_to_cancellation(api):
    created = create(api, needs_low_compartment=True, contact="a@example.org")
    assert created.status_code == 200, created.text
    body = created.json()
    reference = body["order"]["reference"]
    assert body["order"]["status"] == "ORDER_STATUS_ANNOUNCED"
    assert body["qr_payload"].startswith("PBX1:") and len(body["pin"]) == 6
    with api.client() as http:
        got = http.get(f"/orders/{reference}").json()["order"]
        assert got["reference"] == reference and got["needs_low_compartment"] is True
        listed = http.get("/orders", params={"statuses": "ORDER_STATUS_ANNOUNCED"}).json()
        assert [o["reference"] for o in listed["orders"]] == [reference]
        assert http.get("/orders", params={"statuses": "ORDER_STATUS_COLLECTED"}).json()[
            "orders"] == []
        reissued = http.post(f"/orders/{reference}:reissue", json={"reason": "letter lost"})
        assert reissued.status_code == 200 and reissued.json()["pickup_code"] != body["pickup_code"]
        cancelled = http.post(f"/orders/{reference}:cancel", json={"reason": "moved away"})
        assert cancelled.json()["order"]["status"] == "ORDER_STATUS_CANCELLED"
        again = http.post(f"/orders/{reference}:cancel", json={})
    # The gRPC API refuses the same way, with the same reason.
    assert (again.status_code, reason(again)) == (409, "ORDER_NOT_CANCELLABLE")
    assert grpc_reason(api.office_stub("integration").CancelPickupOrder,
                       pb.CancelPickupOrderRequest(reference=reference)) == (
        grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_CANCELLABLE")
    actions = [r["action"] for r in api.sql(
        "SELECT action FROM audit_log WHERE target = ? ORDER BY seq", reference)]
    assert actions == ["order.created", "order.reissued", "order.cancelled"]
    assert api.sql("SELECT actor FROM audit_log WHERE action = 'order.created'")[0][
        "actor"] == "api_key:fv-integration"


def test_pages_of_orders_and_paging_errors(api):
    for _ in range(3):
        assert create(api).status_code == 200
    with api.client() as http:
        first = http.get("/orders", params={"page_size": 2}).json()
        rest = http.get("/orders", params={"page_token": first["next_page_token"]}).json()
        assert len(first["orders"]) == 2 and len(rest["orders"]) == 1
        bad = http.get("/orders", params={"page_token": "x"})
    assert (bad.status_code, reason(bad)) == (400, "INVALID_ARGUMENT")
    assert bad.json()["error"]["details"][0]["metadata"] == {"field": "page_token"}


def test_kiosks_commands_events_and_staff(api):
    with api.client("integration") as http:
        kiosks = http.get("/kiosks").json()["kiosks"]
    assert [k["kiosk_id"] for k in kiosks] == ["kiosk-1"]
    assert kiosks[0]["compartments_free"] == 4 and kiosks[0]["online"] is True
    with api.client("supervisor") as http:
        sent = http.post("/kiosks/kiosk-1/commands",
                         json={"command": {"type": "COMMAND_TYPE_OPEN_COMPARTMENT",
                                           "compartment_number": 2, "reason": "jammed"}})
        assert sent.status_code == 200 and sent.json()["command_id"]
        no_reason = http.post("/kiosks/kiosk-1/commands",
                              json={"command": {"type": "COMMAND_TYPE_OPEN_COMPARTMENT",
                                                "compartment_number": 2}})
        assert (no_reason.status_code, reason(no_reason)) == (403, "REASON_REQUIRED")
        kiosk_event(api, pb.EVENT_TYPE_DOOR_FORCED, "", compartment_number=3)
        events = http.get("/kiosks/kiosk-1/events", params={"alarms_only": "true"}).json()
        assert [e["event"]["type"] for e in events["events"]] == ["EVENT_TYPE_DOOR_FORCED"]
        assert events["events"][0]["alarm"] is True
        staff = http.post("/staff", json={"staff_id": "anna", "card_uid": "04A1B2C3D4E5F6",
                                          "pin": "246810"})
        assert staff.json()["staff_member"] == {"staff_id": "anna", "active": True,
                                                "create_time": staff.json()["staff_member"][
                                                    "create_time"]}
        assert [s["staff_id"] for s in http.get("/staff").json()["staff_members"]] == ["anna"]
        gone = http.post("/staff/anna:deactivate", json={})
        assert gone.json()["staff_member"]["active"] is False
        twice = http.post("/staff", json={"staff_id": "anna", "card_uid": "04A1B2C3D4E5F7",
                                          "pin": "246810"})
    assert (twice.status_code, reason(twice)) == (409, "STAFF_EXISTS")
    command = api.sql("SELECT requested_by, reason FROM commands WHERE type = ?",
                      "COMMAND_TYPE_OPEN_COMPARTMENT")
    assert [tuple(r) for r in command] == [("api_key:fv-supervisor", "jammed")]


def test_alarms_are_listed_and_acknowledged_once(api):
    door = alarm_event(api, reference="PO-DOOR")
    MessageQueue(api.registry.server.db).raise_alarm(
        "kiosk_offline", "letzte Meldung 08:00", scope="kiosk-n", office_id="north")
    with api.client("supervisor") as http:
        listed = http.get("/alarms").json()
        assert listed["next_page_token"] == ""
        assert [(a["alarm_id"], a["kind"], a["kiosk_id"], a["compartment_number"],
                 a["order_reference"], a["state"]) for a in listed["alarms"]] == [
            (door, "EVENT_TYPE_DOOR_FORCED", "kiosk-1", 2, "PO-DOOR", "ALARM_STATE_OPEN")]
        filtered = http.get("/alarms", params=[("kinds", "kiosk_offline"),
                                               ("kiosk_id", "kiosk-1")]).json()
        assert filtered["alarms"] == []
        bad = http.get("/alarms", params={"kinds": "fire"})
        assert (bad.status_code, reason(bad)) == (400, "INVALID_ARGUMENT")
        assert "kinds[0]" in bad.json()["error"]["message"]
    # The other office sees its own alarm only; a technician no order reference.
    with api.client("north-supervisor") as http:
        assert [a["kind"] for a in http.get("/alarms").json()["alarms"]] == ["kiosk_offline"]
        other = http.post(f"/alarms/{door}:acknowledge", json={"comment": "x"})
        assert (other.status_code, reason(other)) == (403, "OTHER_OFFICE")
    with api.client("integration") as http:
        refused = http.get("/alarms")
        assert (refused.status_code, reason(refused)) == (403, "ROLE_MISSING")
    with api.client("technician") as http:
        assert http.get("/alarms").json()["alarms"][0]["order_reference"] == ""
        empty = http.post(f"/alarms/{door}:acknowledge", json={"comment": ""})
        assert (empty.status_code, reason(empty)) == (400, "INVALID_ARGUMENT")
        assert empty.json()["error"]["message"].startswith("comment: is required")
        once = {"request_id": str(uuid.uuid4()), "comment": "Tür geschlossen"}
        done = http.post(f"/alarms/{door}:acknowledge", json=once)
        assert done.status_code == 200, done.text
        alarm = done.json()["alarm"]
        assert alarm["state"] == "ALARM_STATE_ACKNOWLEDGED"
        assert (alarm["acknowledged_by"], alarm["comment"]) == ("api_key:fv-technician",
                                                                "Tür geschlossen")
        assert http.post(f"/alarms/{door}:acknowledge", json=once).json() == done.json()
        twice = http.post(f"/alarms/{door}:acknowledge", json={"comment": "nochmal"})
        assert (twice.status_code, reason(twice)) == (409, "ALARM_ALREADY_ACKNOWLEDGED")
        assert http.get("/alarms").json()["alarms"] == []
        recent = http.get("/alarms", params={"days": "1"}).json()["alarms"]
        assert [(a["alarm_id"], a["comment"]) for a in recent] == [(door, "Tür geschlossen")]
    entries = api.sql("SELECT actor, target FROM audit_log WHERE action = 'alarm.acknowledged'")
    assert [tuple(r) for r in entries] == [("api_key:fv-technician", door)]
    # gRPC answers the same.
    grpc_listed = api.office_stub("supervisor").ListAlarms(pb.ListAlarmsRequest(days=1),
                                                           timeout=5)
    with api.client("supervisor") as http:
        assert http.get("/alarms", params={"days": "1"}).json() == json_format.MessageToDict(
            grpc_listed, preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True)


def test_a_retried_create_returns_the_stored_order(api):
    request_id = str(uuid.uuid4())
    first = create(api, request_id=request_id).json()
    again = create(api, request_id=request_id).json()
    assert again["order"]["reference"] == first["order"]["reference"]
    assert len(api.sql("SELECT reference FROM orders")) == 1


# ---------------------------------------------------------------- refusals


REFUSALS = [
    # caller, HTTP status, reason, gRPC code
    (None, 401, "UNAUTHENTICATED", grpc.StatusCode.UNAUTHENTICATED),
    ("bad", 401, "CREDENTIAL_INVALID", grpc.StatusCode.UNAUTHENTICATED),
    ("forged", 401, "CREDENTIAL_INVALID", grpc.StatusCode.UNAUTHENTICATED),
    ("revoked", 401, "CREDENTIAL_REVOKED", grpc.StatusCode.UNAUTHENTICATED),
    ("kiosk", 403, "OFFICE_ONLY", grpc.StatusCode.PERMISSION_DENIED),
    ("technician", 403, "ROLE_MISSING", grpc.StatusCode.PERMISSION_DENIED),
]


@pytest.mark.parametrize("caller, status, why, code", REFUSALS)
def test_refusals_match_grpc_and_are_audited(api, caller, status, why, code):
    reference = create(api).json()["order"]["reference"]
    token = {"bad": "not-a-key", "forged": api.keys["integration"][:-4] + "AAAA"}.get(
        caller, api.keys.get(caller))
    before = len(api.sql("SELECT seq FROM audit_log"))
    with api.client(None, token=token) as http:
        response = http.get(f"/orders/{reference}")
    assert (response.status_code, reason(response)) == (status, why)
    assert response.json()["error"]["status"] == code.name
    audited = api.sql("SELECT action, outcome, detail FROM audit_log WHERE seq > ?", before)
    assert [(r["action"], r["outcome"]) for r in audited] == [
        ("login.failed" if status == 401 and why != "UNAUTHENTICATED" else "call.denied",
         "denied")]
    assert json.loads(audited[0]["detail"])["method"].endswith("OfficeService/GetPickupOrder")
    assert "pbx1" not in audited[0]["detail"]  # the credential is never logged
    channel = (api.registry.channel if token is None
               else authenticated_channel(api.registry.channel, bearer(token)))
    assert grpc_reason(pb_grpc.OfficeServiceStub(channel).GetPickupOrder,
                       pb.GetPickupOrderRequest(reference=reference)) == (code, why)


def test_another_offices_integration_cannot_touch_this_offices_order(api):
    reference = create(api).json()["order"]["reference"]
    with api.client("north") as http:
        seen = http.get(f"/orders/{reference}")
        cancelled = http.post(f"/orders/{reference}:cancel", json={"reason": "mallory"})
        listed = http.get("/orders").json()["orders"]
    assert (seen.status_code, reason(seen)) == (403, "OTHER_OFFICE")
    assert (cancelled.status_code, reason(cancelled)) == (403, "OTHER_OFFICE")
    assert listed == []
    assert grpc_reason(api.office_stub("north").GetPickupOrder,
                       pb.GetPickupOrderRequest(reference=reference)) == (
        grpc.StatusCode.PERMISSION_DENIED, "OTHER_OFFICE")
    # The refused cancel left the order as it was, and the refusal is audited.
    assert api.sql("SELECT status FROM orders")[0]["status"] == "announced"
    denied = api.sql("SELECT actor, target FROM audit_log WHERE action = 'call.denied'")
    assert ("api_key:fv-north", reference) in [tuple(r) for r in denied]


def test_bad_input_names_the_problem(api):
    with api.client() as http:
        cases = {
            "kind": http.post("/orders", json={"kind": "DOCUMENT_KIND_PASSPORTX"}),
            "json": http.post("/orders", content=b"{not json"),
            "unknown field": http.post("/orders", json={"kind": "DOCUMENT_KIND_ID_CARD",
                                                        "colour": "red"}),
            "path vs body": http.post("/orders/PO-A:cancel", json={"reference": "PO-B"}),
            "unknown parameter": http.get("/orders", params={"colour": "red"}),
            "array": http.post("/orders", json=["DOCUMENT_KIND_ID_CARD"]),
        }
        missing = http.post("/orders", json={})
        unknown_path = http.get("/nothing-here")
        wrong_method = http.delete("/orders")
    for name, response in cases.items():
        assert (response.status_code, reason(response)) == (400, "INVALID_ARGUMENT"), name
    assert "colour" in cases["unknown field"].json()["error"]["message"]
    assert "PO-B" in cases["path vs body"].json()["error"]["message"]
    assert missing.json()["error"]["message"] == "kind: is required (e.g. DOCUMENT_KIND_ID_CARD)"
    assert (unknown_path.status_code, reason(unknown_path)) == (404, "UNKNOWN_METHOD")
    assert wrong_method.status_code == 405 and "openapi.json" in wrong_method.text
    assert api.sql("SELECT reference FROM orders") == []


# ------------------------------------------------------------- the document


def test_the_served_document_is_the_committed_one_and_current(api):
    with api.client(None) as http:
        served = http.get("/openapi.json").json()
    assert served == build_document() == json.loads(COMMITTED.read_text())
    check = subprocess.run([str(ROOT / "tools" / "generate-openapi"), "--check"],
                           capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stderr
    methods = {m.name for m in pb.DESCRIPTOR.services_by_name["OfficeService"].methods}
    documented = {op["operationId"] for path in served["paths"].values() for op in path.values()}
    assert methods <= documented  # every OfficeService method has an endpoint


def _operations(document):
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            yield path, verb, operation


def test_every_documented_status_happens(api):
    """Each status each operation documents is produced here by a real request."""
    reference = create(api).json()["order"]["reference"]
    with api.client("supervisor") as http:
        http.post("/staff", json={"staff_id": "ben", "card_uid": "04A1B2C3D4E5F9",
                                  "pin": "135790"})
        http.post(f"/orders/{reference}:cancel", json={})
        for staff_id, card in (("dora", "04A1B2C3D4E5FC"), ("eve", "04A1B2C3D4E5FD")):
            http.post("/staff", json={"staff_id": staff_id, "card_uid": card, "pin": "135790"})
        http.post("/staff/dora:deactivate", json={})
        acknowledged = alarm_event(api)
        http.post(f"/alarms/{acknowledged}:acknowledge", json={"comment": "erledigt"})
    good = {
        "CreatePickupOrder": {"json": {"kind": "DOCUMENT_KIND_PASSPORT"}},
        "CancelPickupOrder": {"reference": None},  # a fresh order, see below
        "ReissuePickupCode": {"reference": None},
        "GetPickupOrder": {"reference": reference},
        "ListOrderMessages": {"reference": reference},
        # A document in the box (deposited below), a later deadline.
        "ExtendPickupDeadline": {"reference": None, "deposited": True,
                                 "json": {"pickup_deadline": (datetime.now(timezone.utc)
                                          + timedelta(days=30)).isoformat()}},
        "SendKioskCommand": {"kiosk_id": "kiosk-1",
                             "json": {"command": {"type": "COMMAND_TYPE_RESYNC"}}},
        "ListKioskEvents": {"kiosk_id": "kiosk-1"},
        "CreateStaffMember": {"json": {"staff_id": "cleo", "card_uid": "04A1B2C3D4E5FA",
                                       "pin": "135790"}},
        "DeactivateStaffMember": {"staff_id": "ben"},
        "MarkReturnedToCounter": {"reference": None},  # announced: never in the box
        "ResendPickupReminder": {"reference": None, "deposited": True, "contact": True},
        "UnlockStaffCard": {"staff_id": "eve"},
        "ListAlarms": {},
        "AcknowledgeAlarm": {"alarm_id": None, "json": {"comment": "Tür geschlossen"}},
    }
    specific = {
        ("CreatePickupOrder", 404): {"json": {"kind": "DOCUMENT_KIND_ID_CARD",
                                              "kiosk_id": "kiosk-x"}},
        ("CreatePickupOrder", 409): {"json": {"kind": "DOCUMENT_KIND_ID_CARD",
                                              "reference": reference}},
        ("CancelPickupOrder", 404): {"reference": "PO-NONE"},
        ("CancelPickupOrder", 409): {"reference": reference},
        ("ReissuePickupCode", 404): {"reference": "PO-NONE"},
        ("ReissuePickupCode", 409): {"reference": reference},
        ("GetPickupOrder", 404): {"reference": "PO-NONE"},
        ("ListOrderMessages", 404): {"reference": "PO-NONE"},
        ("ExtendPickupDeadline", 404): {"reference": "PO-NONE",
                                        "json": {"pickup_deadline": "2030-01-01T00:00:00Z"}},
        ("ExtendPickupDeadline", 409): {"reference": None,  # announced: not in the box
                                        "json": {"pickup_deadline": "2030-01-01T00:00:00Z"}},
        ("SendKioskCommand", 404): {"kiosk_id": "kiosk-x",
                                    "json": {"command": {"type": "COMMAND_TYPE_RESYNC"}}},
        ("ListKioskEvents", 404): {"kiosk_id": "kiosk-x"},
        ("CreateStaffMember", 409): {"json": {"staff_id": "ben", "card_uid": "04A1B2C3D4E5FB",
                                              "pin": "135790"}},
        ("DeactivateStaffMember", 404): {"staff_id": "nobody"},
        ("MarkReturnedToCounter", 404): {"reference": "PO-NONE"},
        ("MarkReturnedToCounter", 409): {"reference": reference},  # cancelled
        ("ResendPickupReminder", 404): {"reference": "PO-NONE"},
        ("ResendPickupReminder", 409): {"reference": reference},  # cancelled: not waiting
        ("UnlockStaffCard", 404): {"staff_id": "nobody"},
        ("UnlockStaffCard", 409): {"staff_id": "dora"},  # deactivated
        ("AcknowledgeAlarm", 404): {"alarm_id": "oncall-999", "json": {"comment": "x"}},
        ("AcknowledgeAlarm", 409): {"alarm_id": acknowledged, "json": {"comment": "x"}},
    }
    seen, expected = set(), set()
    document = build_document()
    for path, verb, operation in _operations(document):
        op = operation["operationId"]
        names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
        for status in map(int, operation["responses"]):
            expected.add((op, status))
            setup = dict(specific.get((op, status), good.get(op, {})))
            if setup.get("alarm_id", "") is None:
                setup["alarm_id"] = alarm_event(api)
            if setup.get("reference", "") is None:
                fields = {"contact": "c@example.org"} if setup.pop("contact", False) else {}
                setup["reference"] = create(api, **fields).json()["order"]["reference"]
                if setup.pop("deposited", False) and status != 409:
                    kiosk_event(api, pb.EVENT_TYPE_ORDER_DEPOSITED, setup["reference"],
                                compartment_number=1, pickup_deadline=to_timestamp(
                                    datetime.now(timezone.utc) + timedelta(days=14)))
            body = setup.pop("json", {}) if verb == "post" else None
            params = {}
            caller = "auditor" if op.startswith(("GetReport", "GetOpenData")) else "supervisor"
            if status == 400:
                if verb == "post":
                    body = {**(body or {}), "no_such_field": 1}
                else:
                    params = {"no_such_parameter": "1"}
            if status == 401:
                caller = None
            if status == 403:
                caller = "kiosk"
            url = path.format(**{name: setup.get(name, "x") for name in names})
            with api.client(caller) as http:
                response = http.request(verb.upper(), url, json=body, params=params)
            seen.add((op, response.status_code))
            assert response.status_code == status, (op, status, response.text)
    assert seen == expected


def test_wrong_passwords_count_once_whichever_door_they_are_tried_at(api):
    with api.registry.server.db.transaction() as tx:
        identity.create_user(tx, "anna", "correct horse battery", "default",
                             frozenset({Role.CLERK}))
    wrong = base64.b64encode(b"anna:wrong password!").decode()
    with api.client(None) as http:
        for _ in range(identity.MAX_PASSWORD_FAILURES):
            answer = http.get("/orders", headers={"authorization": f"Basic {wrong}"})
            assert reason(answer) == "CREDENTIAL_INVALID"
    stub = pb_grpc.OfficeServiceStub(authenticated_channel(
        api.registry.channel, basic("anna", "correct horse battery")))
    assert grpc_reason(stub.ListPickupOrders, pb.ListPickupOrdersRequest()) == (
        grpc.StatusCode.UNAUTHENTICATED, "TOO_MANY_FAILURES")


def test_a_password_an_administrator_issued_is_refused_until_the_user_chose_their_own(api):
    with api.registry.server.db.transaction() as tx:
        identity.add_user(tx, identity.local_operator("test"), "anna", "default",
                          frozenset({Role.CLERK}), "issued by the operator")
    issued = base64.b64encode(b"anna:issued by the operator").decode()
    with api.client(None) as http:
        answer = http.get("/orders", headers={"authorization": f"Basic {issued}"})
    assert answer.status_code == 401 and reason(answer) == "PASSWORD_CHANGE_REQUIRED"
    assert "sign in to the office console" in answer.text


def test_an_oversized_body_is_refused_unread(api):
    with api.client() as http:
        answer = http.post("/orders", json={"kind": "DOCUMENT_KIND_ID_CARD",
                                            "contact": "x" * 70_000})
    assert (answer.status_code, reason(answer)) == (400, "INVALID_ARGUMENT")
    assert "64 KiB" in answer.json()["error"]["message"]


def test_a_key_over_plaintext_from_the_network_is_refused(api):
    """The HTTP door names its peer as gRPC does, so the gate's TLS rule holds for it."""
    def peer(host):
        return http_peer(Request({"type": "http", "client": (host, 5000), "headers": []}))

    assert peer("127.0.0.1").address == "ipv4:127.0.0.1:5000"
    assert peer("::1").address == "ipv6:[::1]:5000"
    authorization = f"Bearer {api.keys['integration']}"
    gate = api.registry.server.gate
    method = "/pickupbox.registry.v1.OfficeService/ListKiosks"
    assert gate.admit(method, authorization, peer("::1"), secure=False).name == "fv-integration"
    with pytest.raises(RegistryError) as refused:
        gate.admit(method, authorization, peer("10.0.0.5"), secure=False)
    assert refused.value.reason == "UNAUTHENTICATED" and "TLS" in refused.value.message
    assert gate.admit(method, authorization, peer("10.0.0.5"), secure=True) is not None
    denied = api.sql("SELECT detail FROM audit_log WHERE action = 'call.denied'")
    assert "credential over plaintext" in denied[-1]["detail"]


def test_grpc_codes_map_to_the_design_guides_http_statuses():
    expected = {
        grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.UNAUTHENTICATED: 401,
        grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
        grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.ABORTED: 409,
        grpc.StatusCode.FAILED_PRECONDITION: 409, grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
        grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.INTERNAL: 500,
    }
    assert {code: http_status(code) for code in expected} == expected


def test_order_actions_answer_with_the_grpc_reasons(api):
    reference = create(api, contact="c@example.org").json()["order"]["reference"]
    kiosk_event(api, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=1,
                pickup_deadline=to_timestamp(datetime.now(timezone.utc) + timedelta(days=14)))
    with api.client() as http:
        in_box = http.post(f"/orders/{reference}:returnToCounter", json={"reason": "counter"})
        assert (in_box.status_code, reason(in_box)) == (409, "ORDER_IN_BOX")
        assert "removed at the box first" in in_box.json()["error"]["message"]
        body = {"request_id": str(uuid.uuid4())}
        first = http.post(f"/orders/{reference}:resendReminder", json=body)
        assert first.status_code == 200 and first.json()["channel"] == "email"
        assert http.post(f"/orders/{reference}:resendReminder", json=body).json() == first.json()
    assert len(api.sql("SELECT * FROM audit_log WHERE action = 'order.reminder_resent'")) == 1
    with api.client("supervisor") as http:
        http.post("/staff", json={"staff_id": "finn", "card_uid": "04A1B2C3D4E5FE",
                                  "pin": "135790"})
        unlocked = http.post("/staff/finn:unlockCard", json={"reason": "checked"})
    assert unlocked.status_code == 200 and unlocked.json()["staff_member"]["card_unlock_time"]
    with api.client("integration") as http:  # an integration may not unlock cards
        assert reason(http.post("/staff/finn:unlockCard", json={})) == "ROLE_MISSING"
