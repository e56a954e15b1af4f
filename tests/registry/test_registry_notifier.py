from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from registry.notifier import (
    DirectoryNotifier,
    ReadyNotice,
    load_notifier,
    render_message,
)


def notice(**changes) -> ReadyNotice:
    fields = dict(
        reference="PO-ABCDEFGH",
        pickup_code="K7M2-9QXD-45",
        qr_payload="PBX1:K7M29QXD45",
        pickup_deadline=datetime(2031, 3, 14, 11, 0, tzinfo=timezone.utc),
        office_contact="Bürgerbüro, Tel. 0123 456",
        contact="citizen@example.org",
    )
    fields.update(changes)
    return ReadyNotice(**fields)


def test_message_has_both_languages_code_deadline_and_contact():
    text = render_message(notice(requires_pin_letter_confirmation=True))
    assert "Ihr Dokument liegt zur Abholung" in text
    assert "Your document is ready for pickup" in text
    assert text.count("K7M2-9QXD-45") == 2
    assert "14.03.2031" in text and "2031-03-14" in text
    assert text.count("Bürgerbüro, Tel. 0123 456") == 2
    assert "PIN-Brief" in text and "PIN letter" in text


def test_message_without_pin_letter_or_deadline():
    text = render_message(notice(pickup_deadline=None, contact=""))
    assert "PIN-Brief" not in text and "PIN letter" not in text
    assert "spätestens" not in text and "collect it by" not in text
    assert "An / To" not in text


def test_directory_notifier_writes_files_and_never_logs_the_code(tmp_path, caplog):
    notifier = DirectoryNotifier(tmp_path / "out")
    with caplog.at_level(logging.INFO, logger="registry"):
        notifier.order_ready(notice())
    text_path = tmp_path / "out" / "PO-ABCDEFGH.txt"
    png_path = tmp_path / "out" / "PO-ABCDEFGH.png"
    assert "K7M2-9QXD-45" in text_path.read_text(encoding="utf-8")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [png_path.name, text_path.name]

    (record,) = caplog.records
    message = record.getMessage()
    assert "PO-ABCDEFGH" in message and str(text_path) in message
    # Not even a part of the code: 4 of 10 symbols would be 20 of its 45 bits.
    for secret in ("K7M2", "9QXD", "K7M29QXD45"):
        assert secret not in caplog.text
    assert text_path.stat().st_mode & 0o077 == 0 and png_path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "out").stat().st_mode & 0o077 == 0
    assert notifier.forget("PO-ABCDEFGH") and not list((tmp_path / "out").iterdir())


def test_load_notifier_default_and_unknown(tmp_path):
    assert isinstance(load_notifier(directory=tmp_path), DirectoryNotifier)
    with pytest.raises(LookupError, match="no notifier named 'pigeon'"):
        load_notifier("pigeon")


def test_directory_notifier_does_not_write_the_same_notice_twice(tmp_path):
    # The registry sends a notice again when it died before recording it
    # (tests/integration/test_registry_crash.py): a folder robot must see one.
    notifier = DirectoryNotifier(tmp_path)
    notifier.order_ready(notice())
    text = tmp_path / f"{notice().reference}.txt"
    first = text.stat().st_ino
    notifier.order_ready(notice())
    assert text.stat().st_ino == first
    notifier.order_ready(notice(pickup_code="Z7M2-9QXD-45"))  # another notice: written
    assert text.stat().st_ino != first and "Z7M2-9QXD-45" in text.read_text(encoding="utf-8")
