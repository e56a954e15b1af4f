"""Prometheus metrics of one kiosk, and the liveness of its core loop.

Everything is read when Prometheus scrapes (a custom collector), so there is
no second bookkeeping that could drift from the store:

- the outbox backlog and compartments by state come from the kiosk store
  (which serialises access itself);
- device health comes from the last view the core published: drivers are
  only ever called on the core thread, never from the HTTP thread;
- door alarms (forced, left open, failed to open) are counted from the
  journal, reading only entries newer than the last scrape.

The same view listener tells the systemd watchdog that the core loop still
ticks: it publishes a view after every input and every tick (once a second).
"""

from __future__ import annotations

import json
import threading
import time

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from hardware.interfaces import HealthStatus
from kiosk.domain.compartment import CompartmentState
from kiosk.domain.events import EventType

DOOR_ALARMS = (EventType.DOOR_FORCED, EventType.DOOR_LEFT_OPEN, EventType.DOOR_FAILED)
# The core ticks every second; this much silence means it is stuck.
CORE_STALL_SECONDS = 15.0


class CoreHeartbeat:
    """A core view listener: remembers the last view and when it came."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.last_view = None
        self.last_seen: float | None = None

    def __call__(self, view) -> None:
        with self._lock:
            self.last_view = view
            self.last_seen = self._clock()

    def alive(self, stall: float = CORE_STALL_SECONDS) -> bool:
        with self._lock:
            return self.last_seen is not None and self._clock() - self.last_seen < stall


class _KioskCollector:
    def __init__(self, kiosk, heartbeat: CoreHeartbeat) -> None:
        self._kiosk = kiosk
        self._heartbeat = heartbeat
        self._lock = threading.Lock()
        self._journal_id = 0
        self._alarms = {t.value: 0 for t in DOOR_ALARMS}

    def _count_new_alarms(self) -> None:
        wanted = set(self._alarms)
        # Only the journal rows since the last scrape: the journal keeps growing.
        rows = self._kiosk.store._query(
            "SELECT id, detail FROM journal WHERE kind='event' AND id > ? ORDER BY id",
            (self._journal_id,),
        )
        for row_id, detail in rows:
            kind = json.loads(detail).get("type")
            if kind in wanted:
                self._alarms[kind] += 1
            self._journal_id = row_id

    def collect(self):
        store = self._kiosk.store
        yield GaugeMetricFamily("kiosk_outbox_backlog", "Events waiting to reach the registry.",
                                value=store.outbox_backlog())
        states = GaugeMetricFamily("kiosk_compartments", "Compartments by state.", labels=["state"])
        counts = {s.value: 0 for s in CompartmentState}
        for compartment in store.compartments():
            counts[compartment.state.value] += 1
        for state, n in counts.items():
            states.add_metric([state], n)
        yield states
        with self._lock:
            self._count_new_alarms()
            alarms = dict(self._alarms)
        family = CounterMetricFamily("kiosk_door_alarms", "Door alarms recorded in the journal.",
                                     labels=["type"])
        for kind, n in alarms.items():
            family.add_metric([kind], n)
        yield family
        view = self._heartbeat.last_view
        if view is not None:
            health = GaugeMetricFamily(
                "kiosk_device_health", "1 for the device's current status (ok, degraded, failed).",
                labels=["device", "status"])
            for device in view.health:
                for status in HealthStatus:
                    health.add_metric([device.device, status.value], int(device.status is status))
            yield health
        uplink = self._kiosk.uplink
        yield GaugeMetricFamily("kiosk_registry_online", "1 while the registry answers.",
                                value=int(bool(uplink.online)))
        seen = self._heartbeat.last_seen
        if seen is not None:
            yield GaugeMetricFamily("kiosk_core_last_tick_age_seconds",
                                    "Seconds since the core loop last published its state.",
                                    value=max(0.0, time.monotonic() - seen))


class KioskMetrics:
    """The metrics of one built kiosk (``kiosk.app.Kiosk``) in their own registry."""

    def __init__(self, kiosk) -> None:
        self.registry = CollectorRegistry()
        self.heartbeat = CoreHeartbeat()
        kiosk.core.add_listener(self.heartbeat)
        self.registry.register(_KioskCollector(kiosk, self.heartbeat))


class KioskOperations:
    """What `kiosk run` runs beside the kiosk: /metrics and the systemd notices.

    Build it before ``kiosk.start()`` (its view listener must be in place),
    call :meth:`ready` once the kiosk runs and :meth:`stop` before it stops.
    """

    def __init__(self, kiosk, metrics_listen: str) -> None:
        from common import systemd
        from common.metrics_http import MetricsEndpoint

        self.metrics = KioskMetrics(kiosk)
        # A bad address fails here, before anything starts.
        self.endpoint = MetricsEndpoint(self.metrics.registry, metrics_listen)
        self.notifier = systemd.ServiceNotifier(self.metrics.heartbeat.alive)

    def ready(self, status: str = "") -> None:
        self.endpoint.start()
        self.notifier.ready(status)

    def stop(self) -> None:
        self.notifier.stopping()
        self.endpoint.stop()
