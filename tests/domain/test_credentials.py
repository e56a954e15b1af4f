"""Pickup codes, QR payloads, PINs, verifiers and card UIDs."""

from __future__ import annotations

import base64
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain_kit import PARAMS, SALT, make_code
from common import credentials
from common.credentials import (
    ALPHABET,
    CODE_LENGTH,
    CredentialFormatError,
    check_verifier,
    generate_code,
    group_code,
    make_verifier,
    normalize_card_uid,
    normalize_code,
    parse_code_input,
    parse_qr_payload,
    qr_payload,
    validate_pin,
)

# A fixed, valid code keeps failures reproducible.
CODE = make_code("K7M29QXD4")


def is_valid(raw: str) -> bool:
    try:
        normalize_code(raw)
        return True
    except CredentialFormatError:
        return False


def sample_codes(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    bodies = ["".join(rng.choice(ALPHABET) for _ in range(9)) for _ in range(count)]
    return [make_code(b) for b in bodies]


# ------------------------------------------------------------ code format

def test_entropy_is_documented_and_sufficient():
    assert credentials.CODE_ENTROPY_BITS >= 40
    assert len(ALPHABET) == 32 and credentials.CODE_ENTROPY_BITS == 5 * credentials.CODE_RANDOM_CHARS


def test_alphabet_has_no_look_alikes():
    for ch in "01IO":
        assert ch not in ALPHABET
    assert set(ALPHABET) <= set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")


def test_generated_codes_have_format_and_valid_check_character():
    codes = {generate_code() for _ in range(500)}
    assert len(codes) == 500, "codes must not repeat"
    for code in codes:
        assert len(code) == CODE_LENGTH == 10
        assert set(code) <= set(ALPHABET)
        assert normalize_code(code) == code
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", group_code(code))


def test_generated_codes_use_the_whole_alphabet_in_every_random_position():
    codes = [generate_code() for _ in range(2000)]
    for position in range(credentials.CODE_RANDOM_CHARS):
        seen = {c[position] for c in codes}
        assert len(seen) >= 28, f"position {position} only uses {sorted(seen)}"


@pytest.mark.parametrize("code", sample_codes(6, seed=7) + [CODE])
def test_check_character_catches_every_single_substitution(code):
    for position in range(CODE_LENGTH):
        for ch in ALPHABET:
            if ch == code[position]:
                continue
            typo = code[:position] + ch + code[position + 1:]
            with pytest.raises(CredentialFormatError, match="typo"):
                normalize_code(typo)


def adjacent_swaps(code: str):
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            yield i, code[:i] + code[i + 1] + code[i] + code[i + 2:]


def test_check_character_catches_every_swap_of_any_two_neighbouring_symbols():
    """Exhaustive over all symbol pairs at every position, check symbol included
    (Damm over GF(32); plain Luhn mod 32 would miss 2 <-> Z)."""
    for a in ALPHABET:
        for b in ALPHABET:
            if a == b:
                continue
            for i in range(CODE_LENGTH - 1):
                body = ("3456789AB"[:i] + a + b + "3456789AB")[: credentials.CODE_RANDOM_CHARS]
                code = make_code(body)
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                if swapped != code:
                    assert not is_valid(swapped), f"swap at {i} of {code} gives the valid code {swapped}"


@pytest.mark.parametrize("round_", range(5))
def test_check_character_catches_every_adjacent_swap_of_generated_codes(round_):
    for _ in range(200):
        code = generate_code()
        for i, swapped in adjacent_swaps(code):
            assert not is_valid(swapped), f"swap at {i} of {code} gives the valid code {swapped}"


# ------------------------------------------------------------ normalising

@pytest.mark.parametrize(
    "typed",
    [
        CODE,
        CODE.lower(),
        group_code(CODE),
        group_code(CODE).lower(),
        " ".join(group_code(CODE).split("-")),
        f"  {CODE[:3]} {CODE[3:]} ",
        "-".join(CODE),
        CODE[:5].lower() + CODE[5:],
    ],
)
def test_normalize_accepts_case_dashes_and_spaces(typed):
    assert normalize_code(typed) == CODE


@pytest.mark.parametrize(
    "raw, message",
    [
        (CODE[:-1], "has 10 characters, this one has 9"),
        (CODE + "A", "this one has 11"),
        ("", "this one has 0"),
        ("---", "this one has 0"),
        ("0" + CODE[1:], "character 0 cannot appear"),
        ("O" + CODE[1:], "character O cannot appear"),
        ("I" + CODE[1:], "character I cannot appear"),
        ("1" + CODE[1:], "character 1 cannot appear"),
        ("i" + CODE[1:], "character i cannot appear"),
        ("o" + CODE[1:], "character o cannot appear"),
        (CODE[:5] + "_" + CODE[6:], "character _ cannot appear"),
        (CODE[:5] + "\x00" + CODE[6:], r"character '\\x00' cannot appear"),
        (CODE[:5] + "\t" + CODE[6:], r"character '\\t' cannot appear"),
        (CODE[:5] + "\u200b" + CODE[5:], "cannot appear"),  # zero-width space
        ("A" * 65, "too long"),
        ("-" * 65, "too long"),
        ("K" * 10_000, "too long"),
    ],
)
def test_normalize_rejects_with_a_reason(raw, message):
    with pytest.raises(CredentialFormatError, match=message):
        normalize_code(raw)


def test_input_of_exactly_max_length_is_still_looked_at():
    padded = CODE + " " * (credentials.MAX_INPUT_LENGTH - len(CODE))
    assert len(padded) == credentials.MAX_INPUT_LENGTH
    assert normalize_code(padded) == CODE


@pytest.mark.parametrize("raw_prefix, real_prefix", [("ß", "SS"), ("ſ", "S"), ("ﬀ", "FF")])
def test_letters_that_upper_case_into_code_symbols_are_refused(raw_prefix, real_prefix):
    """'ß'.upper() is 'SS' and 'ſ'.upper() is 'S', yet neither is a code symbol."""
    real = make_code(real_prefix + CODE[len(real_prefix):9])
    assert normalize_code(real) == real
    with pytest.raises(CredentialFormatError, match=f"character {raw_prefix} cannot appear"):
        normalize_code(raw_prefix + real[len(real_prefix):])


@pytest.mark.parametrize("ch", ["ｋ", "Ｋ", "к", "Κ"])  # full-width, Cyrillic, Greek
def test_look_alike_letters_from_other_scripts_are_refused(ch):
    with pytest.raises(CredentialFormatError, match="cannot appear"):
        normalize_code(ch + CODE[1:])


# -------------------------------------------------------------------- QR

def test_qr_payload_round_trip():
    payload = qr_payload(CODE)
    assert payload == "PBX1:" + CODE
    assert parse_qr_payload(payload) == CODE
    assert parse_qr_payload(payload.encode("ascii")) == CODE
    assert parse_code_input(payload) == CODE
    assert parse_code_input(payload.encode()) == CODE


@given(st.text(alphabet=ALPHABET, min_size=9, max_size=9))
def test_qr_round_trip_for_any_code(body):
    code = make_code(body)
    assert parse_code_input(qr_payload(code)) == code
    assert parse_code_input(qr_payload(code).encode()) == code
    assert parse_code_input(group_code(code)) == code


@pytest.mark.parametrize(
    "payload, message",
    [
        ("PBX2:" + CODE, "unsupported version"),
        ("PBX9:" + CODE, "unsupported version"),
        ("PBX10:" + CODE, "unsupported version"),
        (b"PBX2:" + CODE.encode(), "unsupported version"),
        ("https://example.org/" + CODE, "not a pickup code"),
        ("XYZ1:" + CODE, "not a pickup code"),
        ("pbx1:" + CODE, "not a pickup code"),
        (CODE, "not a pickup code"),  # the QR path wants the prefix
        ("PBX1:" + CODE.lower(), "malformed"),
        ("PBX1:" + group_code(CODE), "malformed"),
        ("PBX1:" + CODE[:4] + " " + CODE[4:], "malformed"),
        ("PBX1:" + CODE[:-1], "this one has 9"),
        ("PBX1:" + CODE[:-1] + ("2" if CODE[-1] != "2" else "3"), "typo"),
        ("PBX1:" + "A" * 60, "too long"),
        (b"PBX1:" + b"A" * 60, "too long"),
        (b"PBX1:\xc3\x9f" + CODE.encode(), "binary data"),
        (b"\xff\xfe\x00\x01", "binary data"),
        ("PBX1:" + CODE[:5] + "\x00" + CODE[6:], "cannot appear"),
        ("", "not a pickup code"),
        (b"", "not a pickup code"),
    ],
)
def test_qr_payload_rejected_with_reason(payload, message):
    with pytest.raises(CredentialFormatError, match=message):
        parse_qr_payload(payload)


@pytest.mark.parametrize("raw", [b"\x80", b"PBX1:\xe2\x82\xac", bytes(range(256))[:64], b"\x00" * 10])
def test_code_input_bytes_that_are_not_ascii_or_not_codes(raw):
    with pytest.raises(CredentialFormatError):
        parse_code_input(raw)


def test_typed_code_that_happens_to_start_with_pbx_is_accepted():
    """One code in 32,768 starts with P, B, X: it must still be typeable."""
    code = make_code("PBX" + CODE[3:9])
    assert parse_code_input(code) == code
    assert parse_code_input(group_code(code)) == code
    assert parse_code_input(code.lower()) == code
    assert parse_code_input(qr_payload(code)) == code


@given(st.one_of(st.text(max_size=120), st.binary(max_size=120)))
@settings(max_examples=400)
def test_code_input_never_raises_anything_but_format_errors(raw):
    try:
        code = parse_code_input(raw)
    except CredentialFormatError as exc:
        assert str(exc)  # every refusal says why
    else:
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
        assert normalize_code(code) == code


# ------------------------------------------------------------------- PIN

def test_valid_pins():
    assert validate_pin("000000") == "000000"
    assert validate_pin("123456") == "123456"
    for _ in range(100):
        pin = credentials.generate_pin()
        assert validate_pin(pin) == pin and len(pin) == 6


@pytest.mark.parametrize(
    "pin",
    ["", "12345", "1234567", "12345a", "12 456", "١٢٣٤٥٦", "１２３４５６", "123４56", "12345\n",
     "+12345", "-12345", "1e5000", "²²²²²²", "\x0012345"],
)
def test_invalid_pins_are_rejected(pin):
    with pytest.raises(CredentialFormatError, match="exactly 6 digits"):
        validate_pin(pin)


# ------------------------------------------------------------- verifiers

def test_verifier_accepts_the_right_code_and_pin_only():
    verifier = make_verifier(CODE, "482913", params=PARAMS)
    assert verifier.startswith("scrypt$16$1$1$")
    assert check_verifier(verifier, CODE, "482913")
    assert not check_verifier(verifier, CODE, "482914")
    assert not check_verifier(verifier, CODE, "")
    assert not check_verifier(verifier, CODE)
    assert not check_verifier(verifier, CODE, "482913", "x")


def test_verifier_binds_the_pin_to_its_code():
    other = make_code("ABCDEFGHJ")
    verifier = make_verifier(CODE, "482913", params=PARAMS)
    assert not check_verifier(verifier, other, "482913")
    # The separator keeps the parts apart: shifting characters between them fails.
    assert not check_verifier(verifier, CODE + "4", "82913")


def test_verifiers_are_salted_per_record():
    a = make_verifier(CODE, "482913", params=PARAMS)
    b = make_verifier(CODE, "482913", params=PARAMS)
    assert a != b
    assert check_verifier(a, CODE, "482913") and check_verifier(b, CODE, "482913")


def test_verifier_records_its_own_parameters():
    verifier = make_verifier(CODE, "482913", params=credentials.KdfParams(n=2**5, r=2, p=1))
    assert verifier.split("$")[1:4] == ["32", "2", "1"]
    assert check_verifier(verifier, CODE, "482913")


def tampered_verifiers() -> list[str]:
    good = make_verifier(CODE, "482913", params=PARAMS).split("$")
    good[4] = "c2FsdHNhbHRzYWx0c2FsdA=="  # fixed salt: stable test ids
    good[5] = base64.b64encode(PARAMS.derive(f"{CODE}\x1f482913".encode(), base64.b64decode(good[4]))).decode()
    good = "$".join(good)
    assert check_verifier(good, CODE, "482913")
    kdf, n, r, p, salt, digest = good.split("$")
    flipped = digest[:5] + ("A" if digest[5] != "A" else "B") + digest[6:]
    return [
        "",
        "garbage",
        good + "$extra",
        good.replace("scrypt", "bcrypt"),
        "$".join([kdf, n, r, p, salt, flipped]),
        "$".join([kdf, n, r, p, salt, digest[:-8]]),
        "$".join([kdf, n, r, p, salt[:-4], digest]),
        "$".join([kdf, "x", r, p, salt, digest]),
        "$".join([kdf, "3", r, p, salt, digest]),  # n not a power of two
        "$".join([kdf, "0", r, p, salt, digest]),
        "$".join([kdf, "-16", r, p, salt, digest]),
        "$".join([kdf, n, "0", p, salt, digest]),
        "$".join([kdf, n, r, "0", salt, digest]),
        "$".join([kdf, str(2**40), "8", p, salt, digest]),  # would need far too much memory
        "$".join([kdf, n, r, p, "!!not base64!!", digest]),
        "$".join([kdf, n, r, p, salt, "ÄÖÜ"]),
        "$".join([kdf, n, r, p, salt, digest]).replace("$", "$$"),
    ]


@pytest.mark.parametrize("verifier", tampered_verifiers())
def test_tampered_verifier_is_refused_without_raising(verifier):
    assert check_verifier(verifier, CODE, "482913") is False


# ------------------------------------------------------------- lookup keys

def test_lookup_key_is_deterministic_and_depends_on_value_and_salt():
    key = credentials.lookup_key(CODE, SALT, PARAMS)
    assert key == credentials.lookup_key(CODE, SALT, PARAMS)
    assert len(key) == 32
    assert key != credentials.lookup_key(make_code("ABCDEFGHJ"), SALT, PARAMS)
    assert key != credentials.lookup_key(CODE, SALT + b"x", PARAMS)
    assert CODE.encode() not in key


# --------------------------------------------------------------- card UIDs

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("04a1b2c3d4e5f6", "04A1B2C3D4E5F6"),
        ("04:A1:B2:C3:D4:E5:F6", "04A1B2C3D4E5F6"),
        ("04 a1 b2 c3", "04A1B2C3"),
        (b"\x04\xa1\xb2\xc3", "04A1B2C3"),
        ("F" * 40, "F" * 40),
    ],
)
def test_normalize_card_uid(raw, expected):
    assert normalize_card_uid(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", "::", "04G1", "04-A1-B2", "F" * 41, "0x04A1", "０４", "04\x00A1"])
def test_bad_card_uids_are_rejected(raw):
    with pytest.raises(CredentialFormatError, match="hexadecimal"):
        normalize_card_uid(raw)


@pytest.mark.parametrize("params", ["scrypt$16$1$1000000$AAAA$AAAA", "scrypt$4194304$8$1$AAAA$AAAA",
                                    "scrypt$16$4096$1$AAAA$AAAA"])
def test_verifier_with_absurd_cost_is_rejected_without_running_it(params):
    assert check_verifier(params, "CODE", "123456") is False


def test_card_uid_bytes_must_have_a_sane_length():
    with pytest.raises(CredentialFormatError):
        credentials.normalize_card_uid(b"")
    with pytest.raises(CredentialFormatError):
        credentials.normalize_card_uid(b"\x01" * 21)
    assert credentials.normalize_card_uid(b"\x04\xa1") == "04A1"
