"""Every RPC, called by everyone who must not get in, against a real registry
with mTLS (certificates made by openssl): only the allowed calls pass.

Office "north" owns kiosk-a (certificate CN=kiosk-a), an order and a staff
member. Callers: nobody (an office certificate without a key), kiosk-b's
certificate (enrolled in office "south"), and an API key of each role in
office "south". Each targets north's data.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
import uuid

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from common.convert import to_timestamp
from common.tls import channel_credentials, server_credentials
from registry import identity
from registry.errors import error_reason
from registry.notifier import DirectoryNotifier
from registry.permissions import RPC_PERMISSIONS, Role
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from tests.integration.conftest import FAST_KDF
from tests.integration.test_tls import pki  # noqa: F401  (the module's PKI fixture)

pytestmark = pytest.mark.usefixtures("pki")

LAYOUT = [pb.Compartment(number=n, size=pb.COMPARTMENT_SIZE_S, column=1, row=n,
                         state=pb.COMPARTMENT_STATE_FREE) for n in (1, 2)]
# North's forced door (reported by kiosk-a when the world starts).
ALARM_ID = "north-door-forced"
SOUTH_ROLES = [Role.CLERK, Role.SUPERVISOR, Role.TECHNICIAN, Role.AUDITOR, Role.INTEGRATION]


class World:
    def __init__(self, tmp_path, pki):
        self.pki = pki
        self.server = create_server(
            "127.0.0.1:0", tmp_path / "registry.sqlite3",
            notifier=DirectoryNotifier(tmp_path / "n"), kdf_params=FAST_KDF,
            stream_poll_seconds=0.2,
            server_credentials=server_credentials(pki / "server.pem", pki / "server.key",
                                                  pki / "ca.pem"),
        )
        db = self.server.db
        enrol(db, "kiosk-a", "north", certificate_name="kiosk-a")
        enrol(db, "kiosk-b", "south", certificate_name="kiosk-b")
        self.keys: dict[tuple[str, Role], str] = {}
        with db.transaction() as tx:
            for office, role in itertools.product(("north", "south"), [*SOUTH_ROLES]):
                self.keys[(office, role)] = identity.create_api_key(
                    tx, f"{office}-{role.value}", office, frozenset({role}))
        self.server.start()
        self.port = self.server.port
        self.channels: list[grpc.Channel] = []
        self.kiosk("kiosk-a").RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-a", compartments=LAYOUT), timeout=5)
        north = self.office(self.keys[("north", Role.SUPERVISOR)])
        self.reference = north.CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_ID_CARD, pin="482915", contact="citizen@example.org"),
            timeout=5).order.reference
        north.CreateStaffMember(pb.CreateStaffMemberRequest(
            staff_id="anna", card_uid="04A1B2C3D4E5F6", pin="246810"), timeout=5)
        self.kiosk("kiosk-a").ReportEvents(pb.ReportEventsRequest(
            kiosk_id="kiosk-a", events=[pb.KioskEvent(
                event_id=ALARM_ID, type=pb.EVENT_TYPE_DOOR_FORCED, compartment_number=2,
                order_reference=self.reference)]), timeout=5)

    def _channel(self, cert: str, token: str | None) -> grpc.Channel:
        creds = channel_credentials(self.pki / "ca.pem", self.pki / f"{cert}.pem",
                                    self.pki / f"{cert}.key")
        channel = grpc.secure_channel(f"127.0.0.1:{self.port}", creds)
        self.channels.append(channel)
        return authenticated_channel(channel, bearer(token)) if token else channel

    def kiosk(self, cert: str) -> pb_grpc.KioskServiceStub:
        return pb_grpc.KioskServiceStub(self._channel(cert, None))

    def office(self, token: str | None, cert: str = "office-app") -> pb_grpc.OfficeServiceStub:
        return pb_grpc.OfficeServiceStub(self._channel(cert, token))

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.server.stop(grace=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory, pki):  # noqa: F811
    w = World(tmp_path_factory.mktemp("matrix"), pki)
    yield w
    w.close()


def kiosk_calls(ref: str):
    """(name, call(stub)) for each KioskService method, acting as kiosk-a."""
    return [
        ("RegisterKiosk", lambda s: s.RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-a", compartments=LAYOUT[:1]), timeout=5)),
        ("Heartbeat", lambda s: s.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-a"), timeout=5)),
        ("SyncChanges", lambda s: s.SyncChanges(
            pb.SyncChangesRequest(kiosk_id="kiosk-a"), timeout=5)),
        ("ReportEvents", lambda s: s.ReportEvents(pb.ReportEventsRequest(
            kiosk_id="kiosk-a", events=[pb.KioskEvent(
                event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_DEVICE_FAULT,
                order_reference=ref)]), timeout=5)),
        ("StreamCommands", lambda s: next(iter(s.StreamCommands(
            pb.StreamCommandsRequest(kiosk_id="kiosk-a"), timeout=2)))),
        ("AcknowledgeCommands", lambda s: s.AcknowledgeCommands(
            pb.AcknowledgeCommandsRequest(kiosk_id="kiosk-a", command_ids=["x"]), timeout=5)),
        ("ReportAuditEntries", lambda s: s.ReportAuditEntries(
            pb.ReportAuditEntriesRequest(kiosk_id="kiosk-a"), timeout=5)),
    ]


def office_calls(ref: str):
    """(name, call(stub)) for each OfficeService method, aimed at north's data."""
    return [
        ("CreatePickupOrder", lambda s: s.CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_ID_CARD, kiosk_id="kiosk-a"), timeout=5)),
        ("CancelPickupOrder", lambda s: s.CancelPickupOrder(
            pb.CancelPickupOrderRequest(reference=ref), timeout=5)),
        ("ReissuePickupCode", lambda s: s.ReissuePickupCode(
            pb.ReissuePickupCodeRequest(reference=ref), timeout=5)),
        ("GetPickupOrder", lambda s: s.GetPickupOrder(
            pb.GetPickupOrderRequest(reference=ref), timeout=5)),
        ("ListPickupOrders", lambda s: s.ListPickupOrders(
            pb.ListPickupOrdersRequest(), timeout=5)),
        ("ListKiosks", lambda s: s.ListKiosks(pb.ListKiosksRequest(), timeout=5)),
        ("SendKioskCommand", lambda s: s.SendKioskCommand(pb.SendKioskCommandRequest(
            kiosk_id="kiosk-a", command=pb.RemoteCommand(
                type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=1,
                reason="test")), timeout=5)),
        ("CreateStaffMember", lambda s: s.CreateStaffMember(pb.CreateStaffMemberRequest(
            staff_id=f"mallory-{uuid.uuid4().hex[:6]}", card_uid="DEADBEEF", pin="135790"),
            timeout=5)),
        ("ListStaffMembers", lambda s: s.ListStaffMembers(
            pb.ListStaffMembersRequest(), timeout=5)),
        ("DeactivateStaffMember", lambda s: s.DeactivateStaffMember(
            pb.DeactivateStaffMemberRequest(staff_id="anna"), timeout=5)),
        ("ListKioskEvents", lambda s: s.ListKioskEvents(
            pb.ListKioskEventsRequest(kiosk_id="kiosk-a"), timeout=5)),
        ("ListOrderMessages", lambda s: s.ListOrderMessages(
            pb.ListOrderMessagesRequest(reference=ref), timeout=5)),
        ("ExtendPickupDeadline", lambda s: s.ExtendPickupDeadline(
            pb.ExtendPickupDeadlineRequest(reference=ref, pickup_deadline=to_timestamp(
                datetime.now(timezone.utc) + timedelta(days=30))), timeout=5)),
        ("MarkReturnedToCounter", lambda s: s.MarkReturnedToCounter(
            pb.MarkReturnedToCounterRequest(reference=ref), timeout=5)),
        ("ResendPickupReminder", lambda s: s.ResendPickupReminder(
            pb.ResendPickupReminderRequest(reference=ref), timeout=5)),
        ("UnlockStaffCard", lambda s: s.UnlockStaffCard(
            pb.UnlockStaffCardRequest(staff_id="anna"), timeout=5)),
        ("ListAlarms", lambda s: s.ListAlarms(pb.ListAlarmsRequest(), timeout=5)),
        ("AcknowledgeAlarm", lambda s: s.AcknowledgeAlarm(pb.AcknowledgeAlarmRequest(
            alarm_id=ALARM_ID, comment="test"), timeout=5)),
    ]


