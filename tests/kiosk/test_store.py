"""The kiosk store: durability settings and the constraints that protect documents."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.compartment import Compartment, CompartmentState, Size
from kiosk.domain.events import EventType, KioskEvent
from kiosk.store import KioskStore, StoreError


@pytest.fixture
def store(tmp_path):
    s = KioskStore(tmp_path / "kiosk.sqlite3")
    s.install_layout([Compartment(1, Size.S, 1, 1), Compartment(2, Size.M, 1, 2)])
    yield s
    s.close()


def test_wal_mode_and_full_sync(store):
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_process_on_the_same_store_is_refused(store, tmp_path):
    with pytest.raises(StoreError, match="in use by another kiosk process"):
        KioskStore(tmp_path / "kiosk.sqlite3")


def test_a_document_cannot_be_recorded_in_two_compartments(store):
    with store.transaction() as tx:
        store.save_compartment(tx, store.compartment(1).with_state(CompartmentState.OCCUPIED, "PO-1"))
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as tx:
            store.save_compartment(tx, store.compartment(2).with_state(CompartmentState.OCCUPIED, "PO-1"))
    assert store.compartment(2).state is CompartmentState.FREE  # rolled back whole


def test_outbox_survives_reopen_and_keeps_order(store, tmp_path):
    now = datetime.now(timezone.utc)
    events = [KioskEvent(EventType.ORDER_DEPOSITED, now, f"PO-{i}", i) for i in range(3)]
    with store.transaction() as tx:
        for event in events:
            store.enqueue(tx, event)
    store.close()
    reopened = KioskStore(tmp_path / "kiosk.sqlite3")
    try:
        due = reopened.outbox_due(now)
        assert [e.event_id for e, _ in due] == [e.event_id for e in events]
        reopened.outbox_acknowledge([events[0].event_id])
        assert reopened.outbox_backlog() == 2
    finally:
        reopened.close()


def test_relayout_keeps_compartment_state(store):
    with store.transaction() as tx:
        store.save_compartment(tx, store.compartment(1).with_state(CompartmentState.OCCUPIED, "PO-1"))
    store.install_layout([Compartment(1, Size.M, 1, 1), Compartment(2, Size.M, 1, 2)])
    c = store.compartment(1)
    assert (c.size, c.state, c.order_reference) == (Size.M, CompartmentState.OCCUPIED, "PO-1")


def test_outbox_is_first_in_first_out_even_across_retries(store):
    now = datetime.now(timezone.utc)
    deposit = KioskEvent(EventType.ORDER_DEPOSITED, now, "PO-1", 1)
    with store.transaction() as tx:
        store.enqueue(tx, deposit)
    store.outbox_postpone([deposit.event_id], now + timedelta(minutes=1))
    collected = KioskEvent(EventType.ORDER_COLLECTED, now, "PO-1", 1)
    with store.transaction() as tx:
        store.enqueue(tx, collected)
    # The handover must not overtake the deposit that waits for its retry.
    assert store.outbox_due(now) == []
    due = store.outbox_due(now + timedelta(minutes=1))
    assert [e.event_id for e, _ in due] == [deposit.event_id, collected.event_id]
