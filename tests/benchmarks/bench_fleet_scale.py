"""A fleet of thousands on one registry (issue 10): the asyncio server against the threaded one.

The registry runs as deployed (`kiosk-registry serve`, SQLite, default
scrypt cost) in its own process on loopback. The load generator is asyncio
too (grpc.aio, a few processes, one loop each), so it does not eat the two
cores the registry needs. Three parts:

* **fleet** (500 and 2,000 kiosks): every simulated kiosk enrols, registers
  and keeps a StreamCommands call open on its own HTTP/2 connection, then
  heartbeats and syncs every ``--interval`` seconds (the kiosk's default is
  30). Midway, the office sends one command to every kiosk; each kiosk
  notes when it arrives on its stream and acknowledges it. Reported:
  kiosks registered, streams open, heartbeat and sync latency, command
  delivery (from the start of the SendKioskCommand call to its arrival on
  the kiosk's stream: the office's call is included), the registry's RSS.
* **unary**: no streams, ``--concurrency`` callers in all (split over the
  load processes) call one method as fast as they can for ``--seconds``:
  calls/s and p50/p99 for Heartbeat, ReportEvents (one new event),
  SyncChanges (incremental, cursor at the head) and CreatePickupOrder.
  First comes the **floor**: the same load processes, callers, metadata
  (each kiosk's bearer token) and Heartbeat request against an empty
  grpc.aio server in a process of its own (every method answered with an
  empty message, no auth, no storage), with each method's share of it
  (``ratio_to_floor``): how much of the budget gRPC itself takes here. For
  every method and the floor the CPU time (utime + stime from /proc, the
  whole process tree) within the window is divided by the calls: the
  server's, the load processes' and, on PostgreSQL, the database server's
  (``*_cpu_ms_per_call``); unlike calls/s, robust to other load on the
  machine. ``cpu_bound_ceiling_calls_per_s`` is the cores divided by all
  of that CPU per call: what this machine could carry at best, load
  generator included (the registry's one Python process may carry less). CreatePickupOrder hashes the code twice with scrypt (n=2^14) by
  design; it is measured again on a registry created with
  ``serve --kdf-n 2``, the cheapest cost it accepts (a test setting), as
  ``create_order_without_kdf_cost``: what the call costs besides its KDF.
* **baseline**: the same unary part against the registry of other
  checkouts (``--baseline PATH``, repeatable: e.g. a `git worktree` of main
  and one of the threaded server before it), in the same run, for the ratio.

``--postgres URL`` (a PostgreSQL server, e.g. ``tools/pg-cluster start``)
runs everything on PostgreSQL instead of SQLite: each registry gets a fresh
schema, migrated by its own checkout (``db upgrade``), with PostgreSQL's
durable defaults; results go to ``fleet_scale_postgresql.json``. A baseline
without PostgreSQL support (the threaded server) is skipped there.

Credentials come from fleet_client.credentials_for (kiosks are enrolled in
bulk first: enrolling is the operator's step, not what is measured).

    .venv/bin/python -m tests.benchmarks.bench_fleet_scale [--kiosks 500,2000]
        [--interval 10] [--fleet-seconds 30] [--seconds 6] [--baseline PATH ...]
        [--postgres URL] [--methods heartbeat,...]
    tools/bench fleet_scale
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc

from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.benchmarks.bench_fleet import percentiles_ms
from tests.benchmarks.common import cpu_between, tree_cpu_seconds, write_result
from tests.benchmarks.fleet_client import (
    REGISTRY_DB_ENV,
    REGISTRY_STATE_ENV,
    SimulatedKiosk,
    aio_channel,
    credentials_for,
    enrol_fleet,
    layout,
    start_floor_server,
    start_registry,
)

LOAD_PROCESSES = 2
SETUP_CONCURRENCY = 50  # kiosks joining at once per load process


# ----------------------------------------------------------------- fleet

class StreamingKiosk(SimulatedKiosk):
    """A simulated kiosk that notes when each command arrives and acknowledges it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: dict[str, float] = {}
        self.beats: list[tuple[float, float]] = []  # (wall-clock start, latency)

    async def heartbeat(self) -> None:
        started = time.time()
        await super().heartbeat()
        self.beats.append((started, self.stats.heartbeats[-1]))

    async def _read_stream(self) -> None:
        try:
            async for response in self._stream:
                self.arrivals[response.command.command_id] = time.time()
                try:
                    await self.stub.AcknowledgeCommands(pb.AcknowledgeCommandsRequest(
                        kiosk_id=self.kiosk_id, command_ids=[response.command.command_id]),
                        timeout=10, metadata=self.credentials.metadata)
                except grpc.aio.AioRpcError as exc:
                    self.stats.failures.append(f"AcknowledgeCommands: {exc.code().name}")
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        finally:
            self.stats.stream_open = False


