"""The sync's rule for a reissued code: a document in the box takes the
registry's new hashes (and a fresh count of wrong PINs), nothing else."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from kiosk.uplink.sync import office_changes, reissued, with_new_credentials

IN_BOX = PickupOrder("BB-1", DocumentKind.ID_CARD, OrderStatus.DEPOSITED, code_lookup=b"old",
                     pin_verifier="v-old", compartment_number=4, failed_pin_attempts=3,
                     locked=True, pickup_deadline=datetime(2026, 12, 16, tzinfo=timezone.utc))
NEW = replace(IN_BOX, code_lookup=b"new", pin_verifier="v-new", compartment_number=None,
              failed_pin_attempts=0, locked=False, pickup_deadline=None)


def test_new_hashes_for_a_document_in_the_box_are_a_reissue():
    assert reissued(IN_BOX, NEW)
    expired = replace(IN_BOX, status=OrderStatus.EXPIRED)
    assert reissued(expired, replace(NEW, status=OrderStatus.EXPIRED))


def test_the_same_hashes_another_status_or_empty_hashes_are_not():
    assert not reissued(IN_BOX, replace(NEW, code_lookup=b"old", pin_verifier="v-old"))
    assert not reissued(IN_BOX, replace(NEW, status=OrderStatus.EXPIRED))
    assert not reissued(IN_BOX, replace(NEW, code_lookup=b""))
    assert not reissued(IN_BOX, replace(NEW, pin_verifier=""))
    announced = replace(IN_BOX, status=OrderStatus.ANNOUNCED)
    assert not reissued(announced, replace(NEW, status=OrderStatus.ANNOUNCED))
    collected = replace(IN_BOX, status=OrderStatus.COLLECTED)
    assert not reissued(collected, replace(NEW, status=OrderStatus.COLLECTED))


def test_only_the_credentials_change_and_the_lock_is_lifted():
    merged = with_new_credentials(IN_BOX, NEW)
    assert (merged.code_lookup, merged.pin_verifier) == (b"new", "v-new")
    assert (merged.failed_pin_attempts, merged.locked) == (0, False)
    # Where the document is and until when: the kiosk's own record.
    assert merged.compartment_number == 4 and merged.pickup_deadline == IN_BOX.pickup_deadline
    assert merged.status is OrderStatus.DEPOSITED


def test_a_later_deadline_from_the_office_is_taken_an_earlier_one_never():
    later = replace(IN_BOX, pickup_deadline=datetime(2027, 1, 10, tzinfo=timezone.utc))
    assert office_changes(IN_BOX, later).pickup_deadline == later.pickup_deadline
    earlier = replace(IN_BOX, pickup_deadline=datetime(2026, 12, 10, tzinfo=timezone.utc))
    assert office_changes(IN_BOX, earlier) == IN_BOX
    # Both at once: a reissue with an extension.
    both = replace(NEW, pickup_deadline=later.pickup_deadline)
    merged = office_changes(IN_BOX, both)
    assert merged.code_lookup == b"new" and merged.pickup_deadline == later.pickup_deadline
    # An expired document is not made collectable again by the kiosk on its own.
    expired = replace(IN_BOX, status=OrderStatus.EXPIRED)
    assert office_changes(expired, replace(later, status=OrderStatus.EXPIRED)) == expired


def _merged(tmp_path, local: PickupOrder, remote_status: OrderStatus) -> PickupOrder | None:
    """``local`` in a real kiosk store, then a sync record of it with ``remote_status``."""
    from kiosk.store import KioskStore
    from kiosk.uplink.sync import merge_orders

    store = KioskStore(tmp_path / f"{local.status.value}-{remote_status.value}.sqlite3")
    try:
        with store.transaction() as tx:
            store.save_order(tx, local)
        merge_orders(store, [replace(local, status=remote_status)])
        return store.order(local.reference)
    finally:
        store.close()


def test_an_order_returned_to_the_counter_leaves_the_kiosk(tmp_path):
    returned = OrderStatus.RETURNED_TO_COUNTER
    announced = replace(IN_BOX, status=OrderStatus.ANNOUNCED, compartment_number=None)
    assert _merged(tmp_path, announced, returned) is None  # its code opens nothing here
    removed = replace(IN_BOX, status=OrderStatus.REMOVED, compartment_number=None)
    assert _merged(tmp_path, removed, returned) is None
    # A document the kiosk holds (a deposit the registry had not heard of):
    # never handed out, kept for staff to remove, like a cancelled one.
    held = _merged(tmp_path, IN_BOX, returned)
    assert held.status is OrderStatus.CANCELLED and held.compartment_number == 4
