"""The pickup letter's layout and texts (DIN 5008 form B) in every language
a citizen can choose, and its settings file."""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime, timezone

import pypdf
import pytest
from fontTools.ttLib import TTFont

from kiosk.ui.fonts import font_for
from kiosk.ui.shaping import shape_line, wrap
from registry.console.letter import LetterContent, LetterSettings, letter_language, render_letter
from registry.console.letter_texts import KINDS, TEXTS
from registry.messages.contacts import LANGUAGES
from tests.console.test_console_orders import create, qr_of_letter
from tests.ui.test_shaping import brackets_read_left_to_right

CONTENT = LetterContent(
    reference="PO-ABCDEFGH", kind="passport", pickup_code="K7M2-9QXD-45",
    qr_payload="PBX1:K7M29QXD45", kiosk_id="kiosk-1", language="de",
    recipient="Anna Muster\nHauptstraße 1\n12345 Musterstadt",
    deadline=datetime(2026, 12, 16, 12, tzinfo=timezone.utc), requires_pin_letter=False,
    date=datetime(2026, 12, 2),
)


def words_at(pdf: bytes) -> list[tuple[str, float, float]]:
    """Each text run with its position in mm from the sheet's top-left corner."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            runs.append((text.strip(), x / 72 * 25.4, (height - y) / 72 * 25.4))

    page.extract_text(visitor_text=visit)
    return runs


def test_the_letter_is_a4_and_the_address_sits_in_the_window():
    pdf = render_letter(CONTENT, LetterSettings.load_text(
        'sender = "Stadt Musterstadt · Markt 1 · 12345 Musterstadt"\n'
        '[kiosks.kiosk-1]\naddress = "Rathaus, Markt 1"\n'
        'opening_hours.de = "täglich 6–22 Uhr"\nopening_hours.en = "daily 6am–10pm"\n'))
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 210
    assert round(float(page.mediabox.height) / 72 * 25.4) == 297
    runs = words_at(pdf)
    name = next((x, y) for text, x, y in runs if text.startswith("Anna Muster"))
    # DIN 5008 form B window: 20-105 mm from the left, 45-90 mm from the top,
    # the recipient below the 17.7 mm return-address and note zone.
    assert 20 <= name[0] <= 105 and 45 + 12.7 <= name[1] <= 90
    sender = next((x, y) for text, x, y in runs if text.startswith("Stadt Musterstadt"))
    assert 45 <= sender[1] <= 45 + 5
    text = page.extract_text()
    for expected in ("Ihr Reisepass liegt zur Abholung bereit", "K7M2-9QXD-45",
                     "16.12.2026", "Rathaus, Markt 1", "täglich 6–22 Uhr", "Bitte mitbringen"):
        assert expected in text


def letter_in(language: str, **changes) -> bytes:
    return render_letter(LetterContent(**{**CONTENT.__dict__, "language": language, **changes}),
                         LetterSettings())


def text_of(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_an_unknown_language_code_gets_the_english_letter():
    assert letter_language("fr") == "en"
    text = text_of(letter_in("fr"))
    assert "Your passport is ready for collection" in text and "Please bring" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_letter_in_each_language_has_its_heading_code_and_a_readable_qr(language):
    pdf = letter_in(language)
    # Arabic is printed in display order and joined forms; pypdf reads right-to-left
    # runs back in logical order, and NFKC turns the joined forms into letters,
    # so a heading left unshaped or unreordered would not match.
    text = unicodedata.normalize("NFKC", text_of(pdf))
    heading = TEXTS[language]["subject"].format(kind=KINDS[language]["passport"])
    assert heading in text
    assert "K7M2-9QXD-45" in text
    assert qr_of_letter(pdf) == "PBX1:K7M29QXD45"
    if language != "de":  # the office's German heading beneath the translated one
        assert "Ihr Reisepass liegt zur Abholung bereit" in text
    assert "Vorgang: PO-ABCDEFGH" in text  # the information block stays German
    # The longest letter (no deadline yet, the PIN-letter paragraph) still fits one sheet.
    longest = letter_in(language, kind="residence_permit", deadline=None,
                        requires_pin_letter=True)
    assert len(pypdf.PdfReader(io.BytesIO(longest)).pages) == 1


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_no_language_falls_back_to_english(language):
    assert letter_language(language) == language
    assert set(TEXTS[language]) == set(TEXTS["en"]) and set(KINDS[language]) == set(KINDS["en"])
    untranslated = [key for key, value in TEXTS[language].items() if value == TEXTS["en"][key]]
    untranslated += [key for key, value in KINDS[language].items() if value == KINDS["en"][key]]
    assert untranslated == []
    text = text_of(letter_in(language, requires_pin_letter=True))
    for english in ("ready for collection", "Pickup code", "Please bring", "Kind regards"):
        assert english not in text


def test_arabic_reads_right_to_left_and_keeps_the_code_left_to_right():
    heading = TEXTS["ar"]["subject"].format(kind=KINDS["ar"]["passport"])
    shaped = shape_line(heading, "ar")
    # Display order is the logical order reversed, letters in their joined forms.
    assert unicodedata.normalize("NFKC", shaped[::-1]) == heading
    runs = words_at(letter_in("ar"))
    start = next(x for text, x, _ in runs if unicodedata.normalize("NFKC", text) == heading)
    width = 210 - 25 - 20
    assert start > 25 + width / 3  # right-aligned, not at the left margin
    assert next(x for text, x, _ in runs if text.startswith("Vorgang")) == pytest.approx(125, abs=2)
    assert "K7M2-9QXD-45" in [text for text, _, _ in runs]


def test_arabic_brackets_print_the_right_way_round():
    # The letter shapes through kiosk.ui.shaping, which mirrors brackets in
    # right-to-left runs: read left to right as printed, each one opens first.
    bracketed = [value for value in (*TEXTS["ar"].values(), *KINDS["ar"].values())
                 if set(value.replace("{kind}", "")) & set("()[]{}<>«»")]
    assert bracketed
    for value in bracketed:
        for line in wrap(value.format(kind=KINDS["ar"]["passport"]), "ar", 80, len):
            assert brackets_read_left_to_right(line), unicodedata.normalize("NFKC", line)
    # The full stop ends the sentence on the left, after the office's German name.
    assert ".(Bürgerbüro) " in shape_line(TEXTS["ar"]["where_unknown"], "ar")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_font_has_every_character_of_the_letter(language):
    for bold in (False, True):
        glyphs = TTFont(font_for(language, bold)).getBestCmap()
        for value in (*TEXTS[language].values(), *KINDS[language].values()):
            shaped = "".join(shape_line(line, language) for line in value.split("\n"))
            missing = {char for char in shaped if ord(char) not in glyphs and not char.isspace()}
            assert not missing, (language, value, missing)


def test_opening_hours_missing_in_a_language_show_the_offices_german_text():
    settings = LetterSettings.load_text(
        '[kiosks.kiosk-1]\naddress = "Rathaus"\nopening_hours.de = "täglich 6–22 Uhr"\n')
    text = text_of(render_letter(LetterContent(**{**CONTENT.__dict__, "language": "pl"}),
                                 settings))
    assert "täglich 6–22 Uhr" in text and "całą dobę" not in text


def test_a_pin_letter_reminder_only_where_the_document_has_one():
    content = LetterContent(**{**CONTENT.__dict__, "kind": "id_card",
                               "requires_pin_letter": True})
    text = pypdf.PdfReader(io.BytesIO(render_letter(content, LetterSettings()))
                           ).pages[0].extract_text()
    assert "PIN-Brief" in text


def test_unreadable_settings_are_named(tmp_path):
    path = tmp_path / "letter.toml"
    path.write_text("sender = [")
    with pytest.raises(ValueError, match="cannot read the letter settings"):
        LetterSettings.load(path)


@pytest.mark.integration
def test_the_console_prints_the_letter_in_the_language_chosen_for_the_order(console):
    client = console.client("clara")
    response, _ = create(client, reference="BB-AR-1", language="ar")
    assert response.status_code == 200, response.text
    pdf = client.get("/orders/BB-AR-1/letter").content
    text = unicodedata.normalize("NFKC", text_of(pdf))
    assert TEXTS["ar"]["subject"].format(kind=KINDS["ar"]["id_card"]) in text
    assert qr_of_letter(pdf).startswith("PBX1:")
