"""Prometheus metrics of the registry: every RPC, the fleet, events and notices.

A gRPC server interceptor counts each call by method and status code and
times it; the kiosks online are read from the database when Prometheus
scrapes, so they are never stale and cost nothing between scrapes. Each
server gets its own CollectorRegistry: tests (and the embedded registry
beside a kiosk's own metrics) run several in one process.

The HTTP endpoint listens on loopback by default: the figures tell an
attacker which kiosks exist and when they are busy, so publishing them
further is an explicit decision of the operator (``--metrics-listen``).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from registry.aio_calls import is_async, with_call_context, with_call_context_stream
from registry.notifier import Notifier, ReadyNotice

# A kiosk that has not been heard of for this long counts as offline
# (three missed heartbeats at the kiosk's default interval of 30 s).
ONLINE_WINDOW = timedelta(seconds=90)
# Unary calls take milliseconds; a command stream lasts as long as the kiosk
# stays connected, hence the long tail.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600)


class RegistryMetrics:
    """The registry's metrics in their own CollectorRegistry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpcs = Counter(
            "registry_rpcs", "Finished RPCs by method and status code.",
            ("method", "code"), registry=self.registry,
        )
        self.latency = Histogram(
            "registry_rpc_duration_seconds", "RPC duration by method (streams: their whole life).",
            ("method",), buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge(
            "registry_rpcs_in_flight", "RPCs being served now (open command streams included).",
            ("method",), registry=self.registry,
        )
        self.events = Counter(
            "registry_events_acknowledged", "Kiosk events acknowledged by ReportEvents "
            "(repeats of already stored events included: the kiosk resends until acknowledged).",
            registry=self.registry,
        )
        self.notices = Counter(
            "registry_notices", "Ready-for-pickup notices by outcome (sent, failed).",
            ("outcome",), registry=self.registry,
        )
        for outcome in ("sent", "failed"):
            self.notices.labels(outcome).inc(0)

    def watch_fleet(self, db, *, now: Callable[[], datetime] | None = None) -> None:
        """Reports the registered and online kiosks of ``db`` at each scrape."""
        self.registry.register(_FleetCollector(db, now or (lambda: datetime.now(timezone.utc))))

    def interceptor(self) -> grpc.ServerInterceptor:
        return _MetricsInterceptor(self)

    def counting(self, notifier: Notifier) -> Notifier:
        return _CountingNotifier(notifier, self.notices)


class _FleetCollector:
    def __init__(self, db, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def collect(self):
        with self._db.transaction() as tx:
            kiosks = tx.list_kiosks()
        cutoff = self._now() - ONLINE_WINDOW
        online = sum(1 for k in kiosks if k.last_seen >= cutoff)
        yield GaugeMetricFamily("registry_kiosks_registered", "Kiosks known to the registry.",
                                value=len(kiosks))
        yield GaugeMetricFamily(
            "registry_kiosks_online",
            f"Kiosks heard of in the last {int(ONLINE_WINDOW.total_seconds())} s.", value=online)


class _CountingNotifier:
    """The notifier as it was, plus a count of what it sent and what failed."""

    def __init__(self, inner: Notifier, counter: Counter) -> None:
        self._inner = inner
        self._counter = counter

    def order_ready(self, notice: ReadyNotice) -> None:
        try:
            self._inner.order_ready(notice)
        except Exception:
            self._counter.labels("failed").inc()
            raise
        self._counter.labels("sent").inc()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


def _code_of(context, default: str = "OK") -> str:
    code = context.code()
    if code is None:
        return default
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class _MetricsInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: RegistryMetrics) -> None:
        self._m = metrics
        # The labelled children, looked up once per method (and code): a
        # ``labels()`` call takes a lock and builds a key, three per call.
        self._per_method: dict[str, tuple] = {}
        self._counted: dict[tuple[str, str], object] = {}

    def _children(self, method: str) -> tuple:
        children = self._per_method.get(method)
        if children is None:
            children = (self._m.in_flight.labels(method), self._m.latency.labels(method))
            self._per_method[method] = children
        return children

    def _count(self, method: str, code: str) -> None:
        counter = self._counted.get((method, code))
        if counter is None:
            counter = self._counted[(method, code)] = self._m.rpcs.labels(method, code)
        counter.inc()

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1] or handler_call_details.method
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=self._unary(method, handler.unary_unary))
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=self._streaming(method, handler.unary_stream))
        return handler  # the API has no client-streaming calls

    @contextmanager
    def _observed(self, method: str, context) -> Iterator[list[str]]:
        """Times the call and counts it under the code it ended with (``outcome[0]``)."""
        in_flight, latency = self._children(method)
        in_flight.inc()
        started = time.perf_counter()
        outcome = ["UNKNOWN"]
        try:
            yield outcome
        except (GeneratorExit, asyncio.CancelledError):  # the client went away mid-stream
            outcome[0] = "CANCELLED"
            raise
        except BaseException:
            # context.abort() raises after setting the code; anything else
            # is a bug that gRPC reports as UNKNOWN.
            outcome[0] = _code_of(context, default="UNKNOWN")
            raise
        finally:
            in_flight.dec()
            latency.observe(time.perf_counter() - started)
            self._count(method, outcome[0])

    def _count_events(self, method: str, response) -> None:
        if method == "ReportEvents" and response is not None:
            self._m.events.inc(len(response.acknowledged_event_ids))

    def _unary(self, method: str, behaviour):
        if is_async(behaviour):
            async def wrapped_async(request, context):
                with self._observed(method, context) as outcome:
                    response = await behaviour(request, context)
                    outcome[0] = _code_of(context)
                    self._count_events(method, response)
                    return response
            return wrapped_async

        @with_call_context
        def wrapped(request, context):
            with self._observed(method, context) as outcome:
                response = behaviour(request, context)
                outcome[0] = _code_of(context)
                self._count_events(method, response)
                return response
        return wrapped

    def _streaming(self, method: str, behaviour):
        if is_async(behaviour):
            async def wrapped_async(request, context):
                with self._observed(method, context) as outcome:
                    async for response in behaviour(request, context):
                        yield response
                    outcome[0] = _code_of(context)
            return wrapped_async

        @with_call_context_stream
        def wrapped(request, context) -> Iterator:
            with self._observed(method, context) as outcome:
                yield from behaviour(request, context)
                outcome[0] = _code_of(context) if context.is_active() else "CANCELLED"
        return wrapped


