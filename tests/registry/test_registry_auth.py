"""Authentication on a registry started without extra flags (plaintext loopback),
the issue's attacks, credentials (revoked, wrong, passwords), and the rules
table as a pure function."""

from __future__ import annotations

import stat
import uuid

import grpc
import pytest

from common.auth import authenticated_channel, basic, bearer
from registry import identity, permissions
from registry.errors import error_reason
from registry.permissions import Permission, Principal, Role, decide
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc

OFFICE = permissions.OFFICE_SERVICE
KIOSK = permissions.KIOSK_SERVICE


def anonymous(registry):
    return (pb_grpc.OfficeServiceStub(registry.channel),
            pb_grpc.KioskServiceStub(registry.channel))


def refused(call, request, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=5, **kwargs)
    return caught.value


def test_mallory_and_remote_opening_fail_anonymously(registry, register_kiosk):
    register_kiosk("kiosk-1")
    office, kiosk = anonymous(registry)
    error = refused(office.CreateStaffMember, pb.CreateStaffMemberRequest(
        staff_id="mallory", card_uid="DEADBEEF", pin="135790"))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(error) == "UNAUTHENTICATED"
    error = refused(office.SendKioskCommand, pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(
            type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=1, reason="x")))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    error = refused(kiosk.SyncChanges, pb.SyncChangesRequest(kiosk_id="kiosk-1"))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "kiosk certificate or kiosk credential" in error.details()
    assert registry.sql("SELECT * FROM staff WHERE staff_id = 'mallory'") == []
    assert registry.sql("SELECT * FROM commands WHERE type = 'COMMAND_TYPE_OPEN_COMPARTMENT'") == []
    denied = registry.sql("SELECT actor, detail FROM audit_log WHERE action = 'call.denied'")
    assert len(denied) == 3 and all(r["actor"] == "anonymous" for r in denied)


def test_remote_opening_needs_supervisor_and_reason(registry, register_kiosk):
    register_kiosk("kiosk-1")
    with registry.server.db.transaction() as tx:
        clerk = identity.create_api_key(tx, "counter", "default", frozenset({Role.CLERK}))
    clerk_office = pb_grpc.OfficeServiceStub(
        authenticated_channel(registry.channel, bearer(clerk)))
    open_1 = pb.RemoteCommand(type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=1)
    error = refused(clerk_office.SendKioskCommand,
                    pb.SendKioskCommandRequest(kiosk_id="kiosk-1", command=open_1))
    assert (error.code(), error_reason(error)) == (grpc.StatusCode.PERMISSION_DENIED,
                                                   "ROLE_MISSING")
    assert "supervisor" in error.details()
    error = refused(registry.office.SendKioskCommand,
                    pb.SendKioskCommandRequest(kiosk_id="kiosk-1", command=open_1))
    assert error_reason(error) == "REASON_REQUIRED"
    open_1.reason = "citizen's door jammed, ticket 17"
    open_1.requested_by = "someone-else"
    registry.office.SendKioskCommand(
        pb.SendKioskCommandRequest(kiosk_id="kiosk-1", command=open_1), timeout=5)
    rows = registry.sql("SELECT requested_by FROM commands WHERE type LIKE '%OPEN%'")
    assert [r["requested_by"] for r in rows] == ["api_key:local-admin"]
    sent = registry.sql("SELECT actor, detail FROM audit_log WHERE action = 'command.sent'")
    assert len(sent) == 1 and "ticket 17" in sent[0]["detail"]


def test_a_kiosk_credential_acts_only_as_its_kiosk(registry, register_kiosk):
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-2")
    as_kiosk_1 = pb_grpc.KioskServiceStub(authenticated_channel(
        registry.channel, bearer(registry.kiosk.token("kiosk-1"))))
    error = refused(as_kiosk_1.AcknowledgeCommands,
                    pb.AcknowledgeCommandsRequest(kiosk_id="kiosk-2", command_ids=["c"]))
    assert error_reason(error) == "KIOSK_ID_MISMATCH"
    office = pb_grpc.OfficeServiceStub(authenticated_channel(
        registry.channel, bearer(registry.kiosk.token("kiosk-1"))))
    error = refused(office.ListKiosks, pb.ListKiosksRequest())
    assert error_reason(error) == "OFFICE_ONLY"


