"""The kiosk's tamper-evident audit log: what goes in, and that tampering and crashes show.

Real store files; `kiosk audit verify` is the real CLI reading the store
read-only. A crash is a real SIGKILL of a process that is appending.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from common.audit_chain import CHECKPOINT_EVERY
from kiosk.cli import main as kiosk_main
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore
from kiosk.store.guard_tables import GuardTables
from kiosk.uplink.sync import merge_staff, staff_change

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "kiosk.sqlite3"


def fill(store: KioskStore, n: int) -> None:
    """`n` audited acts, as the core records them: events in the outbox."""
    for i in range(n):
        with store.transaction() as tx:
            store.enqueue(tx, KioskEvent(EventType.ORDER_DEPOSITED, T0 + timedelta(minutes=i),
                                         f"PO-{i}", 1, staff_ids=("anna",)))


def verify_cli(path, capsys) -> tuple[int, str]:
    code = kiosk_main(["audit", "verify", "--db", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_events_logins_commands_and_card_changes_are_audited(path):
    store = KioskStore(path)
    try:
        with store.transaction() as tx:
            store.enqueue(tx, KioskEvent(EventType.ORDER_COLLECTED, T0, "PO-7", 3,
                                         pin_letter_confirmed=True))
            store.enqueue(tx, KioskEvent(EventType.DOOR_FORCED, T0, "", 4, detail="no unlock"))
        guards = GuardTables(store)
        guards.card_failed(b"card", "verifier", T0, 5, "anna")
        guards.mark_command("cmd-1", T0, "open", "user:bob", {"compartment": 2, "reason": "jam"})
        merge_staff(store, [StaffRecord("carl", b"lookup", "v1", True)], T0)
        merge_staff(store, [StaffRecord("carl", b"lookup", "v1", False)], T0)
        entries = store.audit_entries()
    finally:
        store.close()
    acts = [(e.actor, e.action, e.target) for e in entries]
    assert acts == [
        ("citizen", "event.order_collected", "PO-7"),
        ("kiosk", "event.door_forced", ""),
        ("staff:anna", "staff.login_failed", "anna"),
        ("registry:user:bob", "command.received", "cmd-1"),
        ("registry", "staff.card_added", "carl"),
        ("registry", "staff.card_removed", "carl"),
    ]
    assert json.loads(entries[0].detail)["pin_letter_confirmed"] is True
    assert json.loads(entries[3].detail)["reason"] == "jam"
    # Nothing that opens the box goes in: no card hashes, no verifiers.
    assert "lookup" not in " ".join(e.detail for e in entries)


def test_staff_change_rule():
    record = StaffRecord("anna", b"l", "v", True)
    assert staff_change(None, record) == "staff.card_added"
    assert staff_change((b"l", "v"), record) is None
    assert staff_change((b"l", "old"), record) == "staff.card_changed"
    assert staff_change((b"l", "v"), StaffRecord("anna", b"l", "v", False)) == "staff.card_removed"
    assert staff_change(None, StaffRecord("anna", b"l", "v", False)) is None


def test_an_intact_log_verifies_and_the_key_is_private(path, capsys):
    store = KioskStore(path)
    fill(store, 25)
    store.close()
    assert oct(os.stat(path.with_suffix(".audit-key")).st_mode & 0o777) == "0o600"
    code, out = verify_cli(path, capsys)
    assert code == 0, out
    assert "25 entries" in out


def test_one_edited_byte_is_found(path, capsys):
    store = KioskStore(path)
    fill(store, 10)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE audit_log SET target = 'PO-X' WHERE seq = 6")  # was PO-5
    code, out = verify_cli(path, capsys)
    assert code == 3
    assert "BROKEN at entry 6" in out and "changed after it was written" in out


def test_a_deleted_entry_is_found(path, capsys):
    store = KioskStore(path)
    fill(store, 10)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM audit_log WHERE seq = 4")
    code, out = verify_cli(path, capsys)
    assert code == 3
    assert "BROKEN at entry 4" in out and "missing" in out


def test_a_truncated_tail_is_found(path, capsys):
    store = KioskStore(path)
    fill(store, 7)
    store.close()  # signs the head (entry 7)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM audit_log WHERE seq > 5")
    code, out = verify_cli(path, capsys)
    assert code == 3
    assert "cut off the end" in out


def test_a_rewritten_chain_cannot_carry_the_checkpoints(path, capsys):
    """Rehashing every entry after an edit needs the checkpoint key too."""
    from common import audit_chain

    store = KioskStore(path)
    fill(store, CHECKPOINT_EVERY + 2)
    store.close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT seq, time, actor, action, office_id, target, outcome, detail"
                          " FROM audit_log ORDER BY seq").fetchall()
        db.execute("DELETE FROM audit_log")
        last = None
        for seq, time, actor, action, office, target, outcome, detail in rows:
            if seq == 3:
                target = "PO-forged"
            entry = audit_chain.next_entry(last, time, actor, action, office, target, outcome,
                                           detail)
            db.execute("INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (entry.seq, entry.time, entry.actor, entry.action, entry.office_id,
                        entry.target, entry.outcome, entry.detail, entry.prev_hash, entry.hash))
            last = entry
    code, out = verify_cli(path, capsys)
    assert code == 3
    assert f"entry {CHECKPOINT_EVERY} differs from its signed checkpoint" in out


# A process that appends to the audit log and is killed: inside a transaction
# that has written an entry and the checkpoint at a checkpoint boundary
# ("mid"), or wherever a SIGKILL from outside finds it ("loop").
_CHILD = """
import os, signal, sys
from datetime import datetime, timezone
from kiosk.store import KioskStore
store = KioskStore(sys.argv[1])
mode = sys.argv[2]
i = 0
while True:
    i += 1
    with store.transaction() as tx:
        store.audit(tx, datetime.now(timezone.utc), "kiosk", "test.act", n=i)
        if mode == "mid" and i == {every}:
            store.audit(tx, datetime.now(timezone.utc), "kiosk", "test.act", n=i + 1)
            os.kill(os.getpid(), signal.SIGKILL)
    if mode == "loop" and i == 50:
        print("appending", flush=True)
