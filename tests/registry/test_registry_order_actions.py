"""The office's actions on an order and on a locked staff card, over real gRPC
(SQLite and PostgreSQL): returned to the counter, the reminder again, a card
unlocked; and the pure rules that decide when each is allowed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.convert import to_timestamp
from kiosk.domain.pickup_order import OrderStatus
from registry.errors import error_reason
from registry.office_service import counter_return_refusal, reminder_refusal
from pickupbox.registry.v1 import registry_pb2 as pb

S = OrderStatus


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=5)
    return caught.value


def report(registry, type_: int, reference: str, **fields) -> None:
    event = pb.KioskEvent(type=type_, order_reference=reference, event_id=str(uuid.uuid4()),
                          occur_time=to_timestamp(datetime.now(timezone.utc)), **fields)
    registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]),
                                timeout=5)


def deposit(registry, reference: str) -> None:
    report(registry, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2,
           pickup_deadline=to_timestamp(datetime.now(timezone.utc) + timedelta(days=14)))


def mark_returned(registry, reference: str, **fields) -> pb.MarkReturnedToCounterResponse:
    return registry.office.MarkReturnedToCounter(
        pb.MarkReturnedToCounterRequest(reference=reference, **fields), timeout=5)


def synced(registry, cursor: str = "") -> pb.SyncChangesResponse:
    return registry.kiosk.SyncChanges(pb.SyncChangesRequest(kiosk_id="kiosk-1", cursor=cursor),
                                      timeout=5)


# ------------------------------------------------------------------ rules

@pytest.mark.parametrize("status, deposited, reason", [
    (S.ANNOUNCED, False, None),
    (S.REMOVED, True, None),
    (S.DEPOSITED, True, "ORDER_IN_BOX"),
    (S.EXPIRED, True, "ORDER_IN_BOX"),
    (S.CANCELLED, True, "ORDER_IN_BOX"),  # cancelled after the deposit: still in the box
    (S.CANCELLED, False, "ORDER_NOT_RETURNABLE"),
    (S.COLLECTED, True, "ORDER_NOT_RETURNABLE"),
    (S.RETURNED_TO_COUNTER, False, "ORDER_NOT_RETURNABLE"),
])
def test_which_orders_may_go_back_to_the_counter(status, deposited, reason):
    refusal = counter_return_refusal(status, deposited)
    assert (refusal[0] if refusal else None) == reason
    if reason == "ORDER_IN_BOX":
        assert "removed at the box first" in refusal[1]


def test_only_a_document_waiting_in_the_box_with_a_contact_gets_a_reminder():
    assert reminder_refusal(S.DEPOSITED, "email") is None
    assert reminder_refusal(S.DEPOSITED, "sms") is None
    assert reminder_refusal(S.DEPOSITED, "")[0] == "ORDER_HAS_NO_CONTACT"
    for status in set(S) - {S.DEPOSITED}:
        assert reminder_refusal(status, "email")[0] == "ORDER_NOT_WAITING"


# --------------------------------------------------- returned to the counter

def test_an_announced_order_returned_to_the_counter_ends_everywhere(registry, register_kiosk,
                                                                    create_order):
    register_kiosk()
    reference = create_order(contact="c@example.org").order.reference
    cursor = synced(registry).next_cursor
    request_id = str(uuid.uuid4())
    done = mark_returned(registry, reference, request_id=request_id,
                         reason="citizen came to the counter")
    assert done.order.status == pb.ORDER_STATUS_RETURNED_TO_COUNTER
    assert mark_returned(registry, reference, request_id=request_id) == done  # a retry
    again = refused(registry.office.MarkReturnedToCounter,
                    pb.MarkReturnedToCounterRequest(reference=reference))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(again) == "ORDER_NOT_RETURNABLE"

    # Ended: the retention clock runs and the contact is wiped (no grace by default).
    row = registry.sql("SELECT status, contact, end_time FROM orders WHERE reference = ?",
                       reference)[0]
    assert (row["status"], row["contact"]) == ("returned_to_counter", "") and row["end_time"]
    # The kiosk learns it with its next sync, like a cancellation.
    record = next(o for o in synced(registry, cursor).orders if o.reference == reference)
    assert record.status == pb.ORDER_STATUS_RETURNED_TO_COUNTER
    (audited,) = registry.sql(
        "SELECT actor, detail FROM audit_log WHERE action = 'order.returned_to_counter'")
    detail = json.loads(audited["detail"])
    assert detail == {"reason": "citizen came to the counter", "was": "announced"}


def test_a_document_in_the_box_must_be_removed_first(registry, register_kiosk, create_order):
    register_kiosk()
    reference = create_order().order.reference
    deposit(registry, reference)
    error = refused(registry.office.MarkReturnedToCounter,
                    pb.MarkReturnedToCounterRequest(reference=reference))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "ORDER_IN_BOX"
    assert "removed at the box first" in error.details()
    assert not registry.sql("SELECT * FROM audit_log WHERE action = 'order.returned_to_counter'")

    report(registry, pb.EVENT_TYPE_ORDER_EXPIRED, reference, compartment_number=2)
    assert error_reason(refused(registry.office.MarkReturnedToCounter,
                                pb.MarkReturnedToCounterRequest(reference=reference))) \
        == "ORDER_IN_BOX"
    report(registry, pb.EVENT_TYPE_ORDER_REMOVED, reference, compartment_number=2)
    removed_at = registry.sql("SELECT end_time FROM orders WHERE reference = ?",
                              reference)[0]["end_time"]
    done = mark_returned(registry, reference, reason="collected at the counter")
    assert done.order.status == pb.ORDER_STATUS_RETURNED_TO_COUNTER
    # It went back to the counter when it was taken out: that day stays its end.
    assert registry.sql("SELECT end_time FROM orders WHERE reference = ?",
                        reference)[0]["end_time"] == removed_at


def test_a_deposit_reported_after_the_counter_return_asks_for_removal(registry, register_kiosk,
                                                                      create_order):
    # The kiosk was offline: it put the document in before it heard of the return.
    register_kiosk()
    reference = create_order().order.reference
    mark_returned(registry, reference)
    deposit(registry, reference)
    row = registry.sql("SELECT status, compartment_number FROM orders WHERE reference = ?",
                       reference)[0]
    assert (row["status"], row["compartment_number"]) == ("cancelled", 2)
    # A full sync hands it to the kiosk, which keeps refusing its code until removal.
    assert any(o.reference == reference and o.status == pb.ORDER_STATUS_CANCELLED
               for o in synced(registry).orders)


def test_a_counter_return_counts_in_the_report(registry, register_kiosk, create_order):
    from registry.reports import ReportConfig, build_report, load_facts

    register_kiosk()
    never_deposited = create_order().order.reference
    taken_out = create_order().order.reference
    deposit(registry, taken_out)
    report(registry, pb.EVENT_TYPE_ORDER_REMOVED, taken_out, compartment_number=2)
    mark_returned(registry, never_deposited)
    mark_returned(registry, taken_out)
    with registry.server.db.transaction() as tx:
        orders, alarms = load_facts(tx, None)
    figures = build_report(orders, alarms, ReportConfig())
    assert figures.returns_to_counter == 2


# ------------------------------------------------------- unlock a staff card

def test_unlocking_a_card_raises_its_generation_in_the_staff_sync(registry, register_kiosk):
    register_kiosk()
    registry.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="anna", card_uid="04A1B2C3", pin="246810"), timeout=5)
    first = synced(registry)
    assert [(s.staff_id, s.unlock_generation) for s in first.staff] == [("anna", 0)]

    request = pb.UnlockStaffCardRequest(request_id=str(uuid.uuid4()), staff_id="anna",
                                        reason="identity checked")
    unlocked = registry.office.UnlockStaffCard(request, timeout=5)
    assert registry.office.UnlockStaffCard(request, timeout=5) == unlocked  # a retry
    assert unlocked.staff_member.HasField("card_unlock_time")
    later = synced(registry, first.next_cursor)
    assert [(s.staff_id, s.unlock_generation) for s in later.staff] == [("anna", 1)]
    registry.office.UnlockStaffCard(pb.UnlockStaffCardRequest(staff_id="anna"), timeout=5)
    assert [s.unlock_generation for s in synced(registry, later.next_cursor).staff] == [2]
    details = [json.loads(r["detail"]) for r in registry.sql(
        "SELECT detail FROM audit_log WHERE action = 'staff.card_unlocked' ORDER BY seq")]
    assert details == [{"reason": "identity checked", "generation": 1},
                       {"reason": "", "generation": 2}]
    listed = registry.office.ListStaffMembers(pb.ListStaffMembersRequest(), timeout=5)
    assert listed.staff_members[0].HasField("card_unlock_time")


def test_an_unknown_or_deactivated_member_is_not_unlocked(registry):
    error = refused(registry.office.UnlockStaffCard, pb.UnlockStaffCardRequest(staff_id="zed"))
    assert (error.code(), error_reason(error)) == (grpc.StatusCode.NOT_FOUND, "STAFF_NOT_FOUND")
    registry.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="bob", card_uid="04A1B2C4", pin="246810"), timeout=5)
    registry.office.DeactivateStaffMember(pb.DeactivateStaffMemberRequest(staff_id="bob"),
                                          timeout=5)
    error = refused(registry.office.UnlockStaffCard, pb.UnlockStaffCardRequest(staff_id="bob"))
    assert error_reason(error) == "STAFF_INACTIVE" and "register the card again" in error.details()


# ----------------------------------------------------- the reminder again

def test_no_reminder_without_the_messages_notifier_or_for_an_announced_order(registry,
                                                                            register_kiosk,
                                                                            create_order):
    register_kiosk()
    reference = create_order(contact="c@example.org").order.reference
    request = pb.ResendPickupReminderRequest(reference=reference)
    assert error_reason(refused(registry.office.ResendPickupReminder, request)) \
        == "ORDER_NOT_WAITING"
    deposit(registry, reference)
    # This registry only writes notice files (the directory notifier).
    error = refused(registry.office.ResendPickupReminder, request)
    assert error_reason(error) == "MESSAGES_NOT_CONFIGURED" and "print the letter" in error.details()
    silent = create_order().order.reference
    deposit(registry, silent)
    assert error_reason(refused(registry.office.ResendPickupReminder,
                                pb.ResendPickupReminderRequest(reference=silent))) \
        == "ORDER_HAS_NO_CONTACT"
