"""Several registry processes on one PostgreSQL: writers stay correct.

Two RegistryDatabase objects with their own connection pools stand for two
`kiosk-registry serve` processes (what they share is only the database).
"""

from __future__ import annotations

import secrets
import threading

import pytest

from kiosk.domain.compartment import Size
from kiosk.domain.pickup_order import DocumentKind
from registry import audit as audit_rules
from registry.database import RegistryDatabase, utcnow
from tests.registry.conftest import TEST_KDF

pytestmark = pytest.mark.postgres
WRITERS = 4
ORDERS_EACH = 25


def insert(tx, reference: str) -> None:
    tx.insert_order(
        reference=reference, kind=DocumentKind.ID_CARD, size=Size.S,
        needs_low_compartment=False, requires_pin_letter_confirmation=True, kiosk_id="k1",
        code_lookup=secrets.token_bytes(16), pin_verifier="v", pending_code="", contact="",
        create_time=utcnow(),
    )
    tx.audit("test", "order.created", target=reference)


@pytest.fixture
def instances(pg_database, tmp_path):
    url = pg_database()
    first = RegistryDatabase(url, kdf_params=TEST_KDF, state_dir=tmp_path)
    second = RegistryDatabase(url, kdf_params=TEST_KDF, state_dir=tmp_path)  # same audit key
    yield first, second
    first.close()
    second.close()


def test_a_sync_cursor_never_skips_a_row_written_by_another_instance(instances):
    first, second = instances
    written: list[str] = []
    done = threading.Event()

    def writer(db: RegistryDatabase, n: int) -> None:
        for i in range(ORDERS_EACH):
            reference = f"PO-{n}-{i}"
            with db.transaction() as tx:
                insert(tx, reference)
            written.append(reference)

    seen: set[str] = set()

    def reader() -> None:
        # What SyncChanges does: the current value first, then the changes after the cursor.
        cursor = 0
        while True:
            finished = done.is_set()
            with second.transaction() as tx:
                current = tx.current_seq()
                rows = tx.orders_changed_since("k1", cursor, 7)
            seen.update(row.reference for row in rows)
            cursor = rows[-1].change_seq if len(rows) == 7 else current
            if finished and len(rows) < 7:
                return

    threads = [threading.Thread(target=writer, args=(db, n))
               for n, db in enumerate([first, second] * (WRITERS // 2))]
    read = threading.Thread(target=reader)
    read.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    read.join(timeout=60)

    assert len(written) == WRITERS * ORDERS_EACH
    assert seen == set(written)
    with first.transaction() as tx:
        seqs = [r["change_seq"] for r in tx.query("SELECT change_seq FROM orders")]
        entries, checkpoints = tx.audit_entries(), tx.audit_checkpoints()
    assert sorted(seqs) == list(range(1, len(written) + 1))  # one counter, no duplicates
    assert audit_rules.verify_chain(entries, checkpoints, first.audit_key).ok  # one chain


def test_an_idempotency_key_holds_across_instances(instances):
    first, second = instances
    answers: list[bytes] = []
    start = threading.Barrier(2)

    def create(db: RegistryDatabase, reference: str) -> None:
        start.wait()
        with db.transaction() as tx:
            replay = tx.replay("CreatePickupOrder", "request-1")
            if replay is None:
                insert(tx, reference)
                replay = reference.encode()
                tx.remember("CreatePickupOrder", "request-1", replay)
        answers.append(replay)

    threads = [threading.Thread(target=create, args=(db, ref))
               for db, ref in ((first, "PO-A"), (second, "PO-B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2 and answers[0] == answers[1]  # the retry got the first answer
    with first.transaction() as tx:
        assert len(tx.query("SELECT reference FROM orders")) == 1


def test_a_lost_database_connection_fails_unavailable_and_the_retry_succeeds(instances,
                                                                             postgres_url):
    import grpc
    import sqlalchemy as sa

    from registry.errors import RegistryError
    from registry.storage import locate

    db, _ = instances
    admin = locate(postgres_url).engine()
    with pytest.raises(RegistryError) as caught:
        with db.transaction() as tx:
            insert(tx, "PO-LOST")
            pid = tx.query("SELECT pg_backend_pid() AS pid")[0]["pid"]
            with admin.begin() as conn:  # what a PostgreSQL restart does to the session
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            tx.get_order("PO-LOST")
    admin.dispose()
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    with db.transaction() as tx:  # the pool reconnects; nothing of the lost call was kept
        assert tx.get_order("PO-LOST") is None
        insert(tx, "PO-LOST")
    with db.transaction() as tx:
        assert tx.get_order("PO-LOST") is not None
