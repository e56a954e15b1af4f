"""Edges of the legacy whole-board replies (7, 8 and 11 bytes), found by mutation testing.

A frame that reads as two variants at once is decided by the length the
board should send; the byte count consumed is exact behind noise; shapes
that are almost a whole-board reply are not one.
"""

from __future__ import annotations

import pytest

from hardware.kerong import legacy_codec
from hardware.kerong.protocols import PROTOCOLS

# Reads as a 7-byte reply (80 01 81 00 00 33 | 33) and as an 8-byte one
# (80 01 81 00 00 33 33 | 00): both XORs are good.
AMBIGUOUS = bytes.fromhex("80 01 81 00 00 33 33 00")


def test_the_ambiguous_frame_is_both_variants():
    assert legacy_codec.xor(AMBIGUOUS[:6]) == AMBIGUOUS[6]
    assert legacy_codec.xor(AMBIGUOUS[:7]) == AMBIGUOUS[7]


def test_the_expected_length_decides_and_defaults_to_8():
    assert legacy_codec.find_board_reply(AMBIGUOUS).frame == AMBIGUOUS
    assert legacy_codec.find_board_reply(AMBIGUOUS, expected=8).frame == AMBIGUOUS
    found = legacy_codec.find_board_reply(AMBIGUOUS, expected=7)
    assert (found.frame, found.consumed) == (AMBIGUOUS[:7], 7)


def test_the_driver_expects_the_length_of_the_boards_lock_count():
    legacy = PROTOCOLS["legacy"]
    request = legacy.status_request(1)
    assert len(legacy.find_reply(AMBIGUOUS, request, channels=24).doors) == 24
    assert len(legacy.find_reply(AMBIGUOUS, request, channels=32).doors) == 32


@pytest.mark.parametrize("channels, length", [(1, 7), (24, 7), (25, 8), (32, 8), (33, 11),
                                              (50, 11)])
def test_reply_length_per_lock_count(channels, length):
    assert legacy_codec.reply_length(channels) == length


def test_more_locks_than_any_reply_carries_is_refused():
    with pytest.raises(ValueError, match="at most 50 locks, got 51"):
        legacy_codec.reply_length(51)


def test_a_board_reply_has_at_least_5_bytes():
    # 5 bytes: one data byte (no variant has it, but the simulator can send it).
    assert legacy_codec.board_reply(1, 0, 5) == bytes.fromhex("80 01 00 33 b2")
    for length in (4, 0):
        with pytest.raises(ValueError, match=f"at least 5 bytes, got {length}"):
            legacy_codec.board_reply(1, 0, length)


@pytest.mark.parametrize("function", [0x32, 0x34, 0xFF])
def test_a_frame_with_another_function_byte_is_no_board_reply(function):
    body = bytes([0x80, 0x01, 0x00, 0x00, 0x01, function])
    frame = body + bytes([legacy_codec.xor(body)])
    assert legacy_codec.find_board_reply(frame, expected=7, final=True).frame is None
    with pytest.raises(ValueError, match="not a KR-CU whole-board reply"):
        legacy_codec.parse_board_reply(frame)


def test_a_bad_checksum_behind_noise_consumes_exactly_the_noise_and_the_frame():
    bad = bytearray(legacy_codec.board_reply(1, 0, 7))
    bad[-1] ^= 0xFF
    found = legacy_codec.find_board_reply(b"\x00\x11\x22" + bytes(bad), expected=7, final=True)
    assert found.frame is None and found.consumed == 10
    assert found.error.startswith("checksum error in 80 01 00 00 00 33")


def test_an_unknown_length_behind_noise_consumes_exactly_the_noise_and_the_frame():
    frame = legacy_codec.board_reply(1, 0xFF, 9)
    found = legacy_codec.find_board_reply(b"\x00\x11\x22" + frame, final=True)
    assert found.frame is None and found.consumed == 12
    assert found.error.startswith(f"a whole-board reply of 9 bytes ({frame.hex(' ')})")
    assert "(7, 8, 11 bytes for 24, 32 or 50 locks)" in found.error
