"""The registry rides out a restart of its PostgreSQL.

A real ``kiosk-registry serve`` on a cluster of this test's own (the shared
test cluster is not restarted under the other tests): a kiosk heartbeats,
reports events and holds its command stream, the office creates orders, all
the time, while PostgreSQL is restarted (``pg_ctl restart -m fast``) and then
stopped for some seconds and started again. During the outage calls fail
with UNAVAILABLE saying the database is unavailable, never UNKNOWN or
INTERNAL, and the log shows no traceback; health goes NOT_SERVING and back to
SERVING; afterwards calls succeed again without restarting the registry, and
nothing that was acknowledged is lost.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.auth import ADMIN_CREDENTIAL_FILE, bearer, read_secret_file
from registry.database import RegistryDatabase
from registry.identity import ensure_local_admin
from registry.server import create_server
from registry.storage.location import locate
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import enrol
from tests.conftest import PG_CLUSTER, ROOT, _postgres_installed
from tests.registry.conftest import TEST_KDF

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LISTENING = re.compile(r"registry listening on (127\.0\.0\.1:\d+)")
HALT_SECONDS = 8  # longer than the health probe's period (registry.server: 5 s)
BACK_WITHIN_SECONDS = 30  # a bound for "it recovers at all", not a speed figure
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def own_cluster():
    """A throwaway PostgreSQL only this test uses (tools/pg-cluster with PG_CLUSTER_DIR)."""
    if not _postgres_installed():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL is not installed: run tools/setup --tests")
        pytest.skip("PostgreSQL is not installed (tools/pg-cluster start installs it as root)")
    parent = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    parent.chmod(0o711)  # as root the server runs as its own user: it must reach its folder
    env = {**os.environ, "PG_CLUSTER_DIR": str(parent / "pg")}

    def cluster(command: str) -> str:
        done = subprocess.run([str(PG_CLUSTER), command], capture_output=True, text=True,
                              env=env, timeout=180, cwd=ROOT)
        assert done.returncode == 0, f"tools/pg-cluster {command}: {done.stderr}"
        return done.stdout.strip()

    url = cluster("start")
    yield url, cluster
    cluster("stop")
    parent.rmdir()


@dataclass
class Calls:
    """What the driving clients saw: each call's outcome, what was acknowledged."""

    outcomes: list[tuple[float, str, str, str]] = field(default_factory=list)  # (t, method, code, detail)
    acknowledged_events: list[str] = field(default_factory=list)
    created_orders: list[str] = field(default_factory=list)
    stream_endings: list[tuple[str, str]] = field(default_factory=list)
    health: list[tuple[float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, method: str, code: str, detail: str = "") -> None:
        with self.lock:
            self.outcomes.append((time.monotonic(), method, code, detail))

    def ok_after(self, moment: float) -> set[str]:
        with self.lock:
            return {m for t, m, code, _ in self.outcomes if t > moment and code == "OK"}


def drive(address: str, kiosk_token: str, admin: str, calls: Calls, stop: threading.Event) -> None:
    """Heartbeat, one new event and one new order, round after round, until ``stop``."""
    channel = grpc.insecure_channel(address)
    kiosk = registry_pb2_grpc.KioskServiceStub(channel)
    office = registry_pb2_grpc.OfficeServiceStub(channel)
    as_kiosk, as_admin = bearer(kiosk_token), bearer(admin)
    while not stop.is_set():
        event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_COMPARTMENT_IN_SERVICE,
                              compartment_number=1)
        event.occur_time.GetCurrentTime()
        steps = [
            ("Heartbeat", lambda: kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"),
                                                  timeout=10, metadata=as_kiosk)),
            ("ReportEvents", lambda: kiosk.ReportEvents(pb.ReportEventsRequest(
                kiosk_id="kiosk-1", events=[event]), timeout=10, metadata=as_kiosk)),
            ("CreatePickupOrder", lambda: office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4()), kiosk_id="kiosk-1"),
                timeout=10, metadata=as_admin)),
        ]
        for method, call in steps:
            try:
                reply = call()
            except grpc.RpcError as error:
                calls.note(method, error.code().name, error.details() or "")
                continue
            calls.note(method, "OK")
            with calls.lock:
                if method == "ReportEvents":
                    calls.acknowledged_events.extend(reply.acknowledged_event_ids)
                elif method == "CreatePickupOrder":
                    calls.created_orders.append(reply.order.reference)
        stop.wait(0.05)
    channel.close()