def test_revoked_and_wrong_credentials_are_refused_and_audited(registry):
    with registry.server.db.transaction() as tx:
        key = identity.create_api_key(tx, "fachverfahren", "default",
                                      frozenset({Role.INTEGRATION}))
    stub = pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(key)))
    stub.ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=5)
    token_id = key.split(".")[1]
    forged = f"pbx1.{token_id}.{'A' * 43}"
    error = refused(pb_grpc.OfficeServiceStub(
        authenticated_channel(registry.channel, bearer(forged))).ListPickupOrders,
        pb.ListPickupOrdersRequest())
    assert (error.code(), error_reason(error)) == (grpc.StatusCode.UNAUTHENTICATED,
                                                   "CREDENTIAL_INVALID")
    with registry.server.db.transaction() as tx:
        tx.revoke_principal(token_id)
    error = refused(stub.ListPickupOrders, pb.ListPickupOrdersRequest())
    assert error_reason(error) == "CREDENTIAL_REVOKED"
    assert "revoked" in error.details()
    failed = registry.sql("SELECT actor, detail FROM audit_log WHERE action = 'login.failed'")
    assert [r["actor"] for r in failed] == ["api_key:fachverfahren"] * 2
    assert key.split(".")[2] not in str([tuple(r) for r in registry.sql("SELECT * FROM audit_log")])


def test_user_with_password(registry):
    with registry.server.db.transaction() as tx:
        identity.create_user(tx, "anna", "correct horse battery", "default",
                             frozenset({Role.CLERK}))
    good = pb_grpc.OfficeServiceStub(authenticated_channel(
        registry.channel, basic("anna", "correct horse battery")))
    good.ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=5)
    bad = pb_grpc.OfficeServiceStub(authenticated_channel(
        registry.channel, basic("anna", "wrong horse battery")))
    error = refused(bad.ListPickupOrders, pb.ListPickupOrdersRequest())
    assert error.details() == "wrong user name or password"
    actions = [r["action"] for r in registry.sql("SELECT action FROM audit_log")]
    assert "login" in actions and "login.failed" in actions
    stored = registry.sql("SELECT secret_hash FROM principals WHERE name = 'anna'")[0][0]
    assert b"horse" not in stored and len(stored) == 32


def test_short_passwords_and_office_less_clerks_are_refused(registry):
    with registry.server.db.transaction() as tx:
        with pytest.raises(ValueError, match="12 characters"):
            identity.create_user(tx, "bob", "short", "default", frozenset({Role.CLERK}))
        with pytest.raises(ValueError, match="office"):
            identity.create_api_key(tx, "k", None, frozenset({Role.CLERK}))


def test_local_admin_credential_is_private(registry):
    path = registry.db_path.parent / "admin.credential"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((registry.db_path.parent / "audit.key").stat().st_mode) == 0o600


def test_health_needs_no_credential(registry):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    health = health_pb2_grpc.HealthStub(registry.channel)
    response = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


# ------------------------------------------------------- the rules, directly

SUPERVISOR = Principal("user", "sam", office_id="north", roles=frozenset({Role.SUPERVISOR}))
TECHNICIAN = Principal("user", "tim", office_id="north", roles=frozenset({Role.TECHNICIAN}))
AUDITOR = Principal("user", "aud", office_id="north", roles=frozenset({Role.AUDITOR}))
CLERK = Principal("user", "cle", office_id="north", roles=frozenset({Role.CLERK}))
KIOSK_A = Principal("kiosk", "kiosk-a", office_id="north", kiosk_id="kiosk-a")


@pytest.mark.parametrize("method, principal, reason", [
    (OFFICE + "CreatePickupOrder", None, "UNAUTHENTICATED"),
    (KIOSK + "SyncChanges", None, "UNAUTHENTICATED"),
    (OFFICE + "CreatePickupOrder", KIOSK_A, "OFFICE_ONLY"),
    (KIOSK + "SyncChanges", SUPERVISOR, "KIOSK_ONLY"),
    (OFFICE + "GetPickupOrder", TECHNICIAN, "ROLE_MISSING"),
    (OFFICE + "ListPickupOrders", AUDITOR, "ROLE_MISSING"),
    (OFFICE + "CreateStaffMember", CLERK, "ROLE_MISSING"),
    (OFFICE + "NoSuchMethod", SUPERVISOR, "UNKNOWN_METHOD"),
    (OFFICE + "CreateStaffMember", SUPERVISOR, ""),
    (OFFICE + "ListKiosks", TECHNICIAN, ""),
    (KIOSK + "SyncChanges", KIOSK_A, ""),
    ("/grpc.health.v1.Health/Check", None, ""),
])
def test_decide(method, principal, reason):
    decision = decide(method, principal)
    assert decision.allowed == (reason == "")
    assert decision.reason == reason


def test_every_served_method_is_in_the_table():
    served = {f"/{svc.full_name}/{m.name}" for svc in pb.DESCRIPTOR.services_by_name.values()
              for m in svc.methods}
    assert served == set(permissions.RPC_PERMISSIONS)


