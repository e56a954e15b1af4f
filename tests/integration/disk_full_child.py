"""Run inside a private mount namespace with a small tmpfs at argv[1] (see test_storage_faults.py).

A real kiosk core and store on a filesystem that really fills up (ENOSPC,
which SQLite reports as SQLITE_FULL), the simulated locker bank for the
doors. Prints one JSON object with what it observed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from common import credentials
from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"disk-full"
CARD, STAFF_PIN, PIN = "04A1B2C3D4E5F6", "246810", "482915"


def fill(directory: Path) -> Path:
    """Takes every free byte of the filesystem."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def health(view) -> dict:
    return {h.device: [h.status.value, h.detail] for h in view.health}


def main() -> int:
    data = Path(sys.argv[1])
    store = KioskStore(data / "kiosk.sqlite3")
    bank = SimulatedLockerBank(load_box("demo"))
    core = KioskCore(store, bank)
    code = credentials.generate_code()

    with store.transaction() as tx:
        store.set_meta(tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json())
        store.save_staff(tx, StaffRecord("anna", credentials.lookup_key(CARD, SALT, PARAMS),
                                         credentials.make_verifier(CARD, STAFF_PIN, params=PARAMS)))
        for reference in ("PO-1", "PO-2"):
            store.save_order(tx, PickupOrder(
                reference, DocumentKind.PASSPORT, OrderStatus.ANNOUNCED,
                code_lookup=credentials.lookup_key(code if reference == "PO-1" else code[::-1], SALT, PARAMS),
                pin_verifier=credentials.make_verifier(code, PIN, params=PARAMS)))
    out: dict = {}
    # PO-1 is deposited while the disk has room.
    core.present_staff_card(CARD)
    core.staff_pin(STAFF_PIN)
    core.start_deposit()
    number = core.submit_reference("PO-1").staff_compartment
    bank.close_door(number)
    core.finish_deposits()
    core.logout()
    out["deposited"] = store.order("PO-1").status.value

    filler = fill(data)
    out["free_bytes"] = os.statvfs(data).f_bavail * os.statvfs(data).f_frsize
    unlocks = len(bank.unlock_log)
    core.submit_code(code)
    view = core.submit_pin(PIN)
    out["pickup_unlocks"] = len(bank.unlock_log) - unlocks
    out["pickup_state"] = view.pickup_state.value
    out["health_full"] = health(view)
    out["order_while_full"] = store.order("PO-1").status.value
    core.cancel()
    # A staff deposit while full: no door either.
    core.present_staff_card(CARD)
    core.staff_pin(STAFF_PIN)
    core.start_deposit()
    unlocks = len(bank.unlock_log)
    view = core.submit_reference("PO-2")
    out["deposit_unlocks"] = len(bank.unlock_log) - unlocks
    out["deposit_state"] = view.staff_state.value
    out["deposit_error"] = view.staff_error_notice.code
    core.finish_deposits()
    core.logout()
    core.tick()
    out["alarms_while_full"] = sum(1 for e in store.journal_entries("event") if e[2]["type"] == "storage_fault")

    filler.unlink()  # space again: the next tick's probe write works
    view = core.tick()
    out["health_after"] = health(view)
    out["alarms_after"] = [e[2]["detail"] for e in store.journal_entries("event") if e[2]["type"] == "storage_fault"]
    out["compartments_stranded"] = [c.number for c in store.compartments() if c.state.value == "reserved"]
    unlocks = len(bank.unlock_log)
    core.submit_code(code)
    view = core.submit_pin(PIN)
    out["pickup_after"] = view.pickup_state.value
    out["pickup_after_unlocks"] = len(bank.unlock_log) - unlocks
    out["order_after"] = store.order("PO-1").status.value
    print(json.dumps(out))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
