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


# ------------------------------------------------------------ issue 13 defects

def record(shots: Path, lang: str, name: str) -> dict:
    return json.loads((shots / lang / f"{name}.json").read_text(encoding="utf-8"))


def button(rec: dict, name: str) -> list[float]:
    return next(b["box"] for b in rec["buttons"] if b["name"] == name)


def test_reach_layout_moves_the_keypad_down_not_up(shots):
    """Defect 1: "controls lower" pushed the PIN keypad up by the toolbar's height."""
    for lang in LANGS:
        normal, reach = record(shots, lang, "pin"), record(shots, lang, "reach_pin")
        for key in ("key_1", "key_0", "continue"):
            assert button(reach, key)[1] <= button(normal, key)[1], (lang, key)  # Kivy y grows upwards
        # and the toolbar is lower too
        assert button(reach, "help")[1] < button(normal, "help")[1], lang


def test_help_opens_a_page_with_the_step_and_a_person(shots):
    """Defect 2: the Help key only repeated the prompt."""
    for lang in LANGS:
        texts_on = " ".join(label["text"] for label in record(shots, lang, "help_pin")["labels"])
        assert "0800 123 456" in texts_on, lang
        assert any(b["name"] == "help_back" for b in record(shots, lang, "help_pin")["buttons"])
    german = " ".join(label["text"] for label in record(shots, "de", "help_pin")["labels"])
    assert "Abhol-PIN" in german and "Kamera" in german


def pixel(image, box, dx: float, dy: float):
    """The BGR pixel at (dx, dy) pixels from a box's lower-left corner (Kivy coordinates)."""
    x, y, w, h = box
    return tuple(int(v) for v in image[int(image.shape[0] - (y + dy)), int(x + dx)])


def test_a_switched_on_toggle_does_not_look_like_the_action_button(shots):
    """Defect 3 (EN 301 549 5.6.2): an active toggle looked like "Fertig"."""
    rec = record(shots, "de", "accessibility")
    image = cv2.imread(str(shots / "de" / "accessibility.png"))
    speech, done = button(rec, "a11y_speech"), button(rec, "a11y_done")  # speech is on by default
    assert pixel(image, speech, speech[2] - 12, speech[3] / 2) != pixel(image, done, done[2] - 12, done[3] / 2)
    labels = {label["text"] for label in rec["labels"]}
    assert "Sprachausgabe: an" in labels and "Hoher Kontrast: aus" in labels


def test_confirmations_on_staff_screens_are_green_not_red(shots):
    """Defect 7: "2 Dokumente entnommen." was in the red error box."""
    from kiosk.ui.theme import NORMAL

    rec = record(shots, "de", "staff_menu")
    label = next(label for label in rec["labels"] if "entnommen" in label["text"])
    assert label["text"] == "2 Dokumente entnommen."
    assert label["colour"] == pytest.approx(list(NORMAL.success_text), abs=0.01)


def test_arabic_mirrors_the_toolbar_and_the_keypad_action_row(shots):
    """Defect 9: toolbar order and the keypad's action row stayed left to right."""
    for lang, first in (("de", "language"), ("ar", "help")):
        rec = record(shots, lang, "pin")
        toolbar = sorted((b for b in rec["buttons"] if b["name"] in ("language", "help")), key=lambda b: b["box"][0])
        assert toolbar[0]["name"] == first, lang
    ar = record(shots, "ar", "pin")
    assert button(ar, "continue")[0] < button(ar, "delete")[0]  # Continue at the end of the row: the left
    assert button(ar, "key_1")[0] < button(ar, "key_3")[0]  # digits keep the phone layout


def test_the_office_contact_shows_once_on_error_screens(shots):
    """Defect 13: the office contact showed twice on error screens."""
    for lang in LANGS:
        rec = record(shots, lang, "error_locked")
        assert sum("0800 123 456" in label["text"] for label in rec["labels"]) == 1, lang


def test_deposit_door_repeats_the_order_and_exit_asks_first(shots):
    """Defect 12: the deposit door screen did not repeat the order; "Exit app" had no confirmation."""
    rec = record(shots, "de", "staff_door")
    assert any(label["text"] == "Auftrag PO-7K2M9QXD" for label in rec["labels"])
    confirm = record(shots, "de", "staff_exit_confirm")
    assert {b["name"] for b in confirm["buttons"]} >= {"exit_cancel", "exit_confirm"}
    assert "exit_app" in {b["name"] for b in record(shots, "de", "staff_menu")["buttons"]}


def test_the_pin_letter_step_is_shown_as_step_3_of_4(shots):
    rec = record(shots, "de", "pin_letter_steps")
    assert any(label["text"] == "Schritt 3 von 4" for label in rec["labels"])


def test_the_help_page_offers_a_call_only_with_a_help_call_device(shots):
    for lang in LANGS:
        assert "help_call" in {b["name"] for b in record(shots, lang, "help_call")["buttons"]}, lang
        assert "help_call" not in {b["name"] for b in record(shots, lang, "help_pin")["buttons"]}, lang


def test_throttled_screen_counts_down_and_offers_the_retry_only_when_it_is_over(shots):
    """Defect 10: the throttle text always said "a minute" and offered the retry at once."""
    waiting = record(shots, "de", "error_throttled")
    texts = " ".join(label["text"] for label in waiting["labels"])
    assert "in 3 Minuten erneut" in texts or "in 2 Minuten erneut" in texts, texts
    assert "eine Minute" not in texts
    assert "try_again" not in {b["name"] for b in waiting["buttons"]}
    over = record(shots, "de", "error_throttled_over")
    assert any("jetzt erneut versuchen" in label["text"] for label in over["labels"])
    assert "try_again" in {b["name"] for b in over["buttons"]}


def test_pin_and_pin_letter_screens_name_the_document_and_the_receipt_its_order(shots):
    for name in ("pin", "pin_letter"):
        assert any(label["text"] == "Dokument: Reisepass" for label in record(shots, "de", name)["labels"]), name
    done = [label["text"] for label in record(shots, "de", "done")["labels"]]
    assert "Dokument: Personalausweis" in done and "Auftragsnummer: PO-7K2M9QXD" in done, done
    ar = [label["text"] for label in record(shots, "ar", "done")["labels"]]
    assert any("PO-7K2M9QXD" in text for text in ar), ar
