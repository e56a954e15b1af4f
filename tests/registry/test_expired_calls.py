"""Calls whose deadline passes while they wait for a pool thread do not crash the registry.

grpc.aio runs the synchronous handlers in a thread pool; reading the peer or
the auth context of a call from there after its deadline has passed (or its
client went away) is a use-after-free in gRPC (1.85) and kills the process
with a segmentation fault. Under load, when calls queue for the pool (a
survivor after a fail-over), that took the whole registry down. The
registry reads who calls on the event loop, at the start of the call.
"""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from common.auth import bearer
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import enrol
from tests.integration.test_failover import serve

pytestmark = pytest.mark.slow


def test_a_flood_of_calls_that_expire_in_the_queue_leaves_the_registry_running(tmp_path):
    from registry.database import RegistryDatabase
    from tests.registry.conftest import TEST_KDF

    db_path = tmp_path / "registry.sqlite3"
    db = RegistryDatabase(db_path, kdf_params=TEST_KDF)
    token = enrol(db, "kiosk-1")
    db.close()
    process, port = serve(db_path)
    try:
        target = f"127.0.0.1:{port}"
        with grpc.insecure_channel(target) as channel:
            registry_pb2_grpc.KioskServiceStub(channel).RegisterKiosk(
                pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10, metadata=bearer(token))

        def flood() -> None:
            for _ in range(250):
                # A channel of its own, closed at once: the client is gone too.
                channel = grpc.insecure_channel(target)
                try:
                    registry_pb2_grpc.KioskServiceStub(channel).Heartbeat(
                        pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=0.005,
                        metadata=bearer(token))
                except grpc.RpcError:
                    pass
                channel.close()
                if process.poll() is not None:
                    return

        floods = [threading.Thread(target=flood) for _ in range(6)]
        for thread in floods:
            thread.start()
        for thread in floods:
            thread.join()
        assert process.poll() is None, f"the registry died (exit {process.returncode})"
        with grpc.insecure_channel(target) as channel:
            registry_pb2_grpc.KioskServiceStub(channel).Heartbeat(
                pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=10, metadata=bearer(token))
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def test_a_call_whose_caller_gave_up_while_it_waited_for_a_thread_is_not_run(tmp_path):
    """An overloaded registry does not work through calls nobody waits for any more
    (a cancelled call's place in the pool's queue is given up)."""
    from tests.registry.conftest import start_registry

    registry = start_registry(tmp_path / "registry.sqlite3", tmp_path / "notices", max_workers=1)
    try:
        registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10)
        release, held = threading.Event(), threading.Event()

        def hold_the_database() -> None:  # the pool's one thread will wait behind this
            with registry.server.db.transaction():
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold_the_database)
        holder.start()
        held.wait(5)
        # Takes the reports' group-commit thread and waits for the database; the
        # late report then waits for the next batch, and is dropped from it when
        # its caller gives up.
        first = pb.KioskEvent(event_id="busy-1", type=pb.EVENT_TYPE_COMPARTMENT_IN_SERVICE)
        busy = threading.Thread(target=lambda: registry.kiosk.ReportEvents(
            pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[first]), timeout=30))
        busy.start()
        time.sleep(0.3)
        event = pb.KioskEvent(event_id="late-1", type=pb.EVENT_TYPE_COMPARTMENT_IN_SERVICE)
        with pytest.raises(grpc.RpcError) as late:
            registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]),
                                        timeout=0.3)
        # Shed by admission control (registry.admission: no slot within half
        # its deadline) or, had it got one, expired in the pool's queue.
        assert late.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                     grpc.StatusCode.DEADLINE_EXCEEDED)
        release.set()
        holder.join()
        busy.join()
        registry.kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=10)  # drained
        assert [row[0] for row in registry.sql("SELECT event_id FROM events")] == ["busy-1"]
    finally:
        registry.close()
