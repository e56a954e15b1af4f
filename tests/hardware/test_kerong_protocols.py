"""The two Kerong wire protocols (hardware/kerong/protocols.py), without a bus.

`find_reply` is called directly on byte strings: the reply to our request
is found behind noise, echoes, replies of other boards and frames with a
bad checksum, and every byte scanned is accounted for in `consumed`.
"""

from __future__ import annotations

import pytest

from hardware.interfaces import DoorState
from hardware.kerong import codec, legacy_codec
from hardware.kerong.protocols import PROTOCOLS, Cu16, Legacy
from hardware.polled_serial import Reply

CLOSED, OPEN = DoorState.CLOSED, DoorState.OPEN
CU16, LEGACY = PROTOCOLS["cu16"], PROTOCOLS["legacy"]


def bad_checksum(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


def test_the_protocols_by_option_name():
    assert set(PROTOCOLS) == {"cu16", "legacy"}
    assert isinstance(CU16, Cu16) and isinstance(LEGACY, Legacy)
    assert (CU16.name, LEGACY.name) == ("cu16", "legacy")


def test_the_boards_factory_settings():
    assert (CU16.baudrate, CU16.min_address, CU16.max_address, CU16.channels) == (19200, 0, 15, 16)
    assert CU16.unlock_reply_delay == 0.0
    assert (LEGACY.baudrate, LEGACY.min_address, LEGACY.max_address, LEGACY.channels) \
        == (9600, 1, 64, 50)
    assert LEGACY.unlock_reply_delay == 1.0


def test_requests_are_the_codecs_frames():
    assert CU16.status_request(3) == codec.status_request(3)
    assert CU16.unlock_request(3, 7) == codec.unlock_request(3, 7)
    # One request per legacy board and poll round: the whole board.
    assert LEGACY.status_request(2) == legacy_codec.status_request(2, 0)
    assert LEGACY.unlock_request(2, 7) == legacy_codec.unlock_request(2, 7)


# --- CU16


def test_cu16_status_reply_gives_every_channel():
    reply = codec.status_reply(3, hooks=0b101)
    found = CU16.find_reply(reply, CU16.status_request(3))
    assert found.consumed == len(reply) and found.error == ""
    assert set(found.doors) == set(range(1, 17))
    closed = {ch for ch, state in found.doors.items() if state is CLOSED}
    assert closed == {ch for ch in range(1, 17) if codec.parse_status(reply).door(ch) is CLOSED}
    assert found.doors[1] is not found.doors[2]


def test_cu16_skips_the_echo_of_its_request_and_other_boards():
    request = CU16.unlock_request(3, 5)
    ours = codec.status_reply(3, hooks=0xFFFF)
    buffer = b"\x00\x07" + request + codec.status_reply(4, hooks=0) + ours + b"\x02"
    found = CU16.find_reply(buffer, request)
    assert found.consumed == len(buffer) - 1, "the trailing byte may start the next frame"
    assert found.doors == {ch: codec.parse_status(ours).door(ch) for ch in range(1, 17)}


def test_cu16_without_our_reply_consumes_what_it_read():
    request = CU16.status_request(3)
    other = codec.status_reply(4, hooks=0)
    assert CU16.find_reply(other, request) == Reply(None, len(other), "")
    assert CU16.find_reply(b"", request) == Reply(None, 0, "")
    # Half a reply is kept for the next read.
    assert CU16.find_reply(other[:4], request) == Reply(None, 0, "")


def test_cu16_a_bad_frame_stops_the_scan_with_its_error():
    # The caller drops what was consumed, logs the error and scans the rest.
    request = CU16.status_request(3)
    bad = bad_checksum(codec.status_reply(3, hooks=0))
    good = codec.status_reply(3, hooks=1)
    found = CU16.find_reply(codec.status_reply(5, hooks=0) + bad + good, request)
    assert found.doors is None and found.consumed == 2 * len(good)
    assert found.error.startswith("checksum error in ")
    assert CU16.find_reply(good, request).doors is not None


# --- legacy: whole board


@pytest.mark.parametrize("length, channels", [(7, 24), (8, 32), (11, 50)])
def test_legacy_whole_board_reply_gives_every_lock_it_carries(length, channels):
    reply = legacy_codec.board_reply(2, closed=0b1001, length=length)
    found = LEGACY.find_reply(reply, LEGACY.status_request(2), channels=channels)
    assert found.consumed == length and found.error == ""
    assert set(found.doors) == set(range(1, channels + 1))
    assert (found.doors[1], found.doors[2], found.doors[3], found.doors[4]) \
        == (CLOSED, OPEN, OPEN, CLOSED)
    assert found.doors[channels] is OPEN


def test_legacy_whole_board_skips_other_boards_and_stops_at_a_bad_frame():
    request = LEGACY.status_request(2)
    other, ours = legacy_codec.board_reply(3, 1, 8), legacy_codec.board_reply(2, 1, 8)
    found = LEGACY.find_reply(other + ours, request, channels=32, final=True)
    assert found.consumed == 16 and found.doors[1] is CLOSED and found.error == ""
    found = LEGACY.find_reply(other + bad_checksum(ours) + ours, request, channels=32,
                              final=True)
    assert found.doors is None and found.consumed == 16
    assert found.error.startswith("checksum error in ")


def test_legacy_whole_board_waits_for_a_longer_variant_until_final():
    request = LEGACY.status_request(2)
    unknown = legacy_codec.board_reply(2, 0xFF, 9)  # no variant is 9 bytes long
    assert LEGACY.find_reply(unknown, request, channels=32) == Reply(None, 0, "")
    found = LEGACY.find_reply(unknown, request, channels=32, final=True)
    assert found.doors is None and found.consumed == 9
    assert "fits no known variant" in found.error


def test_legacy_boards_with_more_locks_than_a_reply_carries_expect_the_longest():
    # 60 locks in the box file: the 11-byte reply (50 locks) is the one to expect.
    reply = legacy_codec.board_reply(2, 1, 11)
    found = LEGACY.find_reply(reply, LEGACY.status_request(2), channels=60)
    assert set(found.doors) == set(range(1, 51))


# --- legacy: one lock


def test_legacy_unlock_reply_gives_its_one_lock():
    request = LEGACY.unlock_request(2, 7)
    reply = legacy_codec.reply(2, 7, door_open=True)
    assert LEGACY.find_reply(reply, request) == Reply({7: OPEN}, 5, "")
    closed = legacy_codec.reply(2, 7, door_open=False)
    assert LEGACY.find_reply(closed, request).doors == {7: CLOSED}


def test_legacy_one_lock_status_request_is_answered_by_a_one_lock_reply():
    request = legacy_codec.status_request(2, 7)
    reply = legacy_codec.reply(2, 7, door_open=False, header=legacy_codec.STATUS)
    assert LEGACY.find_reply(reply, request) == Reply({7: CLOSED}, 5, "")


def test_legacy_skips_replies_for_another_lock_or_board():
    request = LEGACY.unlock_request(2, 7)
    others = legacy_codec.reply(2, 8, True) + legacy_codec.reply(3, 7, True)
    ours = legacy_codec.reply(2, 7, False)
    assert LEGACY.find_reply(others + ours, request) == Reply({7: CLOSED}, 15, "")
    assert LEGACY.find_reply(others, request) == Reply(None, 10, "")
    found = LEGACY.find_reply(others + bad_checksum(ours) + ours, request)
    assert found.doors is None and found.consumed == 15
    assert found.error.startswith("checksum error in ")


def test_legacy_skips_replies_for_a_lower_lock_or_board_too():
    request = LEGACY.unlock_request(2, 7)
    others = legacy_codec.reply(2, 6, True) + legacy_codec.reply(1, 7, True)
    ours = legacy_codec.reply(2, 7, True)
    assert LEGACY.find_reply(others + ours, request) == Reply({7: OPEN}, 15, "")
