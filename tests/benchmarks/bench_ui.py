"""Touchscreen app: cold start, tap-to-next-screen latency, memory over many pickups.

    .venv/bin/python -m tests.benchmarks.bench_ui [PICKUPS]

* cold start: `kiosk run --windowed` (simulated hardware, embedded registry)
  from process start until the app logs its first frame on screen;
* tap latency: a touch on a button until the frame with the next screen is
  flipped (start, "type instead", back), in the real app;
* memory: RSS of the kiosk process (app, core, uplink; the registry runs in
  the same process) after 10 and after PICKUPS complete pickups by touch.

Targets from the issue: < 2.5 s, < 100 ms, < 10 % growth. Results go to
artifacts/benchmarks/ui.json. Renders offscreen when there is no display.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.common import ROOT, summary_ms, write_result


def cold_start(runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, KIVY_HOME=f"{tmp}/kivy", PICKUPBOX_KIOSK__DATA_DIR=f"{tmp}/kiosk",
                       PICKUPBOX_REGISTRY__EMBEDDED_DB=f"{tmp}/registry.sqlite3",
                       PICKUPBOX_REGISTRY__NOTIFY_DIR=f"{tmp}/notices",
                       PICKUPBOX_REGISTRY__EMBEDDED_LISTEN="127.0.0.1:0", PICKUPBOX_UI__SPEECH="false",
                       PYTHONUNBUFFERED="1")  # the log line must arrive when it is written
            if not env.get("DISPLAY"):
                env["SDL_VIDEODRIVER"] = "offscreen"
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--windowed"], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                for line in proc.stdout:
                    if "first screen drawn" in line:
                        times.append(time.perf_counter() - start)
                        break
                else:
                    raise RuntimeError("kiosk run ended before drawing a screen")
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    return times


def app_run(pickups: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, KIVY_HOME=f"{tmp}/kivy", BENCH_PICKUPS=str(pickups))
        subprocess.run([sys.executable, "-m", "tests.ui.driver", "bench_ui", tmp], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=3600)
        result = json.loads((Path(tmp) / "result.json").read_text(encoding="utf-8"))
    if not result.get("ok"):
        raise RuntimeError(result.get("error"))
    return result


def main(argv: list[str]) -> int:
    pickups = int(argv[0]) if argv else 100
    if pickups == 0:
        # Taps only (`bench_ui 0`): quick enough to compare two versions back to back.
        run = app_run(0)
        tap = summary_ms([seconds for _, seconds in run["tap_seconds"]])
        path = write_result("ui_taps", {"tap_to_next_screen": tap, "load_average": os.getloadavg(),
                                        "targets": {"tap_ms": 100}})
        print(f"tap to next screen drawn: median {tap['median_ms']} ms, p95 {tap['p95_ms']} ms "
              f"(load average {os.getloadavg()[0]:.1f}); written to {path}")
        return 0
    starts = cold_start()
    run = app_run(pickups)
    rss = {int(k): v for k, v in run["rss_kb"].items()}
    growth = (rss[pickups] - rss[10]) / rss[10] * 100
    result = {
        "cold_start_s": {"median": round(statistics.median(starts), 3), "runs": [round(s, 3) for s in starts]},
        "tap_to_next_screen": summary_ms([seconds for _, seconds in run["tap_seconds"]]),
        "tap_by_button": {name: summary_ms([s for n, s in run["tap_seconds"] if n == name])
                          for name in dict.fromkeys(n for n, _ in run["tap_seconds"])},
        "rss_kb_after_10_pickups": rss[10],
        f"rss_kb_after_{pickups}_pickups": rss[pickups],
        "rss_growth_percent": round(growth, 2),
        "targets": {"cold_start_s": 2.5, "tap_ms": 100, "rss_growth_percent": 10},
    }
    path = write_result("ui", result)
    tap = result["tap_to_next_screen"]
    print(f"cold start to idle screen: median {result['cold_start_s']['median']} s (target < 2.5 s)")
    print(f"tap to next screen drawn: median {tap['median_ms']} ms, p95 {tap['p95_ms']} ms (target < 100 ms)")
    for name, figures in result["tap_by_button"].items():
        print(f"  {name}: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms")
    print(f"RSS after 10 pickups {rss[10]} kB, after {pickups}: {rss[pickups]} kB, growth {growth:.1f} % "
          "(target < 10 %)")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
