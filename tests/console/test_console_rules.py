"""The console's pure rules: sessions end when they should, redirects stay on
this site, and in-process calls meet the same gate as gRPC calls."""

from __future__ import annotations

import grpc
import pytest

from registry import auth
from registry.console.app import local_path
from registry.console.calls import OfficeCaller, ServiceError
from registry.console.sessions import SessionStore, same_secret
from registry.database import RegistryDatabase
from registry.errors import invalid_argument
from registry.permissions import Principal, Role
from pickupbox.registry.v1 import registry_pb2 as pb


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_while_used_and_ends_after_idle_time():
    clock = Clock()
    store = SessionStore(idle_seconds=60, clock=clock)
    token, session = store.create("p1", "user:anna")
    clock.now += 59
    assert store.lookup(token) == (session, None)
    clock.now += 59  # each request restarts the idle clock
    assert store.lookup(token) == (session, None)
    clock.now += 61
    assert store.lookup(token) == (None, session)  # said once: it ran idle
    assert store.lookup(token) == (None, None)


def test_sessions_are_kept_under_a_hash_and_revoked_one_or_all():
    store = SessionStore()
    token, _ = store.create("p1", "user:anna")
    other, _ = store.create("p1", "user:anna")
    third, _ = store.create("p2", "user:ben")
    assert token not in repr(store._sessions)  # the store never holds the token itself
    store.revoke(token)
    assert store.lookup(token) == (None, None)
    assert store.revoke_principal("p1") == 1
    assert store.lookup(other) == (None, None) and store.lookup(third)[0] is not None
    assert len(store) == 1


def test_each_session_has_its_own_csrf_token_compared_exactly():
    store = SessionStore()
    _, first = store.create("p1", "user:anna")
    _, second = store.create("p1", "user:anna")
    assert first.csrf != second.csrf and len(first.csrf) >= 40
    assert same_secret(first.csrf, first.csrf)
    assert not same_secret("", "") and not same_secret(second.csrf, first.csrf)


@pytest.mark.parametrize("target, expected", [
    ("/orders?status=announced", "/orders?status=announced"),
    ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil", "/"), ("", "/"),
    (None, "/"),
])
def test_redirects_stay_on_this_site(target, expected):
    assert local_path(target) == expected


class Servicer:
    """A probe in the OfficeServicer's place: records what a call sees."""

    def __init__(self) -> None:
        self.seen = None

    def ListKiosks(self, request, context):
        self.seen = (auth.current_principal(), auth.current_peer(), context.peer())
        return pb.ListKiosksResponse()

    def GetPickupOrder(self, request, context):
        context.abort_with_status(invalid_argument("reference", "is required").to_status())


CLERK = Principal(kind="user", name="clara", office_id="default", roles=frozenset({Role.CLERK}))
TECHNICIAN = Principal(kind="user", name="tina", office_id="default",
                       roles=frozenset({Role.TECHNICIAN}))


@pytest.fixture
def db(tmp_path):
    database = RegistryDatabase(tmp_path / "registry.sqlite3")
    yield database
    database.close()


def test_a_call_runs_as_the_principal_and_the_context_is_restored(db):
    servicer = Servicer()
    caller = OfficeCaller(servicer, db, CLERK, "console:127.0.0.1")
    caller.call_sync("ListKiosks", pb.ListKiosksRequest())
    assert servicer.seen == (CLERK, "console:127.0.0.1", "console:127.0.0.1")
    with pytest.raises(RuntimeError):
        auth.current_principal()  # nothing leaks out of the call


def test_a_call_the_permissions_refuse_never_reaches_the_servicer_and_is_audited(db):
    caller = OfficeCaller(Servicer(), db, TECHNICIAN, "console:127.0.0.1")
    with pytest.raises(ServiceError) as refused:
        caller.call_sync("GetPickupOrder", pb.GetPickupOrderRequest(reference="PO-1"))
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.reason == "ROLE_MISSING"
    with db.transaction() as tx:
        denied = tx.query("SELECT actor, detail FROM audit_log WHERE action = 'call.denied'")
    assert [row["actor"] for row in denied] == ["user:tina"]
    assert '"ROLE_MISSING"' in denied[0]["detail"] and "GetPickupOrder" in denied[0]["detail"]


def test_a_servicers_refusal_arrives_with_its_reason_and_field(db):
    caller = OfficeCaller(Servicer(), db, CLERK, "console:127.0.0.1")
    with pytest.raises(ServiceError) as refused:
        caller.call_sync("GetPickupOrder", pb.GetPickupOrderRequest())
    error = refused.value
    assert (error.code, error.reason, error.field) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "reference")
    assert error.message == "reference: is required"