async def _fleet_share(target: str, ids: list[str], interval: float, ready, stop,
                       results) -> None:
    kiosks = [StreamingKiosk(target, kiosk_id, timeout=10.0) for kiosk_id in ids]
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    joined: list[float] = []

    async def join(kiosk: StreamingKiosk) -> None:
        async with gate:
            began = time.perf_counter()
            try:
                await kiosk.register()
                await kiosk.open_stream()
            except grpc.aio.AioRpcError:
                return
            joined.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(join(k) for k in kiosks))
    ready.put({"registered": sum(k.stats.registered for k in kiosks),
               "setup_s": round(time.perf_counter() - began, 2)})
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(k.run(interval, stopping)) for k in kiosks]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    stopping.set()
    await asyncio.gather(*tasks)
    results.put({
        "registered": sum(k.stats.registered for k in kiosks),
        "streams_open": sum(k.stats.stream_open for k in kiosks),
        "join": joined,
        "heartbeats": [x for k in kiosks for x in k.stats.heartbeats],
        "syncs": [x for k in kiosks for x in k.stats.syncs],
        "failures": [f for k in kiosks for f in k.stats.failures],
        "arrivals": {k.kiosk_id: k.arrivals for k in kiosks},
        "beats": [b for k in kiosks for b in k.beats],
    })
    await asyncio.gather(*(k.close() for k in kiosks), return_exceptions=True)


def _fleet_process(target: str, ids: list[str], interval: float, tokens: dict, ready, stop,
                   results) -> None:
    enrol_fleet(os.environ[REGISTRY_DB_ENV], tokens=tokens)
    asyncio.run(_fleet_share(target, ids, interval, ready, stop, results))


async def _command_everyone(target: str, ids: list[str], concurrency: int = 32) -> dict:
    """One command to every kiosk; returns (kiosk → (command id, call start)) and call latencies."""
    office = credentials_for("office", "bench")
    channel = aio_channel(target, office)
    stub = pb_grpc.OfficeServiceStub(channel)
    gate = asyncio.Semaphore(concurrency)
    sent: dict[str, tuple[str, float]] = {}
    calls: list[float] = []
    failures: list[str] = []

    async def send(kiosk_id: str) -> None:
        async with gate:
            started, began = time.time(), time.perf_counter()
            try:
                reply = await stub.SendKioskCommand(pb.SendKioskCommandRequest(
                    kiosk_id=kiosk_id,
                    command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="bench")),
                    timeout=30, metadata=office.metadata)
            except grpc.aio.AioRpcError as exc:
                failures.append(exc.code().name)
                return
            calls.append(time.perf_counter() - began)
            sent[kiosk_id] = (reply.command_id, started)

    began = time.perf_counter()
    await asyncio.gather(*(send(i) for i in ids))
    took = time.perf_counter() - began
    await channel.close()
    return {"sent": sent, "calls": calls, "failures": failures, "seconds": took}


