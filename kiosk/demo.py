"""`kiosk demo`: the whole pickup story on one machine, checked step by step.

It starts the reference registry on a loopback port, a kiosk with simulated
hardware, and then plays the office, a staff member and a citizen. Every
step is verified against the registry or the kiosk store; the demo exits
non-zero at the first step that did not really happen.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import StaffState
from common.auth import ADMIN_CREDENTIAL_FILE, authenticated_channel, bearer, read_secret_file
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc

STAFF_CARD = "04A1B2C3D4E5F6"
STAFF_PIN = "246810"


class DemoFailed(Exception):
    pass


def wait_for(what: str, predicate: Callable[[], object], timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise DemoFailed(f"timed out waiting for: {what}")


def run_demo(workdir: Path | None = None, out: Callable[[str], None] = print) -> int:
    with tempfile.TemporaryDirectory(prefix="pickupbox-demo-") as tmp:
        base = Path(workdir or tmp)
        try:
            _story(base, out)
        except DemoFailed as exc:
            out(f"FAILED: {exc}")
            return 1
    out("Demo complete: every step was verified.")
    return 0


def _story(base: Path, out: Callable[[str], None]) -> None:
    settings = load_settings(None, environ={
        "PICKUPBOX_KIOSK__ID": "demo-kiosk",
        "PICKUPBOX_KIOSK__DATA_DIR": str(base / "kiosk"),
        "PICKUPBOX_REGISTRY__EMBEDDED_LISTEN": "127.0.0.1:0",
        "PICKUPBOX_REGISTRY__EMBEDDED_DB": str(base / "registry.sqlite3"),
        "PICKUPBOX_REGISTRY__NOTIFY_DIR": str(base / "notifications"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "1",
        "PICKUPBOX_OFFICE__PHONE": "0800 123 456",
    })
    kiosk = build_kiosk(settings)
    kiosk.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{kiosk.registry.port}")
    # The office side signs in with the admin credential the embedded
    # registry created beside its database at first start.
    admin = read_secret_file(base / ADMIN_CREDENTIAL_FILE)
    office = pb_grpc.OfficeServiceStub(authenticated_channel(channel, bearer(admin)))
    bank, reader, scanner = kiosk.hardware.locker_bank, kiosk.hardware.card_reader, kiosk.hardware.code_scanner
    core, store = kiosk.core, kiosk.store
    try:
        out(f"Registry on 127.0.0.1:{kiosk.registry.port}, kiosk 'demo-kiosk' with simulated hardware "
            f"({len(store.compartments())} compartments).")
        wait_for("the kiosk to register", lambda: kiosk.uplink.registered)

        out("\n1. The office creates a pickup order for an ID card.")
        office.CreateStaffMember(pb.CreateStaffMemberRequest(
            request_id="demo-staff", staff_id="staff-anna", card_uid=STAFF_CARD, pin=STAFF_PIN))
        created = office.CreatePickupOrder(pb.CreatePickupOrderRequest(
            request_id="demo-order", kind=pb.DOCUMENT_KIND_ID_CARD, size=pb.COMPARTMENT_SIZE_S,
            contact="citizen@example.org", pin="482915"))
        reference = created.order.reference
        out(f"   order {reference}: code {created.pickup_code}, QR payload {created.qr_payload}, "
            "PIN chosen at application")
        wait_for("the order to reach the kiosk", lambda: store.order(reference))
        wait_for("the staff record to reach the kiosk", lambda: store.staff_count() > 0)
        out("   ✔ the kiosk synced the order (hashes only) and the staff record")

        out("\n2. Staff log in with card + PIN and deposit the document.")
        reader.present_card(bytes.fromhex(STAFF_CARD))
        reader.remove_card()
        view = core.staff_pin(STAFF_PIN)
        _expect(view.staff_state is StaffState.MENU, f"staff login failed: {view.staff_error}")
        core.start_deposit()
        core.scan_screen(True)  # the deposit screen reads the document's barcode
        scanner.show(reference.encode())  # the barcode on the document
        view = wait_for("the deposit compartment to open",
                        lambda: (v := core.view()).staff_state is StaffState.DEPOSIT_DOOR_OPEN and v)
        number = view.staff_compartment
        out(f"   compartment {number} opened; staff put the document in and close the door")
        bank.close_door(number)
        view = core.view()
        _expect(view.staff_state is StaffState.DEPOSIT_AWAITING_REFERENCE, "deposit not recorded")
        core.finish_deposits()
        core.logout()
        out(f"   ✔ {view.staff_message}")
        wait_for("the registry to list the order as deposited",
                 lambda: _status(office, reference) == pb.ORDER_STATUS_DEPOSITED)
        notice = Path(settings.registry.notify_dir) / f"{reference}.txt"
        wait_for("the citizen notification", notice.exists)
        out(f"   ✔ notification written: {notice} (+ QR image {notice.with_suffix('.png').name})")
        for line in notice.read_text(encoding="utf-8").splitlines()[:6]:
            out(f"     | {line}")

        out("\n3. The citizen scans the QR code, enters the PIN and confirms the PIN letter.")
        core.scan_screen(True)  # the citizen's scan screen
        scanner.show(created.qr_payload.encode())
        view = wait_for("the PIN prompt", lambda: (v := core.view()).pickup_state is PickupState.AWAITING_PIN and v)
        view = core.submit_pin("482915")
        _expect(view.pickup_state is PickupState.AWAITING_PIN_LETTER, f"PIN step ended in {view.pickup_state}")
        out("   ✔ PIN accepted; ID cards need the PIN-letter confirmation (PAuswV §17)")
        view = core.confirm_pin_letter(True)

        out("\n4. The compartment opens; the citizen takes the document and closes the door.")
        _expect(view.pickup_state is PickupState.DOOR_OPEN, f"door did not open: {view.pickup_state}")
        out(f"   compartment {view.pickup_compartment} is open")
        bank.close_door(view.pickup_compartment)
        view = core.view()
        _expect(view.pickup_state is PickupState.DONE, f"pickup ended in {view.pickup_state}")
        out("   ✔ door closed, handover recorded")

        out("\n5. The registry lists the order as collected.")
        wait_for("the registry to list the order as collected",
                 lambda: _status(office, reference) == pb.ORDER_STATUS_COLLECTED)
        listed = office.ListPickupOrders(pb.ListPickupOrdersRequest())
        for order in listed.orders:
            out(f"   {order.reference}  {pb.OrderStatus.Name(order.status)}  compartment {order.compartment_number}")
        out("   ✔ collected")
    finally:
        channel.close()
        kiosk.stop()


def _status(office, reference: str) -> int:
    return office.GetPickupOrder(pb.GetPickupOrderRequest(reference=reference)).order.status


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)
