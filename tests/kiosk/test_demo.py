"""`kiosk demo` runs the whole story as a separate process and exits 0 only on success."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_kiosk_demo_exits_zero_and_reports_collected(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ORDER_STATUS_COLLECTED" in result.stdout
    assert "Demo complete" in result.stdout
    # The kept registry database really holds the collected order.
    assert (Path(tmp_path) / "registry.sqlite3").exists()
