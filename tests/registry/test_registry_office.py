"""OfficeService over real gRPC: orders, kiosks, commands, staff and errors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.credentials import normalize_code, parse_qr_payload
from registry.errors import ERROR_DOMAIN, error_info, error_reason
from pickupbox.registry.v1 import registry_pb2 as pb


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=5)
    return caught.value


def test_create_then_get_round_trip(registry, create_order):
    created = create_order(
        kind=pb.DOCUMENT_KIND_PASSPORT,
        size=pb.COMPARTMENT_SIZE_M,
        needs_low_compartment=True,
        contact="citizen@example.org",
    )
    order = created.order
    assert order.reference.startswith("PO-") and len(order.reference) == 11
    assert order.status == pb.ORDER_STATUS_ANNOUNCED
    assert order.kind == pb.DOCUMENT_KIND_PASSPORT
    assert order.size == pb.COMPARTMENT_SIZE_M
    assert order.needs_low_compartment
    assert not order.requires_pin_letter_confirmation  # passports have no eID PIN letter
    assert order.kiosk_id == "kiosk-1"  # nothing registered yet
    # The code, the QR payload and the generated PIN belong together.
    code = normalize_code(created.pickup_code)
    assert parse_qr_payload(created.qr_payload) == code
    assert created.pickup_code.count("-") == 2
    assert len(created.pin) == 6 and created.pin.isdigit()

    fetched = registry.office.GetPickupOrder(
        pb.GetPickupOrderRequest(reference=order.reference), timeout=5
    ).order
    assert fetched == order


def test_id_card_requires_pin_letter_confirmation(create_order):
    assert create_order(kind=pb.DOCUMENT_KIND_ID_CARD).order.requires_pin_letter_confirmation
    residence_permit = create_order(kind=pb.DOCUMENT_KIND_RESIDENCE_PERMIT).order
    assert residence_permit.requires_pin_letter_confirmation


def test_given_pin_is_not_echoed_and_size_defaults_to_s(create_order):
    created = create_order(reference="BB-2024-0001", pin="123456")
    assert created.order.reference == "BB-2024-0001"
    assert created.pin == ""
    assert created.order.size == pb.COMPARTMENT_SIZE_S


def test_default_kiosk_is_the_only_registered_one(register_kiosk, create_order):
    register_kiosk("box-rathaus")
    assert create_order().order.kiosk_id == "box-rathaus"


def test_several_kiosks_need_an_explicit_kiosk_id(registry, register_kiosk, create_order):
    register_kiosk("box-a")
    register_kiosk("box-b")
    error = rpc_error(
        registry.office.CreatePickupOrder,
        pb.CreatePickupOrderRequest(kind=pb.DOCUMENT_KIND_ID_CARD),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "kiosk_id" in error.details()
    assert create_order(kiosk_id="box-b").order.kiosk_id == "box-b"


def test_not_found_carries_error_info(registry):
    error = rpc_error(
        registry.office.GetPickupOrder, pb.GetPickupOrderRequest(reference="PO-MISSING1")
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "order PO-MISSING1 not found"
    info = error_info(error)
    assert info is not None
    assert info.domain == ERROR_DOMAIN
    assert info.reason == "ORDER_NOT_FOUND"
    assert info.metadata["reference"] == "PO-MISSING1"


def test_duplicate_reference_is_already_exists(registry, create_order):
    create_order(reference="BB-7")
    error = rpc_error(
        registry.office.CreatePickupOrder,
        pb.CreatePickupOrderRequest(reference="BB-7", kind=pb.DOCUMENT_KIND_ID_CARD),
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(error) == "ORDER_EXISTS"
    assert "BB-7" in error.details()


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "١٢٣٤٥٦"])
def test_bad_pin_is_invalid_argument_naming_the_field(registry, pin):
    error = rpc_error(
        registry.office.CreatePickupOrder,
        pb.CreatePickupOrderRequest(kind=pb.DOCUMENT_KIND_ID_CARD, pin=pin),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(error) == "INVALID_ARGUMENT"
    assert error.details().startswith("pin:")
    assert error_info(error).metadata["field"] == "pin"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "kind"),
        ({"kind": 99}, "kind"),
        ({"kind": pb.DOCUMENT_KIND_ID_CARD, "size": 42}, "size"),
        ({"kind": pb.DOCUMENT_KIND_ID_CARD, "reference": "../etc/passwd"}, "reference"),
        ({"kind": pb.DOCUMENT_KIND_ID_CARD, "kiosk_id": "a b"}, "kiosk_id"),
    ],
)
def test_invalid_create_requests_name_the_field(registry, fields, field):
    error = rpc_error(registry.office.CreatePickupOrder, pb.CreatePickupOrderRequest(**fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).metadata["field"] == field


def test_create_retry_returns_the_same_order_code_and_pin(registry, create_order):
    request_id = str(uuid.uuid4())
    first = create_order(request_id=request_id)
    again = create_order(request_id=request_id)
    assert again.order == first.order
    # A lost response must not lose the generated PIN: the retry gets the
    # same secrets (held in memory for a short window, never stored).
    assert first.pickup_code and first.qr_payload and first.pin
    assert (again.pickup_code, again.qr_payload, again.pin) == (
        first.pickup_code, first.qr_payload, first.pin
    )
    assert first.pickup_code.replace("-", "") not in str(
        [tuple(r) for r in registry.sql("SELECT * FROM request_replays")]
    )
    listed = registry.office.ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=5)
    assert [o.reference for o in listed.orders] == [first.order.reference]


def test_cancel_and_its_retry(registry, create_order):
    reference = create_order().order.reference
    request = pb.CancelPickupOrderRequest(
        request_id="cancel-1", reference=reference, reason="moved"
    )
    first = registry.office.CancelPickupOrder(request, timeout=5)
    assert first.order.status == pb.ORDER_STATUS_CANCELLED
    # A retry replays the first answer instead of failing as "already cancelled".
    assert registry.office.CancelPickupOrder(request, timeout=5) == first

    error = rpc_error(
        registry.office.CancelPickupOrder,
        pb.CancelPickupOrderRequest(request_id="cancel-2", reference=reference),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "ORDER_NOT_CANCELLABLE"
    assert "cancelled" in error.details()


def test_cancel_unknown_order(registry):
    error = rpc_error(
        registry.office.CancelPickupOrder, pb.CancelPickupOrderRequest(reference="PO-NOPE")
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(error) == "ORDER_NOT_FOUND"


def test_list_orders_filters_and_pages(registry, register_kiosk, create_order):
    register_kiosk("box-a")
    register_kiosk("box-b")
    refs_a = [create_order(kiosk_id="box-a").order.reference for _ in range(5)]
    ref_b = create_order(kiosk_id="box-b").order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=refs_a[1]), timeout=5)

    seen, token, pages = [], "", 0
    while True:
        page = registry.office.ListPickupOrders(
            pb.ListPickupOrdersRequest(kiosk_id="box-a", page_size=2, page_token=token), timeout=5
        )
        assert len(page.orders) <= 2
        seen += [o.reference for o in page.orders]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == refs_a
    assert pages == 3

    cancelled = registry.office.ListPickupOrders(
        pb.ListPickupOrdersRequest(statuses=[pb.ORDER_STATUS_CANCELLED]), timeout=5
    )
    assert [o.reference for o in cancelled.orders] == [refs_a[1]]
    announced_b = registry.office.ListPickupOrders(
        pb.ListPickupOrdersRequest(statuses=[pb.ORDER_STATUS_ANNOUNCED], kiosk_id="box-b"),
        timeout=5,
    )
    assert [o.reference for o in announced_b.orders] == [ref_b]

    error = rpc_error(
        registry.office.ListPickupOrders, pb.ListPickupOrdersRequest(page_token="garbage")
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_kiosks_counts_occupancy_and_online(registry, register_kiosk, layout):
    register_kiosk(
        "box-a",
        states=(
            pb.COMPARTMENT_STATE_FREE,
            pb.COMPARTMENT_STATE_OCCUPIED,
            pb.COMPARTMENT_STATE_OUT_OF_SERVICE,
            pb.COMPARTMENT_STATE_RESERVED,
            pb.COMPARTMENT_STATE_FREE,
        ),
    )
    registry.kiosk.Heartbeat(
        pb.HeartbeatRequest(
            kiosk_id="box-a",
            outbox_backlog=3,
            devices=[
                pb.DeviceHealth(device="card_reader", status=pb.DEVICE_STATUS_FAILED, detail="gone")
            ],
        ),
        timeout=5,
    )
    (kiosk,) = registry.office.ListKiosks(pb.ListKiosksRequest(), timeout=5).kiosks
    assert kiosk.online
    assert (
        kiosk.compartments_total,
        kiosk.compartments_occupied,
        kiosk.compartments_free,
        kiosk.compartments_out_of_service,
    ) == (5, 2, 2, 1)
    assert kiosk.outbox_backlog == 3
    assert kiosk.devices[0].status == pb.DEVICE_STATUS_FAILED

    # A heartbeat with compartments replaces the layout the counts come from.
    registry.kiosk.Heartbeat(
        pb.HeartbeatRequest(kiosk_id="box-a", compartments=layout(pb.COMPARTMENT_STATE_OCCUPIED)),
        timeout=5,
    )
    (kiosk,) = registry.office.ListKiosks(pb.ListKiosksRequest(), timeout=5).kiosks
    assert (kiosk.compartments_total, kiosk.compartments_occupied) == (1, 1)

    long_ago = (datetime.now(timezone.utc) - timedelta(seconds=91)).isoformat()
    registry.sql("UPDATE kiosks SET last_seen = ?", long_ago)
    (kiosk,) = registry.office.ListKiosks(pb.ListKiosksRequest(), timeout=5).kiosks
    assert not kiosk.online


def test_send_command_to_unknown_kiosk(registry):
    error = rpc_error(
        registry.office.SendKioskCommand,
        pb.SendKioskCommandRequest(
            kiosk_id="box-x", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC)
        ),
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(error) == "KIOSK_NOT_FOUND"


def test_open_command_needs_a_compartment(registry, register_kiosk):
    register_kiosk("box-a")
    error = rpc_error(
        registry.office.SendKioskCommand,
        pb.SendKioskCommandRequest(
            kiosk_id="box-a", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_OPEN_COMPARTMENT)
        ),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "compartment_number" in error.details()


def test_send_command_retry_queues_once(registry, register_kiosk):
    register_kiosk("box-a")
    request = pb.SendKioskCommandRequest(
        request_id="cmd-1",
        kiosk_id="box-a",
        command=pb.RemoteCommand(type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=2,
                                 reason="citizen locked out, ticket 4711"),
    )
    first = registry.office.SendKioskCommand(request, timeout=5)
    assert registry.office.SendKioskCommand(request, timeout=5) == first
    rows = registry.sql(
        "SELECT command_id FROM commands WHERE type = 'COMMAND_TYPE_OPEN_COMPARTMENT'"
    )
    assert [r["command_id"] for r in rows] == [first.command_id]


def test_staff_create_list_deactivate(registry):
    created = registry.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="alice", card_uid="04:a1:b2:c3", pin="246810"),
        timeout=5,
    )
    assert created.staff_member.staff_id == "alice" and created.staff_member.active

    for request, reason_text in [
        (pb.CreateStaffMemberRequest(staff_id="alice", card_uid="0499", pin="246810"), "alice"),
        # The same card written differently is still the same card.
        (pb.CreateStaffMemberRequest(staff_id="bob", card_uid="04A1B2C3", pin="135790"), "card"),
    ]:
        error = rpc_error(registry.office.CreateStaffMember, request)
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
        assert error_reason(error) == "STAFF_EXISTS"
        assert reason_text in error.details()

    error = rpc_error(
        registry.office.CreateStaffMember,
        pb.CreateStaffMemberRequest(staff_id="carol", card_uid="XYZ", pin="135790"),
    )
    assert error_info(error).metadata["field"] == "card_uid"
    error = rpc_error(
        registry.office.CreateStaffMember,
        pb.CreateStaffMemberRequest(staff_id="carol", card_uid="0455", pin="12"),
    )
    assert error_info(error).metadata["field"] == "pin"

    deactivated = registry.office.DeactivateStaffMember(
        pb.DeactivateStaffMemberRequest(staff_id="alice"), timeout=5
    )
    assert not deactivated.staff_member.active
    members = registry.office.ListStaffMembers(pb.ListStaffMembersRequest(), timeout=5)
    assert [(m.staff_id, m.active) for m in members.staff_members] == [("alice", False)]

    error = rpc_error(
        registry.office.DeactivateStaffMember, pb.DeactivateStaffMemberRequest(staff_id="zed")
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(error) == "STAFF_NOT_FOUND"


def test_reissue_invalidates_the_old_code_and_pin_everywhere(registry, register_kiosk,
                                                             create_order):
    from common.credentials import check_verifier, lookup_key, normalize_code

    register_kiosk("kiosk-1")
    first = create_order(pin="482915")
    reference = first.order.reference
    reissued = registry.office.ReissuePickupCode(
        pb.ReissuePickupCodeRequest(request_id="re-1", reference=reference, reason="letter lost"),
        timeout=5,
    )
    assert reissued.pickup_code != first.pickup_code and reissued.pin
    synced = registry.kiosk.SyncChanges(pb.SyncChangesRequest(kiosk_id="kiosk-1"), timeout=5)
    record = next(o for o in synced.orders if o.reference == reference)
    policy = registry.server.db.policy
    old, new = normalize_code(first.pickup_code), normalize_code(reissued.pickup_code)
    assert record.code_lookup == lookup_key(new, policy.lookup_salt, policy.params)
    assert record.code_lookup != lookup_key(old, policy.lookup_salt, policy.params)
    assert check_verifier(record.pin_verifier, new, reissued.pin)
    assert not check_verifier(record.pin_verifier, old, "482915")
    # A retry of the reissue returns the same new secrets, not a third code.
    again = registry.office.ReissuePickupCode(
        pb.ReissuePickupCodeRequest(request_id="re-1", reference=reference), timeout=5
    )
    assert (again.pickup_code, again.pin) == (reissued.pickup_code, reissued.pin)
    audited = registry.sql("SELECT detail FROM audit_log WHERE action = 'order.reissued'")
    assert len(audited) == 1 and "letter lost" in audited[0]["detail"]

    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference), timeout=5)
    error = rpc_error(registry.office.ReissuePickupCode,
                      pb.ReissuePickupCodeRequest(reference=reference))
    assert error_reason(error) == "ORDER_NOT_REISSUABLE"


def test_stored_compartments_are_read_back_as_reported_even_with_fields_this_registry_lacks():
    from google.protobuf import json_format

    from registry.office_service import _from_stored

    reported = pb.Compartment(number=3, size=pb.COMPARTMENT_SIZE_M, column=2, row=1,
                              state=pb.COMPARTMENT_STATE_OCCUPIED, order_reference="BB-1")
    stored = json_format.MessageToDict(reported, preserving_proto_field_name=True)
    assert _from_stored(stored, pb.Compartment) == reported
    # A newer kiosk's extra field is left out, as json_format's ignore_unknown_fields does.
    assert _from_stored({**stored, "tilt_sensor": "ok"}, pb.Compartment) == reported
    health = pb.DeviceHealth(device="lock", status=pb.DEVICE_STATUS_DEGRADED, detail="slow")
    assert _from_stored(json_format.MessageToDict(health, preserving_proto_field_name=True),
                        pb.DeviceHealth) == health
