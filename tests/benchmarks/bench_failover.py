"""Fail-over under load (issue 10): one of two registry instances is killed mid-run.

Two real ``kiosk-registry serve`` processes share one PostgreSQL (a
throwaway cluster of the benchmark's own, ``tools/pg-cluster`` with
``PG_CLUSTER_DIR`` in a temporary folder, or a fresh schema of ``--postgres-url``).
N simulated kiosks, spread over load processes, are given both addresses.
Each one is the kiosk's own gRPC client (``kiosk.uplink.client.RegistryClient``:
it starts at the address ``failover.first_target`` picks, moves to the next
when its instance is unreachable and waits out one that is busy,
``failover.moves_on``) on a connection of its own, driven the way ``kiosk.uplink.worker.Uplink`` drives it: one thread
reports its outbox and heartbeats, registering again when an instance does not
know it (the setup registered the fleet; ``failover.Heartbeats`` says
when), waiting ``failover.backoff_delay`` after a failure; a second thread
holds the command stream and acknowledges what arrives, with the same backoff.

Each kiosk produces events with unique ids all the time (a routine event every
``--event-interval`` seconds, and for its one pickup order a deposit shortly
before or after the kill and the collection some seconds later); events stay
in its outbox until the registry acknowledges them, and unacknowledged ones
are retried with backoff, as the kiosk's outbox does. Midway the instance
that about half of the fleet started on gets SIGKILL, and the office sends a
command to every kiosk through the survivor from a second before the kill on.

Measured and checked afterwards in the database:

* back online: for each kiosk of the killed instance, the time from the kill
  to its first heartbeat accepted by the survivor (p50/p99/max; target < 10 s);
* events: every event id a kiosk produced is in ``events`` exactly once, none
  missing, none unknown; every order deposited once and collected once (one
  ``order.deposited`` and one ``order.handed_over`` audit entry, status
  collected, its deposit time the deposit event's);
* commands: every command sent around the kill reached its kiosk's stream
  (and how long after it was sent);
* the survivor: its calls per second per RPC and status code, and its CPU
  share, before the kill, in the 10 s after it and until the end (its
  /metrics and /proc).

    .venv/bin/python -m tests.benchmarks.bench_failover [--kiosks 200,1000]
        [--postgres-url URL] [--event-interval 10] [--after-kill 30]
    tools/bench failover
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import multiprocessing
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import grpc

from common.auth import ADMIN_CREDENTIAL_FILE, bearer, read_secret_file
from common.credentials import KdfParams
from kiosk.domain.events import EventType, KioskEvent
from kiosk.uplink import failover
from kiosk.uplink.client import RegistryClient, RegistryError, RegistryRejected
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.benchmarks.bench_fleet import percentiles_ms
from tests.benchmarks.common import ROOT, write_result
from tests.benchmarks.fleet_client import CHANNEL_OPTIONS, RegistryProcess, layout

LOAD_PROCESSES = 4
# Cheap scrypt for the credentials the setup creates (enrolment and orders
# are the operator's and office's part, not what is measured).
SETUP_KDF = KdfParams(n=2**10)
KIOSK_NOT_REGISTERED = "KIOSK_NOT_REGISTERED"
ROUTINE = EventType.COMPARTMENT_OUT_OF_SERVICE  # stored, not audited, no alarm


# ------------------------------------------------------------ the cluster

def start_cluster(directory: Path) -> str:
    """A throwaway PostgreSQL of this run's own (tools/pg-cluster with PG_CLUSTER_DIR)."""
    result = subprocess.run([str(ROOT / "tools" / "pg-cluster"), "start"], capture_output=True,
                            text=True, env={**os.environ, "PG_CLUSTER_DIR": str(directory)},
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"tools/pg-cluster start failed: {result.stderr.strip()}")
    return result.stdout.strip().splitlines()[-1]


def stop_cluster(directory: Path) -> None:
    subprocess.run([str(ROOT / "tools" / "pg-cluster"), "stop"], capture_output=True,
                   env={**os.environ, "PG_CLUSTER_DIR": str(directory)}, timeout=120)


