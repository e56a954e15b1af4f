"""How today's registry copes with a fleet: the baseline for issue 10's asyncio registry.

The registry runs as deployed (`kiosk-registry serve`, default scrypt cost,
SQLite) in its own process on loopback; this process is the load generator.
Three parts:

* **ramp** - simulated kiosks join one by one, each on its own HTTP/2
  connection (asyncio client): register, open StreamCommands (and keep it
  open), sync, heartbeat. The first kiosk whose calls time out (2 s) marks
  the limit: how many kiosks were served before the registry stopped
  answering, and whether the kiosks already in still got their heartbeats
  through afterwards.
* **fleet** - a fleet below that limit, spread over a few load processes
  (one asyncio loop each), heartbeats and syncs on a short
  schedule for a while: latency of those calls with every stream open.
* **unary** - no streams; 16 client threads (one channel each) call one
  method as fast as they can for a fixed time: calls/s, p50 and p99 for
  Heartbeat, ReportEvents (one new event per call), SyncChanges
  (incremental: cursor at the head; and full: empty cursor over the seeded
  orders) and CreatePickupOrder.

The registry's resident memory (VmRSS, peak VmHWM) and thread count are read
from /proc after each part; the registry's own /metrics are scraped at the
end to cross-check the call counts. Figures go to artifacts/benchmarks/fleet.json.

Credentials: every client takes them from fleet_client.credentials_for()
(the local admin key for office calls, an enrolled kiosk credential per
kiosk); see that module.

    .venv/bin/python -m tests.benchmarks.bench_fleet [--max-kiosks 64] [--seconds 8]
        [--fleet-seconds 10] [--load-processes 2] [--seed-orders 200]
    tools/bench fleet
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.benchmarks.common import write_result
from tests.benchmarks.fleet_client import (
    RegistryProcess,
    SimulatedKiosk,
    credentials_for,
    layout,
    start_registry,
    sync_channel,
)

CLIENT_THREADS = 16


def percentiles_ms(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 2)}


# ------------------------------------------------------------------ ramp

async def _ramp(target: str, max_kiosks: int, settle: float) -> dict:
    kiosks: list[SimulatedKiosk] = []
    limit_reached_at = None
    joined = []
    try:
        for i in range(1, max_kiosks + 1):
            kiosk = SimulatedKiosk(target, f"bench-kiosk-{i:04d}")
            kiosks.append(kiosk)
            started = time.perf_counter()
            try:
                await kiosk.register()
                await kiosk.open_stream()
                await kiosk.sync()
                await kiosk.heartbeat()
            except grpc.aio.AioRpcError as exc:
                limit_reached_at = {"kiosk": i, "failed_call": kiosk.stats.failures[-1],
                                    "code": exc.code().name}
                break
            joined.append(round((time.perf_counter() - started) * 1000, 1))
            await asyncio.sleep(0.05)  # let the stream take its worker thread
        # Do the kiosks that were in still get through once the limit is hit?
        await asyncio.sleep(settle)
        earlier = kiosks[:-1] if limit_reached_at else kiosks
        outcomes = await asyncio.gather(*(k.heartbeat() for k in earlier), return_exceptions=True)
        after = sum(1 for o in outcomes if not isinstance(o, BaseException))
        return {
            # Registered, stream open, synced and heartbeated within 2 s each.
            "kiosks_served": len(joined),
            "kiosks_registered": sum(k.stats.registered for k in kiosks),
            "limit": limit_reached_at,
            "join_ms": percentiles_ms([ms / 1000 for ms in joined]),
            "heartbeats_of_earlier_kiosks_after_limit": {"ok": after, "of": len(earlier)},
            "streams_open": sum(k.stats.stream_open for k in kiosks),
        }
    finally:
        await asyncio.gather(*(k.close() for k in kiosks), return_exceptions=True)


# ----------------------------------------------------------------- fleet

async def _fleet_share(target: str, kiosk_ids: list[str], seconds: float,
                       interval: float) -> dict:
    """One load process's kiosks: register, stream, then heartbeat + sync on schedule."""
    kiosks = [SimulatedKiosk(target, kiosk_id, timeout=5.0) for kiosk_id in kiosk_ids]
    stop = asyncio.Event()
    try:
        for kiosk in kiosks:
            await kiosk.register()
            await kiosk.open_stream()
        tasks = [asyncio.create_task(k.run(interval, stop)) for k in kiosks]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        return {
            "heartbeats": [x for k in kiosks for x in k.stats.heartbeats],
            "syncs": [x for k in kiosks for x in k.stats.syncs],
            "failures": [f for k in kiosks for f in k.stats.failures],
            "streams_open": sum(k.stats.stream_open for k in kiosks),
        }
    finally:
        await asyncio.gather(*(k.close() for k in kiosks), return_exceptions=True)


