"""Sync that scales: a full sync skips the history, incremental syncs are range queries.

Runs on SQLite and PostgreSQL (POSTGRES_MODULES). Historic orders are written
straight into the server's database (thousands of RPCs would only cost time);
everything the kiosk sees comes through the real SyncChanges.
"""

from __future__ import annotations

import secrets
import sqlite3

import pytest

from kiosk.domain.compartment import Size
from kiosk.domain.pickup_order import DocumentKind, OrderStatus
from registry import sync_cursor
from registry.database import OPEN_FOR_KIOSK, utcnow
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.registry.test_registry_kiosk import sync_all

S = OrderStatus
# How an order got where it is (each step is an update, a new change_seq).
PATHS = {
    "announced": [],
    "deposited": [S.DEPOSITED],
    "expired": [S.DEPOSITED, S.EXPIRED],
    "cancelled_in_box": [S.DEPOSITED, S.CANCELLED],
    "collected": [S.DEPOSITED, S.COLLECTED],
    "removed": [S.DEPOSITED, S.EXPIRED, S.REMOVED],
    "cancelled_early": [S.CANCELLED],
}
# What a kiosk that has seen nothing needs: documents in its box, or to come.
NEEDED = {"announced", "deposited", "expired", "cancelled_in_box"}


def seed(registry, kiosk_id: str, name: str, path_name: str) -> str:
    with registry.server.db.transaction() as tx:
        tx.insert_order(
            reference=name, kind=DocumentKind.ID_CARD, size=Size.S, needs_low_compartment=False,
            requires_pin_letter_confirmation=True, kiosk_id=kiosk_id,
            code_lookup=secrets.token_bytes(16), pin_verifier="v", pending_code="",
            contact="", create_time=utcnow(),
        )
        for status in PATHS[path_name]:
            changes = {"status": status}
            if status is S.DEPOSITED:
                changes.update(deposit_time=utcnow(), compartment_number=1)
            tx.update_order(name, **changes)
    return name


def order_refs(pages) -> list[str]:
    return [o.reference for p in pages for o in p.orders]


def test_a_full_sync_skips_history_and_misses_nothing(registry, register_kiosk):
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-2")
    registry.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="anna", card_uid="04A1B2C3", pin="123456"), timeout=5
    )
    needed = []
    for i in range(300):  # years of ended orders, with the open ones among them
        kind = "collected" if i % 3 else ("removed" if i % 2 else "cancelled_early")
        seed(registry, "kiosk-1", f"PO-OLD{i:04d}", kind)
        if i % 25 == 0:
            open_kind = sorted(NEEDED)[(i // 25) % len(NEEDED)]
            needed.append(seed(registry, "kiosk-1", f"PO-OPEN{i:04d}", open_kind))
        if i % 50 == 0:
            seed(registry, "kiosk-2", f"PO-OTHER{i:04d}", "announced")

    pages, cursor = sync_all(registry, "kiosk-1", page_size=5)

    assert sorted(order_refs(pages)) == sorted(needed)  # nothing historic, nothing missing
    assert len(pages) == 3  # 12 open orders and one staff member, 5 to a page
    assert [s.staff_id for p in pages for s in p.staff] == ["anna"]
    assert all(p.has_more for p in pages[:-1]) and not pages[-1].has_more
    # From here on the kiosk is incremental: an ended order now reaches it.
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=needed[0]),
                                      timeout=5)
    (page,), _ = sync_all(registry, "kiosk-1", cursor)
    assert [(o.reference, o.status) for o in page.orders] == [
        (needed[0], pb.ORDER_STATUS_CANCELLED)
    ]


def test_an_order_ending_between_full_sync_pages_still_reaches_the_kiosk(
    registry, register_kiosk
):
    register_kiosk("kiosk-1")
    first = seed(registry, "kiosk-1", "PO-FIRST", "announced")
    for i in range(20):
        seed(registry, "kiosk-1", f"PO-OLD{i:03d}", "collected")
        seed(registry, "kiosk-1", f"PO-OPEN{i:03d}", "announced")

    page = registry.kiosk.SyncChanges(
        pb.SyncChangesRequest(kiosk_id="kiosk-1", page_size=5), timeout=5
    )
    assert page.has_more and page.orders[0].reference == first
    # The office cancels an order the kiosk has just received as announced.
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=first), timeout=5)
    rest, cursor = sync_all(registry, "kiosk-1", page.next_cursor, page_size=5)

    delivered = [(o.reference, o.status) for p in [page, *rest] for o in p.orders]
    assert delivered[-1] == (first, pb.ORDER_STATUS_CANCELLED)
    assert not any(ref.startswith("PO-OLD") for ref, _ in delivered)
    assert sorted({ref for ref, _ in delivered}) == sorted(
        [first] + [f"PO-OPEN{i:03d}" for i in range(20)]
    )
    assert cursor.isdigit()  # back to a plain, incremental cursor


def test_cursors_round_trip_and_reject_what_was_not_issued():
    assert sync_cursor.parse("") == sync_cursor.Cursor(after=0, full=True)
    assert sync_cursor.parse("0") == sync_cursor.Cursor(after=0, full=True)
    assert sync_cursor.parse("17") == sync_cursor.Cursor(after=17)
    assert sync_cursor.parse(sync_cursor.next_cursor(5, 90)) == sync_cursor.Cursor(5, 90, True)
    assert sync_cursor.next_cursor(90, 90) == "90"  # past the snapshot: incremental again
    assert sync_cursor.next_cursor(7, None) == "7"
    for bad in ("abc", "-1", "1.5", "5f", "f5", "5f6f7", "1" * 21, "٣"):
        with pytest.raises(ValueError):
            sync_cursor.parse(bad)


def test_full_and_incremental_syncs_are_index_range_queries(tmp_path, registry_at):
    reg = registry_at(tmp_path / "r.sqlite3", tmp_path / "n")
    reg.close()
    with sqlite3.connect(tmp_path / "r.sqlite3") as db:
        full = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE kiosk_id = 'k' AND change_seq > 0"
            f" AND change_seq <= 9 AND {OPEN_FOR_KIOSK} ORDER BY change_seq LIMIT 5"
        ).fetchall()
        incremental = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE kiosk_id = 'k' AND change_seq > 0"
            " ORDER BY change_seq LIMIT 5"
        ).fetchall()
    assert "USING INDEX orders_open_by_kiosk (kiosk_id=? AND change_seq>? AND change_seq<?)" in str(full)
    assert "orders_by_kiosk_change (kiosk_id=? AND change_seq>?)" in str(incremental)