def _fleet(target: str, n: int, interval: float, seconds: float, tokens: dict,
           registry) -> dict:
    ctx = multiprocessing.get_context("spawn")  # gRPC's threads do not survive a fork
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    ids = [f"scale-kiosk-{i:05d}" for i in range(n)]
    shares = [ids[p::LOAD_PROCESSES] for p in range(LOAD_PROCESSES)]
    processes = [ctx.Process(target=_fleet_process,
                             args=(target, share, interval, {i: tokens[i] for i in share},
                                   ready, stop, results))
                 for share in shares]
    began = time.perf_counter()
    for process in processes:
        process.start()
    setups = [ready.get(timeout=600) for _ in processes]
    all_joined_s = round(time.perf_counter() - began, 2)
    print(f"  {sum(s['registered'] for s in setups)} of {n} registered with open streams "
          f"after {all_joined_s} s", flush=True)
    time.sleep(seconds / 2)
    memory_streaming = registry.rss_kib()
    threads_streaming = registry.threads()
    burst_start = time.time()
    commands = asyncio.run(_command_everyone(target, ids))
    burst_end = time.time() + 1.0  # deliveries and acknowledgements trail the sends
    time.sleep(seconds / 2)
    stop.set()
    outcome = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    arrivals = {k: v for share in outcome for k, v in share["arrivals"].items()}
    delivery = []
    for kiosk_id, (command_id, started) in commands["sent"].items():
        arrived = arrivals.get(kiosk_id, {}).get(command_id)
        if arrived is not None:
            delivery.append(arrived - started)
    heartbeats = [x for share in outcome for x in share["heartbeats"]]
    syncs = [x for share in outcome for x in share["syncs"]]
    failures = [f for share in outcome for f in share["failures"]]
    beats = [b for share in outcome for b in share["beats"]]
    quiet = [latency for started, latency in beats if not burst_start <= started <= burst_end]
    during = [latency for started, latency in beats if burst_start <= started <= burst_end]
    return {
        "kiosks": n, "interval_s": interval, "seconds": seconds,
        "load_processes": LOAD_PROCESSES,
        "registered": sum(share["registered"] for share in outcome),
        "streams_open_at_end": sum(share["streams_open"] for share in outcome),
        "join_ms": percentiles_ms([x for share in outcome for x in share["join"]]),
        "all_joined_s": all_joined_s,
        "heartbeat": {"calls": len(heartbeats), **percentiles_ms(heartbeats)},
        # Outside the command burst (the office sending to every kiosk) and during it.
        "heartbeat_outside_burst": {"calls": len(quiet), **percentiles_ms(quiet)},
        "heartbeat_during_burst": {"calls": len(during), **percentiles_ms(during)},
        "sync": {"calls": len(syncs), **percentiles_ms(syncs)},
        "commands": {
            "sent": len(commands["sent"]), "send_failures": len(commands["failures"]),
            "sending_took_s": round(commands["seconds"], 2),
            "send_call": percentiles_ms(commands["calls"]),
            "delivered": len(delivery),
            "delivered_within_1s": sum(1 for d in delivery if d <= 1.0),
            "delivery": percentiles_ms(delivery),
        },
        "failures": len(failures), "failure_kinds": sorted(set(failures))[:10],
        "registry_memory_streaming_kib": memory_streaming,
        "registry_threads_streaming": threads_streaming,
    }


# ----------------------------------------------------------------- unary

async def _hammer_share(target: str, method: str, seconds: float, callers: list[tuple],
                        context: dict) -> dict:
    """Each caller (role, name) on its own channel calls ``method`` back to back."""
    latencies: list[float] = []
    errors: list[str] = []

    async def caller(role: str, name: str) -> None:
        credentials = credentials_for(role, name)
        channel = aio_channel(target, credentials)
        kiosk = pb_grpc.KioskServiceStub(channel)
        office = pb_grpc.OfficeServiceStub(channel)
        md = credentials.metadata

        async def once() -> None:
            if method == "heartbeat":
                await kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id=name), timeout=10, metadata=md)
            elif method == "report_events":
                event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_STAFF_LOGIN,
                                      staff_ids=["bench"], detail="bench")
                event.occur_time.GetCurrentTime()
                await kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id=name, events=[event]),
                                         timeout=10, metadata=md)
            elif method == "sync_incremental":
                await kiosk.SyncChanges(pb.SyncChangesRequest(
                    kiosk_id=name, cursor=context["cursor"]), timeout=10, metadata=md)
            elif method == "create_order":
                await office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                    kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4()),
                    kiosk_id=context["kiosk"]), timeout=30, metadata=md)
        try:
            await once()  # connected before the clock starts
            deadline = context["start"] + seconds
            while time.time() < context["start"]:
                await asyncio.sleep(0.01)
            while time.time() < deadline:
                began = time.perf_counter()
                try:
                    await once()
                except grpc.aio.AioRpcError as exc:
                    errors.append(exc.code().name)
                else:
                    latencies.append(time.perf_counter() - began)
        finally:
            await channel.close()

    async def own_cpu() -> float:
        """This load process's CPU seconds (every thread) within the measured window."""
        await asyncio.sleep(max(0.0, context["start"] - time.time()))
        began = time.process_time()
        await asyncio.sleep(max(0.0, context["start"] + seconds - time.time()))
        return time.process_time() - began

    cpu = asyncio.create_task(own_cpu())
    await asyncio.gather(*(caller(*c) for c in callers))
    return {"latencies": latencies, "errors": errors, "load_cpu_s": await cpu}


