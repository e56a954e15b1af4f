"""Effect handlers: each effect a session asks for becomes one store transaction.

The rules (what an effect does to compartments and orders) are the pure
functions of `kiosk.domain.records`; this module only reads what they need
and writes the `Change` they return. The journal, the outbox and the unlock
intents are written in the same transaction as the compartment and order
they describe, so a crash never separates a change from its report.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from kiosk.domain.effects import Effect
from kiosk.domain.records import Change, apply_effect
from kiosk.store import KioskStore
from kiosk.store.faults import fault_point


def persist(store: KioskStore, tx: sqlite3.Connection, change: Change, now: datetime) -> None:
    """Writes one `Change` inside the caller's transaction."""
    for compartment in change.compartments:
        store.save_compartment(tx, compartment)
    for order in change.orders:
        store.save_order(tx, order)
    for kind, detail in change.journal:
        store.journal(tx, now, kind, **detail)
    for event in change.events:
        store.enqueue(tx, event)
    for finished in change.finished:
        store.finish_intents(tx, finished.compartment, finished.purposes)


def record_change(store: KioskStore, change: Change, now: datetime, point: str) -> bool:
    """One transaction for one change; False if there was nothing to store."""
    if change.empty:
        return False
    with store.transaction() as tx:
        persist(store, tx, change, now)
        fault_point(point)
    fault_point(point + ":committed")
    return True


def record_effect(store: KioskStore, effect: Effect, now: datetime) -> bool:
    """Carries out one effect that needs no hardware; False if it changed nothing."""
    with store.transaction() as tx:
        change = apply_effect(effect, store.compartment, store.order, now)
        if change.empty:
            return False
        persist(store, tx, change, now)
        fault_point(type(effect).__name__)
    fault_point(type(effect).__name__ + ":committed")
    return True
