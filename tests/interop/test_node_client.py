"""The registry's gRPC API from another language: the example Node.js client.

examples/node-client (grpc-js, its code generated at start-up from protos/ by
@grpc/proto-loader) runs as a subprocess against the real registry on a
loopback port, on SQLite and on PostgreSQL, with credentials made by the real
`kiosk-registry` commands. What it sees is compared with what the Python side
sees in the database and through the Python client: the same order, the same
refusal reasons in google.rpc.ErrorInfo, the same commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.cli import main as registry_cli
from registry.errors import error_info
from tests.registry.conftest import Registry, start_registry

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "examples" / "node-client" / "pickupbox.js"
# Installed by tools/setup --tests from examples/node-client/package-lock.json.
NODE_MODULES = ROOT / ".venv" / "node" / "node-client" / "node_modules"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.integration,
    pytest.mark.skipif(NODE is None, reason="needs Node.js (`node`): run tools/setup --tests"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry(request, tmp_path: Path, monkeypatch) -> Registry:
    if not (NODE_MODULES / "@grpc" / "grpc-js").is_dir():
        pytest.fail(f"no {NODE_MODULES}: run tools/setup --tests (installs the Node client's"
                    " packages from npm)")
    extra = {}
    target: str | Path = tmp_path / "registry.sqlite3"
    if request.param == "postgresql":
        target = request.getfixturevalue("pg_database")()
        extra["state_dir"] = tmp_path / "state"
        # `kiosk-registry ... --db URL` finds the registry's keys there.
        monkeypatch.setenv("KIOSK_REGISTRY_STATE_DIR", str(extra["state_dir"]))
    reg = start_registry(target, tmp_path / "notifications", **extra)
    yield reg
    reg.close()


def admin(reg: Registry, *args: str) -> Path | None:
    """Runs a `kiosk-registry` command on the registry's database; returns the
    file its --output wrote, if any."""
    output = None
    if "--output" in args:
        output = Path(args[args.index("--output") + 1])
    assert registry_cli([*args, "--db", reg.db_target]) == 0
    return output


def api_key(reg: Registry, tmp_path: Path, name: str, roles: str = "integration") -> Path:
    """An office's API key, written to a file as the operator hands it over."""
    return admin(reg, "apikey", "create", name, "--office", "default",
                 "--roles", roles, "--output", str(tmp_path / f"{name}.key"))


def kiosk_credential(reg: Registry, tmp_path: Path, kiosk_id: str) -> Path:
    return admin(reg, "kiosk", "enrol", kiosk_id,
                 "--output", str(tmp_path / f"{kiosk_id}.credential"))


def node_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICKUPBOX_")}
    env["NODE_PATH"] = str(NODE_MODULES)
    return env


def node_args(reg: Registry, credential: Path | None, *args: str) -> list[str]:
    """pickupbox.js on the registry's loopback port, in plaintext (allowed from loopback)."""
    auth = ["--token-file", str(credential)] if credential is not None else []
    return [NODE, str(CLIENT), "--address", reg.address, "--plaintext", *auth, *args]


def run_node(command: list[str], **env: str) -> dict:
    """One run of the Node client: its answer, or {"error": ...} for a refusal."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env={**node_env(), **env}, cwd=ROOT)
    assert result.returncode in (0, 2), result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def node(reg: Registry, credential: Path | None, *args: str) -> dict:
    return run_node(node_args(reg, credential, *args))


def python_stub(reg: Registry, credential: Path | None) -> pb_grpc.OfficeServiceStub:
    channel = reg.channel
    if credential is not None:
        channel = authenticated_channel(channel, bearer(credential.read_text().strip()))
    return pb_grpc.OfficeServiceStub(channel)


def python_refusal(call) -> dict:
    """A refused Python call in the shape pickupbox.js prints its refusals."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    info = error_info(raised.value)
    return {"code": raised.value.code().value[0], "message": raised.value.details(),
            "reason": info.reason, "domain": info.domain, "metadata": dict(info.metadata)}


