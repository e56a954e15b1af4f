"""A real registry server on loopback, with cheap scrypt so tests stay fast."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from common.credentials import KdfParams
from registry.notifier import DirectoryNotifier, ReadyNotice
from registry.server import RegistryServer, create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import KioskCaller, admin_token

TEST_KDF = KdfParams(n=2**10)


class RecordingNotifier(DirectoryNotifier):
    """The real directory notifier that also remembers what it was asked to send."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.notices: list[ReadyNotice] = []

    def order_ready(self, notice: ReadyNotice) -> None:
        self.notices.append(notice)
        super().order_ready(notice)


@dataclass
class Registry:
    server: RegistryServer
    db_path: Path
    notifier: RecordingNotifier
    address: str
    channel: grpc.Channel
    # Calls as the local admin (operator admin + supervisor).
    office: registry_pb2_grpc.OfficeServiceStub
    # Calls as the kiosk each request names, enrolled on first use.
    kiosk: KioskCaller

    def sql(self, query: str, *params) -> list[sqlite3.Row]:
        """Reads (or pokes) the database behind the server's back."""
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                return conn.execute(query, params).fetchall()
        finally:
            conn.close()

    def close(self) -> None:
        self.channel.close()
        self.server.stop(grace=1)


def start_registry(db_path: Path, notify_dir: Path, **kwargs) -> Registry:
    notifier = RecordingNotifier(notify_dir)
    kwargs.setdefault("kdf_params", TEST_KDF)
    server = create_server(
        "127.0.0.1:0",
        db_path,
        notifier=notifier,
        office_contact="Bürgerbüro Musterstadt, 0123 456789",
        stream_poll_seconds=0.2,
        **kwargs,
    )
    server.start()
    address = f"127.0.0.1:{server.port}"
    channel = grpc.insecure_channel(address)
    admin = authenticated_channel(channel, bearer(admin_token(db_path)))
    kiosk = KioskCaller(channel, server.db)
    kiosk.token("kiosk-1")  # the operator enrolled the office's first kiosk
    return Registry(
        server=server,
        db_path=Path(db_path),
        notifier=notifier,
        address=address,
        channel=channel,
        office=registry_pb2_grpc.OfficeServiceStub(admin),
        kiosk=kiosk,
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = start_registry(tmp_path / "registry.sqlite3", tmp_path / "notifications")
    yield reg
    reg.close()


def compartments(*states: int) -> list[pb.Compartment]:
    return [
        pb.Compartment(
            number=i + 1,
            size=pb.COMPARTMENT_SIZE_S,
            column=1,
            row=i + 1,
            height_class=pb.HEIGHT_CLASS_STANDARD,
            state=state,
        )
        for i, state in enumerate(states)
    ]


@pytest.fixture
def registry_at() -> Callable[..., Registry]:
    """Starts a registry on a given database; the test stops it."""
    return start_registry


@pytest.fixture
def layout() -> Callable[..., list[pb.Compartment]]:
    """Compartments 1..n in the given states."""
    return compartments


@pytest.fixture
def register_kiosk(registry: Registry) -> Callable[..., pb.RegisterKioskResponse]:
    def register(kiosk_id: str = "kiosk-1", states=(pb.COMPARTMENT_STATE_FREE,) * 4):
        return registry.kiosk.RegisterKiosk(
            pb.RegisterKioskRequest(
                kiosk_id=kiosk_id, software_version="test", compartments=compartments(*states)
            ),
            timeout=5,
        )

    return register


@pytest.fixture
def create_order(registry: Registry) -> Callable[..., pb.CreatePickupOrderResponse]:
    def create(**fields) -> pb.CreatePickupOrderResponse:
        fields.setdefault("kind", pb.DOCUMENT_KIND_ID_CARD)
        fields.setdefault("request_id", str(uuid.uuid4()))
        return registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(**fields), timeout=5)

    return create
