"""Golden vectors: fixed codes with their check symbols, fixed lookup keys and verifiers.

Every printed letter and every code issued by an older registry must stay
readable at the box, so the check character and the hashes are pinned to
constant values here, not only checked against the same functions. The
check characters are also recomputed by an independent implementation of
the GF(32) arithmetic written from the math below.
"""

from __future__ import annotations

import base64

import pytest

from common import credentials
from common.credentials import (
    ALPHABET,
    CredentialFormatError,
    KdfParams,
    check_verifier,
    lookup_key,
    normalize_code,
)

# body (9 random symbols) -> full code; computed once from the implementation
# of 2026-12 and never to be recomputed: a change here breaks issued codes.
GOLDEN_CODES = {
    "222222222": "2222222222",
    "ZZZZZZZZZ": "ZZZZZZZZZX",
    "K7M29QXD4": "K7M29QXD45",  # the example in the module's docstring
    "ABCDEFGHJ": "ABCDEFGHJA",
    "23456789A": "23456789AB",
    "PBXPBXPBX": "PBXPBXPBXB",
    "LMNPQRSTU": "LMNPQRSTUF",
    "VWXYZ2345": "VWXYZ23453",
}

TINY = KdfParams(n=2**4, r=1, p=1)
GOLDEN_SALT = b"golden-salt"
# lookup_key(value, GOLDEN_SALT, params) for fixed values.
GOLDEN_LOOKUPS = [
    ("K7M29QXD45", TINY, "5ad2f621638f92e32ca7f43fad6fb8057c693bddc7592401f9c86712fe3af682"),
    ("04A1B2C3D4E5F6", TINY, "0030e8da24cf54144cf92fd69b076bfcea0ee575d8630231bbeb4fff00f946fe"),
    ("K7M29QXD45", KdfParams(), "82233dde3560b9c1332f605339c1c393e3b9340f8893e8d1c261a673f907e695"),
]
# Verifiers with the salt bytes 00..0f, as make_verifier stores them.
GOLDEN_VERIFIERS = [
    (("K7M29QXD45", "482913"),
     "scrypt$16$1$1$AAECAwQFBgcICQoLDA0ODw==$4j8UJltrMyubyZkeeMuzaq/mpxvPn+z13SNA28OBZoM="),
    (("04A1B2C3D4E5F6", "135790"),
     "scrypt$16384$8$1$AAECAwQFBgcICQoLDA0ODw==$VkFmzSKBAiMYYztyv7pAHFydkdmXWjTDWRTT2iUeuEQ="),
]


# ------------------------------------------- an independent GF(32) and Damm

def gf_mul(a: int, b: int) -> int:
    """a * b in GF(2^5) = GF(2)[x] / (x^5 + x^2 + 1), by carry-less
    multiplication followed by long division by the modulus."""
    product = 0
    for bit in range(5):
        if b >> bit & 1:
            product ^= a << bit
    for degree in range(8, 4, -1):  # clear x^8 .. x^5
        if product >> degree & 1:
            product ^= 0b100101 << (degree - 5)
    return product


X = 0b00010  # the element x


def independent_check_symbol(body: str) -> str:
    """The Damm check symbol over the quasigroup a*b = x*a + b.

    After the symbols s1..sk the interim value is s1*x^(k-1) + ... + sk (in
    GF(32), + is XOR); the check symbol c makes x*interim + c zero, and in
    characteristic 2, c = x*interim.
    """
    k = len(body)
    interim = 0
    for i, ch in enumerate(body):
        power = 1
        for _ in range(k - 1 - i):
            power = gf_mul(power, X)
        interim ^= gf_mul(ALPHABET.index(ch), power)
    return ALPHABET[gf_mul(X, interim)]


def test_the_independent_field_is_a_field():
    # x^5 + x^2 + 1 is primitive: x has order 31, and every non-zero
    # element has an inverse.
    power, order = X, 1
    while power != 1:
        power, order = gf_mul(power, X), order + 1
    assert order == 31
    for a in range(1, 32):
        assert any(gf_mul(a, b) == 1 for b in range(1, 32))


def test_alphabet_and_its_order_are_pinned():
    # The symbol values are part of every check character: reordering the
    # alphabet would change them all.
    assert ALPHABET == "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@pytest.mark.parametrize("body, code", GOLDEN_CODES.items())
def test_golden_check_characters(body, code):
    assert credentials._check_char(body) == code[-1]
    assert independent_check_symbol(body) == code[-1]
    assert normalize_code(code) == code
    assert credentials.parse_qr_payload("PBX1:" + code) == code


@pytest.mark.parametrize("body, code", GOLDEN_CODES.items())
def test_golden_codes_with_any_other_check_character_are_refused(body, code):
    for ch in ALPHABET:
        if ch != code[-1]:
            with pytest.raises(CredentialFormatError, match="typo"):
                normalize_code(body + ch)


@pytest.mark.parametrize("body", ["Y", "XK", "K7M2", "Z" * 20])
def test_check_character_of_other_lengths_matches_the_math(body):
    # The check is not tied to nine symbols; short bodies make a wrong
    # start value or a wrong reduction show at once.
    assert credentials._check_char(body) == independent_check_symbol(body)


def test_gf32_step_reduces_by_the_primitive_polynomial():
    # x * x^4 = x^5 = x^2 + 1; x * (x^4 + 1) = x^2 + x + 1.
    assert credentials._times_x(0b10000) == 0b00101
    assert credentials._times_x(0b10001) == 0b00111
    for value in range(32):
        assert credentials._times_x(value) == gf_mul(X, value)


def test_grouped_display_form():
    assert credentials.group_code("K7M29QXD45") == "K7M2-9QXD-45"
    assert normalize_code("k7m2-9qxd-45") == "K7M29QXD45"
    assert credentials.qr_payload("K7M29QXD45") == "PBX1:K7M29QXD45"


# --------------------------------------------------------- hashes, pinned

@pytest.mark.parametrize("value, params, key", GOLDEN_LOOKUPS)
def test_golden_lookup_keys(value, params, key):
    assert lookup_key(value, GOLDEN_SALT, params).hex() == key


@pytest.mark.parametrize("parts, verifier", GOLDEN_VERIFIERS)
def test_golden_verifiers_still_verify(parts, verifier):
    assert check_verifier(verifier, *parts) is True
    code, pin = parts
    assert check_verifier(verifier, code, pin[:-1] + str((int(pin[-1]) + 1) % 10)) is False
    assert check_verifier(verifier, pin, code) is False
    assert check_verifier(verifier, code + pin) is False


def test_verifier_layout_with_the_default_parameters():
    verifier = credentials.make_verifier("K7M29QXD45", "482913", params=KdfParams())
    kdf, n, r, p, salt, digest = verifier.split("$")
    assert (kdf, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert check_verifier(verifier, "K7M29QXD45", "482913") is True