class Operations:
    """What `kiosk-registry serve` runs beside the server: /metrics and the systemd notices."""

    def __init__(self, server, listen: str, metrics_listen: str, *,
                 tls_cert: str | None = None) -> None:
        from common import systemd
        from common.metrics_http import MetricsEndpoint

        self.endpoint = MetricsEndpoint(server.metrics.registry, metrics_listen)
        self.endpoint.start()
        host = probe_host(listen)
        target = f"{host}:{server.port}"
        if tls_cert:
            # Over TLS the registry cannot ask itself reliably: its certificate
            # names its public host, not 127.0.0.1, and with mTLS it holds no
            # client certificate. The watchdog then only checks that the port
            # still takes connections.
            alive = lambda: _port_open(host, server.port)  # noqa: E731
        else:
            # Answering its own health check proves the event loop runs, and
            # the check turns NOT_SERVING while the database does not answer
            # (registry.server probes it).
            alive = lambda: systemd.grpc_serving(target)  # noqa: E731
        self.notifier = systemd.ServiceNotifier(alive)
        self.notifier.ready(f"serving on port {server.port}")

    def stop(self) -> None:
        self.notifier.stopping()
        self.endpoint.stop()


def probe_host(listen: str) -> str:
    """Where the registry reaches itself: its listen host, loopback for a wildcard."""
    host = listen.rpartition(":")[0].strip("[]")
    if host in ("", "0.0.0.0", "::", "*"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _port_open(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host.strip("[]"), port), timeout=2):
            return True
    except OSError:
        return False
