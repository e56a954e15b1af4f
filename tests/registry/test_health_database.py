"""The registry's health check reflects its database."""

from __future__ import annotations

import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from registry import server as server_module
from registry.server import create_server
from tests.registry.conftest import TEST_KDF

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def status_becomes(stub, wanted, service: str = "") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status == wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"health never became {health_pb2.HealthCheckResponse.ServingStatus.Name(wanted)}")


def test_a_database_that_does_not_answer_makes_the_registry_not_serving(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "DATABASE_PROBE_SECONDS", 0.05)
    monkeypatch.setattr(server_module, "DATABASE_PROBE_LIMIT_SECONDS", 0.2)
    server = create_server("127.0.0.1:0", tmp_path / "r.sqlite3", kdf_params=TEST_KDF)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = health_pb2_grpc.HealthStub(channel)
    release = threading.Event()
    held = threading.Event()

    def hold_the_database() -> None:  # a transaction that never ends, as a hung database
        with server.db.transaction():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_database)
    try:
        status_becomes(stub, SERVING)
        holder.start()
        held.wait(5)
        status_becomes(stub, NOT_SERVING)
        status_becomes(stub, NOT_SERVING, "pickupbox.registry.v1.KioskService")
        release.set()
        holder.join()
        status_becomes(stub, SERVING)
    finally:
        release.set()
        channel.close()
        server.stop(grace=1)
