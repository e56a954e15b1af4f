"""Conversions between the registry API (protobuf) and the kiosk domain.

Pure functions only: the kiosk's registry client and the registry server both
use them, so nothing here may start, open or log anything.

Enum values are matched by name (``DocumentKind.ID_CARD`` <->
``DOCUMENT_KIND_ID_CARD``). The mapping is built and checked for completeness
at import time, so adding a value on one side only fails loudly and early.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from google.protobuf.timestamp_pb2 import Timestamp

from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from common.audit_chain import AuditEntry
from common.credentials import KdfParams
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from pickupbox.registry.v1 import registry_pb2 as pb

class _EnumMap:
    """Both directions between a domain enum and a protobuf enum."""

    def __init__(self, domain: type[Enum], proto_enum, prefix: str) -> None:
        self.domain = domain
        self.proto_enum = proto_enum
        self.to_proto_map = {m: proto_enum.Value(prefix + m.name) for m in domain}
        self.from_proto_map = {v: m for m, v in self.to_proto_map.items()}
        unmapped = set(proto_enum.values()) - set(self.from_proto_map) - {0}
        if unmapped:
            names = ", ".join(proto_enum.Name(v) for v in sorted(unmapped))
            raise ImportError(f"{domain.__name__} has no value for {names}")

    def to_proto(self, value: Enum) -> int:
        return self.to_proto_map[self.domain(value)]

    def from_proto(self, value: int):
        """Raises ValueError for UNSPECIFIED and values this build does not know."""
        try:
            return self.from_proto_map[value]
        except KeyError:
            raise ValueError(f"{self.domain.__name__} value {value} is not supported") from None


_KIND = _EnumMap(DocumentKind, pb.DocumentKind, "DOCUMENT_KIND_")
_STATUS = _EnumMap(OrderStatus, pb.OrderStatus, "ORDER_STATUS_")
_SIZE = _EnumMap(Size, pb.CompartmentSize, "COMPARTMENT_SIZE_")
_HEIGHT = _EnumMap(HeightClass, pb.HeightClass, "HEIGHT_CLASS_")
_STATE = _EnumMap(CompartmentState, pb.CompartmentState, "COMPARTMENT_STATE_")


def document_kind_to_proto(kind: DocumentKind) -> int:
    return _KIND.to_proto(kind)


def document_kind_from_proto(value: int) -> DocumentKind:
    return _KIND.from_proto(value)


def order_status_to_proto(status: OrderStatus) -> int:
    return _STATUS.to_proto(status)


def order_status_from_proto(value: int) -> OrderStatus:
    return _STATUS.from_proto(value)


def size_to_proto(size: Size) -> int:
    return _SIZE.to_proto(size)


def size_from_proto(value: int) -> Size:
    return _SIZE.from_proto(value)


def height_class_to_proto(height: HeightClass) -> int:
    return _HEIGHT.to_proto(height)


def height_class_from_proto(value: int) -> HeightClass:
    return _HEIGHT.from_proto(value)


def compartment_state_to_proto(state: CompartmentState) -> int:
    return _STATE.to_proto(state)


def compartment_state_from_proto(value: int) -> CompartmentState:
    return _STATE.from_proto(value)


# ------------------------------------------------------------------ timestamps

def to_timestamp(moment: datetime | None) -> Timestamp | None:
    """None stays None so callers can write ``field=to_timestamp(x)``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; use an aware (UTC) datetime")
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(timezone.utc))
    return ts


def from_timestamp(ts: Timestamp) -> datetime | None:
    """An unset (all-zero) timestamp means "no time", not 1 January 1970."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=timezone.utc)


# ---------------------------------------------------------------- compartments

def compartment_to_proto(compartment: Compartment) -> pb.Compartment:
    return pb.Compartment(
        number=compartment.number,
        size=size_to_proto(compartment.size),
        column=compartment.column,
        row=compartment.row,
        height_class=height_class_to_proto(compartment.height_class),
        state=compartment_state_to_proto(compartment.state),
        order_reference=compartment.order_reference or "",
    )


def compartment_from_proto(message: pb.Compartment) -> Compartment:
    return Compartment(
        number=message.number,
        size=size_from_proto(message.size),
        column=message.column,
        row=message.row,
        height_class=(
            height_class_from_proto(message.height_class)
            if message.height_class
            else HeightClass.STANDARD
        ),
        state=(
            compartment_state_from_proto(message.state)
            if message.state
            else CompartmentState.FREE
        ),
        order_reference=message.order_reference or None,
    )


# ---------------------------------------------------------------- credentials

def credential_policy_to_proto(params: KdfParams, lookup_salt: bytes) -> pb.CredentialPolicy:
    return pb.CredentialPolicy(
        kdf="scrypt",
        scrypt_n=params.n,
        scrypt_r=params.r,
        scrypt_p=params.p,
        lookup_salt=lookup_salt,
    )


def kdf_params_from_policy(policy: pb.CredentialPolicy) -> KdfParams:
    """Raises ValueError for a policy this build cannot follow."""
    if policy.kdf != "scrypt":
        raise ValueError(f"credential policy asks for kdf {policy.kdf!r}; only scrypt is supported")
    params = KdfParams(n=policy.scrypt_n, r=policy.scrypt_r, p=policy.scrypt_p)
    if not params.is_sane():
        raise ValueError(f"credential policy has unusable scrypt parameters {params}")
    return params


# --------------------------------------------------------------------- orders

def order_record_from_pickup_order(order: PickupOrder) -> pb.OrderRecord:
    """The kiosk's view of an order (hashes only)."""
    return pb.OrderRecord(
        reference=order.reference,
        kind=document_kind_to_proto(order.kind),
        status=order_status_to_proto(order.status),
        size=size_to_proto(order.size),
        needs_low_compartment=order.needs_low_compartment,
        requires_pin_letter_confirmation=order.requires_pin_letter_confirmation,
        code_lookup=order.code_lookup,
        pin_verifier=order.pin_verifier,
        pickup_deadline=to_timestamp(order.pickup_deadline),
        compartment_number=order.compartment_number or 0,
    )


def pickup_order_from_record(record: pb.OrderRecord) -> PickupOrder:
    """Raises ValueError for enum values this build does not know."""
    return PickupOrder(
        reference=record.reference,
        kind=document_kind_from_proto(record.kind),
        status=order_status_from_proto(record.status),
        size=size_from_proto(record.size) if record.size else Size.S,
        needs_low_compartment=record.needs_low_compartment,
        requires_pin_letter_confirmation=record.requires_pin_letter_confirmation,
        code_lookup=record.code_lookup,
        pin_verifier=record.pin_verifier,
        compartment_number=record.compartment_number or None,
        pickup_deadline=from_timestamp(record.pickup_deadline),
    )


# The audit chain's fields, in the order both AuditEntry types declare them.
_AUDIT_FIELDS = ("seq", "time", "actor", "action", "office_id", "target", "outcome", "detail",
                 "prev_hash", "hash")


def audit_entry_to_proto(entry: AuditEntry) -> pb.AuditEntry:
    return pb.AuditEntry(**{name: getattr(entry, name) for name in _AUDIT_FIELDS})


def audit_entry_from_proto(message: pb.AuditEntry) -> AuditEntry:
    return AuditEntry(**{name: getattr(message, name) for name in _AUDIT_FIELDS})
