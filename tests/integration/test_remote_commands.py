"""Remote commands against a real kiosk and the real registry: stale and unsafe opens are refused.

The registry stamps each command with create_time and a five-minute
expire_time; the kiosk refuses an open that was sent while it was off, and
an open of a compartment that holds a document, and reports each refusal.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest

from common.convert import to_timestamp

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.domain.compartment import CompartmentState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import STAFF_CARD, STAFF_PIN, FakeClock, KioskHarness, wait_for


def start_kiosk(registry, tmp_path) -> KioskHarness:
    environ = {
        "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / "kiosk"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
        "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "0.3",
        "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
    }
    settings = load_settings(None, environ)
    registry.enrol(settings.kiosk.id, Path(settings.kiosk.data_dir))  # as the operator did
    kiosk = build_kiosk(settings, registry_target=f"127.0.0.1:{registry.port}")
    kiosk.start()
    wait_for(lambda: kiosk.uplink.registered, what="kiosk registration")
    return KioskHarness(kiosk, registry, FakeClock())


def send_open(registry, number: int, **command) -> None:
    """As the local admin (a supervisor); `requested_by` is a claim the registry ignores."""
    registry.office.SendKioskCommand(
        pb.SendKioskCommandRequest(
            kiosk_id="kiosk-1",
            command=pb.RemoteCommand(
                type=pb.COMMAND_TYPE_OPEN_COMPARTMENT,
                compartment_number=number,
                reason="check the lock",
                requested_by="office-admin",
                **command,
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


def test_a_service_opening_with_a_reason_opens_a_compartment_holding_a_document(
    registry, tmp_path
):
    """The registry carries service_opening and the office's expire_time to the kiosk."""
    k = start_kiosk(registry, tmp_path)
    created = registry.create_order()
    number = k.deposit(created.order.reference)
    unlocks = len(k.bank.unlock_log)
    expire = datetime.now(timezone.utc) + timedelta(minutes=2)
    send_open(registry, number, service_opening=True, expire_time=to_timestamp(expire))
    opened = wait_for(
        lambda: events(registry, "EVENT_TYPE_COMPARTMENT_SERVICE_OPENED"), what="the audit event"
    )
    assert opened[0].compartment_number == number and "check the lock" in opened[0].detail
    assert [c.compartment for c in k.bank.unlock_log[unlocks:]] == [number]
    assert not events(registry, "EVENT_TYPE_COMMAND_REFUSED")
    with sqlite3.connect(registry.db_path) as db:
        (stored,) = db.execute(
            "SELECT service_opening, expire_at FROM commands WHERE type = ?",
            ("COMMAND_TYPE_OPEN_COMPARTMENT",),
        ).fetchall()
    assert stored[0] == 1 and datetime.fromisoformat(stored[1]) == expire
    k.kiosk.stop()


def test_an_expire_time_already_past_is_refused_by_the_registry(registry, tmp_path):
    start_kiosk(registry, tmp_path).kiosk.stop()
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(grpc.RpcError) as refused:
        send_open(registry, 3, expire_time=to_timestamp(past))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "command.expire_time" in refused.value.details()
    assert registry.unacknowledged_commands() == 0


def test_a_remote_open_names_the_principal_not_a_staff_id(registry, tmp_path):
    k = start_kiosk(registry, tmp_path)
    send_open(registry, 3)
    opened = wait_for(
        lambda: events(registry, "EVENT_TYPE_COMPARTMENT_SERVICE_OPENED"), what="the audit event"
    )
    assert list(opened[0].staff_ids) == []
    # The principal the registry authenticated, not the name the request claimed.
    assert "'api_key:local-admin'" in opened[0].detail
    assert "office-admin" not in opened[0].detail
    assert any(c.compartment == 3 for c in k.bank.unlock_log)
    k.kiosk.stop()


def test_a_locked_staff_card_is_unlocked_by_a_new_pin_from_the_office(registry, tmp_path):
    """Five wrong PINs lock the card; the office deactivates the member and registers
    the card again with a new PIN; the staff sync brings it and the card works again."""
    k = start_kiosk(registry, tmp_path)
    wait_for(lambda: k.store.staff_count() > 0, what="staff records on the kiosk")
    for _ in range(5):  # the per-kiosk backoff starts after three: waited out (2 s, 4 s)
        assert _try_login(k, "000000", wait_out=True) == "logged_out"
    locked = wait_for(lambda: events(registry, "EVENT_TYPE_STAFF_CARD_LOCKED"),
                      what="the lock alarm")
    assert locked[0].staff_ids == ["anna"]
    # Locked: the right PIN does not help.
    assert _try_login(k, STAFF_PIN, wait_out=True) == "logged_out"
    registry.office.DeactivateStaffMember(pb.DeactivateStaffMemberRequest(staff_id="anna"))
    registry.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="anna-2", card_uid=STAFF_CARD, pin="135790"))
    k.kiosk.uplink.request_sync()
    wait_for(lambda: _try_login(k, "135790", wait_out=True) == "menu", timeout=60,
             what="a login with the new PIN")
    k.kiosk.stop()


def _try_login(k: KioskHarness, pin: str, wait_out: bool = False) -> str:
    """Staff card and PIN; the staff state after it (waits out the kiosk's backoff if asked)."""
    for _ in range(60):
        k.core.logout()
        k.reader.present_card(bytes.fromhex(STAFF_CARD))
        k.reader.remove_card()
        view = k.core.staff_pin(pin)
        if not (wait_out and view.staff_error_notice.code == "login_wait"):
            return view.staff_state.value
        time.sleep(1)
    return view.staff_state.value


def test_the_office_unlocks_a_locked_staff_card_and_the_same_pin_works(registry, tmp_path):
    """Five wrong PINs lock the card at the kiosk; a supervisor unlocks it at the
    registry (UnlockStaffCard); the staff sync lifts the lock and the holder's
    own PIN logs in again; the unlock is in the registry's audit log."""
    k = start_kiosk(registry, tmp_path)
    wait_for(lambda: k.store.staff_count() > 0, what="staff records on the kiosk")
    for _ in range(5):
        assert _try_login(k, "000000", wait_out=True) == "logged_out"
    wait_for(lambda: events(registry, "EVENT_TYPE_STAFF_CARD_LOCKED"), what="the lock alarm")
    assert _try_login(k, STAFF_PIN, wait_out=True) == "logged_out"  # locked
    registry.office.UnlockStaffCard(
        pb.UnlockStaffCardRequest(staff_id="anna", reason="identity checked"), timeout=10)
    wait_for(lambda: _try_login(k, STAFF_PIN, wait_out=True) == "menu", timeout=60,
             what="a login with the same PIN after the unlock")
    with sqlite3.connect(registry.db_path) as db:
        audited = db.execute("SELECT actor, target, detail FROM audit_log"
                             " WHERE action = 'staff.card_unlocked'").fetchall()
    assert len(audited) == 1 and audited[0][1] == "anna" and "identity checked" in audited[0][2]
    assert any(e.action == "staff.card_unlocked" and e.target == "anna"
               for e in k.store.audit_entries())
    k.kiosk.stop()
