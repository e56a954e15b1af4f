"""registry.admission: a busy registry sheds bulk calls at once, with a retry hint,
and keeps heartbeats, registrations and the kiosk's client on it."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import grpc
import pytest

from kiosk.domain.events import EventType, KioskEvent
from kiosk.uplink import failover
from kiosk.uplink.client import RegistryClient, RegistryUnavailable
from registry.admission import (
    BULK,
    LIGHT,
    MAX_QUEUE_SECONDS,
    MAX_RETRY_AFTER_MS,
    MIN_RETRY_AFTER_MS,
    PRIORITY,
    RETRY_AFTER_KEY,
    call_class,
    may_take_slot,
    queue_budget,
    retry_after_ms,
)
from pickupbox.registry.v1 import registry_pb2 as pb

KIOSK = "/pickupbox.registry.v1.KioskService/"
OFFICE = "/pickupbox.registry.v1.OfficeService/"


def test_heartbeats_and_streams_are_light_replays_bulk_the_rest_priority():
    assert call_class(KIOSK + "Heartbeat") == LIGHT
    assert call_class(KIOSK + "StreamCommands") == LIGHT
    assert call_class(KIOSK + "AcknowledgeCommands") == LIGHT
    assert call_class(KIOSK + "ReportEvents") == BULK
    assert call_class(KIOSK + "SyncChanges") == BULK
    assert call_class(KIOSK + "RegisterKiosk") == PRIORITY
    assert call_class(OFFICE + "SendKioskCommand") == PRIORITY
    assert call_class("/grpc.health.v1.Health/Check") is None


def test_bulk_calls_leave_the_reserved_slots_to_the_others():
    assert may_take_slot(BULK, 5, 8, 2) and not may_take_slot(BULK, 6, 8, 2)
    assert may_take_slot(PRIORITY, 7, 8, 2) and not may_take_slot(PRIORITY, 8, 8, 2)


def test_a_call_waits_for_a_slot_at_most_half_its_deadline_and_a_bound():
    assert queue_budget(None) == MAX_QUEUE_SECONDS
    assert queue_budget(30.0) == MAX_QUEUE_SECONDS
    assert queue_budget(1.0) == 0.5
    assert queue_budget(3.0) == min(MAX_QUEUE_SECONDS, 1.5)
    assert queue_budget(-1.0) == 0.0


def test_the_hint_grows_with_the_line_within_bounds():
    assert retry_after_ms(0, 8, 0.01) == MIN_RETRY_AFTER_MS
    assert retry_after_ms(79, 8, 0.1) == 1000
    assert retry_after_ms(10_000, 8, 1.0) == MAX_RETRY_AFTER_MS


def _hold_slots(registry, count: int) -> None:
    """Takes ``count`` of the server's slots on its loop, as calls in progress would."""
    admission = registry.server.admission
    loop = registry.server._loop
    for _ in range(count):
        assert loop.run(admission.acquire(PRIORITY, 0.0))


def _free_slots(registry, count: int) -> None:
    admission = registry.server.admission
    for _ in range(count):
        registry.server._loop.loop.call_soon_threadsafe(admission.release, 0.0)


def _event(event_id: str) -> pb.ReportEventsRequest:
    return pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[pb.KioskEvent(
        event_id=event_id, type=pb.EVENT_TYPE_COMPARTMENT_OUT_OF_SERVICE)])


def test_a_full_registry_sheds_a_replay_with_a_hint_and_still_takes_heartbeats(
        registry, register_kiosk):
    register_kiosk("kiosk-1")
    slots = registry.server.admission.slots
    _hold_slots(registry, slots - registry.server.admission.reserved)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            registry.kiosk.ReportEvents(_event("shed-1"), timeout=30)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        hint = dict(caught.value.trailing_metadata())[RETRY_AFTER_KEY]
        assert MIN_RETRY_AFTER_MS <= int(hint) <= MAX_RETRY_AFTER_MS
        # Only the reserved slots are free: a registration and a heartbeat get through.
        register_kiosk("kiosk-1")
        registry.kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=30)
        assert registry.server.admission.stats.shed == 1
    finally:
        _free_slots(registry, slots - registry.server.admission.reserved)
    reply = registry.kiosk.ReportEvents(_event("shed-1"), timeout=30)
    assert list(reply.acknowledged_event_ids) == ["shed-1"]


def test_a_shed_call_was_not_applied(registry, register_kiosk):
    register_kiosk("kiosk-1")
    slots = registry.server.admission.slots
    _hold_slots(registry, slots)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            registry.kiosk.ReportEvents(_event("shed-2"), timeout=30)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        _free_slots(registry, slots)
    with registry.server.db.reading() as tx:
        assert not tx.event_exists("shed-2")


def _dead_address() -> str:
    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_the_kiosk_waits_out_a_shedding_instance_instead_of_moving_to_one_that_refused(
        registry, register_kiosk):
    register_kiosk("kiosk-1")
    token = registry.kiosk.token("kiosk-1")
    dead = _dead_address()
    targets = [registry.address, dead]
    # Started on the dead one, whichever the kiosk's id picks.
    if failover.first_target("kiosk-1", 2) == 0:
        targets.reverse()
    client = RegistryClient(",".join(targets), "kiosk-1", timeout=10, token=token)
    try:
        with pytest.raises(RegistryUnavailable, match="UNAVAILABLE"):
            client.heartbeat([], 0, [])
        assert client.target == registry.address  # moved off the refusing address
        slots = registry.server.admission.slots
        _hold_slots(registry, slots)
        try:
            event = KioskEvent(event_id="wait-1", type=EventType.COMPARTMENT_OUT_OF_SERVICE,
                               occur_time=datetime.now(timezone.utc))
            with pytest.raises(RegistryUnavailable, match="RESOURCE_EXHAUSTED"):
                client.report([event])
            assert client.target == registry.address  # busy is not gone: it stays
        finally:
            _free_slots(registry, slots)
        # The next call waits out the hint, then goes through on the same instance.
        assert client.report([event]) == ["wait-1"]
        assert client.target == registry.address
    finally:
        client.close()


def test_a_cancelled_wait_gives_no_slot_away():
    from registry.admission import Admission

    async def scenario() -> tuple[int, int]:
        admission = Admission(1, reserved=0)
        assert await admission.acquire(PRIORITY, 0.0)
        waiter = asyncio.ensure_future(admission.acquire(BULK, 5.0))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        admission.release(0.0)
        return admission.busy, len(admission._waiting)

    assert asyncio.run(scenario()) == (0, 0)
