"""Speech output through the real espeak-ng, captured to WAV files."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import wave
from pathlib import Path

import pytest

from kiosk.ui.speech import CAPTURE_ENV, CAPTURE_LOG, VOICES, Speaker

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (tools/setup installs it: apt-get install espeak-ng)",
)

SAMPLES = {
    "de": "Fach 7 öffnet sich.",
    "en": "Compartment 7 is opening.",
    "tr": "7 numaralı bölme açılıyor.",
    "uk": "Відділення 7 відкривається.",
    "ru": "Ячейка 7 открывается.",
    "pl": "Skrytka 7 się otwiera.",
    "ar": "الخانة 7 تُفتح الآن.",
}


def captured(folder: Path) -> list[dict[str, str]]:
    lines = (folder / CAPTURE_LOG).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def espeak_children() -> set[int]:
    """PIDs of this process's espeak-ng children, read from /proc."""
    me = os.getpid()
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == me and comm == "espeak-ng":
            pids.add(int(entry.name))
    return pids


@needs_espeak
def test_every_language_renders_a_real_wav(tmp_path: Path) -> None:
    speaker = Speaker(capture_dir=tmp_path)
    for lang, text in SAMPLES.items():
        speaker.say(text, lang)
        assert speaker.wait(20), f"espeak-ng did not finish for {lang}"
    speaker.close()

    assert captured(tmp_path) == [
        {"lang": lang, "voice": VOICES[lang], "text": text} for lang, text in SAMPLES.items()
    ]
    for n, lang in enumerate(SAMPLES, start=1):
        wav = tmp_path / f"{n}-{lang}.wav"
        assert wav.read_bytes()[:4] == b"RIFF"
        with wave.open(str(wav)) as w:
            seconds = w.getnframes() / w.getframerate()
        # Each sample is a short sentence: speech, not a click of silence.
        assert 0.8 < seconds < 10, (lang, seconds)


@needs_espeak
def test_a_new_text_kills_the_one_being_said(tmp_path: Path) -> None:
    speaker = Speaker(capture_dir=tmp_path)
    long_text = "Bitte halten Sie den QR-Code vor die Kamera. " * 400
    speaker.say(long_text, "de")
    first = espeak_children()
    assert len(first) == 1, "the long text should still be rendering"

    speaker.say("Abbrechen.", "de")
    assert espeak_children().isdisjoint(first), "the first espeak-ng still runs"
    assert speaker.wait(20)
    speaker.close()

    with wave.open(str(tmp_path / "2-de.wav")) as w:
        assert w.getnframes() > 0
    assert [u["text"] for u in captured(tmp_path)] == [long_text, "Abbrechen."]


@needs_espeak
def test_stop_and_close_silence_it(tmp_path: Path) -> None:
    speaker = Speaker(capture_dir=tmp_path)
    speaker.say("Bitte warten. " * 400, "de")
    assert espeak_children()
    speaker.stop()
    assert not espeak_children()
    speaker.close()
    speaker.say("Nach dem Schließen.", "de")
    assert not espeak_children()
    assert len(captured(tmp_path)) == 1


@needs_espeak
def test_repeat_says_the_last_text_again(tmp_path: Path) -> None:
    speaker = Speaker(capture_dir=tmp_path)
    speaker.repeat()  # nothing said yet: nothing happens
    assert not (tmp_path / CAPTURE_LOG).exists()
    speaker.say("Geben Sie Ihre PIN ein.", "de")
    speaker.wait(20)
    speaker.repeat()
    speaker.wait(20)
    speaker.close()
    assert [u["text"] for u in captured(tmp_path)] == ["Geben Sie Ihre PIN ein."] * 2
    assert (tmp_path / "2-de.wav").read_bytes()[:4] == b"RIFF"


@needs_espeak
def test_disabled_speaker_is_silent_but_remembers_for_repeat(tmp_path: Path) -> None:
    speaker = Speaker(enabled=False, capture_dir=tmp_path)
    speaker.say("Willkommen.", "de")
    assert not (tmp_path / CAPTURE_LOG).exists()
    speaker.enabled = True
    speaker.repeat()
    speaker.wait(20)
    speaker.close()
    assert [u["text"] for u in captured(tmp_path)] == ["Willkommen."]


@needs_espeak
def test_capture_folder_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_ENV, str(tmp_path / "speech"))
    speaker = Speaker()
    speaker.say("Danke.", "de")
    speaker.wait(20)
    speaker.close()
    assert captured(tmp_path / "speech") == [{"lang": "de", "voice": "de", "text": "Danke."}]
    assert (tmp_path / "speech" / "1-de.wav").read_bytes()[:4] == b"RIFF"


def test_missing_espeak_warns_once_and_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="kiosk.ui.speech"):
        speaker = Speaker(capture_dir=tmp_path, command="no-such-espeak-ng")
        speaker.say("Ziffer 3 von 6", "de")
        speaker.repeat()
        speaker.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no-such-espeak-ng" in warnings[0].getMessage()
    # What was to be said is still recorded for the capture log.
    assert len(captured(tmp_path)) == 2


def test_failed_playback_warns_once_without_the_text(caplog: pytest.LogCaptureFixture) -> None:
    # `false` is a real program that fails like a speech command whose sound
    # device is gone: the kiosk must log it once and carry on.
    secret = "Ziffer 3 von 6: 4711"
    with caplog.at_level(logging.DEBUG, logger="kiosk.ui.speech"):
        speaker = Speaker(command="false")
        for _ in range(3):
            speaker.say(secret, "de")
            assert speaker.wait(10)
        speaker.close()
        # The watcher thread logs after the process ends; give it a moment.
        for _ in range(100):
            if sum(r.levelno == logging.WARNING for r in caplog.records) >= 1:
                break
            time.sleep(0.02)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not play" in warnings[0].getMessage()
    for record in caplog.records:
        assert "4711" not in record.getMessage() and "Ziffer" not in record.getMessage()
