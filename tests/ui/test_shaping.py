"""Arabic shaping and reordering for Kivy's left-to-right text renderer."""

from __future__ import annotations

from kiosk.ui.shaping import is_rtl, shape_line, wrap


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
