"""Run inside a private mount namespace with a small tmpfs at argv[1] (see test_storage_faults.py).

A real kiosk core and store on a filesystem that really fills up (ENOSPC,
which SQLite reports as SQLITE_FULL), the simulated locker bank for the
doors. Prints one JSON object with what it observed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import traceback
from pathlib import Path

import grpc

from common import credentials
from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.core import KioskCore
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore
from kiosk.uplink.client import RegistryClient
from kiosk.uplink.worker import Uplink
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.server import create_server
from common.auth import authenticated_channel, bearer
from tests.auth_support import admin_token, enrol

PARAMS = credentials.KdfParams(n=2**10, r=8, p=1)
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


def registry_view(office) -> tuple[dict, list[str]]:
    """What the registry knows: the kiosk's device health (heartbeat) and its event types."""
    kiosks = office.ListKiosks(pb.ListKiosksRequest()).kiosks
    health = {
        d.device: [pb.DeviceStatus.Name(d.status), d.detail] for k in kiosks for d in k.devices
    }
    return health, []  # events are read from the registry's database at the end


def wait(condition, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def main() -> int:
    data, outside = Path(sys.argv[1]), Path(sys.argv[2])
    # The registry keeps its database off the small disk, as it would on its own server.
    server = create_server(
        "127.0.0.1:0", outside / "registry.sqlite3", kdf_params=PARAMS, stream_poll_seconds=0.2
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    admin = bearer(admin_token(outside / "registry.sqlite3"))
    office = pb_grpc.OfficeServiceStub(authenticated_channel(channel, admin))
    store = KioskStore(data / "kiosk.sqlite3")
    bank = SimulatedLockerBank(load_box("demo"))
    core = KioskCore(store, bank)
    token = enrol(server.db, "small-disk")

    def start_uplink() -> Uplink:
        uplink = Uplink(
            core,
            RegistryClient(f"127.0.0.1:{server.port}", "small-disk", token=token),
            sync_interval=0.2,
            heartbeat_interval=0.2,
            retry_max=0.3,
        )
        core.on_outbox = uplink.wake
        uplink.start()
        return uplink

    core.start()
    uplink = start_uplink()
    wait(lambda: uplink.registered)
    ctx = core.credential_context()  # the registry's salt and parameters
    code, code2 = credentials.generate_code(), credentials.generate_code()
    codes = {"PO-1": code, "PO-2": code2}

    with store.transaction() as tx:
        store.save_staff(
            tx,
            StaffRecord(
                "anna",
                credentials.lookup_key(CARD, ctx.lookup_salt, ctx.params),
                credentials.make_verifier(CARD, STAFF_PIN, params=PARAMS),
            ),
        )
        for reference in ("PO-1", "PO-2"):
            store.save_order(
                tx,
                PickupOrder(
                    reference,
                    DocumentKind.PASSPORT,
                    OrderStatus.ANNOUNCED,
                    code_lookup=credentials.lookup_key(codes[reference], ctx.lookup_salt, ctx.params),
                    pin_verifier=credentials.make_verifier(codes[reference], PIN, params=PARAMS),
                ),
            )
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
    out["registry_health_full"] = wait(
        lambda: registry_view(office)[0].get("store", [""])[0] == "DEVICE_STATUS_FAILED"
    )
    out["registry_store_detail"] = registry_view(office)[0].get("store", ["", ""])[1]
    out["alarms_while_full"] = sum(
        1 for e in store.journal_entries("event") if e[2]["type"] == "storage_fault"
    )

    filler.unlink()  # space again: the next tick's probe write works
    view = core.tick()
    out["health_after"] = health(view)
    out["alarms_after"] = [
        e[2]["detail"] for e in store.journal_entries("event") if e[2]["type"] == "storage_fault"
    ]
    out["compartments_stranded"] = [
        c.number for c in store.compartments() if c.state.value == "reserved"
    ]
    unlocks = len(bank.unlock_log)
    core.submit_code(code)
    view = core.submit_pin(PIN)
    out["pickup_after"] = view.pickup_state.value
    out["pickup_after_unlocks"] = len(bank.unlock_log) - unlocks
    out["order_after"] = store.order("PO-1").status.value
    bank.close_door(number)
    core.cancel()  # the citizen leaves with the document

    # The disk fills between the unlock pulse and the door-open signal (PO-2).
    # The uplink pauses meanwhile: a checkpoint of its writes could free a
    # page of the full disk and let the door-open record through.
    wait(lambda: store.outbox_backlog() == 0)
    uplink.stop()
    core.present_staff_card(CARD)
    core.staff_pin(STAFF_PIN)
    core.start_deposit()
    second = core.submit_reference("PO-2").staff_compartment
    bank.close_door(second)
    core.finish_deposits()
    core.logout()
    bank.jam_door(second)  # the pulse goes out; the citizen has not pulled the door yet
    core.submit_code(code2)
    out["cut_state"] = core.submit_pin(PIN).pickup_state.value
    filler = fill(data)
    bank.jam_door(second, False)
    bank.open_door(second)  # the citizen pulls it open and takes the document
    out["cut_open_state"] = core.view().pickup_state.value
    bank.close_door(second)
    core.view()
    core.cancel()
    filler.unlink()
    # The citizen tries again the moment space is back, maybe before the
    # core's next tick noticed: the emptied compartment must not open.
    unlocks = len(bank.unlock_log)
    core.submit_code(code2)
    view = core.submit_pin(PIN)
    out["cut_retry"] = view.pickup_state.value
    out["cut_retry_unlocks"] = len(bank.unlock_log) - unlocks
    core.tick()
    out["cut_compartment"] = store.compartment(second).state.value
    out["cut_uncertain"] = store.order("PO-2").uncertain.value
    uplink = start_uplink()
    wait(lambda: store.outbox_backlog() == 0)
    with sqlite3.connect(outside / "registry.sqlite3") as db:
        out["registry_events"] = [
            t for (t,) in db.execute("SELECT type FROM events ORDER BY rowid")
        ]
    print(json.dumps(out))
    uplink.stop()
    core.stop()
    channel.close()
    server.stop(grace=0)
    store.close()
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    os._exit(code)  # gRPC's threads must not keep a failed run alive
