"""The kiosk store: durability settings and the constraints that protect documents."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.compartment import Compartment, CompartmentState, Size
from kiosk.domain.effects import UnlockPurpose
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.pickup_order import Uncertainty
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


def test_a_store_from_before_the_uncertain_column_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the pickup_order table as the first release made it
        db.execute("CREATE TABLE pickup_order (reference TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                   " status TEXT NOT NULL, size TEXT NOT NULL, needs_low INTEGER NOT NULL,"
                   " requires_pin_letter INTEGER NOT NULL, code_lookup BLOB NOT NULL, pin_verifier TEXT NOT NULL,"
                   " compartment_number INTEGER, pickup_deadline TEXT,"
                   " failed_pin_attempts INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0)")
        db.execute("INSERT INTO pickup_order VALUES ('PO-1','passport','announced','S',0,0,x'00','v',NULL,NULL,0,0)")
    store = KioskStore(path)
    assert store.order("PO-1").uncertain is Uncertainty.NONE
    store.close()


def test_unlock_intents_survive_a_reopen_until_finished(tmp_path):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    with store.transaction() as tx:
        store.add_intent(tx, UnlockIntent(4, UnlockPurpose.HANDOVER, "PO-1", ("anna",), True, at))
        store.add_intent(tx, UnlockIntent(5, UnlockPurpose.SERVICE, "", ("anna",), False, at))
    store.close()
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    intents = store.open_intents()
    assert [(i.compartment, i.purpose, i.order_reference, i.staff_ids, i.pin_letter_confirmed, i.created_at)
            for i in intents] == [(4, UnlockPurpose.HANDOVER, "PO-1", ("anna",), True, at),
                                  (5, UnlockPurpose.SERVICE, "", ("anna",), False, at)]
    with store.transaction() as tx:
        store.finish_intents(tx, 5, (UnlockPurpose.HANDOVER,))  # not its purpose: stays
        store.finish_intents(tx, 4)
    assert [i.compartment for i in store.open_intents()] == [5]
    store.close()
