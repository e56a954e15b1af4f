import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DocumentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_KIND_UNSPECIFIED: _ClassVar[DocumentKind]
    DOCUMENT_KIND_ID_CARD: _ClassVar[DocumentKind]
    DOCUMENT_KIND_PASSPORT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_CHILD_PASSPORT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_RESIDENCE_PERMIT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_OTHER: _ClassVar[DocumentKind]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_ANNOUNCED: _ClassVar[OrderStatus]
    ORDER_STATUS_DEPOSITED: _ClassVar[OrderStatus]
    ORDER_STATUS_COLLECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXPIRED: _ClassVar[OrderStatus]
    ORDER_STATUS_REMOVED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_RETURNED_TO_COUNTER: _ClassVar[OrderStatus]

class CompartmentSize(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPARTMENT_SIZE_UNSPECIFIED: _ClassVar[CompartmentSize]
    COMPARTMENT_SIZE_S: _ClassVar[CompartmentSize]
    COMPARTMENT_SIZE_M: _ClassVar[CompartmentSize]
    COMPARTMENT_SIZE_L: _ClassVar[CompartmentSize]

class HeightClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEIGHT_CLASS_UNSPECIFIED: _ClassVar[HeightClass]
    HEIGHT_CLASS_LOW: _ClassVar[HeightClass]
    HEIGHT_CLASS_STANDARD: _ClassVar[HeightClass]
    HEIGHT_CLASS_HIGH: _ClassVar[HeightClass]

class CompartmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPARTMENT_STATE_UNSPECIFIED: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_FREE: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_RESERVED: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_OCCUPIED: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_OPEN: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_OUT_OF_SERVICE: _ClassVar[CompartmentState]
    COMPARTMENT_STATE_NEEDS_INSPECTION: _ClassVar[CompartmentState]

class DeviceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_STATUS_UNSPECIFIED: _ClassVar[DeviceStatus]
    DEVICE_STATUS_OK: _ClassVar[DeviceStatus]
    DEVICE_STATUS_DEGRADED: _ClassVar[DeviceStatus]
    DEVICE_STATUS_FAILED: _ClassVar[DeviceStatus]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_DEPOSITED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_COLLECTED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_EXPIRED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_REMOVED: _ClassVar[EventType]
    EVENT_TYPE_ORDER_LOCKED: _ClassVar[EventType]
    EVENT_TYPE_COMPARTMENT_OUT_OF_SERVICE: _ClassVar[EventType]
    EVENT_TYPE_COMPARTMENT_IN_SERVICE: _ClassVar[EventType]
    EVENT_TYPE_COMPARTMENT_SERVICE_OPENED: _ClassVar[EventType]
    EVENT_TYPE_DOOR_FORCED: _ClassVar[EventType]
    EVENT_TYPE_DOOR_FAILED: _ClassVar[EventType]
    EVENT_TYPE_DOOR_LEFT_OPEN: _ClassVar[EventType]
    EVENT_TYPE_ATTEMPTS_THROTTLED: _ClassVar[EventType]
    EVENT_TYPE_DEVICE_FAULT: _ClassVar[EventType]
    EVENT_TYPE_STAFF_LOGIN: _ClassVar[EventType]
    EVENT_TYPE_STAFF_LOGIN_FAILED: _ClassVar[EventType]
    EVENT_TYPE_OLD_DOCUMENT_RETURNED: _ClassVar[EventType]
    EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION: _ClassVar[EventType]
    EVENT_TYPE_INSPECTION_RESOLVED: _ClassVar[EventType]
    EVENT_TYPE_COMMAND_REFUSED: _ClassVar[EventType]
    EVENT_TYPE_CLOCK_STEP: _ClassVar[EventType]
    EVENT_TYPE_STORAGE_FAULT: _ClassVar[EventType]
    EVENT_TYPE_STAFF_CARD_LOCKED: _ClassVar[EventType]
    EVENT_TYPE_PROBLEM_REPORTED: _ClassVar[EventType]

class CommandType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_TYPE_UNSPECIFIED: _ClassVar[CommandType]
    COMMAND_TYPE_OPEN_COMPARTMENT: _ClassVar[CommandType]
    COMMAND_TYPE_SET_OUT_OF_SERVICE: _ClassVar[CommandType]
    COMMAND_TYPE_SET_IN_SERVICE: _ClassVar[CommandType]
    COMMAND_TYPE_RESYNC: _ClassVar[CommandType]

class MessageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_STATUS_UNSPECIFIED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_QUEUED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_SENDING: _ClassVar[MessageStatus]
    MESSAGE_STATUS_SENT: _ClassVar[MessageStatus]
    MESSAGE_STATUS_FAILED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_BOUNCED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_CANCELLED: _ClassVar[MessageStatus]

class AlarmState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALARM_STATE_UNSPECIFIED: _ClassVar[AlarmState]
    ALARM_STATE_OPEN: _ClassVar[AlarmState]
    ALARM_STATE_ACKNOWLEDGED: _ClassVar[AlarmState]
    ALARM_STATE_CLEARED: _ClassVar[AlarmState]
DOCUMENT_KIND_UNSPECIFIED: DocumentKind
DOCUMENT_KIND_ID_CARD: DocumentKind
DOCUMENT_KIND_PASSPORT: DocumentKind
DOCUMENT_KIND_CHILD_PASSPORT: DocumentKind
DOCUMENT_KIND_RESIDENCE_PERMIT: DocumentKind
DOCUMENT_KIND_OTHER: DocumentKind
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_ANNOUNCED: OrderStatus
ORDER_STATUS_DEPOSITED: OrderStatus
ORDER_STATUS_COLLECTED: OrderStatus
ORDER_STATUS_EXPIRED: OrderStatus
ORDER_STATUS_REMOVED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_RETURNED_TO_COUNTER: OrderStatus
COMPARTMENT_SIZE_UNSPECIFIED: CompartmentSize
COMPARTMENT_SIZE_S: CompartmentSize
COMPARTMENT_SIZE_M: CompartmentSize
COMPARTMENT_SIZE_L: CompartmentSize
HEIGHT_CLASS_UNSPECIFIED: HeightClass
HEIGHT_CLASS_LOW: HeightClass
HEIGHT_CLASS_STANDARD: HeightClass
HEIGHT_CLASS_HIGH: HeightClass
COMPARTMENT_STATE_UNSPECIFIED: CompartmentState
COMPARTMENT_STATE_FREE: CompartmentState
COMPARTMENT_STATE_RESERVED: CompartmentState
COMPARTMENT_STATE_OCCUPIED: CompartmentState
COMPARTMENT_STATE_OPEN: CompartmentState
COMPARTMENT_STATE_OUT_OF_SERVICE: CompartmentState
COMPARTMENT_STATE_NEEDS_INSPECTION: CompartmentState
DEVICE_STATUS_UNSPECIFIED: DeviceStatus
DEVICE_STATUS_OK: DeviceStatus
DEVICE_STATUS_DEGRADED: DeviceStatus
DEVICE_STATUS_FAILED: DeviceStatus
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_ORDER_DEPOSITED: EventType
EVENT_TYPE_ORDER_COLLECTED: EventType
EVENT_TYPE_ORDER_EXPIRED: EventType
EVENT_TYPE_ORDER_REMOVED: EventType
EVENT_TYPE_ORDER_LOCKED: EventType
EVENT_TYPE_COMPARTMENT_OUT_OF_SERVICE: EventType
EVENT_TYPE_COMPARTMENT_IN_SERVICE: EventType
EVENT_TYPE_COMPARTMENT_SERVICE_OPENED: EventType
EVENT_TYPE_DOOR_FORCED: EventType
EVENT_TYPE_DOOR_FAILED: EventType
EVENT_TYPE_DOOR_LEFT_OPEN: EventType
EVENT_TYPE_ATTEMPTS_THROTTLED: EventType
EVENT_TYPE_DEVICE_FAULT: EventType
EVENT_TYPE_STAFF_LOGIN: EventType
EVENT_TYPE_STAFF_LOGIN_FAILED: EventType
EVENT_TYPE_OLD_DOCUMENT_RETURNED: EventType
EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION: EventType
EVENT_TYPE_INSPECTION_RESOLVED: EventType
EVENT_TYPE_COMMAND_REFUSED: EventType
EVENT_TYPE_CLOCK_STEP: EventType
EVENT_TYPE_STORAGE_FAULT: EventType
EVENT_TYPE_STAFF_CARD_LOCKED: EventType
EVENT_TYPE_PROBLEM_REPORTED: EventType
COMMAND_TYPE_UNSPECIFIED: CommandType
COMMAND_TYPE_OPEN_COMPARTMENT: CommandType
COMMAND_TYPE_SET_OUT_OF_SERVICE: CommandType
COMMAND_TYPE_SET_IN_SERVICE: CommandType
COMMAND_TYPE_RESYNC: CommandType
MESSAGE_STATUS_UNSPECIFIED: MessageStatus
MESSAGE_STATUS_QUEUED: MessageStatus
MESSAGE_STATUS_SENDING: MessageStatus
MESSAGE_STATUS_SENT: MessageStatus
MESSAGE_STATUS_FAILED: MessageStatus
MESSAGE_STATUS_BOUNCED: MessageStatus
MESSAGE_STATUS_CANCELLED: MessageStatus
ALARM_STATE_UNSPECIFIED: AlarmState
ALARM_STATE_OPEN: AlarmState
ALARM_STATE_ACKNOWLEDGED: AlarmState
ALARM_STATE_CLEARED: AlarmState

class Compartment(_message.Message):
    __slots__ = ("number", "size", "column", "row", "height_class", "state", "order_reference")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_CLASS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    number: int
    size: CompartmentSize
    column: int
    row: int
    height_class: HeightClass
    state: CompartmentState
    order_reference: str
    def __init__(self, number: _Optional[int] = ..., size: _Optional[_Union[CompartmentSize, str]] = ..., column: _Optional[int] = ..., row: _Optional[int] = ..., height_class: _Optional[_Union[HeightClass, str]] = ..., state: _Optional[_Union[CompartmentState, str]] = ..., order_reference: _Optional[str] = ...) -> None: ...

class CredentialPolicy(_message.Message):
    __slots__ = ("kdf", "scrypt_n", "scrypt_r", "scrypt_p", "lookup_salt")
    KDF_FIELD_NUMBER: _ClassVar[int]
    SCRYPT_N_FIELD_NUMBER: _ClassVar[int]
    SCRYPT_R_FIELD_NUMBER: _ClassVar[int]
    SCRYPT_P_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_SALT_FIELD_NUMBER: _ClassVar[int]
    kdf: str
    scrypt_n: int
    scrypt_r: int
    scrypt_p: int
    lookup_salt: bytes
    def __init__(self, kdf: _Optional[str] = ..., scrypt_n: _Optional[int] = ..., scrypt_r: _Optional[int] = ..., scrypt_p: _Optional[int] = ..., lookup_salt: _Optional[bytes] = ...) -> None: ...

class DeviceHealth(_message.Message):
    __slots__ = ("device", "status", "detail")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    device: str
    status: DeviceStatus
    detail: str
    def __init__(self, device: _Optional[str] = ..., status: _Optional[_Union[DeviceStatus, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class RegisterKioskRequest(_message.Message):
    __slots__ = ("kiosk_id", "software_version", "compartments")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    software_version: str
    compartments: _containers.RepeatedCompositeFieldContainer[Compartment]
    def __init__(self, kiosk_id: _Optional[str] = ..., software_version: _Optional[str] = ..., compartments: _Optional[_Iterable[_Union[Compartment, _Mapping]]] = ...) -> None: ...

class RegisterKioskResponse(_message.Message):
    __slots__ = ("credential_policy", "server_time")
    CREDENTIAL_POLICY_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    credential_policy: CredentialPolicy
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, credential_policy: _Optional[_Union[CredentialPolicy, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("kiosk_id", "devices", "outbox_backlog", "compartments")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceHealth]
    outbox_backlog: int
    compartments: _containers.RepeatedCompositeFieldContainer[Compartment]
    def __init__(self, kiosk_id: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceHealth, _Mapping]]] = ..., outbox_backlog: _Optional[int] = ..., compartments: _Optional[_Iterable[_Union[Compartment, _Mapping]]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("server_time",)
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncChangesRequest(_message.Message):
    __slots__ = ("kiosk_id", "cursor", "page_size")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    cursor: str
    page_size: int
    def __init__(self, kiosk_id: _Optional[str] = ..., cursor: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class OrderRecord(_message.Message):
    __slots__ = ("reference", "kind", "status", "size", "needs_low_compartment", "requires_pin_letter_confirmation", "code_lookup", "pin_verifier", "pickup_deadline", "compartment_number")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_LOW_COMPARTMENT_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_PIN_LETTER_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    CODE_LOOKUP_FIELD_NUMBER: _ClassVar[int]
    PIN_VERIFIER_FIELD_NUMBER: _ClassVar[int]
    PICKUP_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: DocumentKind
    status: OrderStatus
    size: CompartmentSize
    needs_low_compartment: bool
    requires_pin_letter_confirmation: bool
    code_lookup: bytes
    pin_verifier: str
    pickup_deadline: _timestamp_pb2.Timestamp
    compartment_number: int
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[DocumentKind, str]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., size: _Optional[_Union[CompartmentSize, str]] = ..., needs_low_compartment: _Optional[bool] = ..., requires_pin_letter_confirmation: _Optional[bool] = ..., code_lookup: _Optional[bytes] = ..., pin_verifier: _Optional[str] = ..., pickup_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., compartment_number: _Optional[int] = ...) -> None: ...

class StaffRecord(_message.Message):
    __slots__ = ("staff_id", "card_lookup", "pin_verifier", "active", "unlock_generation")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_LOOKUP_FIELD_NUMBER: _ClassVar[int]
    PIN_VERIFIER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    UNLOCK_GENERATION_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    card_lookup: bytes
    pin_verifier: str
    active: bool
    unlock_generation: int
    def __init__(self, staff_id: _Optional[str] = ..., card_lookup: _Optional[bytes] = ..., pin_verifier: _Optional[str] = ..., active: _Optional[bool] = ..., unlock_generation: _Optional[int] = ...) -> None: ...

class SyncChangesResponse(_message.Message):
    __slots__ = ("orders", "staff", "next_cursor", "has_more", "credential_policy")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    STAFF_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_POLICY_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderRecord]
    staff: _containers.RepeatedCompositeFieldContainer[StaffRecord]
    next_cursor: str
    has_more: bool
    credential_policy: CredentialPolicy
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderRecord, _Mapping]]] = ..., staff: _Optional[_Iterable[_Union[StaffRecord, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., has_more: _Optional[bool] = ..., credential_policy: _Optional[_Union[CredentialPolicy, _Mapping]] = ...) -> None: ...

class KioskEvent(_message.Message):
    __slots__ = ("event_id", "type", "occur_time", "order_reference", "compartment_number", "staff_ids", "detail", "pickup_deadline", "pin_letter_confirmed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STAFF_IDS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PICKUP_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    PIN_LETTER_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: EventType
    occur_time: _timestamp_pb2.Timestamp
    order_reference: str
    compartment_number: int
    staff_ids: _containers.RepeatedScalarFieldContainer[str]
    detail: str
    pickup_deadline: _timestamp_pb2.Timestamp
    pin_letter_confirmed: bool
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[_Union[EventType, str]] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order_reference: _Optional[str] = ..., compartment_number: _Optional[int] = ..., staff_ids: _Optional[_Iterable[str]] = ..., detail: _Optional[str] = ..., pickup_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pin_letter_confirmed: _Optional[bool] = ...) -> None: ...

class ReportEventsRequest(_message.Message):
    __slots__ = ("kiosk_id", "events")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    events: _containers.RepeatedCompositeFieldContainer[KioskEvent]
    def __init__(self, kiosk_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[KioskEvent, _Mapping]]] = ...) -> None: ...

