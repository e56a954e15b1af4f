"""The message catalogs: complete in every language, placeholders intact,
broken catalogs refused with file and line, SMS within two segments."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from registry.messages import texts
from registry.messages.contacts import LANGUAGES
from registry.messages.segments import count_segments
from registry.messages.templates import (
    BUNDLED, Catalogs, TemplateError, check_entries, placeholders, read_po, render_email,
    render_sms,
)

TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
# Long but realistic values: the SMS limit must hold for them.
VALUES = {
    "reference": "PO-K7M29QXD",
    "document_kind": "residence_permit",
    "deadline": "31.12.2026 18:00",
    "office_name": "Bürgerbüro Musterstadt",
    "office_address": "Rathausplatz 1, 12345 Musterstadt",
    "office_hours": "Mo–Fr 8–18 Uhr",
    "office_phone": "0123 456789-0",
    "kiosk": "rathaus-1",
    "compartment": "12",
    "time": "02.12.2026 14:05",
    "code": "K7M2-9QXD-45",
    "qr_payload": "PBX1:K7M29QXD45",
    "pin_letter": "1",
}


def catalog_path(lang: str) -> Path:
    return BUNDLED / lang / "LC_MESSAGES" / "messages.po"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_text_translated_with_its_placeholders(lang):
    entries = read_po(catalog_path(lang))
    check_entries(entries)  # raises on a placeholder mismatch
    assert sorted(entries) == sorted(texts.all_msgids()), "catalog and texts.py differ"
    for msgid, entry in entries.items():
        assert entry.msgstr and not entry.fuzzy, f"{lang}:{entry.line} untranslated: {msgid!r}"
        words = re.sub(r"\{[a-z_]+\}", "", msgid)
        if re.search(r"[A-Za-z]{3}", words) and msgid not in ("passport",):
            assert entry.msgstr != msgid, f"{lang}:{entry.line} left in English: {msgid!r}"
        assert placeholders(entry.msgstr) == placeholders(msgid)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", texts.KINDS)
def test_every_kind_renders_in_every_language(catalogs, lang, kind):
    rendered = render_email(catalogs, kind, lang, VALUES, qr_cid="qr@test")
    assert "{" not in rendered.text and "{" not in rendered.html
    if lang != "de":
        # German alongside the citizen's language.
        german = render_email(catalogs, kind, "de", VALUES)
        assert german.text.split("\n\n")[0] in rendered.text
        assert rendered.subject.endswith(german.subject)
    if kind in texts.WITH_CODE:
        assert VALUES["code"] in rendered.text and VALUES["code"] in rendered.html
        assert 'src="cid:qr@test"' in rendered.html
    else:
        assert VALUES["code"] not in rendered.text and "cid:" not in rendered.html
    if kind == texts.COLLECTED:
        for value in ("reference", "time", "kiosk", "compartment"):
            assert VALUES[value] in rendered.text
    if lang == "ar":
        assert 'dir="rtl"' in rendered.html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", texts.KINDS)
def test_sms_fits_two_segments(catalogs, lang, kind):
    text = render_sms(catalogs, kind, lang, VALUES)
    assert "{" not in text
    count = count_segments(text)
    assert count.segments <= 2, f"{lang} {kind}: {count} for {text!r}"
    if kind in texts.WITH_CODE:
        assert VALUES["code"] in text


def test_html_escapes_office_details(catalogs):
    values = {**VALUES, "office_name": "<script>alert(1)</script>"}
    rendered = render_email(catalogs, texts.READY, "de", values)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def _broken_copy(tmp_path: Path, lang: str, old: str, new: str) -> tuple[Path, int]:
    folder = tmp_path / "templates"
    target = folder / lang / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    shutil.copy(catalog_path(lang), target)
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(i for i, l in enumerate(target.read_text().splitlines(), 1) if new in l)
    return folder, line


@pytest.mark.parametrize("old, new, reason", [
    ('msgstr "Abholcode: {code}"', 'msgstr "Abholcode: {code"', "broken placeholder"),
    ('msgstr "Abholcode: {code}"', 'msgstr "Abholcode: {cod}"', "missing {code} and unknown {cod}"),
    ('msgstr "Abholcode: {code}"', 'msgstr "Abholcode"', "missing {code}"),
    ('msgstr "Abholcode: {code}"', 'msgstr "Abholcode: {code:>20}"', "plain name"),
])
def test_broken_placeholder_refused_naming_file_and_line(tmp_path, old, new, reason):
    folder, line = _broken_copy(tmp_path, "de", old, new)
    with pytest.raises(TemplateError) as caught:
        Catalogs(folder)
    message = str(caught.value)
    assert reason in message
    # The msgid line of the entry: the line before the msgstr.
    assert f"{folder}/de/LC_MESSAGES/messages.po:{line - 1}:" in message


def test_unreadable_po_line_refused(tmp_path):
    folder, line = _broken_copy(tmp_path, "tr", 'msgstr "Pasaport"', 'msgstr Pasaport')
    with pytest.raises(TemplateError, match=rf"messages.po:{line}: expected a quoted string"):
        Catalogs(folder)


def test_office_override_replaces_one_text(tmp_path, catalogs):
    folder = tmp_path / "templates" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        'msgid "Pickup code: {code}"\nmsgstr "Ihr persönlicher Abholcode: {code}"\n',
        encoding="utf-8",
    )
    office = Catalogs(tmp_path / "templates")
    text = render_email(office, texts.READY, "de", VALUES).text
    assert "Ihr persönlicher Abholcode: K7M2-9QXD-45" in text
    assert "Abholung bis spätestens" in text  # the rest from the bundled catalog
