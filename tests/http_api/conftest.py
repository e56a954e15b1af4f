"""A real registry on loopback with the HTTP/JSON API mounted on its web front
door (uvicorn in a thread), and API keys of the callers the tests need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from common.auth import authenticated_channel, bearer
from registry import identity
from registry.errors import error_reason
from registry.http_api import api_routes
from registry.messages.config import MessagesConfig
from registry.messages.notifier import MessagesNotifier
from registry.permissions import Role
from registry.web import WebServer, build_app
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from tests.registry.conftest import Registry, compartments, start_registry

FREE = (pb.COMPARTMENT_STATE_FREE,) * 4


@dataclass
class Api:
    registry: Registry
    web: WebServer
    keys: dict[str, str]  # caller name -> credential

    @property
    def url(self) -> str:
        return f"{self.web.url}/api/v1"

    def client(self, caller: str | None = "integration", token: str | None = None) -> httpx.Client:
        headers = {}
        token = token or (self.keys[caller] if caller else None)
        if token:
            headers["authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def office_stub(self, caller: str) -> pb_grpc.OfficeServiceStub:
        """The same caller over gRPC, to compare the two front doors."""
        return pb_grpc.OfficeServiceStub(
            authenticated_channel(self.registry.channel, bearer(self.keys[caller])))

    def sql(self, query: str, *params):
        return self.registry.sql(query, *params)


def make_keys(registry: Registry) -> dict[str, str]:
    db = registry.server.db
    keys = {"kiosk": registry.kiosk.token("kiosk-1"),
            "north-kiosk": enrol(db, "kiosk-n", "north")}
    with db.transaction() as tx:
        for name, office, role in (
            ("integration", "default", Role.INTEGRATION),
            ("supervisor", "default", Role.SUPERVISOR),
            ("auditor", "default", Role.AUDITOR),
            ("technician", "default", Role.TECHNICIAN),
            ("north", "north", Role.INTEGRATION),
            ("north-supervisor", "north", Role.SUPERVISOR),
            ("revoked", "default", Role.INTEGRATION),
        ):
            keys[name] = identity.create_api_key(tx, f"fv-{name}", office, frozenset({role}))
        tx.revoke_principal(keys["revoked"].split(".")[1])
    return keys


@contextmanager
def serving_api(directory: Path) -> Iterator[Api]:
    """A registry with kiosk-1 registered, the keys, and the API on its web front door."""
    # The messages notifier (without channels: nothing leaves the machine), so
    # that the calls that promise a citizen's message are served.
    messages = MessagesNotifier(MessagesConfig(), queue_path=directory / "messages.sqlite3")
    registry = start_registry(directory / "registry.sqlite3", directory / "notifications",
                              more_notifiers=(messages,))
    registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="kiosk-1", software_version="test", compartments=compartments(*FREE)), timeout=5)
    keys = make_keys(registry)
    web = WebServer(build_app(api_routes(registry.server)), "127.0.0.1:0")
    web.start()
    try:
        yield Api(registry, web, keys)
    finally:
        web.stop()
        registry.close()


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    with serving_api(tmp_path) as running:
        yield running


def grpc_reason(call, request) -> tuple[grpc.StatusCode, str | None]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=5)
    return caught.value.code(), error_reason(caught.value)


def reason(response: httpx.Response) -> str:
    return response.json()["error"]["details"][0]["reason"]
