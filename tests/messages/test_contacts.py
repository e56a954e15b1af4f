"""E-mail addresses and mobile numbers are checked before an order is made."""

from __future__ import annotations

import pytest

from registry.messages.contacts import (
    EMAIL, NONE, SMS, ContactError, parse_contact, validate_email, validate_mobile,
)


@pytest.mark.parametrize("address, expected", [
    ("anna@example.org", "anna@example.org"),
    ("Anna.Schmidt+box@Buergerbuero.Musterstadt.DE",
     "Anna.Schmidt+box@buergerbuero.musterstadt.de"),
    ("o'brien@xn--mnchen-3ya.de", "o'brien@xn--mnchen-3ya.de"),
])
def test_valid_email_addresses(address, expected):
    assert validate_email(address) == expected


@pytest.mark.parametrize("address, reason", [
    ("anna.example.org", "exactly one '@'"),
    ("anna@@example.org", "exactly one '@'"),
    ("an na@example.org", "before '@'"),
    ("anna..s@example.org", "before '@'"),
    ("@example.org", "before '@'"),
    ("anna@localhost", "not a valid host name"),
    ("anna@exa_mple.org", "not a valid host name"),
    ("anna@münchen.de", "xn--"),
    ("anna@10.0.0.1", "ends in a number"),
])
def test_invalid_email_addresses_name_the_fault(address, reason):
    with pytest.raises(ContactError, match=reason):
        validate_email(address)


@pytest.mark.parametrize("number, expected", [
    ("+49 151 23456789", "+4915123456789"),
    ("0151/234 567 89", "+4915123456789"),
    ("0049 (0)171-1234567".replace("(0)", ""), "+491711234567"),
    ("+90 532 123 45 67", "+905321234567"),
    ("+380 67 123 4567", "+380671234567"),
])
def test_valid_mobile_numbers_become_e164(number, expected):
    assert validate_mobile(number) == expected


@pytest.mark.parametrize("number, reason", [
    ("", "empty"),
    ("0151 CALL ME", "not a phone number"),
    ("151 2345678", "no country code"),
    ("+49 151", "8 to 15"),
    ("+49 1511 2345 6789 01", "8 to 15"),
    ("030 1234567", "not a German mobile number"),
])
def test_invalid_mobile_numbers_name_the_fault(number, reason):
    with pytest.raises(ContactError, match=reason):
        validate_mobile(number)


def test_contact_field_with_language():
    assert parse_contact("anna@example.org;lang=tr").language == "tr"
    assert parse_contact("anna@example.org").channel == EMAIL
    assert parse_contact("+49 151 23456789; lang=uk").channel == SMS
    assert parse_contact("").channel == NONE
    with pytest.raises(ContactError, match="lang=XX"):
        parse_contact("anna@example.org;lang=fr")
    with pytest.raises(ContactError, match="no address"):
        parse_contact(";lang=de")
