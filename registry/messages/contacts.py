"""Where a citizen's messages go: pure checks of e-mail addresses and mobile numbers.

An order's ``contact`` field holds one address, optionally followed by the
citizen's language as a parameter, e.g. ``anna@example.org;lang=tr`` or
``+49 151 2345678;lang=uk``. Empty means "no contact: letter only".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LANGUAGES = ("de", "en", "tr", "uk", "ru", "pl", "ar")
DEFAULT_LANGUAGE = "de"
MAX_CONTACT_LENGTH = 320

EMAIL = "email"
SMS = "sms"
NONE = "none"

# Deliberately stricter than RFC 5322: no quoted local parts, no comments, no
# IP literals. An address that needs them is better typed in by a clerk than
# guessed at; what passes here is what every SMTP server accepts.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# E.164: a country code and at most 15 digits in all.
_MOBILE_CHARS = re.compile(r"[0-9 ()/.-]+")


class ContactError(ValueError):
    """A contact that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Contact:
    channel: str  # EMAIL, SMS or NONE
    address: str  # normalised: lower-case domain, or E.164 "+491512345678"
    language: str = DEFAULT_LANGUAGE


def validate_email(address: str) -> str:
    """The address with its domain in lower case, or ContactError naming the fault."""
    if address.count("@") != 1:
        raise ContactError(f"{address!r} is not an e-mail address: it needs exactly one '@'")
    local, domain = address.split("@")
    if not local or len(local) > 64 or not _LOCAL.fullmatch(local):
        raise ContactError(
            f"the part before '@' in {address!r} is empty, longer than 64 characters or has"
            " characters mail servers refuse (spaces, quotes, two dots in a row)"
        )
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ContactError(
            f"the domain in {address!r} is not a valid host name (e.g. example.org);"
            " international domains must be given in their xn-- form"
        )
    if labels[-1].isdigit():
        raise ContactError(f"the domain in {address!r} ends in a number; use a host name")
    return f"{local}@{domain.lower()}"


def validate_mobile(number: str, *, default_country: str = "49") -> str:
    """The number in E.164 form (``+491512345678``), or ContactError.

    National numbers (``0151 ...``) get ``default_country``; ``00`` is read
    as the international prefix. German mobile numbers start with 15, 16 or
    17 after the country code; other countries are only checked for length.
    """
    text = number.strip()
    if not text:
        raise ContactError("the mobile number is empty")
    plus = text.startswith("+")
    body = text[1:] if plus else text
    if not _MOBILE_CHARS.fullmatch(body):
        raise ContactError(
            f"{number!r} is not a phone number: only digits, spaces, '+', '-', '/', '(', ')'"
        )
    digits = re.sub(r"[^0-9]", "", body)
    if plus:
        e164 = digits
    elif digits.startswith("00"):
        e164 = digits[2:]
    elif digits.startswith("0"):
        e164 = default_country + digits[1:]
    else:
        raise ContactError(
            f"{number!r} has no country code: write it as +49 151 ... or 0151 ..."
        )
    if not 8 <= len(e164) <= 15 or e164.startswith("0"):
        raise ContactError(f"{number!r} has {len(e164)} digits with its country code; E.164"
                           " numbers have 8 to 15")
    if e164.startswith("49") and e164[2:4] not in ("15", "16", "17"):
        raise ContactError(
            f"{number!r} is not a German mobile number (they start with 015, 016 or 017):"
            " SMS cannot reach a landline"
        )
    return "+" + e164


def parse_contact(text: str) -> Contact:
    """The order's contact field as a :class:`Contact`; ContactError if unusable."""
    if len(text) > MAX_CONTACT_LENGTH:
        raise ContactError(f"is longer than {MAX_CONTACT_LENGTH} characters")
    address, _, params = text.strip().partition(";")
    address = address.strip()
    language = DEFAULT_LANGUAGE
    if params:
        key, _, value = params.strip().partition("=")
        if key.strip() != "lang" or value.strip() not in LANGUAGES:
            raise ContactError(
                f"unknown parameter {params.strip()!r}: write ';lang=XX' with XX one of "
                + ", ".join(LANGUAGES)
            )
        language = value.strip()
    if not address:
        if params:
            raise ContactError("a language was given but no address or number")
        return Contact(NONE, "", language)
    if "@" in address:
        return Contact(EMAIL, validate_email(address), language)
    return Contact(SMS, validate_mobile(address), language)
