"""Bytes the kiosk store keeps per pickup, after 1,000 pickups, with and without pruning.

The real core (inline, as in tests/kiosk) with its SQLite store on disk and
the simulated locker bank: for each order the sync's part (the order is
saved), a staff deposit, a citizen pickup, the uplink's part (the registry
acknowledges the outbox, the sync drops the collected order) and the
core's tick. Trusted time advances three hours per pickup, so 1,000
pickups span 125 days and the journal retention (90 days by default) comes
into play. "without pruning" runs the same with no guard tick (the store
as it was before retention).

Reported: the file size (after a WAL checkpoint), the bytes in use (pages
minus free pages; SQLite reuses freed pages rather than shrink the file),
journal rows, and bytes per pickup.

    .venv/bin/python -m tests.benchmarks.bench_store_growth [--pickups 1000]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import credentials
from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff import StaffRecord
from kiosk.guards import GuardTick
from kiosk.store import KioskStore
from kiosk.store.guard_tables import GuardTables
from kiosk.store.retention import Retention
from tests.benchmarks.common import write_result

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)  # hashing speed is not measured here
SALT = b"bench-store-growth"
CARD = "04A1B2C3D4E5F6"
STAFF_PIN = "246810"
PIN = "482915"
STEP = timedelta(hours=3)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def run(folder: Path, pickups: int, pruning: bool) -> dict:
    clock = Clock()
    path = folder / ("pruned.sqlite3" if pruning else "unpruned.sqlite3")
    store = KioskStore(path)
    bank = SimulatedLockerBank(load_box("demo"))
    core = KioskCore(store, bank, clock=clock)
    tables = GuardTables(store)
    if pruning:
        core.tick_hooks.append(GuardTick(tables, None, Retention()))
    with store.transaction() as tx:
        store.set_meta(tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json())
        store.save_staff(
            tx,
            StaffRecord(
                "anna",
                credentials.lookup_key(CARD, SALT, PARAMS),
                credentials.make_verifier(CARD, STAFF_PIN, params=PARAMS),
            ),
        )
    for i in range(pickups):
        reference = f"PO-{i:06}"
        code = credentials.generate_code()
        with store.transaction() as tx:
            store.save_order(
                tx,
                PickupOrder(
                    reference,
                    DocumentKind.PASSPORT,
                    OrderStatus.ANNOUNCED,
                    code_lookup=credentials.lookup_key(code, SALT, PARAMS),
                    pin_verifier=credentials.make_verifier(code, PIN, params=PARAMS),
                ),
            )
        core.present_staff_card(CARD)
        core.staff_pin(STAFF_PIN)
        core.start_deposit()
        number = core.submit_reference(reference).staff_compartment
        bank.close_door(number)
        core.finish_deposits()
        core.logout()
        clock.now += STEP / 2
        core.submit_code(code)
        view = core.submit_pin(PIN)
        if view.pickup_state is PickupState.AWAITING_PIN_LETTER:
            view = core.confirm_pin_letter(True)
        bank.close_door(number)
        if store.order(reference).status is not OrderStatus.COLLECTED:
            raise RuntimeError(f"pickup {i} did not complete: {core.view().pickup_state}")
        core.cancel()
        # The uplink: the registry acknowledges every event; the sync drops the collected order.
        due = store.outbox_due(clock() + timedelta(days=1), limit=1000)
        store.outbox_acknowledge([event.event_id for event, _ in due])
        with store.transaction() as tx:
            store.delete_order(tx, reference)
        clock.now += STEP / 2
        core.tick()
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = store._query("PRAGMA page_size")[0][0]
    pages = store._query("PRAGMA page_count")[0][0]
    free = store._query("PRAGMA freelist_count")[0][0]
    journal_rows = store._query("SELECT COUNT(*) FROM journal")[0][0]
    store.close()
    file_bytes = path.stat().st_size
    used = (pages - free) * page_size
    return {
        "pickups": pickups,
        "days": round(pickups * STEP / timedelta(days=1), 1),
        "file_bytes": file_bytes,
        "used_bytes": used,
        "journal_rows": journal_rows,
        "file_bytes_per_pickup": round(file_bytes / pickups, 1),
        "used_bytes_per_pickup": round(used / pickups, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pickups", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-growth-") as folder:
        results = {
            "with_pruning": run(Path(folder), args.pickups, True),
            "without_pruning": run(Path(folder), args.pickups, False),
        }
    path = write_result("store_growth", {"retention_days": Retention().journal.days, **results})
    for name, r in results.items():
        print(
            f"{name:16} {r['pickups']} pickups over {r['days']} days: file {r['file_bytes']} B "
            f"({r['file_bytes_per_pickup']} B/pickup), in use {r['used_bytes']} B "
            f"({r['used_bytes_per_pickup']} B/pickup), {r['journal_rows']} journal rows"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