class ReportEventsResponse(_message.Message):
    __slots__ = ("acknowledged_event_ids",)
    ACKNOWLEDGED_EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    acknowledged_event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, acknowledged_event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamCommandsRequest(_message.Message):
    __slots__ = ("kiosk_id",)
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    def __init__(self, kiosk_id: _Optional[str] = ...) -> None: ...

class RemoteCommand(_message.Message):
    __slots__ = ("command_id", "type", "compartment_number", "reason", "requested_by", "expire_time", "service_opening", "create_time")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_OPENING_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    type: CommandType
    compartment_number: int
    reason: str
    requested_by: str
    expire_time: _timestamp_pb2.Timestamp
    service_opening: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, command_id: _Optional[str] = ..., type: _Optional[_Union[CommandType, str]] = ..., compartment_number: _Optional[int] = ..., reason: _Optional[str] = ..., requested_by: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., service_opening: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamCommandsResponse(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: RemoteCommand
    def __init__(self, command: _Optional[_Union[RemoteCommand, _Mapping]] = ...) -> None: ...

class AcknowledgeCommandsRequest(_message.Message):
    __slots__ = ("kiosk_id", "command_ids")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_IDS_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    command_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kiosk_id: _Optional[str] = ..., command_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AcknowledgeCommandsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("seq", "time", "actor", "action", "office_id", "target", "outcome", "detail", "prev_hash", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    time: str
    actor: str
    action: str
    office_id: str
    target: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str
    def __init__(self, seq: _Optional[int] = ..., time: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., office_id: _Optional[str] = ..., target: _Optional[str] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class ReportAuditEntriesRequest(_message.Message):
    __slots__ = ("kiosk_id", "entries")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, kiosk_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class ReportAuditEntriesResponse(_message.Message):
    __slots__ = ("head_seq", "head_hash")
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    head_seq: int
    head_hash: str
    def __init__(self, head_seq: _Optional[int] = ..., head_hash: _Optional[str] = ...) -> None: ...

class MarkReturnedToCounterRequest(_message.Message):
    __slots__ = ("request_id", "reference", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class MarkReturnedToCounterResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ...) -> None: ...

class ResendPickupReminderRequest(_message.Message):
    __slots__ = ("request_id", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class ResendPickupReminderResponse(_message.Message):
    __slots__ = ("order", "channel")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    channel: str
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ..., channel: _Optional[str] = ...) -> None: ...

class UnlockStaffCardRequest(_message.Message):
    __slots__ = ("request_id", "staff_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    staff_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., staff_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnlockStaffCardResponse(_message.Message):
    __slots__ = ("staff_member",)
    STAFF_MEMBER_FIELD_NUMBER: _ClassVar[int]
    staff_member: StaffMember
    def __init__(self, staff_member: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class ExtendPickupDeadlineRequest(_message.Message):
    __slots__ = ("request_id", "reference", "pickup_deadline", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PICKUP_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    pickup_deadline: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ..., pickup_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ExtendPickupDeadlineResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ...) -> None: ...

class ReissuePickupCodeRequest(_message.Message):
    __slots__ = ("request_id", "reference", "pin", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    pin: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ..., pin: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReissuePickupCodeResponse(_message.Message):
    __slots__ = ("order", "pickup_code", "qr_payload", "pin")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PICKUP_CODE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    pickup_code: str
    qr_payload: str
    pin: str
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ..., pickup_code: _Optional[str] = ..., qr_payload: _Optional[str] = ..., pin: _Optional[str] = ...) -> None: ...

class PickupOrder(_message.Message):
    __slots__ = ("reference", "kind", "status", "size", "needs_low_compartment", "requires_pin_letter_confirmation", "kiosk_id", "compartment_number", "create_time", "deposit_time", "pickup_deadline", "collect_time", "locked", "old_document_return_time")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_LOW_COMPARTMENT_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_PIN_LETTER_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_TIME_FIELD_NUMBER: _ClassVar[int]
    PICKUP_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    COLLECT_TIME_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    OLD_DOCUMENT_RETURN_TIME_FIELD_NUMBER: _ClassVar[int]
    reference: str
    kind: DocumentKind
    status: OrderStatus
    size: CompartmentSize
    needs_low_compartment: bool
    requires_pin_letter_confirmation: bool
    kiosk_id: str
    compartment_number: int
    create_time: _timestamp_pb2.Timestamp
    deposit_time: _timestamp_pb2.Timestamp
    pickup_deadline: _timestamp_pb2.Timestamp
    collect_time: _timestamp_pb2.Timestamp
    locked: bool
    old_document_return_time: _timestamp_pb2.Timestamp
    def __init__(self, reference: _Optional[str] = ..., kind: _Optional[_Union[DocumentKind, str]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., size: _Optional[_Union[CompartmentSize, str]] = ..., needs_low_compartment: _Optional[bool] = ..., requires_pin_letter_confirmation: _Optional[bool] = ..., kiosk_id: _Optional[str] = ..., compartment_number: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deposit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pickup_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., collect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., locked: _Optional[bool] = ..., old_document_return_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePickupOrderRequest(_message.Message):
    __slots__ = ("request_id", "reference", "kind", "size", "needs_low_compartment", "kiosk_id", "pin", "contact")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    NEEDS_LOW_COMPARTMENT_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    kind: DocumentKind
    size: CompartmentSize
    needs_low_compartment: bool
    kiosk_id: str
    pin: str
    contact: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ..., kind: _Optional[_Union[DocumentKind, str]] = ..., size: _Optional[_Union[CompartmentSize, str]] = ..., needs_low_compartment: _Optional[bool] = ..., kiosk_id: _Optional[str] = ..., pin: _Optional[str] = ..., contact: _Optional[str] = ...) -> None: ...

class CreatePickupOrderResponse(_message.Message):
    __slots__ = ("order", "pickup_code", "qr_payload", "pin")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PICKUP_CODE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    pickup_code: str
    qr_payload: str
    pin: str
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ..., pickup_code: _Optional[str] = ..., qr_payload: _Optional[str] = ..., pin: _Optional[str] = ...) -> None: ...

class CancelPickupOrderRequest(_message.Message):
    __slots__ = ("request_id", "reference", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reference: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reference: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelPickupOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ...) -> None: ...

class GetPickupOrderRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class GetPickupOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: PickupOrder
    def __init__(self, order: _Optional[_Union[PickupOrder, _Mapping]] = ...) -> None: ...

class ListPickupOrdersRequest(_message.Message):
    __slots__ = ("statuses", "kiosk_id", "page_size", "page_token", "created_after", "created_before")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[OrderStatus]
    kiosk_id: str
    page_size: int
    page_token: str
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, statuses: _Optional[_Iterable[_Union[OrderStatus, str]]] = ..., kiosk_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPickupOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[PickupOrder]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[PickupOrder, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class KioskStatus(_message.Message):
    __slots__ = ("kiosk_id", "last_seen_time", "online", "devices", "compartments", "compartments_total", "compartments_occupied", "compartments_free", "compartments_out_of_service", "outbox_backlog")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_OCCUPIED_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_FREE_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENTS_OUT_OF_SERVICE_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    last_seen_time: _timestamp_pb2.Timestamp
    online: bool
    devices: _containers.RepeatedCompositeFieldContainer[DeviceHealth]
    compartments: _containers.RepeatedCompositeFieldContainer[Compartment]
    compartments_total: int
    compartments_occupied: int
    compartments_free: int
    compartments_out_of_service: int
    outbox_backlog: int
    def __init__(self, kiosk_id: _Optional[str] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., online: _Optional[bool] = ..., devices: _Optional[_Iterable[_Union[DeviceHealth, _Mapping]]] = ..., compartments: _Optional[_Iterable[_Union[Compartment, _Mapping]]] = ..., compartments_total: _Optional[int] = ..., compartments_occupied: _Optional[int] = ..., compartments_free: _Optional[int] = ..., compartments_out_of_service: _Optional[int] = ..., outbox_backlog: _Optional[int] = ...) -> None: ...

class ListKiosksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListKiosksResponse(_message.Message):
    __slots__ = ("kiosks",)
    KIOSKS_FIELD_NUMBER: _ClassVar[int]
    kiosks: _containers.RepeatedCompositeFieldContainer[KioskStatus]
    def __init__(self, kiosks: _Optional[_Iterable[_Union[KioskStatus, _Mapping]]] = ...) -> None: ...

class SendKioskCommandRequest(_message.Message):
    __slots__ = ("request_id", "kiosk_id", "command")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    kiosk_id: str
    command: RemoteCommand
    def __init__(self, request_id: _Optional[str] = ..., kiosk_id: _Optional[str] = ..., command: _Optional[_Union[RemoteCommand, _Mapping]] = ...) -> None: ...

class SendKioskCommandResponse(_message.Message):
    __slots__ = ("command_id",)
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    def __init__(self, command_id: _Optional[str] = ...) -> None: ...

class StaffMember(_message.Message):
    __slots__ = ("staff_id", "active", "create_time", "card_unlock_time")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CARD_UNLOCK_TIME_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    active: bool
    create_time: _timestamp_pb2.Timestamp
    card_unlock_time: _timestamp_pb2.Timestamp
    def __init__(self, staff_id: _Optional[str] = ..., active: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., card_unlock_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateStaffMemberRequest(_message.Message):
    __slots__ = ("request_id", "staff_id", "card_uid", "pin")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_UID_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    staff_id: str
    card_uid: str
    pin: str
    def __init__(self, request_id: _Optional[str] = ..., staff_id: _Optional[str] = ..., card_uid: _Optional[str] = ..., pin: _Optional[str] = ...) -> None: ...

class CreateStaffMemberResponse(_message.Message):
    __slots__ = ("staff_member",)
    STAFF_MEMBER_FIELD_NUMBER: _ClassVar[int]
    staff_member: StaffMember
    def __init__(self, staff_member: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class ListStaffMembersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStaffMembersResponse(_message.Message):
    __slots__ = ("staff_members",)
    STAFF_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    staff_members: _containers.RepeatedCompositeFieldContainer[StaffMember]
    def __init__(self, staff_members: _Optional[_Iterable[_Union[StaffMember, _Mapping]]] = ...) -> None: ...

class DeactivateStaffMemberRequest(_message.Message):
    __slots__ = ("request_id", "staff_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    staff_id: str
    def __init__(self, request_id: _Optional[str] = ..., staff_id: _Optional[str] = ...) -> None: ...

class DeactivateStaffMemberResponse(_message.Message):
    __slots__ = ("staff_member",)
    STAFF_MEMBER_FIELD_NUMBER: _ClassVar[int]
    staff_member: StaffMember
    def __init__(self, staff_member: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class ListKioskEventsRequest(_message.Message):
    __slots__ = ("kiosk_id", "types", "alarms_only", "since_time", "page_size", "page_token")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    ALARMS_ONLY_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    types: _containers.RepeatedScalarFieldContainer[EventType]
    alarms_only: bool
    since_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, kiosk_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[EventType, str]]] = ..., alarms_only: _Optional[bool] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class StoredKioskEvent(_message.Message):
    __slots__ = ("kiosk_id", "event", "receive_time", "alarm")
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    kiosk_id: str
    event: KioskEvent
    receive_time: _timestamp_pb2.Timestamp
    alarm: bool
    def __init__(self, kiosk_id: _Optional[str] = ..., event: _Optional[_Union[KioskEvent, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alarm: _Optional[bool] = ...) -> None: ...

class ListKioskEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[StoredKioskEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[StoredKioskEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListOrderMessagesRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class OrderMessage(_message.Message):
    __slots__ = ("kind", "channel", "status", "reason", "attempts", "create_time", "scheduled_time", "final_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_TIME_FIELD_NUMBER: _ClassVar[int]
    FINAL_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    channel: str
    status: MessageStatus
    reason: str
    attempts: int
    create_time: _timestamp_pb2.Timestamp
    scheduled_time: _timestamp_pb2.Timestamp
    final_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., channel: _Optional[str] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., final_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListOrderMessagesResponse(_message.Message):
    __slots__ = ("messages", "messages_enabled")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_ENABLED_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[OrderMessage]
    messages_enabled: bool
    def __init__(self, messages: _Optional[_Iterable[_Union[OrderMessage, _Mapping]]] = ..., messages_enabled: _Optional[bool] = ...) -> None: ...

class Alarm(_message.Message):
    __slots__ = ("alarm_id", "kind", "kiosk_id", "compartment_number", "order_reference", "raise_time", "detail", "state", "acknowledged_by", "acknowledge_time", "comment")
    ALARM_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    COMPARTMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RAISE_TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    alarm_id: str
    kind: str
    kiosk_id: str
    compartment_number: int
    order_reference: str
    raise_time: _timestamp_pb2.Timestamp
    detail: str
    state: AlarmState
    acknowledged_by: str
    acknowledge_time: _timestamp_pb2.Timestamp
    comment: str
    def __init__(self, alarm_id: _Optional[str] = ..., kind: _Optional[str] = ..., kiosk_id: _Optional[str] = ..., compartment_number: _Optional[int] = ..., order_reference: _Optional[str] = ..., raise_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ..., state: _Optional[_Union[AlarmState, str]] = ..., acknowledged_by: _Optional[str] = ..., acknowledge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., comment: _Optional[str] = ...) -> None: ...

class ListAlarmsRequest(_message.Message):
    __slots__ = ("days", "kiosk_id", "kinds", "page_size", "page_token")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    KIOSK_ID_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    days: int
    kiosk_id: str
    kinds: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, days: _Optional[int] = ..., kiosk_id: _Optional[str] = ..., kinds: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlarmsResponse(_message.Message):
    __slots__ = ("alarms", "next_page_token")
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[Alarm]
    next_page_token: str
    def __init__(self, alarms: _Optional[_Iterable[_Union[Alarm, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AcknowledgeAlarmRequest(_message.Message):
    __slots__ = ("request_id", "alarm_id", "comment")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALARM_ID_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    alarm_id: str
    comment: str
    def __init__(self, request_id: _Optional[str] = ..., alarm_id: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class AcknowledgeAlarmResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...
