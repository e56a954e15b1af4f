"""Sync cursors: what a kiosk has seen, and whether it is inside a full sync.

A cursor is the last change sequence value a kiosk has seen. An empty cursor
(or "0") asks for a full sync: the kiosk has seen nothing, so of the changes
before the sync began (``snapshot``) it only needs orders still actionable,
not the registry's history. A full sync that takes several pages carries its
snapshot along as ``<after>f<snapshot>``; changes after the snapshot are all
sent, so an order that ends during the pages still reaches the kiosk. Once
``after`` passes the snapshot the cursor is a plain number again.
Kiosks treat cursors as opaque strings.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CURSOR_LENGTH = 41  # two 20-digit numbers and the separator


@dataclass(frozen=True)
class Cursor:
    after: int
    # The change sequence where a full sync began; None for an incremental one.
    # A full sync that is just starting has ``full`` set and no snapshot yet.
    snapshot: int | None = None
    full: bool = False


def parse(text: str) -> Cursor:
    """Raises ValueError for anything this registry did not issue."""
    if text in ("", "0"):
        return Cursor(after=0, full=True)
    after, separator, snapshot = text.partition("f")
    if (len(text) > MAX_CURSOR_LENGTH or not _number(after)
            or (separator and not _number(snapshot))):
        raise ValueError(text)
    if separator:
        return Cursor(after=int(after), snapshot=int(snapshot), full=True)
    return Cursor(after=int(after))


def _number(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def next_cursor(after: int, snapshot: int | None) -> str:
    """The cursor to hand out after a page that ended at ``after``."""
    if snapshot is None or after >= snapshot:
        return str(after)
    return f"{after}f{snapshot}"
