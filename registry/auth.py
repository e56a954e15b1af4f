"""The one gate every registry call passes: authenticate, decide, audit refusals.

:class:`AuthInterceptor` runs before any servicer method. It works out the
principal (client certificate, API key, kiosk credential or user password),
asks :func:`registry.permissions.decide` whether that principal may call the
method at all, audits every refusal, and makes the principal available to
the servicer through :func:`current_principal`. Servicers then check what
depends on the request's data (which kiosk, which office) with
:meth:`Guard.require`, which audits and refuses the same way.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from concurrent.futures import Executor

import grpc

from common.auth import AUTHORIZATION
from registry import permissions
from registry.database import RegistryDatabase
from registry.aio_calls import (
    CallAborted,
    CallContext,
    in_thread,
    is_async,
    with_call_context,
    with_call_context_stream,
)
from registry.errors import RegistryError
from registry.identity import Authenticator, AuthError, Peer
from registry.permissions import Decision, Principal

log = logging.getLogger(__name__)

_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)
_where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="")
_method: contextvars.ContextVar[str] = contextvars.ContextVar("method", default="")

LOOPBACK_PREFIXES = ("ipv4:127.", "ipv6:[::1]", "unix:")


def current_principal() -> Principal:
    """The caller of the RPC this thread serves; the interceptor has set it."""
    principal = _principal.get()
    if principal is None:  # only reachable if a servicer runs without the interceptor
        raise RuntimeError("no authenticated principal: is the AuthInterceptor installed?")
    return principal


def current_peer() -> str:
    return _where.get()


def _set_caller(principal: Principal | None, peer: str, method: str) -> None:
    _principal.set(principal)
    _where.set(peer)
    _method.set(method)


@contextlib.contextmanager
def acting_as(principal: Principal | None, peer: str, method: str) -> Iterator[None]:
    """Runs the code in the block for ``principal``, the caller the gate admitted.

    Every front door uses it once the principal may call ``method`` (the gRPC
    interceptor and the HTTP API after :meth:`Gate.admit`, the web console
    after :func:`permissions.decide`), so servicers see their caller through
    :func:`current_principal` whichever way the call came in. The previous
    caller is put back afterwards (by value, not by context token: grpc may
    resume a streaming handler in another thread than it started in).
    """
    previous = (_principal.get(), _where.get(), _method.get())
    _set_caller(principal, peer, method)
    try:
        yield
    finally:
        _set_caller(*previous)


class Guard:
    """Refusals of data-dependent checks, audited like the interceptor's."""

    def __init__(self, db: RegistryDatabase) -> None:
        self._db = db

    def require(self, decision: Decision, *, target: str = "", office_id: str = "") -> None:
        if decision.allowed:
            return
        principal = _principal.get()
        actor = principal.label if principal is not None else "anonymous"
        method = _method.get()
        where = _where.get()

        def audit() -> None:
            audit_denial(self._db, actor, method, decision.reason, decision.message, where,
                         target=target, office_id=office_id)

        refusal = RegistryError(
            grpc.StatusCode.PERMISSION_DENIED, decision.reason, decision.message,
            {"method": method.rsplit("/", 1)[-1]},
        )
        if self._db.in_transaction:
            # Inside the call's transaction the refusal rolls everything back,
            # an audit row written there included: abort_on_error writes it
            # once the transaction is gone.
            refusal.after_rollback = audit
        else:
            audit()
        raise refusal


def audit_denial(db: RegistryDatabase, actor: str, method: str, reason: str, message: str,
                 where: str, *, target: str = "", office_id: str = "") -> None:
    log.warning("denied %s to %s from %s: %s", method, actor, where, reason)
    try:
        with db.transaction() as tx:
            tx.audit(actor, "call.denied", office_id=office_id, target=target, outcome="denied",
                     method=method, reason=reason, message=message, peer=where)
    except Exception:  # an audit failure must not turn a refusal into an acceptance
        log.exception("could not audit a refused call")


def _caller(context: grpc.ServicerContext) -> tuple[Peer, bool]:
    """Who calls, and whether over TLS. On the event loop only, at the start of
    the call: grpc.aio frees a call's peer once its deadline has passed or its
    client went away, and a pool thread that reads it then crashes the whole
    process (a segmentation fault; gRPC 1.85). Calls queued for the pool on a
    busy registry reach that point easily."""
    auth = context.auth_context() or {}
    return _peer(context, auth), auth.get("transport_security_type") == [b"ssl"]


