"""The limits themselves: card UIDs of 1 and 20 bytes, inputs of exactly the maximum
length, PINs."""

from __future__ import annotations

import pytest

from common import credentials
from common.credentials import (
    MAX_INPUT_LENGTH,
    CredentialFormatError,
    normalize_card_uid,
    normalize_code,
    parse_code_input,
    parse_qr_payload,
    validate_pin,
)

CODE = "K7M29QXD45"


def test_the_limits_are_what_the_docs_say():
    assert MAX_INPUT_LENGTH == 64
    assert credentials.PIN_LENGTH == 6
    assert (credentials.CODE_RANDOM_CHARS, credentials.CODE_LENGTH) == (9, 10)
    assert credentials.CODE_ENTROPY_BITS == 45
    assert credentials.QR_PREFIX == "PBX1:"


def test_card_uid_of_one_byte():
    assert normalize_card_uid(b"\x04") == "04"
    assert normalize_card_uid(b"\x00") == "00"
    assert normalize_card_uid("04") == "04"


def test_card_uid_of_twenty_bytes_is_the_longest():
    assert normalize_card_uid(bytes(range(20))) == bytes(range(20)).hex().upper()
    assert normalize_card_uid("ab" * 20) == "AB" * 20
    with pytest.raises(CredentialFormatError, match="1 to 20 bytes"):
        normalize_card_uid(bytes(21))
    with pytest.raises(CredentialFormatError, match="1 to 20 bytes"):
        normalize_card_uid(b"")
    with pytest.raises(CredentialFormatError, match="hexadecimal"):
        normalize_card_uid("ab" * 20 + "a")


def test_card_uid_separators_only_count_after_removal():
    # 40 hex digits with colons in between are 59 characters, still one UID.
    assert normalize_card_uid(":".join(["ab"] * 20)) == "AB" * 20


@pytest.mark.parametrize("length", [MAX_INPUT_LENGTH, MAX_INPUT_LENGTH + 1])
def test_typed_code_at_the_input_limit(length):
    padded = CODE + " " * (length - len(CODE))
    if length <= MAX_INPUT_LENGTH:
        assert normalize_code(padded) == CODE
        assert parse_code_input(padded) == CODE
    else:
        with pytest.raises(CredentialFormatError, match="too long"):
            normalize_code(padded)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_qr_payload_of_exactly_the_maximum_length_is_parsed_not_refused_as_too_long(as_bytes):
    payload = "PBX1:" + CODE + "2" * (MAX_INPUT_LENGTH - 5 - len(CODE))
    assert len(payload) == MAX_INPUT_LENGTH
    raw = payload.encode() if as_bytes else payload
    with pytest.raises(CredentialFormatError) as caught:
        parse_qr_payload(raw)
    assert "too long" not in str(caught.value)  # looked at: wrong length of the code
    assert "characters" in str(caught.value)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_qr_payload_one_over_the_maximum_is_too_long(as_bytes):
    payload = "PBX1:" + CODE + "2" * (MAX_INPUT_LENGTH + 1 - 5 - len(CODE))
    raw = payload.encode() if as_bytes else payload
    with pytest.raises(CredentialFormatError, match="too long"):
        parse_qr_payload(raw)


def test_qr_version_and_scheme_errors_are_told_apart():
    with pytest.raises(CredentialFormatError, match="unsupported version"):
        parse_qr_payload("PBX2:" + CODE)
    with pytest.raises(CredentialFormatError, match="unsupported version"):
        parse_qr_payload("PBX12:" + CODE)
    with pytest.raises(CredentialFormatError, match="not a pickup code"):
        parse_qr_payload("PBY1:" + CODE)
    with pytest.raises(CredentialFormatError, match="not a pickup code"):
        parse_qr_payload("PBX12345:" + CODE)  # the colon comes too late for a version


@pytest.mark.parametrize("pin, ok", [("000000", True), ("999999", True), ("12345", False),
                                     ("1234567", False), ("١٢٣٤٥٦", False), ("12345a", False),
                                     ("", False)])
def test_pin_is_exactly_six_ascii_digits(pin, ok):
    if ok:
        assert validate_pin(pin) == pin
    else:
        with pytest.raises(CredentialFormatError, match="exactly 6 digits"):
            validate_pin(pin)


def test_generated_pins_are_six_digits():
    for _ in range(50):
        pin = credentials.generate_pin()
        assert len(pin) == 6 and pin.isdigit()


def test_a_colon_within_the_first_eight_characters_makes_a_payload():
    # "PBX" plus a colon at index 7 is a payload of another version ...
    with pytest.raises(CredentialFormatError, match="unsupported version"):
        parse_code_input("PBX1234:" + CODE)
    # ... at index 8 it is a typed code with stray characters.
    with pytest.raises(CredentialFormatError, match="character : cannot appear"):
        parse_code_input("PBX22345:" + CODE)


def test_only_the_pbx_scheme_is_called_another_version():
    for other in ("ABC1:", "AAA1:", "PBW1:", "PBY1:", "ZZZ1:"):
        with pytest.raises(CredentialFormatError, match="not a pickup code"):
            parse_qr_payload(other + CODE)
