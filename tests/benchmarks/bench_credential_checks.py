"""What checking kiosk credentials costs the registry (issue 10): CPU and SQL
statements per authenticated call, on SQLite and PostgreSQL.

The registry's own Authenticator on a real database, without the gRPC
around it (the cost of a call's authentication alone), in two patterns:

* steady: a fleet of ``--kiosks`` kiosks, each calling every
  ``--call-interval`` seconds (heartbeats, reports, syncs) for ``--minutes``
  of simulated time (the Authenticator's clock is advanced, not waited for);
* fail-over: the whole fleet arrives at once at an instance that has not
  seen it, each kiosk with ``--calls-at-once`` calls at the same moment
  (heartbeat, report, command stream), on the registry's 8 pool threads.

CPU is this process's (SQLite runs in it; PostgreSQL's server is not
counted), so the figures hold on a busy machine. The module runs against
whichever ``registry`` package is imported (``code`` in the result), so the
same file measures another checkout with ``PYTHONPATH=CHECKOUT``.

    .venv/bin/python -m tests.benchmarks.bench_credential_checks [--kiosks 500]
        [--postgres-url URL]   -> artifacts/benchmarks/credential_checks.json
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

import registry
from common.credentials import KdfParams
from registry import identity
from registry.database import RegistryDatabase
from tests.auth_support import enrol
from tests.benchmarks.common import write_result

PEER = identity.Peer("ipv4:127.0.0.1:1", ())
POOL_THREADS = 8  # registry.server.DEFAULT_MAX_WORKERS


class Statements:
    """Counts the SQL statements the database's engines execute."""

    def __init__(self, db: RegistryDatabase) -> None:
        readers = getattr(db, "_readers", None)
        self.engines = [db.engine] + ([readers] if readers is not None else [])
        self.count = 0

    def _seen(self, *args) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        for engine in self.engines:
            sa.event.listen(engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        for engine in self.engines:
            sa.event.remove(engine, "before_cursor_execute", self._seen)


def steady(db: RegistryDatabase, tokens: list[str], call_interval: float,
           minutes: float) -> dict:
    now = [0.0]
    authenticator = identity.Authenticator(db, clock=lambda: now[0])
    headers = [f"Bearer {token}" for token in tokens]
    for header in headers:  # every token verified once (scrypt), as a running fleet's are
        authenticator.authenticate(header, PEER)
    rounds = int(minutes * 60 / call_interval)
    step = call_interval / len(headers)  # the kiosks' calls spread over each interval
    calls = 0
    with Statements(db) as statements:
        cpu = time.process_time()
        for _ in range(rounds):
            for header in headers:
                now[0] += step
                # The event loop's check first (Gate.admit_cached), then the full one.
                if authenticator.cached_kiosk(header) is None:
                    authenticator.authenticate(header, PEER)
                calls += 1
        cpu = time.process_time() - cpu
    return {"calls": calls, "simulated_seconds": round(now[0], 1),
            "cpu_ms_per_call": round(cpu * 1000 / calls, 4),
            "statements_per_call": round(statements.count / calls, 4)}


def failover(db: RegistryDatabase, tokens: list[str], calls_at_once: int) -> dict:
    authenticator = identity.Authenticator(db)  # a survivor that has seen none of them
    headers = [f"Bearer {token}" for token in tokens for _ in range(calls_at_once)]

    def call(header: str) -> None:
        if authenticator.cached_kiosk(header) is None:
            authenticator.authenticate(header, PEER)

    with ThreadPoolExecutor(POOL_THREADS) as pool, Statements(db) as statements:
        cpu, wall = time.process_time(), time.perf_counter()
        list(pool.map(call, headers))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"calls": len(headers), "wall_s": round(wall, 3),
            "cpu_ms_per_call": round(cpu * 1000 / len(headers), 4),
            "statements_per_call": round(statements.count / len(headers), 4)}


def measure(target: str | Path, state: Path, args) -> dict:
    db = RegistryDatabase(target, kdf_params=KdfParams(n=2**10), state_dir=state, upgrade=True)
    try:
        tokens = [enrol(db, f"cred-{n:05d}") for n in range(args.kiosks)]
        return {"steady": steady(db, tokens, args.call_interval, args.minutes),
                "failover": failover(db, tokens, args.calls_at_once)}
    finally:
        db.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=500)
    parser.add_argument("--call-interval", type=float, default=10.0,
                        help="seconds between one kiosk's calls (steady pattern)")
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    parser.add_argument("--calls-at-once", type=int, default=3,
                        help="calls per kiosk arriving together at fail-over")
    parser.add_argument("--postgres-url", help="a database to make a fresh schema in; without"
                        " it a throwaway cluster of the benchmark's own")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--output", default="credential_checks",
                        help="result name under artifacts/benchmarks/")
    args = parser.parse_args(argv)
    result: dict = {
        "code": str(Path(registry.__file__).resolve().parent),
        "kiosk_credential_ttl_s": identity.KIOSK_CREDENTIAL_TTL_SECONDS,
        "kiosks": args.kiosks, "call_interval_s": args.call_interval,
        "simulated_minutes": args.minutes, "calls_at_once": args.calls_at_once,
        "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-credentials-") as tmp:
        os.chmod(tmp, 0o711)  # PostgreSQL, run as its own user under root, reaches its folder
        result["sqlite"] = measure(Path(tmp) / "r.sqlite3", Path(tmp), args)
        if not args.no_postgres:
            from tests.benchmarks.bench_failover import fresh_schema, start_cluster, stop_cluster

            cluster = Path(tmp) / "pg"
            base = args.postgres_url or start_cluster(cluster)
            try:
                result["postgresql"] = measure(fresh_schema(base), Path(tmp) / "pg-state", args)
            finally:
                if not args.postgres_url:
                    stop_cluster(cluster)
    result["load_average_after"] = os.getloadavg()
    path = write_result(args.output, result)
    for backend in ("sqlite", "postgresql"):
        for pattern, figures in result.get(backend, {}).items():
            print(f"{backend:<10} {pattern:<8} CPU {figures['cpu_ms_per_call']:.4f} ms/call,"
                  f" {figures['statements_per_call']:.4f} statements/call"
                  f" ({figures['calls']} calls)")
    print(f"load average {result['load_average_before']} -> {result['load_average_after']};"
          f" results: {path}")
    return result


if __name__ == "__main__":
    main()
