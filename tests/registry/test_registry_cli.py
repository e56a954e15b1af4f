"""`kiosk-registry` against a real server: in-process for the client
commands, as a subprocess for `serve`."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from common.credentials import check_verifier, normalize_code, parse_qr_payload
from registry.cli import main
from pickupbox.registry.v1 import registry_pb2 as pb

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cli(registry, monkeypatch, tmp_path, capsys):
    """Runs `kiosk-registry ARGS --registry <test server>` in the test's temp dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PICKUPBOX_CREDENTIAL", str(registry.db_path.parent / "admin.credential"))

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([*args, "--registry", registry.address])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_order_create_json(cli, registry, tmp_path):
    code, out, err = cli("order", "create", "--kind", "id_card", "--size", "M", "--low", "--json")
    assert code == 0, err
    result = json.loads(out)
    reference = result["order"]["reference"]
    assert result["order"]["kind"] == "id_card"
    assert result["order"]["size"] == "M"
    assert result["order"]["needs_low_compartment"] is True
    assert result["order"]["status"] == "announced"
    assert parse_qr_payload(result["qr_payload"]) == normalize_code(result["pickup_code"])
    assert len(result["pin"]) == 6
    qr_png = tmp_path / f"{reference}-qr.png"
    assert result["qr_png"] == f"{reference}-qr.png"
    assert qr_png.read_bytes()[:8] == PNG_MAGIC

    # The printed code and PIN are the ones the registry hashed.
    (row,) = registry.sql("SELECT pin_verifier FROM orders WHERE reference = ?", reference)
    assert check_verifier(row[0], normalize_code(result["pickup_code"]), result["pin"])


def test_order_create_human_output_and_qr_path(cli, tmp_path):
    target = tmp_path / "qr" / "code.png"
    target.parent.mkdir()
    code, out, _ = cli(
        "order", "create", "--kind", "passport", "--reference", "BB-1", "--pin", "123456",
        "--qr-png", str(target),
    )
    assert code == 0
    assert "BB-1" in out
    assert re.search(r"pickup code\s+[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2}", out)
    assert "PBX1:" in out
    assert "PIN" not in out  # the citizen chose it; it is not echoed
    assert target.read_bytes()[:8] == PNG_MAGIC


def test_order_get_list_cancel(cli):
    cli("order", "create", "--kind", "passport", "--reference", "BB-2")
    code, out, _ = cli("order", "get", "BB-2", "--json")
    assert code == 0 and json.loads(out)["status"] == "announced"

    code, out, _ = cli("order", "cancel", "BB-2", "--reason", "citizen moved")
    assert code == 0 and "BB-2 cancelled" in out

    code, out, _ = cli("order", "list", "--status", "cancelled", "--json")
    assert [o["reference"] for o in json.loads(out)] == ["BB-2"]
    code, out, _ = cli("order", "list", "--status", "announced")
    assert code == 0 and out.strip() == "no orders"

    code, _, err = cli("order", "cancel", "BB-2")
    assert code == 1
    assert err.startswith("error: order BB-2 is cancelled")


def test_errors_are_one_line_and_exit_1(cli):
    code, out, err = cli("order", "get", "PO-XYZ")
    assert (code, out, err) == (1, "", "error: order PO-XYZ not found\n")
    code, _, err = cli("order", "create", "--kind", "id_card", "--pin", "12")
    assert code == 1 and err.startswith("error: pin:") and err.count("\n") == 1


