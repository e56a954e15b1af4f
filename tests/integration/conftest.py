"""Fixtures that start the real registry server on loopback and real kiosks.

The kiosk runs with its real core thread, store, uplink and gRPC client; only
the hardware is simulated (a driver like any other).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest

from kiosk.app import Kiosk, build_kiosk
from kiosk.config import load_settings
from common.credentials import KdfParams
from registry.notifier import DirectoryNotifier, FanOutNotifier
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from common.auth import authenticated_channel, bearer
from tests.auth_support import admin_token, enrol_into

FAST_KDF = KdfParams(n=2**10, r=8, p=1)
STAFF_CARD = "04A1B2C3D4E5F6"
STAFF_PIN = "246810"


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class FakeClock:
    """Wall-clock time plus an offset tests can advance (pickup deadlines)."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass
class Registry:
    db_path: Path
    notify_dir: Path
    port: int = 0
    server: object = None
    channel: grpc.Channel | None = None
    office: pb_grpc.OfficeServiceStub | None = None
    # Notifiers beside the notice directory (e.g. the messages queue); they
    # are closed when the registry stops.
    more_notifiers: list = field(default_factory=list)
    notifier: object = None

    def start(self) -> None:
        self.notifier = DirectoryNotifier(self.notify_dir)
        if self.more_notifiers:
            self.notifier = FanOutNotifier([self.notifier, *self.more_notifiers])
        self.server = create_server(
            f"127.0.0.1:{self.port}", self.db_path, notifier=self.notifier,
            kdf_params=FAST_KDF, stream_poll_seconds=0.2,
        )
        self.server.start()
        self.port = self.server.port
        if self.channel is None:
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            admin = authenticated_channel(self.channel, bearer(admin_token(self.db_path)))
            self.office = pb_grpc.OfficeServiceStub(admin)

    def enrol(self, kiosk_id: str, data_dir: Path) -> None:
        """What the operator does before a kiosk first connects."""
        enrol_into(self.server.db, kiosk_id, data_dir)

    def stop(self) -> None:
        self.server.stop(grace=0)
        self.server = None

    def status(self, reference: str) -> int:
        return self.office.GetPickupOrder(pb.GetPickupOrderRequest(reference=reference)).order.status

    def order(self, reference: str) -> pb.PickupOrder:
        return self.office.GetPickupOrder(pb.GetPickupOrderRequest(reference=reference)).order

    def create_order(self, kind=pb.DOCUMENT_KIND_PASSPORT, pin="482915", **kw) -> pb.CreatePickupOrderResponse:
        return self.office.CreatePickupOrder(pb.CreatePickupOrderRequest(kind=kind, pin=pin, **kw))

    def unacknowledged_commands(self) -> int:
        with sqlite3.connect(self.db_path) as db:
            return db.execute("SELECT COUNT(*) FROM commands WHERE delivered_at IS NULL").fetchone()[0]

    def events(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute("SELECT event_id, type, order_reference FROM events").fetchall()


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry.sqlite3", tmp_path / "notifications")
    reg.start()
    reg.office.CreateStaffMember(pb.CreateStaffMemberRequest(staff_id="anna", card_uid=STAFF_CARD, pin=STAFF_PIN))
    yield reg
    if reg.server is not None:
        reg.stop()
    reg.channel.close()


@dataclass
class KioskHarness:
    kiosk: Kiosk
    registry: Registry
    clock: FakeClock
    deposited: list[str] = field(default_factory=list)

    @property
    def core(self):
        return self.kiosk.core

    @property
    def store(self):
        return self.kiosk.store

    @property
    def bank(self):
        return self.kiosk.hardware.locker_bank

    @property
    def scanner(self):
        return self.kiosk.hardware.code_scanner

    @property
    def reader(self):
        return self.kiosk.hardware.card_reader

    def synced(self, reference: str):
        self.kiosk.uplink.request_sync()
        return wait_for(lambda: self.store.order(reference), what=f"order {reference} on the kiosk")

    def staff_login(self) -> None:
        wait_for(lambda: self.store.staff_count() > 0, what="staff records on the kiosk")
        self.reader.present_card(bytes.fromhex(STAFF_CARD))
        self.reader.remove_card()
        view = self.core.staff_pin(STAFF_PIN)
        assert view.staff_state.value == "menu", view.staff_error

    def deposit(self, reference: str) -> int:
        """Staff deposit one document; returns its compartment."""
        self.synced(reference)
        self.staff_login()
        self.core.start_deposit()
        self.core.scan_screen(True)
        self.scanner.show(reference.encode())
        view = self.core.view()
        assert view.staff_state.value == "deposit_door_open", view.staff_error
        number = view.staff_compartment
        self.bank.close_door(number)
        self.core.finish_deposits()
        self.core.logout()
        return number

    def pickup(self, qr_payload: str, pin: str):
        self.core.scan_screen(True)
        self.scanner.show(qr_payload.encode())
        view = self.core.submit_pin(pin)
        if view.pickup_state.value == "awaiting_pin_letter":
            view = self.core.confirm_pin_letter(True)
        return view


@pytest.fixture
def make_kiosk(registry, tmp_path):
    kiosks: list[Kiosk] = []

    def make(**env) -> KioskHarness:
        environ = {
            "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / f"kiosk{len(kiosks)}"),
            "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
            "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
        }
        environ.update({f"PICKUPBOX_{k.upper()}": v for k, v in env.items()})
        clock = FakeClock()
        settings = load_settings(None, environ)
        registry.enrol(settings.kiosk.id, Path(settings.kiosk.data_dir))
        kiosk = build_kiosk(settings, registry_target=f"127.0.0.1:{registry.port}", clock=clock)
        kiosk.start()
        kiosks.append(kiosk)
        wait_for(lambda: kiosk.uplink.registered, what="kiosk registration")
        return KioskHarness(kiosk, registry, clock)

    yield make
    for kiosk in kiosks:
        kiosk.stop()