def _fleet_process(job: tuple) -> dict:
    return asyncio.run(_fleet_share(*job))


def _fleet(target: str, n: int, seconds: float, interval: float, processes: int) -> dict:
    """``n`` kiosks spread over ``processes`` load processes (each its own asyncio loop)."""
    import multiprocessing

    ids = [f"fleet-kiosk-{i:04d}" for i in range(n)]
    jobs = [(target, ids[p::processes], seconds, interval) for p in range(processes)
            if ids[p::processes]]
    # spawn, not fork: gRPC's threads do not survive a fork.
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        shares = pool.map(_fleet_process, jobs)
    heartbeats = [x for share in shares for x in share["heartbeats"]]
    syncs = [x for share in shares for x in share["syncs"]]
    return {
        "kiosks": n, "load_processes": len(jobs), "seconds": seconds, "interval_s": interval,
        "streams_open_at_end": sum(share["streams_open"] for share in shares),
        "heartbeat": {"calls": len(heartbeats), **percentiles_ms(heartbeats)},
        "sync": {"calls": len(syncs), **percentiles_ms(syncs)},
        "failures": sum(len(share["failures"]) for share in shares),
    }


# ----------------------------------------------------------------- unary

def _hammer(target: str, seconds: float, make_call, caller=lambda n: ("office", "bench")) -> dict:
    """CLIENT_THREADS threads, one channel each, calling ``make_call(stubs, i)`` for ``seconds``;
    thread n calls as ``caller(n)`` (role, name)."""
    latencies: list[list[float]] = [[] for _ in range(CLIENT_THREADS)]
    errors: list[str] = []
    start = threading.Barrier(CLIENT_THREADS + 1)
    deadline = [0.0]

    def worker(n: int) -> None:
        credentials = credentials_for(*caller(n))
        channel = sync_channel(target, credentials)
        stubs = (pb_grpc.KioskServiceStub(channel), pb_grpc.OfficeServiceStub(channel), credentials)
        make_call(stubs, n, 0)  # connect before the clock starts
        start.wait()
        i = 1
        try:
            while time.perf_counter() < deadline[0]:
                began = time.perf_counter()
                try:
                    make_call(stubs, n, i)
                except grpc.RpcError as exc:
                    errors.append(exc.code().name)
                else:
                    latencies[n].append(time.perf_counter() - began)
                i += 1
        finally:
            channel.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + 3600
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return {"calls": len(flat), "calls_per_s": round(len(flat) / elapsed, 1),
            **percentiles_ms(flat), "errors": len(errors),
            "error_codes": sorted(set(errors))}


def _unary(target: str, seconds: float, seeded_orders: int) -> dict:
    setup = sync_channel(target, credentials_for("office", "bench-setup"))
    kiosk_stub = pb_grpc.KioskServiceStub(setup)
    office_stub = pb_grpc.OfficeServiceStub(setup)
    md = credentials_for("kiosk", "unary-00").metadata
    for n in range(CLIENT_THREADS):
        kiosk_stub.RegisterKiosk(pb.RegisterKioskRequest(
            kiosk_id=f"unary-{n:02d}", software_version="bench", compartments=layout()),
            timeout=10, metadata=credentials_for("kiosk", f"unary-{n:02d}").metadata)
    office_md = credentials_for("office", "bench-setup").metadata

    def seed(_):
        office_stub.CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4()), kiosk_id="unary-00"),
            timeout=60, metadata=office_md)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(seed, range(seeded_orders)))
    head = kiosk_stub.SyncChanges(pb.SyncChangesRequest(kiosk_id="unary-00"), timeout=30,
                                  metadata=md)
    while head.has_more:
        head = kiosk_stub.SyncChanges(pb.SyncChangesRequest(
            kiosk_id="unary-00", cursor=head.next_cursor), timeout=30, metadata=md)
    cursor = head.next_cursor
    setup.close()

    def heartbeat(stubs, n, i):
        stubs[0].Heartbeat(pb.HeartbeatRequest(kiosk_id=f"unary-{n:02d}", outbox_backlog=0),
                           timeout=10, metadata=stubs[2].metadata)

    def report(stubs, n, i):
        event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_STAFF_LOGIN,
                              staff_ids=["bench"], detail="bench")
        event.occur_time.GetCurrentTime()
        stubs[0].ReportEvents(pb.ReportEventsRequest(kiosk_id=f"unary-{n:02d}", events=[event]),
                              timeout=10, metadata=stubs[2].metadata)

    # Syncs as the kiosk that holds the seeded orders.
    def sync_incremental(stubs, n, i):
        stubs[0].SyncChanges(pb.SyncChangesRequest(kiosk_id="unary-00", cursor=cursor),
                             timeout=10, metadata=stubs[2].metadata)

    def sync_full(stubs, n, i):  # first page (500) of everything, as after a reinstall
        stubs[0].SyncChanges(pb.SyncChangesRequest(kiosk_id="unary-00"),
                             timeout=10, metadata=stubs[2].metadata)

    def create_order(stubs, n, i):
        stubs[1].CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4()), kiosk_id=f"unary-{n:02d}"),
            timeout=10, metadata=stubs[2].metadata)

    def own_kiosk(n):
        return "kiosk", f"unary-{n:02d}"

    def first_kiosk(n):
        return "kiosk", "unary-00"

    def office(n):
        return "office", "bench"

    results = {}
    for name, call, caller in (("heartbeat", heartbeat, own_kiosk),
                               ("report_events", report, own_kiosk),
                               ("sync_incremental", sync_incremental, first_kiosk),
                               ("sync_full", sync_full, first_kiosk),
                               ("create_order", create_order, office)):
        results[name] = _hammer(target, seconds, call, caller)
        print(f"  {name:17} {results[name]['calls_per_s']:8.1f} calls/s  "
              f"p50 {results[name]['p50_ms']} ms  p99 {results[name]['p99_ms']} ms  "
              f"errors {results[name]['errors']}", flush=True)
    return results


