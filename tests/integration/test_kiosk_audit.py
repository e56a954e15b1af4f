"""A real kiosk's audit log reaches the real registry with its chain intact,
and tampering on the registry's copy (or a rewritten kiosk log) is found.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from kiosk.cli import main as kiosk_main
from kiosk.uplink.client import RegistryRejected
from pickupbox.registry.v1 import registry_pb2 as pb
from registry.cli import main as registry_main
from tests.integration.conftest import wait_for


def held(registry, kiosk_id: str = "kiosk-1") -> list[tuple]:
    with sqlite3.connect(registry.db_path) as db:
        return db.execute("SELECT seq, actor, action, target, detail FROM kiosk_audit_log"
                          " WHERE kiosk_id = ? ORDER BY seq", (kiosk_id,)).fetchall()


def all_reported(k, registry) -> list[tuple]:
    """The registry's copy once it has caught up with the kiosk (which may still be
    adding entries, e.g. for a door that just closed)."""
    def caught_up():
        rows, last = held(registry), k.store.audit_entries()[-1].seq
        return rows and rows[-1][0] == last and rows

    return wait_for(caught_up, what="the kiosk's audit log at the registry")


@pytest.fixture
def audited(registry, make_kiosk):
    """A kiosk after a deposit, an ID-card pickup and a remote open, all reported."""
    k = make_kiosk()
    created = registry.create_order(kind=pb.DOCUMENT_KIND_ID_CARD)
    ref = created.order.reference
    number = k.deposit(ref)
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state.value == "door_open"
    k.bank.close_door(number)
    registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(
            type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=number,
            reason="lock check")))
    wait_for(lambda: any(e.action == "command.executed" for e in k.store.audit_entries()),
             what="the remote open at the kiosk")
    k.bank.close_door(number)
    return k, ref


def test_the_kiosk_chain_arrives_intact_and_verifies_on_both_ends(audited, registry, capsys):
    k, ref = audited
    rows = all_reported(k, registry)
    local = k.store.audit_entries()[:len(rows)]
    assert [(r[0], r[2]) for r in rows] == [(e.seq, e.action) for e in local]
    acts = {(actor, action, target) for _, actor, action, target, _ in rows}
    assert ("staff:anna", "event.staff_login", "") in acts
    assert ("staff:anna", "event.order_deposited", ref) in acts
    assert ("citizen", "event.order_collected", ref) in acts
    assert ("registry", "staff.card_added", "anna") in acts
    assert any(a.startswith("registry:api_key:") and action == "command.received"
               for a, action, _ in acts)
    collected = next(json.loads(d) for *_, action, t, d in rows
                     if action == "event.order_collected")
    assert collected["pin_letter_confirmed"] is True  # PAuswV s.17, on record

    assert registry_main(["audit", "verify", "--db", str(registry.db_path),
                          "--kiosk", "kiosk-1"]) == 0
    assert f"{len(rows)} entries" in capsys.readouterr().out
    assert kiosk_main(["audit", "verify", "--db", str(k.store.path)]) == 0
    assert "intact" in capsys.readouterr().out


def tampered_copy(registry, tmp_path, sql: str, params: tuple = ()):
    """The registry's database as of now, changed behind its back."""
    target = tmp_path / "copy" / "registry.sqlite3"
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    with sqlite3.connect(registry.db_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    shutil.copy(registry.db_path.parent / "audit.key", target.parent / "audit.key")
    with sqlite3.connect(target) as db:
        db.execute(sql, params)
    return target


@pytest.mark.parametrize("sql, found", [
    ("UPDATE kiosk_audit_log SET actor = 'staff:eve' WHERE seq = 3", "entry 3 was changed"),
    ("DELETE FROM kiosk_audit_log WHERE seq = 2", "entry 2 is missing"),
    ("DELETE FROM kiosk_audit_log WHERE seq > 3", "cut off the end"),
])
def test_tampering_with_the_registry_copy_is_found(audited, registry, tmp_path, capsys, sql, found):
    k, _ = audited
    all_reported(k, registry)
    copy = tampered_copy(registry, tmp_path, sql)
    assert registry_main(["audit", "verify", "--db", str(copy), "--kiosk", "kiosk-1"]) == 3
    err = capsys.readouterr().err
    assert "kiosk kiosk-1's audit log BROKEN" in err and found in err


def test_a_checkpoint_of_one_kiosk_does_not_vouch_for_another(audited, registry, tmp_path,
                                                              capsys):
    k, _ = audited
    all_reported(k, registry)
    copy = tampered_copy(registry, tmp_path, "UPDATE kiosk_audit_log SET kiosk_id = 'kiosk-2'")
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE kiosk_audit_checkpoints SET kiosk_id = 'kiosk-2'")
        db.execute("UPDATE kiosks SET kiosk_id = 'kiosk-2'")
    assert registry_main(["audit", "verify", "--db", str(copy), "--kiosk", "kiosk-2"]) == 3
    assert "wrong signature" in capsys.readouterr().err


def test_a_rewritten_kiosk_log_is_refused_and_audited(audited, registry, capsys):
    k, _ = audited
    rows = all_reported(k, registry)
    entries = k.store.audit_entries()
    from dataclasses import replace

    forged = replace(entries[1], actor="staff:eve")  # its hash no longer fits either
    with pytest.raises(RegistryRejected) as refused:
        k.kiosk.uplink.client.report_audit([forged])
    assert refused.value.reason == "AUDIT_CHAIN_BROKEN"
    assert "entry 2 differs" in str(refused.value)
    now_held = held(registry)
    assert now_held[:len(rows)] == rows  # nothing changed (the kiosk may have added more)
    assert not any(r[1] == "staff:eve" for r in now_held)
    with sqlite3.connect(registry.db_path) as db:
        rejected = db.execute("SELECT actor, outcome, detail FROM audit_log"
                              " WHERE action = 'kiosk_audit.rejected'").fetchall()
    assert rejected and rejected[0][:2] == ("kiosk:kiosk-1", "denied")
    # A gap is refused too: the kiosk cannot skip entries it would rather hide.
    later = replace(entries[-1], seq=entries[-1].seq + 2)
    with pytest.raises(RegistryRejected, match="is missing"):
        k.kiosk.uplink.client.report_audit([later])


def test_a_registry_restored_from_a_backup_gets_the_rest_again(audited, registry, capsys):
    k, _ = audited
    rows = all_reported(k, registry)
    with sqlite3.connect(registry.db_path) as db:  # as if restored from an older backup
        db.execute("DELETE FROM kiosk_audit_log WHERE seq > 3")
        db.execute("DELETE FROM kiosk_audit_checkpoints WHERE seq > 3")
    # With the kiosk's next act the uplink finds the registry behind and resends.
    before = len(k.store.audit_entries())
    registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC)))
    wait_for(lambda: len(k.store.audit_entries()) > before, what="the next audited act")
    rows = all_reported(k, registry)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert registry_main(["audit", "verify", "--db", str(registry.db_path),
                          "--kiosk", "kiosk-1"]) == 0, capsys.readouterr().err
