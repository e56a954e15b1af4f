"""Admission control: an overloaded registry says so at once instead of letting calls queue.

The unary calls run in a small thread pool on one database. When an
instance dies, the other suddenly has its whole fleet: every moving kiosk
replays its outbox, and without a limit those calls queue in the pool until
their deadlines pass, each still done afterwards for a kiosk that has long
given up and is sending it again (bench_failover, 1,000 kiosks: the survivor
busy with work nobody waited for, heartbeats and stream opens stuck behind
it). Here a call waits for one of a fixed number of slots, briefly; if none
frees in time, or its deadline would run out anyway, it is answered at once
with RESOURCE_EXHAUSTED and a hint (trailing metadata ``retry-after-ms``)
that the kiosk waits out, jittered (kiosk.uplink.failover).

Not every call is equal (:func:`call_class`):

* light calls (heartbeats, command acknowledgements, command streams) are
  coroutines that share group commits (registry.batching) and take no pool
  thread once their kiosk is authenticated: never shed, they are how a
  kiosk gets back online and receives its commands;
* priority calls (registration, the office's calls) may take every slot;
* bulk calls (outbox replays, syncs, audit uploads) may take all but
  ``reserved`` of them, so a flood of replays never starves the others,
  and they queue behind priority calls.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from dataclasses import dataclass

import grpc

log = logging.getLogger(__name__)

RETRY_AFTER_KEY = "retry-after-ms"  # kiosk.uplink.failover.RETRY_AFTER_KEY

LIGHT = "light"
PRIORITY = "priority"
BULK = "bulk"
_RANK = {PRIORITY: 0, BULK: 1}

KIOSK_SERVICE = "/pickupbox.registry.v1.KioskService/"
OFFICE_SERVICE = "/pickupbox.registry.v1.OfficeService/"
LIGHT_METHODS = frozenset({"Heartbeat", "AcknowledgeCommands", "StreamCommands"})
BULK_METHODS = frozenset({"ReportEvents", "SyncChanges", "ReportAuditEntries"})

# How long a call may wait for a slot at most, and at most which share of
# its remaining deadline: a kiosk told "busy, come back in a second" early
# costs less than one whose call expires in the queue.
MAX_QUEUE_SECONDS = 2.0
QUEUE_SHARE_OF_DEADLINE = 0.5
# The retry hint's bounds (milliseconds).
MIN_RETRY_AFTER_MS = 250
MAX_RETRY_AFTER_MS = 10_000


def call_class(method: str) -> str | None:
    """The admission class of a full method name; None: not limited (health, reflection)."""
    if method.startswith(KIOSK_SERVICE):
        name = method[len(KIOSK_SERVICE):]
        if name in LIGHT_METHODS:
            return LIGHT
        return BULK if name in BULK_METHODS else PRIORITY
    if method.startswith(OFFICE_SERVICE):
        return PRIORITY
    return None


def may_take_slot(kind: str, busy: int, slots: int, reserved: int) -> bool:
    """Whether a call of class ``kind`` may start with ``busy`` of ``slots`` taken."""
    limit = slots - reserved if kind == BULK else slots
    return busy < limit


def queue_budget(time_remaining: float | None) -> float:
    """Seconds a call may wait for a slot, given what is left of its deadline."""
    if time_remaining is None:
        return MAX_QUEUE_SECONDS
    return max(0.0, min(MAX_QUEUE_SECONDS, time_remaining * QUEUE_SHARE_OF_DEADLINE))


def retry_after_ms(waiting: int, slots: int, service_seconds: float) -> int:
    """The hint for a shed call: about the time the calls waiting now take to
    get through the slots at the recent service time, within bounds."""
    drain = (waiting + 1) * service_seconds / max(1, slots)
    return int(min(MAX_RETRY_AFTER_MS, max(MIN_RETRY_AFTER_MS, drain * 1000)))


@dataclass
class AdmissionStats:
    admitted: int = 0
    shed: int = 0


class Admission:
    """The slots and their waiting line; used on the server's event loop only."""

    def __init__(self, slots: int, *, reserved: int = 2) -> None:
        self.slots = slots
        self.reserved = min(reserved, max(0, slots - 1))
        self.busy = 0
        self.stats = AdmissionStats()
        # (rank, order, kind, future) of calls waiting for a slot.
        self._waiting: list[tuple[int, int, str, asyncio.Future]] = []
        self._order = itertools.count()
        # The recent time a slot is held (exponential moving average).
        self._service = 0.05

    async def acquire(self, kind: str, budget: float) -> bool:
        """Takes a slot within ``budget`` seconds; False: shed the call."""
        ahead = bool(self._waiting) and self._waiting[0][0] <= _RANK[kind]
        if not ahead and may_take_slot(kind, self.busy, self.slots, self.reserved):
            self.busy += 1
            return True
        if budget <= 0:
            return False
        future = asyncio.get_running_loop().create_future()
        entry = (_RANK[kind], next(self._order), kind, future)
        heapq.heappush(self._waiting, entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), budget)
            return True
        except asyncio.TimeoutError:
            if future.done() and not future.cancelled():
                self.release(0.0, held=False)  # granted as the wait ran out: hand it on
            else:
                future.cancel()
            return False
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(0.0, held=False)
            else:
                future.cancel()
            raise
        finally:
            self._drop_cancelled()

    def release(self, seconds: float, *, held: bool = True) -> None:
        if held:
            self._service = 0.9 * self._service + 0.1 * seconds
        self.busy -= 1
        self._grant()

    def _drop_cancelled(self) -> None:
        if any(entry[3].done() for entry in self._waiting):
            self._waiting = [e for e in self._waiting if not e[3].done()]
            heapq.heapify(self._waiting)

    def _grant(self) -> None:
        """Hands free slots to the first waiters their class lets in."""
        while self._waiting:
            rank, _, kind, future = self._waiting[0]
            if future.done():
                heapq.heappop(self._waiting)
                continue
            if not may_take_slot(kind, self.busy, self.slots, self.reserved):
                return  # the first in line is bulk and only reserved slots are free
            heapq.heappop(self._waiting)
            self.busy += 1
            future.set_result(None)

    def hint_ms(self) -> int:
        return retry_after_ms(len(self._waiting), self.slots, self._service)


class AdmissionInterceptor(grpc.aio.ServerInterceptor):
    """Admission for the asyncio server; it goes in front of the AuthInterceptor,
    so a shed call costs neither a credential check nor a pool thread. (It
    grants nothing: an admitted call is authenticated as any other.)"""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        kind = call_class(handler_call_details.method)
        if handler is None or kind in (None, LIGHT) or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        if not asyncio.iscoroutinefunction(inner):
            return handler  # only the AuthInterceptor's coroutines are expected here
        admission = self.admission
        method = handler_call_details.method.rsplit("/", 1)[-1]

        async def admitted(request, context):
            if not await admission.acquire(kind, queue_budget(context.time_remaining())):
                admission.stats.shed += 1
                hint = admission.hint_ms()
                log.debug("shed %s (%s): every slot busy; retry after %d ms", method, kind, hint)
                context.set_trailing_metadata(((RETRY_AFTER_KEY, str(hint)),))
                context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
                context.set_details(f"registry busy: try again in {hint} ms")
                return None
            admission.stats.admitted += 1
            started = time.monotonic()
            try:
                return await inner(request, context)
            finally:
                admission.release(time.monotonic() - started)

        return handler._replace(unary_unary=admitted)
