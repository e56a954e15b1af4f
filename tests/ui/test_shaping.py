"""Arabic shaping and reordering for Kivy's left-to-right text renderer."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kiosk.ui.bidi_order import MIRROR
from kiosk.ui.shaping import ISOLATE_END, ISOLATE_START, is_rtl, shape_line, wrap

CATALOG = Path(__file__).resolve().parents[2] / "kiosk" / "ui" / "locale" / "ar" / "LC_MESSAGES" / "kiosk.po"
LRI = "\u2066"  # a left-to-right isolate (FSI picks its direction from the content)


def codepoints(text: str) -> list[str]:
    return [f"{ord(c):04X}" for c in text]


def test_only_arabic_is_right_to_left() -> None:
    assert is_rtl("ar")
    assert not any(is_rtl(lang) for lang in ("de", "en", "tr", "uk", "ru", "pl"))


def test_left_to_right_languages_are_untouched() -> None:
    for lang, text in {"de": "Fach 12 öffnet sich", "uk": "Відділення 12", "tr": "Bölme İ ğ ş ı"}.items():
        assert shape_line(text, lang) == text


def test_salam_gets_its_contextual_forms_and_lam_alef_ligature() -> None:
    # س initial (FEB3), لا final lam-alef ligature (FEFC), م isolated (FEE1),
    # in visual order: the word's end is drawn first, on the left.
    assert codepoints(shape_line("سلام", "ar")) == ["FEE1", "FEFC", "FEB3"]
    assert codepoints(shape_line("لا", "ar")) == ["FEFB"]  # isolated lam-alef


def test_numbers_inside_arabic_keep_their_order() -> None:
    # "Compartment 12 is opening": the number reads 1-2 left to right, with
    # "الخانة" (compartment) on the right, where a reader starts.
    shaped = shape_line("الخانة 12 تفتح", "ar")
    assert codepoints(shaped) == [
        "FEA2", "FE98", "FED4", "FE97",          # تفتح, reversed
        "0020", "0031", "0032", "0020",          # " 12 "
        "FE94", "FEE7", "FE8E", "FEA8", "FEDF", "FE8D",  # الخانة, reversed
    ]


def test_latin_code_inside_arabic_keeps_its_order() -> None:
    shaped = shape_line("رمز الاستلام K7QP-29XM صحيح", "ar")
    assert " K7QP-29XM " in shaped
    assert shaped.index("K7QP") > shaped.index("\uFEBB")  # صحيح (last word) leftmost


def test_a_line_that_starts_with_a_number_is_still_right_to_left() -> None:
    # "12 of 20": logical order 12, من, 20 -> visual 20 من 12.
    assert shape_line("12 من 20", "ar") == "20 \uFEE6\uFEE3 12"


def test_shaping_keeps_allah_as_letters_the_font_has() -> None:
    assert "\uFDF2" not in shape_line("الله", "ar")


def char_width(text: str) -> float:
    return float(len(text))


def test_wrap_breaks_latin_text_on_spaces_and_newlines() -> None:
    lines = wrap("Bitte nehmen Sie Ihr Dokument\nund schließen Sie die Tür", "de", 12, char_width)
    assert lines == ["Bitte nehmen", "Sie Ihr", "Dokument", "und", "schließen", "Sie die Tür"]
    assert all(char_width(line) <= 12 for line in lines)


def test_wrap_keeps_a_long_word_whole_and_keeps_empty_lines() -> None:
    assert wrap("Abholcode\n\nABCDEFGHJKLMN ok", "de", 5, char_width) == [
        "Abholcode", "", "ABCDEFGHJKLMN", "ok"]


def test_wrap_breaks_arabic_in_logical_order_then_shapes_each_line() -> None:
    # Three words, room for two: the first line must hold the first two
    # words (read first, at the top), each line reordered on its own.
    text = "سلام الخانة تفتح"
    lines = wrap(text, "ar", 11, char_width)
    assert lines == [shape_line("سلام الخانة", "ar"), shape_line("تفتح", "ar")]
    # Reordering the whole paragraph first would have put "تفتح" on top.
    assert lines[0] != shape_line(text, "ar")[:len(lines[0])]


def test_wrap_measures_the_shaped_line() -> None:
    # The lam-alef ligature makes "لا" one glyph: a width of 1 fits it.
    assert wrap("لا", "ar", 1, char_width) == ["\uFEFB"]
    measured: list[str] = []
    wrap("سلام عليكم", "ar", 100, lambda s: measured.append(s) or len(s))
    assert measured and all("\u0633" not in s for s in measured)  # plain seen never measured


def plain(shaped: str) -> str:
    """Shaped Arabic back to plain letters (NFKC undoes the presentation
    forms), still in display order: easier to read in a test than U+FExx."""
    return unicodedata.normalize("NFKC", shaped)


VISUAL_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", "\u00ab": "\u00bb"}


def brackets_read_left_to_right(shown: str) -> bool:
    """True if, read left to right as drawn, every bracket opens before it
    closes: "(3)" is right, ")3(" is what an unmirrored right-to-left run shows."""
    expected: list[str] = []
    for char in shown:
        if char in VISUAL_PAIRS:
            expected.append(VISUAL_PAIRS[char])
        elif char in VISUAL_PAIRS.values() and (not expected or expected.pop() != char):
            return False
    return not expected


def test_brackets_in_arabic_are_drawn_mirrored() -> None:
    # "Inspections (3)": the count reads last, on the left, inside "(...)".
    assert plain(shape_line("عمليات الفحص (3)", "ar")) == "(3) صحفلا تايلمع"
    assert plain(shape_line("(منخفضة، سهلة الوصول)", "ar")) == "(لوصولا ةلهس ،ةضفخنم)"
    assert plain(shape_line("المس «ابدأ» للبدء", "ar")) == "ءدبلل «أدبا» سملا"


def test_nested_brackets_in_arabic() -> None:
    assert plain(shape_line("أ (ب [ج] د)", "ar")) == "(د [ج] ب) أ"
    assert plain(shape_line("أ {ب (ج <د>)}", "ar")) == "{(<د> ج) ب} أ"


def test_brackets_around_latin_and_digits_in_arabic() -> None:
    # The brackets are at the paragraph's right-to-left level, their content
    # left to right: mirrored brackets, the code unreversed inside them.
    assert plain(shape_line("رمز (ABC-123)", "ar")) == "(ABC-123) زمر"
    assert plain(shape_line("الخانة (12) مفتوحة", "ar")) == "ةحوتفم (12) ةناخلا"
    assert plain(shape_line("الرمز (K7QP 29XM) صحيح", "ar")) == "حيحص (K7QP 29XM) زمرلا"


def test_brackets_inside_a_left_to_right_isolate_are_not_mirrored() -> None:
    # Inside an isolate that reads left to right the brackets are at an even
    # level: drawn as typed. The isolate's own marks sit at the Arabic level.
    shown = shape_line(f"اتصل {LRI}(0800) 123 456{ISOLATE_END}", "ar")
    assert plain(shown) == f"{ISOLATE_END}(0800) 123 456{LRI} لصتا"
    shown = shape_line(f"السيد {ISOLATE_START}Jones (Berlin){ISOLATE_END}", "ar")
    assert "Jones (Berlin)" in shown


def test_a_phone_number_in_an_isolate_still_reads_left_to_right() -> None:
    shown = shape_line(f"اتصل بالرقم {ISOLATE_START}0800 123 456{ISOLATE_END} (مجانًا)", "ar")
    assert "0800 123 456" in shown
    assert brackets_read_left_to_right(shown)


def test_brackets_in_left_to_right_languages_are_untouched() -> None:
    for lang, text in {"de": "Fach (12) <offen> «ja» [A]", "en": "Locker (12) {x} >_<"}.items():
        assert shape_line(text, lang) == text


def catalog_strings() -> list[str]:
    """Every translation (each plural form) in the kiosk's Arabic catalog."""
    from babel.messages.pofile import read_po  # a dev dependency, as in test_catalogs

    with open(CATALOG, "rb") as po:
        messages = [message for message in read_po(po, locale="ar") if message.id]
    return [form for message in messages
            for form in ((message.string,) if isinstance(message.string, str) else message.string)]


