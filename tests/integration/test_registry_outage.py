"""The registry goes away during pickups and comes back: nothing lost, nothing doubled."""

from __future__ import annotations

from collections import Counter

from kiosk.domain.pickup_session import PickupState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for


def test_registry_restart_during_pickups_loses_and_duplicates_no_event(registry, make_kiosk):
    k = make_kiosk()
    orders = [registry.create_order(pin=f"{100000 + i}") for i in range(4)]
    for created in orders:
        k.deposit(created.order.reference)
    wait_for(lambda: all(registry.status(o.order.reference) == pb.ORDER_STATUS_DEPOSITED for o in orders))

    # Stop the registry; the kiosk keeps handing out from what it synced.
    registry.stop()
    for i, created in enumerate(orders[:2]):
        view = k.pickup(created.qr_payload, f"{100000 + i}")
        assert view.pickup_state is PickupState.DOOR_OPEN
        k.bank.close_door(view.pickup_compartment)
    wait_for(lambda: not k.kiosk.uplink.online, what="the kiosk to notice the outage")
    assert k.store.outbox_backlog() >= 2

    # Back again on the same port and database.
    registry.start()
    # One more pickup while the kiosk is reconnecting.
    view = k.pickup(orders[2].qr_payload, "100002")
    assert view.pickup_state is PickupState.DOOR_OPEN
    k.bank.close_door(view.pickup_compartment)
    # And a stop/start while its report may be in flight.
    registry.stop()
    registry.start()

    wait_for(lambda: k.store.outbox_backlog() == 0, timeout=20, what="the outbox to drain")
    for created in orders[:3]:
        assert registry.status(created.order.reference) == pb.ORDER_STATUS_COLLECTED
    assert registry.status(orders[3].order.reference) == pb.ORDER_STATUS_DEPOSITED

    reported = {entry[2]["event_id"] for entry in k.store.journal_entries("event")}
    at_registry = registry.events()
    assert {e[0] for e in at_registry} == reported  # nothing lost
    per_order = Counter((e[1], e[2]) for e in at_registry)
    for created in orders[:3]:
        ref = created.order.reference
        assert per_order[("EVENT_TYPE_ORDER_COLLECTED", ref)] == 1  # nothing doubled
        assert per_order[("EVENT_TYPE_ORDER_DEPOSITED", ref)] == 1
    # Notices of collected orders are removed (retention); the one still in
    # the box is there. (Exactly-once notices: test_registry_kiosk.)
    notices = sorted(p.name for p in registry.notify_dir.glob("*.txt"))
    assert notices == [f"{orders[3].order.reference}.txt"]
