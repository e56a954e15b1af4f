"""Office software known by its client certificate (mTLS) instead of an API key.

Real certificates made by openssl (as in test_tls.py), the real registry
with TLS on loopback, the real `kiosk-registry cert` commands.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import grpc
import pytest

from common.tls import server_credentials
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.cli import main as registry_cli
from registry.errors import error_reason
from registry.notifier import DirectoryNotifier
from registry.server import create_server
from common.auth import authenticated_channel, bearer
from tests.auth_support import admin_token, enrol
from tests.integration.conftest import FAST_KDF
from tests.integration.test_tls import _openssl

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
SAN = "fachverfahren.example"


def _issue(d: Path, name: str, ca: str, san: str | None) -> None:
    ext = []
    if san:
        (d / f"{name}.ext").write_text(f"subjectAltName=DNS:{san}\n")
        ext = ["-extfile", f"{name}.ext"]
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext, cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "rogue-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", "2", "-subj", f"/CN={ca}", "-keyout", f"{ca}.key",
                 "-out", f"{ca}.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=server", "-keyout", "server.key", "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext", cwd=d)
    _issue(d, "fv-host", "ca", SAN)  # the office software: bound by its SAN
    _issue(d, "unbound-app", "ca", None)  # signed by the right CA, bound to nobody
    _issue(d, "rogue-fv", "rogue-ca", SAN)  # the same SAN from another CA
    return d


@pytest.fixture
def server(tmp_path, pki):
    srv = create_server(
        "127.0.0.1:0", tmp_path / "registry.sqlite3", notifier=DirectoryNotifier(tmp_path / "n"),
        kdf_params=FAST_KDF,
        server_credentials=server_credentials(pki / "server.pem", pki / "server.key",
                                              pki / "ca.pem"),
    )
    enrol(srv.db, "kiosk-n", office_id="north")
    srv.start()
    yield srv
    srv.stop(grace=0)


def office(srv, pki, name: str, token: str | None = None) -> pb_grpc.OfficeServiceStub:
    creds = grpc.ssl_channel_credentials(
        (pki / "ca.pem").read_bytes(), (pki / f"{name}.key").read_bytes(),
        (pki / f"{name}.pem").read_bytes())
    channel = grpc.secure_channel(f"localhost:{srv.port}", creds)
    if token is not None:
        channel = authenticated_channel(channel, bearer(token))
    return pb_grpc.OfficeServiceStub(channel)


def cli(srv, *args: str) -> int:
    return registry_cli([*args, "--db", str(srv.db.path)])


def refusal(call) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code(), error_reason(error.value), error.value.details()


def create(stub):
    return stub.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=pb.DOCUMENT_KIND_ID_CARD, kiosk_id="kiosk-n"), timeout=5)


def test_a_bound_certificate_is_an_integration_of_its_office(server, pki, capsys):
    assert cli(server, "cert", "add", "fachverfahren", "--certificate-name", SAN,
               "--office", "north") == 0
    stub = office(server, pki, "fv-host")
    reference = create(stub).order.reference
    with server.db.transaction() as tx:
        created = [e for e in tx.audit_entries() if e.action == "order.created"]
    assert created[-1].actor == "client_cert:fachverfahren" and created[-1].target == reference
    # The integration role, no more: no remote opening.
    code, reason, _ = refusal(lambda: stub.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-n", command=pb.RemoteCommand(
            type=pb.COMMAND_TYPE_OPEN_COMPARTMENT, compartment_number=1, reason="x")), timeout=5))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_MISSING")
    capsys.readouterr()
    assert cli(server, "cert", "list", "--json") == 0
    assert f'"certificate_name": "{SAN}"' in capsys.readouterr().out


def test_a_revoked_certificate_is_refused_and_audited(server, pki, capsys):
    assert cli(server, "cert", "add", "fachverfahren", "--certificate-name", SAN,
               "--office", "north") == 0
    principal_id = capsys.readouterr().out.split("(")[1].split(")")[0]
    stub = office(server, pki, "fv-host")
    create(stub)
    assert cli(server, "cert", "revoke", principal_id) == 0
    code, reason, message = refusal(lambda: create(stub))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIAL_REVOKED")
    assert "client_cert:fachverfahren was revoked" in message
    with sqlite3.connect(server.db.path) as db:
        failed = db.execute("SELECT actor FROM audit_log WHERE action = 'login.failed'").fetchall()
        revoked = db.execute("SELECT target FROM audit_log WHERE action = 'client_cert.revoked'"
                             ).fetchall()
    assert ("client_cert:fachverfahren",) in failed and revoked == [("fachverfahren",)]


def test_the_same_name_from_another_ca_does_not_even_connect(server, pki):
    assert cli(server, "cert", "add", "fachverfahren", "--certificate-name", SAN,
               "--office", "north") == 0
    code, _, _ = refusal(lambda: create(office(server, pki, "rogue-fv")))
    assert code is grpc.StatusCode.UNAVAILABLE  # the TLS handshake fails


def test_an_unbound_certificate_is_told_how_to_get_bound(server, pki):
    code, reason, message = refusal(lambda: create(office(server, pki, "unbound-app")))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_NOT_ENROLLED")
    assert "kiosk-registry cert add" in message


def test_a_certificate_with_an_api_key_is_refused(server, pki):
    assert cli(server, "cert", "add", "fachverfahren", "--certificate-name", SAN,
               "--office", "north") == 0
    admin = admin_token(server.db.path)
    code, reason, _ = refusal(lambda: create(office(server, pki, "fv-host", admin)))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIAL_MISMATCH")


def test_one_certificate_name_identifies_one_caller(server, capsys):
    enrol(server.db, "kiosk-m", office_id="north", certificate_name="kiosk-m.example")
    assert cli(server, "cert", "add", "app", "--certificate-name", "kiosk-m.example",
               "--office", "north") == 1
    assert "already belongs to kiosk kiosk-m" in capsys.readouterr().err
    assert cli(server, "cert", "add", "app", "--certificate-name", SAN, "--office", "north") == 0
    assert cli(server, "kiosk", "enrol", "kiosk-x", "--office", "north",
               "--certificate-name", SAN) == 1
    assert "already belongs to client certificate principal" in capsys.readouterr().err
    # Office software belongs to one office, like an API key.
    assert cli(server, "cert", "add", "nobody", "--certificate-name", "x.example") == 1
    assert "--office" in capsys.readouterr().err
