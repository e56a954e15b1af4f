"""The audit log: chain rules as pure functions, and the log a real registry writes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from common import audit_chain as audit
from common.audit_chain import AuditEntry, Checkpoint, checkpoint_mac, entry_hash, verify_chain
from registry.cli import main
from pickupbox.registry.v1 import registry_pb2 as pb

KEY = b"k" * 32


def chain(n: int) -> tuple[list[AuditEntry], list[Checkpoint]]:
    entries, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        fields = dict(seq=seq, time=f"2026-12-02T10:00:{seq:02d}+00:00", actor="user:anna",
                      action="order.created", office_id="north", target=f"PO-{seq}",
                      outcome="ok", detail=json.dumps({"n": seq}))
        digest = entry_hash(prev, **fields)
        entries.append(AuditEntry(**fields, prev_hash=prev, hash=digest))
        prev = digest
    checkpoints = [Checkpoint(e.seq, e.hash, checkpoint_mac(KEY, e.seq, e.hash))
                   for e in entries if e.seq % 5 == 0]
    return entries, checkpoints


def test_an_intact_chain_verifies():
    entries, checkpoints = chain(12)
    assert verify_chain(entries, checkpoints, KEY).ok


def test_one_edited_byte_is_found():
    entries, checkpoints = chain(12)
    entries[6] = replace(entries[6], target="PO-X")
    result = verify_chain(entries, checkpoints, KEY)
    assert (result.ok, result.broken_seq) == (False, 7)
    assert "changed" in result.problem


def test_a_rehashed_edit_breaks_the_next_link():
    entries, checkpoints = chain(12)
    edited = replace(entries[6], target="PO-X")
    entries[6] = replace(edited, hash=audit.hash_of(edited))
    assert verify_chain(entries, checkpoints, KEY).broken_seq == 8


def test_a_deleted_entry_is_found():
    entries, checkpoints = chain(12)
    del entries[3]
    result = verify_chain(entries, checkpoints, KEY)
    assert result.broken_seq == 4 and "missing" in result.problem


def test_a_truncated_tail_is_found_by_its_checkpoint():
    entries, checkpoints = chain(12)
    result = verify_chain(entries[:8], checkpoints, KEY)
    assert not result.ok and "cut off" in result.problem


def test_a_forged_checkpoint_is_found():
    entries, checkpoints = chain(12)
    checkpoints[0] = replace(checkpoints[0], mac="0" * 64)
    result = verify_chain(entries, checkpoints, KEY)
    assert not result.ok and "signature" in result.problem


def test_the_registry_audits_and_verify_names_the_broken_entry(registry, create_order, capsys):
    reference = create_order(contact="a@example.org").order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference,
                                                                  reason="moved"), timeout=5)
    db = registry.db_target
    assert main(["audit", "verify", "--db", db]) == 0
    assert "intact" in capsys.readouterr().out

    assert main(["audit", "export", "--db", db, "--order", reference]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["action"] for e in exported] == ["order.created", "order.cancelled"]
    assert all(e["actor"] == "api_key:local-admin" for e in exported)

    row = registry.sql("SELECT seq FROM audit_log WHERE action = 'order.created'")[0]
    # one byte, behind the registry's back
    registry.sql("UPDATE audit_log SET target = 'PO-OTHER1' WHERE seq = ?", row[0])
    assert main(["audit", "verify", "--db", db]) == 3
    assert f"BROKEN at entry {row[0]}" in capsys.readouterr().err


@pytest.mark.parametrize("cut", [1, 3])
def test_truncating_a_stopped_registry_log_is_found(registry_at, tmp_path, cut, capsys):
    reg = registry_at(tmp_path / "r.sqlite3", tmp_path / "n")
    for i in range(4):
        reg.office.CreatePickupOrder(pb.CreatePickupOrderRequest(kind=pb.DOCUMENT_KIND_ID_CARD,
                                                                 kiosk_id="kiosk-1"), timeout=5)
    reg.close()  # signs the head of the chain
    with sqlite3.connect(tmp_path / "r.sqlite3") as conn:
        last = conn.execute("SELECT MAX(seq) FROM audit_log").fetchone()[0]
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (last - cut,))
    assert main(["audit", "verify", "--db", str(tmp_path / "r.sqlite3")]) == 3
    assert "cut off" in capsys.readouterr().err


def test_a_batch_must_continue_the_chain_the_registry_holds():
    """The rule the registry applies to each kiosk's ReportAuditEntries."""
    entries, _ = chain(6)
    head = (entries[2].seq, entries[2].hash)  # the registry holds 1..3
    known = {e.seq: e.hash for e in entries[:3]}
    problem = audit.continuation_problem
    assert problem(*head, entries[3:], known) is None
    assert problem(*head, entries[1:], known) is None  # repeats of a lost answer
    assert problem(0, audit.GENESIS, entries, {}) is None
    assert "entry 4 is missing" in problem(*head, entries[4:], known)
    assert "rewritten" in problem(*head, [replace(entries[1], actor="x")], known)
    assert "does not follow" in problem(*head, [replace(entries[3], prev_hash=audit.GENESIS)],
                                        known)
    assert "changed" in problem(*head, [replace(entries[3], target="PO-X")], known)


def test_next_entry_continues_a_chain():
    entries, _ = chain(2)
    following = audit.next_entry(entries[-1], "t", "kiosk", "a", "", "", "ok", "{}")
    assert verify_chain([*entries, following], [], KEY).ok
    assert audit.next_entry(None, "t", "kiosk", "a", "", "", "ok", "{}").prev_hash == audit.GENESIS


def test_a_kiosk_chain_is_stored_verified_and_a_rewrite_refused(registry, register_kiosk,
                                                                 capsys):
    """ReportAuditEntries on the server's backend: batches extend the held chain,
    a repeat is harmless, a rewritten entry is refused whole and audited."""
    import grpc

    from common.convert import audit_entry_to_proto

    register_kiosk("kiosk-1")
    entries, _ = chain(8)

    def report(batch):
        return registry.kiosk.ReportAuditEntries(pb.ReportAuditEntriesRequest(
            kiosk_id="kiosk-1", entries=[audit_entry_to_proto(e) for e in batch]), timeout=5)

    assert report(entries[:5]).head_seq == 5
    assert report(entries[3:]).head_seq == 8  # 4 and 5 again, as after a lost answer
    db = registry.db_target
    assert main(["audit", "verify", "--db", db, "--kiosk", "kiosk-1"]) == 0
    assert "kiosk kiosk-1's audit log intact: 8 entries" in capsys.readouterr().out

    with pytest.raises(grpc.RpcError) as refused:
        report([replace(entries[2], actor="user:mallory")])
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert registry.sql("SELECT COUNT(*) FROM kiosk_audit_log WHERE kiosk_id = ?",
                        "kiosk-1")[0][0] == 8
    rejected = registry.sql("SELECT outcome FROM audit_log WHERE action = ?",
                            "kiosk_audit.rejected")
    assert [r[0] for r in rejected] == ["denied"]

    registry.sql("UPDATE kiosk_audit_log SET target = 'PO-X' WHERE kiosk_id = ? AND seq = 6",
                 "kiosk-1")
    assert main(["audit", "verify", "--db", db, "--kiosk", "kiosk-1"]) == 3
    assert "BROKEN at entry 6" in capsys.readouterr().err
