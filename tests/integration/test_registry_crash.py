"""Kill the real registry process (SIGKILL) at every step of applying a report and writing a notice.

Issue 8, item 4. The parts:

- the registry: tests/integration/crash_registry.py in its own process, with
  the directory notifier and the messages notifier (registry/messages: its
  queue in the registry database; e-mail to a loopback port nobody listens on,
  so messages stay queued and are counted, not delivered);
- the kiosk: a real one in this process (core thread, store, uplink, gRPC
  client), simulated hardware.

A staff deposit is reported once without a kill, to list the registry's
fault-injection points (common/faults.py: each event's commit, before and
after, its messages hook, the notice files, the queue's commits, the wipe
of the plaintext code). Then once per point, on a fresh registry and kiosk:
the registry dies there, is restarted on the same database and port, and
the kiosk's outbox sends again. Checked: every kiosk event stored and
applied exactly once, the order deposited in the right compartment, exactly
one notice file written and exactly one "ready" message queued for it.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from common.auth import KIOSK_CREDENTIAL_FILE, authenticated_channel, bearer
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import admin_token
from tests.integration.conftest import STAFF_CARD, STAFF_PIN, wait_for
from tests.integration.test_remote_commands import start_kiosk

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RegistryProcess:
    base: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    channel: grpc.Channel | None = None
    office: pb_grpc.OfficeServiceStub | None = None
    trace: Path = field(init=False)

    def __post_init__(self):
        self.trace = self.base / "registry.trace"
        (self.base / "messages.toml").write_text(
            f'[email]\nhost = "127.0.0.1"\nport = {closed_port()}\n'
            'sender = "box@example.org"\nsecurity = "none"\n', encoding="utf-8")

    @property
    def db(self) -> Path:
        return self.base / "registry.sqlite3"

    @property
    def notify_dir(self) -> Path:
        return self.base / "notifications"

    def start(self, kill_at: str | None = None) -> None:
        env = dict(os.environ, PICKUPBOX_FAULT_TRACE=str(self.trace))
        env.pop("PICKUPBOX_FAULT_KILL_AT", None)
        if kill_at:
            env["PICKUPBOX_FAULT_KILL_AT"] = kill_at
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crash_registry", str(self.db),
             str(self.notify_dir), str(self.port), str(self.base / "messages.toml")],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        if self.channel is None:
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            admin = bearer(admin_token(self.db))  # written by the registry at first start
            self.office = pb_grpc.OfficeServiceStub(authenticated_channel(self.channel, admin))

    def enrol(self, kiosk_id: str, data_dir: Path) -> None:
        """What the operator does before a kiosk first connects."""
        data_dir.mkdir(parents=True, exist_ok=True)
        enrolled = subprocess.run(
            [str(Path(sys.executable).parent / "kiosk-registry"), "kiosk", "enrol", kiosk_id,
             "--db", str(self.db), "--output", str(data_dir / KIOSK_CREDENTIAL_FILE)],
            capture_output=True, text=True, timeout=60,
        )
        if enrolled.returncode != 0:
            raise RuntimeError(f"kiosk-registry kiosk enrol failed: {enrolled.stderr}")

    def died(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.channel is not None:
            self.channel.close()

    def passed(self) -> list[str]:
        return self.trace.read_text(encoding="utf-8").split() if self.trace.exists() else []

    def status(self, reference: str) -> pb.PickupOrder:
        return self.office.GetPickupOrder(pb.GetPickupOrderRequest(reference=reference)).order

    def event_ids(self) -> list[str]:
        with sqlite3.connect(self.db) as db:
            return [row[0] for row in db.execute("SELECT event_id FROM events")]

    def queued(self, reference: str) -> Counter:
        with sqlite3.connect(self.db) as db:  # the queue is in the registry database
            rows = db.execute("SELECT kind FROM messages WHERE order_reference=?", (reference,))
            return Counter(row[0] for row in rows)

    def code_pending(self, reference: str) -> bool:
        with sqlite3.connect(self.db) as db:
            row = db.execute("SELECT pending_code FROM orders WHERE reference=?",
                             (reference,)).fetchone()
        return row is not None and row[0] is not None


def run(base: Path, kill_at: str | None) -> list[str]:
    """One deposit reported to a registry killed at `kill_at`; returns the points passed."""
    base.mkdir()
    registry = RegistryProcess(base)
    registry.start(kill_at)
    k = None
    try:
        registry.enrol("kiosk-1", base / "kiosk")  # orders are for an enrolled kiosk
        registry.office.CreateStaffMember(
            pb.CreateStaffMemberRequest(staff_id="anna", card_uid=STAFF_CARD, pin=STAFF_PIN))
        created = registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
            kind=pb.DOCUMENT_KIND_PASSPORT, pin="482915", contact="citizen@example.org"))
        ref = created.order.reference
        k = start_kiosk(registry, base)
        number = k.deposit(ref)
        if kill_at:
            assert registry.died() == -signal.SIGKILL, f"the registry was not killed at {kill_at}"
            registry.start()
        wait_for(lambda: k.store.outbox_backlog() == 0, timeout=30,
                 what=f"the kiosk's outbox to drain after the kill at {kill_at}")
        wait_for(lambda: not registry.code_pending(ref), timeout=30,
                 what=f"the notice to be written after the kill at {kill_at}")

        sent = [e[2]["event_id"] for e in k.store.journal_entries("event")]
        stored = registry.event_ids()
        assert len(stored) == len(set(stored)), f"{kill_at}: an event stored twice"
        assert sorted(stored) == sorted(sent), f"{kill_at}: events lost or extra"
        order = registry.status(ref)
        assert order.status == pb.ORDER_STATUS_DEPOSITED and order.compartment_number == number
        passed = registry.passed()
        notices = [p for p in passed if p.startswith("notice:written#")]
        assert len(notices) == 1, f"{kill_at}: {len(notices)} notice files written for {ref}"
        assert (registry.notify_dir / f"{ref}.txt").exists()
        assert registry.queued(ref)["ready"] == 1, f"{kill_at}: {registry.queued(ref)}"
        return passed
    finally:
        if k is not None:
            k.kiosk.stop()
        registry.stop()


def test_killing_the_registry_at_every_step_gives_one_notice_and_each_event_once(tmp_path):
    points = [p for p in run(tmp_path / "trace", None)
              if p.startswith(("registry:", "notice:", "messages:"))]
    assert any(p.startswith("registry:notice:") for p in points), points
    assert any(p.startswith("messages:enqueue") for p in points), points
    assert len(points) >= 10, points
    for i, point in enumerate(points):
        run(tmp_path / f"kill{i}", point)
