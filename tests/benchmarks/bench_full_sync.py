"""A kiosk's full sync against a registry with 100,000 historic (ended) orders.

For SQLite and (when POSTGRES_TEST_URL is set, see tools/pg-cluster) PostgreSQL:
the registry database holds ``--historic`` ended orders of one kiosk and
``--open`` open ones among them. Measured, through the Transaction API that
SyncChanges uses, page by page (500 a page, as SyncChanges' default):

- full sync now: only the orders the kiosk still needs (orders_for_full_sync);
- full sync as before: every order from cursor 0 (orders_changed_since);
- one incremental sync at the head (nothing new).

    .venv/bin/python -m tests.benchmarks.bench_full_sync [--historic 100000] [--open 200]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from common.credentials import KdfParams
from registry.database import RegistryDatabase
from tests.benchmarks.common import write_result

PAGE = 500


def fill(db: RegistryDatabase, historic: int, open_orders: int) -> int:
    every = max(1, historic // open_orders)
    rows = []
    for i in range(historic + open_orders):
        ended = not (i % (every + 1) == every)
        rows.append({
            "reference": f"PO-{i:07d}", "kind": "id_card",
            "status": "collected" if ended else "deposited", "size": "S", "needs_low": 0,
            "pin": 1, "kiosk_id": "kiosk-1", "create_time": "2024-01-01T00:00:00+00:00",
            "code_lookup": secrets.token_bytes(16), "pin_verifier": "v", "seq": i + 1,
            "end_time": "2024-02-01T00:00:00+00:00" if ended else None,
        })
    with db.transaction() as tx:
        for start in range(0, len(rows), 5000):
            tx._run(
                "INSERT INTO orders (reference, kind, status, size, needs_low,"
                " requires_pin_letter_confirmation, kiosk_id, create_time, code_lookup,"
                " pin_verifier, change_seq, end_time) VALUES (:reference, :kind, :status, :size,"
                " :needs_low, :pin, :kiosk_id, :create_time, :code_lookup, :pin_verifier, :seq,"
                " :end_time)",
                rows[start:start + 5000],
            )
        tx._run("UPDATE meta SET value = :v WHERE key = 'change_seq'", {"v": str(len(rows))})
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE orders"))
    return len(rows)


def pages(db: RegistryDatabase, full: bool) -> tuple[float, int]:
    started = time.perf_counter()
    count, cursor = 0, 0
    with db.transaction() as tx:
        snapshot = tx.current_seq()
    while True:
        with db.transaction() as tx:
            if full:
                rows = tx.orders_for_full_sync("kiosk-1", cursor, snapshot, PAGE + 1)
            else:
                rows = tx.orders_changed_since("kiosk-1", cursor, PAGE + 1)
        count += min(len(rows), PAGE)
        if len(rows) <= PAGE:
            return time.perf_counter() - started, count
        cursor = rows[PAGE - 1].change_seq


def incremental(db: RegistryDatabase) -> float:
    with db.transaction() as tx:
        head = tx.current_seq()
    started = time.perf_counter()
    with db.transaction() as tx:
        tx.orders_changed_since("kiosk-1", head, PAGE + 1)
    return time.perf_counter() - started


def measure(db: RegistryDatabase, historic: int, open_orders: int, runs: int) -> dict:
    total = fill(db, historic, open_orders)
    result: dict = {"orders_in_database": total}
    for name, full in (("full_sync_now", True), ("full_sync_before", False)):
        times, count = [], 0
        for _ in range(runs):
            seconds, count = pages(db, full)
            times.append(seconds)
        result[name] = {"orders_sent": count, "median_ms": round(statistics.median(times) * 1000, 1),
                        "runs": runs}
    result["incremental_at_head_ms"] = round(
        statistics.median(incremental(db) for _ in range(20)) * 1000, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--historic", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = RegistryDatabase(Path(tmp) / "registry.sqlite3", kdf_params=KdfParams(n=2**4))
        results["sqlite"] = measure(db, args.historic, args.open, args.runs)
        db.close()
        url = os.environ.get("POSTGRES_TEST_URL")
        if url:
            from tests.conftest import _admin_engine, schema_url

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = _admin_engine(url)
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            try:
                db = RegistryDatabase(schema_url(url, schema), kdf_params=KdfParams(n=2**4),
                                      state_dir=Path(tmp) / "pg", upgrade=True)
                results["postgresql"] = measure(db, args.historic, args.open, args.runs)
                db.close()
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    path = write_result("full_sync", {"historic": args.historic, "open": args.open,
                                      "page_size": PAGE, **results})
    for backend, figures in results.items():
        print(f"{backend}: full sync {figures['full_sync_now']['median_ms']} ms "
              f"({figures['full_sync_now']['orders_sent']} orders), before "
              f"{figures['full_sync_before']['median_ms']} ms "
              f"({figures['full_sync_before']['orders_sent']} orders), incremental at head "
              f"{figures['incremental_at_head_ms']} ms")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
