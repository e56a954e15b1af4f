"""Benchmark: the office's reads on a fleet's database (issue 10).

One database: EVENTS alarm events of 30 days from 2,000 kiosks (all but 25
acknowledged in the audit log; bench_alarm_banner's fill) and ORDERS orders
collected over a year. Each read is timed before and after, interleaved
(A, B, A, B, ...) on the same database, wall time and this process's CPU
time (robust to other load on the machine), medians:

- the console's alarms page: before, every alarm of 30 days read and decoded
  (``load_alarms``); after, the open ones and the 100 acknowledged last
  (``load_console_alarms``);
- ListAlarms for one kiosk over 30 days: before, 30 days of the fleet's alarms
  read and filtered in Python; after, the kiosk chosen in SQL;
- the 30-day report: before, every order loaded (``load_facts``) and counted
  in Python; after, counted by the database (``load_report``).

    .venv/bin/python -m tests.benchmarks.bench_console_scale [EVENTS ORDERS [DB]]

DB: a migrated PostgreSQL URL instead of a fresh SQLite file (tables empty).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from common.credentials import KdfParams
from registry import alarms, reports
from registry.database import RegistryDatabase
from tests.benchmarks import bench_alarm_banner
from tests.benchmarks.common import write_result

EVENTS = 50_000
ORDERS = 300_000
RUNS = 5


def fill_orders(db: RegistryDatabase, count: int) -> None:
    now = datetime.now(timezone.utc)
    rows = []
    for i in range(count):
        collected = now - timedelta(seconds=(i * 365 * 86400) // count)
        deposited = collected - timedelta(hours=i % 300)
        rows.append({"ref": f"PO-{i:08d}", "lookup": secrets.token_bytes(16), "seq": i + 1,
                     "office": "default", "deposit": deposited.isoformat(),
                     "collect": collected.isoformat(),
                     "status": "removed" if i % 20 == 0 else "collected"})
    for start in range(0, len(rows), 20_000):
        with db.transaction() as tx:
            tx._run(
                "INSERT INTO orders (reference, kind, status, size, needs_low,"
                " requires_pin_letter_confirmation, kiosk_id, create_time, code_lookup,"
                " pin_verifier, change_seq, office_id, deposit_time, collect_time, end_time)"
                " VALUES (:ref, 'id_card', :status, 'S', 0, 0, 'kiosk-0001', :deposit, :lookup,"
                " 'v', :seq, :office, :deposit, :collect, :collect)", rows[start:start + 20_000])
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def ab(before, after, runs: int = RUNS) -> dict:
    """Interleaved medians (ms) of wall and CPU time; the results must agree."""
    samples: dict[str, list[float]] = {"before_ms": [], "after_ms": [],
                                       "before_cpu_ms": [], "after_cpu_ms": []}
    for _ in range(runs):
        for name, call in (("before", before), ("after", after)):
            wall, cpu = time.perf_counter(), time.process_time()
            call()
            samples[f"{name}_ms"].append((time.perf_counter() - wall) * 1000)
            samples[f"{name}_cpu_ms"].append((time.process_time() - cpu) * 1000)
    return {key: round(statistics.median(values), 1) for key, values in samples.items()}


def main(events: int = EVENTS, orders: int = ORDERS, target: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = RegistryDatabase(target or Path(folder) / "registry.sqlite3", state_dir=folder,
                              kdf_params=KdfParams(n=2**10))
        try:
            bench_alarm_banner.fill(db, events)
            fill_orders(db, orders)
            today = datetime.now(reports.ReportConfig().zone).date()
            period = reports.Period(today - timedelta(days=29), today)
            config = reports.ReportConfig()

            def report_before():
                with db.transaction() as tx:
                    facts, alarm_facts = reports.load_facts(tx, "default")
                return reports.build_report(facts, alarm_facts, config, period)

            def report_after():
                with db.transaction() as tx:
                    return reports.load_report(tx, "default", config, period)

            assert report_before() == report_after()
            opened, done = alarms.load_console_alarms(db, "default")
            assert len(opened) == 25 + 50 and len(done) == 100
            kiosk_before = lambda: [a for a in alarms.load_alarms(db, "default")  # noqa: E731
                                    if a.kiosk_id == "kiosk-0007"]
            kiosk_after = lambda: alarms.load_alarms(db, "default",  # noqa: E731
                                                     kiosk_id="kiosk-0007")
            assert [a.event_id for a in kiosk_before()] == [a.event_id for a in kiosk_after()]
            figures = {
                "alarms_page": ab(lambda: alarms.load_alarms(db, "default"),
                                  lambda: alarms.load_console_alarms(db, "default")),
                "list_alarms_one_kiosk_30_days": ab(kiosk_before, kiosk_after),
                "report_30_days": ab(report_before, report_after),
            }
        finally:
            db.close()
    result = {"database": "postgresql" if target else "sqlite", "alarm_events_30_days": events,
              "orders": orders, "runs": RUNS, "load_average": os.getloadavg(), **figures}
    path = write_result(f"console_scale_{result['database']}", result)
    for name, figure in figures.items():
        print(f"{name}: before {figure['before_ms']} ms (cpu {figure['before_cpu_ms']}),"
              f" after {figure['after_ms']} ms (cpu {figure['after_cpu_ms']})")
    print(f"{events} alarm events, {orders} orders, {result['database']},"
          f" load average {os.getloadavg()}; results: {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else EVENTS,
         int(sys.argv[2]) if len(sys.argv) > 2 else ORDERS,
         sys.argv[3] if len(sys.argv) > 3 else None)
