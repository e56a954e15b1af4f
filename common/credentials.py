"""Citizen and staff credentials: formats, parsing and hashing.

Shared by the registry (which issues credentials) and the kiosk (which only
ever sees hashes). Nothing here logs or stores a plaintext secret.

Typed pickup code
    10 characters from a 32-symbol alphabet without look-alikes (no 0, 1,
    I or O; see ``ALPHABET``), shown as ``XXXX-XXXX-XX``. The first nine
    characters are random (9 x 5 = 45 bits of entropy); the tenth is a
    Damm check character (over GF(32)) that catches every single typo and
    every swap of two neighbouring characters before any hashing happens.
    Input is case-insensitive; spaces and dashes are ignored.

QR payload
    ``PBX1:`` followed by the ten code characters without dashes, e.g.
    ``PBX1:K7M29QXD45``. ``PBX`` names the scheme and ``1`` its version, so a
    later scheme can coexist with old printed codes.

PIN
    Exactly six digits, chosen by the citizen at application or generated.

Hashes
    * lookup keys (code, staff card UID): ``scrypt(value, lookup_salt)`` with
      one deployment-wide salt, so a key can be found by index;
    * verifiers (code + PIN, card UID + staff PIN): ``scrypt`` with a random
      per-record salt, stored as ``scrypt$n$r$p$salt_b64$hash_b64`` and
      compared in constant time.
    Binding the PIN to the code means a stolen kiosk database does not let an
    attacker brute-force the 10^6 PINs alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

# 32 symbols: digits 2-9 and the letters without I and O. L stays: in upper
# case it is not confused with anything once 1 is excluded.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
assert len(ALPHABET) == 32 and len(set(ALPHABET)) == 32

CODE_RANDOM_CHARS = 9
CODE_LENGTH = CODE_RANDOM_CHARS + 1
CODE_ENTROPY_BITS = CODE_RANDOM_CHARS * 5
QR_PREFIX = "PBX1:"
PIN_LENGTH = 6
# Longest raw input we look at at all; anything longer is rejected unparsed.
MAX_INPUT_LENGTH = 64

_SYMBOL_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


class CredentialFormatError(ValueError):
    """Raised for input that cannot be a credential; the message says why."""


@dataclass(frozen=True)
class KdfParams:
    n: int = 2**14
    r: int = 8
    p: int = 1

    def is_sane(self) -> bool:
        """Bounds for parameters read from a record or the network: a damaged
        or hostile verifier must not make one check take minutes."""
        return 2 <= self.n <= 2**20 and (self.n & (self.n - 1)) == 0 and 1 <= self.r <= 32 and 1 <= self.p <= 16

    def derive(self, secret: bytes, salt: bytes) -> bytes:
        return hashlib.scrypt(
            secret, salt=salt, n=self.n, r=self.r, p=self.p, maxmem=256 * 1024 * 1024, dklen=32
        )


# ------------------------------------------------------------------- the code

def _times_x(value: int) -> int:
    """Multiplication by x in GF(32), reduced by the primitive x^5 + x^2 + 1."""
    value <<= 1
    return value ^ 0b100101 if value & 0b100000 else value


def _damm_interim(symbols: str) -> int:
    # Damm's check over the quasigroup a*b = x*a + b of GF(32): totally
    # anti-symmetric because x is neither 0 nor 1, which is what makes it
    # catch every single substitution and every swap of neighbours.
    interim = 0
    for ch in symbols:
        interim = _times_x(interim) ^ _SYMBOL_VALUE[ch]
    return interim


def _check_char(body: str) -> str:
    # The symbol that brings the interim value to zero.
    return ALPHABET[_times_x(_damm_interim(body))]


def generate_code() -> str:
    """A fresh code in canonical (ungrouped) form."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_RANDOM_CHARS))
    return body + _check_char(body)


