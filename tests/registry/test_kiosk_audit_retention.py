"""Audit retention of the registry's copies of the kiosks' chains.

The kiosks' chains (ReportAuditEntries) name staff and orders like the
registry's own log, so ``--audit-days`` purges them in the same run, behind
a signed anchor per kiosk: ``audit verify --kiosk`` still holds, the kiosk's
next batch must still continue the chain, a broken continuation is refused.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa
from alembic import command

from common import audit_chain
from common.audit_chain import AuditEntry
from common.convert import audit_entry_to_proto
from registry.cli import main
from registry.database import utcnow
from registry.retention import RetentionPolicy, kiosk_anchor_problem, purge
from registry.storage import migrations
from registry.storage.location import locate
from pickupbox.registry.v1 import registry_pb2 as pb

OLD = utcnow() - timedelta(days=400)  # beyond --audit-days 365
RECENT = utcnow() - timedelta(days=10)


def kiosk_chain(times, after: AuditEntry | None = None,
                who: str = "staff:anna") -> list[AuditEntry]:
    """Entries as a kiosk writes them (kiosk/store/audit_log.py), one per time."""
    entries, last = [], after
    for n, time in enumerate(times):
        last = audit_chain.next_entry(last, time.isoformat(), who, "event.order_deposited", "",
                                      f"PO-{n}", "ok", json.dumps({"n": n}))
        entries.append(last)
    return entries


@pytest.fixture
def report(registry, register_kiosk):
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-2")

    def send(entries, kiosk_id: str = "kiosk-1") -> int:
        return registry.kiosk.ReportAuditEntries(pb.ReportAuditEntriesRequest(
            kiosk_id=kiosk_id, entries=[audit_entry_to_proto(e) for e in entries]),
            timeout=5).head_seq

    return send


def held(registry, kiosk_id: str = "kiosk-1") -> list[int]:
    return [r[0] for r in registry.sql("SELECT seq FROM kiosk_audit_log WHERE kiosk_id = ?"
                                       " ORDER BY seq", kiosk_id)]


def verify(registry, capsys, kiosk_id: str = "kiosk-1") -> tuple[int, str]:
    code = main(["audit", "verify", "--db", registry.db_target, "--kiosk", kiosk_id])
    out = capsys.readouterr()
    return code, out.out + out.err


def purge_now(registry, capsys) -> str:
    assert main(["purge", "--db", registry.db_target, "--audit-days", "365",
                 "--notify-dir", str(registry.notifier.directory)]) == 0
    return capsys.readouterr().out


def test_the_purge_cuts_every_kiosk_chain_and_it_still_verifies(registry, report, capsys):
    chain = kiosk_chain([OLD] * 25 + [RECENT] * 3)  # a checkpoint among the old ones
    assert report(chain[:20]) == 20 and report(chain[20:]) == 28
    other = kiosk_chain([OLD] * 4 + [RECENT], who="staff:bert")
    assert report(other, "kiosk-2") == 5

    out = purge_now(registry, capsys)
    assert "29 of the kiosks' audit entries purged" in out
    assert held(registry) == [26, 27, 28] and held(registry, "kiosk-2") == [5]
    # Nothing older than the retention names anyone any more.
    assert registry.sql("SELECT COUNT(*) FROM kiosk_audit_log WHERE actor = 'staff:anna'"
                        " AND time < ?", (utcnow() - timedelta(days=365)).isoformat())[0][0] == 0
    code, out = verify(registry, capsys)
    assert code == 0 and "3 entries" in out and "entries up to 25 purged, anchored" in out, out
    code, out = verify(registry, capsys, "kiosk-2")
    assert code == 0 and "entries up to 4 purged" in out, out
    # Each kiosk's purge is on record in the registry's own log.
    purged = registry.sql("SELECT target, detail FROM audit_log WHERE action = ?"
                          " ORDER BY target", "kiosk_audit.purged")
    assert [(r[0], json.loads(r[1])["entries"], json.loads(r[1])["anchored_at"])
            for r in purged] == [("kiosk-1", 25, 25), ("kiosk-2", 4, 4)]
    # A second run finds nothing more to purge.
    assert "0 of the kiosks' audit entries purged" in purge_now(registry, capsys)


def test_after_every_entry_is_purged_the_chain_continues_at_the_anchor(registry, report,
                                                                       capsys):
    chain = kiosk_chain([OLD] * 6)
    assert report(chain) == 6
    purge(registry.server.db, registry.notifier, RetentionPolicy(audit_days=365))
    assert held(registry) == []
    assert verify(registry, capsys)[0] == 0

    later = kiosk_chain([RECENT], after=chain[-1])
    # The answer to the last batch was lost: the kiosk sends the purged entries again.
    assert report([*chain[3:], *later]) == 7
    assert held(registry) == [7]
    code, out = verify(registry, capsys)
    assert code == 0 and "1 entries" in out and "entries up to 6 purged" in out, out

    # What does not continue the chain is still refused, after a purge too.
    forged = kiosk_chain([OLD] * 5, who="staff:eve")  # whole, but another history
    for batch, problem in (
        ([replace(later[0], seq=8, prev_hash=chain[2].hash)], "entry 8 does not follow entry 7"),
        ([replace(chain[-1], actor="staff:eve")], "entry 6 differs"),  # the anchor's entry
        ([chain[3], replace(chain[4], actor="staff:eve"), chain[5]], "entry 5 was changed"),
        ([*forged, chain[5]], "entry 6 does not follow entry 5"),
        (kiosk_chain([RECENT, RECENT]), "do not lead to entry 6"),  # a reset kiosk, from 1
    ):
        with pytest.raises(grpc.RpcError) as refused:
            report(batch)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "AUDIT_CHAIN_BROKEN" in str(refused.value.trailing_metadata())
        assert problem in refused.value.details(), refused.value.details()
    assert held(registry) == [7]


def test_a_broken_kiosk_chain_is_not_purged_and_the_others_are(registry, report, capsys):
    assert report(kiosk_chain([OLD] * 5 + [RECENT])) == 6
    assert report(kiosk_chain([OLD] * 3 + [RECENT]), "kiosk-2") == 4
    registry.sql("UPDATE kiosk_audit_log SET target = 'PO-X' WHERE kiosk_id = ? AND seq = 2",
                 "kiosk-1")
    assert "3 of the kiosks' audit entries purged" in purge_now(registry, capsys)
    assert held(registry) == [1, 2, 3, 4, 5, 6]  # the evidence stays
    assert held(registry, "kiosk-2") == [4]
    code, out = verify(registry, capsys)
    assert code == 3 and "BROKEN at entry 2" in out


def test_tampering_after_the_purge_is_found(registry, report, capsys):
    assert report(kiosk_chain([OLD] * 5 + [RECENT] * 3)) == 8
    purge_now(registry, capsys)
    registry.sql("DELETE FROM kiosk_audit_log WHERE kiosk_id = ? AND seq = 6", "kiosk-1")
    code, out = verify(registry, capsys)
    assert code == 3 and "entry 6 is missing" in out, out
    # An anchor of one kiosk does not vouch for another's chain.
    registry.sql("UPDATE kiosk_audit_anchors SET kiosk_id = 'kiosk-2'")
    registry.sql("UPDATE kiosk_audit_log SET kiosk_id = 'kiosk-2' WHERE kiosk_id = 'kiosk-1'")
    code, out = verify(registry, capsys, "kiosk-2")
    assert code == 3 and "wrong signature" in out, out


def test_without_audit_days_the_kiosk_chains_are_kept(registry, report):
    assert report(kiosk_chain([OLD] * 3)) == 3
    purge(registry.server.db, registry.notifier, RetentionPolicy())
    assert held(registry) == [1, 2, 3]


def test_repeats_of_purged_entries_pass_the_continuation_rule():
    chain = kiosk_chain([OLD] * 5)
    head = (chain[-1].seq, chain[-1].hash)  # entries 1..5 purged, anchored at 5
    known = {5: chain[-1].hash}
    more = kiosk_chain([RECENT], after=chain[-1])
    assert audit_chain.continuation_problem(*head, [*chain, *more], known, 5) is None
    # Without the anchor's allowance they count as a rewritten history.
    assert "differs" in audit_chain.continuation_problem(*head, [*chain, *more], known)
    assert "was changed" in audit_chain.continuation_problem(
        *head, [replace(chain[0], actor="staff:eve"), *more], known, 5)
    # Whole entries that link to nothing the holder knows are not a repeat.
    assert "do not lead to entry 5" in audit_chain.continuation_problem(*head, chain[:3], known, 5)


def test_migration_0009_adds_the_kiosk_anchors_and_goes_back(open_database):
    db = open_database()
    target = db.target
    db.close()
    engine = locate(target).engine()

    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    assert "kiosk_audit_anchors" in tables()
    with engine.connect() as conn, conn.begin():
        command.downgrade(migrations._config(conn), "0008")
    assert "kiosk_audit_anchors" not in tables() and "kiosk_audit_log" in tables()
    with engine.connect() as conn:
        migrations.upgrade(conn)
    assert "kiosk_audit_anchors" in tables()
    engine.dispose()


def test_removing_the_anchor_with_the_whole_purged_chain_is_found(registry, report, capsys):
    """After a full purge nothing but the anchor is left: deleting it too would
    leave an empty chain, but the registry's own log records the purge."""
    assert report(kiosk_chain([OLD] * 4)) == 4
    purge_now(registry, capsys)
    assert held(registry) == [] and verify(registry, capsys)[0] == 0
    registry.sql("DELETE FROM kiosk_audit_anchors WHERE kiosk_id = ?", "kiosk-1")
    code, out = verify(registry, capsys)
    assert code == 3 and "BROKEN at entry 1" in out and "up to 4 purged" in out, out


def test_the_anchor_rule_against_the_recorded_purges():
    assert kiosk_anchor_problem(0, []) is None
    assert kiosk_anchor_problem(7, [3, 7]) is None
    assert "starts after entry 3" in kiosk_anchor_problem(3, [3, 7])
    assert "starts at entry 1" in kiosk_anchor_problem(0, [7])


def test_entry_times_without_offset_count_as_utc():
    from datetime import datetime, timezone

    assert audit_chain.entry_moment("2026-01-01T00:00:00") == datetime(2026, 1, 1,
                                                                       tzinfo=timezone.utc)
    assert audit_chain.entry_moment("2026-01-01T01:00:00+01:00") == datetime(
        2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="'yesterday' is not an ISO 8601 time"):
        audit_chain.entry_moment("yesterday")
