"""Audit retention on both ends: a real kiosk (core, store, uplink) and the real
registry server each purge the kiosk's audit chain after their retention, in
stepped time, and still agree on where it continues.

The registry purges first, everything it holds of the kiosk (so its anchor
is the chain's head); then the kiosk's clock steps past its own retention,
it prunes what the registry holds, and its next entries must continue the
chain at both ends.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from kiosk.cli import main as kiosk_main
from kiosk.store import audit_log
from pickupbox.registry.v1 import registry_pb2 as pb
from registry import retention
from registry.cli import main as registry_main
from registry.database import utcnow
from tests.integration.conftest import wait_for
from tests.integration.test_kiosk_audit import all_reported, held

RETENTION_DAYS = 30
STEP = timedelta(days=RETENTION_DAYS + 10)


def verified_on_both_ends(k, registry, capsys) -> tuple[str, str]:
    assert registry_main(["audit", "verify", "--db", str(registry.db_path),
                          "--kiosk", "kiosk-1"]) == 0, capsys.readouterr().err
    at_registry = capsys.readouterr().out
    assert kiosk_main(["audit", "verify", "--db", str(k.store.path)]) == 0, \
        capsys.readouterr().err
    return at_registry, capsys.readouterr().out


def kiosk_anchor(k):
    with sqlite3.connect(k.store.path) as db:
        return audit_log.anchor(db)


def test_old_entries_go_on_both_ends_and_the_chain_goes_on(registry, make_kiosk, capsys):
    k = make_kiosk(kiosk__journal_retention_days=str(RETENTION_DAYS))
    created = registry.create_order(kind=pb.DOCUMENT_KIND_PASSPORT)
    ref = created.order.reference
    k.deposit(ref)
    old = all_reported(k, registry)
    last_old = old[-1][0]
    assert any(r[1] == "staff:anna" and r[3] == ref for r in old)  # staff and order named

    # The registry's daily run, once its retention has passed for all of them.
    report = retention.purge(registry.server.db, registry.notifier,
                             retention.RetentionPolicy(audit_days=RETENTION_DAYS),
                             now=utcnow() + STEP)
    assert report.kiosk_audit_entries_purged >= last_old
    assert not [r for r in held(registry) if r[0] <= last_old]
    at_registry, _ = verified_on_both_ends(k, registry, capsys)
    assert f"entries up to {last_old} purged, anchored" in at_registry

    # The kiosk's clock steps past its retention: its hourly prune removes
    # what the registry holds, and nothing it does not.
    k.clock.advance(STEP)
    wait_for(lambda: (kiosk_anchor(k) or audit_log.Anchor(0, "", "")).seq >= last_old,
             what="the kiosk pruning its audit log")
    cutoff = (k.clock() - timedelta(days=RETENTION_DAYS)).isoformat()
    left = k.store.audit_entries()
    assert left == [] or left[0].seq > last_old
    assert all(e.time >= cutoff for e in left)
    reported = int(k.store.meta(audit_log.REPORTED_KEY) or 0)
    assert kiosk_anchor(k).seq <= reported

    # New acts still reach the registry and continue the chain there.
    before = max([e.seq for e in left], default=kiosk_anchor(k).seq)
    registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC)))
    wait_for(lambda: any(e.seq > before and e.action == "command.received"
                         for e in k.store.audit_entries()), what="the next audited act")
    rows = all_reported(k, registry)
    assert rows[0][0] == last_old + 1  # continues right after the registry's anchor
    assert [r[0] for r in rows] == list(range(last_old + 1, rows[-1][0] + 1))
    with sqlite3.connect(registry.db_path) as db:
        refused = db.execute("SELECT COUNT(*) FROM audit_log"
                             " WHERE action = 'kiosk_audit.rejected'").fetchone()[0]
    assert refused == 0
    at_registry, at_kiosk = verified_on_both_ends(k, registry, capsys)
    assert f"{len(rows)} entries" in at_registry and "intact" in at_kiosk
    assert not [r for r in held(registry) if r[0] <= last_old]