def _peer(context: grpc.ServicerContext, auth: dict | None = None) -> Peer:
    if auth is None:
        auth = context.auth_context() or {}
    names: list[str] = []
    if auth.get("transport_security_type") == [b"ssl"]:
        for key in ("x509_common_name", "x509_subject_alternative_name"):
            for value in auth.get(key, []):
                text = value.decode(errors="replace")
                if text not in names:
                    names.append(text)
    return Peer(address=context.peer() or "", certificate_names=tuple(names))


class Gate:
    """The checks every call passes, whichever front door it came through.

    The gRPC interceptor and the HTTP/JSON API (registry/http_api) both hand
    it the method name (the gRPC one, so one permission table and one audit
    format cover both), the authorization header and the peer; it returns the
    principal or raises the RegistryError to send back, having audited the
    refusal. :func:`acting_as` then makes the principal the call's. One gate
    per registry (``RegistryServer.gate``), so the count of wrong passwords
    is one count whichever door they are tried at.
    """

    def __init__(self, db: RegistryDatabase) -> None:
        self._db = db
        self._authenticator = Authenticator(db)

    def admit_cached(self, method: str, authorization: str | None, peer: Peer,
                     secure: bool) -> Principal | None:
        """:meth:`admit` of a kiosk whose credential is believed
        (Authenticator.cached_kiosk): no database, no KDF, so the event loop may
        call it. None when that does not settle the call (a certificate, an
        unknown or stale credential, a refusal): then :meth:`admit` decides,
        and audits, as always."""
        if peer.certificate_names or (not secure and not peer.address.startswith(
                LOOPBACK_PREFIXES)):
            return None
        principal = self._authenticator.cached_kiosk(authorization)
        if principal is None or not permissions.decide(method, principal).allowed:
            return None
        return principal

    def admit(self, method: str, authorization: str | None, peer: Peer,
              secure: bool) -> Principal | None:
        if authorization is not None and not secure and not peer.address.startswith(
            LOOPBACK_PREFIXES
        ):
            audit_denial(self._db, "anonymous", method, permissions.UNAUTHENTICATED,
                         "credential over plaintext", peer.address)
            raise RegistryError(grpc.StatusCode.UNAUTHENTICATED, permissions.UNAUTHENTICATED,
                                "credentials are accepted only over TLS (or plaintext on"
                                " loopback): start the registry with --tls-cert/--tls-key")
        try:
            principal = self._authenticator.authenticate(authorization, peer)
        except AuthError as error:
            with self._db.transaction() as tx:
                tx.audit(error.who, "login.failed", outcome="denied", method=method,
                         reason=error.reason, peer=peer.address)
            log.warning("refused a credential for %s from %s: %s", method, peer.address,
                        error.reason)
            raise RegistryError(grpc.StatusCode.UNAUTHENTICATED, error.reason,
                                error.message) from None
        decision = permissions.decide(method, principal)
        if not decision.allowed:
            actor = principal.label if principal is not None else "anonymous"
            audit_denial(self._db, actor, method, decision.reason, decision.message,
                         peer.address, office_id=(principal.office_id or "") if principal else "")
            if decision.reason == permissions.UNAUTHENTICATED:
                raise RegistryError(grpc.StatusCode.UNAUTHENTICATED, decision.reason,
                                    decision.message)
            # The metadata names the method, as registry.proto promises (and
            # as Guard.require does for the data-dependent refusals).
            raise RegistryError(grpc.StatusCode.PERMISSION_DENIED, decision.reason,
                                decision.message, {"method": method.rsplit("/", 1)[-1]})
        if principal is not None and principal.kind == "user":
            with self._db.transaction() as tx:
                tx.audit(principal.label, "login", office_id=principal.office_id or "",
                         method=method, peer=peer.address)
        return principal


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """The gate in front of the asyncio server: synchronous calls are admitted
    in their pool thread, asynchronous ones (command streams) in ``executor``,
    never on the event loop (authentication reads the database and hashes)."""

    def __init__(self, gate: Gate, executor: Executor | None = None) -> None:
        self._gate = gate
        self._executor = executor

    def _admit_cached(self, method: str, metadata, caller: tuple[Peer, bool],
                      ) -> tuple[Principal, str] | None:
        """The caller and its address if Gate.admit_cached settles the call (on the
        loop: no database, no KDF); None if not."""
        peer, secure = caller
        authorization = next((v for k, v in metadata if k == AUTHORIZATION), None)
        principal = self._gate.admit_cached(method, authorization, peer, secure)
        return None if principal is None else (principal, peer.address)

    def _admit(self, method: str, metadata, context: grpc.ServicerContext,
               caller: tuple[Peer, bool] | None = None) -> tuple[Principal | None, str]:
        """The admitted caller and its address; raises the RegistryError to send
        back, which the call's wrapper aborts with in the way its kind of call
        needs (the asyncio context's abort is a coroutine). ``caller``:
        :func:`_caller` as read on the event loop."""
        peer, secure = caller if caller is not None else _caller(context)
        authorization = next((v for k, v in metadata if k == AUTHORIZATION), None)
        return self._gate.admit(method, authorization, peer, secure), peer.address

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        metadata = tuple(handler_call_details.invocation_metadata or ())
        admit = self._admit
        executor = self._executor

        def admitted(context, caller: tuple[Peer, bool] | None = None):
            """A context manager for the handler's run as its caller; None if refused
            (the call is aborted then)."""
            try:
                principal, peer = admit(method, metadata, context, caller)
            except RegistryError as refusal:
                context.abort_with_status(refusal.to_status())
                return None
            return acting_as(principal, peer, method)

        admit_cached = self._admit_cached

        async def admitted_async(context):
            caller = _caller(context)
            settled = admit_cached(method, metadata, caller)
            if settled is not None:  # a kiosk whose credential is believed: no hop to the pool
                return acting_as(*settled, method)
            try:
                principal, peer = await in_thread(executor, admit, method, metadata, context,
                                                  caller)
            except RegistryError as refusal:
                status = refusal.to_status()
                await context.abort(status.code, status.details, status.trailing_metadata)
                return None
            return acting_as(principal, peer, method)

        if handler.unary_unary:
            inner_uu = handler.unary_unary
            if is_async(inner_uu):
                async def unary_unary_async(request, context):
                    caller = await admitted_async(context)
                    if caller is None:
                        return None
                    with caller:
                        return await inner_uu(request, context)
                wrapped_uu = unary_unary_async
            else:
                # Who calls is read here on the loop (see _caller); the
                # synchronous rest runs in the pool, as grpc.aio would run it.
                async def unary_unary(request, context):
                    caller = _caller(context)
                    call = CallContext(context)

                    def run():
                        try:
                            acting = admitted(call, caller)
                            if acting is None:
                                return None
                            with acting:
                                return inner_uu(request, call)
                        except CallAborted:
                            return None  # the status set by abort() goes out

                    return await in_thread(executor, run)
                wrapped_uu = unary_unary
            return handler._replace(unary_unary=wrapped_uu)
        if handler.unary_stream:
            inner_us = handler.unary_stream
            if is_async(inner_us):
                async def unary_stream_async(request, context):
                    caller = await admitted_async(context)
                    if caller is None:
                        return
                    with caller:
                        async for response in inner_us(request, context):
                            yield response
                wrapped_us = unary_stream_async
            else:
                @with_call_context_stream
                def unary_stream(request, context):
                    caller = admitted(context)
                    if caller is None:
                        return
                    with caller:
                        yield from inner_us(request, context)
                wrapped_us = unary_stream
            return handler._replace(unary_stream=wrapped_us)
        # The API has no client-streaming calls; reflection's stream-stream
        # call is anonymous by design (permissions.decide admits it).
        if handler.stream_unary:
            inner_su = handler.stream_unary

            @with_call_context
            def stream_unary(request_iterator, context):
                caller = admitted(context)
                if caller is None:
                    return None
                with caller:
                    return inner_su(request_iterator, context)

            return handler._replace(stream_unary=stream_unary)
        inner_ss = handler.stream_stream
        if is_async(inner_ss):
            async def stream_stream_async(request_iterator, context):
                caller = await admitted_async(context)
                if caller is None:
                    return
                with caller:
                    async for response in inner_ss(request_iterator, context):
                        yield response
            return handler._replace(stream_stream=stream_stream_async)

        @with_call_context_stream
        def stream_stream(request_iterator, context):
            caller = admitted(context)
            if caller is None:
                return
            with caller:
                yield from inner_ss(request_iterator, context)

        return handler._replace(stream_stream=stream_stream)
