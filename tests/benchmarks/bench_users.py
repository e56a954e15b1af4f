"""How fast the console's users page answers with many users and a long audit
log. The last sign-in of each user is read from their principals row
(``last_sign_in_time``, written by the console's sign-in), no longer from the
audit log's ``login`` entries, so the page's cost should not grow with the log:
the entries are written anyway, to show it.

    tools/bench users   -> artifacts/benchmarks/users.json
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from registry import identity
from registry.database import DEFAULT_OFFICE
from registry.permissions import Role
from tests.benchmarks.bench_console import timed
from tests.benchmarks.common import write_result
from tests.console.conftest import start_console

USERS = 200
LOGINS = (0, 20_000, 100_000)


def main(runs: int = 20) -> dict:
    result: dict = {"users": USERS}
    with tempfile.TemporaryDirectory() as tmp:
        console = start_console(Path(tmp))
        try:
            with console.registry.server.db.transaction() as tx:
                for i in range(USERS):
                    principal_id = identity.create_user(
                        tx, f"user{i:03d}", "a long bench password", DEFAULT_OFFICE,
                        frozenset({Role.CLERK}))
                    tx.record_sign_in(principal_id)
            client = console.client("adam")
            written = 0
            for logins in LOGINS:
                with console.registry.server.db.transaction() as tx:
                    for i in range(written, logins):
                        tx.audit(f"user:user{i % USERS:03d}", "login", method="bench")
                written = max(written, logins)
                page = client.get("/users")
                assert page.text.count('<a href="/users/user') == USERS
                result[f"users_page_with_{logins}_logins"] = timed(
                    lambda: client.get("/users"), runs)
        finally:
            console.close()
    path = write_result("users", result)
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"{name}: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
