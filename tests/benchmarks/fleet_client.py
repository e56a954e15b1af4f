"""The fleet benchmark's side of the wire: credentials, the registry process, simulated kiosks.

**Credentials.** The registry authenticates every call (issue 9). Every
client of the benchmark gets its channel credentials and call metadata from
:func:`credentials_for` and nowhere else: an office client calls with the
registry's local admin key, a kiosk with its own kiosk credential, enrolled
on first use as an operator would (`kiosk-registry kiosk enrol`). The
registry's database (a SQLite path or a PostgreSQL URL) reaches the load
processes through ``BENCH_REGISTRY_DB``, its state folder (where the admin
credential lies) through ``BENCH_REGISTRY_STATE``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from common.auth import ADMIN_CREDENTIAL_FILE, bearer, read_secret_file
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc

SOFTWARE_VERSION = "bench-fleet"


@dataclass(frozen=True)
class Credentials:
    """What one client presents: channel credentials (None = plaintext) and call metadata."""

    channel: grpc.ChannelCredentials | None = None
    metadata: tuple[tuple[str, str], ...] = ()


REGISTRY_DB_ENV = "BENCH_REGISTRY_DB"
REGISTRY_STATE_ENV = "BENCH_REGISTRY_STATE"
_kiosk_tokens: dict[tuple[str, str], str] = {}


def _state_dir(target: str) -> Path:
    """The registry's state folder: the SQLite file's, or the one given for PostgreSQL."""
    state = os.environ.get(REGISTRY_STATE_ENV)
    return Path(state) if state else Path(target).parent


def _open_database(target: str | Path):
    from registry.database import RegistryDatabase

    return RegistryDatabase(target, state_dir=_state_dir(str(target)))


def credentials_for(role: str, name: str) -> Credentials:
    """How a benchmark client authenticates as ``role`` ("kiosk" or "office") named ``name``
    against the registry whose database ``BENCH_REGISTRY_DB`` names (:func:`start_registry`
    sets it); plaintext on loopback."""
    db_path = os.environ[REGISTRY_DB_ENV]
    if role == "office":
        return Credentials(
            metadata=bearer(read_secret_file(_state_dir(db_path) / ADMIN_CREDENTIAL_FILE))
        )
    if role != "kiosk":
        raise ValueError(f"unknown role {role!r}: use 'kiosk' or 'office'")
    key = (str(db_path), name)
    if key not in _kiosk_tokens:
        from tests.auth_support import enrol

        db = _open_database(db_path)
        try:
            _kiosk_tokens[key] = enrol(db, name)
        finally:
            db.close()
    return Credentials(metadata=bearer(_kiosk_tokens[key]))


def enrol_fleet(db_path: str | Path, names=(), *, tokens: dict[str, str] | None = None
                ) -> dict[str, str]:
    """Enrols many kiosks over one database connection, for :func:`credentials_for`;
    or, given ``tokens`` enrolled by another process, makes them known here."""
    if tokens is not None:
        for name, token in tokens.items():
            _kiosk_tokens[(str(db_path), name)] = token
        return tokens
    from tests.auth_support import enrol

    db = _open_database(db_path)
    try:
        enrolled = {name: enrol(db, name) for name in names}
    finally:
        db.close()
    return enrol_fleet(db_path, tokens=enrolled)


# Each simulated kiosk gets its own HTTP/2 connection, as real kiosks do:
# without a local subchannel pool, channels to one target share a connection.
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


def sync_channel(target: str, credentials: Credentials) -> grpc.Channel:
    if credentials.channel is None:
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(target, credentials.channel, options=CHANNEL_OPTIONS)


def aio_channel(target: str, credentials: Credentials) -> grpc.aio.Channel:
    if credentials.channel is None:
        return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
    return grpc.aio.secure_channel(target, credentials.channel, options=CHANNEL_OPTIONS)


def layout(n: int = 20) -> list[pb.Compartment]:
    return [
        pb.Compartment(number=i + 1, size=pb.COMPARTMENT_SIZE_M, column=i // 5 + 1, row=i % 5 + 1,
                       height_class=pb.HEIGHT_CLASS_STANDARD, state=pb.COMPARTMENT_STATE_FREE)
        for i in range(n)
    ]


# ------------------------------------------------------------ the registry

@dataclass
class RegistryProcess:
    """``kiosk-registry serve`` as deployed, in its own process (so its RSS is its own)."""

    process: subprocess.Popen
    address: str
    metrics_port: int | None
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> dict[str, int]:
        """Resident memory now and at its peak (VmRSS, VmHWM), KiB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))
                for key in ("VmRSS", "VmHWM")}

    def threads(self) -> int:
        return int(re.search(r"^Threads:\s+(\d+)", Path(f"/proc/{self.pid}/status").read_text(),
                             re.M).group(1))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_registry(workdir: Path, *extra: str, database: str | None = None,
                   start_timeout: float = 60) -> RegistryProcess:
    """Starts the registry on a free loopback port with deployed defaults; waits until it
    listens (at most ``start_timeout`` s).

    ``database``: a PostgreSQL URL (migrated already) instead of a SQLite file in ``workdir``.
    """
    script = Path(sys.executable).parent / "kiosk-registry"
    log_path = workdir / "registry.log"
    log = log_path.open("w")
    # For credentials_for, here and in the load processes.
    if database is None:
        database = str(workdir / "registry.sqlite3")
        os.environ.pop(REGISTRY_STATE_ENV, None)
        where = ["--db", database]
    else:
        os.environ[REGISTRY_STATE_ENV] = str(workdir / "state")
        where = ["--db", database, "--state-dir", str(workdir / "state")]
    os.environ[REGISTRY_DB_ENV] = database
    process = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", *where,
         "--notify-dir", str(workdir / "notifications"), "--metrics-listen", "127.0.0.1:0", *extra],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + start_timeout
    address = metrics = None
    while time.monotonic() < deadline and process.poll() is None and address is None:
        text = log_path.read_text()
        if match := re.search(r"registry listening on (127\.0\.0\.1:\d+)", text):
            address = match.group(1)
            found = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", text)
            metrics = int(found.group(1)) if found else None
        else:
            time.sleep(0.05)
    if address is None:
        process.kill()
        raise RuntimeError(f"the registry did not start:\n{log_path.read_text()}")
    return RegistryProcess(process, address, metrics, log_path)