def hold_stream(address: str, kiosk_token: str, calls: Calls, stop: threading.Event) -> None:
    """The kiosk's command stream, reopened whenever it ends."""
    channel = grpc.insecure_channel(address)
    kiosk = registry_pb2_grpc.KioskServiceStub(channel)
    while not stop.is_set():
        stream = kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"),
                                      metadata=bearer(kiosk_token))
        stopper = threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True)
        stopper.start()
        try:
            for _ in stream:
                pass
            ending = ("OK", "")
        except grpc.RpcError as error:
            ending = (error.code().name, error.details() or "")
        if ending[0] != "CANCELLED" or not stop.is_set():
            with calls.lock:
                calls.stream_endings.append(ending)
        stop.wait(0.5)
    channel.close()


def watch_health(address: str, calls: Calls, stop: threading.Event) -> None:
    channel = grpc.insecure_channel(address)
    health = health_pb2_grpc.HealthStub(channel)
    while not stop.is_set():
        try:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        except grpc.RpcError:
            status = -1
        with calls.lock:
            calls.health.append((time.monotonic(), status))
        stop.wait(0.2)
    channel.close()


def back_again(calls: Calls, since: float) -> float:
    """Seconds until every kind of call has succeeded after ``since``."""
    wanted = {"Heartbeat", "ReportEvents", "CreatePickupOrder"}
    deadline = since + BACK_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if calls.ok_after(since) >= wanted:
            return time.monotonic() - since
        time.sleep(0.1)
    raise AssertionError(f"calls did not succeed again within {BACK_WITHIN_SECONDS} s of "
                         f"PostgreSQL being back: only {sorted(calls.ok_after(since))}")


