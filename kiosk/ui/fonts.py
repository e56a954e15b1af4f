"""The font files the touchscreen uses, bundled so no system font is needed.

Kivy draws a label with one font file and cannot fall back to another font
for a missing glyph: the file for a language must hold every character its
screens show, digits and the Latin pickup-code alphabet included, and for
Arabic the presentation forms (U+FE70-FEFF) that `kiosk.ui.shaping` emits.
DejaVu Sans covers Latin with Turkish and Polish letters, Cyrillic with the
Ukrainian letters, and Arabic with its presentation forms, so one family
serves all seven languages; tests/ui/test_catalogs.py checks every
translated text against it. Licence: fonts/LICENSE-DejaVu.txt.
"""

from __future__ import annotations

from pathlib import Path

FONTS_DIR = Path(__file__).parent / "fonts"

_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"

# One entry per language, so a language that needs another script can get
# its own font without touching the others.
_FONTS: dict[str, tuple[Path, Path]] = {
    lang: (_REGULAR, _BOLD) for lang in ("de", "en", "tr", "uk", "ru", "pl", "ar")
}


def font_for(lang: str, bold: bool = False) -> str:
    """Path of the TTF for `lang` (German's for a language not listed)."""
    regular, heavy = _FONTS.get(lang, _FONTS["de"])
    return str(heavy if bold else regular)
