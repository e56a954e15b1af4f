"""What every delivery channel (SMTP, SMS gateway, webhook) shares."""

from __future__ import annotations

from typing import Protocol

from registry.messages.queue import Message


class DeliveryError(Exception):
    """A message that did not go out. ``permanent``: retrying cannot help
    (the server refused it for good); ``bounced``: the recipient does not
    exist. The text is logged and stored, so it never holds message text,
    code or (for SMS) the number."""

    def __init__(self, reason: str, *, permanent: bool = False, bounced: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent or bounced
        self.bounced = bounced


class Channel(Protocol):
    # None: retry until it works (webhooks); else attempts before "failed".
    max_attempts: int | None

    def send(self, message: Message) -> str:
        """Hands the message over; returns the provider's id ('' if none)
        or raises DeliveryError."""

    def close(self) -> None:
        """Drops an open connection (the worker calls it when idle)."""
