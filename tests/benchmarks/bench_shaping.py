"""Benchmark: Arabic shaping for the touchscreen (kiosk.ui.shaping).

The reordering is kiosk.ui.bidi_order, pure Python since it mirrors
brackets (python-bidi 0.6, Rust, did not). Times wrapping every text of the
kiosk's Arabic catalog into 30-character lines (`wrap` shapes each candidate
line to measure it, as the labels do), and one shaped line on its own. If
python-bidi is still installed, the same with its reordering, for comparison.

    .venv/bin/python -m tests.benchmarks.bench_shaping
"""

from __future__ import annotations

from kiosk.ui import shaping
from tests.benchmarks.common import timed, write_result
from tests.ui.test_shaping import catalog_strings

RUNS = 20
LINE = "ضعوا الوثيقة في الخانة 12 (منخفضة، سهلة الوصول) وأغلقوا الباب."


def measure() -> dict[str, float]:
    texts = [text for text in catalog_strings() if text]
    catalog = timed(lambda: [shaping.wrap(text, "ar", 30, len) for text in texts], RUNS)
    line = timed(lambda: [shaping.shape_line(LINE, "ar") for _ in range(100)], RUNS)
    return {"texts": len(texts), "wrap_catalog_ms_median": catalog["median_ms"],
            "shape_line_us_median": round(line["median_ms"] * 10, 1)}


def main() -> dict:
    result = {"bidi_order": measure()}
    try:
        from bidi import get_display
    except ImportError:
        pass
    else:
        ours = shaping.display
        shaping.display = lambda text, base=1: get_display(text, base_dir="R")
        try:
            result["python_bidi_without_mirroring"] = measure()
        finally:
            shaping.display = ours
    path = write_result("shaping", result)
    for name, figures in result.items():
        print(f"{name}: {figures['texts']} catalog texts wrapped in {figures['wrap_catalog_ms_median']} ms,"
              f" one line shaped in {figures['shape_line_us_median']} µs (medians of {RUNS})")
    print(f"results: {path}")
    return result


if __name__ == "__main__":
    main()
