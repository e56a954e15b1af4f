"""tools/console-screenshots [DIR]: a PNG of every console page in German and English.

Starts a registry with its console on loopback (as the tests do), walks
tests/console/tour.py in Debian's headless Chromium and writes
DIR/<lang>/<page>.png (default artifacts/console-screenshots).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from registry.console.texts import LANGUAGES
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_console
from tests.console.tour import tour

ROOT = Path(__file__).resolve().parents[2]
LOCALES = {"de": "de-DE", "en": "en-GB"}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "artifacts" / "console-screenshots"
    if not CHROMIUM.exists():
        print(f"no {CHROMIUM}: run tools/setup --tests", file=sys.stderr)
        return 1
    written = 0
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        console = start_console(Path(tmp))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for language in LANGUAGES:
                (out / language).mkdir(parents=True, exist_ok=True)
                # The browser's locale formats date fields (TT.MM.JJJJ in German).
                context = browser.new_context(base_url=console.url, locale=LOCALES[language],
                                              viewport={"width": 1280, "height": 900})
                page = context.new_page()
                for name in tour(page, language, console):
                    page.screenshot(path=str(out / language / f"{name}.png"), full_page=True)
                    written += 1
                context.close()
        finally:
            browser.close()
            console.close()
    print(f"{written} screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
