"""The retention rules, directly and through `kiosk-registry purge`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from registry.cli import main
from registry.retention import RetentionPolicy, contact_due, record_due
from pickupbox.registry.v1 import registry_pb2 as pb

ENDED = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_rules():
    default = RetentionPolicy()
    assert contact_due(ENDED, default, ENDED)
    grace = RetentionPolicy(contact_grace=timedelta(days=2))
    assert not contact_due(ENDED, grace, ENDED + timedelta(days=1))
    assert contact_due(ENDED, grace, ENDED + timedelta(days=2))
    assert not record_due(ENDED, default, ENDED + timedelta(days=89))
    assert record_due(ENDED, default, ENDED + timedelta(days=90))
    assert record_due(ENDED, RetentionPolicy(record_days=0), ENDED)


def test_cancelled_order_loses_its_contact_at_once(registry, create_order):
    reference = create_order(contact="c@example.org").order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference), timeout=5)
    row = registry.sql("SELECT contact, end_time FROM orders WHERE reference = ?", reference)[0]
    assert row["contact"] == "" and row["end_time"]


def test_purge_command_deletes_ended_orders(registry, create_order, capsys):
    keep = create_order(contact="keep@example.org").order.reference
    gone = create_order().order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=gone), timeout=5)
    assert main(["purge", "--db", registry.db_target, "--record-days", "0",
                 "--notify-dir", str(registry.notifier.directory)]) == 0
    assert "1 orders deleted" in capsys.readouterr().out
    assert [r["reference"] for r in registry.sql("SELECT reference FROM orders")] == [keep]
    assert registry.sql("SELECT contact FROM orders")[0]["contact"] == "keep@example.org"
    assert main(["purge", "--db", registry.db_target, "--record-days", "-1"]) == 1
