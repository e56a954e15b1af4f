"""The registry's gRPC server: KioskService, OfficeService, health and reflection.

It is a grpc.aio server on an event loop of its own (see registry.aio_calls):
an open command stream is a coroutine, not a thread, so thousands of kiosks
can hold one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.credentials import KdfParams
from registry.admission import Admission, AdmissionInterceptor
from registry.aio_calls import in_thread
from registry.auth import AuthInterceptor, Gate, Guard
from registry.credential_watch import CredentialWatch
from registry.database import RegistryDatabase
from registry.identity import ensure_local_admin
from registry.kiosk_service import KioskServicer
from registry.metrics import RegistryMetrics
from registry.notifier import DirectoryNotifier, Notifier
from registry.office_service import OfficeServicer
from registry.retention import Retention, RetentionPolicy
from registry.wakeup import Wakeup, wakeup_for
from pickupbox.registry.v1 import registry_pb2, registry_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_OFFICE_CONTACT = "Ihr Bürgerbüro / your citizens' office"
KIOSK_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["KioskService"].full_name
OFFICE_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["OfficeService"].full_name
# Threads for the unary calls (synchronous database code). Open command
# streams are coroutines on the event loop and hold none of them, so this
# no longer limits how many kiosks can connect; the database serialises
# its transactions anyway, so more threads would only queue at its lock.
DEFAULT_MAX_WORKERS = 8
# A stream wakes when a command is queued for its kiosk (registry.wakeup);
# this re-check only covers a wake-up lost between instances.
DEFAULT_STREAM_RECHECK_SECONDS = 30.0
# The health check reflects the database: it is probed this often, and a
# probe that fails or takes longer than the limit makes the registry
# NOT_SERVING (the load balancer sends kiosks elsewhere, the systemd
# watchdog stops pinging) until a probe succeeds again.
DATABASE_PROBE_SECONDS = 5.0
DATABASE_PROBE_LIMIT_SECONDS = 10.0
SERVICES = ("", KIOSK_SERVICE, OFFICE_SERVICE)


class _EventLoop:
    """The asyncio loop the gRPC server runs on, in a thread of its own, so
    that callers (tools/run, kiosk demo, tests, `kiosk-registry serve`) keep
    a synchronous start/stop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="registry-aio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class RegistryServer:
    """A started-or-startable registry; see :func:`create_server`."""

    def __init__(
        self,
        grpc_server: grpc.aio.Server,
        port: int,
        db: RegistryDatabase,
        health_servicer: health.aio.HealthServicer,
        kiosk_servicer: KioskServicer,
        stopping: threading.Event,
        retention: Retention,
        *,
        event_loop: _EventLoop,
        executor: futures.ThreadPoolExecutor,
        wakeup: Wakeup,
    ) -> None:
        self._server = grpc_server
        self.port = port
        self.db = db
        self._health = health_servicer
        self._kiosk_servicer = kiosk_servicer
        self._stopping = stopping
        self.retention = retention
        self._loop = event_loop
        self._executor = executor
        self.wakeup = wakeup
        self._terminated = threading.Event()
        self._stop_lock = threading.Lock()
        self._purger = threading.Thread(
            target=retention.run_daily, args=(stopping,), name="retention", daemon=True
        )
        # Revocations by other processes (registry.credential_watch).
        self.credential_watch = CredentialWatch(db)

    def start(self) -> None:
        self.credential_watch.start()
        self._loop.run(self._start())
        getattr(self._kiosk_servicer.notifier, "start", lambda: None)()  # messages hook
        self.retention.run()
        self._purger.start()
        # Notices that failed (or were cut off by a crash) before the last
        # stop still have their code stored; send them now.
        self._kiosk_servicer.send_pending_notices()

    async def _start(self) -> None:
        await self.wakeup.start()
        await self._server.start()
        self._prober = asyncio.create_task(self._probe_database(), name="database-probe")

    def _database_answers(self) -> bool:
        with self.db.transaction() as tx:
            return bool(tx.query("SELECT 1 AS one"))

    async def _probe_database(self) -> None:
        serving = True
        probe: asyncio.Future | None = None
        while not self._stopping.is_set():
            # A probe stuck in the database is waited for, not repeated: each
            # repeat would hold one more pool thread.
            if probe is None or probe.done():
                probe = asyncio.ensure_future(in_thread(self._executor, self._database_answers))
            try:
                ok = await asyncio.wait_for(asyncio.shield(probe), DATABASE_PROBE_LIMIT_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a timeout or the database's own error
                if serving:
                    log.error("the database does not answer (%s): reporting NOT_SERVING",
                              type(exc).__name__ if isinstance(exc, asyncio.TimeoutError) else exc)
                ok = False
            if ok != serving:
                if ok:
                    log.info("the database answers again: reporting SERVING")
                status = (health_pb2.HealthCheckResponse.SERVING if ok
                          else health_pb2.HealthCheckResponse.NOT_SERVING)
                for service in SERVICES:
                    await self._health.set(service, status)
                serving = ok
            await asyncio.sleep(DATABASE_PROBE_SECONDS)

    def stop(self, grace: float | None = None) -> None:
        """Stops serving, waits for calls to finish (up to ``grace`` s), closes the DB."""
        with self._stop_lock:
            if self._terminated.is_set():
                return
            self._stopping.set()
            self._loop.run(self._stop(grace))
            self._loop.close()
            self._executor.shutdown(wait=True)
            self._kiosk_servicer.close()
            office = getattr(self, "office", None)
            if office is not None:
                office.close()  # its group commit's thread
            getattr(self._kiosk_servicer.notifier, "close", lambda: None)()  # messages hook
            if self._purger.is_alive():
                self._purger.join()
            self.credential_watch.stop()
            self.db.close()
            self._terminated.set()

    async def _stop(self, grace: float | None) -> None:
        prober = getattr(self, "_prober", None)
        if prober is not None:
            prober.cancel()
        await self._health.enter_graceful_shutdown()
        self.wakeup.wake_all()  # open streams see `stopping` and end
        self.db.wake_streams()
        await self._server.stop(grace)
        await self.wakeup.stop()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Blocks until :meth:`stop` has finished; True if ``timeout`` ran out first."""
        return not self._terminated.wait(timeout)


def create_server(
    address: str,
    db_path: str | Path,
    *,
    notifier: Notifier | None = None,
    kdf_params: KdfParams | None = None,
    office_contact: str = DEFAULT_OFFICE_CONTACT,
    server_credentials: grpc.ServerCredentials | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    stream_poll_seconds: float = DEFAULT_STREAM_RECHECK_SECONDS,
    retention: RetentionPolicy | None = None,
    state_dir: str | Path | None = None,
    wakeup: Wakeup | None = None,
) -> RegistryServer:
    """Builds a registry bound to ``address`` ("host:port"; port 0 picks a free one).

    ``kdf_params`` only applies when ``db_path`` is a new database; an
    existing one keeps the credential policy it was created with. Without a
    notifier, notices go to ``notifications/`` beside the database.
    ``server_credentials`` switches from plaintext to TLS/mTLS. ``db_path`` may
    also be a URL (``sqlite:///…``, ``postgresql://…``); ``state_dir`` is where
    the files beside the database live (see RegistryDatabase). ``wakeup``
    carries "a command was queued" to the open streams: by default
    :func:`registry.wakeup.wakeup_for` the database (LISTEN/NOTIFY across
    instances for PostgreSQL, in-process otherwise).
    ``stream_poll_seconds`` is only the streams' safety re-check.
    """
    db = RegistryDatabase(db_path, kdf_params=kdf_params, state_dir=state_dir)
    if kdf_params is not None and db.policy.params != kdf_params:
        log.warning(
            "%s keeps its credential policy %s; the requested %s applies only to a new database",
            db.path, db.policy.params, kdf_params,
        )
    if notifier is None:
        notifier = DirectoryNotifier(db.state_dir / "notifications")
    if wakeup is None:  # PostgreSQL's LISTEN/NOTIFY for a postgresql:// URL, else in-process
        wakeup = wakeup_for(db.url)
    db.command_listeners.append(wakeup.publish)
    wakeup.watch_credentials(db.forget_credentials)  # revocations by other instances
    stopping = threading.Event()
    # Metrics (fleetops): every RPC through the interceptor, notices counted.
    metrics = RegistryMetrics()
    metrics.watch_fleet(db)
    notifier = metrics.counting(notifier)
    getattr(notifier, "attach_registry", lambda _db: None)(db)  # messages hook: the audit log
    gate = Gate(db)  # shared with the HTTP front door (registry/http_api)
    created = ensure_local_admin(db)
    if created is not None:
        log.info("created the local admin credential %s (mode 0600)", created)

    guard = Guard(db)
    purge = Retention(db, notifier, retention or RetentionPolicy())
    executor = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="registry")
    # As many unary calls at once as there are pool threads: the rest wait
    # briefly for a slot or are shed with a retry hint (registry.admission),
    # rather than queue in the pool until their deadlines pass.
    admission = Admission(max_workers)
    kiosk_servicer = KioskServicer(
        db, notifier, office_contact, stopping, guard, purge,
        stream_poll_seconds=stream_poll_seconds, wakeup=wakeup, executor=executor,
    )
    office_servicer = OfficeServicer(db, guard, purge, notifier=notifier)
    health_servicer = health.aio.HealthServicer()
    event_loop = _EventLoop()

    async def build() -> tuple[grpc.aio.Server, int]:
        # No SO_REUSEPORT: a second registry on the same port must fail loudly
        # instead of silently sharing the port with the first.
        # Every call passes the AuthInterceptor: nothing is anonymous but health
        # checks and reflection. Synchronous handlers run in `executor`.
        server = grpc.aio.server(
            migration_thread_pool=executor,
            # Metrics first, so refused and shed calls are counted too;
            # admission before authentication, so a shed call costs no check.
            interceptors=[metrics.interceptor(), AdmissionInterceptor(admission),
                          AuthInterceptor(gate, executor)],
            options=[("grpc.so_reuseport", 0)],
        )
        registry_pb2_grpc.add_KioskServiceServicer_to_server(kiosk_servicer, server)
        registry_pb2_grpc.add_OfficeServiceServicer_to_server(office_servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        for service in SERVICES:
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        reflection.enable_server_reflection(
            (KIOSK_SERVICE, OFFICE_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        if server_credentials is None:
            return server, server.add_insecure_port(address)
        return server, server.add_secure_port(address, server_credentials)

    def give_up(problem: str, error: Exception | None = None) -> OSError:
        event_loop.close()
        executor.shutdown(wait=False)
        db.close()
        return OSError(f"cannot listen on {address}: {problem}")

    try:
        server, port = event_loop.run(build())
    except RuntimeError as error:
        raise give_up(str(error)) from error
    if port == 0:
        raise give_up("is the address in use or invalid?")
    registry_server = RegistryServer(
        server, port, db, health_servicer, kiosk_servicer, stopping, purge,
        event_loop=event_loop, executor=executor, wakeup=wakeup,
    )
    registry_server.admission = admission
    registry_server.metrics = metrics  # served over HTTP by `kiosk-registry serve` (fleetops)
    # The same application services behind other front doors (web console, HTTP API).
    registry_server.office = office_servicer
    registry_server.kiosk = kiosk_servicer
    registry_server.gate = gate
    return registry_server