def _hammer_process(args: tuple) -> dict:
    target, method, seconds, callers, context, tokens = args
    enrol_fleet(os.environ[REGISTRY_DB_ENV], tokens=tokens)
    return asyncio.run(_hammer_share(target, method, seconds, callers, context))


def _measure(pool, target: str, method: str, seconds: float, callers: list[tuple],
             context: dict, tokens: dict, watched: dict[str, int]) -> dict:
    """One method's run: calls/s, latency, and the CPU time of the ``watched`` process
    trees (name → pid) and of the load processes within the window, per call."""
    jobs = [(target, method, seconds, callers[p::LOAD_PROCESSES], context, tokens)
            for p in range(LOAD_PROCESSES)]
    pending = pool.map_async(_hammer_process, jobs)
    time.sleep(max(0.0, context["start"] - time.time()))
    before = {name: tree_cpu_seconds(pid) for name, pid in watched.items()}
    time.sleep(max(0.0, context["start"] + seconds - time.time()))
    after = {name: tree_cpu_seconds(pid) for name, pid in watched.items()}
    shares = pending.get(timeout=seconds + 600)
    flat = [x for share in shares for x in share["latencies"]]
    errors = [e for share in shares for e in share["errors"]]
    calls = max(1, len(flat))
    result = {"calls": len(flat), "calls_per_s": round(len(flat) / seconds, 1),
              **percentiles_ms(flat), "errors": len(errors), "error_codes": sorted(set(errors))}
    for name in watched:
        result[f"{name}_cpu_ms_per_call"] = round(
            cpu_between(before[name], after[name]) * 1000 / calls, 3)
    result["load_cpu_ms_per_call"] = round(
        sum(share["load_cpu_s"] for share in shares) * 1000 / calls, 3)
    # What the machine's cores could carry if the calls were CPU-bound, the load generator
    # included: derived from CPU time, so it holds on a busy machine where calls/s does not.
    spent = sum(v for k, v in result.items() if k.endswith("_cpu_ms_per_call"))
    result["cpu_bound_ceiling_calls_per_s"] = round((os.cpu_count() or 1) * 1000
                                                    / max(0.001, spent))
    return result


def _print_method(label: str, r: dict) -> None:
    cpu = "  ".join(f"{key.removesuffix('_cpu_ms_per_call')} CPU {value} ms/call"
                    for key, value in r.items() if key.endswith("_cpu_ms_per_call"))
    print(f"  {label:17} {r['calls_per_s']:8.1f} calls/s  p50 {r['p50_ms']} ms  "
          f"p99 {r['p99_ms']} ms  errors {r['errors']}  {cpu}  (CPU-bound ceiling "
          f"{r['cpu_bound_ceiling_calls_per_s']}/s)", flush=True)


