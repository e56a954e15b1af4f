"""mTLS between kiosk and registry, with certificates made by openssl for the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from registry.cli import main as registry_cli
from registry.notifier import DirectoryNotifier
from registry.server import create_server
from common.tls import server_credentials
from kiosk.uplink.client import RegistryUnavailable
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from common.auth import KIOSK_CREDENTIAL_FILE, write_secret_file
from registry.identity import create_kiosk_credential
from tests.auth_support import enrol
from tests.integration.conftest import FAST_KDF, wait_for

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    names = ("kiosk", "kiosk-a", "kiosk-b", "office-app")
    for name, ext in (("server", ["-extfile", "server.ext"]), *((n, []) for n in names)):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext, cwd=d)
    # A certificate of another CA, with the enrolled kiosk's name.
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=Rogue CA", "-keyout", "rogue-ca.key",
             "-out", "rogue-ca.pem", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=kiosk", "-keyout", "rogue.key", "-out", "rogue.csr", cwd=d)
    _openssl("x509", "-req", "-in", "rogue.csr", "-CA", "rogue-ca.pem", "-CAkey", "rogue-ca.key",
             "-CAcreateserial", "-days", "2", "-out", "rogue.pem", cwd=d)
    return d


@pytest.fixture
def tls_registry(tmp_path, pki):
    server = create_server(
        "127.0.0.1:0", tmp_path / "registry.sqlite3", notifier=DirectoryNotifier(tmp_path / "n"),
        kdf_params=FAST_KDF, stream_poll_seconds=0.2,
        server_credentials=server_credentials(pki / "server.pem", pki / "server.key", pki / "ca.pem"),
    )
    # The kiosk's certificate is enrolled as kiosk-1: no other credential needed.
    enrol(server.db, "kiosk-1", certificate_name="kiosk")
    server.start()
    yield server
    server.stop(grace=0)


def _kiosk_env(tmp_path, pki, port, with_client_cert=True):
    env = {
        "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / "kiosk"),
        "PICKUPBOX_REGISTRY__ADDRESS": f"127.0.0.1:{port}",
        "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
        "PICKUPBOX_REGISTRY__TLS_CA_FILE": str(pki / "ca.pem"),
    }
    if with_client_cert:
        env["PICKUPBOX_REGISTRY__TLS_CERT_FILE"] = str(pki / "kiosk.pem")
        env["PICKUPBOX_REGISTRY__TLS_KEY_FILE"] = str(pki / "kiosk.key")
    return env


def _assert_registers(env) -> None:
    kiosk = build_kiosk(load_settings(None, env))
    kiosk.start()
    try:
        wait_for(lambda: kiosk.uplink.registered, what="registration over mTLS")
    finally:
        kiosk.stop()


def test_kiosk_registers_over_mutual_tls(tmp_path, pki, tls_registry):
    _assert_registers(_kiosk_env(tmp_path, pki, tls_registry.port))


def _assert_handshake_refused(env) -> None:
    kiosk = build_kiosk(load_settings(None, env))
    try:
        with pytest.raises(RegistryUnavailable):
            kiosk.uplink.step(0.0)
        assert not kiosk.uplink.registered
    finally:
        kiosk.stop()


def test_kiosk_without_client_certificate_is_refused(tmp_path, pki, tls_registry):
    _assert_handshake_refused(_kiosk_env(tmp_path, pki, tls_registry.port, with_client_cert=False))


def test_plaintext_client_is_refused(tls_registry):
    with grpc.insecure_channel(f"127.0.0.1:{tls_registry.port}") as channel:
        office = pb_grpc.OfficeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            office.ListKiosks(pb.ListKiosksRequest(), timeout=3)
    assert error.value.code() is grpc.StatusCode.UNAVAILABLE


def test_office_cli_over_mutual_tls(pki, tls_registry, capsys, monkeypatch):
    monkeypatch.setenv("PICKUPBOX_CREDENTIAL", str(tls_registry.db.path.parent / "admin.credential"))
    args = ["--registry", f"127.0.0.1:{tls_registry.port}", "--tls-ca", str(pki / "ca.pem"),
            "--tls-cert", str(pki / "office-app.pem"), "--tls-key", str(pki / "office-app.key")]
    assert registry_cli(["kiosk", "list", *args]) == 0
    # A kiosk's certificate does not become an office tool by adding an admin key.
    kiosk_cert = ["--tls-cert", str(pki / "kiosk.pem"), "--tls-key", str(pki / "kiosk.key")]
    assert registry_cli(["kiosk", "list", *args[:4], *kiosk_cert]) == 1
    assert "belongs to kiosk kiosk-1" in capsys.readouterr().err
    assert registry_cli(["kiosk", "list", "--registry", f"127.0.0.1:{tls_registry.port}",
                         "--tls-ca", str(pki / "missing.pem")]) == 1
    assert "cannot read the registry CA" in capsys.readouterr().err


def test_a_certificate_of_another_ca_is_refused(tmp_path, pki, tls_registry):
    env = _kiosk_env(tmp_path, pki, tls_registry.port)
    env["PICKUPBOX_REGISTRY__TLS_CERT_FILE"] = str(pki / "rogue.pem")
    env["PICKUPBOX_REGISTRY__TLS_KEY_FILE"] = str(pki / "rogue.key")
    _assert_handshake_refused(env)
    with tls_registry.db.transaction() as tx:
        assert tx.get_kiosk("kiosk-1") is None


def _new_credential(db, kiosk_id: str) -> str:
    with db.transaction() as tx:
        return create_kiosk_credential(tx, kiosk_id)


def test_kiosk_with_certificate_and_its_own_credential_registers(tmp_path, pki, tls_registry):
    write_secret_file(tmp_path / "kiosk" / KIOSK_CREDENTIAL_FILE,
                      _new_credential(tls_registry.db, "kiosk-1"))
    _assert_registers(_kiosk_env(tmp_path, pki, tls_registry.port))