def fresh_schema(url: str) -> str:
    """A new schema in the given database, as the tests make them (tests/conftest.py)."""
    import sqlalchemy as sa

    from registry.storage.location import locate
    from tests.conftest import schema_url

    schema = f"bench_failover_{uuid.uuid4().hex[:8]}"
    engine = locate(url).engine().execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return schema_url(url, schema)


# ------------------------------------------------------------ the registry

LISTENING = re.compile(r"registry listening on (127\.0\.0\.1:\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, state: Path, log_path: Path, metrics_port: int) -> RegistryProcess:
    """``kiosk-registry serve`` as deployed, on PostgreSQL, on a free loopback port
    (its /metrics on ``metrics_port``: calls per second per RPC, see Sampler)."""
    script = Path(sys.executable).parent / "kiosk-registry"
    log = log_path.open("w")
    process = subprocess.Popen(
        [str(script), "serve", "--db", url, "--state-dir", str(state),
         "--listen", "127.0.0.1:0", "--metrics-listen", f"127.0.0.1:{metrics_port}",
         "--web-address", "off",
         "--notify-dir", str(state / "notifications")],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if found := LISTENING.search(log_path.read_text()):
            return RegistryProcess(process, found.group(1), None, log_path)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the registry did not start:\n{log_path.read_text()}")


RPC_SAMPLE = re.compile(r'^registry_rpcs_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$', re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')


def rpc_counts(metrics_port: int) -> Counter:
    """The survivor's finished RPCs so far, by (method, code), from its /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    counts: Counter = Counter()
    for found in RPC_SAMPLE.finditer(text):
        labels = dict(LABEL.findall(found.group("labels")))
        counts[(labels.get("method", "?"), labels.get("code", "?"))] = float(found.group("value"))
    return counts


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (robust to other load on the machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """The survivor's calls per second per RPC and status, and its CPU share,
    over windows after the kill: where its time goes when the fleet arrives."""

    def __init__(self, metrics_port: int, pid: int) -> None:
        self.metrics_port, self.pid = metrics_port, pid
        self.samples: list[tuple[float, float, Counter]] = []  # (wall, cpu s, counts)

    def take(self) -> None:
        try:
            self.samples.append((time.time(), cpu_seconds(self.pid), rpc_counts(self.metrics_port)))
        except (OSError, ValueError):
            pass  # a busy survivor that does not answer /metrics in time: a gap

    def run(self, until: float, every: float = 2.0) -> None:
        while time.time() < until:
            self.take()
            time.sleep(every)

    def window(self, start: float, end: float) -> dict:
        inside = [s for s in self.samples if start - 1 <= s[0] <= end + 1]
        if len(inside) < 2:
            return {}
        (t0, c0, n0), (t1, c1, n1) = inside[0], inside[-1]
        seconds = max(1e-6, t1 - t0)
        rates = {f"{method} {code}": round((n1[key] - n0.get(key, 0)) / seconds, 1)
                 for key in n1 for method, code in [key] if n1[key] - n0.get(key, 0) > 0}
        calls = sum(n1[key] - n0.get(key, 0) for key in n1)
        return {"from_s": round(t0 - start, 1), "seconds": round(seconds, 1),
                "cpu_share": round((c1 - c0) / seconds, 2),
                # CPU per finished call (all RPCs, refused and shed ones too): what
                # a call costs the survivor, robust to other load on the machine.
                "cpu_ms_per_call": round((c1 - c0) * 1000 / calls, 3) if calls else None,
                "calls_per_second": dict(sorted(rates.items(), key=lambda kv: -kv[1]))}


def prepare_database(url: str, state: Path, ids: list[str]) -> dict[str, str]:
    """Migrates the database, creates the admin credential, enrols the kiosks."""
    from registry.database import RegistryDatabase
    from registry.identity import ensure_local_admin
    from tests.auth_support import enrol

    db = RegistryDatabase(url, kdf_params=SETUP_KDF, state_dir=state, upgrade=True)
    try:
        ensure_local_admin(db)
        return {kiosk_id: enrol(db, kiosk_id) for kiosk_id in ids}
    finally:
        db.close()


def setup_orders(address: str, admin: str, tokens: dict[str, str]) -> dict[str, str]:
    """Registers every kiosk once and announces one order for each (kiosk id → reference)."""
    channel = grpc.insecure_channel(address)
    kiosk_stub = pb_grpc.KioskServiceStub(channel)
    office = pb_grpc.OfficeServiceStub(channel)

    def one(kiosk_id: str) -> tuple[str, str]:
        kiosk_stub.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=kiosk_id, software_version="bench-failover", compartments=layout()),
            timeout=30, metadata=bearer(tokens[kiosk_id]))
        reply = office.CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4()), kiosk_id=kiosk_id),
            timeout=30, metadata=bearer(admin))
        return kiosk_id, reply.order.reference

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        orders = dict(pool.map(one, tokens))
    channel.close()
    return orders


# ------------------------------------------------------ simulated kiosks

def new_event(event_id: str, kind: EventType, reference: str = "") -> KioskEvent:
    return KioskEvent(event_id=event_id, type=kind, occur_time=datetime.now(timezone.utc),
                      order_reference=reference, compartment_number=1 if reference else 0,
                      staff_ids=("bench",))


@dataclass
class Pending:
    event: KioskEvent
    attempts: int = 0
    due: float = 0.0


@dataclass
class Plan:
    """What a kiosk produces when (wall clock)."""

    reference: str
    deposit_at: float
    collect_at: float
    event_interval: float
    stop_at: float


@dataclass
class KioskLog:
    produced: list[str] = field(default_factory=list)  # event ids
    acknowledged: set[str] = field(default_factory=set)
    deposit_occurred: float = 0.0
    heartbeats: list[tuple[float, str]] = field(default_factory=list)  # (wall time, target)
    failures: Counter = field(default_factory=Counter)  # code name → count
    arrivals: dict[str, float] = field(default_factory=dict)  # command id → wall time


class FailoverKiosk:
    """One simulated kiosk: the kiosk's RegistryClient driven as the Uplink drives it."""

    def __init__(self, targets: str, kiosk_id: str, token: str, plan: Plan, *,
                 heartbeat_interval: float, retry_max: float, stop: threading.Event) -> None:
        self.kiosk_id = kiosk_id
        self.client = RegistryClient(targets, kiosk_id, timeout=5.0, token=token,
                                     channel_options=tuple(CHANNEL_OPTIONS))
        self.plan = plan
        self.heartbeats = failover.Heartbeats(heartbeat_interval)
        self.retry_max = retry_max
        self.stop = stop
        self.log = KioskLog()
        self.outbox: dict[str, Pending] = {}
        # setup_orders registered every kiosk: the fleet was up and running
        # before the measured window, as the one a registry instance dies
        # under. (Registering the whole fleet at once in the first seconds
        # of the run, an audited write each, was a boot storm, not the
        # fail-over measured here; a kiosk the survivor does not know is
        # told KIOSK_NOT_REGISTERED and registers, as the Uplink does.)
        self.registered = True
        self._wake = threading.Event()
        self._serial = 0
        self._next_routine = time.time() + random.random() * plan.event_interval
        self._deposited = self._collected = False

    # What the kiosk's core would write into its outbox.
    def _produce(self, kind: EventType, reference: str = "") -> None:
        self._serial += 1
        event_id = f"{self.kiosk_id}-{self._serial:06d}"
        event = new_event(event_id, kind, reference)
        self.outbox[event_id] = Pending(event)
        self.log.produced.append(event_id)
        if kind is EventType.ORDER_DEPOSITED:
            self.log.deposit_occurred = event.occur_time.timestamp()

    def _produce_due(self) -> float:
        """Produces what is due now; returns the wall time of the next production."""
        now = time.time()
        if now >= self.plan.stop_at:
            return float("inf")
        if not self._deposited and now >= self.plan.deposit_at:
            self._produce(EventType.ORDER_DEPOSITED, self.plan.reference)
            self._deposited = True
        if self._deposited and not self._collected and now >= self.plan.collect_at:
            self._produce(EventType.ORDER_COLLECTED, self.plan.reference)
            self._collected = True
        if now >= self._next_routine:
            self._produce(ROUTINE)
            self._next_routine = now + self.plan.event_interval
        upcoming = [self._next_routine, self.plan.stop_at]
        if not self._deposited:
            upcoming.append(self.plan.deposit_at)
        elif not self._collected:
            upcoming.append(self.plan.collect_at)
        return min(upcoming)

    def _note_failure(self, error: RegistryError) -> None:
        found = re.search(r"\(([A-Z_]+)\)", str(error))
        self.log.failures[found.group(1) if found else type(error).__name__] += 1

    def _flush(self, everything: bool) -> None:
        now = time.monotonic()
        due = [p for p in self.outbox.values() if everything or p.due <= now]
        if not due:
            return
        try:
            acknowledged = self.client.report([p.event for p in due])
        except RegistryError:
            for p in due:  # kept, tried again later (the kiosk's outbox_postpone)
                p.attempts += 1
                p.due = now + min(self.retry_max, 0.5 * 2 ** min(p.attempts, 12))
            raise
        for event_id in acknowledged:
            self.outbox.pop(event_id, None)
            self.log.acknowledged.add(event_id)

    def _step(self, failures: int) -> None:
        if not self.registered:
            self.client.register([], "bench-failover")
            self.registered = True
        if failures > 0:
            self._heartbeat()  # back after a failure: the heartbeat first, as Uplink.step
        self._flush(everything=failures > 0)
        self._heartbeat()

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.heartbeats.due(now):
            target = self.client.target
            self.client.heartbeat([], len(self.outbox), [])
            self.heartbeats.sent(now)
            self.log.heartbeats.append((time.time(), target))

    def run(self) -> None:
        failures = 0
        while not (self.stop.is_set() and not self.outbox):
            self._wake.clear()
            next_event = self._produce_due()
            try:
                self._step(failures)
                failures = 0
                wait = self.heartbeats.next_at - time.monotonic()
                if self.outbox:
                    wait = min(wait, min(p.due for p in self.outbox.values()) - time.monotonic())
            except RegistryError as error:
                self._note_failure(error)
                if isinstance(error, RegistryRejected) and error.reason == KIOSK_NOT_REGISTERED:
                    self.registered = False
                failures += 1
                self.heartbeats.lost(time.monotonic())
                wait = failover.backoff_delay(failures, cap=self.retry_max)
            wait = min(wait, next_event - time.time())
            if self.stop.is_set():
                wait = min(wait, 0.5)
            self._wake.wait(max(0.05, wait))

    def run_commands(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                for command in self.client.commands():
                    failures = 0
                    self.log.arrivals.setdefault(command.command_id, time.time())
                    try:
                        self.client.acknowledge_commands([command.command_id])
                    except RegistryError as error:
                        self._note_failure(error)
                    if self.stop.is_set():
                        return
            except RegistryError as error:
                self._note_failure(error)
            # The stream broke: the instance may be gone, so heartbeat soon.
            self.heartbeats.lost(time.monotonic())
            self._wake.set()
            failures += 1
            self.stop.wait(failover.backoff_delay(failures, cap=self.retry_max))


def _load_process(targets: str, share: dict, options: dict, ready, go, results) -> None:
    # The client's "moving to …" warnings, once per kiosk: counted, not printed.
    logging.getLogger("kiosk.uplink.client").setLevel(logging.ERROR)
    stop = threading.Event()
    kiosks = [FailoverKiosk(targets, kiosk_id, spec["token"], Plan(**spec["plan"]),
                            heartbeat_interval=options["heartbeat_interval"],
                            retry_max=options["retry_max"], stop=stop)
              for kiosk_id, spec in share.items()]
    ready.put(len(kiosks))
    go.wait()
    threads = []
    for kiosk in kiosks:
        for target in (kiosk.run, kiosk.run_commands):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            threads.append(thread)
    time.sleep(max(0.0, options["stop_at"] - time.time()))
    stop.set()
    deadline = time.time() + options["drain_seconds"]
    for kiosk in kiosks:
        kiosk.client.cancel_commands()
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.time()))
    results.put({kiosk.kiosk_id: {
        "produced": kiosk.log.produced,
        "acknowledged": sorted(kiosk.log.acknowledged),
        "left_in_outbox": sorted(kiosk.outbox),
        "deposit_occurred": kiosk.log.deposit_occurred,
        "heartbeats": kiosk.log.heartbeats,
        "failures": dict(kiosk.log.failures),
        "arrivals": kiosk.log.arrivals,
    } for kiosk in kiosks})
    results.close()
    results.join_thread()  # delivered before anything below can go wrong
    # No orderly close of a thousand channels with threads perhaps still on them
    # (gRPC's client crashed or hung doing that here): the process ends as a
    # powered-off kiosk would.
    os._exit(0)


# ------------------------------------------------------------ the office

def send_commands(address: str, admin: str, kiosk_ids: list[str], concurrency: int = 8) -> dict:
    """One RESYNC to each kiosk through ``address``; retried (same request id) until accepted."""
    channel = grpc.insecure_channel(address)
    office = pb_grpc.OfficeServiceStub(channel)
    sent: dict[str, tuple[str, float]] = {}
    failures: Counter = Counter()

    def one(kiosk_id: str) -> None:
        request = pb.SendKioskCommandRequest(
            kiosk_id=kiosk_id, request_id=str(uuid.uuid4()),
            command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="bench failover"))
        started = time.time()
        for _ in range(20):
            try:
                reply = office.SendKioskCommand(request, timeout=10, metadata=bearer(admin))
            except grpc.RpcError as error:
                failures[error.code().name] += 1
                time.sleep(0.5)
                continue
            sent[kiosk_id] = (reply.command_id, started)
            return

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, kiosk_ids))
    channel.close()
    return {"sent": sent, "failures": dict(failures)}


