"""What the tamper-evident audit logs cost: a real kiosk store on disk (WAL,
synchronous=FULL) and a real registry database.

- kiosk: one reported event with its audit entry, one transaction (what every
  deposit, handover, login and alarm pays), and the same without the audit
  entry, for the difference;
- kiosk: `kiosk audit verify` over ENTRIES entries;
- registry: one ReportAuditEntries batch of 200 entries checked and stored.

    tools/bench audit     -> artifacts/benchmarks/audit.json
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import audit_chain
from common.credentials import KdfParams
from kiosk.domain.events import EventType, KioskEvent
from kiosk.store import KioskStore
from registry.database import RegistryDatabase
from tests.benchmarks.common import summary_ms, timed, write_result


def main(runs: int = 200, entries: int = 10000) -> dict:
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        store = KioskStore(Path(tmp) / "kiosk.sqlite3")

        def event() -> KioskEvent:
            return KioskEvent(EventType.ORDER_DEPOSITED, now, "PO-BENCH", 1, ("anna",))

        def with_audit() -> None:
            with store.transaction() as tx:
                store.enqueue(tx, event())

        def without_audit() -> None:  # the outbox row and journal only, as before
            e = event()
            with store.transaction() as tx:
                store._seq += 1
                tx.execute("INSERT INTO outbox (event_id, seq, order_reference, payload,"
                           " next_attempt_at) VALUES (?,?,?,?,?)",
                           (e.event_id, store._seq, e.order_reference, "{}", now.isoformat()))
                store.journal(tx, now, "event", **e.to_json())

        result = {
            "kiosk_event_with_audit": timed(with_audit, runs),
            "kiosk_event_without_audit": timed(without_audit, runs),
        }
        with store.transaction() as tx:
            for i in range(entries - runs):
                store.audit(tx, now, "kiosk", "bench.act", n=i)
        start = time.perf_counter()
        verdict = store.audit_verify()
        result["kiosk_verify"] = {"entries": verdict.entries, "ok": verdict.ok,
                                  "ms": round((time.perf_counter() - start) * 1000, 1)}
        chain = store.audit_entries()
        store.close()

        registry = RegistryDatabase(Path(tmp) / "registry.sqlite3",
                                    kdf_params=KdfParams(n=2**4, r=1, p=1))
        batches = [chain[i:i + 200] for i in range(0, min(len(chain), 200 * runs), 200)]
        seconds = []
        for batch in batches:
            start = time.perf_counter()
            with registry.transaction() as tx:
                head = tx.kiosk_audit_head("kiosk-1")
                assert audit_chain.continuation_problem(*head, batch, {}) is None
                tx.append_kiosk_audit("kiosk-1", batch)
            seconds.append(time.perf_counter() - start)
        result["registry_batch_of_200"] = summary_ms(seconds)
        registry.close()
    result["note"] = ("a shared 2-core machine under other load: compare the two kiosk"
                      " figures with each other, not across machines")
    path = write_result("audit", result)
    for name, figures in result.items():
        print(f"{name:<28} {figures}")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
