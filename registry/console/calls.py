"""Calling the OfficeServicer from the console, as the gRPC gate would.

The console is another front door to the same application services: it does
not re-implement any rule. For each call it does what
:class:`registry.auth.AuthInterceptor` does for a gRPC call: ask
:func:`registry.permissions.decide` whether the signed-in principal may call
the method at all (auditing a refusal), then run the servicer method with the
principal, the peer and the method name set in the same context variables
the interceptor sets, so the servicer's own data checks (which office, which
command) and its audit entries name the console user.

A servicer refuses by calling ``context.abort_with_status``; the stand-in
context here raises :class:`ServiceError` instead, carrying the reason and
field from the status's ErrorInfo so a page can show the message next to the
field it concerns.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2
from starlette.concurrency import run_in_threadpool

from registry import auth, permissions
from registry.errors import ERROR_DOMAIN, abort_on_error
from registry.permissions import Principal

OFFICE_SERVICE = permissions.OFFICE_SERVICE


class ServiceError(Exception):
    """A refused or failed call: the gRPC code, ErrorInfo reason and metadata."""

    def __init__(self, code: grpc.StatusCode, reason: str, message: str,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}

    @property
    def field(self) -> str:
        """The request field an INVALID_ARGUMENT names ("" for other errors)."""
        return self.metadata.get("field", "")

    @classmethod
    def from_status(cls, status: grpc.Status) -> ServiceError:
        code = status.code  # a StatusCode from rpc_status.to_status, an int from elsewhere
        if not isinstance(code, grpc.StatusCode):
            code = next((c for c in grpc.StatusCode if c.value[0] == code),
                        grpc.StatusCode.UNKNOWN)
        reason, metadata = "", {}
        for key, value in status.trailing_metadata or ():
            if key != "grpc-status-details-bin":
                continue
            detail = status_pb2.Status.FromString(value)
            for item in detail.details:
                if item.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    item.Unpack(info)
                    if info.domain == ERROR_DOMAIN:
                        reason, metadata = info.reason, dict(info.metadata)
        return cls(code, reason, status.details, metadata)


class _Context:
    """The part of grpc.ServicerContext the servicers use."""

    def __init__(self, peer: str) -> None:
        self._peer = peer

    def abort_with_status(self, status: grpc.Status):
        raise ServiceError.from_status(status)

    def abort(self, code: grpc.StatusCode, details: str):
        raise ServiceError(code, "", details)

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self):
        return ()

    def is_active(self) -> bool:
        return True

    def time_remaining(self):
        return None


@dataclass(frozen=True)
class OfficeCaller:
    """Calls OfficeService methods in-process as one principal from one peer."""

    servicer: object  # registry.office_service.OfficeServicer
    db: object  # registry.database.RegistryDatabase
    principal: Principal
    peer: str  # e.g. "console:ipv4:127.0.0.1:50312": where the audit says it came from

    def call_sync(self, name: str, request):
        method = OFFICE_SERVICE + name
        decision = permissions.decide(method, self.principal)
        if not decision.allowed:
            auth.audit_denial(self.db, self.principal.label, method, decision.reason,
                              decision.message, self.peer,
                              office_id=self.principal.office_id or "")
            raise ServiceError(grpc.StatusCode.PERMISSION_DENIED, decision.reason,
                               decision.message)
        handler = getattr(type(self.servicer), name)
        if inspect.iscoroutinefunction(handler):
            # A coroutine joins the server's group commits on its event loop
            # (SendKioskCommand); in this worker thread its synchronous twin,
            # the same write as a batch of one, runs with the same gRPC edge.
            handler = abort_on_error(handler.__wrapped__)
        with auth.acting_as(self.principal, self.peer, method):
            return handler(self.servicer, request, _Context(self.peer))

    async def call(self, name: str, request):
        """The same, in a worker thread: servicers hash with scrypt and block."""
        return await run_in_threadpool(self.call_sync, name, request)