""".replace("{every}", str(CHECKPOINT_EVERY - 1))


def test_a_sigkill_mid_append_leaves_a_verifiable_chain(path, capsys):
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path), "mid"], timeout=60)
    assert child.returncode == -signal.SIGKILL
    code, out = verify_cli(path, capsys)
    assert code == 0, out
    assert f"{CHECKPOINT_EVERY - 2} entries" in out  # the killed transaction left nothing
    store = KioskStore(path)  # and the chain goes on after the restart
    fill(store, 3)
    store.close()
    assert verify_cli(path, capsys)[0] == 0


def test_a_sigkill_from_outside_while_appending_leaves_a_verifiable_chain(path, capsys):
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), "loop"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "appending"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    code, out = verify_cli(path, capsys)
    assert code == 0, out


def test_verify_finds_the_store_through_the_config(tmp_path, capsys):
    store = KioskStore(tmp_path / "data" / "kiosk.sqlite3")
    fill(store, 2)
    store.close()
    config = tmp_path / "kiosk.toml"
    devices = "".join(f'[hardware.{d}]\ndriver = "simulated"\n'
                      for d in ("locker_bank", "card_reader", "code_scanner", "indicator"))
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n' + devices)
    assert kiosk_main(["audit", "verify", "--config", str(config)]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert kiosk_main(["audit", "verify", "--db", str(tmp_path / "none.sqlite3")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_entries_the_registry_holds_are_pruned_behind_an_anchor(path, capsys):
    from kiosk.store import audit_log
    from kiosk.store.guard_tables import GuardTables
    from kiosk.store.retention import Retention, prune

    store = KioskStore(path)
    GuardTables(store)  # the guard tables prune() also cleans
    fill(store, 8)
    later = T0 + timedelta(days=100)
    assert prune(store, Retention(), later).audit == 0  # the registry holds none yet
    with store.transaction() as tx:
        store.set_meta(tx, audit_log.REPORTED_KEY, "5")
    assert prune(store, Retention(), later).audit == 5  # never the unconfirmed 6 to 8
    assert [e.seq for e in store.audit_entries()] == [6, 7, 8]
    fill(store, 1)
    assert store.audit_entries()[-1].seq == 9  # the chain goes on
    store.close()
    code, out = verify_cli(path, capsys)
    assert code == 0, out
    with sqlite3.connect(path) as db:  # pruning more by hand is found
        db.execute("DELETE FROM audit_log WHERE seq = 6")
    code, out = verify_cli(path, capsys)
    assert code == 3 and "entry 6 is missing" in out
