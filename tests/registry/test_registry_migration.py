"""A registry database written by an older release opens and is upgraded."""

import sqlite3

from common.credentials import KdfParams
from registry.database import SCHEMA_VERSION, RegistryDatabase
from tests.registry.test_registry_storage_cli import drop_version_7


def as_before_alembic(db: sqlite3.Connection, version: int) -> None:
    """What a release before versioned migrations left: no alembic_version, no later index."""
    db.execute("DROP TABLE alembic_version")
    db.execute("DROP INDEX orders_open_by_kiosk")
    drop_version_7(db)
    db.execute("DROP INDEX orders_by_end_time")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


def test_version_1_database_gains_the_return_time(tmp_path):
    path = tmp_path / "registry.sqlite3"
    RegistryDatabase(path, kdf_params=KdfParams(n=2**10, r=8, p=1)).close()
    with sqlite3.connect(path) as db:  # turn it back into what release 1 wrote
        db.execute("ALTER TABLE orders DROP COLUMN old_document_return_time")
        as_before_alembic(db, 1)

    RegistryDatabase(path).close()

    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert "old_document_return_time" in columns
    assert int(version) == SCHEMA_VERSION == 12


def test_version_2_database_gains_offices_and_keeps_its_kiosks(tmp_path):
    path = tmp_path / "registry.sqlite3"
    RegistryDatabase(path, kdf_params=KdfParams(n=2**10, r=8, p=1)).close()
    with sqlite3.connect(path) as db:  # turn it back into what release 2 wrote
        db.execute("ALTER TABLE orders DROP COLUMN office_id")
        db.execute("ALTER TABLE staff DROP COLUMN office_id")
        db.execute("DROP TABLE kiosk_enrolments")
        db.execute("INSERT INTO kiosks (kiosk_id, registered_at, last_seen) VALUES ('k1', '', '')")
        as_before_alembic(db, 2)

    reopened = RegistryDatabase(path)
    with reopened.transaction() as tx:
        # A kiosk that registered before enrolment existed keeps working, in the default office.
        assert tx.kiosk_office("k1") == "default"
    reopened.close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(staff)")}
    assert "office_id" in columns


def test_version_3_database_keeps_its_queued_commands_and_gains_service_openings(tmp_path):
    path = tmp_path / "registry.sqlite3"
    RegistryDatabase(path, kdf_params=KdfParams(n=2**10, r=8, p=1)).close()
    with sqlite3.connect(path) as db:  # turn it back into what release 3 wrote
        db.execute("ALTER TABLE commands DROP COLUMN service_opening")
        db.execute("ALTER TABLE commands DROP COLUMN expire_at")
        db.execute(
            "INSERT INTO commands (command_id, kiosk_id, type, created_at)"
            " VALUES ('c1', 'k1', 'COMMAND_TYPE_RESYNC', '2026-01-01T00:00:00+00:00')"
        )
        as_before_alembic(db, 3)

    reopened = RegistryDatabase(path)
    with reopened.transaction() as tx:
        (queued,) = tx.undelivered_commands("k1")
    reopened.close()
    assert queued.command_id == "c1"
    assert queued.service_opening is False and queued.expire_at == ""
