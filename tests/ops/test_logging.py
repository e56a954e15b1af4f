"""One structured line per log record; the kiosk no longer prints each line twice."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.logsetup import OneLineFormatter, setup_logging
from tests.ops.kiosk_config import SIMULATED_KIOSK_TOML


def _record(msg: str, level=logging.INFO, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("kiosk.core", level, __file__, 1, msg, (), exc_info)


def test_a_terminal_line_has_timestamp_level_and_logger():
    line = OneLineFormatter(journald=False).format(_record("door 3 closed"))
    assert line.endswith("Z INFO kiosk.core: door 3 closed")
    assert line[:4].isdigit()


def test_journald_gets_the_priority_prefix_and_no_timestamp():
    formatter = OneLineFormatter(journald=True)
    assert formatter.format(_record("x", logging.ERROR)) == "<3>ERROR kiosk.core: x"
    assert formatter.format(_record("x", logging.WARNING)).startswith("<4>")
    assert formatter.format(_record("x", logging.DEBUG)).startswith("<7>")


def test_a_traceback_stays_on_the_record_s_line():
    try:
        raise RuntimeError("board gone\nreally")
    except RuntimeError:
        record = _record("tick failed", logging.ERROR, exc_info=sys.exc_info())
    line = OneLineFormatter(journald=True).format(record)
    assert "\n" not in line
    assert "tick failed\\nTraceback" in line and "board gone\\nreally" in line


def test_setup_twice_still_prints_once():
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        setup_logging(logging.INFO, stream=stream)
        setup_logging(logging.INFO, stream=stream)
        logging.getLogger("registry").info("once")
    finally:
        for handler in list(root.handlers):
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
    assert stream.getvalue().count("once") == 1


def _run_kiosk(tmp_path: Path, *mode: str, marker: str, env: dict[str, str]) -> str:
    (tmp_path / "kiosk.toml").write_text(SIMULATED_KIOSK_TOML)
    script = Path(sys.executable).parent / "kiosk"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    env.pop("KIVY_LOG_MODE", None)  # the service's own default is under test
    process = subprocess.Popen(
        [str(script), "run", *mode, "--config", "kiosk.toml", "--metrics-listen", "off"],
        cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (line := process.stdout.readline()):
            lines.append(line)
            if marker in line:
                break
        time.sleep(1.0)  # let a doubled copy (or anything else) arrive
        process.send_signal(signal.SIGTERM if "--headless" in mode else signal.SIGKILL)
        rest, _ = process.communicate(timeout=20)
        lines.extend(rest.splitlines(keepends=True))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return "".join(lines)


@pytest.mark.integration
def test_headless_kiosk_logs_each_record_once(tmp_path):
    out = _run_kiosk(tmp_path, "--headless", marker="registry reachable", env={})
    assert out.count("registered with the registry") == 1, out


@pytest.mark.integration
def test_windowed_kiosk_logs_each_record_once(tmp_path):
    # The windowed app imports Kivy, whose default log mode added a second
    # console handler to the root logger: every line came out twice.
    env = {"SDL_VIDEODRIVER": "offscreen", "KIVY_HOME": str(tmp_path / "kivy-home")}
    out = _run_kiosk(tmp_path, "--windowed", marker="first screen drawn", env=env)
    assert "first screen drawn" in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert sum("registered with the registry" in line for line in lines) == 1, out
    assert sum("first screen drawn" in line for line in lines) == 1, out
    # Kivy's own records come through the same handler, in the same format.
    assert any(" INFO kivy: " in line for line in lines), out
    assert not any(line.startswith("[") for line in lines), out