def test_every_arabic_catalog_text_with_brackets_is_drawn_right() -> None:
    checked = []
    for text in catalog_strings():
        filled = re.sub(r"\{\w+\}", "12", text)  # the placeholders, as a number
        if not set(filled) & set("()[]{}<>«»"):
            continue
        for line in filled.split("\n"):
            shown = shape_line(line, "ar")
            assert brackets_read_left_to_right(shown), (text, plain(shown))
        checked.append(text)
    # The catalog's bracketed texts: "Inspections ({count})", the low
    # compartment "(...)", the help call "({name})", the «Start» button...
    assert len(checked) >= 5
    assert "عمليات الفحص ({count})" in checked


TEXT = st.text(alphabet=st.sampled_from(
    list("عملبتسهكنيدا") + list("aBz") + list("0129") + list(" -.,:/()[]{}<>«»")
    + [ISOLATE_START, ISOLATE_END, LRI, "\u2067"]), max_size=30)


def unmirrored(text: str) -> Counter[str]:
    """The characters of a text, each bracket counted as its pair's opening one."""
    return Counter(min(char, MIRROR.get(char, char)) for char in text)


@given(TEXT)
def test_shaping_keeps_every_character_but_mirrors(text: str) -> None:
    # NFKC takes the joined forms (and the lam-alef ligature) back to letters.
    assert unmirrored(plain(shape_line(text, "ar"))) == unmirrored(text)


@given(TEXT, TEXT)
def test_a_number_in_an_isolate_is_never_reversed(before: str, after: str) -> None:
    assert "0800 123 456" in shape_line(f"{before}{ISOLATE_START}0800 123 456{ISOLATE_END}{after}", "ar")
