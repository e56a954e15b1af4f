"""`kiosk-registry db check` and `db upgrade`, and the check `serve` makes before it starts.

Each connects once, says in one line what it found, and never leaves a
half-done change: an upgrade is one transaction (PostgreSQL runs DDL
transactionally; SQLite's ALTERs and CREATEs are transactional too).
"""

from __future__ import annotations

import argparse
import os

import sqlalchemy as sa

from registry.storage import migrations
from registry.storage.location import SQLITE, Location, StorageError, explain, locate

DB_ENV = "KIOSK_REGISTRY_DB"


def _inspect(location: Location) -> migrations.SchemaState:
    engine = location.engine()
    try:
        with engine.connect() as conn:
            return migrations.schema_state(conn)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise StorageError(explain(location, error)) from None
    finally:
        engine.dispose()


def _existing(target: str) -> Location:
    location = locate(target)
    if location.dialect == SQLITE and not location.path.exists():  # type: ignore[union-attr]
        raise StorageError(f"no registry database at {location.path}: pass --db "
                           "(the file or URL `serve` uses)")
    return location


def preflight(target: str) -> None:
    """Before `serve` starts anything: the database answers and its schema fits.

    A new (missing or empty) database is fine: serve creates the schema."""
    location = locate(target)
    if location.dialect == SQLITE and not location.path.exists():  # type: ignore[union-attr]
        return
    refusal = migrations.refusal(_inspect(location), location.display)
    if refusal is not None:
        raise StorageError(refusal)


def check(target: str) -> str:
    location = _existing(target)
    state = _inspect(location)
    if state.empty:
        raise StorageError(f"{location.display} has no registry schema yet: run "
                           f"`{migrations.UPGRADE_COMMAND}` (or start `serve`, which creates it)")
    refusal = migrations.refusal(state, location.display)
    if refusal is not None:
        raise StorageError(refusal)
    return f"{location.display}: schema version {migrations.SCHEMA_VERSION}, up to date"


def upgrade(target: str) -> str:
    location = locate(target)
    engine = location.engine()
    try:
        with engine.connect() as conn:
            found = migrations.upgrade(conn)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise StorageError(explain(location, error)) from None
    except ValueError as error:  # newer than the code
        raise StorageError(str(error)) from None
    finally:
        engine.dispose()
    if location.dialect == SQLITE:
        os.chmod(location.path, 0o600)  # type: ignore[arg-type]  # contacts and codes live here
    if found.current:
        return f"{location.display}: schema version {migrations.SCHEMA_VERSION}, nothing to do"
    return (f"{location.display}: upgraded from {found.describe} to schema version "
            f"{migrations.SCHEMA_VERSION}")


def add_parsers(commands, default_db: str) -> None:
    db = commands.add_parser("db", help="the registry database: check or upgrade its schema")
    sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    for name, handler, text in (
        ("check", check, "exit 0 if the schema fits this code, else say what to run"),
        ("upgrade", upgrade, "migrate the schema to this code's version (back up first)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--db", default=os.environ.get(DB_ENV, default_db), metavar="PATH|URL",
                       help=f"SQLite path, sqlite:///PATH or postgresql://USER@HOST/DB "
                       f"(default ${DB_ENV} or {default_db})")
        p.set_defaults(handler=_run(handler), client=False)


def _run(action):
    def handler(args: argparse.Namespace) -> int:
        print(action(args.db))
        return 0

    return handler
