"""The registry's memory with a million historic orders (issue 10).

The registry's database (SQLite) is filled with ``--orders`` ended orders
(bulk inserts through SQLAlchemy Core into the real, migrated schema, in
batches), spread over ``--kiosks`` kiosks, plus ``--open`` open orders per
kiosk. Then ``kiosk-registry serve`` starts on it as deployed, and measured
are its resident memory (VmRSS, and the peak VmHWM):

* after the start (which runs the retention purge once: on a database never
  purged before it looks at every ended order once);
* with every kiosk registered, holding its command stream, heartbeating and
  syncing every ``--interval`` s for ``--fleet-seconds`` (bench_fleet_scale's
  fleet, a command to every kiosk midway);
* after ``--collections`` handovers reported (each runs the purge, as the
  registry does after every order that ends), with their ReportEvents latency;

and a kiosk's full sync (empty cursor, every page) and incremental sync (at
the head) over gRPC, 20 times each. ``--baseline CHECKOUT`` runs the same
registry code of another checkout (e.g. ``git archive`` of main) on a copy of
the database, migrated down to what that code knows, for the comparison.

``--postgres URL`` (e.g. ``tools/pg-cluster start``) does the same on
PostgreSQL, in a fresh schema migrated by this checkout: the orders are made
inside the server by one INSERT … SELECT over generate_series, row for row
what :func:`fill` writes for SQLite (times as the registry's ISO text), then
VACUUM ANALYZE; results go to ``memory_postgresql.json``. The registry's RSS
there is its own process only, the database server's memory is apart. In
both, the full sync is checked to bring the kiosk's own open orders and
nothing else (``only_own_open_orders``).

    .venv/bin/python -m tests.benchmarks.bench_memory [--orders 1000000] [--kiosks 2000]
        [--baseline PATH] [--postgres URL]
    tools/bench memory
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import sqlalchemy as sa

from common.credentials import KdfParams
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.benchmarks.bench_fleet_scale import Postgres, _fleet
from tests.benchmarks.common import cpu_between, tree_cpu_seconds, write_result
from tests.benchmarks.fleet_client import (
    REGISTRY_STATE_ENV,
    credentials_for,
    enrol_fleet,
    start_registry_of,
)

BATCH = 20_000
KIOSK_IDS = "scale-kiosk-{:05d}"  # the ids bench_fleet_scale's fleet uses


def fill(db_path: Path, orders: int, kiosks: int, open_per_kiosk: int) -> dict:
    """The registry database with ``orders`` ended orders and some open ones; returns
    the open orders' references by kiosk."""
    from registry.database import RegistryDatabase

    db = RegistryDatabase(db_path, kdf_params=KdfParams(n=2**10))
    engine = db.engine
    table = sa.Table("orders", sa.MetaData(), autoload_with=db._shared)
    db._shared.rollback()
    now = datetime.now(timezone.utc)
    open_orders: dict[str, list[str]] = {}
    seq = 0
    started = time.perf_counter()

    def row(i: int, kiosk: str, ended: bool) -> dict:
        nonlocal seq
        seq += 1
        # Spread over the 80 days before yesterday: kept (90-day records), contacts long gone.
        created = now - timedelta(days=82) + timedelta(seconds=i * 6.9 / max(1, orders // 1_000_000))
        return {
            "reference": f"PO-{i:08d}", "kind": "id_card",
            "status": "collected" if ended else "deposited", "size": "M", "needs_low": 0,
            "requires_pin_letter_confirmation": 0, "kiosk_id": kiosk,
            "compartment_number": None if ended else 1 + i % 20,
            "create_time": created.isoformat(),
            "deposit_time": (created + timedelta(hours=2)).isoformat(),
            "collect_time": (created + timedelta(days=1)).isoformat() if ended else None,
            "end_time": (created + timedelta(days=1)).isoformat() if ended else None,
            "pickup_deadline": (created + timedelta(days=14)).isoformat(),
            "code_lookup": secrets.token_bytes(16), "pin_verifier": "$scrypt$bench",
            "contact": "", "change_seq": seq, "office_id": "default",
        }

    total = orders + kiosks * open_per_kiosk
    with db._lock:
        conn = db._shared
        batch: list[dict] = []
        for i in range(total):
            kiosk = KIOSK_IDS.format(i % kiosks)
            ended = i < orders
            batch.append(row(i, kiosk, ended))
            if not ended:
                open_orders.setdefault(kiosk, []).append(batch[-1]["reference"])
            if len(batch) == BATCH:
                with conn.begin():
                    conn.execute(table.insert(), batch)
                batch = []
        with conn.begin():
            if batch:
                conn.execute(table.insert(), batch)
            conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'change_seq'"),
                         {"v": str(seq)})
    db.close()
    del engine
    return {"open_orders": open_orders, "fill_seconds": round(time.perf_counter() - started, 1),
            "orders_in_database": total,
            "database_mib": round(db_path.stat().st_size / 2**20, 1)}


def _iso(moment: str) -> str:
    """SQL for a timestamptz as the registry stores times (registry.database._text:
    Python's isoformat in UTC, no fraction when it is zero)."""
    return (f"regexp_replace(to_char(({moment}) AT TIME ZONE 'UTC', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '\\.000000$', '') || '+00:00'")


# Row i exactly as fill() makes it for SQLite, generated inside PostgreSQL.
POSTGRES_FILL = f"""
INSERT INTO orders (reference, kind, status, size, needs_low,
    requires_pin_letter_confirmation, kiosk_id, compartment_number, create_time, deposit_time,
    collect_time, end_time, pickup_deadline, code_lookup, pin_verifier, contact, change_seq,
    office_id)
SELECT 'PO-' || lpad(i::text, 8, '0'), 'id_card',
       CASE WHEN ended THEN 'collected' ELSE 'deposited' END, 'M', 0, 0,
       'scale-kiosk-' || lpad((i % :kiosks)::text, 5, '0'),
       CASE WHEN ended THEN NULL ELSE 1 + i % 20 END,
       {_iso("created")}, {_iso("created + interval '2 hours'")},
       CASE WHEN ended THEN {_iso("created + interval '1 day'")} END,
       CASE WHEN ended THEN {_iso("created + interval '1 day'")} END,
       {_iso("created + interval '14 days'")},
       decode(md5(:salt || i::text), 'hex'), '$scrypt$bench', '', i + 1, 'default'
FROM (SELECT i, i < :orders AS ended,
             CAST(:now AS timestamptz) - interval '82 days' + i * :step * interval '1 second'
                 AS created
      FROM generate_series(0, :total - 1) AS i) AS generated
"""


def fill_postgres(url: str, state_dir: Path, orders: int, kiosks: int,
                  open_per_kiosk: int) -> dict:
    """:func:`fill` on PostgreSQL: the same rows, made by one INSERT … SELECT over
    generate_series in the server (1 million rows in tens of seconds, not minutes)."""
    from registry.database import RegistryDatabase

    # Creates the credential policy and the default office, as fill() does.
    RegistryDatabase(url, kdf_params=KdfParams(n=2**10), state_dir=state_dir).close()
    total = orders + kiosks * open_per_kiosk
    started = time.perf_counter()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(POSTGRES_FILL), {
                "kiosks": kiosks, "orders": orders, "total": total,
                "salt": secrets.token_hex(8), "now": datetime.now(timezone.utc),
                "step": 6.9 / max(1, orders // 1_000_000)})
            conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'change_seq'"),
                         {"v": str(total)})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum would do soon after such a load: the planner's statistics.
            conn.execute(sa.text("VACUUM ANALYZE orders"))
            size = conn.execute(sa.text("SELECT pg_total_relation_size('orders')")).scalar_one()
            open_rows = conn.execute(sa.text(
                "SELECT kiosk_id, reference FROM orders WHERE end_time IS NULL")).all()
    finally:
        engine.dispose()
    open_orders: dict[str, list[str]] = {}
    for kiosk, reference in sorted(open_rows, key=lambda row: row[1]):
        open_orders.setdefault(kiosk, []).append(reference)
    return {"open_orders": open_orders, "fill_seconds": round(time.perf_counter() - started, 1),
            "orders_in_database": total, "orders_table_mib": round(size / 2**20, 1)}


def sync_latencies(target: str, kiosk_id: str, runs: int = 20,
                   expected: list[str] | None = None, server_pid: int | None = None) -> dict:
    """A kiosk's full and incremental sync, ``runs`` of each; with ``server_pid``, also the
    registry's CPU time while each ran (robust to other load on the machine)."""
    credentials = credentials_for("kiosk", kiosk_id)
    channel = grpc.insecure_channel(target)
    stub = pb_grpc.KioskServiceStub(channel)
    md = credentials.metadata
    full, incremental, orders_sent = [], [], 0
    cpu: dict[str, list[float]] = {"full": [], "incremental": []}

    def server_cpu() -> dict[int, float]:
        return tree_cpu_seconds(server_pid) if server_pid else {}

    cursor = ""
    for _ in range(runs):
        cpu_before = server_cpu()
        began = time.perf_counter()
        cursor, orders_sent, references = "", 0, []
        while True:
            reply = stub.SyncChanges(pb.SyncChangesRequest(kiosk_id=kiosk_id, cursor=cursor),
                                     timeout=60, metadata=md)
            orders_sent += len(reply.orders)
            references.extend(order.reference for order in reply.orders)
            cursor = reply.next_cursor
            if not reply.has_more:
                break
        full.append(time.perf_counter() - began)
        cpu["full"].append(cpu_between(cpu_before, server_cpu()))
        # Interleaved with the full ones, so both see the same load (the registry may
        # still be letting go of the fleet's streams when this starts).
        cpu_before = server_cpu()
        began = time.perf_counter()
        stub.SyncChanges(pb.SyncChangesRequest(kiosk_id=kiosk_id, cursor=cursor), timeout=60,
                         metadata=md)
        incremental.append(time.perf_counter() - began)
        cpu["incremental"].append(cpu_between(cpu_before, server_cpu()))
    channel.close()

    def ms(values: list[float]) -> dict:
        ordered = sorted(values)
        return {"median_ms": round(statistics.median(ordered) * 1000, 2),
                "max_ms": round(ordered[-1] * 1000, 2), "runs": len(ordered)}

    result = {"full_sync": {**ms(full), "orders_sent": orders_sent},
              "incremental_sync": ms(incremental)}
    if server_pid:
        for kind in ("full", "incremental"):
            # A mean: /proc counts in clock ticks (10 ms), more than one sync takes.
            result[f"{kind}_sync"]["server_cpu_ms_mean"] = round(
                sum(cpu[kind]) * 1000 / len(cpu[kind]), 2)
    if expected is not None:
        # Sane only if a full sync brings this kiosk's open orders and nothing else.
        result["full_sync"]["only_own_open_orders"] = sorted(references) == sorted(expected)
        if not result["full_sync"]["only_own_open_orders"]:
            print(f"  WARNING: the full sync of {kiosk_id} sent {sorted(references)[:10]}, "
                  f"expected its open orders {sorted(expected)}", flush=True)
    return result


def collections(target: str, open_orders: dict[str, list[str]], count: int) -> dict:
    """Hands over ``count`` open orders (ReportEvents ORDER_COLLECTED): each runs the purge."""
    latencies = []
    for kiosk_id, references in list(open_orders.items())[:count]:
        credentials = credentials_for("kiosk", kiosk_id)
        channel = grpc.insecure_channel(target)
        event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_COLLECTED,
                              order_reference=references[0], compartment_number=1)
        event.occur_time.GetCurrentTime()
        began = time.perf_counter()
        pb_grpc.KioskServiceStub(channel).ReportEvents(
            pb.ReportEventsRequest(kiosk_id=kiosk_id, events=[event]), timeout=600,
            metadata=credentials.metadata)
        latencies.append(time.perf_counter() - began)
        channel.close()
    return {"handovers": len(latencies),
            "report_events_median_ms": round(statistics.median(latencies) * 1000, 1),
            "report_events_max_ms": round(max(latencies) * 1000, 1)}


def mib(rss: dict) -> dict:
    return {"rss_mib": round(rss["VmRSS"] / 1024, 1), "peak_mib": round(rss["VmHWM"] / 1024, 1)}


def measure(workdir: Path, tokens: dict, open_orders: dict, args, label: str,
            pythonpath: str | None = None, database: str | None = None) -> dict:
    began = time.perf_counter()
    # Its start runs the retention purge once, which used to read every order.
    registry = start_registry_of(workdir, pythonpath, database=database, start_timeout=900)
    result: dict = {"code": label}
    try:
        result["listening_after_s"] = round(time.perf_counter() - began, 1)
        time.sleep(args.settle)  # the start's purge runs beside serving
        result["after_start"] = mib(registry.rss_kib())
        print(f"  [{label}] after the start: {result['after_start']}", flush=True)
        if not args.skip_fleet:
            fleet = _fleet(registry.address, args.kiosks, args.interval, args.fleet_seconds,
                           tokens, registry)
            result["fleet"] = {
                "kiosks": args.kiosks, "registered": fleet["registered"],
                "streams_open_at_end": fleet["streams_open_at_end"],
                "heartbeat": fleet["heartbeat"], "sync": fleet["sync"],
                "commands_delivered": fleet["commands"]["delivered"],
                "failures": fleet["failures"],
                "while_streaming": mib(fleet["registry_memory_streaming_kib"]),
                "after_fleet": mib(registry.rss_kib()),
            }
            print(f"  [{label}] {args.kiosks} kiosks streaming: "
                  f"{result['fleet']['while_streaming']}; sync p99 {fleet['sync']['p99_ms']} ms",
                  flush=True)
        result["sync"] = sync_latencies(registry.address, KIOSK_IDS.format(0),
                                        expected=open_orders.get(KIOSK_IDS.format(0), []),
                                        server_pid=registry.pid)
        result["collections"] = collections(registry.address, open_orders, args.collections)
        result["after_collections"] = mib(registry.rss_kib())
        print(f"  [{label}] sync {result['sync']}; {result['collections']}; after them "
              f"{result['after_collections']}", flush=True)
    finally:
        registry.stop()
    return result


def downgrade(db_path: Path, revision: str) -> None:
    """Migrates a copy of the database down to what older registry code knows."""
    from alembic import command

    from registry.storage import migrations

    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        command.downgrade(migrations._config(conn), revision)
    engine.dispose()


def _run(tmp: Path, args, postgres: Postgres | None, result: dict) -> None:
    workdir = tmp / "now"
    workdir.mkdir()
    print(f"== filling {args.orders:,} ended orders + {args.open} open for each of "
          f"{args.kiosks:,} kiosks ({result['database']})", flush=True)
    if postgres is not None:
        database = postgres.fresh(None)  # migrated by this checkout
        os.environ[REGISTRY_STATE_ENV] = str(workdir / "state")  # start_registry's too
        filled = fill_postgres(database, workdir / "state", args.orders, args.kiosks, args.open)
    else:
        database = None
        db_path = workdir / "registry.sqlite3"
        filled = fill(db_path, args.orders, args.kiosks, args.open)
    open_orders = filled.pop("open_orders")
    result["fill"] = filled
    tokens = enrol_fleet(database or db_path, [KIOSK_IDS.format(i) for i in range(args.kiosks)])
    print(f"  {filled}", flush=True)
    if args.baseline:
        base = tmp / "baseline"
        base.mkdir()
        shutil.copy(db_path, base / "registry.sqlite3")
        downgrade(base / "registry.sqlite3", args.baseline_revision)
    result["now"] = measure(workdir, tokens, open_orders, args, "this checkout",
                            database=database)
    if args.baseline:
        result["load_average_before_baseline"] = os.getloadavg()
        result["baseline"] = measure(base, enrol_fleet(base / "registry.sqlite3", tokens=tokens),
                                     open_orders, args, "baseline",
                                     pythonpath=str(Path(args.baseline).resolve()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="ended orders")
    parser.add_argument("--kiosks", type=int, default=2000)
    parser.add_argument("--open", type=int, default=5, help="open orders per kiosk")
    parser.add_argument("--interval", type=float, default=30.0,
                        help="each kiosk's heartbeat + sync interval (the kiosk's default)")
    parser.add_argument("--fleet-seconds", type=float, default=60.0)
    parser.add_argument("--collections", type=int, default=20)
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the start before the first reading")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--baseline", metavar="CHECKOUT",
                        help="also measure the registry code of this checkout")
    parser.add_argument("--baseline-revision", default="0006",
                        help="the schema revision the baseline's code knows")
    parser.add_argument("--postgres", metavar="URL",
                        help="on PostgreSQL (a fresh schema in this database) instead of SQLite")
    args = parser.parse_args(argv)
    if args.postgres and args.baseline:
        parser.error("--baseline migrates a SQLite copy down; it is not supported with --postgres")
    result: dict = {"orders": args.orders, "kiosks": args.kiosks, "open_per_kiosk": args.open,
                    "database": "PostgreSQL" if args.postgres else "SQLite",
                    "load_average_at_start": os.getloadavg()}
    postgres = Postgres(args.postgres) if args.postgres else None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            _run(Path(tmp), args, postgres, result)
    finally:
        if postgres is not None:
            postgres.close()
        os.environ.pop(REGISTRY_STATE_ENV, None)
    result["load_average_at_end"] = os.getloadavg()
    path = write_result("memory_postgresql" if args.postgres else "memory", result)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
