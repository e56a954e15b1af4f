"""Delivery status of an order's messages, for `kiosk-registry order get`.

Read straight from the queue file (read-only; a missing file means the
messages notifier never ran here), so it works without an API change.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from registry.messages.queue import Message, delivery_lines

QUEUE_ENV = "PICKUPBOX_MESSAGES_QUEUE"


def delivery_status(reference: str, queue_path: str | Path) -> list[dict[str, Any]] | None:
    """One dict per message of the order (no message text or code), or None
    when there is no queue file."""
    path = Path(queue_path)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT * FROM messages WHERE order_reference = ? ORDER BY seq", (reference,)
        ).fetchall()
    finally:
        conn.close()
    messages = [Message.from_row(r) for r in rows]
    return [
        {
            "kind": m.kind,
            "channel": m.channel,
            "status": m.status,
            "attempts": m.attempts,
            "error": m.last_error,
            "summary": line,
        }
        for m, line in zip(messages, delivery_lines(messages))
    ]
