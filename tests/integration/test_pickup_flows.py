"""End to end: real registry on loopback, real kiosk core and uplink, simulated hardware."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

from kiosk.domain.compartment import CompartmentState
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import StaffState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for


def in_the_box(registry, k):
    """A new order deposited at kiosk ``k`` and known as such to the registry:
    (the creation's response with code and QR, the compartment)."""
    created = registry.create_order()
    number = k.deposit(created.order.reference)
    wait_for(lambda: registry.status(created.order.reference) == pb.ORDER_STATUS_DEPOSITED)
    return created, number


def test_deposit_then_pickup(registry, make_kiosk):
    k = make_kiosk()
    created = registry.create_order(kind=pb.DOCUMENT_KIND_ID_CARD, contact="c@example.org")
    ref = created.order.reference

    number = k.deposit(ref)
    assert k.store.compartment(number).state is CompartmentState.OCCUPIED
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_DEPOSITED, what="deposit at the registry")
    assert registry.order(ref).compartment_number == number
    notice = wait_for(lambda: (registry.notify_dir / f"{ref}.txt").exists() and registry.notify_dir / f"{ref}.txt")
    assert created.pickup_code in notice.read_text(encoding="utf-8")

    # The citizen types the code (lower case, without dashes) instead of scanning.
    view = k.core.submit_code(created.pickup_code.replace("-", "").lower())
    assert view.pickup_state is PickupState.AWAITING_PIN
    view = k.core.submit_pin("482915")
    assert view.pickup_state is PickupState.AWAITING_PIN_LETTER  # ID card: PAuswV s.17
    view = k.core.confirm_pin_letter(True)
    assert view.pickup_state is PickupState.DOOR_OPEN
    assert view.pickup_compartment == number
    k.bank.close_door(number)
    assert k.core.view().pickup_state is PickupState.DONE
    assert k.store.compartment(number).state is CompartmentState.FREE
    # The indicator followed along: attention during input, then the open door.
    signals = k.kiosk.hardware.indicator.signals()
    assert "door_open" in signals and signals.index("attention") < signals.index("door_open")

    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_COLLECTED, what="collected at the registry")
    collected = [e for e in registry.events() if e[1] == "EVENT_TYPE_ORDER_COLLECTED"]
    assert len(collected) == 1
    # Once the registry confirms the handover, the kiosk forgets the order.
    wait_for(lambda: k.store.order(ref) is None, what="the kiosk to drop the collected order")

    # The same code never opens a door again.
    unlocks_before = len(k.bank.unlock_log)
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.UNKNOWN_CODE
    assert len(k.bank.unlock_log) == unlocks_before


def test_wrong_pins_lock_the_order(registry, make_kiosk):
    k = make_kiosk()
    created = registry.create_order()
    ref = created.order.reference
    k.deposit(ref)
    unlocks_after_deposit = len(k.bank.unlock_log)

    view = k.core.submit_code(created.qr_payload)
    assert view.pickup_state is PickupState.AWAITING_PIN
    seen_attempts = []
    for _ in range(5):
        k.clock.advance(timedelta(minutes=6))  # stay clear of the per-kiosk backoff
        view = k.core.submit_pin("000000")
        seen_attempts.append(view.attempts_left)
    assert seen_attempts == [4, 3, 2, 1, 0]
    assert view.pickup_state is PickupState.LOCKED

    # Even the right PIN no longer helps.
    k.core.cancel()
    k.clock.advance(timedelta(minutes=30))
    view = k.core.submit_code(created.qr_payload)
    assert view.pickup_state is PickupState.LOCKED
    assert len(k.bank.unlock_log) == unlocks_after_deposit
    wait_for(lambda: registry.order(ref).locked, what="the registry to mark the order locked")