def test_an_office_creates_gets_and_lists_orders(registry, tmp_path):
    key = api_key(registry, tmp_path, "fachverfahren")
    request_id = str(uuid.uuid4())
    created = node(registry, key, "create-order", "--kiosk", "kiosk-1",
                   "--kind", "DOCUMENT_KIND_PASSPORT", "--request-id", request_id)
    order = created["order"]
    assert order["status"] == "ORDER_STATUS_ANNOUNCED" and order["kind"] == "DOCUMENT_KIND_PASSPORT"
    assert created["pickup_code"] and created["qr_payload"].startswith("PBX1:")
    assert len(created["pin"]) == 6  # generated: none was given
    # What the registry stored and what the Python client reads are the same order.
    [row] = registry.sql("SELECT kind, status, kiosk_id, office_id FROM orders"
                         " WHERE reference = ?", order["reference"])
    assert (row["kiosk_id"], row["office_id"]) == ("kiosk-1", "default")
    seen = python_stub(registry, key).GetPickupOrder(
        pb.GetPickupOrderRequest(reference=order["reference"]), timeout=5).order
    assert pb.OrderStatus.Name(seen.status) == order["status"]
    assert pb.DocumentKind.Name(seen.kind) == order["kind"]

    got = node(registry, key, "get-order", order["reference"])["order"]
    assert got == order
    # Timestamps cross as google.protobuf.Timestamp: int64 seconds as a string.
    assert int(got["create_time"]["seconds"]) == seen.create_time.seconds

    # The same request_id again is the same order, not a second one (AIP-155).
    again = node(registry, key, "create-order", "--kiosk", "kiosk-1",
                 "--kind", "DOCUMENT_KIND_PASSPORT", "--request-id", request_id)
    assert again["order"]["reference"] == order["reference"]
    assert len(registry.sql("SELECT reference FROM orders")) == 1

    other = node(registry, key, "create-order", "--kiosk", "kiosk-1",
                 "--reference", "AZ-2026-0815")["order"]
    listed = node(registry, key, "list-orders", "--kiosk", "kiosk-1",
                  "--status", "ORDER_STATUS_ANNOUNCED")["orders"]
    assert sorted(o["reference"] for o in listed) == sorted([order["reference"], "AZ-2026-0815"])
    assert other["reference"] == "AZ-2026-0815"


def test_a_registry_user_signs_in_with_a_password(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("PICKUPBOX_NEW_PASSWORD", "a long enough secret")
    admin(registry, "user", "add", "anna", "--roles", "clerk", "--office", "default", "--final")
    command = node_args(registry, None, "--user", "anna", "create-order", "--kiosk", "kiosk-1")
    order = run_node(command, PICKUPBOX_PASSWORD="a long enough secret")["order"]
    with registry.server.db.transaction() as tx:
        [created] = [e for e in tx.audit_entries() if e.action == "order.created"]
    assert (created.actor, created.target) == ("user:anna", order["reference"])
    wrong = run_node(command, PICKUPBOX_PASSWORD="not the secret")["error"]
    assert (wrong["code"], wrong["reason"]) == (grpc.StatusCode.UNAUTHENTICATED.value[0],
                                                "CREDENTIAL_INVALID")


def test_refusals_carry_the_same_reasons_as_for_the_python_client(registry, tmp_path):
    key = api_key(registry, tmp_path, "fachverfahren")
    stub = python_stub(registry, key)

    # Not found: NOT_FOUND with ORDER_NOT_FOUND.
    missing = node(registry, key, "get-order", "AZ-NOPE")["error"]
    assert (missing["code"], missing["reason"]) == (grpc.StatusCode.NOT_FOUND.value[0],
                                                    "ORDER_NOT_FOUND")
    assert missing == python_refusal(
        lambda: stub.GetPickupOrder(pb.GetPickupOrderRequest(reference="AZ-NOPE"), timeout=5))

    # Bad input names the field in ErrorInfo.metadata (a proto map).
    bad = node(registry, key, "create-order", "--kiosk", "kiosk-1",
               "--kind", "DOCUMENT_KIND_UNSPECIFIED")["error"]
    assert bad["reason"] == "INVALID_ARGUMENT" and bad["metadata"] == {"field": "kind"}
    assert bad == python_refusal(lambda: stub.CreatePickupOrder(pb.CreatePickupOrderRequest(
        request_id=str(uuid.uuid4()), kiosk_id="kiosk-1"), timeout=5))

    # An integration may not command kiosks: ROLE_MISSING, naming the method.
    denied = node(registry, key, "send-command", "--kiosk", "kiosk-1",
                  "--type", "COMMAND_TYPE_RESYNC")["error"]
    assert (denied["code"], denied["reason"], denied["domain"]) == (
        grpc.StatusCode.PERMISSION_DENIED.value[0], "ROLE_MISSING", "registry.pickupbox.v1")
    assert denied["metadata"] == {"method": "SendKioskCommand"}
    assert denied == python_refusal(lambda: stub.SendKioskCommand(pb.SendKioskCommandRequest(
        request_id=str(uuid.uuid4()), kiosk_id="kiosk-1",
        command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC)), timeout=5))

    # No credential, and a wrong one: UNAUTHENTICATED, and nothing was done.
    anonymous = node(registry, None, "create-order", "--kiosk", "kiosk-1")["error"]
    assert (anonymous["code"], anonymous["reason"]) == (
        grpc.StatusCode.UNAUTHENTICATED.value[0], "UNAUTHENTICATED")
    assert anonymous == python_refusal(lambda: python_stub(registry, None).CreatePickupOrder(
        pb.CreatePickupOrderRequest(request_id=str(uuid.uuid4()), kiosk_id="kiosk-1",
                                    kind=pb.DOCUMENT_KIND_ID_CARD), timeout=5))
    wrong = tmp_path / "wrong.key"
    wrong.write_text("pbx_not-a-key\n")
    forged = node(registry, wrong, "list-orders")["error"]
    assert (forged["code"], forged["reason"]) == (grpc.StatusCode.UNAUTHENTICATED.value[0],
                                                  "CREDENTIAL_INVALID")
    assert forged == python_refusal(
        lambda: python_stub(registry, wrong).ListPickupOrders(pb.ListPickupOrdersRequest(),
                                                              timeout=5))
    assert registry.sql("SELECT reference FROM orders") == []
    # Every refusal is in the registry's audit log, whichever language called.
    with registry.server.db.transaction() as tx:
        refused = [e for e in tx.audit_entries() if e.outcome == "denied"]
    assert len(refused) >= 4


