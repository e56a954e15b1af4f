"""Remote commands against a real kiosk and the real registry: stale and unsafe opens are refused.

The registry stamps each command with create_time and a five-minute
expire_time; the kiosk refuses an open that was sent while it was off, and
an open of a compartment that holds a document, and reports each refusal.
"""

from __future__ import annotations

import sqlite3

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.domain.compartment import CompartmentState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import FakeClock, KioskHarness, wait_for


def start_kiosk(registry, tmp_path) -> KioskHarness:
    environ = {
        "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / "kiosk"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
        "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "0.3",
        "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
    }
    kiosk = build_kiosk(load_settings(None, environ), registry_target=f"127.0.0.1:{registry.port}")
    kiosk.start()
    wait_for(lambda: kiosk.uplink.registered, what="kiosk registration")
    return KioskHarness(kiosk, registry, FakeClock())


def send_open(registry, number: int) -> None:
    registry.office.SendKioskCommand(
        pb.SendKioskCommandRequest(
            kiosk_id="kiosk-1",
            command=pb.RemoteCommand(
                type=pb.COMMAND_TYPE_OPEN_COMPARTMENT,
                compartment_number=number,
                reason="check the lock",
                requested_by="office-admin",
            ),
        )
    )


def events(registry, type_name: str) -> list[pb.KioskEvent]:
    with sqlite3.connect(registry.db_path) as db:
        rows = db.execute("SELECT payload FROM events WHERE type=?", (type_name,)).fetchall()
    return [pb.KioskEvent.FromString(row[0]) for row in rows]


def test_an_open_sent_while_the_kiosk_was_off_does_not_run_at_start(registry, tmp_path):
    k = start_kiosk(registry, tmp_path)
    k.kiosk.stop()
    send_open(registry, 3)
    k = start_kiosk(registry, tmp_path)
    wait_for(lambda: registry.unacknowledged_commands() == 0, what="the kiosk to take the command")
    refused = wait_for(
        lambda: events(registry, "EVENT_TYPE_COMMAND_REFUSED"), what="the refusal at the registry"
    )
    assert "before this kiosk started" in refused[0].detail
    assert not any(c.compartment == 3 for c in k.bank.unlock_log)
    k.kiosk.stop()


def test_an_open_of_a_compartment_holding_a_document_is_refused(registry, tmp_path):
    k = start_kiosk(registry, tmp_path)
    created = registry.create_order()
    number = k.deposit(created.order.reference)
    unlocks = len(k.bank.unlock_log)
    send_open(registry, number)
    refused = wait_for(
        lambda: events(registry, "EVENT_TYPE_COMMAND_REFUSED"), what="the refusal at the registry"
    )
    assert "holds a document" in refused[0].detail
    assert len(k.bank.unlock_log) == unlocks
    assert k.store.compartment(number).state is CompartmentState.OCCUPIED
    k.kiosk.stop()


def test_a_remote_open_names_the_principal_not_a_staff_id(registry, tmp_path):
    k = start_kiosk(registry, tmp_path)
    send_open(registry, 3)
    opened = wait_for(
        lambda: events(registry, "EVENT_TYPE_COMPARTMENT_SERVICE_OPENED"), what="the audit event"
    )
    assert list(opened[0].staff_ids) == []
    assert "office-admin" in opened[0].detail
    assert any(c.compartment == 3 for c in k.bank.unlock_log)
    k.kiosk.stop()
