"""The citizens' QR codes, read back from the registry's notification folder.

On a developer machine the embedded registry's :class:`DirectoryNotifier`
writes two files per deposited order: ``<reference>.txt`` (the message,
German + English) and ``<reference>.png`` (the QR code). The simulator panel
lists them so a developer can "hold a citizen's phone" up to the simulated
camera without copying codes by hand.

Where the data sits in the text notice (see ``render_message``)::

    Vorgang / Reference: R-2025-000123
    ...
    Pickup code: K7M2-9QXD-45

The QR payload is not written out in the text; it is the pickup code in the
``PBX1:`` scheme (``common.credentials.qr_payload``), which is exactly
what the PNG encodes. Rebuilding it from the text is cheap, needs no QR
decoder in the UI, and goes through the same check-character validation as
a typed code, so a garbled notice is noticed here rather than at the kiosk.

The notices carry the plaintext pickup code (never the PIN: the notices do
not contain it). Nothing read here is ever logged; log messages name the
file and what is wrong with it, not its contents.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from common.credentials import QR_PREFIX, CredentialFormatError, normalize_code, qr_payload

log = logging.getLogger(__name__)

REFERENCE_LABEL = "Reference:"
CODE_LABEL = "Pickup code:"
# Notices are a few hundred bytes; anything far bigger is not one of ours.
MAX_NOTICE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Notice:
    """One order's notice: enough to show its QR code to the camera."""

    reference: str
    payload: str  # what the QR code encodes, e.g. "PBX1:K7M29QXD45"
    path: Path  # the text notice
    modified: float  # its mtime, for "newest first"

    @property
    def masked_payload(self) -> str:
        """Enough to tell notices apart on screen, e.g. ``PBX1:K7M2…``."""
        return self.payload[: len(QR_PREFIX) + 4] + "…"

    @property
    def qr_image(self) -> Path:
        return self.path.with_suffix(".png")


class NoticeError(ValueError):
    """A notice file that cannot be read; the message names file and problem."""


def parse_notice(path: Path) -> Notice:
    """Reads one ``<reference>.txt`` notice; raises NoticeError if it is broken."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_NOTICE_BYTES:
            raise NoticeError(f"{path.name}: {stat.st_size} bytes is too big for a notice")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NoticeError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise NoticeError(f"{path.name}: not UTF-8 text") from None

    reference = _value_after(text, REFERENCE_LABEL)
    if not reference:
        raise NoticeError(f"{path.name}: no '{REFERENCE_LABEL}' line")
    code = _value_after(text, CODE_LABEL)
    if not code:
        raise NoticeError(f"{path.name}: no '{CODE_LABEL}' line")
    try:
        canonical = normalize_code(code)
    except CredentialFormatError as exc:
        # The message says what is wrong without repeating the code.
        raise NoticeError(f"{path.name}: the pickup code is not valid ({exc})") from None
    return Notice(reference, qr_payload(canonical), path, stat.st_mtime)


def read_notices(directory: Path) -> list[Notice]:
    """All readable notices in `directory`, newest first (see NoticeFolder)."""
    return NoticeFolder(directory).notices()


class NoticeFolder:
    """Reads a notification folder, re-parsing only files that changed.

    A missing folder is simply empty (nothing was deposited yet). A broken
    file is skipped with a warning, so one bad file does not hide the rest.
    The panel refreshes once a second; the cache keeps that from re-reading
    every notice and repeating the warning for every broken one.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, tuple[tuple[int, int], Notice | None]] = {}

    def notices(self) -> list[Notice]:
        try:
            entries = [e for e in os.scandir(self.directory) if e.name.endswith(".txt")]
        except FileNotFoundError:
            entries = []
        except OSError as exc:
            log.warning("cannot list the notification folder %s: %s", self.directory,
                        exc.strerror or exc)
            entries = []
        cache: dict[str, tuple[tuple[int, int], Notice | None]] = {}
        for entry in entries:
            try:
                stat = entry.stat()
            except OSError:
                continue  # deleted between listing and stat
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(entry.name)
            if cached is not None and cached[0] == stamp:
                cache[entry.name] = cached
                continue
            try:
                notice: Notice | None = parse_notice(Path(entry.path))
            except NoticeError as exc:
                log.warning("skipping notice %s", exc)
                notice = None  # remembered, so the warning comes once per change
            cache[entry.name] = (stamp, notice)
        self._cache = cache
        found = [notice for _, notice in cache.values() if notice is not None]
        found.sort(key=lambda n: (n.modified, n.reference), reverse=True)
        return found


def _value_after(text: str, label: str) -> str:
    for line in text.splitlines():
        _, found, value = line.partition(label)
        if found:
            return value.strip()
    return ""