def _scrape(port: int | None) -> dict[str, float]:
    if port is None:
        return {}
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "registry_rpcs_total":
                key = f"{s.labels['method']}/{s.labels['code']}"
                totals[key] = totals.get(key, 0) + s.value
    return totals


def _memory(registry: RegistryProcess) -> dict:
    return {**registry.rss_kib(), "threads": registry.threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-kiosks", type=int, default=64, help="ramp up to this many kiosks")
    parser.add_argument("--fleet-seconds", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="per unary method")
    parser.add_argument("--load-processes", type=int, default=2,
                        help="processes the fleet's kiosks are spread over")
    parser.add_argument("--seed-orders", type=int, default=200,
                        help="orders in the registry before the unary part (what a full sync returns)")
    args = parser.parse_args(argv)

    result: dict = {"load_average_at_start": os.getloadavg(), "client_threads": CLIENT_THREADS, "registry": "kiosk-registry serve (SQLite, "
                    "default scrypt cost, thread pool)"}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        workdir = Path(tmp)
        print("== ramp: kiosks with open command streams, one by one", flush=True)
        (workdir / "ramp").mkdir()
        registry = start_registry(workdir / "ramp")
        try:
            result["memory_idle_kib"] = _memory(registry)
            ramp = asyncio.run(_ramp(registry.address, args.max_kiosks, settle=3.0))
            result["ramp"] = ramp
            result["memory_at_limit_kib"] = _memory(registry)
        finally:
            registry.stop()
        print(f"  served {ramp['kiosks_served']} kiosks; limit {ramp['limit']}; earlier kiosks' "
              f"heartbeats after it: {ramp['heartbeats_of_earlier_kiosks_after_limit']}", flush=True)

        # A fleet that fits: one stream per worker thread would starve the
        # unary calls, so leave a quarter of the threads free.
        fleet_size = max(1, (ramp["kiosks_served"] * 3) // 4)
        print(f"== fleet: {fleet_size} kiosks streaming from {args.load_processes} processes, "
              "heartbeat + sync every 1 s", flush=True)
        (workdir / "fleet").mkdir()
        registry = start_registry(workdir / "fleet")
        try:
            result["fleet"] = _fleet(registry.address, fleet_size, args.fleet_seconds,
                                     interval=1.0, processes=args.load_processes)
            result["memory_fleet_kib"] = _memory(registry)
        finally:
            registry.stop()
        f = result["fleet"]
        print(f"  heartbeat p50 {f['heartbeat']['p50_ms']} ms p99 {f['heartbeat']['p99_ms']} ms; "
              f"sync p99 {f['sync']['p99_ms']} ms; failures {f['failures']}", flush=True)

        print(f"== unary: {CLIENT_THREADS} client threads, {args.seconds:g} s per method", flush=True)
        (workdir / "unary").mkdir()
        registry = start_registry(workdir / "unary")
        try:
            result["unary"] = _unary(registry.address, args.seconds, args.seed_orders)
            result["memory_after_unary_kib"] = _memory(registry)
            result["registry_metrics_rpcs"] = _scrape(registry.metrics_port)
        finally:
            registry.stop()
    result["unary"]["sync_full"]["orders_in_registry"] = args.seed_orders
    path = write_result("fleet", result)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
