"""Tell a German eID card (Personalausweis, eAT) from other cards, without PACE.

Why so little: §18a PAuswG allows reading an ID card's personal data only
with the holder present and a photo check, so an unattended box must never
do it. What the box may do is notice *that* an eID card was put on the
reader. Every chip that speaks PACE keeps EF.CardAccess (file 0x011C in the
master file) readable without any authentication, because a terminal needs
its SecurityInfos to start PACE (BSI TR-03110 part 3, ICAO Doc 9303 part 11).
This module reads that one file and nothing else: no other SELECT, no PACE,
no CAN or PIN, no data groups. EF.CardAccess holds only algorithm
identifiers, never anything about the holder.

Which cards count as a German eID: EF.CardAccess must list a PACEInfo
(protocol OID under id-PACE, 0.4.0.127.0.7.2.2.4) *and* a
TerminalAuthenticationInfo (id-TA, 0.4.0.127.0.7.2.2.2). Cards following
TR-03110 (EAC version 2: the German ID card and residence permit) announce
Terminal Authentication in EF.CardAccess; an ICAO ePassport keeps it in
DG14/EF.CardSecurity, so a passport on the reader is not mistaken for one.

The card is read with READ BINARY using the short EF identifier 0x1C
(P1 = 0x9C), which selects EF.CardAccess and reads it in one command, then
READ BINARY at increasing offsets until the file ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

CARD_ACCESS_FID = 0x011C
CARD_ACCESS_SFI = 0x1C
MAX_CARD_ACCESS = 2048  # real files are a few hundred bytes; stop a card that never ends

# Object identifiers (dotted), BSI TR-03110 part 3, appendix A.
BSI_DE = "0.4.0.127.0.7"
ID_PACE = BSI_DE + ".2.2.4"
ID_TA = BSI_DE + ".2.2.2"
ID_CA = BSI_DE + ".2.2.3"
STANDARDIZED_DOMAIN_PARAMETERS = BSI_DE + ".1.2"

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than asked for: the file ended


def read_binary_sfi(sfi: int = CARD_ACCESS_SFI, length: int = 0) -> bytes:
    """READ BINARY of the EF with short identifier `sfi` from offset 0 (Le 00 = up to 256)."""
    return bytes([0x00, 0xB0, 0x80 | sfi, 0x00, length & 0xFF])


def read_binary(offset: int, length: int = 0) -> bytes:
    """READ BINARY of the current EF from `offset` (15 bits)."""
    return bytes([0x00, 0xB0, (offset >> 8) & 0x7F, offset & 0xFF, length & 0xFF])


def read_card_access(transmit: Callable[[bytes], bytes]) -> bytes | None:
    """EF.CardAccess of the card behind `transmit`, or None if the card has none.

    `transmit` sends one command APDU and returns data + SW1 SW2.
    """
    data = b""
    command = read_binary_sfi()
    while len(data) < MAX_CARD_ACCESS:
        response = transmit(command)
        if len(response) < 2:
            return None
        body, sw1, sw2 = response[:-2], response[-2], response[-1]
        status = (sw1 << 8) | sw2
        if sw1 == 0x6C and not body:  # wrong length: the card says how many bytes it has
            command = command[:4] + bytes([sw2])
            continue
        if status not in (SW_OK, SW_END_OF_FILE):
            # 6B00 (offset past the end) after a first chunk just means "done".
            return data or None
        data += body
        if status == SW_END_OF_FILE or not body or len(body) < (command[4] or 256):
            return data
        command = read_binary(len(data))
    return data


@dataclass(frozen=True)
class SecurityInfo:
    """One entry of EF.CardAccess: its protocol OID and the DER of the rest."""

    protocol: str
    rest: bytes


def parse_security_infos(data: bytes) -> list[SecurityInfo]:
    """SecurityInfos ::= SET OF SecurityInfo; raises ValueError on malformed DER."""
    tag, content, tail = _tlv(data)
    if tag != 0x31 or tail.strip(b"\x00"):  # some cards pad the file with zeros
        raise ValueError("EF.CardAccess is not a DER SET")
    infos = []
    for tag, info, _ in _elements(content):
        if tag != 0x30:
            raise ValueError("a SecurityInfo is not a SEQUENCE")
        oid_tag, oid, rest = _tlv(info)
        if oid_tag != 0x06:
            raise ValueError("a SecurityInfo does not start with an OBJECT IDENTIFIER")
        infos.append(SecurityInfo(decode_oid(oid), rest))
    return infos


def is_german_eid(card_access: bytes | None) -> bool:
    """True if EF.CardAccess lists PACE and Terminal Authentication (see module doc)."""
    if not card_access:
        return False
    try:
        protocols = [info.protocol for info in parse_security_infos(card_access)]
    except ValueError:
        return False
    has_pace = any(p.startswith(ID_PACE + ".") for p in protocols)
    has_ta = any(p == ID_TA or p.startswith(ID_TA + ".") for p in protocols)
    return has_pace and has_ta


def detect_german_eid(transmit: Callable[[bytes], bytes]) -> bool:
    """Read EF.CardAccess (only that file) and check it; see the module doc."""
    return is_german_eid(read_card_access(transmit))


# --- A little DER, enough for SecurityInfos --------------------------------------------


def encode_oid(dotted: str) -> bytes:
    """The DER content octets of an OBJECT IDENTIFIER (without tag and length)."""
    arcs = [int(part) for part in dotted.split(".")]
    out = bytearray()
    for number in [arcs[0] * 40 + arcs[1], *arcs[2:]]:  # X.690: first two arcs share one
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_oid(content: bytes) -> str:
    if not content or content[-1] & 0x80:
        raise ValueError("empty or truncated OBJECT IDENTIFIER")
    numbers = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    first = min(numbers[0] // 40, 2)
    arcs = [first, numbers[0] - 40 * first, *numbers[1:]]
    return ".".join(str(arc) for arc in arcs)


def der(tag: int, content: bytes) -> bytes:
    """One DER TLV with a definite length."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def der_int(value: int) -> bytes:
    return der(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def der_oid(dotted: str) -> bytes:
    return der(0x06, encode_oid(dotted))


def _tlv(data: bytes) -> tuple[int, bytes, bytes]:
    """(tag, content, what follows) of the first TLV in `data`; single-byte tags only."""
    if len(data) < 2:
        raise ValueError("truncated DER")
    tag, first = data[0], data[1]
    offset = 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 3 or len(data) < 2 + count:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[2 : 2 + count], "big")
        offset += count
    else:
        length = first
    end = offset + length
    if end > len(data):
        raise ValueError("DER length runs past the data")
    return tag, data[offset:end], data[end:]


def _elements(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    while data:
        tag, content, data = _tlv(data)
        yield tag, content, data