def test_commands_and_tenants():
    open_ = pb.COMMAND_TYPE_OPEN_COMPARTMENT
    assert not permissions.check_command(TECHNICIAN, open_, "why").allowed
    assert permissions.check_command(TECHNICIAN, pb.COMMAND_TYPE_SET_OUT_OF_SERVICE, "").allowed
    assert permissions.check_command(SUPERVISOR, open_, " ").reason == "REASON_REQUIRED"
    assert permissions.check_command(SUPERVISOR, open_, "jammed").allowed
    assert permissions.check_office(SUPERVISOR, "south").reason == "OTHER_OFFICE"
    operator = Principal("api_key", "op", roles=frozenset({Role.ADMIN}))
    assert permissions.check_office(operator, "south").allowed
    assert permissions.check_kiosk(KIOSK_A, "kiosk-b").reason == "KIOSK_ID_MISMATCH"
    assert Permission.ORDERS_READ not in TECHNICIAN.permissions


def test_retry_secrets_belong_to_their_creator(registry):
    request_id = str(uuid.uuid4())
    first = registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=pb.DOCUMENT_KIND_ID_CARD, request_id=request_id), timeout=5)
    with registry.server.db.transaction() as tx:
        other = identity.create_api_key(tx, "other", "default", frozenset({Role.CLERK}))
    stub = pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(other)))
    again = stub.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=pb.DOCUMENT_KIND_ID_CARD, request_id=request_id), timeout=5)
    assert again.order.reference == first.order.reference
    assert (again.pickup_code, again.pin) == ("", "")


def test_every_rpc_fails_anonymously_on_plaintext_loopback(registry, register_kiosk):
    from tests.integration.test_access_matrix import kiosk_calls, office_calls

    register_kiosk("kiosk-a")
    office, kiosk = anonymous(registry)
    for name, call in office_calls("PO-ANY"):
        with pytest.raises(grpc.RpcError) as caught:
            call(office)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED, name
    for name, call in kiosk_calls("PO-ANY"):
        with pytest.raises(grpc.RpcError) as caught:
            call(kiosk)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED, name
    if registry.server.db.dialect == "sqlite":  # PostgreSQL's files are the server's
        assert stat.S_IMODE(registry.db_path.stat().st_mode) == 0o600


def test_an_expired_key_is_refused(registry):
    from datetime import timedelta

    from registry.database import utcnow

    with registry.server.db.transaction() as tx:
        key = identity.create_api_key(tx, "old", "default", frozenset({Role.CLERK}),
                                      utcnow() - timedelta(seconds=1))
    stub = pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(key)))
    error = refused(stub.ListPickupOrders, pb.ListPickupOrdersRequest())
    assert (error.code(), error_reason(error)) == (grpc.StatusCode.UNAUTHENTICATED,
                                                   "CREDENTIAL_EXPIRED")


def _non_loopback_address() -> str | None:
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_credentials_over_plaintext_from_the_network_are_refused(registry_at, tmp_path):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    from registry.server import create_server
    from tests.registry.conftest import TEST_KDF

    server = create_server("0.0.0.0:0", tmp_path / "r.sqlite3", kdf_params=TEST_KDF)
    server.start()
    try:
        from tests.auth_support import admin_token

        with grpc.insecure_channel(f"{address}:{server.port}") as channel:
            stub = pb_grpc.OfficeServiceStub(authenticated_channel(
                channel, bearer(admin_token(tmp_path / "r.sqlite3"))))
            error = refused(stub.ListPickupOrders, pb.ListPickupOrdersRequest())
        assert error.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "only over TLS" in error.details()
    finally:
        server.stop(grace=0)


def test_password_guessing_is_cut_off(registry):
    with registry.server.db.transaction() as tx:
        identity.create_user(tx, "carl", "the right password", "default",
                             frozenset({Role.CLERK}))

    def attempt(password: str) -> grpc.RpcError | None:
        stub = pb_grpc.OfficeServiceStub(authenticated_channel(
            registry.channel, basic("carl", password)))
        try:
            stub.ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=10)
        except grpc.RpcError as error:
            return error
        return None

    for i in range(identity.MAX_PASSWORD_FAILURES):
        assert error_reason(attempt(f"guess {i:06d}")) == "CREDENTIAL_INVALID"
    error = attempt("the right password")  # even the right one waits now
    assert error_reason(error) == "TOO_MANY_FAILURES"
    assert "try again in" in error.details()


