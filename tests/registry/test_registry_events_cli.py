"""The operator's view of a kiosk's events: ListKioskEvents over real gRPC
(rights, tenants, filters, pages) and the `kiosk-registry kiosk events`,
`kiosk inspections` and `kiosk list` commands against a real server."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from common.convert import to_timestamp
from registry import identity
from registry.cli import main
from registry.errors import error_reason
from registry.events import open_inspections
from registry.permissions import Role
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc


def event(type_: int, compartment: int = 0, reference: str = "", detail: str = "",
          staff=()) -> pb.KioskEvent:
    return pb.KioskEvent(
        event_id=str(uuid.uuid4()), type=type_, compartment_number=compartment,
        order_reference=reference, detail=detail, staff_ids=list(staff),
    )


def report(registry, kiosk_id: str, *events: pb.KioskEvent) -> None:
    registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id=kiosk_id, events=list(events)), timeout=5
    )


def caller(registry, roles: set[Role], office: str = "default") -> pb_grpc.OfficeServiceStub:
    with registry.server.db.transaction() as tx:
        if tx.get_office(office) is None:
            tx.add_office(office, office)
        key = identity.create_api_key(tx, f"key-{uuid.uuid4().hex[:8]}", office, frozenset(roles))
    return pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(key)))


def list_events(stub, **fields) -> pb.ListKioskEventsResponse:
    return stub.ListKioskEvents(pb.ListKioskEventsRequest(**fields), timeout=5)


@pytest.fixture
def kiosk_with_events(registry, register_kiosk):
    register_kiosk("kiosk-1")
    report(
        registry, "kiosk-1",
        event(pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION, 6, "PO-AAAA", "door open across a crash"),
        event(pb.EVENT_TYPE_DOOR_FORCED, 3, detail="door 3 opened without a pulse"),
        event(pb.EVENT_TYPE_STAFF_LOGIN, staff=["anna"]),
        event(pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION, 2, "PO-BBBB", "handover cut"),
        event(pb.EVENT_TYPE_INSPECTION_RESOLVED, 2, "PO-BBBB", "handover confirmed",
              staff=["anna", "ben"]),
    )
    return registry


def test_a_supervisor_lists_every_event_in_order_with_its_fields(kiosk_with_events):
    stub = caller(kiosk_with_events, {Role.SUPERVISOR})
    events = list_events(stub, kiosk_id="kiosk-1").events
    assert [e.event.type for e in events] == [
        pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION, pb.EVENT_TYPE_DOOR_FORCED,
        pb.EVENT_TYPE_STAFF_LOGIN, pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION,
        pb.EVENT_TYPE_INSPECTION_RESOLVED,
    ]
    assert [e.alarm for e in events] == [True, True, False, True, False]
    last = events[-1]
    assert (last.kiosk_id, last.event.compartment_number, last.event.order_reference) == (
        "kiosk-1", 2, "PO-BBBB")
    assert list(last.event.staff_ids) == ["anna", "ben"]
    assert last.event.detail == "handover confirmed"
    assert last.receive_time.seconds > 0


def test_filters_by_type_alarms_and_time_and_pages(kiosk_with_events):
    stub = kiosk_with_events.office
    alarms = list_events(stub, kiosk_id="kiosk-1", alarms_only=True).events
    assert [e.event.compartment_number for e in alarms] == [6, 3, 2]
    forced = list_events(stub, kiosk_id="kiosk-1", types=[pb.EVENT_TYPE_DOOR_FORCED]).events
    assert [e.event.detail for e in forced] == ["door 3 opened without a pulse"]
    # A non-alarm type combined with alarms_only: nothing.
    assert not list_events(stub, kiosk_id="kiosk-1", alarms_only=True,
                           types=[pb.EVENT_TYPE_STAFF_LOGIN]).events
    future = to_timestamp(datetime(2999, 1, 1, tzinfo=timezone.utc))
    assert not list_events(stub, kiosk_id="kiosk-1", since_time=future).events
    seen, token = [], ""
    while True:
        page = list_events(stub, kiosk_id="kiosk-1", page_size=2, page_token=token)
        assert len(page.events) <= 2
        seen += [e.event.event_id for e in page.events]
        token = page.next_page_token
        if not token:
            break
    assert seen == [e.event.event_id for e in list_events(stub, kiosk_id="kiosk-1").events]


def test_technician_sees_events_without_order_references(kiosk_with_events):
    events = list_events(caller(kiosk_with_events, {Role.TECHNICIAN}), kiosk_id="kiosk-1").events
    assert len(events) == 5
    assert {e.event.order_reference for e in events} == {""}
    audited = list_events(caller(kiosk_with_events, {Role.AUDITOR}), kiosk_id="kiosk-1").events
    assert audited[0].event.order_reference == "PO-AAAA"


def test_clerk_and_another_office_are_refused(kiosk_with_events):
    with pytest.raises(grpc.RpcError) as caught:
        list_events(caller(kiosk_with_events, {Role.CLERK}), kiosk_id="kiosk-1")
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(caught.value) == "ROLE_MISSING"
    other = caller(kiosk_with_events, {Role.SUPERVISOR}, office="elsewhere")
    with pytest.raises(grpc.RpcError) as caught:
        list_events(other, kiosk_id="kiosk-1")
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(caught.value) == "OTHER_OFFICE"
    denied = kiosk_with_events.sql(
        "SELECT actor FROM audit_log WHERE outcome = 'denied' AND target = 'kiosk-1'")
    assert denied, "the refusal for another office is audited"


def test_bad_requests_name_the_field(kiosk_with_events):
    stub = kiosk_with_events.office
    for fields, name in [({"kiosk_id": ""}, "kiosk_id"),
                         ({"kiosk_id": "kiosk-1", "page_token": "x"}, "page_token"),
                         ({"kiosk_id": "kiosk-1", "types": [999]}, "types[0]")]:
        with pytest.raises(grpc.RpcError) as caught:
            list_events(stub, **fields)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert name in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        list_events(stub, kiosk_id="ghost")
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_open_inspections_rule():
    needs = pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION
    resolved = pb.EVENT_TYPE_INSPECTION_RESOLVED
    events = [event(needs, 6, detail="a"), event(needs, 2), event(resolved, 2),
              event(needs, 6, detail="b"), event(resolved, 9)]
    assert {n: e.detail for n, e in open_inspections(events).items()} == {6: "b"}
    assert open_inspections([event(needs, 4), event(resolved, 4), event(needs, 4)]).keys() == {4}


# ------------------------------------------------------------------ the CLI

@pytest.fixture
def cli(registry, monkeypatch, tmp_path, capsys):
    """`kiosk-registry ARGS` in the test's temp dir, as the local admin; the
    address comes from $KIOSK_REGISTRY_ADDRESS unless a test says otherwise."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PICKUPBOX_CREDENTIAL", str(registry.db_path.parent / "admin.credential"))
    monkeypatch.setenv("KIOSK_REGISTRY_ADDRESS", registry.address)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_events_text_json_type_and_alarms(kiosk_with_events, cli):
    code, out, err = cli("kiosk", "events", "kiosk-1")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 5
    assert "ALARM" in lines[1] and "DOOR_FORCED" in lines[1] and "compartment 3" in lines[1]
    assert "handover confirmed" in lines[4] and "(staff anna, ben)" in lines[4]
    code, out, _ = cli("kiosk", "events", "kiosk-1", "--alarms", "--json")
    alarms = json.loads(out)
    needs = "COMPARTMENT_NEEDS_INSPECTION"
    assert [(a["type"], a["compartment_number"]) for a in alarms] == [
        (needs, 6), ("DOOR_FORCED", 3), (needs, 2)]
    assert alarms[0]["order_reference"] == "PO-AAAA" and alarms[0]["alarm"] is True
    code, out, _ = cli("kiosk", "events", "kiosk-1", "--type", "door_forced",
                       "--type", "STAFF_LOGIN", "--json")
    assert [e["type"] for e in json.loads(out)] == ["DOOR_FORCED", "STAFF_LOGIN"]


