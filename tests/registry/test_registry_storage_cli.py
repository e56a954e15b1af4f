"""`kiosk-registry db check|upgrade` and `serve --db` on SQLite and on a real PostgreSQL.

A schema older than the code, newer than the code, an unreachable database
and wrong credentials: one line on stderr saying what to run or check, no
traceback, exit status 1, and nothing started (no credential, no key, no port).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from alembic import command
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from registry.cli import main
from registry.storage.migrations import SCHEMA_VERSION
from registry.database import RegistryDatabase
from registry.storage import migrations
from registry.storage.location import locate
from tests.registry.conftest import TEST_KDF

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    """(target for --db, state dir, a function that runs SQL on it)."""
    state = tmp_path / "state"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")(migrated=False)

        def run(sql: str) -> None:
            engine = locate(url).engine()
            with engine.begin() as conn:
                conn.execute(sa.text(sql))
            engine.dispose()

        return url, state, run
    path = state / "registry.sqlite3"
    state.mkdir()

    def run_sqlite(sql: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql)

    return str(path), state, run_sqlite


def drop_version_7(conn) -> None:
    """Takes out what migration 0007 added (a file from before it never had it)."""
    from registry.storage.alembic.versions import v0007_message_queue as v7

    conn.execute("DROP INDEX audit_log_by_action_target")
    conn.execute("DROP INDEX events_by_type_time")
    for table in v7.TABLES:
        conn.execute(f"DROP TABLE {table}")


def at_revision(target: str, revision: str) -> None:
    engine = locate(target).engine()
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations._config(conn), revision)
    engine.dispose()


def table_columns(target: str, table: str) -> set[str]:
    engine = locate(target).engine()
    with engine.connect() as conn:
        names = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    engine.dispose()
    return names


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    # Log lines (alembic's, once a serve test configured logging) may come first.
    lines = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in captured.err and len(lines) == 1, captured.err
    return lines[0]


def serve(target: str, state: Path) -> int:
    return main(["serve", "--db", target, "--state-dir", str(state), "--listen", "127.0.0.1:0",
                 "--metrics-listen", "off", "--kdf-n", "1024"])


def nothing_started(state: Path) -> bool:
    return not (state / "admin.credential").exists() and not (state / "audit.key").exists()


def test_an_older_schema_is_refused_until_db_upgrade(database, capsys):
    target, state, _ = database
    at_revision(target, "0004")

    assert main(["db", "check", "--db", target]) == 1
    assert (f"older than this registry's version {migrations.SCHEMA_VERSION}:"
            " run `kiosk-registry db upgrade`") in \
        one_error_line(capsys)
    assert serve(target, state) == 1
    assert "run `kiosk-registry db upgrade`" in one_error_line(capsys)
    assert nothing_started(state)

    assert main(["db", "upgrade", "--db", target]) == 0
    assert (f"upgraded from schema version 4 to schema version {migrations.SCHEMA_VERSION}"
            in capsys.readouterr().out)
    assert main(["db", "upgrade", "--db", target]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["db", "check", "--db", target]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_newer_schema_says_the_code_is_too_old(database, capsys):
    target, state, run = database
    at_revision(target, "head")
    run("UPDATE alembic_version SET version_num = '0099'")

    assert main(["db", "check", "--db", target]) == 1
    assert "newer than this registry understands" in one_error_line(capsys)
    assert main(["db", "upgrade", "--db", target]) == 1
    assert "the code is too old" in one_error_line(capsys)
    assert serve(target, state) == 1
    assert "the code is too old" in one_error_line(capsys)
    assert nothing_started(state)
    with pytest.raises(Exception, match="too old"):  # the embedded registry refuses too
        RegistryDatabase(target, state_dir=state)


def test_a_sqlite_file_from_before_alembic_upgrades_in_place(tmp_path, capsys):
    path = tmp_path / "registry.sqlite3"
    db = RegistryDatabase(path, kdf_params=TEST_KDF)
    with db.transaction() as tx:
        tx.queue_command("k1", "COMMAND_TYPE_RESYNC")
    db.close()
    with sqlite3.connect(path) as conn:  # what release 3 wrote
        conn.execute("DROP TABLE alembic_version")
        conn.execute("DROP INDEX orders_open_by_kiosk")
        drop_version_7(conn)
        conn.execute("ALTER TABLE commands DROP COLUMN expire_at")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")

    assert main(["db", "check", "--db", f"sqlite:///{path}"]) == 1
    assert "schema version 3 (from before versioned migrations)" in one_error_line(capsys)
    assert main(["db", "upgrade", "--db", str(path)]) == 0
    assert "upgraded from schema version 3" in capsys.readouterr().out
    reopened = RegistryDatabase(path)
    with reopened.transaction() as tx:
        (queued,) = tx.undelivered_commands("k1")
    reopened.close()
    assert queued.expire_at == ""


def test_unreachable_postgresql_names_host_and_database(tmp_path, capsys):
    url = "postgresql://pickupbox@127.0.0.1:1/fleet"  # nothing listens on port 1
    assert main(["db", "check", "--db", url]) == 1
    line = one_error_line(capsys)
    assert "database fleet on 127.0.0.1:1" in line and "check that PostgreSQL runs" in line
    assert serve(url, tmp_path) == 1
    assert "127.0.0.1:1" in one_error_line(capsys)
    assert nothing_started(tmp_path)


@pytest.mark.postgres
def test_wrong_credentials_say_what_to_check(postgres_url, tmp_path, capsys):
    wrong = make_url(postgres_url).set(password="not-the-password").render_as_string(
        hide_password=False)
    assert serve(wrong, tmp_path) == 1
    line = one_error_line(capsys)
    assert "password authentication failed" in line and "check the user name and password" in line
    assert "not-the-password" not in line
    assert nothing_started(tmp_path)
    assert main(["db", "upgrade", "--db", wrong]) == 1
    assert "check the user name and password" in one_error_line(capsys)


def test_a_bad_database_url_is_named():
    assert main(["db", "check", "--db", "mysql://x@host/db"]) == 1
    assert main(["db", "check", "--db", "sqlite://"]) == 1


@pytest.mark.postgres
def test_serve_on_postgresql_answers_and_stops_cleanly(pg_database, tmp_path):
    url = pg_database(migrated=False)  # serve creates the schema of a new database
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("kiosk-registry")), "serve", "--db", url, "--state-dir",
         str(tmp_path), "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--kdf-n", "1024"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = None
        for line in process.stderr:  # type: ignore[union-attr]
            found = re.search(r"registry listening on 127\.0\.0\.1:(\d+) \(database (.*)\)", line)
            if found:
                port = int(found.group(1))
                assert "PostgreSQL database" in found.group(2)
                assert make_url(url).password not in line
                break
        assert port, "serve did not start"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        assert (tmp_path / "admin.credential").exists()
        assert main(["db", "check", "--db", url]) == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_version_5_gains_the_audit_and_identity_tables_and_goes_back(database, capsys):
    """0006 adds the kiosks' chains, the audit anchor, certificate and OIDC links;
    what version 5 held stays, and a downgrade removes only the new tables."""
    target, state, run = database
    at_revision(target, "0005")
    run("INSERT INTO offices (office_id, name, create_time) VALUES ('o1', 'Amt', 't')")
    new_tables = {"kiosk_audit_log", "kiosk_audit_checkpoints", "audit_anchor",
                  "principal_certificates", "oidc_identities"}

    def tables() -> set[str]:
        engine = locate(target).engine()
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
        engine.dispose()
        return names

    assert not new_tables & tables()
    assert main(["db", "upgrade", "--db", target]) == 0
    assert (f"upgraded from schema version 5 to schema version {migrations.SCHEMA_VERSION}"
            in capsys.readouterr().out)
    assert new_tables <= tables()
    db = RegistryDatabase(target, state_dir=state, kdf_params=TEST_KDF)
    with db.transaction() as tx:
        assert tx.get_office("o1") is not None
        tx.link_oidc_identity("https://idp.example", "sub-1", "p1")
        assert tx.kiosk_audit_head("k1") == (0, "0" * 64)
    db.close()

    engine = locate(target).engine()
    with engine.connect() as conn, conn.begin():
        command.downgrade(migrations._config(conn), "0005")
    engine.dispose()
    assert not new_tables & tables() and "offices" in tables()
    at_revision(target, "head")
    assert new_tables <= tables()


def test_version_6_gains_the_staff_unlock_columns_and_goes_back(database, capsys):
    """0008 adds staff.unlock_generation (0 for every member) and card_unlock_time;
    a downgrade removes only those."""
    target, state, run = database
    at_revision(target, "0006")
    run("INSERT INTO staff (staff_id, card_lookup, pin_verifier, active, create_time,"
        " change_seq) VALUES ('anna', 'x', 'v', 1, '2026-12-01T10:00:00+00:00', 1)")

    def columns() -> set[str]:
        return table_columns(target, "staff")

    assert "unlock_generation" not in columns()
    assert main(["db", "upgrade", "--db", target]) == 0
    capsys.readouterr()
    assert {"unlock_generation", "card_unlock_time"} <= columns()
    db = RegistryDatabase(target, state_dir=state, kdf_params=TEST_KDF)
    with db.transaction() as tx:
        assert tx.get_staff("anna").unlock_generation == 0
        assert tx.unlock_card("anna", datetime.now(timezone.utc)).unlock_generation == 1
    db.close()
    engine = locate(target).engine()
    with engine.connect() as conn, conn.begin():
        command.downgrade(migrations._config(conn), "0006")
    engine.dispose()
    assert not {"unlock_generation", "card_unlock_time"} & columns()


def test_version_10_gains_the_first_sign_in_columns_and_goes_back(database, capsys):
    """0011 adds principals.password_change_required (0: existing users are not forced
    to change anything) and last_sign_in_time; a downgrade removes only those."""
    target, state, run = database
    at_revision(target, "0010")
    run("INSERT INTO principals (principal_id, kind, name, office_id, roles, kiosk_id,"
        " secret_salt, secret_hash, create_time) VALUES ('p1', 'user', 'anna', 'default',"
        " 'clerk', '', 'x', 'y', '2026-12-01T10:00:00+00:00')")

    def columns() -> set[str]:
        return table_columns(target, "principals")

    new = {"password_change_required", "last_sign_in_time"}
    assert not new & columns()
    assert main(["db", "upgrade", "--db", target]) == 0
    assert (f"upgraded from schema version 10 to schema version {migrations.SCHEMA_VERSION}"
            in capsys.readouterr().out)
    assert new <= columns()
    db = RegistryDatabase(target, state_dir=state, kdf_params=TEST_KDF)
    with db.transaction() as tx:
        row = tx.user_by_name("anna")
        assert (row["password_change_required"], row["last_sign_in_time"]) == (0, None)
        tx.record_sign_in("p1")
        assert tx.user_by_name("anna")["last_sign_in_time"] is not None
    db.close()
    engine = locate(target).engine()
    with engine.connect() as conn, conn.begin():
        command.downgrade(migrations._config(conn), "0010")
        version = conn.execute(
            sa.text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    assert not new & columns() and "revoke_time" in columns() and version == "10"


def test_version_6_gains_the_message_queue_tables_and_goes_back(database, capsys):
    """0007 moves the messages' queue and the on-call alarms into the registry
    database; a downgrade removes only those tables."""
    from registry.storage.alembic.versions import v0007_message_queue as v7

    target, state, run = database
    at_revision(target, "0006")
    run("INSERT INTO offices (office_id, name, create_time) VALUES ('o1', 'Amt', 't')")
    for event_id, type_ in (("e-open", "EVENT_TYPE_DOOR_FORCED"),
                            ("e-done", "EVENT_TYPE_DOOR_FAILED"),
                            ("e-deposit", "EVENT_TYPE_ORDER_DEPOSITED")):
        run("INSERT INTO events (event_id, kiosk_id, type, payload, received_at)"
            f" VALUES ('{event_id}', 'k1', '{type_}', '', '2026-12-01T00:00:00+00:00')")
    run("INSERT INTO audit_log (seq, time, actor, action, office_id, target, outcome, detail,"
        " prev_hash, hash) VALUES (1, 't', 'user:a', 'alarm.acknowledged', '', 'e-done', 'ok',"
        " '{}', '', '')")

    def tables() -> set[str]:
        engine = locate(target).engine()
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
        engine.dispose()
        return names

    assert not set(v7.TABLES) & tables()
    assert main(["db", "upgrade", "--db", target]) == 0
    assert f"upgraded from schema version 6 to schema version {migrations.SCHEMA_VERSION}" in capsys.readouterr().out
    assert set(v7.TABLES) <= tables()
    # Alarm events stored before: open unless the audit log has their acknowledgement.
    engine = locate(target).engine()
    with engine.connect() as conn:
        opened = [r[0] for r in conn.execute(sa.text("SELECT event_id FROM open_alarm_events"))]
    engine.dispose()
    assert opened == ["e-open"]
    engine = locate(target).engine()
    with engine.connect() as conn, conn.begin():
        command.downgrade(migrations._config(conn), "0006")
    engine.dispose()
    assert not set(v7.TABLES) & tables() and "offices" in tables()