def _unary(target: str, seconds: float, concurrency: int, tokens: dict,
           methods=("heartbeat", "report_events", "sync_incremental", "create_order"),
           watched: dict[str, int] | None = None, floor: bool = True) -> dict:
    """Each of ``methods`` with ``concurrency`` callers over the load processes; first the
    same load (Heartbeat's callers, metadata and request) against an empty grpc.aio server
    in a process of its own: the floor that gRPC itself sets on this machine."""
    setup = grpc.insecure_channel(target)
    kiosk_stub = pb_grpc.KioskServiceStub(setup)
    kiosk_names = [f"unary-{n:03d}" for n in range(concurrency)]
    for name in kiosk_names:
        kiosk_stub.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=name, software_version="bench", compartments=layout()),
            timeout=10, metadata=credentials_for("kiosk", name).metadata)
    head = kiosk_stub.SyncChanges(pb.SyncChangesRequest(kiosk_id=kiosk_names[0]), timeout=30,
                                  metadata=credentials_for("kiosk", kiosk_names[0]).metadata)
    setup.close()
    ctx = multiprocessing.get_context("spawn")
    results = {}

    def context() -> dict:
        return {"cursor": head.next_cursor, "kiosk": kiosk_names[0],
                "start": time.time() + 3.0}  # after every process has connected

    with ctx.Pool(LOAD_PROCESSES) as pool:
        if floor:
            empty = start_floor_server()
            try:
                results["floor"] = _measure(
                    pool, empty.address, "heartbeat", seconds,
                    [("kiosk", name) for name in kiosk_names], context(), tokens,
                    {"server": empty.pid})
            finally:
                empty.stop()
            _print_method("floor (empty)", results["floor"])
        for method in methods:
            if method == "create_order":
                callers = [("office", "bench")] * concurrency
            else:
                callers = [("kiosk", name) for name in kiosk_names]
            results[method] = _measure(pool, target, method, seconds, callers, context(),
                                       tokens, watched or {})
            _print_method(method, results[method])
    if floor:
        results["ratio_to_floor"] = _floor_ratios(results, methods)
        print(f"  calls/s and server CPU per call, relative to the floor: "
              f"{json.dumps(results['ratio_to_floor'])}", flush=True)
    return results


def _floor_ratios_into(ratios: dict, results: dict, key: str) -> None:
    ratios[key] = _floor_ratios({"floor": results["floor"], key: results[key]}, (key,))[key]
    print(f"  {key}: {json.dumps(ratios[key])} of the floor", flush=True)


def _floor_ratios(results: dict, methods) -> dict:
    """Each method's throughput as a share of the floor's, and its server CPU per call as a
    multiple of the empty server's."""
    floor = results["floor"]
    ratios = {}
    for method in methods:
        r = results[method]
        ratios[method] = {
            "calls_per_s": round(r["calls_per_s"] / max(0.1, floor["calls_per_s"]), 3),
            "server_cpu_per_call": round(
                r.get("server_cpu_ms_per_call", 0.0)
                / max(0.001, floor["server_cpu_ms_per_call"]), 2),
        }
    return ratios


UNARY_METHODS = ("heartbeat", "report_events", "sync_incremental", "create_order")