def test_cli_events_follow_pages(kiosk_with_events, cli):
    more = [event(pb.EVENT_TYPE_DEVICE_FAULT, detail=f"fault {i}") for i in range(120)]
    report(kiosk_with_events, "kiosk-1", *more)  # beyond the default page of 100
    code, out, _ = cli("kiosk", "events", "kiosk-1", "--type", "DEVICE_FAULT", "--json")
    assert [e["detail"] for e in json.loads(out)] == [f"fault {i}" for i in range(120)]


def test_cli_events_bad_type_and_other_office(kiosk_with_events, cli, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        main(["kiosk", "events", "kiosk-1", "--type", "BANANA"])
    assert exit_.value.code == 2
    assert "'BANANA' is not an event type" in capsys.readouterr().err
    with kiosk_with_events.server.db.transaction() as tx:
        tx.add_office("elsewhere", "elsewhere")
        key = identity.create_api_key(tx, "north", "elsewhere", frozenset({Role.SUPERVISOR}))
    monkeypatch.setenv("PICKUPBOX_API_KEY", key)
    code, _, err = cli("kiosk", "events", "kiosk-1")
    assert code == 1 and "belongs to another office" in err


def test_cli_inspections(kiosk_with_events, register_kiosk, cli):
    register_kiosk("kiosk-2")
    report(kiosk_with_events, "kiosk-2",
           event(pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION, 1, "PO-CCCC", "disk full"))
    code, out, err = cli("kiosk", "inspections", "--json")
    assert code == 0, err
    assert [(i["kiosk_id"], i["compartment_number"], i["order_reference"], i["reason"])
            for i in json.loads(out)] == [
        ("kiosk-1", 6, "PO-AAAA", "door open across a crash"),
        ("kiosk-2", 1, "PO-CCCC", "disk full"),
    ]
    assert all(i["since"] for i in json.loads(out))
    code, out, _ = cli("kiosk", "inspections", "kiosk-1")
    assert out.count("\n") == 1
    assert "compartment 6" in out and "PO-AAAA" in out and "door open across a crash" in out
    report(kiosk_with_events, "kiosk-1",
           event(pb.EVENT_TYPE_INSPECTION_RESOLVED, 6, "PO-AAAA", "deposit completed"))
    code, out, _ = cli("kiosk", "inspections", "kiosk-1")
    assert out == "no compartment needs inspection\n"


def test_cli_kiosk_list_without_compartments(registry, register_kiosk, cli):
    register_kiosk("kiosk-1", states=(pb.COMPARTMENT_STATE_FREE, pb.COMPARTMENT_STATE_OCCUPIED,
                                      pb.COMPARTMENT_STATE_FREE,
                                      pb.COMPARTMENT_STATE_NEEDS_INSPECTION))
    code, out, _ = cli("kiosk", "list", "--json")
    assert len(json.loads(out)[0]["compartments"]) == 4
    code, out, _ = cli("kiosk", "list", "--json", "--no-compartments")
    (kiosk,) = json.loads(out)
    assert "compartments" not in kiosk
    assert kiosk["compartment_states"] == {"FREE": 2, "NEEDS_INSPECTION": 1, "OCCUPIED": 1}


def test_address_precedence(registry, register_kiosk, cli, monkeypatch, tmp_path):
    from registry.ops_cli import registry_address

    register_kiosk("kiosk-1")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[registry]\naddress = "embedded"\nembedded_listen = "{registry.address}"\n')
    monkeypatch.delenv("KIOSK_REGISTRY_ADDRESS")
    code, out, err = cli("kiosk", "list", "--kiosk-config", str(config))
    assert code == 0, err
    assert out.startswith("kiosk-1")
    remote = tmp_path / "remote.toml"
    remote.write_text('[registry]\naddress = "registry.example:443"\n')
    assert registry_address(None, str(remote), {}) == "registry.example:443"
    assert registry_address(None, str(remote), {"KIOSK_REGISTRY_ADDRESS": "env:1"}) == "env:1"
    assert registry_address("flag:1", str(remote), {"KIOSK_REGISTRY_ADDRESS": "env:1"}) == "flag:1"
    assert registry_address(None, None, {}) == "127.0.0.1:50051"
    # The kiosk's own default for embedded_listen.
    (tmp_path / "bare.toml").write_text("[kiosk]\nid = 'k'\n")
    assert registry_address(None, str(tmp_path / "bare.toml"), {}) == "127.0.0.1:50051"
    (tmp_path / "bad.toml").write_text("[registry]\nembedded_listen = 5\n")
    code, _, err = cli("kiosk", "list", "--kiosk-config", str(tmp_path / "bad.toml"))
    assert code == 1 and "registry.embedded_listen" in err
    code, _, err = cli("kiosk", "list", "--kiosk-config", str(tmp_path / "missing.toml"))
    assert code == 1 and "missing.toml" in err