def test_a_kiosk_cannot_report_another_kiosks_order_collected(registry, register_kiosk,
                                                              create_order):
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-2")
    reference = create_order(kiosk_id="kiosk-1").order.reference
    registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-2", events=[
        pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_COLLECTED,
                      order_reference=reference)]), timeout=5)
    order = registry.office.GetPickupOrder(pb.GetPickupOrderRequest(reference=reference),
                                           timeout=5).order
    assert order.status == pb.ORDER_STATUS_ANNOUNCED
    refused_events = registry.sql("SELECT actor FROM audit_log WHERE action = 'event.refused'")
    assert [r["actor"] for r in refused_events] == ["kiosk:kiosk-2"]


def test_may_apply():
    from registry.events import may_apply

    class Order:
        kiosk_id, office_id = "kiosk-1", "north"

    assert may_apply(Order, pb.EVENT_TYPE_ORDER_COLLECTED, "kiosk-1", "north")
    assert not may_apply(Order, pb.EVENT_TYPE_ORDER_COLLECTED, "kiosk-2", "north")
    assert may_apply(Order, pb.EVENT_TYPE_ORDER_DEPOSITED, "kiosk-2", "north")
    assert not may_apply(Order, pb.EVENT_TYPE_ORDER_DEPOSITED, "kiosk-3", "south")


def test_a_refusal_inside_a_call_is_audited_after_the_rollback(registry, register_kiosk):
    """The office check of SendKioskCommand runs inside the call's transaction:
    the refusal rolls it back, and its audit entry must still be written."""
    from tests.auth_support import enrol

    enrol(registry.server.db, "kiosk-b", office_id="office-b")
    with registry.server.db.transaction() as tx:
        supervisor = identity.create_api_key(
            tx, "a-supervisor", "default", frozenset({Role.SUPERVISOR}))
    office_a = pb_grpc.OfficeServiceStub(authenticated_channel(registry.channel, bearer(supervisor)))
    open_1 = pb.RemoteCommand(type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=1,
                              reason="a look inside")
    error = refused(office_a.SendKioskCommand,
                    pb.SendKioskCommandRequest(kiosk_id="kiosk-b", command=open_1))
    assert error_reason(error) == "OTHER_OFFICE"
    denied = registry.sql("SELECT actor, target, detail FROM audit_log WHERE action = 'call.denied'")
    assert [(r["actor"], r["target"]) for r in denied] == [("api_key:a-supervisor", "kiosk-b")]
    assert registry.sql("SELECT * FROM commands WHERE kiosk_id = 'kiosk-b'") == []


def test_a_bound_client_certificate_names_its_principal_until_revoked(registry, capsys):
    """`cert add` on the server's backend: the certificate's name finds the
    integration principal, a name already in use is refused, revoking refuses it."""
    from registry.cli import main

    db = registry.db_target
    assert main(["cert", "add", "fachverfahren", "--certificate-name", "fv.example",
                 "--office", "default", "--db", db]) == 0
    assert main(["cert", "add", "other", "--certificate-name", "fv.example", "--office",
                 "default", "--db", db]) == 1
    assert "already belongs to client certificate principal" in capsys.readouterr().err
    authenticator = identity.Authenticator(registry.server.db)
    peer = identity.Peer("ipv4:127.0.0.1:1", ("unknown.example", "fv.example"))
    principal = authenticator.authenticate(None, peer)
    assert (principal.kind, principal.name, principal.office_id) == \
        ("client_cert", "fachverfahren", "default")
    assert Role.INTEGRATION in principal.roles

    assert main(["cert", "revoke", principal.principal_id, "--db", db]) == 0
    with pytest.raises(identity.AuthError) as refused:
        authenticator.authenticate(None, peer)
    assert refused.value.reason == permissions.CREDENTIAL_REVOKED


def test_acting_as_makes_the_caller_current_and_puts_the_previous_one_back():
    """The one way every front door (gRPC, HTTP API, console) names a call's caller."""
    from registry import auth

    clerk = Principal("user", "clara", "p1", "north", frozenset({Role.CLERK}))
    admin = Principal("user", "adam", "p2", "north", frozenset({Role.ADMIN}))
    with auth.acting_as(clerk, "console:127.0.0.1", "m1"):
        assert auth.current_principal() is clerk and auth.current_peer() == "console:127.0.0.1"
        with auth.acting_as(admin, "http:127.0.0.1", "m2"):
            assert auth.current_principal() is admin and auth.current_peer() == "http:127.0.0.1"
        assert auth.current_principal() is clerk and auth.current_peer() == "console:127.0.0.1"
    with pytest.raises(RuntimeError, match="no authenticated principal"):
        auth.current_principal()
