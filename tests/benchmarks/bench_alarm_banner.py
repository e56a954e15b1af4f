"""Benchmark: the console's open-alarm banner on a big fleet's database.

Every console page asks how many alarms are open. Before issue 11 it read
every alarm event of 30 days (payloads decoded) and their acknowledgements
to count the open ones; now it is two COUNT queries (registry/console/
alarms.py ``open_alarm_count``) over the open ones only (``open_alarm_events``,
``oncall_alarms``; migration 0007). Both are timed
on one database: EVENTS alarm events spread over 30 days from 2,000 kiosks,
all but OPEN acknowledged in the audit log, plus on-call alarms. A third
figure: what ListAlarms reads for its default list of open alarms
(registry/alarms.py ``load_alarms(open_only=True)``).

    .venv/bin/python -m tests.benchmarks.bench_alarm_banner [EVENTS [DB]]

DB: a migrated PostgreSQL URL instead of a fresh SQLite file (tables empty).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common.credentials import KdfParams
from registry.console import alarms
from registry.database import RegistryDatabase
from registry.messages.queue import MessageQueue
from tests.benchmarks.common import write_result
from pickupbox.registry.v1 import registry_pb2 as pb

EVENTS = 50_000
OPEN = 25
KIOSKS = 2_000
RUNS = 20


def fill(db: RegistryDatabase, events: int) -> None:
    now = datetime.now(timezone.utc)
    types = [pb.EventType.Name(t) for t in (pb.EVENT_TYPE_DOOR_LEFT_OPEN,
                                            pb.EVENT_TYPE_ATTEMPTS_THROTTLED,
                                            pb.EVENT_TYPE_DOOR_FORCED)]
    rows, acks = [], []
    for i in range(events):
        event = pb.KioskEvent(event_id=str(uuid.uuid4()), compartment_number=i % 40 + 1,
                              detail="benchmark")
        received = now - timedelta(seconds=(i * 30 * 86400) // events)
        rows.append({"id": event.event_id, "kiosk": f"kiosk-{i % KIOSKS:04d}",
                     "type": types[i % len(types)], "payload": event.SerializeToString(),
                     "at": received.isoformat()})
        if i >= OPEN:
            acks.append(event.event_id)
    with db.transaction() as tx:
        tx.execute("INSERT INTO kiosk_enrolments (kiosk_id, office_id, create_time)"
                   " VALUES (:k, 'default', 't')",
                   [{"k": f"kiosk-{k:04d}"} for k in range(KIOSKS)])
        tx.execute("INSERT INTO events (event_id, kiosk_id, type, order_reference, payload,"
                   " received_at) VALUES (:id, :kiosk, :type, '', :payload, :at)", rows)
    with db.transaction() as tx:  # what record_event left for those not acknowledged
        for row in rows[:OPEN]:
            tx.mark_alarm_open(row["id"])
    for start in range(0, len(acks), 5_000):  # the audit chain, as the console writes it
        with db.transaction() as tx:
            for event_id in acks[start:start + 5_000]:
                tx.audit("user:bench", alarms.ACK_ACTION, office_id="default", target=event_id,
                         comment="ok")
    queue = MessageQueue(db)
    for i in range(50):
        queue.raise_alarm("kiosk_offline", "silent", scope=f"kiosk-{i:04d}", office_id="default")


def timed(call) -> tuple[float, int]:
    samples, value = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        value = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), value


def main(events: int = EVENTS, target: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = RegistryDatabase(target or Path(folder) / "registry.sqlite3", state_dir=folder,
                              kdf_params=KdfParams(n=2**10))
        try:
            fill(db, events)
            count_ms, counted = timed(lambda: alarms.open_alarm_count(db, "default"))
            list_ms, listed = timed(
                lambda: sum(1 for a in alarms.load_alarms(db, "default") if a.open))
            # What ListAlarms reads for its default (open) list (registry/alarms.py).
            open_ms, opened = timed(
                lambda: len(alarms.load_alarms(db, "default", open_only=True)))
        finally:
            db.close()
    assert counted == listed == opened == OPEN + 50, (counted, listed, opened)
    result = {
        "database": "postgresql" if target else "sqlite",
        "alarm_events_30_days": events, "open": counted, "runs": RUNS,
        "banner_count_query_ms_median": round(count_ms, 2),
        "reading_the_list_to_count_ms_median": round(list_ms, 2),
        "list_alarms_open_read_ms_median": round(open_ms, 2),
    }
    path = write_result(f"alarm_banner_{result['database']}", result)
    print(f"{events} alarm events of 30 days, {counted} open: banner COUNT {count_ms:.1f} ms,"
          f" reading the list to count {list_ms:.1f} ms, reading the open ones (ListAlarms)"
          f" {open_ms:.1f} ms (median of {RUNS}); results: {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else EVENTS,
         sys.argv[2] if len(sys.argv) > 2 else None)