# ------------------------------------------------------------ checking

def check_database(url: str, logs: dict, orders: dict[str, str]) -> dict:
    import sqlalchemy as sa

    from registry.storage.location import locate

    engine = locate(url).engine()
    with engine.connect() as conn:
        stored = Counter(row[0] for row in conn.execute(sa.text("SELECT event_id FROM events")))
        audit = Counter((row[0], row[1]) for row in conn.execute(sa.text(
            "SELECT action, target FROM audit_log WHERE action IN "
            "('order.deposited', 'order.handed_over')")))
        rows = {row[0]: row for row in conn.execute(sa.text(
            "SELECT reference, status, deposit_time FROM orders"))}
    engine.dispose()
    produced = [event_id for log in logs.values() for event_id in log["produced"]]
    acknowledged = {event_id for log in logs.values() for event_id in log["acknowledged"]}
    produced_set = set(produced)
    orders_ok = 0
    order_problems: list[str] = []
    for kiosk_id, reference in orders.items():
        row = rows.get(reference)
        deposits = audit[("order.deposited", reference)]
        handovers = audit[("order.handed_over", reference)]
        deposit_time = row[2] if row is not None else None
        from registry.database import stored_moment

        when = stored_moment(deposit_time)
        expected = logs[kiosk_id]["deposit_occurred"]
        if (row is not None and row[1] == "collected" and deposits == 1 and handovers == 1
                and when is not None and abs(when.timestamp() - expected) < 0.001):
            orders_ok += 1
        elif len(order_problems) < 10:
            order_problems.append(f"{reference}: status {row[1] if row else None}, "
                                  f"{deposits} deposits, {handovers} handovers")
    return {
        "events_produced": len(produced),
        "events_produced_unique": len(produced_set),
        "events_in_database": sum(stored[e] for e in produced_set),
        "events_missing": len(produced_set - set(stored)),
        "events_acknowledged_but_missing": len(acknowledged - set(stored)),
        "events_stored_twice": sum(1 for e in produced_set if stored[e] > 1),
        "events_unknown_in_database": len(set(stored) - produced_set),
        "events_left_unacknowledged": sum(len(log["left_in_outbox"]) for log in logs.values()),
        "orders": len(orders),
        "orders_deposited_and_collected_once": orders_ok,
        "order_problems": order_problems,
    }


