"""Fixtures for the whole suite.

``postgres_url``: a real, throwaway PostgreSQL (tools/pg-cluster). `.ci/run`
starts one and passes its URL in ``POSTGRES_TEST_URL``; locally
the fixture uses the checkout's running cluster, or starts one if
PostgreSQL is installed, or skips. In CI (``CI=true``) a missing PostgreSQL
fails the test instead: a backend that CI never tests is not tested.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_CLUSTER = ROOT / "tools" / "pg-cluster"


def _pg_cluster(command: str) -> str | None:
    result = subprocess.run([str(PG_CLUSTER), command], capture_output=True, text=True,
                            timeout=180, cwd=ROOT)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _postgres_installed() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("POSTGRES_TEST_URL") or _pg_cluster("url")
    started_here = False
    if url is None and _postgres_installed():
        url = _pg_cluster("start")
        started_here = url is not None
    if url is None:
        message = ("no PostgreSQL for the tests: run `tools/pg-cluster start` "
                   "(installs Debian's postgresql as root) or set POSTGRES_TEST_URL")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield url
    if started_here:
        _pg_cluster("stop")


# ------------------------------------------------- fresh PostgreSQL databases
# Each test gets its own schema in the throwaway cluster's database, migrated
# to the current version, reached through a URL that sets the search_path.
# A schema costs about 0.1 s; a database (CREATE DATABASE ... TEMPLATE) 0.75 s.


def _admin_engine(url: str):
    from registry.storage.location import locate

    return locate(url).engine().execution_options(isolation_level="AUTOCOMMIT")


def schema_url(url: str, schema: str) -> str:
    """The URL of ``url``'s database with ``schema`` as the only search_path."""
    from sqlalchemy.engine import make_url

    return make_url(url).update_query_dict(
        # synchronous_commit off: a throwaway database needs no fsync per commit.
        {"options": f"-csearch_path={schema} -csynchronous_commit=off"}
    ).render_as_string(hide_password=False)


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Callable[..., str]]:
    """Makes fresh registry databases (schemas); ``migrated=False`` leaves them empty."""
    import uuid

    import sqlalchemy as sa

    from registry.storage import migrations
    from registry.storage.location import locate

    admin = _admin_engine(postgres_url)
    made: list[str] = []

    def make(migrated: bool = True) -> str:
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        made.append(schema)
        url = schema_url(postgres_url, schema)
        if migrated:
            engine = locate(url).engine()
            with engine.connect() as conn:
                migrations.upgrade(conn)
            engine.dispose()
        return url

    yield make
    with admin.connect() as conn:
        for schema in made:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()
