"""Registry errors as the API describes them: a canonical status code plus a
``google.rpc.ErrorInfo`` detail whose ``reason`` a program can branch on
(AIP-193). The message is for people and names what is wrong.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "registry.pickupbox.v1"

# The reasons listed in registry.proto.
ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
ORDER_EXISTS = "ORDER_EXISTS"
ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
ORDER_NOT_REISSUABLE = "ORDER_NOT_REISSUABLE"
ORDER_NOT_EXTENDABLE = "ORDER_NOT_EXTENDABLE"
ORDER_IN_BOX = "ORDER_IN_BOX"
ORDER_NOT_RETURNABLE = "ORDER_NOT_RETURNABLE"
ORDER_NOT_WAITING = "ORDER_NOT_WAITING"
ORDER_HAS_NO_CONTACT = "ORDER_HAS_NO_CONTACT"
MESSAGES_NOT_CONFIGURED = "MESSAGES_NOT_CONFIGURED"
STAFF_INACTIVE = "STAFF_INACTIVE"
KIOSK_NOT_FOUND = "KIOSK_NOT_FOUND"
KIOSK_NOT_REGISTERED = "KIOSK_NOT_REGISTERED"
STAFF_EXISTS = "STAFF_EXISTS"
STAFF_NOT_FOUND = "STAFF_NOT_FOUND"
INVALID_ARGUMENT = "INVALID_ARGUMENT"
INVALID_CURSOR = "INVALID_CURSOR"
AUDIT_CHAIN_BROKEN = "AUDIT_CHAIN_BROKEN"
ALARM_NOT_FOUND = "ALARM_NOT_FOUND"
ALARM_ALREADY_ACKNOWLEDGED = "ALARM_ALREADY_ACKNOWLEDGED"
ALARM_CLEARED = "ALARM_CLEARED"


class RegistryError(Exception):
    """A failure the caller can act on; becomes a gRPC status at the edge."""

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}
        # Work that must wait until the failed call's transaction has rolled
        # back, such as auditing a refusal (set by registry.auth.Guard).
        self.after_rollback: Callable[[], None] | None = None

    def run_after_rollback(self) -> None:
        if self.after_rollback is not None:
            action, self.after_rollback = self.after_rollback, None
            action()

    def to_status(self) -> grpc.Status:
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
        )
        detail = any_pb2.Any()
        detail.Pack(info)
        return rpc_status.to_status(
            status_pb2.Status(code=self.code.value[0], message=self.message, details=[detail])
        )


def invalid_argument(field: str, problem: str) -> RegistryError:
    return RegistryError(
        grpc.StatusCode.INVALID_ARGUMENT,
        INVALID_ARGUMENT,
        f"{field}: {problem}",
        {"field": field},
    )


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo detail of a failed call, if the server sent one."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def error_reason(error: grpc.RpcError) -> str | None:
    info = error_info(error)
    return info.reason if info is not None and info.domain == ERROR_DOMAIN else None


async def abort_async(context, error: RegistryError):
    """Ends an asyncio call with ``error``'s status (the async twin of abort_on_error)."""
    await asyncio.to_thread(error.run_after_rollback)  # it may audit: not on the loop
    status = error.to_status()
    await context.abort(status.code, status.details, status.trailing_metadata)


async def refuse_async(context, error: RegistryError) -> None:
    """Ends an asyncio unary call with ``error``'s status: the handler returns
    what this returns (None). Unlike ``context.abort``, which sends the status
    at once, the status goes out when the handler has returned, so the
    wrappers around it (metrics) have counted the call before the caller sees it."""
    await asyncio.to_thread(error.run_after_rollback)  # it may audit: not on the loop
    status = error.to_status()
    context.set_code(status.code)
    context.set_details(status.details)
    if status.trailing_metadata:
        context.set_trailing_metadata(status.trailing_metadata)
    return None


def abort_on_error(method: Callable) -> Callable:
    """Turns a RegistryError raised by a servicer method into its gRPC status."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def streaming(self, request, context):
            try:
                yield from method(self, request, context)
            except RegistryError as error:
                error.run_after_rollback()
                context.abort_with_status(error.to_status())

        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except RegistryError as error:
            error.run_after_rollback()
            context.abort_with_status(error.to_status())

    return unary