# ------------------------------------------------------------ one run

def run(n: int, args, url: str, workdir: Path) -> dict:
    state = workdir / "state"
    ids = [f"fo-kiosk-{i:05d}" for i in range(n)]
    print(f"== fail-over: {n} kiosks, two instances on one PostgreSQL", flush=True)
    tokens = prepare_database(url, state, ids)
    metrics_ports = [free_port() for _ in range(2)]
    instances = [serve(url, state, workdir / f"registry-{i}.log", metrics_ports[i])
                 for i in range(2)]
    admin = read_secret_file(state / ADMIN_CREDENTIAL_FILE)
    try:
        orders = setup_orders(instances[0].address, admin, tokens)
        targets = ",".join(i.address for i in instances)
        victim = 0  # the instance failover.first_target gives about half the fleet
        survivor = instances[1 - victim]
        start = time.time() + 10 + n / 100  # the load processes have connected by then
        kill_at = start + args.warmup
        stop_at = kill_at + args.after_kill
        rng = random.Random(n)
        specs = {kiosk_id: {"token": tokens[kiosk_id], "plan": {
            "reference": orders[kiosk_id],
            "deposit_at": kill_at + rng.uniform(-3, 3),
            "collect_at": kill_at + rng.uniform(4, 8),
            "event_interval": args.event_interval,
            "stop_at": stop_at,
        }} for kiosk_id in ids}
        ctx = multiprocessing.get_context("spawn")
        ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
        options = {"heartbeat_interval": args.heartbeat_interval, "retry_max": args.retry_max,
                   "stop_at": stop_at, "drain_seconds": args.drain}
        processes = [ctx.Process(target=_load_process, args=(
            targets, {k: specs[k] for k in ids[p::LOAD_PROCESSES]}, options, ready, go, results))
            for p in range(LOAD_PROCESSES)]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=300)
        time.sleep(max(0.0, start - time.time()))
        go.set()
        sampler = Sampler(metrics_ports[1 - victim], survivor.process.pid)
        sampling = threading.Thread(target=sampler.run, args=(stop_at,), daemon=True)
        sampling.start()
        load_before = os.getloadavg()
        # The office sends to everyone from a second before the kill on.
        time.sleep(max(0.0, kill_at - 1.0 - time.time()))
        office: dict = {}
        sender = threading.Thread(target=lambda: office.update(
            send_commands(survivor.address, admin, ids)))
        sender.start()
        time.sleep(max(0.0, kill_at - time.time()))
        instances[victim].process.send_signal(signal.SIGKILL)
        killed = time.time()
        instances[victim].process.wait()
        print(f"  killed instance {victim} (pid {instances[victim].process.pid})", flush=True)
        sender.join()
        load_after = os.getloadavg()
        logs: dict = {}
        shares = 0
        deadline = time.time() + args.drain + args.after_kill + 300
        # A load process that died (a crash in gRPC's client) sends nothing: noted, not waited for.
        while shares < len(processes) and time.time() < deadline:
            try:
                logs.update(results.get(timeout=1))
                shares += 1
            except queue.Empty:
                if not any(process.is_alive() for process in processes) and results.empty():
                    break
        for process in processes:
            process.join(timeout=60)
        load_exit_codes = [process.exitcode for process in processes]
    finally:
        # A survivor that died under the load (e.g. SIGSEGV) is a finding, not noise.
        survivor_exit = instances[1].process.poll()
        for instance in instances:
            instance.stop()
    home = {kiosk_id: failover.first_target(kiosk_id, 2) for kiosk_id in ids}
    victims = [k for k in ids if home[k] == victim]
    back: list[float] = []
    never: list[str] = []
    for kiosk_id in victims:
        if kiosk_id not in logs:
            continue  # its load process died
        after = [t for t, target in logs[kiosk_id]["heartbeats"]
                 if t >= killed and target == survivor.address]
        if after:
            back.append(after[0] - killed)
        else:
            never.append(kiosk_id)
    delivered: list[float] = []
    for kiosk_id, (command_id, started) in office.get("sent", {}).items():
        arrived = logs.get(kiosk_id, {}).get("arrivals", {}).get(command_id)
        if arrived is not None:
            delivered.append(arrived - started)
    failures: Counter = Counter()
    for log in logs.values():
        failures.update(log["failures"])
    checks = check_database(url, logs, {k: v for k, v in orders.items() if k in logs})
    survivor_log = instances[1 - victim].log_path.read_text()
    tracebacks = survivor_log.count("Traceback")
    first_traceback = survivor_log.find("Traceback")
    result = {
        "kiosks": n, "load_processes": LOAD_PROCESSES,
        "load_process_exit_codes": load_exit_codes, "kiosks_reported": len(logs),
        "heartbeat_interval_s": args.heartbeat_interval, "event_interval_s": args.event_interval,
        "load_average_before": load_before, "load_average_after": load_after,
        "kiosks_of_the_killed_instance": len(victims),
        "back_online": {"kiosks": len(back), "never": len(never), **percentiles_ms(back)},
        "back_online_within_10s": sum(1 for b in back if b < 10),
        "commands": {"sent": len(office.get("sent", {})), "send_retries": office.get("failures"),
                     "delivered": len(delivered), **percentiles_ms(delivered)},
        "kiosk_call_failures": dict(failures),
        "survivor_before_kill": sampler.window(kill_at - 6, kill_at),
        "survivor_first_10s": sampler.window(killed, killed + 10),
        "survivor_10s_to_end": sampler.window(killed + 10, stop_at),
        "survivor_log_tracebacks": tracebacks,
        "survivor_log_first_traceback": (survivor_log[max(0, first_traceback - 300):
                                                      first_traceback + 3000]
                                         if first_traceback >= 0 else ""),
        "survivor_exit_code_during_run": survivor_exit,
        **checks,
    }
    b = result["back_online"]
    print(f"  back online on the survivor: {b['kiosks']} of {len(victims)}, p50 {b['p50_ms']} ms,"
          f" p99 {b['p99_ms']} ms, max {b['max_ms']} ms; commands delivered "
          f"{len(delivered)}/{n}; events produced {checks['events_produced']}, missing "
          f"{checks['events_missing']}, twice {checks['events_stored_twice']}; orders ok "
          f"{checks['orders_deposited_and_collected_once']}/{n}; failures {dict(failures)}",
          flush=True)
    first = result["survivor_first_10s"]
    print(f"  survivor, first 10 s after the kill: CPU {first.get('cpu_share')}"
          f" ({first.get('cpu_ms_per_call')} ms per call), calls/s "
          f"{first.get('calls_per_second')}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", default="200,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--postgres-url", help="use a fresh schema of this database instead "
                        "of a throwaway cluster of the benchmark's own")
    parser.add_argument("--heartbeat-interval", type=float, default=30.0,
                        help="seconds (the kiosk's default: 30)")
    parser.add_argument("--event-interval", type=float, default=10.0,
                        help="seconds between a kiosk's routine events")
    parser.add_argument("--retry-max", type=float, default=60.0,
                        help="the backoff's cap (the kiosk's default: 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the kill")
    parser.add_argument("--after-kill", type=float, default=30.0,
                        help="seconds of production after the kill")
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds the kiosks get to empty their outboxes at the end")
    args = parser.parse_args(argv)
    result: dict = {"registry": "2 × kiosk-registry serve on one PostgreSQL, one SIGKILLed"}
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        # PostgreSQL runs as its own user when we are root: it must reach its folder.
        os.chmod(tmp, 0o711)
        cluster = Path(tmp) / "pg"
        base = args.postgres_url or start_cluster(cluster)
        try:
            for n in (int(x) for x in args.kiosks.split(",")):
                workdir = Path(tmp) / f"run{n}"
                workdir.mkdir()
                result[f"fleet_{n}"] = run(n, args, fresh_schema(base), workdir)
        finally:
            if not args.postgres_url:
                stop_cluster(cluster)
    path = write_result("failover", result)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