class Postgres:
    """Fresh schemas in one PostgreSQL database, each migrated by the checkout that uses it."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        from registry.storage.location import locate

        self.url = url
        self._admin = locate(url).engine().execution_options(isolation_level="AUTOCOMMIT")
        self._sa = sa
        self.schemas: list[str] = []

    def fresh(self, checkout: str | None) -> str:
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(self._sa.text(f"CREATE SCHEMA {schema}"))
        self.schemas.append(schema)
        url = make_url(self.url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        script = Path(sys.executable).parent / "kiosk-registry"
        env = dict(os.environ)
        if checkout is not None:
            env["PYTHONPATH"] = checkout
        subprocess.run([str(script), "db", "upgrade", "--db", url], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return url

    def server_pid(self) -> int:
        """The postmaster's pid: its process tree is every backend, the registry's too."""
        with self._admin.connect() as conn:
            backend = conn.execute(self._sa.text("SELECT pg_backend_pid()")).scalar_one()
        stat = Path(f"/proc/{backend}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[1])  # field 4, the parent

    def close(self) -> None:
        with self._admin.connect() as conn:
            for schema in self.schemas:
                conn.execute(self._sa.text(f"DROP SCHEMA {schema} CASCADE"))
        self._admin.dispose()


def _start(workdir: Path, postgres: Postgres | None, checkout: str | None = None,
           extra: tuple[str, ...] = ()):
    """A registry of this checkout (or ``checkout``, its packages first on PYTHONPATH);
    ``extra``: more `kiosk-registry serve` options."""
    saved = os.environ.get("PYTHONPATH")
    if checkout is not None:  # the other checkout's registry and protobuf packages first
        os.environ["PYTHONPATH"] = f"{checkout}{os.pathsep}{Path(checkout) / 'protos'}"
    try:
        database = postgres.fresh(os.environ.get("PYTHONPATH")) if postgres else None
        return start_registry(workdir, *extra, database=database)
    finally:
        if checkout is not None:
            if saved is None:
                os.environ.pop("PYTHONPATH")
            else:
                os.environ["PYTHONPATH"] = saved


def _unary_run(workdir: Path, seconds: float, concurrency: int, label: str,
               checkout: str | None = None, methods=UNARY_METHODS,
               postgres: Postgres | None = None, extra: tuple[str, ...] = (),
               floor: bool = True) -> dict:
    workdir.mkdir()
    registry = _start(workdir, postgres, checkout, extra)
    try:
        names = [f"unary-{n:03d}" for n in range(concurrency)]
        tokens = enrol_fleet(os.environ[REGISTRY_DB_ENV], names)
        print(f"== unary ({label}): {concurrency} callers, {seconds:g} s per method", flush=True)
        watched = {"server": registry.pid}
        if postgres is not None:
            watched["database"] = postgres.server_pid()
        result = _unary(registry.address, seconds, concurrency, tokens, methods, watched, floor)
        result["registry_memory_kib"] = registry.rss_kib()
        result["registry_threads"] = registry.threads()
        result["kdf"] = _kdf_of_registry()
        return result
    finally:
        registry.stop()


def _kdf_of_registry() -> dict:
    """The credential policy's scrypt parameters of the registry under test, as stored (read
    with plain SQL: this checkout's code would migrate a baseline's older schema)."""
    import sqlalchemy as sa

    from registry.storage.location import locate

    engine = locate(os.environ[REGISTRY_DB_ENV]).engine()
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                "SELECT key, value FROM meta WHERE key IN ('kdf_n', 'kdf_r', 'kdf_p')")).all())
    finally:
        engine.dispose()
    return {f"scrypt_{key[-1]}": int(value) for key, value in sorted(rows.items())}


# The cheapest scrypt cost `kiosk-registry serve --kdf-n` accepts for a new database
# (registry.cli: a power of two of at least 2; "for tests only").
CHEAPEST_KDF_N = 2


def _run_all(args, workdir: Path, methods, postgres, result: dict) -> None:
    if not args.skip_fleet:
        for n in (int(x) for x in args.kiosks.split(",")):
            print(f"== fleet: {n} kiosks, heartbeat + sync every {args.interval:g} s, "
                  f"one command to each", flush=True)
            (workdir / f"fleet{n}").mkdir()
            registry = _start(workdir / f"fleet{n}", postgres)
            try:
                tokens = enrol_fleet(os.environ[REGISTRY_DB_ENV],
                                     [f"scale-kiosk-{i:05d}" for i in range(n)])
                load = os.getloadavg()
                fleet = _fleet(registry.address, n, args.interval, args.fleet_seconds,
                               tokens, registry)
                fleet["load_average_at_start"] = load
                fleet["load_average_at_end"] = os.getloadavg()
                fleet["registry_memory_end_kib"] = registry.rss_kib()
            finally:
                registry.stop()
            result[f"fleet_{n}"] = fleet
            c = fleet["commands"]
            print(f"  heartbeat p50 {fleet['heartbeat']['p50_ms']} p99 "
                  f"{fleet['heartbeat']['p99_ms']} ms (outside the command burst p99 "
                  f"{fleet['heartbeat_outside_burst']['p99_ms']} ms); sync p99 {fleet['sync']['p99_ms']} ms; "
                  f"commands delivered {c['delivered']}/{n} ({c['delivered_within_1s']} within 1 s,"
                  f" p99 {c['delivery']['p99_ms']} ms); RSS "
                  f"{fleet['registry_memory_streaming_kib']['VmRSS'] // 1024} MiB; "
                  f"failures {fleet['failures']}", flush=True)
    result["load_average_before_unary"] = os.getloadavg()
    if not args.skip_unary:
        result["unary"] = _unary_run(workdir / "unary", args.seconds, args.concurrency,
                                     "this checkout", methods=methods, postgres=postgres)
        if "create_order" in methods:
            # CreatePickupOrder hashes the code twice with scrypt (n=2^14) by design; on a
            # registry created with the cheapest cost it accepts, what is left is the call.
            cheap = _unary_run(workdir / "unary_cheapest_kdf", args.seconds, args.concurrency,
                               f"this checkout, --kdf-n {CHEAPEST_KDF_N}",
                               methods=("create_order",), postgres=postgres,
                               extra=("--kdf-n", str(CHEAPEST_KDF_N)), floor=False)
            result["unary"]["create_order_without_kdf_cost"] = {
                "label": "CreatePickupOrder without its KDF cost: a registry created with "
                         f"`serve --kdf-n {CHEAPEST_KDF_N}` (scrypt n={CHEAPEST_KDF_N}, r=8, "
                         "p=1), not a deployable setting",
                "kdf": cheap["kdf"], **cheap["create_order"]}
            ratios = result["unary"].get("ratio_to_floor")
            if ratios is not None:
                _floor_ratios_into(ratios, result["unary"], "create_order_without_kdf_cost")
    for n, checkout in enumerate(args.baseline if not args.skip_unary else []):
        checkout = str(Path(checkout).resolve())
        key = "unary_baseline" if n == 0 else f"unary_baseline_{n + 1}"
        if postgres and not (Path(checkout) / "registry" / "storage").is_dir():
            result[key] = {"checkout": checkout, "skipped": "no PostgreSQL support"}
            print(f"== {checkout}: no PostgreSQL support, skipped", flush=True)
            continue
        result[f"load_average_before_{key}"] = os.getloadavg()
        baseline = _unary_run(workdir / f"baseline{n}", args.seconds, args.concurrency,
                              f"baseline {checkout}", checkout=checkout, methods=methods,
                              postgres=postgres)
        baseline["checkout"] = checkout
        result[key] = baseline
        result[key.replace("unary_baseline", "unary_ratio")] = {
            method: round(result["unary"][method]["calls_per_s"]
                          / max(0.1, baseline[method]["calls_per_s"]), 2)
            for method in methods
        }
        print(f"  ratio this checkout / {checkout}: "
              f"{json.dumps(result[key.replace('unary_baseline', 'unary_ratio')])}", flush=True)
    result["load_average_at_end"] = os.getloadavg()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", default="500,2000", help="fleet sizes, comma-separated")
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between each kiosk's heartbeat + sync (the kiosk's default: 30)")
    parser.add_argument("--fleet-seconds", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=6.0, help="per unary method")
    parser.add_argument("--concurrency", type=int, default=16, help="unary callers in all")
    parser.add_argument("--baseline", metavar="CHECKOUT", action="append", default=[],
                        help="also run the unary part against the registry of this checkout"
                             " (repeatable)")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL (fresh schemas in this database) instead of SQLite")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-unary", action="store_true")
    parser.add_argument("--methods", default=",".join(UNARY_METHODS),
                        help="unary methods to measure, comma-separated")
    args = parser.parse_args(argv)
    methods = tuple(m for m in args.methods.split(",") if m)
    unknown = set(methods) - set(UNARY_METHODS)
    if unknown:
        parser.error(f"unknown --methods {sorted(unknown)}: choose from {', '.join(UNARY_METHODS)}")

    postgres = Postgres(args.postgres) if args.postgres else None
    backend = "PostgreSQL" if postgres else "SQLite"
    result: dict = {"load_average_at_start": os.getloadavg(),
                    "registry": f"kiosk-registry serve ({backend}, default scrypt cost, grpc.aio)",
                    "load_generator": f"grpc.aio, {LOAD_PROCESSES} processes"}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            _run_all(args, Path(tmp), methods, postgres, result)
    finally:
        if postgres is not None:
            postgres.close()
        os.environ.pop(REGISTRY_STATE_ENV, None)
    path = write_result("fleet_scale_postgresql" if postgres else "fleet_scale", result)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