def test_expiry_and_removal(registry, make_kiosk):
    k = make_kiosk()
    created = registry.create_order(size=pb.COMPARTMENT_SIZE_M)
    ref = created.order.reference
    number = k.deposit(ref)

    k.clock.advance(timedelta(days=14, minutes=1))
    k.core.tick()
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_EXPIRED, what="expiry at the registry")
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.EXPIRED
    k.core.cancel()

    k.staff_login()
    view = k.core.start_removal()
    assert view.staff_state is StaffState.REMOVAL_DOOR_OPEN
    assert view.staff_compartment == number
    k.bank.close_door(number)
    view = k.core.view()
    assert view.staff_state is StaffState.MENU
    assert "1 document" in view.staff_message
    assert k.store.compartment(number).state is CompartmentState.FREE
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_REMOVED, what="removal at the registry")


def test_cancelled_order_is_removed_not_handed_out(registry, make_kiosk):
    k = make_kiosk()
    created, number = in_the_box(registry, k)
    ref = created.order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=ref, reason="wrong document"))
    wait_for(lambda: k.store.order(ref).status.value == "cancelled", what="the cancellation on the kiosk")

    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.NOT_AVAILABLE
    k.core.cancel()
    k.staff_login()
    view = k.core.start_removal()
    assert view.staff_compartment == number


def test_a_reissued_code_replaces_the_old_one_at_the_kiosk_after_the_deposit(registry, make_kiosk):
    # The letter got lost after the document was put in the box: the office
    # reissues, and from the next sync on only the new code and PIN open it.
    k = make_kiosk()
    created, number = in_the_box(registry, k)
    ref = created.order.reference
    old_lookup = k.store.order(ref).code_lookup
    reissued = registry.office.ReissuePickupCode(
        pb.ReissuePickupCodeRequest(reference=ref, reason="letter lost"), timeout=10)
    wait_for(lambda: k.store.order(ref).code_lookup != old_lookup,
             what="the new code's hashes on the kiosk")

    unlocks_before = len(k.bank.unlock_log)
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.UNKNOWN_CODE  # the old code opens nothing
    assert len(k.bank.unlock_log) == unlocks_before
    k.core.cancel()
    k.clock.advance(timedelta(minutes=6))
    view = k.pickup(reissued.qr_payload, reissued.pin)  # PIN letter confirmed on the way
    assert view.pickup_state is PickupState.DOOR_OPEN and view.pickup_compartment == number


def test_an_extended_deadline_keeps_the_document_collectable_at_the_kiosk(registry, make_kiosk):
    from common.convert import to_timestamp

    k = make_kiosk()
    created, number = in_the_box(registry, k)
    ref = created.order.reference
    first = k.store.order(ref).pickup_deadline
    later = first + timedelta(days=7)
    registry.office.ExtendPickupDeadline(pb.ExtendPickupDeadlineRequest(
        reference=ref, pickup_deadline=to_timestamp(later), reason="holiday"), timeout=10)
    wait_for(lambda: k.store.order(ref).pickup_deadline == later, what="the new deadline on the kiosk")
    k.clock.advance(timedelta(days=14, minutes=1))  # past the first deadline, not the new one
    k.core.tick()
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.DOOR_OPEN and view.pickup_compartment == number


def test_low_compartment_for_accessible_order(registry, make_kiosk):
    k = make_kiosk()
    created = registry.create_order(needs_low_compartment=True)
    number = k.deposit(created.order.reference)
    assert k.store.compartment(number).is_low


