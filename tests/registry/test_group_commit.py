"""The registry's hot path (issue 10): group commits, the kiosk credential
cache and the read-only connections, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import sqlalchemy as sa

from common.auth import authenticated_channel, bearer
from registry import identity, permissions
from registry.batching import Batches
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from registry.errors import error_reason
from tests.registry.conftest import compartments


# ------------------------------------------------------------- Batches

def test_requests_that_arrive_during_a_batch_form_the_next_one():
    started, release = threading.Event(), threading.Event()
    batches_seen: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches_seen.append(items)
        started.set()
        release.wait(5)
        return [item * 10 for item in items]

    async def scenario() -> list[int]:
        batches = Batches(run, "test")
        try:
            first = asyncio.ensure_future(batches.submit(1))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
            later = [asyncio.ensure_future(batches.submit(n)) for n in (2, 3, 4)]
            await asyncio.sleep(0.05)  # all three wait while the first batch runs
            release.set()
            return await asyncio.gather(first, *later)
        finally:
            batches.close()

    assert asyncio.run(scenario()) == [10, 20, 30, 40]
    assert batches_seen == [[1], [2, 3, 4]]


def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs():
    def run(items: list[str]) -> list[str]:
        if "bad" in items:
            raise RuntimeError("database gone")
        return items

    async def scenario():
        batches = Batches(run, "test")
        try:
            results = await asyncio.gather(batches.submit("bad"), return_exceptions=True)
            return results, await batches.submit("good")
        finally:
            batches.close()

    (failure,), good = asyncio.run(scenario())
    assert isinstance(failure, RuntimeError) and good == "good"


def test_a_caller_that_gave_up_while_it_waited_is_left_out_of_the_next_batch():
    started, release = threading.Event(), threading.Event()
    batches_seen: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches_seen.append(items)
        started.set()
        release.wait(5)
        return items

    async def scenario() -> list[int]:
        batches = Batches(run, "test")
        try:
            first = asyncio.ensure_future(batches.submit(1))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
            gone = asyncio.ensure_future(batches.submit(2))
            kept = asyncio.ensure_future(batches.submit(3))
            await asyncio.sleep(0.05)
            gone.cancel()  # its deadline passed while the first batch ran
            release.set()
            return await asyncio.gather(first, kept)
        finally:
            batches.close()

    assert asyncio.run(scenario()) == [1, 3]
    assert batches_seen == [[1], [3]]


# ----------------------------------------------------- heartbeats, acks

def _kiosk_stub(registry, kiosk_id: str) -> pb_grpc.KioskServiceStub:
    return pb_grpc.KioskServiceStub(authenticated_channel(
        registry.channel, bearer(registry.kiosk.token(kiosk_id))))


def test_concurrent_heartbeats_are_all_stored_and_an_unregistered_kiosk_is_refused(
        registry, backend):
    kiosks = [f"beat-{n}" for n in range(12)]
    for kiosk_id in kiosks:
        registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=kiosk_id, software_version="1", compartments=compartments(1)), timeout=5)
    stranger = "beat-unregistered"
    registry.kiosk.token(stranger)  # enrolled, never registered
    stubs = {k: _kiosk_stub(registry, k) for k in [*kiosks, stranger]}

    def beat(kiosk_id: str):
        try:
            stubs[kiosk_id].Heartbeat(pb.HeartbeatRequest(
                kiosk_id=kiosk_id, outbox_backlog=len(kiosk_id),
                compartments=compartments(1, 2)), timeout=10)
        except grpc.RpcError as error:
            return error
        return None

    with ThreadPoolExecutor(len(stubs)) as pool:  # at once: they share group commits
        outcomes = dict(zip(stubs, pool.map(beat, list(stubs) * 3)))
    refusal = outcomes.pop(stranger)
    assert (refusal.code(), error_reason(refusal)) == (
        grpc.StatusCode.FAILED_PRECONDITION, "KIOSK_NOT_REGISTERED")
    assert all(outcome is None for outcome in outcomes.values())
    rows = registry.sql("SELECT kiosk_id, outbox_backlog, compartments FROM kiosks")
    stored = {r["kiosk_id"]: r for r in rows}
    assert set(stored) == set(kiosks)  # the stranger's beat wrote nothing
    assert all(stored[k]["outbox_backlog"] == len(k) for k in kiosks)
    assert all('"number": 2' in stored[k]["compartments"] for k in kiosks)


def test_acknowledged_commands_are_stored_before_the_answer(registry):
    registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="ack-1", software_version="1", compartments=compartments(1)), timeout=5)
    sent = registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="ack-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="t")),
        timeout=5)
    registry.kiosk.AcknowledgeCommands(pb.AcknowledgeCommandsRequest(
        kiosk_id="ack-1", command_ids=[sent.command_id]), timeout=5)
    (row,) = registry.sql("SELECT delivered_at FROM commands WHERE command_id = ?",
                          sent.command_id)
    assert row["delivered_at"] is not None
    with pytest.raises(grpc.RpcError) as refused:  # another kiosk's credential
        _kiosk_stub(registry, "ack-2").AcknowledgeCommands(pb.AcknowledgeCommandsRequest(
            kiosk_id="ack-1", command_ids=[sent.command_id]), timeout=5)
    assert error_reason(refused.value) == "KIOSK_ID_MISMATCH"


# --------------------------------------------- the kiosk credential cache

def test_a_kiosk_credential_revoked_in_the_registry_process_is_refused_at_once(registry):
    registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="cache-1", software_version="1", compartments=compartments(1)), timeout=5)
    stub = _kiosk_stub(registry, "cache-1")
    stub.Heartbeat(pb.HeartbeatRequest(kiosk_id="cache-1"), timeout=5)  # now remembered
    with registry.server.db.transaction() as tx:
        tx.revoke_kiosk_credentials("cache-1")
    with pytest.raises(grpc.RpcError) as refused:
        stub.Heartbeat(pb.HeartbeatRequest(kiosk_id="cache-1"), timeout=5)
    assert (refused.value.code(), error_reason(refused.value)) == (
        grpc.StatusCode.UNAUTHENTICATED, permissions.CREDENTIAL_REVOKED)


def test_a_revocation_from_another_process_takes_effect_within_the_ttl(
        open_database, backend):
    db = open_database()
    other = open_database()  # another process's, as `kiosk-registry kiosk revoke` opens
    token = enrol(db, "cache-2")
    now = [1000.0]
    authenticator = identity.Authenticator(db, clock=lambda: now[0])
    header = f"Bearer {token}"
    principal = authenticator.authenticate(header, identity.Peer("ipv4:127.0.0.1:1", ()))
    assert principal.kiosk_id == "cache-2"
    assert authenticator.cached_kiosk(header) == principal
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert authenticator.cached_kiosk(f"Bearer {forged}") is None  # the secret is compared
    with other.transaction() as tx:
        tx.revoke_kiosk_credentials("cache-2")
    # This process did not see it: believed until the TTL has passed.
    assert authenticator.cached_kiosk(header) == principal
    now[0] += identity.KIOSK_CREDENTIAL_TTL_SECONDS
    assert authenticator.cached_kiosk(header) is None
    with pytest.raises(identity.AuthError) as refused:
        authenticator.authenticate(header, identity.Peer("ipv4:127.0.0.1:1", ()))
    assert refused.value.reason == permissions.CREDENTIAL_REVOKED


# ------------------------------------------------------- read-only reads

def test_reading_sees_the_last_commit_and_writes_nothing(open_database, backend):
    db = open_database()
    with db.transaction() as tx:
        tx.register_kiosk("read-1", "1", [], identity.utcnow())
    with db.reading() as tx:
        assert tx.get_kiosk("read-1") is not None
    if backend == "sqlite":  # PostgreSQL's reading() is an ordinary transaction
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            with db.reading() as tx:
                tx.touch_kiosk("read-1", identity.utcnow())


# ------------------------------------------------------------ command sends

def test_concurrent_command_sends_are_all_stored_audited_and_delivered_once(registry):
    """Sends at once share group commits: each is stored with its audit entry,
    a double submit (same request_id) queues one command, an unknown kiosk is
    refused without failing the sends batched with it, and every open stream
    gets its command exactly once."""
    kiosks = [f"send-{n}" for n in range(10)]
    for kiosk_id in kiosks:
        registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=kiosk_id, software_version="1", compartments=compartments(1)), timeout=5)
    streams = {k: registry.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id=k), timeout=30)
               for k in kiosks}
    # Each kiosk's send twice with one request_id (a retry racing the first), and a stranger.
    calls = [(k, f"req-{k}") for k in kiosks] * 2 + [("send-nobody", "req-nobody")]

    def send(call: tuple[str, str]):
        kiosk_id, request_id = call
        try:
            return registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
                kiosk_id=kiosk_id, request_id=request_id,
                command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="burst")),
                timeout=10).command_id
        except grpc.RpcError as error:
            return error

    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            outcomes = list(pool.map(send, calls))
        refusal = outcomes.pop()
        assert refusal.code() == grpc.StatusCode.NOT_FOUND
        first, again = outcomes[:len(kiosks)], outcomes[len(kiosks):]
        assert first == again  # the double submit got the first answer
        sent = dict(zip(kiosks, first))
        rows = registry.sql("SELECT command_id, kiosk_id FROM commands")
        assert sorted((r["kiosk_id"], r["command_id"]) for r in rows) == sorted(sent.items())
        audited = registry.sql(
            "SELECT target, detail FROM audit_log WHERE action = 'command.sent'")
        assert sorted(r["target"] for r in audited) == sorted(kiosks)
        assert all(sent[r["target"]] in r["detail"] for r in audited)
        for kiosk_id, stream in streams.items():
            assert next(stream).command.command_id == sent[kiosk_id]
            registry.kiosk.AcknowledgeCommands(pb.AcknowledgeCommandsRequest(
                kiosk_id=kiosk_id, command_ids=[sent[kiosk_id]]), timeout=5)
        assert not registry.sql("SELECT 1 FROM commands WHERE delivered_at IS NULL")
    finally:
        for stream in streams.values():
            stream.cancel()


def test_concurrent_event_reports_store_each_event_once_with_its_audit_entry(registry, backend):
    """Reports share group commits: every event stored and audited exactly once,
    however many reports carry it at the same moment."""
    kiosks = [f"report-{n}" for n in range(8)]
    for kiosk_id in kiosks:
        registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=kiosk_id, software_version="1", compartments=compartments(1)), timeout=5)
    stubs = {k: _kiosk_stub(registry, k) for k in kiosks}
    events = {k: [pb.KioskEvent(event_id=f"{k}-ev-{i}", type=pb.EVENT_TYPE_DOOR_FORCED,
                                compartment_number=1, detail="t") for i in range(3)]
              for k in kiosks}

    def send(kiosk_id: str) -> list[str]:
        response = stubs[kiosk_id].ReportEvents(pb.ReportEventsRequest(
            kiosk_id=kiosk_id, events=events[kiosk_id]), timeout=10)
        return list(response.acknowledged_event_ids)

    with ThreadPoolExecutor(len(kiosks) * 3) as pool:  # each report sent three times at once
        acknowledged = list(pool.map(send, kiosks * 3))
    assert acknowledged == [[e.event_id for e in events[k]] for k in kiosks * 3]
    stored = registry.sql("SELECT event_id FROM events")
    assert sorted(r["event_id"] for r in stored) == sorted(
        e.event_id for k in kiosks for e in events[k])
    audited = registry.sql("SELECT detail FROM audit_log WHERE action = 'alarm.door_forced'")
    assert len(audited) == len(kiosks) * 3
    seen = registry.sql("SELECT kiosk_id FROM kiosks WHERE last_seen IS NOT NULL")
    assert {r["kiosk_id"] for r in seen} == set(kiosks)
