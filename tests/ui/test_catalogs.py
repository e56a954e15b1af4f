"""The gettext catalogs: complete, faithful to their msgids, compiled, drawable.

The msgids come from the N_() marks in kiosk/ui (texts.py above all), read
with Babel's extractor, the same one `tools/i18n extract` uses.
"""

from __future__ import annotations

import gettext
import re
import string
from functools import cache
from pathlib import Path

import pytest

babel_extract = pytest.importorskip("babel.messages.extract", reason="babel is a dev dependency")
from babel.messages.pofile import read_po  # noqa: E402

from kiosk.ui.fonts import font_for  # noqa: E402
from kiosk.ui.shaping import is_rtl, shape_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "kiosk" / "ui"
LOCALE = UI / "locale"
LANGUAGES = ("de", "en", "tr", "uk", "ru", "pl", "ar")

# Translations that may equal the English msgid although they are longer
# than three characters (brand names, codes). Add with care.
SAME_AS_ENGLISH_ALLOWED: frozenset[str] = frozenset({
    "No. {number}",  # Turkish abbreviates "numara" as "No." too
})

# Shown on every screen whatever the language: the pickup-code alphabet and
# digits typed into placeholders, and each language's own name on the
# language screen.
ALWAYS_SHOWN = string.ascii_uppercase + string.digits + "+-?:.,()/ "

pytestmark = pytest.mark.skipif(
    not (UI / "texts.py").exists(),
    reason="kiosk/ui/texts.py is not in this tree yet (it comes with the UI screens)",
)


@cache
def msgids() -> tuple[str, ...]:
    found = babel_extract.extract_from_dir(
        str(UI),
        method_map=[("**/locale/**", "ignore"), ("**.py", "python")],
        keywords={"N_": None, "NP_": (1, 2)},
    )
    # A plural (NP_) comes as (singular, plural); the catalogs key it by its singular.
    ids = dict.fromkeys(message if isinstance(message, str) else message[0] for _, _, message, _, _ in found)
    assert ids, "no N_() msgids found in kiosk/ui"
    return tuple(ids)


@cache
def catalog(lang: str):  # -> babel Catalog
    with open(LOCALE / lang / "LC_MESSAGES" / "kiosk.po", "rb") as f:
        return read_po(f, locale=lang)


def translations(lang: str) -> dict[str, str]:
    """msgid -> translation; for a plural, singular msgid -> its last (most general) form."""
    return {key(m.id): forms(m.string)[-1] for m in catalog(lang) if m.id}


def key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def forms(string) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)


def plurals(lang: str) -> dict[str, tuple[str, ...]]:
    return {m.id[0]: forms(m.string) for m in catalog(lang) if isinstance(m.id, tuple)}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def without_placeholders(text: str) -> str:
    return re.sub(r"\{[^}]*\}", "", text)


