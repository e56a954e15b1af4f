"""German eID detection from EF.CardAccess, and the pcsc driver's options.

The chip side is the virtual card's own APDU logic (`VirtualCard.answer`),
so these run without pcscd; the driver tests cover the same over PC/SC.
"""

from __future__ import annotations

import pytest

from hardware import drivers
from hardware.devicesim.vpcd_card import PROFILES, CardProfile, VirtualCard, eid_card_access
from hardware.errors import DriverConfigError
from hardware.pcsc import eid


def chip(profile: CardProfile | str) -> VirtualCard:
    card = VirtualCard(profile)
    card.uid = card._new_uid()
    return card


def test_card_access_lists_pace_ta_and_ca():
    infos = eid.parse_security_infos(eid_card_access())
    protocols = [info.protocol for info in infos]
    assert "0.4.0.127.0.7.2.2.4.2.2" in protocols  # PACE-ECDH-GM-AES-CBC-CMAC-128
    assert "0.4.0.127.0.7.2.2.2" in protocols  # Terminal Authentication
    assert eid.is_german_eid(eid_card_access())


def test_oid_round_trip():
    for dotted in ("0.4.0.127.0.7.2.2.4.2.2", "1.2.840.10045.2.1", "2.999.1"):
        assert eid.decode_oid(eid.encode_oid(dotted)) == dotted
    # Known encoding of id-PACE-ECDH-GM-AES-CBC-CMAC-128 (TR-03110 part 3).
    assert eid.encode_oid("0.4.0.127.0.7.2.2.4.2.2").hex() == "04007f00070202040202"


def test_passport_style_card_access_is_not_a_german_eid():
    # An ICAO ePassport lists PACE in EF.CardAccess but keeps TA in DG14.
    pace_only = eid.der(0x31, eid.der(0x30, eid.der_oid(eid.ID_PACE + ".2.2")
                                      + eid.der_int(2) + eid.der_int(13)))
    assert not eid.is_german_eid(pace_only)


@pytest.mark.parametrize("data", [
    b"", b"\x31", b"\x31\x05\x30\x03\x06\x01", b"\x30\x00", b"\xff" * 20,
    eid_card_access()[:-3],  # cut off
])
def test_malformed_card_access_is_not_an_eid(data):
    assert not eid.is_german_eid(data)


def test_detect_reads_only_card_access():
    card = chip("eid")
    assert eid.detect_german_eid(card.answer)
    assert card.apdu_log == []  # answer() is the chip; the log is kept by the socket side
    sent: list[bytes] = []

    def transmit(apdu: bytes) -> bytes:
        sent.append(apdu)
        return card.answer(apdu)

    eid.detect_german_eid(transmit)
    assert sent == [eid.read_binary_sfi()]


def test_long_card_access_is_read_in_chunks():
    big = eid.der(0x31, eid_card_access()[2:] + eid.der(0x30, eid.der_oid("1.2.3") + b"\x04\x82\x01\x2c" + bytes(300)))
    profile = CardProfile("big", PROFILES["eid"].atr, files={eid.CARD_ACCESS_FID: big},
                          sfis={eid.CARD_ACCESS_SFI: eid.CARD_ACCESS_FID})
    card = chip(profile)
    sent: list[bytes] = []

    def transmit(apdu: bytes) -> bytes:
        sent.append(apdu)
        return card.answer(apdu)

    assert eid.read_card_access(transmit) == big
    assert len(sent) == 2 and sent[1] == eid.read_binary(256)
    assert eid.is_german_eid(big)


def test_wrong_length_answer_is_retried_with_the_right_one():
    content = eid_card_access()

    def strict(apdu: bytes) -> bytes:  # a card that insists on the exact Le
        offset = 0 if apdu[2] & 0x80 else int.from_bytes(apdu[2:4], "big")
        rest = content[offset:]
        if not rest:
            return b"\x6b\x00"  # offset beyond the end
        if apdu[4] != len(rest):
            return bytes([0x6C, len(rest)])
        return rest + b"\x90\x00"

    assert eid.read_card_access(strict) == content


@pytest.mark.parametrize("profile", ["staff", "nouid"])
def test_other_cards_are_not_german_eids(profile):
    assert not eid.detect_german_eid(chip(profile).answer)


def test_pcsc_options_are_checked():
    with pytest.raises(DriverConfigError, match="poll_timeout"):
        drivers.create("card_reader", "pcsc", {"poll_timeout": -1})
    with pytest.raises(DriverConfigError, match="readr"):
        drivers.create("card_reader", "pcsc", {"readr": "x"})
