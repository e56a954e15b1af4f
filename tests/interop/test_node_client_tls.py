"""The Node.js client over TLS, as an office or a kiosk outside the registry's
host connects: the registry requires client certificates (mTLS, made by
openssl as in test_client_certificates); an office is known by its bound
certificate or by an API key, a kiosk by its enrolled certificate.
Transport only, so SQLite is enough.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import grpc
import pytest

from tests.integration.test_client_certificates import SAN as OFFICE_SAN
# Its fixtures: the certificates, and the registry with TLS on loopback that
# requires client certificates, with kiosk-n enrolled in office north.
from tests.integration.test_client_certificates import _issue, pki, server  # noqa: F401
from tests.interop.test_node_client import CLIENT, NODE, NODE_MODULES, run_node
from registry.cli import main as registry_cli

pytestmark = [
    pytest.mark.interop,
    pytest.mark.integration,
    pytest.mark.skipif(NODE is None, reason="needs Node.js (`node`): run tools/setup --tests"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]
KIOSK_SAN = "kiosk-7.example"


@pytest.fixture(scope="module")
def certs(pki: Path) -> Path:
    """test_client_certificates' certificates (fv-host bound by OFFICE_SAN,
    unbound-app bound to nobody, rogue-fv from another CA) and a kiosk's."""
    _issue(pki, "kiosk-7", "ca", KIOSK_SAN)
    return pki


@pytest.fixture(autouse=True)
def node_packages() -> None:
    if not (NODE_MODULES / "@grpc" / "grpc-js").is_dir():
        pytest.fail(f"no {NODE_MODULES}: run tools/setup --tests")


def admin(srv, *args: str) -> None:
    assert registry_cli([*args, "--db", str(srv.db.path)]) == 0


def over_tls(srv, certs: Path, certificate: str, *args: str) -> dict:
    return run_node([NODE, str(CLIENT), "--address", f"127.0.0.1:{srv.port}",
                     "--ca", str(certs / "ca.pem"), "--cert", str(certs / f"{certificate}.pem"),
                     "--key", str(certs / f"{certificate}.key"), *args])


def test_an_office_known_by_its_certificate_creates_an_order(server, certs):
    admin(server, "cert", "add", "fachverfahren", "--certificate-name", OFFICE_SAN,
          "--office", "north")
    order = over_tls(server, certs, "fv-host", "create-order", "--kiosk", "kiosk-n")["order"]
    assert order["status"] == "ORDER_STATUS_ANNOUNCED"
    with server.db.transaction() as tx:
        [created] = [e for e in tx.audit_entries() if e.action == "order.created"]
    assert (created.actor, created.target) == ("client_cert:fachverfahren", order["reference"])


def test_an_api_key_over_tls_and_a_certificate_from_another_ca(server, certs, tmp_path):
    key = tmp_path / "fv.key"
    admin(server, "apikey", "create", "fachverfahren", "--office", "north", "--output", str(key))
    created = over_tls(server, certs, "unbound-app", "--token-file", str(key),
                       "create-order", "--kiosk", "kiosk-n")
    listed = over_tls(server, certs, "unbound-app", "--token-file", str(key), "list-orders")
    assert [o["reference"] for o in listed["orders"]] == [created["order"]["reference"]]
    # The certificate is not bound and there is no key: not enrolled.
    unbound = over_tls(server, certs, "unbound-app", "list-orders")["error"]
    assert (unbound["code"], unbound["reason"]) == (grpc.StatusCode.UNAUTHENTICATED.value[0],
                                                    "CERTIFICATE_NOT_ENROLLED")
    # The TLS handshake refuses a certificate the registry's CA did not sign.
    rogue = over_tls(server, certs, "rogue-fv", "--token-file", str(key), "list-orders")["error"]
    assert rogue["code"] == grpc.StatusCode.UNAVAILABLE.value[0] and "reason" not in rogue


def test_a_kiosk_known_by_its_certificate_registers(server, certs):
    admin(server, "kiosk", "enrol", "kiosk-7", "--office", "north",
          "--certificate-name", KIOSK_SAN)
    registered = over_tls(server, certs, "kiosk-7", "register-kiosk", "--kiosk", "kiosk-7")
    assert registered["credential_policy"]["kdf"] == "scrypt"
    beat = over_tls(server, certs, "kiosk-7", "heartbeat", "--kiosk", "kiosk-7")
    assert int(beat["server_time"]["seconds"]) > 0
    # The kiosk's certificate is no office credential.
    office = over_tls(server, certs, "kiosk-7", "list-orders")["error"]
    assert (office["code"], office["reason"]) == (grpc.StatusCode.PERMISSION_DENIED.value[0],
                                                  "OFFICE_ONLY")
