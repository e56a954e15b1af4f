"""A real registry server on loopback, with cheap scrypt so tests stay fast.

The modules in ``POSTGRES_MODULES`` run twice: on SQLite (the default) and
on a fresh PostgreSQL database per test (marker ``postgres``). Their tests
reach the database through ``registry.sql`` and ``registry.db_target``
(a path or URL for ``--db``), never through sqlite3 directly.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from common.credentials import KdfParams
from registry.database import RegistryDatabase
from registry.notifier import DirectoryNotifier, FanOutNotifier, ReadyNotice
from registry.server import RegistryServer, create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import KioskCaller, admin_token

TEST_KDF = KdfParams(n=2**10)
# Where storage matters: these run on PostgreSQL too.
POSTGRES_MODULES = {
    "test_registry_kiosk", "test_registry_office", "test_registry_auth",
    "test_registry_audit", "test_registry_retention", "test_registry_sync_scale",
    "test_audit_retention", "test_registry_oidc", "test_user_rules", "test_registry_order_actions",
    "test_kiosk_audit_retention", "test_group_commit", "test_registry_alarms",
    "test_report_counts",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        if module in POSTGRES_MODULES:
            metafunc.parametrize(
                "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
            )


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
    # What `--db` takes: the SQLite path or the PostgreSQL URL.
    db_target: str = ""

    def sql(self, query: str, *params) -> list:
        """Reads (or pokes) the database behind the server's back (``?`` placeholders)."""
        if self.server.db.dialect == "postgresql":
            return postgres_sql(self.db_target, query, params)
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


def postgres_sql(url: str, query: str, params) -> list:
    import sqlalchemy as sa

    from registry.database import Row
    from registry.storage import locate

    names = iter(range(len(params)))
    query = re.sub(r"\?", lambda _: f":p{next(names)}", query)
    engine = locate(url).engine()
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(query), {f"p{i}": v for i, v in enumerate(params)})
            if not result.returns_rows:
                return []
            keys = tuple(result.keys())
            return [Row(keys, tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                    for row in result]
    finally:
        engine.dispose()


def start_registry(db_path: Path | str, notify_dir: Path, *, state_dir: Path | None = None,
                   more_notifiers: tuple = (), **kwargs) -> Registry:
    """``db_path``: a SQLite path, or a PostgreSQL URL with ``state_dir`` for its files;
    ``more_notifiers`` serve beside the recording one (e.g. the messages notifier)."""
    notifier = RecordingNotifier(notify_dir)
    kwargs.setdefault("kdf_params", TEST_KDF)
    if state_dir is not None:
        kwargs["state_dir"] = state_dir
    server = create_server(
        "127.0.0.1:0",
        db_path,
        notifier=FanOutNotifier([notifier, *more_notifiers]) if more_notifiers else notifier,
        office_contact="Bürgerbüro Musterstadt, 0123 456789",
        stream_poll_seconds=0.2,
        **kwargs,
    )
    server.start()
    address = f"127.0.0.1:{server.port}"
    channel = grpc.insecure_channel(address)
    # The admin credential lives in the state folder (db.path.parent for both backends).
    admin = authenticated_channel(channel, bearer(admin_token(server.db.path)))
    kiosk = KioskCaller(channel, server.db)
    kiosk.token("kiosk-1")  # the operator enrolled the office's first kiosk
    return Registry(
        server=server,
        db_path=Path(server.db.path),
        notifier=notifier,
        address=address,
        channel=channel,
        office=registry_pb2_grpc.OfficeServiceStub(admin),
        kiosk=kiosk,
        db_target=str(db_path),
    )


@pytest.fixture
def backend() -> str:
    """Overridden by pytest_generate_tests: "sqlite", or "postgresql" for POSTGRES_MODULES."""
    return "sqlite"


@pytest.fixture
def registry_target(backend: str, tmp_path: Path, request) -> tuple[str | Path, dict]:
    """A fresh database for the test's backend, and start_registry's extra arguments."""
    if backend == "postgresql":
        make = request.getfixturevalue("pg_database")
        state = tmp_path / "state"
        return make(), {"state_dir": state}
    return tmp_path / "registry.sqlite3", {}


@pytest.fixture
def registry(tmp_path: Path, registry_target, monkeypatch) -> Iterator[Registry]:
    target, extra = registry_target
    if "state_dir" in extra:  # local commands (`--db URL`) find the audit key there
        monkeypatch.setenv("KIOSK_REGISTRY_STATE_DIR", str(extra["state_dir"]))
    reg = start_registry(target, tmp_path / "notifications", **extra)
    yield reg
    reg.close()


@pytest.fixture
def open_database(registry_target, monkeypatch) -> Iterator[Callable[..., RegistryDatabase]]:
    """Opens a RegistryDatabase (no server) on the test's backend; ``db.target`` is
    what ``--db`` takes, and :func:`database_sql` pokes it behind its back."""
    target, extra = registry_target
    if "state_dir" in extra:  # local commands (`--db URL`) find the audit key there
        monkeypatch.setenv("KIOSK_REGISTRY_STATE_DIR", str(extra["state_dir"]))
    opened: list[RegistryDatabase] = []

    def make(**kwargs) -> RegistryDatabase:
        database = RegistryDatabase(target, **extra, **kwargs)
        database.target = str(target)  # type: ignore[attr-defined]
        opened.append(database)
        return database

    yield make
    for database in opened:
        database.close()


def database_sql(db: RegistryDatabase, query: str, *params) -> list:
    """Runs SQL (``?`` placeholders) on an open_database's database, committed."""
    if db.dialect == "postgresql":
        return postgres_sql(db.target, query, params)  # type: ignore[attr-defined]
    with sqlite3.connect(db.path) as conn:
        return conn.execute(query, params).fetchall()


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
