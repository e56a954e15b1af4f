"""The world around the app in UI tests: a loopback registry, a kiosk with
simulated hardware, staff and orders (the same parts as the integration tests)."""

from __future__ import annotations

from pathlib import Path

from kiosk.app import Kiosk, build_kiosk
from kiosk.config import load_settings
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import STAFF_CARD, STAFF_PIN, FakeClock, Registry, wait_for

CITIZEN_PIN = "482915"


class World:
    def __init__(self, base: Path, **env: str):
        self.base = base
        self.env = env
        self.registry = Registry(base / "registry.sqlite3", base / "notifications")
        self.clock = FakeClock()
        self.kiosk: Kiosk | None = None

    def start(self) -> None:
        self.registry.start()
        self.registry.office.CreateStaffMember(pb.CreateStaffMemberRequest(
            staff_id="anna", card_uid=STAFF_CARD, pin=STAFF_PIN))
        environ = {
            "PICKUPBOX_KIOSK__DATA_DIR": str(self.base / "kiosk"),
            "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
            "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
            "PICKUPBOX_REGISTRY__NOTIFY_DIR": str(self.base / "notifications"),
            "PICKUPBOX_OFFICE__NAME": "Bürgerbüro Mitte",
            "PICKUPBOX_OFFICE__PHONE": "0800 123 456",
            "PICKUPBOX_OFFICE__OPENING_HOURS": "Mo-Fr 8-16",
            "PICKUPBOX_UI__FULLSCREEN": "false",
        }
        environ.update({f"PICKUPBOX_{k.upper()}": v for k, v in self.env.items()})
        settings = load_settings(None, environ)
        self.registry.enrol(settings.kiosk.id, settings.kiosk.data_dir)  # the kiosk's credential
        self.kiosk = build_kiosk(settings, registry_target=f"127.0.0.1:{self.registry.port}",
                                 clock=self.clock)
        self.kiosk.start()
        wait_for(lambda: self.kiosk.uplink.registered, what="kiosk registration")
        wait_for(lambda: self.kiosk.store.staff_count() > 0, what="staff records on the kiosk")

    def stop(self) -> None:
        if self.kiosk is not None:
            self.kiosk.stop()
        if self.registry.server is not None:
            self.registry.stop()
        if self.registry.channel is not None:
            self.registry.channel.close()

    def create_order(self, kind=pb.DOCUMENT_KIND_ID_CARD, **kw) -> pb.CreatePickupOrderResponse:
        created = self.registry.create_order(kind=kind, pin=CITIZEN_PIN, size=pb.COMPARTMENT_SIZE_S, **kw)
        self.kiosk.uplink.request_sync()
        wait_for(lambda: self.kiosk.store.order(created.order.reference), what="the order on the kiosk")
        return created

    def deposit(self, reference: str) -> int:
        """Staff deposit through the core (the staff screens have their own test)."""
        core, bank = self.kiosk.core, self.kiosk.hardware.locker_bank
        self.kiosk.hardware.card_reader.present_card(bytes.fromhex(STAFF_CARD))
        self.kiosk.hardware.card_reader.remove_card()
        view = core.staff_pin(STAFF_PIN)
        assert view.staff_state.value == "menu", view.staff_error
        core.start_deposit()
        view = core.submit_reference(reference)
        assert view.staff_state.value == "deposit_door_open", view.staff_error
        number = view.staff_compartment
        bank.close_door(number)
        core.finish_deposits()
        core.logout()
        return number

    def order_ready(self, **kw) -> tuple[pb.CreatePickupOrderResponse, int]:
        created = self.create_order(**kw)
        return created, self.deposit(created.order.reference)
