"""Reading QR payloads back from a real DirectoryNotifier folder (no window)."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from common.credentials import generate_code, group_code, qr_payload
from registry.notifier import DirectoryNotifier, ReadyNotice
from kiosk.ui.notices import NoticeFolder, parse_notice, read_notices


def write_notice(folder: Path, reference: str, *, age: float = 0.0) -> str:
    """Lets the real notifier write an order's notice; returns the QR payload."""
    code = generate_code()
    notice = ReadyNotice(
        reference=reference,
        pickup_code=group_code(code),
        qr_payload=qr_payload(code),
        pickup_deadline=datetime.now(timezone.utc) + timedelta(days=7),
        office_contact="Bürgerbüro, 0800 123 456",
        contact="citizen@example.org",
        requires_pin_letter_confirmation=True,
    )
    DirectoryNotifier(folder).order_ready(notice)
    if age:
        stamp = (folder / f"{reference}.txt").stat().st_mtime - age
        os.utime(folder / f"{reference}.txt", (stamp, stamp))
    return notice.qr_payload


def test_payload_and_reference_come_from_the_notice(tmp_path: Path) -> None:
    payload = write_notice(tmp_path, "R-2025-000001")

    [notice] = read_notices(tmp_path)

    assert notice.reference == "R-2025-000001"
    assert notice.payload == payload
    assert notice.masked_payload == payload[:9] + "…"
    assert notice.qr_image.exists()


def test_payload_matches_what_the_png_encodes(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2", reason="opencv (tools/setup --tests) decodes the QR PNG")
    write_notice(tmp_path, "R-2025-000002")
    [notice] = read_notices(tmp_path)

    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.imread(str(notice.qr_image)))

    assert decoded == notice.payload


def test_newest_first(tmp_path: Path) -> None:
    write_notice(tmp_path, "R-OLD", age=300)
    write_notice(tmp_path, "R-NEW")
    write_notice(tmp_path, "R-MIDDLE", age=60)

    assert [n.reference for n in read_notices(tmp_path)] == ["R-NEW", "R-MIDDLE", "R-OLD"]


def test_broken_files_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    write_notice(tmp_path, "R-GOOD")
    (tmp_path / "R-NOCODE.txt").write_text("Vorgang / Reference: R-NOCODE\n", encoding="utf-8")
    (tmp_path / "R-BINARY.txt").write_bytes(b"\xff\xfe\x00garbage")
    # One character changed: the check character catches it.
    good = (tmp_path / "R-GOOD.txt").read_text(encoding="utf-8")
    line = next(l for l in good.splitlines() if l.startswith("Pickup code:"))
    code = line.split(":", 1)[1].strip()
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    (tmp_path / "R-TYPO.txt").write_text(good.replace(code, typo).replace("R-GOOD", "R-TYPO"),
                                         encoding="utf-8")
    (tmp_path / "half-written.txt.tmp").write_text("Vorgang", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="kiosk.ui.notices"):
        notices = read_notices(tmp_path)

    assert [n.reference for n in notices] == ["R-GOOD"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("R-NOCODE.txt" in m and "Pickup code" in m for m in messages)
    assert any("R-BINARY.txt" in m and "UTF-8" in m for m in messages)
    assert any("R-TYPO.txt" in m and "not valid" in m for m in messages)
    # The code itself never reaches the log, not even the broken one.
    assert not any(code in m or typo in m for m in messages)


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    assert read_notices(tmp_path / "not-yet-created") == []


def test_folder_warns_once_per_broken_file_and_sees_new_ones(tmp_path: Path, caplog) -> None:
    folder = NoticeFolder(tmp_path)
    (tmp_path / "R-BAD.txt").write_text("nothing useful", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="kiosk.ui.notices"):
        assert folder.notices() == []
        assert folder.notices() == []
    assert len([r for r in caplog.records if "R-BAD.txt" in r.getMessage()]) == 1

    payload = write_notice(tmp_path, "R-LATER")
    assert [n.payload for n in folder.notices()] == [payload]


def test_parse_notice_reads_one_file(tmp_path: Path) -> None:
    payload = write_notice(tmp_path, "R-ONE")
    assert parse_notice(tmp_path / "R-ONE.txt").payload == payload