def group_code(code: str) -> str:
    """Display form: ``XXXX-XXXX-XX``."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalize_code(raw: str) -> str:
    """Canonical code from what a person typed; raises CredentialFormatError."""
    if len(raw) > MAX_INPUT_LENGTH:
        raise CredentialFormatError(
            f"code is too long ({len(raw)} characters); a pickup code has {CODE_LENGTH}"
        )
    cleaned = raw.replace("-", "").replace(" ", "")
    for ch in cleaned:
        # Check before upper-casing the whole string: "ß".upper() is "SS".
        if not ch.isascii() or ch.upper() not in _SYMBOL_VALUE:
            shown = ch if ch.isprintable() else repr(ch)
            raise CredentialFormatError(
                f"character {shown} cannot appear in a pickup code; "
                "codes use the digits 2-9 and the letters A-Z except I and O"
            )
    cleaned = cleaned.upper()
    if len(cleaned) != CODE_LENGTH:
        raise CredentialFormatError(
            f"a pickup code has {CODE_LENGTH} characters, this one has {len(cleaned)}"
        )
    if _damm_interim(cleaned) != 0:
        raise CredentialFormatError("the pickup code has a typo: please check every character")
    return cleaned


def qr_payload(code: str) -> str:
    return QR_PREFIX + code


def parse_qr_payload(payload: str | bytes) -> str:
    """The canonical code inside a scanned QR payload; raises CredentialFormatError."""
    if isinstance(payload, bytes):
        if len(payload) > MAX_INPUT_LENGTH:
            raise CredentialFormatError("QR code is too long to be a pickup code")
        try:
            payload = payload.decode("ascii")
        except UnicodeDecodeError:
            raise CredentialFormatError("QR code contains binary data, not a pickup code") from None
    if len(payload) > MAX_INPUT_LENGTH:
        raise CredentialFormatError("QR code is too long to be a pickup code")
    if not payload.startswith(QR_PREFIX):
        if payload[:3] == QR_PREFIX[:3] and ":" in payload[:8]:
            raise CredentialFormatError(
                "QR code uses an unsupported version; please type the code from your letter instead"
            )
        raise CredentialFormatError("this QR code is not a pickup code from the citizens' office")
    body = payload[len(QR_PREFIX):]
    if "-" in body or " " in body or body != body.upper():
        raise CredentialFormatError("QR payload is malformed: the code must be upper case without separators")
    return normalize_code(body)


def parse_code_input(raw: str | bytes) -> str:
    """Accepts either a QR payload or a typed code."""
    # A typed code may itself begin with P, B, X; only a colon makes it a payload.
    if isinstance(raw, bytes) or (raw.startswith(QR_PREFIX[:3]) and ":" in raw[:8]):
        return parse_qr_payload(raw)
    return normalize_code(raw)


# -------------------------------------------------------------------- the PIN

def validate_pin(pin: str) -> str:
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise CredentialFormatError(f"a PIN has exactly {PIN_LENGTH} digits")
    return pin


def generate_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))


# ------------------------------------------------------------------- hashing

def lookup_key(value: str, lookup_salt: bytes, params: KdfParams) -> bytes:
    """Deterministic key to find a record by a secret (code or card UID)."""
    return params.derive(value.encode("utf-8"), b"pickupbox/lookup/v1|" + lookup_salt)


def make_verifier(*parts: str, params: KdfParams) -> str:
    salt = secrets.token_bytes(16)
    digest = params.derive(_join(parts), salt)
    return "$".join(
        [
            "scrypt",
            str(params.n),
            str(params.r),
            str(params.p),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def check_verifier(verifier: str, *parts: str) -> bool:
    """Constant-time check of secret parts against a stored verifier."""
    try:
        kdf, n, r, p, salt_b64, hash_b64 = verifier.split("$")
        if kdf != "scrypt":
            return False
        params = KdfParams(int(n), int(r), int(p))
        if not params.is_sane():
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(hash_b64)
        # Impossible parameters (n not a power of two, negative, too much
        # memory) in a damaged record make scrypt itself refuse.
        actual = params.derive(_join(parts), salt)
    except (ValueError, TypeError, OverflowError):
        return False
    return hmac.compare_digest(actual, expected)


def _join(parts: tuple[str, ...]) -> bytes:
    # Unit separator: cannot occur in a code, a PIN or a hex UID.
    return "\x1f".join(parts).encode("utf-8")


def normalize_card_uid(uid: str | bytes) -> str:
    """Card UIDs are compared as upper-case hex without separators."""
    if isinstance(uid, bytes):
        if not 1 <= len(uid) <= 20:
            raise CredentialFormatError("a card UID has 1 to 20 bytes")
        return uid.hex().upper()
    cleaned = uid.replace(":", "").replace(" ", "").upper()
    if not cleaned or len(cleaned) > 40 or any(c not in "0123456789ABCDEF" for c in cleaned):
        raise CredentialFormatError("a card UID is written in hexadecimal, e.g. 04A1B2C3D4E5F6")
    return cleaned
