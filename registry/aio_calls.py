"""How calls run on the registry's asyncio gRPC server.

Open command streams are coroutines on the event loop, so a stream that
waits for a command costs no thread. The unary calls stay synchronous code
(the database is synchronous): grpc.aio runs them in its thread pool and
hands them a context without ``abort_with_status``, ``code`` or
``is_active``. :class:`CallContext` gives them back, so servicers and
interceptors see the context they were written for.

Async code that needs the database calls :func:`in_thread`: the blocking
work runs in the pool with a copy of the caller's context variables (the
principal the AuthInterceptor set), never on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class CallAborted(Exception):
    """Raised by :meth:`CallContext.abort`; the call ends once its wrappers have returned."""


class CallContext:
    """A synchronous servicer context of grpc.aio, completed with what grpc.server offers."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self._code = None

    def abort(self, code, details: str = "", trailing_metadata=()):
        # grpc.aio's own abort sends the status at once, before the wrappers
        # around the handler (metrics) have seen the call end. Setting the
        # status and ending the handler sends it after them, as grpc.server did.
        self._code = code
        self._inner.set_code(code)
        self._inner.set_details(details)
        if trailing_metadata:
            self._inner.set_trailing_metadata(trailing_metadata)
        raise CallAborted(code)

    def abort_with_status(self, status) -> None:
        self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code) -> None:
        self._code = code
        self._inner.set_code(code)

    def code(self):
        return self._code

    def is_active(self) -> bool:
        # A unary call runs to its end; cancellation concerns only streams,
        # which are coroutines and see it as CancelledError.
        return True

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def with_call_context(wrapper: Callable) -> Callable:
    """For a synchronous unary handler ``wrapper(request, context)``: it gets a
    :class:`CallContext`; whoever made that context ends an aborted call."""

    @functools.wraps(wrapper)
    def unary(request, context):
        if isinstance(context, CallContext):
            return wrapper(request, context)
        call = CallContext(context)
        try:
            return wrapper(request, call)
        except CallAborted:
            return None  # the status set by abort() goes out

    return unary


def with_call_context_stream(wrapper: Callable) -> Callable:
    """:func:`with_call_context` for a synchronous streaming handler (a generator)."""

    @functools.wraps(wrapper)
    def streaming(request, context):
        if isinstance(context, CallContext):
            yield from wrapper(request, context)
            return
        call = CallContext(context)
        try:
            yield from wrapper(request, call)
        except CallAborted:
            return

    return streaming


def is_async(behaviour: Callable) -> bool:
    return inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)


async def in_thread(executor: Executor | None, function: Callable[..., Any], *args) -> Any:
    """Runs ``function(*args)`` in ``executor`` with the caller's context
    variables, and carries the variables it set back into the caller."""
    copied = contextvars.copy_context()
    result = await asyncio.get_running_loop().run_in_executor(
        executor, copied.run, function, *args
    )
    for variable, value in copied.items():
        if variable.get(None) is not value:
            variable.set(value)
    return result
