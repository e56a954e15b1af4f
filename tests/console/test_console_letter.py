"""The pickup letter's layout and texts (DIN 5008 form B) and its settings file."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pypdf
import pytest

from registry.console.letter import LetterContent, LetterSettings, render_letter

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


def test_english_letters_and_other_languages_fall_back_to_english():
    for language in ("en", "tr"):
        content = LetterContent(**{**CONTENT.__dict__, "language": language})
        text = pypdf.PdfReader(io.BytesIO(render_letter(content, LetterSettings()))
                               ).pages[0].extract_text()
        assert "Your passport is ready for collection" in text and "Please bring" in text


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
