"""SIGKILL the sending process mid-batch, again and again: no message is
lost, and the duplicates stay within the documented bound (one batch per
kill, see registry/messages/queue.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from registry.messages.mail import message_id
from registry.messages.queue import MessageQueue
from tests.messages.helpers import enqueue

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
BATCH = 10
KILLS = 4


def _start(queue_path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messages.crash_sender", str(queue_path), str(port),
         str(BATCH)],
        cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout.readline().strip() == b"started"
    return process


def test_sigkill_between_send_and_record(tmp_path, smtp_server):
    queue_path = tmp_path / "messages.sqlite3"
    queue = MessageQueue(queue_path)
    keys = [enqueue(queue, channel="email", recipient=f"c{i}@example.org",
                    reference=f"PO-{i:05d}") for i in range(MESSAGES)]
    queue.close()
    handler = smtp_server.handler
    kills = 0
    for kill in range(KILLS):
        process = _start(queue_path, smtp_server.port)
        # Kill once this run has handed over a few batches (mid-stream).
        target = len(handler.received) + 3 * BATCH + 7
        handler.wait_for(target, timeout=60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()
        kills += 1
    process = _start(queue_path, smtp_server.port)
    try:
        queue = MessageQueue(queue_path)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and queue.counts().get("sent", 0) < MESSAGES:
            time.sleep(0.1)
        counts = queue.counts()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()
    assert counts == {"sent": MESSAGES}, counts

    by_id = Counter(r.parsed()["Message-ID"] for r in handler.received)
    expected = {message_id(key, "box@example.org") for key in keys}
    assert set(by_id) == expected  # nothing lost, nothing foreign
    duplicates = sum(n - 1 for n in by_id.values())
    print(f"\n{MESSAGES} messages, {kills} SIGKILLs, batch {BATCH}: {duplicates} duplicates"
          f" (bound {kills * BATCH})")
    assert duplicates <= kills * BATCH
    # Every interrupted message is in the delivery log as such.
    unknown = sum(1 for key in keys for a in queue.attempts(key) if a["outcome"] == "unknown")
    assert unknown >= duplicates
    queue.close()
