"""Stand-ins for the UI modules other branches deliver (speech, shaping, fonts).

Installed only when the real module is missing, so the UI tests run on this
branch before the merge and use the real modules after it. They implement
the agreed APIs in the plainest way (no Arabic shaping, Kivy's default
font, speech written to the capture file only) and are never used by the
application itself.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from pathlib import Path


def _shaping() -> types.ModuleType:
    mod = types.ModuleType("kiosk.ui.shaping")
    mod.is_rtl = lambda lang: lang == "ar"
    mod.shape_line = lambda text, lang: text[::-1] if lang == "ar" else text

    def wrap(text, lang, max_width, measure):
        lines, line = [], ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and measure(candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
        return [mod.shape_line(x, lang) for x in lines]

    mod.wrap = wrap
    return mod


def _fonts() -> types.ModuleType:
    mod = types.ModuleType("kiosk.ui.fonts")

    def font_for(lang: str, bold: bool = False) -> str:
        import kivy

        name = "Roboto-Bold.ttf" if bold else "Roboto-Regular.ttf"
        return str(Path(kivy.__file__).parent / "data" / "fonts" / name)

    mod.font_for = font_for
    return mod


def _speech() -> types.ModuleType:
    mod = types.ModuleType("kiosk.ui.speech")

    class Speaker:
        def __init__(self, *, enabled: bool = True, capture_dir: Path | None = None):
            self.enabled = enabled
            directory = capture_dir or os.environ.get("PICKUPBOX_SPEECH_CAPTURE")
            self.capture = Path(directory) / "speech.jsonl" if directory else None
            self.last: tuple[str, str] | None = None

        def say(self, text: str, lang: str) -> None:
            self.last = (text, lang)
            if self.enabled and self.capture is not None:
                self.capture.parent.mkdir(parents=True, exist_ok=True)
                with self.capture.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"lang": lang, "text": text}, ensure_ascii=False) + "\n")

        def repeat(self) -> None:
            if self.last:
                self.say(*self.last)

        def stop(self) -> None:
            pass

        def close(self) -> None:
            pass

    mod.Speaker = Speaker
    return mod


def install() -> list[str]:
    """Registers the stand-ins whose real module is missing; returns their names."""
    installed = []
    for name, factory in (("shaping", _shaping), ("fonts", _fonts), ("speech", _speech)):
        full = f"kiosk.ui.{name}"
        try:
            importlib.import_module(full)
        except ImportError:
            sys.modules[full] = factory()
            import kiosk.ui

            setattr(kiosk.ui, name, sys.modules[full])
            installed.append(name)
    return installed