def test_calls_fail_cleanly_during_a_postgres_restart_and_succeed_again(own_cluster, tmp_path,
                                                                       caplog):
    url, cluster = own_cluster
    state = tmp_path / "state"
    db = RegistryDatabase(url, kdf_params=TEST_KDF, state_dir=state, upgrade=True)
    try:
        ensure_local_admin(db)
        kiosk_token = enrol(db, "kiosk-1")
    finally:
        db.close()
    admin = read_secret_file(state / ADMIN_CREDENTIAL_FILE)
    # A second instance in this process whose streams re-read their queue every
    # 0.2 s (the served one's wait 30 s): its streams meet the outage.
    rechecking = create_server("127.0.0.1:0", url, kdf_params=TEST_KDF, state_dir=state,
                               stream_poll_seconds=0.2)
    rechecking.start()
    log_path = tmp_path / "registry.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "kiosk-registry"), "serve", "--db", url,
             "--state-dir", str(state), "--listen", "127.0.0.1:0", "--metrics-listen", "off",
             "--web-address", "off", "--notify-dir", str(tmp_path / "notifications")],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stop = threading.Event()
    calls = Calls()
    threads: list[threading.Thread] = []
    try:
        address = None
        deadline = time.monotonic() + 60
        while address is None and time.monotonic() < deadline and process.poll() is None:
            found = LISTENING.search(log_path.read_text())
            address = found.group(1) if found else None
            time.sleep(0.05)
        assert address, f"the registry did not start:\n{log_path.read_text()}"
        channel = grpc.insecure_channel(address)
        registry_pb2_grpc.KioskServiceStub(channel).RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-1", software_version="test"),
            timeout=10, metadata=bearer(kiosk_token))
        channel.close()
        for target, args in ((drive, (address, kiosk_token, admin, calls, stop)),
                             (hold_stream, (address, kiosk_token, calls, stop)),
                             (hold_stream, (f"127.0.0.1:{rechecking.port}", kiosk_token, calls,
                                            stop)),
                             (watch_health, (address, calls, stop))):
            threads.append(threading.Thread(target=target, args=args, daemon=True))
            threads[-1].start()
        time.sleep(2)
        assert calls.ok_after(0) == {"Heartbeat", "ReportEvents", "CreatePickupOrder"}

        cluster("restart")  # pg_ctl restart -m fast: every connection of the pool is cut
        back_again(calls, time.monotonic())

        cluster("halt")
        halted = time.monotonic()
        time.sleep(HALT_SECONDS)
        cluster("resume")
        resumed = time.monotonic()
        back_again(calls, resumed)
        time.sleep(6)  # the health probe's next round, and more calls
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop.set()
        rechecking.stop(grace=1)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    log_text = log_path.read_text()

    failed = [(m, code, detail) for _, m, code, detail in calls.outcomes if code != "OK"]
    during_halt = [o for o in calls.outcomes if halted < o[0] < resumed and o[2] != "OK"]
    assert during_halt, "no call failed while PostgreSQL was down: the outage was not seen"
    assert Counter(code for _, code, _ in failed).keys() == {"UNAVAILABLE"}, Counter(
        (m, code, detail) for m, code, detail in failed if code != "UNAVAILABLE")
    assert all("database is unavailable" in detail for _, _, detail in failed), {
        detail for _, _, detail in failed}
    assert calls.stream_endings, "no command stream met the outage"
    assert all(code in {"UNAVAILABLE", "OK"} for code, _ in calls.stream_endings), \
        calls.stream_endings
    broken = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not broken, [r.getMessage() for r in broken]
    assert "Traceback" not in log_text, log_text[log_text.index("Traceback") - 500:][:3000]
    assert "database unavailable" in log_text  # the outage is logged, one line per failure
    # Health: NOT_SERVING while PostgreSQL was down, SERVING at the end.
    assert any(status == NOT_SERVING for t, status in calls.health if halted < t < resumed + 1)
    assert calls.health[-1][1] == SERVING

    engine = locate(url).engine()
    try:
        with engine.connect() as conn:
            stored = Counter(r[0] for r in conn.execute(sa.text("SELECT event_id FROM events")))
            orders = {r[0] for r in conn.execute(sa.text("SELECT reference FROM orders"))}
    finally:
        engine.dispose()
    assert calls.acknowledged_events and calls.created_orders
    assert all(stored[e] == 1 for e in calls.acknowledged_events)
    assert set(calls.created_orders) <= orders


def test_a_restart_costs_each_caller_at_most_one_failed_call(own_cluster, tmp_path):
    """The pool is not pinged before every use (a round trip per transaction): a
    connection the restart cut fails one call, UNAVAILABLE, and with it the pool
    drops every connection as old as that one, so the next calls get new ones."""
    url, cluster = own_cluster
    server = create_server("127.0.0.1:0", url, kdf_params=TEST_KDF, state_dir=tmp_path / "s")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        token = enrol(server.db, "kiosk-1")
        kiosk = registry_pb2_grpc.KioskServiceStub(channel)
        kiosk.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10,
                            metadata=bearer(token))

        def heartbeat() -> str:
            try:
                kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=10,
                                metadata=bearer(token))
            except grpc.RpcError as error:
                return error.code().name
            return "OK"

        # Every pool thread's connection open and idle in the pool when it restarts.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda _: heartbeat(), range(32))) == {"OK"}
        cluster("restart")
        outcomes = [heartbeat() for _ in range(20)]
    finally:
        channel.close()
        server.stop(grace=1)
    assert outcomes.count("OK") >= 19 and set(outcomes) <= {"OK", "UNAVAILABLE"}, outcomes
