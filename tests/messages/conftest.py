"""Real servers on loopback for the message tests: aiosmtpd as the SMTP
relay, http.server as SMS gateway and webhook receiver, openssl for the
certificate."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from registry.messages.queue import MessageQueue
from registry.messages.templates import Catalogs

SMTP_USER = "registry"
SMTP_PASSWORD = "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (cert, key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs()


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SmtpHandler:
    """Stores what arrives; ``rcpt_reply``/``data_reply`` script refusals,
    ``drop`` closes the connection when the data arrives."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str = ""
    data_reply: list[str] = field(default_factory=list)
    drop: int = 0
    logins: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop:
            self.drop -= 1
            server.transport.close()
            return "250 never seen"
        if self.data_reply:
            return self.data_reply.pop(0)
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
            self.arrived.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


def authenticator(handler: SmtpHandler):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
              and auth_data.password == SMTP_PASSWORD.encode())
        if ok:
            handler.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)
    return check


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int
    controller: Controller


def start_smtp(*, mode: str = "none", certificate=None, auth: bool = False) -> SmtpServer:
    handler = SmtpHandler()
    port = free_port()
    kwargs = {}
    if mode != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        if mode == "tls":
            # aiosmtpd cannot tell that an implicit-TLS session is encrypted
            # and would hide AUTH; the connection is TLS all the same.
            kwargs.update(ssl_context=context, server_hostname="localhost",
                          auth_require_tls=False)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    if auth:
        kwargs.update(authenticator=authenticator(handler), auth_required=True)
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer(handler, port, controller)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp()
    yield server
    server.controller.stop()


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Answers with the scripted (status, body, delay) replies, then 200."""

    port: int
    requests: list[HttpRequest] = field(default_factory=list)
    replies: list[tuple[int, bytes, float]] = field(default_factory=list)
    default: tuple[int, bytes, float] = (200, b'{"status": "ok", "id": "gw-1"}', 0.0)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[HttpRequest]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet test output
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with receiver.arrived:
                receiver.requests.append(
                    HttpRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                receiver.arrived.notify_all()
            status, answer, delay = reply
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a slow answer, as intended

        do_POST = do_GET = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


# Modules whose tests run on SQLite and on PostgreSQL (marker ``postgres``):
# the queue is in the registry's database, on either backend.
POSTGRES_MODULES = {"test_queue", "test_email", "test_shared_queue", "test_legacy_queue"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        if module in POSTGRES_MODULES:
            metafunc.parametrize(
                "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
            )


@pytest.fixture
def backend() -> str:
    """Overridden by pytest_generate_tests for POSTGRES_MODULES."""
    return "sqlite"


@pytest.fixture
def registry_database(backend: str, tmp_path: Path, request):
    """A fresh registry database (the queue's home) on the test's backend."""
    from tests.registry.conftest import TEST_KDF
    from registry.database import RegistryDatabase

    if backend == "postgresql":
        url = request.getfixturevalue("pg_database")()
        db = RegistryDatabase(url, state_dir=tmp_path / "state", kdf_params=TEST_KDF)
        db.target = url  # type: ignore[attr-defined]
    else:
        db = RegistryDatabase(tmp_path / "registry.sqlite3", kdf_params=TEST_KDF)
        db.target = str(tmp_path / "registry.sqlite3")  # type: ignore[attr-defined]
    yield db
    db.close()


@pytest.fixture
def queue(registry_database) -> Iterator[MessageQueue]:
    q = MessageQueue(registry_database)
    yield q
    q.close()
