"""A full disk, for real: a 1 MiB tmpfs in a private mount namespace.

`unshare -rm` gives the child its own mount namespace (no root needed where
user namespaces are allowed), so the small filesystem is seen by the child
alone and vanishes with it. The child fills it to the last byte; SQLite then
gets ENOSPC exactly as on a full /var/lib/pickupbox.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_on_small_disk(tmp_path: Path) -> dict:
    mount = tmp_path / "data"
    mount.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(
        ["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here: {probe.stderr.strip()}")
    script = (
        f"mount -t tmpfs -o size=1m tmpfs {mount} && "
        f"exec {sys.executable} -m tests.integration.disk_full_child {mount} {tmp_path}"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small-disk")
    return tmp, run_on_small_disk(tmp)


def test_full_disk_opens_no_door_fails_health_and_service_resumes_by_itself(small_disk):
    tmp_path, seen = small_disk
    assert seen["deposited"] == "deposited"
    assert seen["free_bytes"] == 0
    # Nothing could be recorded, so no door opened, for the citizen or for staff.
    assert seen["pickup_unlocks"] == 0
    assert seen["pickup_state"] == "door_failed"  # the screen: "please contact the office"
    assert seen["deposit_unlocks"] == 0
    assert seen["deposit_state"] == "deposit_awaiting_reference"
    assert seen["deposit_error"] == "door_failed_deposit"
    status, detail = seen["health_full"]["store"]
    assert status == "failed"
    assert detail.startswith("disk full, free space on ") and str(tmp_path / "data") in detail
    assert seen["order_while_full"] == "deposited"
    assert seen["alarms_while_full"] == 0  # nowhere to queue it yet; the heartbeat carries FAILED
    assert seen["registry_health_full"], "the registry never heard that the store failed"
    assert seen["registry_store_detail"].startswith("disk full, free space on ")
    # Space again: health recovers, the alarm is queued once, service resumes.
    assert seen["health_after"]["store"] == ["ok", ""]
    assert len(seen["alarms_after"]) == 1 and seen["alarms_after"][0].startswith("store: disk full")
    assert seen["compartments_stranded"] == []
    assert seen["pickup_after"] == "door_open" and seen["pickup_after_unlocks"] == 1
    assert seen["order_after"] == "collected"
    assert seen["registry_events"].count("EVENT_TYPE_STORAGE_FAULT") == 2


def test_a_handover_the_full_disk_kept_from_the_records_goes_to_inspection(small_disk):
    """The disk fills after the pulse: the door opens, the handover cannot be written."""
    _, seen = small_disk
    assert seen["cut_state"] == "door_opening"
    assert seen["cut_open_state"] == "door_open"  # the citizen has the document
    # Writes work again: what could not be recorded is settled like after a crash.
    assert seen["cut_compartment"] == "needs_inspection"
    assert seen["cut_uncertain"] == "handover"
    assert seen["cut_retry_unlocks"] == 0, seen["cut_retry"]
    assert "EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION" in seen["registry_events"]
