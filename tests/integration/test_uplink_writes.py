"""The uplink writes the kiosk store only through the core thread (issue 8, item 3).

A real kiosk (core thread, store, uplink, gRPC client) against the real
registry on loopback. The store's write check is switched on with the core
thread as the only writer; then everything the uplink writes happens: staff
and order sync, outbox acknowledgements, a cancelled order merged away, an
order dropped after the registry confirmed its handover, a remote command
marked handled. Any transaction begun on another thread is listed.
"""

from __future__ import annotations

import threading

from kiosk.domain.pickup_session import PickupState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for


def test_the_check_sees_a_write_from_another_thread(registry, make_kiosk):
    k = make_kiosk()
    k.store.writer = k.core.thread
    with k.store.transaction() as tx:
        k.store.set_meta(tx, "written_by", "the test thread")
    assert len(k.store.foreign_writes) == 1
    assert k.store.foreign_writes[0].startswith(threading.current_thread().name)
    assert "test_the_check_sees_a_write_from_another_thread" in k.store.foreign_writes[0]


def test_every_uplink_write_runs_on_the_core_thread(registry, make_kiosk):
    k = make_kiosk()
    k.store.writer = k.core.thread
    kept = registry.create_order(kind=pb.DOCUMENT_KIND_PASSPORT)
    cancelled = registry.create_order(kind=pb.DOCUMENT_KIND_PASSPORT)
    k.synced(cancelled.order.reference)

    # A deposit and a pickup: their events are reported and acknowledged.
    number = k.deposit(kept.order.reference)
    wait_for(lambda: registry.status(kept.order.reference) == pb.ORDER_STATUS_DEPOSITED,
             what="the deposit at the registry")
    view = k.pickup(kept.qr_payload, "482915")
    assert view.pickup_state is PickupState.DOOR_OPEN
    k.bank.close_door(number)
    # COLLECTED confirmed by the registry: the sync deletes the order.
    wait_for(lambda: k.store.order(kept.order.reference) is None,
             what="the kiosk to drop the collected order")
    wait_for(lambda: k.store.outbox_backlog() == 0, what="the outbox to be acknowledged")

    # An announced order cancelled at the office: the sync deletes it.
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(
        reference=cancelled.order.reference, reason="wrong document"))
    k.kiosk.uplink.request_sync()
    wait_for(lambda: k.store.order(cancelled.order.reference) is None,
             what="the cancelled order to leave the kiosk")

    # A remote command, marked handled before it runs.
    registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC,
                                                     reason="check", requested_by="office")))
    wait_for(lambda: registry.unacknowledged_commands() == 0, what="the command to be handled")

    assert k.store.foreign_writes == []
    # The check was on the whole time: these writes did happen.
    assert k.store.meta("sync_cursor")
    handled = k.store._query("SELECT COUNT(*) FROM handled_command")[0][0]
    assert handled >= 1
