"""Shared bits of the benchmarks: where results go, and timing summaries.

Every benchmark runs as ``.venv/bin/python -m tests.benchmarks.<module>``,
writes its figures as JSON to ``artifacts/benchmarks/<name>.json`` (git
ignores artifacts/) and prints a short summary.
"""

from __future__ import annotations

import json
import platform
import statistics
from pathlib import Path
from typing import Any

import cv2

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "benchmarks"


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n", encoding="utf-8")
    return path


def timed(call, runs: int) -> dict[str, float]:
    """Calls ``call`` once to warm up (caches, first pages), then ``runs`` times."""
    import time

    call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return summary_ms(seconds)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Median and 95th percentile of timings, in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(p95 * 1000, 3),
        "runs": len(ordered),
    }


# ------------------------------------------------------------- CPU time

_CLOCK_TICKS = None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(child) for child in text)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), s; 0 if it is gone."""
    import os

    global _CLOCK_TICKS
    if _CLOCK_TICKS is None:
        _CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # fields 14 and 15 of stat


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of every live descendant, by pid.

    Kept per pid so that a window's figure (see :func:`cpu_between`) counts
    only what each process spent in it, including processes that appeared
    during it, and not the CPU of children that ended before it (cutime).
    """
    seen: dict[int, float] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen[current] = process_cpu_seconds(current)
        todo.extend(_children(current))
    return seen


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds a process tree spent between two :func:`tree_cpu_seconds` readings."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
