"""The registry's gRPC server: KioskService, OfficeService, health and reflection."""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.credentials import KdfParams
from registry.auth import AuthInterceptor, Gate, Guard
from registry.database import RegistryDatabase
from registry.identity import ensure_local_admin
from registry.kiosk_service import KioskServicer
from registry.metrics import RegistryMetrics
from registry.notifier import DirectoryNotifier, Notifier
from registry.office_service import OfficeServicer
from registry.retention import Retention, RetentionPolicy
from pickupbox.registry.v1 import registry_pb2, registry_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_OFFICE_CONTACT = "Ihr Bürgerbüro / your citizens' office"
KIOSK_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["KioskService"].full_name
OFFICE_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["OfficeService"].full_name
# Each open StreamCommands call holds a worker thread, so leave room for one
# stream per kiosk plus the unary calls.
DEFAULT_MAX_WORKERS = 32


class RegistryServer:
    """A started-or-startable registry; see :func:`create_server`."""

    def __init__(
        self,
        grpc_server: grpc.Server,
        port: int,
        db: RegistryDatabase,
        health_servicer: health.HealthServicer,
        kiosk_servicer: KioskServicer,
        stopping: threading.Event,
        retention: Retention,
    ) -> None:
        self._server = grpc_server
        self.port = port
        self.db = db
        self._health = health_servicer
        self._kiosk_servicer = kiosk_servicer
        self._stopping = stopping
        self.retention = retention
        self._purger = threading.Thread(
            target=retention.run_daily, args=(stopping,), name="retention", daemon=True
        )

    def start(self) -> None:
        self._server.start()
        getattr(self._kiosk_servicer.notifier, "start", lambda: None)()  # messages hook
        self.retention.run()
        self._purger.start()
        # Notices that failed (or were cut off by a crash) before the last
        # stop still have their code stored; send them now.
        self._kiosk_servicer.send_pending_notices()

    def stop(self, grace: float | None = None) -> None:
        """Stops serving, waits for calls to finish (up to ``grace`` s), closes the DB."""
        self._health.enter_graceful_shutdown()
        self._stopping.set()
        self.db.wake_streams()
        self._server.stop(grace).wait()
        getattr(self._kiosk_servicer.notifier, "close", lambda: None)()  # messages hook
        if self._purger.is_alive():
            self._purger.join()
        self.db.close()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self._server.wait_for_termination(timeout)


def create_server(
    address: str,
    db_path: str | Path,
    *,
    notifier: Notifier | None = None,
    kdf_params: KdfParams | None = None,
    office_contact: str = DEFAULT_OFFICE_CONTACT,
    server_credentials: grpc.ServerCredentials | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    stream_poll_seconds: float = 1.0,
    retention: RetentionPolicy | None = None,
) -> RegistryServer:
    """Builds a registry bound to ``address`` ("host:port"; port 0 picks a free one).

    ``kdf_params`` only applies when ``db_path`` is a new database; an
    existing one keeps the credential policy it was created with. Without a
    notifier, notices go to ``notifications/`` beside the database.
    ``server_credentials`` switches from plaintext to TLS/mTLS.
    """
    db = RegistryDatabase(db_path, kdf_params=kdf_params)
    if kdf_params is not None and db.policy.params != kdf_params:
        log.warning(
            "%s keeps its credential policy %s; the requested %s applies only to a new database",
            db.path, db.policy.params, kdf_params,
        )
    if notifier is None:
        notifier = DirectoryNotifier(Path(db_path).parent / "notifications")
    stopping = threading.Event()
    # Metrics (fleetops): every RPC through the interceptor, notices counted.
    metrics = RegistryMetrics()
    metrics.watch_fleet(db)
    notifier = metrics.counting(notifier)
    # No SO_REUSEPORT: a second registry on the same port must fail loudly
    # instead of silently sharing the port with the first.
    # Every call passes the AuthInterceptor: nothing is anonymous but health
    # checks and reflection.
    gate = Gate(db)  # shared with the HTTP front door (registry/http_api)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        # Metrics first, so refused calls are counted too.
        interceptors=[metrics.interceptor(), AuthInterceptor(gate)],
        options=[("grpc.so_reuseport", 0)],
    )
    created = ensure_local_admin(db)
    if created is not None:
        log.info("created the local admin credential %s (mode 0600)", created)

    guard = Guard(db)
    purge = Retention(db, notifier, retention or RetentionPolicy())
    kiosk_servicer = KioskServicer(
        db, notifier, office_contact, stopping, guard, purge,
        stream_poll_seconds=stream_poll_seconds,
    )
    registry_pb2_grpc.add_KioskServiceServicer_to_server(kiosk_servicer, server)
    office_servicer = OfficeServicer(db, guard, purge, notifier=notifier)
    registry_pb2_grpc.add_OfficeServiceServicer_to_server(office_servicer, server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", KIOSK_SERVICE, OFFICE_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)

    reflection.enable_server_reflection(
        (KIOSK_SERVICE, OFFICE_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    try:
        if server_credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, server_credentials)
    except RuntimeError as error:
        db.close()
        raise OSError(f"cannot listen on {address}: {error}") from error
    if port == 0:
        db.close()
        raise OSError(f"cannot listen on {address}: is the address in use or invalid?")
    registry_server = RegistryServer(server, port, db, health_servicer, kiosk_servicer, stopping, purge)
    registry_server.metrics = metrics  # served over HTTP by `kiosk-registry serve` (fleetops)
    # The same application services behind other front doors (web console, HTTP API).
    registry_server.office = office_servicer
    registry_server.kiosk = kiosk_servicer
    registry_server.gate = gate
    return registry_server
