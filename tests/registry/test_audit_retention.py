"""Audit-log retention: old entries go, the rest stays verifiable through a signed anchor."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from common import audit_chain
from common.credentials import KdfParams
from registry.cli import main
from registry.database import utcnow
from registry.notifier import DirectoryNotifier
from registry.retention import RetentionPolicy, purge
from tests.registry.conftest import database_sql

T = datetime(2026, 1, 1)


@pytest.fixture
def db(open_database):
    database = open_database(kdf_params=KdfParams(n=2**4, r=1, p=1))
    with database.transaction() as tx:
        for i in range(audit_chain.CHECKPOINT_EVERY + 5):
            tx.audit("user:anna", "order.created", target=f"PO-{i}")
    return database


def verify(db, capsys) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", db.target])
    out = capsys.readouterr()
    return code, out.out + out.err


def cut_before(db, seq: int) -> int:
    """Purges the entries before entry `seq` (their time is before its time)."""
    with db.transaction() as tx:
        entry = next(e for e in tx.audit_entries() if e.seq == seq)
        return tx.purge_audit_before(datetime.fromisoformat(entry.time))


def test_purge_cut_rule():
    times = [(1, T), (2, T + timedelta(3)), (3, T), (4, T + timedelta(5))]
    assert audit_chain.purge_cut(times, T + timedelta(2)) == 1  # stops at the first younger
    assert audit_chain.purge_cut(times, T) is None
    assert audit_chain.purge_cut(times, T + timedelta(9)) == 4


def test_the_daily_purge_keeps_the_rest_verifiable(db, tmp_path, capsys):
    later = utcnow() + timedelta(days=400)
    report = purge(db, DirectoryNotifier(tmp_path / "n"), RetentionPolicy(audit_days=365),
                   now=later)
    assert report.audit_entries_purged == audit_chain.CHECKPOINT_EVERY + 5
    with db.transaction() as tx:
        left = tx.audit_entries()
    assert [e.action for e in left] == ["audit.purged"]  # the purge itself is on record
    code, out = verify(db, capsys)
    assert code == 0, out
    assert f"entries up to {audit_chain.CHECKPOINT_EVERY + 5} purged, anchored" in out
    # Without --audit-days nothing is purged.
    assert purge(db, DirectoryNotifier(tmp_path / "n"), RetentionPolicy(),
                 now=later).audit_entries_purged == 0


def test_entries_removed_after_the_anchor_are_found(db, capsys):
    assert cut_before(db, 8) == 7
    assert verify(db, capsys)[0] == 0
    database_sql(db, "DELETE FROM audit_log WHERE seq = 8")
    code, out = verify(db, capsys)
    assert code == 3 and "entry 8 is missing" in out


def test_a_checkpoint_cannot_serve_as_an_anchor(db, capsys):
    """Cutting the front at a checkpoint and copying it as the anchor is found."""
    every = audit_chain.CHECKPOINT_EVERY
    database_sql(db, "INSERT INTO audit_anchor (id, seq, hash, mac, purge_time)"
                 " SELECT 1, seq, hash, mac, 'x' FROM audit_checkpoints WHERE seq = ?", every)
    database_sql(db, "DELETE FROM audit_log WHERE seq <= ?", every)
    code, out = verify(db, capsys)
    assert code == 3 and "anchor" in out and "wrong signature" in out


def test_deleting_the_anchor_and_the_front_is_found(db, capsys):
    cut_before(db, 5)
    database_sql(db, "DELETE FROM audit_anchor")
    code, out = verify(db, capsys)
    assert code == 3 and "entry 1 is missing" in out


def test_a_broken_chain_is_never_purged(db, tmp_path, capsys):
    database_sql(db, "UPDATE audit_log SET target = 'PO-X' WHERE seq = 3")
    with pytest.raises(ValueError, match="broken at entry 3"):
        cut_before(db, 10)
    report = purge(db, DirectoryNotifier(tmp_path / "n"), RetentionPolicy(audit_days=1),
                   now=utcnow() + timedelta(days=5))
    assert report.audit_entries_purged == 0
    code, out = verify(db, capsys)
    assert code == 3 and "BROKEN at entry 3" in out  # the evidence is still there


def test_audit_days_must_be_positive(db, capsys):
    assert main(["purge", "--db", db.target, "--audit-days", "0"]) == 1
    assert "--audit-days must be more than 0" in capsys.readouterr().err
