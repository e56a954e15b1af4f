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
