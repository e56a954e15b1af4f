"""A kiosk given two registry instances moves to the other when its own is killed.

Two real `kiosk-registry serve` processes on loopback, each on a copy of one
SQLite database (the same enrolment, credential and policy: what one shared
PostgreSQL gives two instances). The kiosk's instance gets SIGKILL; the
kiosk registers and heartbeats with the survivor.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.uplink import failover
from registry.database import RegistryDatabase
from tests.auth_support import enrol_into
from tests.integration.conftest import FAST_KDF, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LISTENING = re.compile(r"registry listening on 127\.0\.0\.1:(\d+)")


def serve(db: Path) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "kiosk-registry"), "serve", "--db", str(db),
         "--listen", "127.0.0.1:0", "--metrics-listen", "off",
         "--notify-dir", str(db.parent / "notifications")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:
        found = LISTENING.search(line)
        if found:
            # Keep reading its log, so the process never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, int(found.group(1))
    raise AssertionError(f"registry did not start (exit {process.wait()})")


def last_seen(db: Path, kiosk_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT last_seen FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).fetchone()
    return row[0] if row else None


def test_kiosk_moves_to_the_surviving_instance(tmp_path):
    kiosk_moves_over(tmp_path, heartbeat_seconds=0.3)


def test_the_survivor_sees_the_kiosk_at_once_not_at_its_next_heartbeat(tmp_path):
    # Heartbeat and sync an hour apart: only the broken command stream tells
    # the kiosk that its instance is gone. It must then heartbeat at the
    # survivor within a backoff step, not an hour (or 30 s by default) later.
    kiosk_moves_over(tmp_path, heartbeat_seconds=3600, within=20)


def kiosk_moves_over(tmp_path: Path, *, heartbeat_seconds: float, within: float = 30) -> None:
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    data_dir = tmp_path / "kiosk"
    db = RegistryDatabase(first_dir / "registry.sqlite3", kdf_params=FAST_KDF)
    enrol_into(db, "kiosk-1", data_dir)
    db.close()
    shutil.copytree(first_dir, second_dir)

    processes = [serve(first_dir / "registry.sqlite3"), serve(second_dir / "registry.sqlite3")]
    dbs = [first_dir / "registry.sqlite3", second_dir / "registry.sqlite3"]
    kiosk = None
    try:
        environ = {
            "PICKUPBOX_KIOSK__ID": "kiosk-1",
            "PICKUPBOX_KIOSK__DATA_DIR": str(data_dir),
            "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": str(heartbeat_seconds),
            "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": str(max(30.0, heartbeat_seconds)),
            "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
        }
        targets = ",".join(f"127.0.0.1:{port}" for _, port in processes)
        kiosk = build_kiosk(load_settings(None, environ), registry_target=targets)
        kiosk.start()
        wait_for(lambda: kiosk.uplink.registered and kiosk.uplink.online, what="registration")
        home = failover.first_target("kiosk-1", 2)
        assert kiosk.uplink.client.target == f"127.0.0.1:{processes[home][1]}"
        assert last_seen(dbs[home], "kiosk-1") is not None
        assert last_seen(dbs[1 - home], "kiosk-1") is None

        processes[home][0].send_signal(signal.SIGKILL)
        processes[home][0].wait()
        # The survivor had never heard of the kiosk: it registers there, then heartbeats.
        wait_for(lambda: last_seen(dbs[1 - home], "kiosk-1"), timeout=within,
                 what="the kiosk at the surviving instance")
        if heartbeat_seconds < 1:
            first_beat = last_seen(dbs[1 - home], "kiosk-1")
            wait_for(lambda: last_seen(dbs[1 - home], "kiosk-1") != first_beat, timeout=30,
                     what="a heartbeat at the surviving instance")
        assert kiosk.uplink.client.target == f"127.0.0.1:{processes[1 - home][1]}"
        wait_for(lambda: kiosk.uplink.online, timeout=30, what="the kiosk online again")
    finally:
        if kiosk is not None:
            kiosk.stop()
        for process, _ in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
