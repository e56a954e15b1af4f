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
from collections.abc import Iterator
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