def test_a_kiosk_registers_reports_and_receives_commands(registry, tmp_path):
    credential = kiosk_credential(registry, tmp_path, "kiosk-2")
    registered = node(registry, credential, "register-kiosk", "--kiosk", "kiosk-2",
                      "--compartments", "6")
    policy = registered["credential_policy"]
    assert policy["kdf"] == "scrypt" and policy["scrypt_n"] == 2**10  # the tests' cheap KDF
    beat = node(registry, credential, "heartbeat", "--kiosk", "kiosk-2", "--compartments", "6")
    assert int(beat["server_time"]["seconds"]) > 0
    [status] = [k for k in registry.office.ListKiosks(pb.ListKiosksRequest(), timeout=5).kiosks
                if k.kiosk_id == "kiosk-2"]
    assert status.online and status.compartments_total == 6
    assert [(d.device, d.status) for d in status.devices] == [("locker_bank", pb.DEVICE_STATUS_OK)]

    # A kiosk acts only as itself.
    mismatch = node(registry, credential, "heartbeat", "--kiosk", "kiosk-1")["error"]
    assert (mismatch["code"], mismatch["reason"]) == (
        grpc.StatusCode.PERMISSION_DENIED.value[0], "KIOSK_ID_MISMATCH")

    # A command the Python side queued before the stream opened, then one an
    # office's Node client sends while it is open.
    queued = registry.office.SendKioskCommand(pb.SendKioskCommandRequest(
        request_id=str(uuid.uuid4()), kiosk_id="kiosk-2",
        command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="interop")), timeout=5)
    stream = subprocess.Popen(
        node_args(registry, credential, "stream-commands", "--kiosk", "kiosk-2", "--count", "2",
                  "--ack"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=node_env(), cwd=ROOT)
    try:
        first = json.loads(stream.stdout.readline())["command"]
        assert (first["command_id"], first["type"], first["reason"]) == (
            queued.command_id, "COMMAND_TYPE_RESYNC", "interop")
        assert first["requested_by"].startswith("api_key:")

        supervisor = api_key(registry, tmp_path, "leitstelle", roles="supervisor")
        sent = node(registry, supervisor, "send-command", "--kiosk", "kiosk-2",
                    "--type", "COMMAND_TYPE_SET_OUT_OF_SERVICE", "--compartment", "3",
                    "--reason", "Tür klemmt")
        second = json.loads(stream.stdout.readline())["command"]
        assert (second["command_id"], second["type"], second["compartment_number"]) == (
            sent["command_id"], "COMMAND_TYPE_SET_OUT_OF_SERVICE", 3)
        assert (second["reason"], second["requested_by"]) == ("Tür klemmt", "api_key:leitstelle")
        done = json.loads(stream.stdout.readline())
        assert stream.wait(timeout=30) == 0, stream.stderr.read()
    finally:
        if stream.poll() is None:
            stream.kill()
            stream.wait()
        stream.stdout.close()
        stream.stderr.close()
    assert done["acknowledged"] == [queued.command_id, sent["command_id"]]
    rows = registry.sql("SELECT command_id, delivered_at FROM commands WHERE kiosk_id = ?",
                        "kiosk-2")
    assert {r["command_id"] for r in rows} == {queued.command_id, sent["command_id"]}
    assert all(r["delivered_at"] for r in rows)  # acknowledged: not sent again
