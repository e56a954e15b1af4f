"""The retention rules, directly and through `kiosk-registry purge`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from registry.cli import main
from registry.notifier import DirectoryNotifier
from registry.retention import PURGED_UNTIL_KEY, RetentionPolicy, contact_due, purge, record_due
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


class ForgetfulNotifier(DirectoryNotifier):
    """The real directory notifier that also remembers which orders it was told to forget."""

    def __init__(self, directory) -> None:
        super().__init__(directory)
        self.forgotten: list[str] = []

    def forget(self, reference: str) -> bool:
        self.forgotten.append(reference)
        return super().forget(reference)


def test_a_purge_looks_only_at_orders_that_fell_due_since_the_last_one(registry, create_order,
                                                                       tmp_path):
    # Each purge (it runs after every order that ends) used to read every ended
    # order and forget each one's notices again: a million times per handover
    # on a registry with a million historic orders.
    historic = [create_order(contact="old@example.org").order.reference for _ in range(3)]
    for reference in historic:
        registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference),
                                          timeout=5)
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    registry.sql("UPDATE orders SET end_time = ?", yesterday)
    # As on a database that has never been purged (the server purged at its start).
    registry.sql("DELETE FROM meta WHERE key = ?", PURGED_UNTIL_KEY)
    notifier = ForgetfulNotifier(tmp_path / "notices")
    db = registry.server.db
    first = purge(db, notifier, RetentionPolicy())
    assert sorted(notifier.forgotten) == sorted(historic)  # within the first look back
    assert first.orders_deleted == 0

    fresh = create_order(contact="new@example.org").order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=fresh), timeout=5)
    notifier.forgotten.clear()
    purge(db, notifier, RetentionPolicy())
    assert notifier.forgotten == [fresh]  # not the three again

    # Records due are found however old they are, and their notices go too.
    registry.sql("UPDATE orders SET end_time = ? WHERE reference != ?",
                 (datetime.now(timezone.utc) - timedelta(days=400)).isoformat(), fresh)
    notifier.forgotten.clear()
    report = purge(db, notifier, RetentionPolicy(record_days=90))
    assert report.orders_deleted == 3 and set(historic) <= set(notifier.forgotten)
    assert [r["reference"] for r in registry.sql("SELECT reference FROM orders")] == [fresh]