def test_remote_open_command_reaches_the_kiosk(registry, make_kiosk):
    k = make_kiosk()
    registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1",
        command=pb.RemoteCommand(type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=3,
                                 reason="inspection", requested_by="office-admin")))
    wait_for(lambda: any(c.compartment == 3 for c in k.bank.unlock_log), what="the remote unlock")
    wait_for(lambda: any(e[1] == "EVENT_TYPE_COMPARTMENT_SERVICE_OPENED" for e in registry.events()),
             what="the audit event at the registry")
    wait_for(lambda: registry.unacknowledged_commands() == 0, what="the kiosk to acknowledge the command")

    # Pretend the acknowledgement got lost and the stream broke: the registry
    # sends the command again, and the kiosk must not open the door twice.
    with sqlite3.connect(registry.db_path) as db:
        db.execute("UPDATE commands SET delivered_at = NULL WHERE type = 'COMMAND_TYPE_OPEN_COMPARTMENT'")
    k.kiosk.uplink.client.cancel_commands()
    wait_for(lambda: registry.unacknowledged_commands() == 0, what="the repeated command to be acknowledged")
    assert [c.compartment for c in k.bank.unlock_log].count(3) == 1


def test_forced_door_raises_alarm_and_takes_compartment_out_of_service(registry, make_kiosk, caplog):
    k = make_kiosk()
    created = registry.create_order()
    number = k.deposit(created.order.reference)
    with caplog.at_level(logging.WARNING, logger="kiosk.core"):
        k.bank.force_door(number)
        wait_for(lambda: k.store.compartment(number).state is CompartmentState.OUT_OF_SERVICE)
    assert f"compartment {number}: door forced open" in caplog.text
    wait_for(lambda: any(e[1] == "EVENT_TYPE_DOOR_FORCED" for e in registry.events()), what="forced-door alarm")


def test_a_second_barcode_scanner_feeds_staff_deposits(registry, make_kiosk):
    k = make_kiosk(hardware__barcode_scanner__driver="simulated")
    wedge = k.kiosk.hardware.barcode_scanner
    assert wedge is not None and wedge is not k.scanner
    created = registry.create_order()
    ref = created.order.reference
    k.synced(ref)
    k.staff_login()
    k.core.start_deposit()
    assert not wedge.show(ref), "off until a scan screen is shown"
    k.core.scan_screen(True)
    assert wedge.show(ref.encode())
    view = k.core.view()
    assert view.staff_state is StaffState.DEPOSIT_DOOR_OPEN, view.staff_error
    k.core.scan_screen(False)
    assert not wedge.show(ref), "stopped with the scan screen"


def test_an_order_returned_to_the_counter_no_longer_opens_anything(registry, make_kiosk):
    # Never deposited: the citizen came to the counter first.
    k = make_kiosk()
    created = registry.create_order()
    ref = created.order.reference
    k.synced(ref)
    registry.office.MarkReturnedToCounter(pb.MarkReturnedToCounterRequest(
        reference=ref, reason="handed over at the counter"), timeout=10)
    wait_for(lambda: k.store.order(ref) is None, what="the kiosk to drop the returned order")
    unlocks_before = len(k.bank.unlock_log)
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.UNKNOWN_CODE
    assert len(k.bank.unlock_log) == unlocks_before


def test_a_document_in_the_box_is_removed_before_it_goes_back_to_the_counter(registry,
                                                                           make_kiosk):
    import grpc

    from registry.errors import error_reason

    k = make_kiosk()
    created, number = in_the_box(registry, k)
    ref = created.order.reference
    try:
        registry.office.MarkReturnedToCounter(pb.MarkReturnedToCounterRequest(reference=ref),
                                              timeout=10)
        raise AssertionError("a document in the box was marked returned")
    except grpc.RpcError as error:
        assert error_reason(error) == "ORDER_IN_BOX"
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=ref), timeout=10)
    wait_for(lambda: k.store.order(ref).status.value == "cancelled", what="the cancellation")
    k.staff_login()
    assert k.core.start_removal().staff_compartment == number
    k.bank.close_door(number)
    k.core.logout()
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_REMOVED, what="the removal")
    registry.office.MarkReturnedToCounter(pb.MarkReturnedToCounterRequest(reference=ref),
                                          timeout=10)
    assert registry.status(ref) == pb.ORDER_STATUS_RETURNED_TO_COUNTER
    wait_for(lambda: k.store.order(ref) is None, what="the kiosk to forget the order")
