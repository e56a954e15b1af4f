"""What audit retention of the kiosks' chains costs the registry's daily run:
a real registry database (SQLite file) holding KIOSKS chains of ENTRIES
entries each, half of them older than ``--audit-days``.

- the first run: every chain checked, cut behind its anchor, the purge audited;
- the next day's run: every chain checked again, nothing left to cut (what
  each later day costs until entries age out again).

    tools/bench audit_retention   -> artifacts/benchmarks/audit_retention.json
    .venv/bin/python -m tests.benchmarks.bench_audit_retention [KIOSKS ENTRIES]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import audit_chain
from common.credentials import KdfParams
from registry.database import RegistryDatabase, utcnow
from registry.notifier import DirectoryNotifier
from registry.retention import RetentionPolicy, purge
from tests.benchmarks.common import write_result

AUDIT_DAYS = 365


def kiosk_chain(entries: int, now) -> list[audit_chain.AuditEntry]:
    """Half the entries 400 days old, half 10 days old, as a kiosk hashes them."""
    chain, last = [], None
    for n in range(entries):
        age = timedelta(days=400 if n < entries // 2 else 10)
        last = audit_chain.next_entry(last, (now - age).isoformat(), "staff:anna",
                                      "event.order_deposited", "", f"PO-{n:08d}", "ok",
                                      json.dumps({"compartment": n % 40}))
        chain.append(last)
    return chain


def main(kiosks: int = 20, entries: int = 5000) -> dict:
    now = utcnow()
    chain = kiosk_chain(entries, now)
    with tempfile.TemporaryDirectory() as tmp:
        db = RegistryDatabase(Path(tmp) / "registry.sqlite3",
                              kdf_params=KdfParams(n=2**4, r=1, p=1))
        for k in range(kiosks):
            with db.transaction() as tx:
                tx.append_kiosk_audit(f"kiosk-{k}", chain)
        notifier = DirectoryNotifier(Path(tmp) / "notices")
        policy = RetentionPolicy(audit_days=AUDIT_DAYS)
        result: dict = {"kiosks": kiosks, "entries_per_kiosk": entries}
        for run in ("first_run", "next_day"):
            start = time.perf_counter()
            report = purge(db, notifier, policy, now=now)
            result[run] = {"ms": round((time.perf_counter() - start) * 1000, 1),
                           "kiosk_entries_purged": report.kiosk_audit_entries_purged}
        with db.transaction() as tx:
            result["verified_after"] = all(
                audit_chain.verify_chain(
                    tx.kiosk_audit_entries(f"kiosk-{k}"), tx.kiosk_audit_checkpoints(f"kiosk-{k}"),
                    audit_chain.kiosk_chain_key(db.audit_key, f"kiosk-{k}"),
                    tx.kiosk_audit_anchor(f"kiosk-{k}")).ok
                for k in range(kiosks))
        db.close()
    result["note"] = "SQLite file; a shared 2-core machine under other load"
    path = write_result("audit_retention", result)
    for name, figures in result.items():
        print(f"{name:<20} {figures}")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
