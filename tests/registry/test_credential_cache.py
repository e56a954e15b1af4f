"""Believed kiosk credentials (registry.identity, registry.credential_watch):
a verified kiosk credential is believed for minutes, yet a revocation takes
effect at once in the revoking process, within about a second on another
instance (NOTIFY) and on a SQLite file another process revoked on (the poll),
and whatever may have missed a revocation forgets what it believes."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from common.auth import bearer
from registry import credential_watch, identity, permissions
from registry.credential_watch import CredentialWatch, must_forget
from registry.errors import error_reason
from registry.identity import BelievedKiosk, believed
from registry.permissions import Principal, Role
from registry.server import create_server
from registry.database import RegistryDatabase
from registry.wakeup import wakeup_for
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from tests.registry.conftest import TEST_KDF

BACKENDS = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
PEER = identity.Peer("ipv4:127.0.0.1:1", ())
# How long a test waits for what must happen within about a second.
PROMPTLY = 10.0


def wait_until(condition, timeout: float = PROMPTLY) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# ------------------------------------------------------------ the rules

KIOSK = Principal(kind="kiosk", name="k1", principal_id="t1", office_id="default", kiosk_id="k1")
WALL = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entry(**changes) -> BelievedKiosk:
    fields = {"fingerprint": hashlib.sha256(b"token").digest(), "principal": KIOSK,
              "expires": None, "checked_at": 100.0, "generation": 3}
    return BelievedKiosk(**{**fields, **changes})


def test_a_verified_kiosk_credential_is_believed_for_the_ttl_and_no_longer():
    token = hashlib.sha256(b"token").digest()
    ttl = identity.KIOSK_CREDENTIAL_TTL_SECONDS
    assert ttl >= 60  # long enough that a fleet's calls almost never read a credential
    assert believed(entry(), token, 100.0 + ttl - 0.001, 3, WALL)
    assert not believed(entry(), token, 100.0 + ttl, 3, WALL)
    assert not believed(entry(), token, 99.0, 3, WALL)  # a clock gone backwards: read again


def test_a_believed_credential_needs_the_same_token_no_revocation_since_and_no_expiry():
    token = hashlib.sha256(b"token").digest()
    assert not believed(entry(), hashlib.sha256(b"tokeN").digest(), 101.0, 3, WALL)
    assert not believed(entry(), token, 101.0, 4, WALL)  # a revocation was counted since
    assert believed(entry(expires=WALL + timedelta(seconds=1)), token, 101.0, 3, WALL)
    assert not believed(entry(expires=WALL), token, 101.0, 3, WALL)


def test_the_watch_forgets_on_a_changed_counter_and_on_a_failed_read():
    assert not must_forget(5, 5)
    assert must_forget(5, 6)
    assert must_forget(None, 0)  # nothing read before: cannot tell
    assert must_forget(5, None)  # unreadable: a revocation may have been missed


# ----------------------------------------------- revocations count, everywhere

@BACKENDS
def test_every_revocation_bumps_the_counter_and_nothing_else_does(open_database, backend):
    db = open_database()
    start = db.credentials_seq()
    enrol(db, "count-1")  # a first enrolment revokes nothing
    enrol(db, "count-2")
    assert db.credentials_seq() == start
    enrol(db, "count-1")  # a new credential: the old one is revoked
    assert db.credentials_seq() == start + 1
    with db.transaction() as tx:
        key = identity.create_api_key(tx, "count", "default", frozenset({Role.CLERK}))
        tx.add_office("north", "North")
    assert db.credentials_seq() == start + 1
    with db.transaction() as tx:
        assert tx.revoke_principal(key.split(".")[1])
        tx.revoke_kiosk_credentials("count-2")  # two revocations, one transaction: one bump
    assert db.credentials_seq() == start + 2
    with db.transaction() as tx:
        tx.enrol_kiosk("count-1", "north", None)  # believed credentials name the old office
    assert db.credentials_seq() == start + 3
    generation = db.credentials_generation
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx.revoke_kiosk_credentials("count-1")
            raise RuntimeError("rolled back")
    assert (db.credentials_seq(), db.credentials_generation) == (start + 3, generation)


@BACKENDS
def test_a_full_check_reads_once_and_a_believed_one_not_at_all(open_database, backend):
    db = open_database()
    token = enrol(db, "reads-1")
    authenticator = identity.Authenticator(db)
    statements: list[str] = []
    engines = [db.engine] + ([db._readers] if db._readers is not None else [])

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        principal = authenticator.authenticate(f"Bearer {token}", PEER)
        full = [s for s in statements if "principals" in s or "kiosk_enrolments" in s]
        statements.clear()
        for _ in range(20):
            assert authenticator.authenticate(f"Bearer {token}", PEER) == principal
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert principal.kiosk_id == "reads-1"
    assert len(full) == 1  # principal and enrolment in one statement
    assert [s for s in statements if "principals" in s or "kiosk_enrolments" in s] == []


def _blocking_credential_read(db, when: str):
    """Holds the first credential read (before or after it ran) until released."""
    reached, release = threading.Event(), threading.Event()
    reads: list[str] = []
    engine = db._readers if db._readers is not None else db.engine

    def hook(conn, cursor, statement, *args):
        if "enrolled_kiosk" in statement:
            reads.append(statement)
            if len(reads) == 1:
                reached.set()
                release.wait(30)

    sa.event.listen(engine, when, hook)
    return reached, release, reads, lambda: sa.event.remove(engine, when, hook)


@BACKENDS
def test_concurrent_checks_of_one_token_share_one_read(open_database, backend):
    db = open_database()
    token = enrol(db, "flight-1")
    authenticator = identity.Authenticator(db)
    reached, release, reads, remove = _blocking_credential_read(db, "before_cursor_execute")
    results: list = []

    def call():
        results.append(authenticator.authenticate(f"Bearer {token}", PEER))

    try:
        first = threading.Thread(target=call)
        first.start()
        assert reached.wait(10)
        others = [threading.Thread(target=call) for _ in range(7)]
        for thread in others:
            thread.start()
        time.sleep(0.3)  # they arrive while the first check is under way
        release.set()
        for thread in [first, *others]:
            thread.join(10)
    finally:
        release.set()
        remove()
    assert len(results) == 8 and {r.kiosk_id for r in results} == {"flight-1"}
    assert len(reads) == 1


@BACKENDS
def test_a_caller_after_a_revocation_does_not_share_a_check_begun_before_it(
        open_database, backend):
    db = open_database()
    token = enrol(db, "flight-2")
    authenticator = identity.Authenticator(db)
    reached, release, reads, remove = _blocking_credential_read(db, "after_cursor_execute")
    early: list = []
    try:
        first = threading.Thread(
            target=lambda: early.append(authenticator.authenticate(f"Bearer {token}", PEER)))
        first.start()
        assert reached.wait(10)  # its rows are read: the credential was valid then
        with db.transaction() as tx:
            tx.revoke_kiosk_credentials("flight-2")
        with pytest.raises(identity.AuthError) as refused:
            authenticator.authenticate(f"Bearer {token}", PEER)
        assert refused.value.reason == permissions.CREDENTIAL_REVOKED
        release.set()
        first.join(10)
    finally:
        release.set()
        remove()
    assert early and early[0].kiosk_id == "flight-2"  # answered as of its read
    assert authenticator.cached_kiosk(f"Bearer {token}") is None  # but not believed after


@BACKENDS
def test_a_revocation_by_another_process_is_forgotten_at_the_next_poll(open_database, backend):
    db = open_database()
    other = open_database()  # another process's, as `kiosk-registry kiosk enrol` opens
    token = enrol(db, "poll-1")
    header = f"Bearer {token}"
    authenticator = identity.Authenticator(db)
    watch = CredentialWatch(db)
    watch._seen = db.credentials_seq()  # what start() does, without its thread
    principal = authenticator.authenticate(header, PEER)
    assert authenticator.cached_kiosk(header) == principal
    assert not watch.check()
    assert authenticator.cached_kiosk(header) == principal
    with other.transaction() as tx:
        tx.revoke_kiosk_credentials("poll-1")
    assert authenticator.cached_kiosk(header) == principal  # not heard of yet
    assert watch.check()
    assert authenticator.cached_kiosk(header) is None
    with pytest.raises(identity.AuthError) as refused:
        authenticator.authenticate(header, PEER)
    assert refused.value.reason == permissions.CREDENTIAL_REVOKED


# ------------------------------------------------------------ real servers

def _heartbeat(address: str, kiosk_id: str, token: str):
    with grpc.insecure_channel(address) as channel:
        return pb_grpc.KioskServiceStub(channel).Heartbeat(
            pb.HeartbeatRequest(kiosk_id=kiosk_id), timeout=5, metadata=bearer(token))


def _register_and_call(address: str, kiosk_id: str, token: str) -> None:
    """The kiosk registers and heartbeats: its credential is believed from then on."""
    with grpc.insecure_channel(address) as channel:
        pb_grpc.KioskServiceStub(channel).RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id=kiosk_id), timeout=5, metadata=bearer(token))
    _heartbeat(address, kiosk_id, token)


def _refused(address: str, kiosk_id: str, token: str) -> str | None:
    try:
        _heartbeat(address, kiosk_id, token)
    except grpc.RpcError as error:
        return error_reason(error)
    return None


def test_a_revocation_by_another_process_on_the_sqlite_file_takes_effect_within_the_poll(
        tmp_path):
    db_path = tmp_path / "r.sqlite3"
    server = create_server("127.0.0.1:0", db_path, kdf_params=TEST_KDF)
    server.start()
    address = f"127.0.0.1:{server.port}"
    try:
        token = enrol(server.db, "sqlite-1")
        _register_and_call(address, "sqlite-1", token)
        script = Path(sys.executable).parent / "kiosk-registry"
        reissued = subprocess.run(
            [str(script), "kiosk", "enrol", "sqlite-1", "--db", str(db_path),
             "--output", str(tmp_path / "new.credential")],
            capture_output=True, text=True, timeout=60)
        assert reissued.returncode == 0, reissued.stderr
        assert wait_until(lambda: _refused(address, "sqlite-1", token) is not None)
        assert _refused(address, "sqlite-1", token) == permissions.CREDENTIAL_REVOKED
    finally:
        server.stop(grace=1)


@pytest.fixture
def two_instances(pg_database, tmp_path):
    url = pg_database()
    state = tmp_path / "state"
    servers = [create_server("127.0.0.1:0", url, kdf_params=TEST_KDF, state_dir=state)
               for _ in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop(grace=1)


@pytest.mark.postgres
def test_a_revocation_through_one_instance_reaches_the_other_by_notify(two_instances):
    a, b = two_instances
    b.credential_watch.stop()  # not the poll: the notice alone must do it
    token = enrol(a.db, "pg-1")
    b_address = f"127.0.0.1:{b.port}"
    _register_and_call(b_address, "pg-1", token)
    assert b.gate._authenticator.cached_kiosk(f"Bearer {token}") is not None
    with a.db.transaction() as tx:
        tx.revoke_kiosk_credentials("pg-1")
    assert wait_until(lambda: b.gate._authenticator.cached_kiosk(f"Bearer {token}") is None)
    assert _refused(b_address, "pg-1", token) == permissions.CREDENTIAL_REVOKED


@pytest.mark.postgres
def test_only_a_committed_revocation_is_announced(pg_database, tmp_path):
    url = pg_database()
    db = RegistryDatabase(url, state_dir=tmp_path / "state")
    heard = threading.Event()
    bus = wakeup_for(db.url)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        asyncio.run_coroutine_threadsafe(bus.start(), loop).result(30)
        bus.watch_credentials(heard.set)  # after start: its first connect forgets once
        enrol(db, "announce-1")
        with pytest.raises(RuntimeError):
            with db.transaction() as tx:
                tx.revoke_kiosk_credentials("announce-1")
                raise RuntimeError("rolled back")
        enrol(db, "announce-2")  # a commit that revokes nothing
        assert not heard.wait(1.0)
        enrol(db, "announce-1")  # a new credential revokes the old one
        assert heard.wait(PROMPTLY)
    finally:
        asyncio.run_coroutine_threadsafe(bus.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()
        db.close()


@pytest.mark.postgres
def test_the_believed_credentials_are_forgotten_when_the_listening_connection_is_lost(
        pg_database, tmp_path):
    url = pg_database()
    server = create_server("127.0.0.1:0", url, kdf_params=TEST_KDF, state_dir=tmp_path / "s")
    server.start()
    try:
        server.credential_watch.stop()  # not the poll
        token = enrol(server.db, "lost-1")
        address = f"127.0.0.1:{server.port}"
        _register_and_call(address, "lost-1", token)
        authenticator = server.gate._authenticator
        assert authenticator.cached_kiosk(f"Bearer {token}") is not None
        with server.db.transaction() as tx:
            ended = tx.query(
                "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
                " WHERE query LIKE :listen AND pid <> pg_backend_pid()",
                {"listen": f'LISTEN "{credential_watch.CHANNEL}"'})
        assert ended
        assert wait_until(lambda: authenticator.cached_kiosk(f"Bearer {token}") is None)
        _heartbeat(address, "lost-1", token)  # checked in full, and still valid
    finally:
        server.stop(grace=1)
