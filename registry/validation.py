"""Checks of request fields; each failure names the field and what to do."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from registry.errors import invalid_argument

# Identifiers end up in file names (notices), logs and the kiosk's journal,
# so they are restricted to characters that are safe everywhere.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_IDENTIFIER_LENGTH = 64
MAX_REQUEST_ID_LENGTH = 128
MAX_TEXT_LENGTH = 500


def identifier(field: str, value: str, *, required: bool = True) -> str:
    if not value:
        if required:
            raise invalid_argument(field, "is required")
        return value
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise invalid_argument(
            field, f"is {len(value)} characters long; at most {MAX_IDENTIFIER_LENGTH} are allowed"
        )
    if not _IDENTIFIER.fullmatch(value):
        raise invalid_argument(
            field,
            f"{value!r} may only contain letters, digits, '.', '_' and '-',"
            " and must start with a letter or digit",
        )
    return value


def request_id(value: str) -> str:
    if len(value) > MAX_REQUEST_ID_LENGTH:
        raise invalid_argument("request_id", f"is longer than {MAX_REQUEST_ID_LENGTH} characters")
    return value


def text(field: str, value: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    if len(value) > max_length:
        raise invalid_argument(field, f"is longer than {max_length} characters")
    return value


def page_size(value: int, *, default: int, maximum: int) -> int:
    return default if value == 0 else min(value, maximum)


def contact(value: str) -> str:
    """An e-mail address or mobile number, optionally ';lang=xx' (registry/messages)."""
    from registry.messages.contacts import ContactError, parse_contact

    try:
        parse_contact(value)
    except ContactError as error:
        raise invalid_argument("contact", str(error)) from None
    return value


MAX_DEADLINE_AHEAD = timedelta(days=90)


def new_deadline(current: datetime | None, wanted: datetime | None, now: datetime) -> datetime:
    """A pickup deadline the office may set: later than the current one (it only
    ever extends; an earlier one would surprise a citizen who was told a date),
    in the future, and at most 90 days ahead (the box is no storage)."""
    if wanted is None:
        raise invalid_argument("pickup_deadline", "is required")
    if wanted <= now:
        raise invalid_argument("pickup_deadline", "is in the past; give a later moment")
    if current is not None and wanted <= current:
        raise invalid_argument(
            "pickup_deadline", f"is not later than the current deadline {current.isoformat()};"
            " a deadline can only be extended")
    if wanted > now + MAX_DEADLINE_AHEAD:
        raise invalid_argument("pickup_deadline", "is more than 90 days ahead")
    return wanted
