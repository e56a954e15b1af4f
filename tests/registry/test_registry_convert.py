from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from common.credentials import KdfParams
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from common import convert
from pickupbox.registry.v1 import registry_pb2 as pb

PAIRS = [
    (
        DocumentKind,
        convert.document_kind_to_proto,
        convert.document_kind_from_proto,
        pb.DocumentKind,
    ),
    (OrderStatus, convert.order_status_to_proto, convert.order_status_from_proto, pb.OrderStatus),
    (Size, convert.size_to_proto, convert.size_from_proto, pb.CompartmentSize),
    (HeightClass, convert.height_class_to_proto, convert.height_class_from_proto, pb.HeightClass),
    (
        CompartmentState,
        convert.compartment_state_to_proto,
        convert.compartment_state_from_proto,
        pb.CompartmentState,
    ),
]


@pytest.mark.parametrize(("domain", "to_proto", "from_proto", "proto_enum"), PAIRS)
def test_every_enum_value_maps_both_ways(domain, to_proto, from_proto, proto_enum):
    proto_values = {to_proto(member) for member in domain}
    assert proto_values == set(proto_enum.values()) - {0}
    for member in domain:
        assert from_proto(to_proto(member)) is member
        assert proto_enum.Name(to_proto(member)).endswith("_" + member.name)


@pytest.mark.parametrize(("domain", "to_proto", "from_proto", "proto_enum"), PAIRS)
def test_unspecified_and_unknown_values_are_rejected(domain, to_proto, from_proto, proto_enum):
    for value in (0, 999):
        with pytest.raises(ValueError):
            from_proto(value)


def test_specific_mappings():
    assert convert.document_kind_to_proto(DocumentKind.ID_CARD) == pb.DOCUMENT_KIND_ID_CARD
    assert convert.order_status_from_proto(pb.ORDER_STATUS_CANCELLED) is OrderStatus.CANCELLED
    assert convert.height_class_to_proto(HeightClass.LOW) == pb.HEIGHT_CLASS_LOW


def test_timestamps():
    moment = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone(timedelta(hours=1)))
    ts = convert.to_timestamp(moment)
    assert convert.from_timestamp(ts) == moment
    assert convert.from_timestamp(ts).tzinfo == timezone.utc
    assert convert.to_timestamp(None) is None
    assert convert.from_timestamp(pb.PickupOrder().create_time) is None
    with pytest.raises(ValueError):
        convert.to_timestamp(datetime(2030, 1, 1))


def test_compartment_round_trip_and_defaults():
    compartment = Compartment(
        number=7,
        size=Size.L,
        column=2,
        row=1,
        height_class=HeightClass.LOW,
        state=CompartmentState.OCCUPIED,
        order_reference="PO-1",
    )
    assert convert.compartment_from_proto(convert.compartment_to_proto(compartment)) == compartment
    bare = convert.compartment_from_proto(pb.Compartment(number=1, size=pb.COMPARTMENT_SIZE_S))
    assert (bare.height_class, bare.state, bare.order_reference) == (
        HeightClass.STANDARD, CompartmentState.FREE, None,
    )


def test_order_record_round_trip():
    order = PickupOrder(
        reference="PO-2",
        kind=DocumentKind.RESIDENCE_PERMIT,
        status=OrderStatus.DEPOSITED,
        size=Size.M,
        needs_low_compartment=True,
        requires_pin_letter_confirmation=True,
        code_lookup=b"\x01" * 32,
        pin_verifier="scrypt$1024$8$1$AA==$AA==",
        compartment_number=12,
        pickup_deadline=datetime(2030, 5, 1, tzinfo=timezone.utc),
    )
    record = convert.order_record_from_pickup_order(order)
    assert convert.pickup_order_from_record(record) == order


def test_credential_policy():
    policy = convert.credential_policy_to_proto(KdfParams(n=2**12, r=8, p=2), b"s" * 16)
    assert convert.kdf_params_from_policy(policy) == KdfParams(n=2**12, r=8, p=2)
    policy.kdf = "argon2id"
    with pytest.raises(ValueError, match="argon2id"):
        convert.kdf_params_from_policy(policy)
