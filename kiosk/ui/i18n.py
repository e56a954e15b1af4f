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

from kiosk.ui.texts import Plural

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


def t(msgid: str | Plural, lang: str, **values: object) -> str:
    """The translation of `msgid` in `lang`, with `{placeholders}` filled in.

    A `Plural` msgid picks the language's plural form for the number in
    `values[msgid.key]` (gettext's ngettext: Arabic has six forms, Polish,
    Russian and Ukrainian three)."""
    if isinstance(msgid, Plural):
        count = values.get(msgid.key, 0)
        number = count if isinstance(count, int) else 0
        text = _catalog(lang).ngettext(msgid.singular, msgid.plural, number)
        fallback = msgid.singular if number == 1 else msgid.plural
    else:
        text, fallback = _catalog(lang).gettext(msgid), msgid
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        # A broken translation must not crash the kiosk: show the English text.
        return fallback.format(**values)
