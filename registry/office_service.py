"""OfficeService: what the office software and `kiosk-registry` call.

Idempotency (AIP-155): a mutating call with a ``request_id`` stores its
response in the same transaction as its effect, and a retry with that id gets
the stored response back. CreatePickupOrder is the one exception to an
identical replay: the stored response has no code, QR payload or PIN, because
the secret is handed out exactly once and never kept in plaintext for replays.
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from google.protobuf import json_format

from kiosk.domain.compartment import Size
from common.credentials import (
    ALPHABET,
    CredentialFormatError,
    generate_code,
    generate_pin,
    group_code,
    lookup_key,
    make_verifier,
    normalize_card_uid,
    qr_payload,
    validate_pin,
)
from kiosk.domain.pickup_order import OrderStatus, requires_pin_letter_confirmation
from registry import validation
from common.convert import (
    document_kind_from_proto,
    document_kind_to_proto,
    from_timestamp,
    order_status_from_proto,
    order_status_to_proto,
    size_from_proto,
    size_to_proto,
    from_timestamp,
    to_timestamp,
)
from registry import alarms
from registry.events import ALARM_EVENTS, event_type_name
from registry.aio_calls import in_thread
from registry.auth import Guard, current_principal
from registry.batching import Batches
from registry.permissions import (
    Decision,
    Permission,
    Principal,
    check_command,
    check_office,
    check_permission,
    may_see_order_references,
)
from registry.retention import Retention
from registry.secret_hold import SecretHold
from registry.database import (
    DEFAULT_OFFICE,
    DuplicateError,
    RegistryDatabase,
    StoredKiosk,
    StoredOrder,
    StoredStaff,
    Transaction,
    utcnow,
)
from registry.kiosk_service import COMMAND_EXPIRY, MAX_EVENT_ID_LENGTH
from registry.messages.hooks import (
    notify_cancelled,
    notify_reissued,
    notify_reminder,
    notify_returned_to_counter,
    reminder_channel,
    sends_messages,
)
from registry.messages.status import order_messages
from registry.errors import (
    KIOSK_NOT_FOUND,
    MESSAGES_NOT_CONFIGURED,
    ORDER_EXISTS,
    ORDER_HAS_NO_CONTACT,
    ORDER_IN_BOX,
    ORDER_NOT_CANCELLABLE,
    ORDER_NOT_EXTENDABLE,
    ORDER_NOT_FOUND,
    ORDER_NOT_REISSUABLE,
    ORDER_NOT_RETURNABLE,
    ORDER_NOT_WAITING,
    STAFF_EXISTS,
    STAFF_INACTIVE,
    STAFF_NOT_FOUND,
    ALARM_ALREADY_ACKNOWLEDGED,
    ALARM_NOT_FOUND,
    RegistryError,
    abort_on_error,
    refuse_async,
    invalid_argument,
)
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_KIOSK_ID = "kiosk-1"
ONLINE_WINDOW = timedelta(seconds=90)
DEFAULT_LIST_PAGE_SIZE = 100
MAX_LIST_PAGE_SIZE = 1000
REFERENCE_PREFIX = "PO-"
REFERENCE_RANDOM_CHARS = 8
# A code collision needs two equal 45-bit codes; a few draws are plenty.
MAX_CODE_DRAWS = 5

RESYNC = pb.CommandType.Name(pb.COMMAND_TYPE_RESYNC)
_COMMANDS_FOR_A_COMPARTMENT = {
    pb.COMMAND_TYPE_OPEN_COMPARTMENT,
    pb.COMMAND_TYPE_SET_OUT_OF_SERVICE,
    pb.COMMAND_TYPE_SET_IN_SERVICE,
}


def generate_reference() -> str:
    return REFERENCE_PREFIX + "".join(
        secrets.choice(ALPHABET) for _ in range(REFERENCE_RANDOM_CHARS)
    )


def order_to_proto(order: StoredOrder) -> pb.PickupOrder:
    return pb.PickupOrder(
        reference=order.reference,
        kind=document_kind_to_proto(order.kind),
        status=order_status_to_proto(order.status),
        size=size_to_proto(order.size),
        needs_low_compartment=order.needs_low_compartment,
        requires_pin_letter_confirmation=order.requires_pin_letter_confirmation,
        kiosk_id=order.kiosk_id,
        compartment_number=order.compartment_number or 0,
        create_time=to_timestamp(order.create_time),
        deposit_time=to_timestamp(order.deposit_time),
        pickup_deadline=to_timestamp(order.pickup_deadline),
        collect_time=to_timestamp(order.collect_time),
        old_document_return_time=to_timestamp(order.old_document_return_time),
        locked=order.locked,
    )


def staff_to_proto(staff: StoredStaff) -> pb.StaffMember:
    return pb.StaffMember(
        staff_id=staff.staff_id, active=staff.active, create_time=to_timestamp(staff.create_time),
        card_unlock_time=to_timestamp(staff.card_unlock_time),
    )


def queue_resync(tx: Transaction, kiosk_id: str, reason: str) -> None:
    # One unacknowledged RESYNC is as good as many: the kiosk syncs everything
    # that changed since its cursor anyway (and its periodic sync covers the
    # moment between carrying one out and acknowledging it).
    if not tx.has_undelivered(kiosk_id, RESYNC):
        tx.queue_command(kiosk_id, RESYNC, reason=reason, requested_by="registry")


def order_not_found(reference: str) -> RegistryError:
    return RegistryError(
        grpc.StatusCode.NOT_FOUND,
        ORDER_NOT_FOUND,
        f"order {reference} not found",
        {"reference": reference},
    )


def kiosk_not_found(kiosk_id: str) -> RegistryError:
    return RegistryError(
        grpc.StatusCode.NOT_FOUND,
        KIOSK_NOT_FOUND,
        f"kiosk {kiosk_id} not found: enrol it with `kiosk-registry kiosk enrol {kiosk_id}`",
        {"kiosk_id": kiosk_id},
    )


def require_open(order: StoredOrder, reason: str, why: str) -> None:
    """Cancel and reissue act only on orders the citizen has not collected or lost yet."""
    if order.status not in (OrderStatus.ANNOUNCED, OrderStatus.DEPOSITED):
        refuse_if(order, (reason, why))


def refuse_if(order: StoredOrder, refusal: tuple[str, str] | None) -> None:
    """A rule's refusal (reason, why) as the caller's FAILED_PRECONDITION."""
    if refusal is not None:
        reason, why = refusal
        raise RegistryError(
            grpc.StatusCode.FAILED_PRECONDITION,
            reason,
            f"order {order.reference} is {order.status.value}{why}",
            {"reference": order.reference, "status": order.status.value},
        )


# Where the document is while the order has one of these statuses: still in a
# compartment (a cancelled order's only if it was deposited).
_IN_THE_BOX = (OrderStatus.DEPOSITED, OrderStatus.EXPIRED)


def counter_return_refusal(status: OrderStatus, deposited: bool) -> tuple[str, str] | None:
    """May an order with ``status`` be marked as returned to the counter? None
    if so, else (reason, why) for the clerk. ``deposited``: it was ever put in
    the box (a cancelled order's document stays there until staff remove it).

    Allowed: an announced order (never deposited; the citizen gets it at the
    counter) and a removed one (staff took the document out of the box).
    A document still in a compartment must first be taken out at the box, or
    the kiosk would go on holding a document the office believes it has.
    """
    if status is OrderStatus.ANNOUNCED or status is OrderStatus.REMOVED:
        return None
    if status in _IN_THE_BOX or (status is OrderStatus.CANCELLED and deposited):
        return ORDER_IN_BOX, (
            " and its document is still in the box; have it removed at the box first"
            " (a staff member takes it out with their card), then mark it as returned"
            " to the counter")
    return ORDER_NOT_RETURNABLE, (
        "; only an announced order or one whose document was taken out of the box"
        " can be returned to the counter")


def reminder_refusal(status: OrderStatus, channel: str) -> tuple[str, str] | None:
    """May the pickup reminder of an order with ``status`` be sent again to a
    contact of ``channel`` ("" for none)? None if so, else (reason, why)."""
    if status is not OrderStatus.DEPOSITED:
        return ORDER_NOT_WAITING, (
            "; only a document waiting in the box for its citizen gets a reminder")
    if not channel:
        return ORDER_HAS_NO_CONTACT, (
            " but has no e-mail address or mobile number to remind; print the letter instead")
    return None


def home_office(principal: Principal) -> str:
    """Where new staff and orders of this caller belong."""
    return principal.office_id or DEFAULT_OFFICE


@dataclass(frozen=True)
class CommandSend:
    """One SendKioskCommand call's part of a group commit: checked already, but
    for what needs the database (replay, the kiosk and its office)."""

    principal: Principal
    request: pb.SendKioskCommandRequest
    type_name: str
    expire_at: datetime | None


@dataclass(frozen=True)
class OfficeRefusal:
    """A send refused in the group commit: the kiosk belongs to another office.
    Its caller audits it after the commit (the batch must not roll back for it)."""

    decision: Decision
    office_id: str


class OfficeServicer(registry_pb2_grpc.OfficeServiceServicer):
    def __init__(
        self, db: RegistryDatabase, guard: Guard, retention: Retention, notifier=None
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._guard = guard
        self._retention = retention
        self._secrets = SecretHold()
        # Group commit of command sends (registry.batching): a burst of sends
        # shares a few commits, and the streams they wake are woken together.
        self._command_sends: Batches[CommandSend, object] = Batches(
            self._store_command_sends, "command-sends")

    def close(self) -> None:
        """Ends the thread of the group commit (the server has stopped serving)."""
        self._command_sends.close()

    def _own_order(self, tx: Transaction, reference: str) -> StoredOrder:
        """The order, if the caller's office owns it (refused and audited otherwise)."""
        order = tx.get_order(reference)
        if order is None:
            raise order_not_found(reference)
        self._guard.require(
            check_office(current_principal(), order.office_id), target=reference,
            office_id=order.office_id,
        )
        return order

    def _kiosk_office(self, tx: Transaction, kiosk_id: str) -> str:
        office_id = tx.kiosk_office(kiosk_id)
        if office_id is None:
            raise kiosk_not_found(kiosk_id)
        self._guard.require(
            check_office(current_principal(), office_id), target=kiosk_id, office_id=office_id
        )
        return office_id

    def _replayed(self, method: str, request_id: str, response_type):
        validation.request_id(request_id)
        with self._db.transaction() as tx:
            stored = tx.replay(method, request_id)
        return None if stored is None else response_type.FromString(stored)

    def _change_order(self, method: str, request, response_type, change):
        """The frame of every write to one order: a request_id seen before gets the
        first answer again and nothing is done twice (checked before and, for a
        double submit racing the first, inside the transaction); the reference is
        required; ``change(tx, order)`` runs in one transaction on the order the
        caller may act on and returns (response, outcome). The response is kept
        for replays. Returns (response, outcome), outcome None for a replay: what
        follows the commit (log, messages, retention) is the caller's, once."""
        replayed = self._replayed(method, request.request_id, response_type)
        if replayed is not None:
            return replayed, None
        if not request.reference:
            raise invalid_argument("reference", "is required")
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return response_type.FromString(stored), None
            response, outcome = change(tx, self._own_order(tx, request.reference))
            tx.remember(method, request.request_id, response.SerializeToString())
        return response, outcome

    # ---------------------------------------------------------------- orders

    @abort_on_error
    def CreatePickupOrder(
        self, request: pb.CreatePickupOrderRequest, context
    ) -> pb.CreatePickupOrderResponse:
        method = "CreatePickupOrder"
        principal = current_principal()
        replayed = self._replayed(method, request.request_id, pb.CreatePickupOrderResponse)
        if replayed is not None:
            return self._secrets.fill(principal, request.request_id, replayed)

        if request.kind == pb.DOCUMENT_KIND_UNSPECIFIED:
            raise invalid_argument("kind", "is required (e.g. DOCUMENT_KIND_ID_CARD)")
        try:
            kind = document_kind_from_proto(request.kind)
        except ValueError:
            raise invalid_argument("kind", f"value {request.kind} is not a document kind") from None
        try:
            size = size_from_proto(request.size) if request.size else Size.S
        except ValueError:
            raise invalid_argument(
                "size", f"value {request.size} is not a compartment size"
            ) from None
        if request.pin:
            try:
                pin = validate_pin(request.pin)
            except CredentialFormatError as error:
                raise invalid_argument(
                    "pin", f"{error}, or leave it empty to generate one"
                ) from None
        else:
            pin = generate_pin()
        validation.identifier("reference", request.reference, required=False)
        validation.identifier("kiosk_id", request.kiosk_id, required=False)
        validation.contact(request.contact)

        params, salt = self._db.policy.params, self._db.policy.lookup_salt
        for _ in range(MAX_CODE_DRAWS):
            reference = request.reference or generate_reference()
            code = generate_code()
            # Hash outside the transaction: scrypt is slow on purpose, and the
            # database lock should not wait for it.
            code_lookup = lookup_key(code, salt, params)
            pin_verifier = make_verifier(code, pin, params=params)
            try:
                with self._db.transaction() as tx:
                    stored = tx.replay(method, request.request_id)
                    if stored is not None:  # a concurrent retry won the race
                        return self._secrets.fill(
                            principal, request.request_id,
                            pb.CreatePickupOrderResponse.FromString(stored),
                        )
                    kiosk_id = request.kiosk_id or self._default_kiosk(tx, principal)
                    office_id = self._kiosk_office(tx, kiosk_id)
                    order = tx.insert_order(
                        reference=reference,
                        kind=kind,
                        size=size,
                        needs_low_compartment=request.needs_low_compartment,
                        requires_pin_letter_confirmation=requires_pin_letter_confirmation(kind),
                        kiosk_id=kiosk_id,
                        code_lookup=code_lookup,
                        pin_verifier=pin_verifier,
                        pending_code=code,
                        contact=request.contact,
                        create_time=utcnow(),
                        office_id=office_id,
                    )
                    tx.audit(principal.label, "order.created", office_id=office_id,
                             target=reference, kiosk=kiosk_id, kind=kind.value)
                    queue_resync(tx, kiosk_id, f"order {reference} created")
                    replay = pb.CreatePickupOrderResponse(order=order_to_proto(order))
                    tx.remember(method, request.request_id, replay.SerializeToString())
            except DuplicateError as duplicate:
                if duplicate.what == "reference" and request.reference:
                    raise RegistryError(
                        grpc.StatusCode.ALREADY_EXISTS,
                        ORDER_EXISTS,
                        f"order {reference} already exists",
                        {"reference": reference},
                    ) from None
                continue  # a generated reference or the code collided: draw again
            log.info("order %s (%s) created for kiosk %s", reference, kind.value, kiosk_id)
            response = pb.CreatePickupOrderResponse()
            response.CopyFrom(replay)
            response.pickup_code = group_code(code)
            response.qr_payload = qr_payload(code)
            if not request.pin:
                response.pin = pin
            self._secrets.hold(principal, request.request_id, response)
            return response
        raise RuntimeError(f"no unique code after {MAX_CODE_DRAWS} draws; is the RNG broken?")

    def _default_kiosk(self, tx: Transaction, principal: Principal) -> str:
        # The office's only kiosk in service, else its only enrolled one.
        enrolled = tx.enrolled_kiosks(principal.office_id)
        registered = {k.kiosk_id for k in tx.list_kiosks(principal.office_id)}
        kiosk_ids = [k for k in enrolled if k in registered] or enrolled
        if not kiosk_ids:
            return DEFAULT_KIOSK_ID
        if len(kiosk_ids) == 1:
            return kiosk_ids[0]
        raise invalid_argument(
            "kiosk_id", f"several kiosks are enrolled ({', '.join(kiosk_ids)}); name one"
        )

    @abort_on_error
    def CancelPickupOrder(
        self, request: pb.CancelPickupOrderRequest, context
    ) -> pb.CancelPickupOrderResponse:
        validation.text("reason", request.reason)

        def cancel(tx, order):
            require_open(order, ORDER_NOT_CANCELLABLE,
                         " and can no longer be cancelled; only announced or deposited orders can")
            order = tx.update_order(
                order.reference,
                status=OrderStatus.CANCELLED,
                cancel_reason=request.reason,
                pending_code=None,
            )
            tx.audit(current_principal().label, "order.cancelled", office_id=order.office_id,
                     target=order.reference, reason=request.reason)
            queue_resync(tx, order.kiosk_id, f"order {order.reference} cancelled")
            return pb.CancelPickupOrderResponse(order=order_to_proto(order)), order

        response, order = self._change_order(
            "CancelPickupOrder", request, pb.CancelPickupOrderResponse, cancel)
        if order is not None:
            log.info("order %s cancelled", order.reference)
            notify_cancelled(self._notifier, order)  # messages hook
            self._retention.run()
        return response

    @abort_on_error
    def ExtendPickupDeadline(
        self, request: pb.ExtendPickupDeadlineRequest, context
    ) -> pb.ExtendPickupDeadlineResponse:
        validation.text("reason", request.reason)
        wanted = from_timestamp(request.pickup_deadline) if request.HasField(
            "pickup_deadline") else None

        def extend(tx, order):
            if order.status is not OrderStatus.DEPOSITED:
                raise RegistryError(
                    grpc.StatusCode.FAILED_PRECONDITION, ORDER_NOT_EXTENDABLE,
                    f"order {order.reference} is {order.status.value}; only a document in"
                    " the box gets a later deadline",
                    {"reference": order.reference, "status": order.status.value},
                )
            deadline = validation.new_deadline(order.pickup_deadline, wanted, utcnow())
            order = tx.update_order(order.reference, pickup_deadline=deadline)
            tx.audit(current_principal().label, "order.deadline_extended",
                     office_id=order.office_id, target=order.reference, reason=request.reason,
                     deadline=deadline.isoformat())
            queue_resync(tx, order.kiosk_id, f"order {order.reference} has a later deadline")
            return pb.ExtendPickupDeadlineResponse(order=order_to_proto(order)), order

        response, order = self._change_order(
            "ExtendPickupDeadline", request, pb.ExtendPickupDeadlineResponse, extend)
        if order is not None:
            log.info("order %s may be collected until %s", order.reference,
                     order.pickup_deadline.isoformat())
        return response

    @abort_on_error
    def MarkReturnedToCounter(
        self, request: pb.MarkReturnedToCounterRequest, context
    ) -> pb.MarkReturnedToCounterResponse:
        validation.text("reason", request.reason)

        def mark_returned(tx, order):
            refuse_if(order, counter_return_refusal(order.status, order.deposit_time is not None))
            before = order.status
            # Ended like a cancellation: end_time starts the retention clock,
            # the new change_seq carries the status to the kiosk, which drops
            # the order (kiosk/uplink/sync.py), and a code not yet told is gone.
            order = tx.update_order(order.reference, status=OrderStatus.RETURNED_TO_COUNTER,
                                    pending_code=None, locked=False)
            tx.audit(current_principal().label, "order.returned_to_counter",
                     office_id=order.office_id, target=order.reference, reason=request.reason,
                     was=before.value)
            queue_resync(tx, order.kiosk_id, f"order {order.reference} returned to the counter")
            return pb.MarkReturnedToCounterResponse(order=order_to_proto(order)), (order, before)

        response, outcome = self._change_order(
            "MarkReturnedToCounter", request, pb.MarkReturnedToCounterResponse, mark_returned)
        if outcome is not None:
            order, before = outcome
            log.info("order %s returned to the counter (was %s)", order.reference, before.value)
            notify_returned_to_counter(self._notifier, order)  # messages hook
            self._retention.run()
        return response

    @abort_on_error
    def ResendPickupReminder(
        self, request: pb.ResendPickupReminderRequest, context
    ) -> pb.ResendPickupReminderResponse:
        def resend(tx, order):
            channel = reminder_channel(order)
            refuse_if(order, reminder_refusal(order.status, channel))
            if not sends_messages(self._notifier):
                raise RegistryError(
                    grpc.StatusCode.FAILED_PRECONDITION, MESSAGES_NOT_CONFIGURED,
                    "this registry sends no messages to citizens (start it with"
                    " --notifier directory,messages); print the letter instead",
                    {"reference": order.reference},
                )
            # The audit entry's number makes the message's key: each resend is
            # a new message, a replay of the same request_id none.
            sequence = tx.audit(current_principal().label, "order.reminder_resent",
                                office_id=order.office_id, target=order.reference,
                                channel=channel)
            response = pb.ResendPickupReminderResponse(order=order_to_proto(order),
                                                       channel=channel)
            return response, (order, sequence)

        response, outcome = self._change_order(
            "ResendPickupReminder", request, pb.ResendPickupReminderResponse, resend)
        if outcome is not None:  # a double submit sends no second message
            order, sequence = outcome
            log.info("the reminder of order %s goes out again by %s", order.reference,
                     response.channel)
            notify_reminder(self._notifier, order, sequence)  # messages hook
        return response

    @abort_on_error
    def ReissuePickupCode(
        self, request: pb.ReissuePickupCodeRequest, context
    ) -> pb.ReissuePickupCodeResponse:
        method = "ReissuePickupCode"
        principal = current_principal()
        replayed = self._replayed(method, request.request_id, pb.ReissuePickupCodeResponse)
        if replayed is not None:
            return self._secrets.fill(principal, request.request_id, replayed)
        if not request.reference:
            raise invalid_argument("reference", "is required")
        validation.text("reason", request.reason)
        if request.pin:
            try:
                pin = validate_pin(request.pin)
            except CredentialFormatError as error:
                raise invalid_argument("pin", f"{error}, or leave it empty to generate one") from None
        else:
            pin = generate_pin()
        code = generate_code()
        params, salt = self._db.policy.params, self._db.policy.lookup_salt
        code_lookup = lookup_key(code, salt, params)
        pin_verifier = make_verifier(code, pin, params=params)
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return self._secrets.fill(
                    principal, request.request_id, pb.ReissuePickupCodeResponse.FromString(stored)
                )
            order = self._own_order(tx, request.reference)
            require_open(order, ORDER_NOT_REISSUABLE,
                         "; only announced or deposited orders get a new code")
            # The new hashes replace the old ones in one update, so the old
            # code and PIN stop working here at once and at each kiosk with
            # the sync this update's change_seq triggers. pending_code: an
            # announced order's ready notice carries the new code; a deposited
            # order's citizen is told now (notify_reissued, after the commit),
            # and the directory notifier rewrites its notice from pending_code.
            order = tx.update_order(
                order.reference, code_lookup=code_lookup, pin_verifier=pin_verifier,
                pending_code=code, locked=False,
            )
            tx.audit(principal.label, "order.reissued", office_id=order.office_id,
                     target=order.reference, reason=request.reason)
            queue_resync(tx, order.kiosk_id, f"order {order.reference} reissued")
            replay = pb.ReissuePickupCodeResponse(order=order_to_proto(order))
            tx.remember(method, request.request_id, replay.SerializeToString())
        log.info("order %s got a new code", order.reference)
        notify_reissued(self._notifier, order, code)  # messages hook
        response = pb.ReissuePickupCodeResponse()
        response.CopyFrom(replay)
        response.pickup_code = group_code(code)
        response.qr_payload = qr_payload(code)
        if not request.pin:
            response.pin = pin
        self._secrets.hold(principal, request.request_id, response)
        return response

    @abort_on_error
    def GetPickupOrder(
        self, request: pb.GetPickupOrderRequest, context
    ) -> pb.GetPickupOrderResponse:
        if not request.reference:
            raise invalid_argument("reference", "is required")
        with self._db.transaction() as tx:
            order = self._own_order(tx, request.reference)
        return pb.GetPickupOrderResponse(order=order_to_proto(order))

    @abort_on_error
    def ListOrderMessages(
        self, request: pb.ListOrderMessagesRequest, context
    ) -> pb.ListOrderMessagesResponse:
        if not request.reference:
            raise invalid_argument("reference", "is required")
        with self._db.transaction() as tx:
            self._own_order(tx, request.reference)  # unknown, or another office's: refused
        return order_messages(self._notifier, request.reference)  # messages hook

    @abort_on_error
    def ListPickupOrders(
        self, request: pb.ListPickupOrdersRequest, context
    ) -> pb.ListPickupOrdersResponse:
        statuses: list[OrderStatus] = []
        for i, value in enumerate(request.statuses):
            try:
                statuses.append(order_status_from_proto(value))
            except ValueError:
                raise invalid_argument(
                    f"statuses[{i}]", f"{value} is not an order status"
                ) from None
        validation.identifier("kiosk_id", request.kiosk_id, required=False)
        token = request.page_token
        if token and not (token.isascii() and token.isdigit() and len(token) <= 20):
            raise invalid_argument("page_token", "pass the next_page_token of the last response")
        limit = validation.page_size(
            request.page_size, default=DEFAULT_LIST_PAGE_SIZE, maximum=MAX_LIST_PAGE_SIZE
        )
        created_after = from_timestamp(request.created_after)
        created_before = from_timestamp(request.created_before)
        if created_after and created_before and created_before <= created_after:
            raise invalid_argument("created_before", "must be later than created_after")
        with self._db.transaction() as tx:
            rows = tx.list_orders(
                statuses=statuses,
                kiosk_id=request.kiosk_id,
                after_rowid=int(token or 0),
                limit=limit + 1,
                office_id=current_principal().office_id,
                created_after=created_after,
                created_before=created_before,
            )
        page = rows[:limit]
        return pb.ListPickupOrdersResponse(
            orders=[order_to_proto(order) for _, order in page],
            next_page_token=str(page[-1][0]) if len(rows) > limit else "",
        )

    # ---------------------------------------------------------------- kiosks

    @abort_on_error
    def ListKiosks(self, request: pb.ListKiosksRequest, context) -> pb.ListKiosksResponse:
        principal = current_principal()
        with self._db.transaction() as tx:
            kiosks = tx.list_kiosks(principal.office_id)
        now = utcnow()
        # A technician sees device health and compartment states, not which
        # order sits where.
        details = check_permission(principal, Permission.ORDERS_READ).allowed
        response = pb.ListKiosksResponse()
        for kiosk in kiosks:
            status = kiosk_status(kiosk, now)
            if not details:
                for compartment in status.compartments:
                    compartment.order_reference = ""
            response.kiosks.append(status)
        return response

    async def SendKioskCommand(
        self, request: pb.SendKioskCommandRequest, context
    ) -> pb.SendKioskCommandResponse:
        """A coroutine: the command's write joins the next group commit of
        command sends (registry.batching), so the office sending one command
        to every kiosk costs a few transactions, not one commit per kiosk
        contending with the heartbeats' at the one writer. The answer goes out
        once the command, its audit entry and its replay answer committed."""
        try:
            send, refusal = self._command_send(request)
            if refusal is not None:  # audited (a write): not on the loop
                await in_thread(None, functools.partial(
                    self._guard.require, refusal, target=request.kiosk_id))
            outcome = await self._command_sends.submit(send)
            if isinstance(outcome, OfficeRefusal):
                await in_thread(None, self._refuse_send, send, outcome)
            return self._command_sent(send, outcome)
        except RegistryError as error:
            return await refuse_async(context, error)

    def _send_command_now(self, request: pb.SendKioskCommandRequest, context=None
                          ) -> pb.SendKioskCommandResponse:
        """SendKioskCommand for a caller in a thread of its own, without the
        server's event loop (the HTTP API): the same write, as a batch of one."""
        send, refusal = self._command_send(request)
        if refusal is not None:
            self._guard.require(refusal, target=request.kiosk_id)
        (outcome,) = self._store_command_sends([send])
        if isinstance(outcome, OfficeRefusal):
            self._refuse_send(send, outcome)
        return self._command_sent(send, outcome)

    # What the HTTP API calls (it takes the servicer method without its gRPC edge).
    SendKioskCommand.__wrapped__ = _send_command_now  # type: ignore[attr-defined]

    def _command_send(self, request: pb.SendKioskCommandRequest
                      ) -> tuple[CommandSend, Decision | None]:
        """The checks that need no database (cheap: on the loop), and the
        caller's permission refusal if any, which its caller audits and raises."""
        validation.request_id(request.request_id)
        validation.identifier("kiosk_id", request.kiosk_id)
        command = request.command
        if command.type == pb.COMMAND_TYPE_UNSPECIFIED:
            raise invalid_argument("command.type", "is required")
        try:
            type_name = pb.CommandType.Name(command.type)
        except ValueError:
            raise invalid_argument(
                "command.type", f"{command.type} is not a command type"
            ) from None
        if command.type in _COMMANDS_FOR_A_COMPARTMENT and command.compartment_number == 0:
            raise invalid_argument("command.compartment_number", f"is required for {type_name}")
        validation.text("command.reason", command.reason)
        expire_at = _command_expiry(command)
        principal = current_principal()
        decision = check_command(principal, command.type, command.reason)
        return (CommandSend(principal, request, type_name, expire_at),
                None if decision.allowed else decision)

    def _refuse_send(self, send: CommandSend, refusal: OfficeRefusal) -> None:
        """Audits and raises the refusal of a send to another office's kiosk
        (after the group commit, which it must not roll back)."""
        self._guard.require(refusal.decision, target=send.request.kiosk_id,
                            office_id=refusal.office_id)

    @staticmethod
    def _command_sent(send: CommandSend, outcome) -> pb.SendKioskCommandResponse:
        if isinstance(outcome, RegistryError):
            raise outcome
        log.info(
            "command %s (%s, compartment %d) queued for kiosk %s", outcome.command_id,
            send.type_name, send.request.command.compartment_number, send.request.kiosk_id,
        )
        return outcome

    def _store_command_sends(self, sends: list[CommandSend]) -> list:
        """One transaction for the commands sent meanwhile; per send its response,
        or the RegistryError / refused Decision its caller raises. Only checks
        that write nothing refuse a send, so a refused one never rolls back the
        others; a database failure fails them all (nothing was committed)."""
        method = "SendKioskCommand"
        outcomes: list = [None] * len(sends)
        with self._db.transaction() as tx:
            # Replay locks in one order, so two instances' batches cannot deadlock.
            replays: dict[str, bytes | None] = {
                rid: tx.replay(method, rid)
                for rid in sorted({s.request.request_id for s in sends} - {""})
            }
            for n, send in enumerate(sends):
                outcomes[n] = self._store_command_send(tx, send, replays)
        return outcomes

    def _store_command_send(self, tx: Transaction, send: CommandSend,
                            replays: dict[str, bytes | None]):
        method = "SendKioskCommand"
        request, principal = send.request, send.principal
        stored = replays.get(request.request_id)
        if stored is not None:  # sent before (or earlier in this batch): the first answer
            return pb.SendKioskCommandResponse.FromString(stored)
        office_id = tx.kiosk_office(request.kiosk_id)
        if office_id is None:
            return kiosk_not_found(request.kiosk_id)
        decision = check_office(principal, office_id)
        if not decision.allowed:
            return OfficeRefusal(decision, office_id)
        if tx.get_kiosk(request.kiosk_id) is None:
            return RegistryError(
                grpc.StatusCode.NOT_FOUND,
                KIOSK_NOT_FOUND,
                f"kiosk {request.kiosk_id} not found: it has never registered",
                {"kiosk_id": request.kiosk_id},
            )
        command = request.command
        command_id = tx.queue_command(
            request.kiosk_id,
            send.type_name,
            compartment_number=command.compartment_number,
            reason=command.reason,
            # Who asked is what the registry authenticated, never what
            # the request claims.
            requested_by=principal.label,
            service_opening=command.service_opening,
            expire_at=send.expire_at,
        )
        tx.audit(principal.label, "command.sent", office_id=office_id,
                 target=request.kiosk_id, command=send.type_name, command_id=command_id,
                 compartment=command.compartment_number, reason=command.reason,
                 service_opening=command.service_opening)
        response = pb.SendKioskCommandResponse(command_id=command_id)
        if request.request_id:
            encoded = response.SerializeToString()
            tx.remember(method, request.request_id, encoded)
            replays[request.request_id] = encoded  # a double submit in the same batch
        return response

    # ----------------------------------------------------------------- staff

    @abort_on_error
    def CreateStaffMember(
        self, request: pb.CreateStaffMemberRequest, context
    ) -> pb.CreateStaffMemberResponse:
        method = "CreateStaffMember"
        replayed = self._replayed(method, request.request_id, pb.CreateStaffMemberResponse)
        if replayed is not None:
            return replayed
        staff_id = validation.identifier("staff_id", request.staff_id)
        try:
            card_uid = normalize_card_uid(request.card_uid)
        except CredentialFormatError as error:
            raise invalid_argument("card_uid", str(error)) from None
        try:
            pin = validate_pin(request.pin)
        except CredentialFormatError as error:
            raise invalid_argument("pin", str(error)) from None
        params, salt = self._db.policy.params, self._db.policy.lookup_salt
        card_lookup = lookup_key(card_uid, salt, params)
        pin_verifier = make_verifier(card_uid, pin, params=params)
        principal = current_principal()
        office_id = home_office(principal)
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return pb.CreateStaffMemberResponse.FromString(stored)
            if tx.get_staff(staff_id) is not None:
                raise RegistryError(
                    grpc.StatusCode.ALREADY_EXISTS,
                    STAFF_EXISTS,
                    f"staff member {staff_id} already exists",
                    {"staff_id": staff_id},
                )
            holder = tx.staff_by_card(card_lookup)
            if holder is not None and not holder.active and principal.may_see_office(holder.office_id):
                # The card of a deactivated member of this office, handed out
                # again (e.g. with a new PIN after a kiosk locked it for wrong PINs).
                tx.release_card(holder.staff_id)
            elif holder is not None:
                # Another office's staff stay anonymous to this caller.
                named = principal.may_see_office(holder.office_id)
                raise RegistryError(
                    grpc.StatusCode.ALREADY_EXISTS,
                    STAFF_EXISTS,
                    "this card is already registered"
                    + (f" to staff member {holder.staff_id}" if named else " elsewhere"),
                    {"staff_id": holder.staff_id} if named else {},
                )
            staff = tx.insert_staff(
                staff_id=staff_id,
                card_lookup=card_lookup,
                pin_verifier=pin_verifier,
                create_time=utcnow(),
                office_id=office_id,
            )
            tx.audit(principal.label, "staff.created", office_id=office_id, target=staff_id)
            for kiosk in tx.list_kiosks(office_id):
                queue_resync(tx, kiosk.kiosk_id, f"staff member {staff_id} added")
            response = pb.CreateStaffMemberResponse(staff_member=staff_to_proto(staff))
            tx.remember(method, request.request_id, response.SerializeToString())
        log.info("staff member %s created", staff_id)
        return response

    @abort_on_error
    def ListStaffMembers(
        self, request: pb.ListStaffMembersRequest, context
    ) -> pb.ListStaffMembersResponse:
        with self._db.transaction() as tx:
            staff = tx.list_staff(current_principal().office_id)
        return pb.ListStaffMembersResponse(staff_members=[staff_to_proto(s) for s in staff])

    @abort_on_error
    def DeactivateStaffMember(
        self, request: pb.DeactivateStaffMemberRequest, context
    ) -> pb.DeactivateStaffMemberResponse:
        method = "DeactivateStaffMember"
        replayed = self._replayed(method, request.request_id, pb.DeactivateStaffMemberResponse)
        if replayed is not None:
            return replayed
        staff_id = validation.identifier("staff_id", request.staff_id)
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return pb.DeactivateStaffMemberResponse.FromString(stored)
            staff = tx.get_staff(staff_id)
            if staff is not None:
                self._guard.require(check_office(current_principal(), staff.office_id),
                                    target=staff_id, office_id=staff.office_id)
            if staff is None:
                raise RegistryError(
                    grpc.StatusCode.NOT_FOUND,
                    STAFF_NOT_FOUND,
                    f"staff member {staff_id} not found",
                    {"staff_id": staff_id},
                )
            if staff.active:
                staff = tx.deactivate_staff(staff_id)
                tx.audit(current_principal().label, "staff.deactivated",
                         office_id=staff.office_id, target=staff_id)
                # A deactivated card (often: a lost one) must stop working at
                # every kiosk soon, not at the next routine sync.
                for kiosk in tx.list_kiosks(staff.office_id):
                    queue_resync(tx, kiosk.kiosk_id, f"staff member {staff_id} deactivated")
            response = pb.DeactivateStaffMemberResponse(staff_member=staff_to_proto(staff))
            tx.remember(method, request.request_id, response.SerializeToString())
        log.info("staff member %s deactivated", staff_id)
        return response

    @abort_on_error
    def UnlockStaffCard(
        self, request: pb.UnlockStaffCardRequest, context
    ) -> pb.UnlockStaffCardResponse:
        method = "UnlockStaffCard"
        replayed = self._replayed(method, request.request_id, pb.UnlockStaffCardResponse)
        if replayed is not None:
            return replayed
        staff_id = validation.identifier("staff_id", request.staff_id)
        validation.text("reason", request.reason)
        principal = current_principal()
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return pb.UnlockStaffCardResponse.FromString(stored)
            staff = tx.get_staff(staff_id)
            if staff is not None:
                self._guard.require(check_office(principal, staff.office_id),
                                    target=staff_id, office_id=staff.office_id)
            if staff is None:
                raise RegistryError(
                    grpc.StatusCode.NOT_FOUND, STAFF_NOT_FOUND,
                    f"staff member {staff_id} not found", {"staff_id": staff_id},
                )
            if not staff.active:
                raise RegistryError(
                    grpc.StatusCode.FAILED_PRECONDITION, STAFF_INACTIVE,
                    f"staff member {staff_id} is deactivated and their card works at no kiosk;"
                    " register the card again (with a new PIN) instead",
                    {"staff_id": staff_id},
                )
            # The kiosks compare this generation with the one they locked the
            # card under, so the unlock works at each of them without a command.
            staff = tx.unlock_card(staff_id, utcnow())
            tx.audit(principal.label, "staff.card_unlocked", office_id=staff.office_id,
                     target=staff_id, reason=request.reason, generation=staff.unlock_generation)
            for kiosk in tx.list_kiosks(staff.office_id):
                queue_resync(tx, kiosk.kiosk_id, f"staff card of {staff_id} unlocked")
            response = pb.UnlockStaffCardResponse(staff_member=staff_to_proto(staff))
            tx.remember(method, request.request_id, response.SerializeToString())
        log.info("staff card of %s unlocked (generation %d)", staff_id, staff.unlock_generation)
        return response

    # ---------------------------------------------------------- kiosk events

    @abort_on_error
    def ListKioskEvents(
        self, request: pb.ListKioskEventsRequest, context
    ) -> pb.ListKioskEventsResponse:
        validation.identifier("kiosk_id", request.kiosk_id)
        for i, value in enumerate(request.types):
            if value not in pb.EventType.values() or value == pb.EVENT_TYPE_UNSPECIFIED:
                raise invalid_argument(f"types[{i}]", f"{value} is not an event type")
        token = request.page_token
        if token and not (token.isascii() and token.isdigit() and len(token) <= 20):
            raise invalid_argument("page_token", "pass the next_page_token of the last response")
        limit = validation.page_size(
            request.page_size, default=DEFAULT_LIST_PAGE_SIZE, maximum=MAX_LIST_PAGE_SIZE
        )
        wanted = set(request.types)
        if request.alarms_only:
            wanted = (wanted & ALARM_EVENTS) if wanted else set(ALARM_EVENTS)
            if not wanted:  # only non-alarm types asked for, and only alarms
                return pb.ListKioskEventsResponse()
        since = from_timestamp(request.since_time)
        principal = current_principal()
        with self._db.transaction() as tx:
            office_id = tx.kiosk_office(request.kiosk_id)
        if office_id is None:
            raise kiosk_not_found(request.kiosk_id)
        # Checked outside the transaction: the guard audits a refusal in a
        # transaction of its own, which cannot nest in this one.
        self._guard.require(
            check_office(principal, office_id), target=request.kiosk_id, office_id=office_id
        )
        with self._db.transaction() as tx:
            rows = tx.list_events(
                request.kiosk_id,
                types=sorted(event_type_name(t) for t in wanted),
                since=since,
                after_rowid=int(token or 0),
                limit=limit + 1,
            )
        # Like ListKiosks: who may not read orders (a technician, the
        # operator's admin) sees what happened where, not to whose order.
        references = may_see_order_references(principal)
        page = rows[:limit]
        response = pb.ListKioskEventsResponse(
            next_page_token=str(page[-1][0]) if len(rows) > limit else ""
        )
        for _, kiosk_id, payload, received in page:
            event = pb.KioskEvent.FromString(payload)
            if not references:
                event.order_reference = ""
            stored = response.events.add(
                kiosk_id=kiosk_id, event=event, alarm=event.type in ALARM_EVENTS
            )
            if received is not None:
                stored.receive_time.CopyFrom(to_timestamp(received))
        return response

    # ---------------------------------------------------------------- alarms

    @abort_on_error
    def ListAlarms(self, request: pb.ListAlarmsRequest, context) -> pb.ListAlarmsResponse:
        if request.days > alarms.WINDOW.days:
            raise invalid_argument("days", f"is at most {alarms.WINDOW.days}; older kiosk events"
                                   " are history (ListKioskEvents, the audit log)")
        validation.identifier("kiosk_id", request.kiosk_id, required=False)
        for i, kind in enumerate(request.kinds):
            if kind not in alarms.KINDS:
                raise invalid_argument(f"kinds[{i}]", f"{kind!r} is not an alarm kind; one of "
                                       + ", ".join(alarms.KINDS))
        after = alarms.parse_page_token(request.page_token) if request.page_token else None
        if request.page_token and after is None:
            raise invalid_argument("page_token", "pass the next_page_token of the last response")
        limit = validation.page_size(
            request.page_size, default=DEFAULT_LIST_PAGE_SIZE, maximum=MAX_LIST_PAGE_SIZE
        )
        principal = current_principal()
        now = utcnow()
        # Read only what the request can list: the open alarms, or those of its days.
        stored = alarms.load_alarms(self._db, principal.office_id, now,
                                    open_only=not request.days,
                                    window=timedelta(days=request.days or alarms.WINDOW.days),
                                    kiosk_id=request.kiosk_id, kinds=tuple(request.kinds))
        wanted = alarms.select(stored, now=now,
                               kiosk_id=request.kiosk_id, kinds=tuple(request.kinds),
                               days=request.days)
        page, token = alarms.one_page(wanted, after, limit)
        if not may_see_order_references(principal):
            page = [alarms.without_order(a) for a in page]
        return pb.ListAlarmsResponse(alarms=[alarms.to_proto(a) for a in page],
                                     next_page_token=token)

    @abort_on_error
    def AcknowledgeAlarm(
        self, request: pb.AcknowledgeAlarmRequest, context
    ) -> pb.AcknowledgeAlarmResponse:
        method = "AcknowledgeAlarm"
        replayed = self._replayed(method, request.request_id, pb.AcknowledgeAlarmResponse)
        if replayed is not None:
            return replayed  # a double submit: no second audit entry
        if not request.alarm_id or len(request.alarm_id) > MAX_EVENT_ID_LENGTH:
            raise invalid_argument("alarm_id", "is required, an Alarm.alarm_id of ListAlarms"
                                   f" (at most {MAX_EVENT_ID_LENGTH} characters)")
        problem = alarms.comment_problem(request.comment)
        if problem is not None:
            raise invalid_argument("comment", alarms.COMMENT_MESSAGES[problem])
        principal = current_principal()
        with self._db.transaction() as tx:
            stored = tx.replay(method, request.request_id)
            if stored is not None:
                return pb.AcknowledgeAlarmResponse.FromString(stored)
            alarm = alarms.find_alarm(tx, request.alarm_id)
            if alarm is None:
                raise RegistryError(
                    grpc.StatusCode.NOT_FOUND, ALARM_NOT_FOUND,
                    f"alarm {request.alarm_id} not found (or older than"
                    f" {alarms.WINDOW.days} days); ListAlarms names the open ones",
                    {"alarm_id": request.alarm_id},
                )
            self._guard.require(check_office(principal, alarm.office_id),
                                target=alarm.event_id, office_id=alarm.office_id)
            refusal = alarms.acknowledge_refusal(alarm)
            if refusal is None and not alarms.acknowledge(
                    self._db, tx, alarm, principal.label, request.comment):
                # Someone else was quicker, between this transaction's read and write.
                refusal = ALARM_ALREADY_ACKNOWLEDGED, " was acknowledged by someone else just now"
            if refusal is not None:
                reason, why = refusal
                raise RegistryError(grpc.StatusCode.FAILED_PRECONDITION, reason,
                                    f"alarm {alarm.event_id}{why}",
                                    {"alarm_id": alarm.event_id})
            done = alarms.find_alarm(tx, alarm.event_id)
            if not may_see_order_references(principal):
                done = alarms.without_order(done)
            response = pb.AcknowledgeAlarmResponse(alarm=alarms.to_proto(done))
            tx.remember(method, request.request_id, response.SerializeToString())
        log.info("alarm %s acknowledged by %s", alarm.event_id, principal.label)
        return response


def _from_stored(stored: dict, message_type):
    """A message from its stored JSON (MessageToDict with proto field names).

    The constructor takes that form as is (enum values by name) and is about
    ten times faster than json_format.ParseDict, which a fleet dashboard of
    thousands of compartments feels; ParseDict stays for what the constructor
    refuses, e.g. a field a newer kiosk reported that this registry lacks."""
    try:
        return message_type(**stored)
    except (TypeError, ValueError):
        return json_format.ParseDict(stored, message_type(), ignore_unknown_fields=True)


def kiosk_status(kiosk: StoredKiosk, now: datetime) -> pb.KioskStatus:
    """Occupancy is counted from the compartments the kiosk last reported."""
    compartments = [_from_stored(c, pb.Compartment) for c in kiosk.compartments]
    devices = [_from_stored(d, pb.DeviceHealth) for d in kiosk.devices]
    states = [c.state for c in compartments]
    occupied = sum(
        1
        for c in compartments
        if c.state in (pb.COMPARTMENT_STATE_OCCUPIED, pb.COMPARTMENT_STATE_RESERVED)
        or (c.state == pb.COMPARTMENT_STATE_OPEN and c.order_reference)
    )
    return pb.KioskStatus(
        kiosk_id=kiosk.kiosk_id,
        last_seen_time=to_timestamp(kiosk.last_seen),
        online=now - kiosk.last_seen <= ONLINE_WINDOW,
        devices=devices,
        compartments=compartments,
        compartments_total=len(compartments),
        compartments_occupied=occupied,
        compartments_free=states.count(pb.COMPARTMENT_STATE_FREE),
        compartments_out_of_service=states.count(pb.COMPARTMENT_STATE_OUT_OF_SERVICE),
        outbox_backlog=kiosk.outbox_backlog,
    )


def _command_expiry(command: pb.RemoteCommand) -> datetime | None:
    """The caller's expire_time, if any: in the future and no later than the
    registry's default (a remote open must not wait long for a kiosk)."""
    expire_at = from_timestamp(command.expire_time)
    if expire_at is None:
        return None
    now = utcnow()
    if expire_at <= now:
        raise invalid_argument(
            "command.expire_time", "is in the past; leave it out or send a later one"
        )
    if expire_at > now + COMMAND_EXPIRY:
        minutes = int(COMMAND_EXPIRY.total_seconds() // 60)
        raise invalid_argument(
            "command.expire_time", f"is more than {minutes} minutes ahead; send a sooner one"
        )
    return expire_at