def test_unreachable_registry(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    address = f"127.0.0.1:{free_port()}"
    code = main(["order", "list", "--registry", address])
    _, err = capsys.readouterr()
    assert code == 1
    assert err == (
        f"error: cannot reach the registry at {address}: is `kiosk-registry serve` running?\n"
    )


def test_registry_address_from_the_environment(registry, monkeypatch, capsys):
    monkeypatch.setenv("KIOSK_REGISTRY_ADDRESS", registry.address)
    monkeypatch.setenv("PICKUPBOX_CREDENTIAL", str(registry.db_path.parent / "admin.credential"))
    assert main(["kiosk", "list"]) == 0
    assert "no kiosks registered" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["order", "create", "--kind", "banana"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


def test_kiosk_list_and_command(cli, registry, register_kiosk):
    register_kiosk("box-a", states=(pb.COMPARTMENT_STATE_FREE, pb.COMPARTMENT_STATE_OCCUPIED))
    code, out, _ = cli("kiosk", "list")
    assert code == 0
    assert "box-a" in out and "online" in out and "1 occupied, 1 free" in out
    code, out, _ = cli("kiosk", "list", "--json")
    assert json.loads(out)[0]["compartments_total"] == 2

    code, out, _ = cli("kiosk", "command", "box-a", "out-of-service", "2", "--reason", "broken")
    assert code == 0 and "queued for kiosk box-a" in out
    (row,) = registry.sql("SELECT type, compartment_number, reason FROM commands")
    assert tuple(row) == ("COMMAND_TYPE_SET_OUT_OF_SERVICE", 2, "broken")

    code, _, err = cli("kiosk", "command", "box-a", "open")
    assert code == 1 and "compartment number" in err
    code, _, err = cli("kiosk", "command", "nobox", "resync")
    assert code == 1 and "kiosk nobox not found" in err


def test_staff_commands(cli, registry):
    code, out, _ = cli("staff", "add", "alice", "--card-uid", "04a1b2c3", stdin="246810\n")
    assert code == 0 and "alice created" in out
    (row,) = registry.sql("SELECT pin_verifier FROM staff")
    assert check_verifier(row[0], "04A1B2C3", "246810")

    code, _, err = cli("staff", "add", "bob", "--card-uid", "04A1B2C3", "--pin", "135790")
    assert code == 1 and "already registered to staff member alice" in err

    assert cli("staff", "deactivate", "alice")[0] == 0
    code, out, _ = cli("staff", "list", "--json")
    assert json.loads(out)[0] | {"create_time": None} == {
        "staff_id": "alice", "active": False, "create_time": None,
    }


def test_serve_runs_until_sigterm(tmp_path):
    script = Path(sys.executable).parent / "kiosk-registry"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [
            str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
            "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        seen = []
        match = None
        while match is None and (line := server.stderr.readline()):
            seen.append(line)
            match = re.search(r"registry listening on (127\.0\.0\.1:\d+)", line)
        assert match, "".join(seen)
        anonymous = subprocess.run(
            [str(script), "order", "list", "--registry", match.group(1)],
            capture_output=True, text=True, timeout=30, cwd=tmp_path,
        )
        assert anonymous.returncode == 1 and "not signed in" in anonymous.stderr
        enrol = subprocess.run(
            [str(script), "kiosk", "enrol", "kiosk-1", "--db", str(tmp_path / "r.sqlite3"),
             "--output", str(tmp_path / "kiosk-1.credential")],
            capture_output=True, text=True, timeout=30,
        )
        assert enrol.returncode == 0, enrol.stderr
        client = subprocess.run(
            [str(script), "order", "create", "--kind", "other", "--json",
             "--registry", match.group(1), "--qr-png", str(tmp_path / "qr.png"),
             "--credential", str(tmp_path / "admin.credential")],
            capture_output=True, text=True, timeout=30,
        )
        assert client.returncode == 0, client.stderr
        assert json.loads(client.stdout)["order"]["kind"] == "other"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_serve_rejects_a_bad_kdf_n(capsys, tmp_path):
    assert main(["serve", "--db", str(tmp_path / "r.sqlite3"), "--kdf-n", "1000"]) == 1
    assert "--kdf-n must be a power of two" in capsys.readouterr().err


def test_users_keys_offices_and_enrolment(registry, tmp_path, monkeypatch, capsys):
    db = ["--db", str(registry.db_path)]
    assert main(["office", "add", "north", "--name", "Bürgerbüro Nord", *db]) == 0
    monkeypatch.setenv("PICKUPBOX_NEW_PASSWORD", "a long enough secret")
    assert main(["user", "add", "anna", "--roles", "clerk", "--office", "north", "--final",
                 *db]) == 0
    assert main(["user", "add", "bob", "--roles", "bogus", "--office", "north", *db]) == 1
    assert "roles must be some of" in capsys.readouterr().err
    assert main(["apikey", "create", "fachverfahren", "--office", "north",
                 "--output", str(tmp_path / "key"), *db]) == 0
    assert main(["kiosk", "enrol", "box-nord", "--office", "north",
                 "--output", str(tmp_path), *db]) == 0
    assert (tmp_path / "registry.credential").stat().st_mode & 0o077 == 0
    capsys.readouterr()

    monkeypatch.setenv("PICKUPBOX_PASSWORD", "a long enough secret")
    assert main(["order", "list", "--user", "anna", "--registry", registry.address]) == 0
    assert main(["user", "revoke", "anna", *db]) == 0
    assert main(["order", "list", "--user", "anna", "--registry", registry.address]) == 1
    assert "revoked" in capsys.readouterr().err
    assert main(["order", "list", "--credential", str(tmp_path / "key"),
                 "--registry", registry.address]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--json", *db]) == 0
    users = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["office_id"], bool(u["revoke_time"])) for u in users] == [
        ("anna", "north", True)
    ]
    assert main(["audit", "export", "--db", str(registry.db_path), "--actor",
                 f"local:{__import__('getpass').getuser()}"]) == 0
    actions = [json.loads(line)["action"] for line in capsys.readouterr().out.splitlines()]
    assert actions == ["office.created", "user.created", "api_key.created", "kiosk.enrolled",
                       "user.revoked"]


def test_user_roles_reactivation_and_passwords_follow_the_users_rules(registry, monkeypatch,
                                                                       capsys):
    """The same identity functions as the console's users page (registry/identity.py)."""
    db = ["--db", str(registry.db_path)]
    monkeypatch.setenv("PICKUPBOX_NEW_PASSWORD", "a long enough secret")
    assert main(["user", "add", "anna", "--roles", "clerk", "--office", "default", *db]) == 0
    assert main(["user", "add", "bad name", "--roles", "clerk", "--office", "default", *db]) == 1
    assert "a user name has" in capsys.readouterr().err
    assert main(["user", "roles", "anna", "--roles", "clerk,supervisor", *db]) == 0
    assert main(["user", "roles", "anna", "--roles", "admin", *db]) == 0
    assert main(["user", "roles", "nobody", "--roles", "clerk", *db]) == 1
    assert main(["user", "revoke", "anna", *db]) == 0
    assert main(["user", "reactivate", "anna", *db]) == 0
    assert main(["user", "reactivate", "anna", *db]) == 1
    assert "is active" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["user", "password", "anna", "--generate", *db]) == 0
    printed = capsys.readouterr()
    generated = printed.out.strip()
    assert "must choose their own password" in printed.err
    monkeypatch.setenv("PICKUPBOX_PASSWORD", generated)
    # An issued password is for the first console sign-in only: the API refuses it.
    assert main(["order", "list", "--user", "anna", "--registry", registry.address]) == 1
    refused = capsys.readouterr().err
    assert "sign in to the office console once" in refused and "--credential" not in refused
    # One the operator sets as final is the user's own: it signs in at once.
    assert main(["user", "password", "anna", "--final", *db]) == 0
    assert "must choose" not in capsys.readouterr().out
    monkeypatch.setenv("PICKUPBOX_PASSWORD", "a long enough secret")
    assert main(["order", "list", "--user", "anna", "--registry", registry.address]) == 1
    refused = capsys.readouterr().err  # signed in with it: an admin has no order rights
    assert "ROLE_MISSING" in refused or "lacks" in refused, refused
    with registry.server.db.transaction() as tx:
        row = tx.user_by_name("anna")
    assert (row["roles"], row["revoke_time"]) == ("admin", None)
    actions = [r[0] for r in registry.sql(
        "SELECT action FROM audit_log WHERE target = 'anna' AND action LIKE 'user.%' ORDER BY seq")]
    assert actions == ["user.created", "user.roles_changed", "user.roles_changed",
                       "user.revoked", "user.reactivated", "user.password_reset",
                       "user.password_reset"]
    with registry.server.db.transaction() as tx:
        assert not tx.user_by_name("anna")["password_change_required"]


def test_order_returned_remind_and_staff_unlock(cli, registry):
    cli("order", "create", "--kind", "passport", "--reference", "BB-3")
    code, _, err = cli("order", "remind", "BB-3")
    assert code == 1 and "ORDER_NOT_WAITING" not in err and "only a document waiting" in err
    code, out, _ = cli("order", "returned", "BB-3", "--reason", "at the counter")
    assert code == 0 and "BB-3 returned to the counter" in out
    code, out, _ = cli("order", "list", "--status", "returned_to_counter", "--json")
    assert [o["reference"] for o in json.loads(out)] == ["BB-3"]

    cli("staff", "add", "carl", "--card-uid", "04a1b2c5", "--pin", "246810")
    code, out, _ = cli("staff", "unlock", "carl", "--reason", "mistyped")
    assert code == 0 and "card of carl unlocked" in out
    assert registry.sql("SELECT unlock_generation FROM staff WHERE staff_id = 'carl'")[0][0] == 1
    code, _, err = cli("staff", "unlock", "nobody")
    assert code == 1 and "staff member nobody not found" in err
