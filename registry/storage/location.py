"""A database location: a SQLite path or URL, or a PostgreSQL URL, and its engine.

SQLite stays what it was: one shared connection (the caller serialises with
a lock), WAL, ``synchronous=FULL`` (a committed change survives a power cut),
``secure_delete`` (wiped codes do not linger in free pages), and
``BEGIN IMMEDIATE`` so a transaction holds the write lock from its start.

PostgreSQL gets a connection pool (one connection per transaction, READ
COMMITTED); psycopg 3 is the driver, so ``postgresql://`` becomes
``postgresql+psycopg://`` for SQLAlchemy. Passwords may also come from
``PGPASSWORD`` or ``~/.pgpass`` (libpq's rules), keeping them off the command line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# Seconds to wait for PostgreSQL to answer before calling it unreachable.
CONNECT_TIMEOUT_SECONDS = 5


class StorageError(Exception):
    """The database cannot be used as it is; the message says what to do (one line)."""


@dataclass(frozen=True)
class Location:
    url: str  # as given for PostgreSQL (libpq form), or sqlite:///<absolute path>
    dialect: str  # SQLITE or POSTGRESQL
    path: Path | None  # the SQLite file; None for PostgreSQL

    @property
    def display(self) -> str:
        """For messages and logs: never the password."""
        if self.path is not None:
            return str(self.path)
        url = make_url(self.url)
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        return f"PostgreSQL database {url.database or '(default)'!s} on {where} as {url.username}"

    def engine(self) -> sa.Engine:
        if self.dialect == SQLITE:
            return _sqlite_engine(self.path)  # type: ignore[arg-type]
        url = make_url(self.url).set(drivername="postgresql+psycopg")
        return sa.create_engine(
            url,
            # No ping before each use: it cost a round trip per transaction (about a
            # tenth of a busy registry's time). After a PostgreSQL restart the first
            # call on a cut connection fails (UNAVAILABLE, nothing changed) and makes
            # the pool drop every connection as old as that one, so the calls after
            # it get new ones (tests/registry/test_postgres_restart.py).
            pool_pre_ping=False,
            pool_size=8,
            max_overflow=16,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )


def locate(target: str | os.PathLike) -> Location:
    """A path (``./var/registry.sqlite3``), ``sqlite:///path`` or ``postgresql://…``."""
    text = os.fspath(target)
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = make_url(text)
        if not url.database:
            raise StorageError(f"{text.split('@')[-1]}: name the database, e.g. "
                               "postgresql://USER@HOST:5432/DBNAME")
        return Location(url=text, dialect=POSTGRESQL, path=None)
    if text.startswith("sqlite:"):
        database = make_url(text).database
        if not database or database == ":memory:":
            raise StorageError(f"{text}: the registry needs a file, e.g. sqlite:///var/registry.sqlite3")
        text = database
    elif "://" in text:
        raise StorageError(f"{text.split('@')[-1]}: unknown database; give a file path, "
                           "sqlite:///PATH or postgresql://USER@HOST/DBNAME")
    path = Path(text).resolve()
    return Location(url=f"sqlite:///{path}", dialect=SQLITE, path=path)


def _sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(
        f"sqlite:///{path}",
        # One connection, shared by the gRPC threads under RegistryDatabase's lock.
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # pysqlite's own transaction handling is switched off: SQLAlchemy's
        # "begin" event below emits BEGIN IMMEDIATE instead.
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "busy_timeout = 5000",
                       "secure_delete = ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# Read-only connections beside the writer's (SQLite in WAL: readers do not
# wait for the writer, nor it for them); enough for every pool thread, so
# none is opened and closed per call.
SQLITE_READERS = 16


def sqlite_read_engine(path: Path) -> sa.Engine:
    """Connections for read-only transactions: each sees the last commit when it
    begins (WAL snapshot) and can write nothing (``query_only``)."""
    engine = sa.create_engine(
        f"sqlite:///{path}",
        pool_size=SQLITE_READERS,
        max_overflow=SQLITE_READERS,  # beyond these, opened for the call and closed
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        for pragma in ("busy_timeout = 5000", "query_only = ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN")  # deferred: a snapshot, no lock

    return engine


def explain(location: Location, error: BaseException) -> str:
    """One line for an error while connecting: where, and what to check."""
    detail = str(getattr(error, "orig", error)).strip().splitlines()
    first = detail[0] if detail else type(error).__name__
    # psycopg's "connection failed: connection to server at "H", port P failed: FATAL:  ..."
    # repeats what display() says; keep the server's reason.
    first = re.sub(r'^connection failed: (connection to server at .*? failed: )?(FATAL: +)?', "",
                   first)
    lowered = first.lower()
    if location.dialect == SQLITE:
        return f"cannot open {location.display}: {first} (check the path and its permissions)"
    if "password" in lowered or "authentication" in lowered:
        hint = "check the user name and password (URL, PGPASSWORD or ~/.pgpass)"
    elif "does not exist" in lowered and "database" in lowered:
        hint = "create the database (createdb) or fix its name in the URL"
    elif "timeout" in lowered or "refused" in lowered or "could not" in lowered or "resolve" in lowered:
        hint = "check that PostgreSQL runs and that host and port in the URL are right"
    else:
        hint = "check the database URL and that PostgreSQL accepts this user"
    return f"cannot connect to the {location.display}: {first} ({hint})"
