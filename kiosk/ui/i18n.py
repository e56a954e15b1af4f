"""Languages of the touchscreen and the gettext lookup of their texts.

The msgids are the English texts in `kiosk.ui.texts`; translations live in
`kiosk/ui/locale/<lang>/LC_MESSAGES/kiosk.mo`. A missing catalog or msgid
falls back to English, so a new text never shows up blank.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kiosk"


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str  # shown in its own script, so people find their language
    rtl: bool = False


LANGUAGES: tuple[Language, ...] = (
    Language("de", "Deutsch"),
    Language("en", "English"),
    Language("tr", "Türkçe"),
    Language("uk", "Українська"),
    Language("ru", "Русский"),
    Language("pl", "Polski"),
    Language("ar", "العربية", rtl=True),
)
DEFAULT_LANGUAGE = "de"
_BY_CODE = {lang.code: lang for lang in LANGUAGES}


def language(code: str) -> Language:
    return _BY_CODE.get(code, _BY_CODE[DEFAULT_LANGUAGE])


@lru_cache(maxsize=None)
def _catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


def t(msgid: str, lang: str, **values: object) -> str:
    """The translation of `msgid` in `lang`, with `{placeholders}` filled in."""
    text = _catalog(lang).gettext(msgid)
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        # A broken translation must not crash the kiosk: show the English text.
        return msgid.format(**values)