def test_the_languages_match_the_ui() -> None:
    i18n = pytest.importorskip("kiosk.ui.i18n", reason="kiosk/ui/i18n.py comes with the UI screens")
    assert tuple(lang.code for lang in i18n.LANGUAGES) == LANGUAGES
    assert sorted(p.name for p in LOCALE.iterdir() if p.is_dir()) == sorted(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_is_translated(lang: str) -> None:
    have = translations(lang)
    missing = [m for m in msgids() if not have.get(m, "").strip()]
    missing += [m for m, texts in plurals(lang).items() if not all(t.strip() for t in texts)]
    assert not missing, f"{lang}: {len(missing)} untranslated (run tools/i18n update): {missing[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_fuzzy_or_stale_entries(lang: str) -> None:
    fuzzy = [m.id for m in catalog(lang) if m.id and m.fuzzy]
    assert not fuzzy, f"{lang}: review these drafts and drop their fuzzy flag: {fuzzy[:5]}"
    stale = set(translations(lang)) - set(msgids())
    assert not stale, f"{lang}: msgids no longer in the code (run tools/i18n update): {sorted(stale)[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_kept(lang: str) -> None:
    wrong = []
    for msgid, msgstr in translations(lang).items():
        names = placeholders(msgid)
        if placeholders(msgstr) != names:
            wrong.append((msgid, msgstr))
            continue
        msgstr.format(**{name: "x" for name in names})  # braces are balanced
    # Plural forms: the general form keeps every placeholder (checked above); the
    # forms for one or two (Arabic) may say the number in words and leave it out.
    for msgid, texts in plurals(lang).items():
        for text in texts:
            if not placeholders(text) <= placeholders(msgid):
                wrong.append((msgid, text))
            text.format(**{name: "x" for name in placeholders(msgid)})
    assert not wrong, f"{lang}: placeholders differ: {wrong[:3]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plurals_have_every_form_of_the_language(lang: str) -> None:
    expected = catalog(lang).num_plurals
    short = {m: len(t) for m, t in plurals(lang).items() if len(t) != expected}
    assert plurals(lang), "the texts with numbers are gettext plurals (NP_ in kiosk/ui/texts.py)"
    assert not short, f"{lang}: plural entries without {expected} forms: {short}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(lang: str) -> None:
    mo = LOCALE / lang / "LC_MESSAGES" / "kiosk.mo"
    with open(mo, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    compiled_messages = {k: v for k, v in compiled._catalog.items() if k and isinstance(k, str)}  # noqa: SLF001
    singular = {m: t for m, t in translations(lang).items() if m not in plurals(lang)}
    assert compiled_messages == singular, f"{mo} is stale: run tools/i18n compile"
    for msgid, texts in plurals(lang).items():
        assert tuple(compiled._catalog[(msgid, i)] for i in range(len(texts))) == texts, msgid  # noqa: SLF001
    # And gettext, as the kiosk calls it, finds the translation.
    found = gettext.translation("kiosk", localedir=LOCALE, languages=[lang])
    assert found.gettext(msgids()[0]) == translations(lang)[msgids()[0]]


def test_english_maps_each_msgid_to_itself() -> None:
    plural = plurals("en")
    assert {m: m for m in msgids() if m not in plural} == {
        m: t for m, t in translations("en").items() if m not in plural}
    assert all(texts[0] == m for m, texts in plural.items())


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_no_english_left_in_other_languages(lang: str) -> None:
    left = [
        msgid for msgid, msgstr in translations(lang).items()
        if msgstr == msgid and len(msgid) > 3
        and re.search(r"[A-Za-z]", without_placeholders(msgid))
        and msgid not in SAME_AS_ENGLISH_ALLOWED
    ]
    assert not left, f"{lang}: still English: {left[:5]}"


@cache
def cmap(font: str) -> frozenset[int]:
    ttlib = pytest.importorskip("fontTools.ttLib", reason="fonttools is a dev dependency")
    return frozenset(ttlib.TTFont(font).getBestCmap())


def native_names() -> str:
    try:
        from kiosk.ui.i18n import LANGUAGES as UI_LANGUAGES
    except ImportError:
        return ""
    return "".join(lang.native_name for lang in UI_LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("bold", [False, True])
def test_the_font_has_a_glyph_for_every_character_shown(lang: str, bold: bool) -> None:
    shown = [ALWAYS_SHOWN, native_names(), *translations(lang).values(),
             *(text for texts in plurals(lang).values() for text in texts)]
    if is_rtl(lang):
        # What Kivy actually draws: presentation forms in visual order.
        shown += [shape_line(line, lang) for text in shown for line in text.split("\n")]
    font = font_for(lang, bold)
    missing = {ch for text in shown for ch in text if ch != "\n" and ord(ch) not in cmap(font)}
    assert not missing, f"{Path(font).name} has no glyph for {sorted(missing)} ({lang})"


def test_shaped_arabic_uses_presentation_forms() -> None:
    # Guards the font test above: it must see what the reshaper emits.
    shaped = shape_line(translations("ar")["Language"], "ar")
    assert all(0xFE70 <= ord(ch) <= 0xFEFF for ch in shaped)