# ------------------------------------------------------ simulated kiosks

@dataclass
class KioskStats:
    registered: bool = False
    stream_open: bool = False
    heartbeats: list[float] = field(default_factory=list)  # latencies, s
    syncs: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class SimulatedKiosk:
    """A kiosk as the registry sees it: register, hold a command stream, heartbeat, sync."""

    def __init__(self, target: str, kiosk_id: str, *, timeout: float = 2.0) -> None:
        self.kiosk_id = kiosk_id
        self.credentials = credentials_for("kiosk", kiosk_id)
        self.channel = aio_channel(target, self.credentials)
        self.stub = pb_grpc.KioskServiceStub(self.channel)
        self.timeout = timeout
        self.stats = KioskStats()
        self.cursor = ""
        self._stream = None
        self._reader: asyncio.Task | None = None

    async def _call(self, method, request, into: list[float] | None = None):
        started = time.perf_counter()
        try:
            reply = await method(request, timeout=self.timeout, metadata=self.credentials.metadata)
        except grpc.aio.AioRpcError as exc:
            self.stats.failures.append(f"{type(request).__name__}: {exc.code().name}")
            raise
        if into is not None:
            into.append(time.perf_counter() - started)
        return reply

    async def register(self) -> None:
        await self._call(self.stub.RegisterKiosk, pb.RegisterKioskRequest(
            kiosk_id=self.kiosk_id, software_version=SOFTWARE_VERSION, compartments=layout()))
        self.stats.registered = True

    async def open_stream(self) -> None:
        """Opens StreamCommands and keeps reading it in the background, as the uplink does."""
        self._stream = self.stub.StreamCommands(pb.StreamCommandsRequest(kiosk_id=self.kiosk_id),
                                                metadata=self.credentials.metadata)
        self._reader = asyncio.create_task(self._read_stream())
        self.stats.stream_open = True

    async def _read_stream(self) -> None:
        try:
            async for _ in self._stream:
                pass
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        finally:
            self.stats.stream_open = False

    async def heartbeat(self) -> None:
        await self._call(self.stub.Heartbeat, pb.HeartbeatRequest(kiosk_id=self.kiosk_id),
                         self.stats.heartbeats)

    async def sync(self) -> None:
        while True:
            reply = await self._call(self.stub.SyncChanges, pb.SyncChangesRequest(
                kiosk_id=self.kiosk_id, cursor=self.cursor), self.stats.syncs)
            self.cursor = reply.next_cursor
            if not reply.has_more:
                return

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Heartbeat and sync every ``interval`` s (jittered start) until ``stop``."""
        offset = (uuid.UUID(int=hash(self.kiosk_id) & (2**128 - 1)).int % 1000) / 1000 * interval
        try:
            await asyncio.wait_for(stop.wait(), offset)
        except TimeoutError:
            pass
        while not stop.is_set():
            for step in (self.heartbeat, self.sync):
                try:
                    await step()
                except grpc.aio.AioRpcError:
                    pass
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.channel.close()


def start_registry_of(workdir: Path, pythonpath: str | None, *extra: str,
                      database: str | None = None, start_timeout: float = 60) -> RegistryProcess:
    """:func:`start_registry` running the registry package of another checkout first on
    ``PYTHONPATH`` (None: this one), for before/after comparisons."""
    saved = os.environ.get("PYTHONPATH")
    if pythonpath is not None:
        os.environ["PYTHONPATH"] = pythonpath
    try:
        return start_registry(workdir, *extra, database=database, start_timeout=start_timeout)
    finally:
        if pythonpath is not None:
            if saved is None:
                os.environ.pop("PYTHONPATH")
            else:
                os.environ["PYTHONPATH"] = saved


# ------------------------------------------------------- the gRPC floor

class _EmptyHandler(grpc.GenericRpcHandler):
    """Answers every unary method with an empty message: no auth, no storage, no work."""

    def service(self, handler_call_details):
        return grpc.unary_unary_rpc_method_handler(_empty_reply)  # raw bytes in and out


async def _empty_reply(request: bytes, context) -> bytes:
    return b""  # parses as the empty message of any response type


async def _serve_floor(port_queue, stop) -> None:
    # As the registry builds its grpc.aio server (registry.server.create_server),
    # minus everything that is the registry's own.
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((_EmptyHandler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    port_queue.put(port)
    while not stop.is_set():
        await asyncio.sleep(0.2)
    await server.stop(grace=None)


def _floor_process(port_queue, stop) -> None:
    asyncio.run(_serve_floor(port_queue, stop))


@dataclass
class FloorServer:
    """An empty grpc.aio server in a process of its own: what any unary call costs at least."""

    process: object
    address: str
    _stop: object

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self._stop.set()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def start_floor_server() -> FloorServer:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # gRPC's threads do not survive a fork
    port_queue, stop = ctx.Queue(), ctx.Event()
    process = ctx.Process(target=_floor_process, args=(port_queue, stop), daemon=True)
    process.start()
    port = port_queue.get(timeout=60)
    return FloorServer(process, f"127.0.0.1:{port}", stop)
