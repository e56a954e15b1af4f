"""Every screen, rendered by the real app in a real window: layout, touch
targets, contrast measured on the pixels, right-to-left Arabic.

Uses tests/ui/screenshots.py (the code behind tools/screenshots) for German
(the default), Arabic (right to left) and English.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kivy", reason="the UI needs Kivy: run tools/setup")
cv2 = pytest.importorskip("cv2", reason="reading screenshots needs opencv: run tools/setup")
np = pytest.importorskip("numpy")

from kiosk.ui.theme import contrast_ratio  # noqa: E402
from tests.ui.layout_checks import layout_problems, small_targets  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("de", "ar", "en")
pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("screenshots")
    env = dict(os.environ, KIVY_HOME=str(out / "kivy-home"))
    proc = subprocess.run([sys.executable, "-m", "tests.ui.screenshots", str(out), *LANGS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def records(shots: Path, lang: str):
    for path in sorted((shots / lang).glob("*.json")):
        yield path.stem, json.loads(path.read_text(encoding="utf-8")), path.with_suffix(".png")


def test_every_screen_in_every_language_was_drawn(shots):
    names = {lang: {name for name, _, _ in records(shots, lang)} for lang in LANGS}
    assert names["de"] == names["ar"] == names["en"]
    assert len(names["de"]) >= 35
    for lang in LANGS:
        for name, record, png in records(shots, lang):
            assert png.stat().st_size > 5000, f"{lang}/{name} looks empty"
            assert record["buttons"] or name in ("opening", "door_open"), f"{lang}/{name} has no controls"


def test_nothing_is_clipped_outside_the_window_or_overlapping(shots):
    problems = [f"{lang}/{name}: {p}" for lang in LANGS for name, record, _ in records(shots, lang)
                for p in layout_problems(record)]
    assert not problems, "\n".join(problems)


def test_every_touch_target_is_at_least_15_mm(shots):
    problems = [f"{lang}/{name}: {p}" for lang in LANGS for name, record, _ in records(shots, lang)
                for p in small_targets(record)]
    assert not problems, "\n".join(problems)


def measured_contrast(image, record: dict, label: dict) -> float:
    """Contrast between a label's background (its most common colour) and its
    text (the pixel that differs most from it), read from the screenshot."""
    height = image.shape[0]
    x, y, w, h = label["text_box"]
    top, bottom = int(height - (y + h)) + 1, int(height - y) - 1
    left, right = int(x) + 1, int(x + w) - 1
    crop = image[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)].reshape(-1, 3)
    if len(crop) < 20:
        return float("inf")
    colours, counts = np.unique(crop, axis=0, return_counts=True)
    background = tuple(colours[counts.argmax()][::-1] / 255)  # BGR -> RGB
    return max(contrast_ratio(tuple(c[::-1] / 255), background) for c in colours)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_text_contrast_on_the_pixels(shots, lang):
    low = []
    for name, record, png in records(shots, lang):
        image = cv2.imread(str(png))
        minimum = 7.0 if record["high_contrast"] else 4.5
        for label in record["labels"]:
            ratio = measured_contrast(image, record, label)
            if ratio < minimum:
                low.append(f"{name}: {label['text'][:40]!r} {ratio:.1f}:1 < {minimum}:1")
    assert not low, "\n".join(low)


def test_arabic_screens_are_right_to_left(shots):
    for name, record, png in records(shots, "ar"):
        image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        arabic = [label for label in record["labels"] if label["lang"] == "ar" and label["halign"] != "center"]
        assert arabic, name
        for label in arabic:
            assert label["halign"] == "right", (name, label["text"])
        # On the idle-less text screens the title's ink ends at the right edge of its box.
        if name in ("pin", "code", "scan", "pin_letter"):
            title = arabic[0]
            x, y, w, h = title["box"]
            rows = image[int(image.shape[0] - y - h):int(image.shape[0] - y), int(x):int(x + w)]
            ink = np.where((rows < 128).any(axis=0))[0]
            assert ink.size and ink.max() > w * 0.9 and ink.min() > w * 0.3, name