def test_the_matrix_covers_every_rpc():
    names = {n for n, _ in kiosk_calls("r")} | {n for n, _ in office_calls("r")}
    assert names == {method.rsplit("/", 1)[1] for method in RPC_PERMISSIONS}
    served = {m.name for svc in pb.DESCRIPTOR.services_by_name.values() for m in svc.methods}
    assert names == served


def _outcome(call, stub):
    try:
        return "ok", call(stub)
    except grpc.RpcError as error:
        return error.code(), error_reason(error)


@pytest.mark.parametrize("rpc", [n for n, _ in kiosk_calls("r")])
def test_kiosk_service_refuses_everyone_but_the_kiosk_itself(world, rpc):
    call = dict(kiosk_calls(world.reference))[rpc]
    assert _outcome(call, world.kiosk("kiosk-a"))[0] == "ok"
    # Nobody: an office certificate the registry does not know, no key.
    assert _outcome(call, pb_grpc.KioskServiceStub(world._channel("office-app", None))) == (
        grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_NOT_ENROLLED")
    # Another kiosk's certificate, acting as kiosk-a.
    assert _outcome(call, world.kiosk("kiosk-b")) == (
        grpc.StatusCode.PERMISSION_DENIED, "KIOSK_ID_MISMATCH")
    # Office principals, even north's own supervisor, never call the KioskService.
    for office, role in [("south", Role.SUPERVISOR), ("north", Role.SUPERVISOR)]:
        stub = pb_grpc.KioskServiceStub(world._channel("office-app", world.keys[(office, role)]))
        assert _outcome(call, stub) == (grpc.StatusCode.PERMISSION_DENIED, "KIOSK_ONLY")


@pytest.mark.parametrize("rpc", [n for n, _ in office_calls("r")])
def test_office_service_refuses_kiosks_and_anonymous_callers(world, rpc):
    call = dict(office_calls(world.reference))[rpc]
    assert _outcome(call, world.office(None)) == (
        grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_NOT_ENROLLED")
    for cert in ("kiosk-a", "kiosk-b"):
        assert _outcome(call, world.office(None, cert=cert)) == (
            grpc.StatusCode.PERMISSION_DENIED, "OFFICE_ONLY")


LISTS = {"ListPickupOrders", "ListKiosks", "ListStaffMembers", "ListAlarms"}


@pytest.mark.parametrize("role", SOUTH_ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("rpc", [n for n, _ in office_calls("r")])
def test_another_office_sees_and_touches_nothing(world, rpc, role):
    call = dict(office_calls(world.reference))[rpc]
    code, result = _outcome(call, world.office(world.keys[("south", role)]))
    if code != "ok":
        assert code is grpc.StatusCode.PERMISSION_DENIED
        assert result in ("ROLE_MISSING", "OTHER_OFFICE")
        return
    # What passes either lists south's (empty) world or creates in south.
    assert rpc in LISTS | {"CreateStaffMember"}
    if rpc == "ListPickupOrders":
        assert world.reference not in [o.reference for o in result.orders]
    elif rpc == "ListKiosks":
        assert "kiosk-a" not in [k.kiosk_id for k in result.kiosks]
    elif rpc == "ListStaffMembers":
        assert "anna" not in [m.staff_id for m in result.staff_members]
    elif rpc == "ListAlarms":
        assert ALARM_ID not in [a.alarm_id for a in result.alarms]
    else:  # a south staff card is never handed to north's kiosk
        synced = world.kiosk("kiosk-a").SyncChanges(
            pb.SyncChangesRequest(kiosk_id="kiosk-a"), timeout=5)
        assert [s.staff_id for s in synced.staff] == ["anna"]


def test_north_order_untouched_after_the_matrix(world):
    # Run last in this module's order: nothing above changed north's order.
    order = world.office(world.keys[("north", Role.CLERK)]).GetPickupOrder(
        pb.GetPickupOrderRequest(reference=world.reference), timeout=5).order
    assert order.status == pb.ORDER_STATUS_ANNOUNCED
    # Nor acknowledged north's alarm.
    alarms = world.office(world.keys[("north", Role.SUPERVISOR)]).ListAlarms(
        pb.ListAlarmsRequest(), timeout=5).alarms
    assert {a.alarm_id: a.state for a in alarms}[ALARM_ID] == pb.ALARM_STATE_OPEN


@pytest.mark.parametrize("role", SOUTH_ROLES, ids=lambda r: r.value)
def test_own_office_roles_get_exactly_their_rights(world, role):
    stub = world.office(world.keys[("north", role)])
    allowed = {"GetPickupOrder", "ListPickupOrders", "ListKiosks", "ListOrderMessages"}
    expected = {
        Role.CLERK: allowed,
        Role.INTEGRATION: allowed,
        Role.SUPERVISOR: allowed | {"SendKioskCommand", "ListStaffMembers", "ListKioskEvents",
                                    "UnlockStaffCard", "ListAlarms"},
        Role.TECHNICIAN: {"ListKiosks", "ListKioskEvents", "ListAlarms"},
        Role.AUDITOR: {"ListKioskEvents", "ListAlarms"},
    }[role]
    passed = set()
    for rpc in ("GetPickupOrder", "ListPickupOrders", "ListKiosks", "SendKioskCommand",
                "ListStaffMembers", "ListKioskEvents", "ListOrderMessages", "UnlockStaffCard",
                "ListAlarms"):
        code, reason = _outcome(dict(office_calls(world.reference))[rpc], stub)
        if code == "ok":
            passed.add(rpc)
        else:
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_MISSING")
    assert passed == expected


def test_kiosk_certificate_maps_to_its_own_kiosk_only(world):
    # kiosk-a's certificate calling as kiosk-b: refused, and nothing registered.
    with pytest.raises(grpc.RpcError) as caught:
        world.kiosk("kiosk-a").RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-b", compartments=LAYOUT[:1]), timeout=5)
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "belongs to kiosk kiosk-a, not kiosk-b" in caught.value.details()
    with world.server.db.transaction() as tx:
        assert tx.get_kiosk("kiosk-b") is None
        denied = [e for e in tx.audit_entries() if e.action == "call.denied"]
    assert any(e.actor == "kiosk:kiosk-a" and "KIOSK_ID_MISMATCH" in e.detail for e in denied)
