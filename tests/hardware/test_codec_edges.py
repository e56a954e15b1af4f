"""The edges of the lock-board and relay codecs: every field decoded, both
directions of every group of locks, shapes that must be refused, and the
limits themselves. Golden bytes are written out by hand from the frame
layouts in the codecs' docstrings.

The legacy whole-board reply's *length* is left out here on purpose (the
accepted lengths are being widened); only its content is pinned.
"""

from __future__ import annotations

import pytest

from hardware.interfaces import DoorState
from hardware.kerong import codec, legacy_codec
from hardware.usbrelay import protocol

CLOSED, OPEN, UNKNOWN = DoorState.CLOSED, DoorState.OPEN, DoorState.UNKNOWN


def with_sum(hex_body: str) -> bytes:
    body = bytes.fromhex(hex_body)
    return body + bytes([sum(body) & 0xFF])


def with_xor(hex_body: str) -> bytes:
    body = bytes.fromhex(hex_body)
    check = 0
    for byte in body:
        check ^= byte
    return body + bytes([check])


# ------------------------------------------------------------ KR-CU16

def test_cu16_constants():
    assert (codec.STX, codec.ETX) == (0x02, 0x03)
    assert (codec.CMD_STATUS, codec.CMD_UNLOCK, codec.REPLY_STATUS) == (0x30, 0x31, 0x35)
    assert (codec.CHANNELS, codec.MAX_ADDRESS, codec.BAUDRATE) == (16, 15, 19200)
    assert (codec.REQUEST_LENGTH, codec.REPLY_LENGTH) == (5, 9)


@pytest.mark.parametrize("board, channel, address", [(0, 1, 0x00), (0, 16, 0x0F), (15, 1, 0xF0),
                                                     (15, 16, 0xFF), (3, 9, 0x38)])
def test_cu16_unlock_request_carries_board_and_channel(board, channel, address):
    frame = codec.unlock_request(board, channel)
    assert frame == with_sum(f"02 {address:02x} 31 03")
    request = codec.parse_request(frame)
    assert request == codec.Request(board, channel, codec.CMD_UNLOCK)
    assert (request.board, request.channel, request.command) == (board, channel, 0x31)


def test_cu16_status_request_asks_with_lock_nibble_zero():
    assert codec.status_request(15) == with_sum("02 f0 30 03")
    assert codec.parse_request(codec.status_request(7)) == codec.Request(7, 1, codec.CMD_STATUS)


@pytest.mark.parametrize("board, channel", [(-1, 1), (16, 1), (0, 0), (0, 17)])
def test_cu16_address_limits(board, channel):
    with pytest.raises(ValueError, match="KR-CU16"):
        codec.address_byte(board, channel)


@pytest.mark.parametrize(
    "frame",
    [
        bytes.fromhex("02 01 31 03"),  # one byte short
        with_sum("02 01 31 03 00"),  # one byte long
        with_sum("02 01 35 03"),  # a reply's command byte
        with_sum("02 01 32 03"),  # no such command
        b"",
    ],
)
def test_cu16_parse_request_refuses_the_wrong_shape(frame):
    with pytest.raises(ValueError, match="not a KR-CU16 request"):
        codec.parse_request(frame)


@pytest.mark.parametrize("channel", [1, 2, 9, 16])
def test_cu16_status_channel_is_the_echoed_lock_nibble(channel):
    frame = codec.status_reply(5, 0, channel=channel)
    assert frame[1] == 0x50 | (channel - 1)
    status = codec.parse_status(frame)
    assert status.channel == channel and status.board == 5


def test_cu16_status_reply_bytes_for_each_group():
    # locks 9-16 closed, items seen in 1-8: D1 = 00, D2 = FF, D3 = FF, D4 = 00
    assert codec.status_reply(1, 0xFF00, items=0x00FF) == with_sum("02 10 35 00 ff ff 00 03")
    status = codec.parse_status(with_sum("02 10 35 00 ff ff 00 03"))
    assert (status.hooks, status.items) == (0xFF00, 0x00FF)
    assert [status.door(n) for n in range(1, 17)] == [OPEN] * 8 + [CLOSED] * 8
    # and the other way round
    status = codec.parse_status(with_sum("02 10 35 ff 00 00 ff 03"))
    assert (status.hooks, status.items) == (0x00FF, 0xFF00)
    assert [status.door(n) for n in range(1, 17)] == [CLOSED] * 8 + [OPEN] * 8


@pytest.mark.parametrize("channel", range(1, 17))
def test_cu16_each_hook_bit_is_its_own_door(channel):
    status = codec.parse_status(codec.status_reply(0, 1 << (channel - 1)))
    assert [n for n in range(1, 17) if status.door(n) is CLOSED] == [channel]


def test_cu16_status_default_items_is_zero():
    assert codec.Status(1, 1, 0).items == 0
    assert codec.status_reply(1, 0) == with_sum("02 10 35 00 00 00 00 03")


@pytest.mark.parametrize(
    "frame",
    [with_sum("02 10 30 03"), with_sum("02 10 36 00 00 00 00 03"),
     with_sum("02 10 35 00 00 00 03")],
)
def test_cu16_parse_status_refuses_the_wrong_shape(frame):
    with pytest.raises(ValueError, match="not a KR-CU16 status reply"):
        codec.parse_status(frame)


def test_cu16_checksum_wraps():
    assert codec.checksum(bytes([0xFF, 0x02])) == 0x01
    assert codec.checksum(b"") == 0
    assert codec.status_reply(15, 0xFFFF, 0xFFFF, channel=16)[-1] == (
        0x02 + 0xFF + 0x35 + 4 * 0xFF + 0x03) & 0xFF


def test_cu16_find_frame_reports_the_expected_checksum():
    frame = codec.status_request(1)
    bad = frame[:-1] + bytes([frame[-1] ^ 1])
    found = codec.find_frame(bad)
    assert found == codec.Found(
        None, 5, f"checksum error in {bad.hex(' ')} (sum should be {frame[-1]:02x})")


def test_cu16_find_frame_skips_a_start_byte_without_etx():
    # 02 01 30 looks like a request start, but byte 3 is not ETX: skip one byte.
    frame = codec.unlock_request(2, 3)
    found = codec.find_frame(bytes.fromhex("02 01 30 00 00") + frame)
    assert found == codec.Found(frame, 5 + len(frame))


def test_cu16_find_frame_keeps_a_short_tail():
    assert codec.find_frame(b"\x00\x02") == codec.Found(None, 1)
    assert codec.find_frame(b"\x00\x02\x01\x20") == codec.Found(None, 4)  # 0x20 is no command
    assert codec.find_frame(b"\x00\x02\x10\x35\x00") == codec.Found(None, 1)  # reply still arriving
    assert codec.find_frame(b"") == codec.Found(None, 0)


# ---------------------------------------------------- legacy KR-CU boards

def test_legacy_constants():
    assert (legacy_codec.UNLOCK, legacy_codec.STATUS) == (0x8A, 0x80)
    assert (legacy_codec.FN_UNLOCK, legacy_codec.FN_STATUS) == (0x11, 0x33)
    assert (legacy_codec.STATE_CLOSED, legacy_codec.STATE_OPEN) == (0x11, 0x00)
    assert (legacy_codec.MIN_ADDRESS, legacy_codec.MAX_ADDRESS) == (1, 64)
    assert legacy_codec.BAUDRATE == 9600 and legacy_codec.WHOLE_BOARD == 0
    assert legacy_codec.UNLOCK_REPLY_DELAY == 1.0


@pytest.mark.parametrize(
    "frame",
    [
        bytes.fromhex("8a 01 01 11 00"),  # bad XOR (should be 9b)
        bytes.fromhex("80 01 00 33 b3"),  # bad XOR (should be b2)
        bytes.fromhex("8a 01 01 11"),  # one byte short
        bytes.fromhex("8a 01 01 11 9b 00"),  # one byte long
        with_xor("8a 01 01 33"),  # unlock header with the status function
        with_xor("80 01 01 11"),  # status header with the unlock function
        with_xor("81 01 01 11"),  # no such header
        with_xor("8a 01 01 00"),  # a reply ("open"), not a request
    ],
)
def test_legacy_parse_request_refuses_bad_xor_and_wrong_shape(frame):
    with pytest.raises(ValueError, match="not a KR-CU request"):
        legacy_codec.parse_request(frame)


@pytest.mark.parametrize("board, lock", [(1, 1), (64, 255), (17, 32)])
def test_legacy_requests_round_trip_at_the_limits(board, lock):
    unlock = legacy_codec.unlock_request(board, lock)
    assert unlock == with_xor(f"8a {board:02x} {lock:02x} 11")
    assert legacy_codec.parse_request(unlock) == legacy_codec.Request(
        board, lock, legacy_codec.UNLOCK)
    status = legacy_codec.status_request(board, lock)
    assert status == with_xor(f"80 {board:02x} {lock:02x} 33")
    assert legacy_codec.parse_request(status) == legacy_codec.Request(
        board, lock, legacy_codec.STATUS)


@pytest.mark.parametrize("board, lock", [(0, 1), (65, 1), (1, 0), (1, 256), (-1, 1), (1, -1)])
def test_legacy_unlock_limits(board, lock):
    with pytest.raises(ValueError, match="KR-CU"):
        legacy_codec.unlock_request(board, lock)


def test_legacy_status_request_allows_lock_zero_only():
    assert legacy_codec.status_request(64, 0) == with_xor("80 40 00 33")
    with pytest.raises(ValueError, match="lock must be 1 to 255"):
        legacy_codec.status_request(1, -1)
    with pytest.raises(ValueError, match="lock must be 1 to 255"):
        legacy_codec.status_request(1, 256)
    with pytest.raises(ValueError, match="board address must be 1 to 64"):
        legacy_codec.status_request(65, 0)


@pytest.mark.parametrize("state", [0x01, 0x10, 0x12, 0x33, 0xFF])
def test_legacy_state_byte_neither_open_nor_closed(state):
    frame = with_xor(f"8a 01 03 {state:02x}")
    reply = legacy_codec.parse_reply(frame)
    assert reply.state == state and reply.door is UNKNOWN
    # A finder does not take such a frame for a reply at all.
    assert legacy_codec.find_reply(frame).frame is None


def test_legacy_reply_states_and_headers():
    opened = legacy_codec.parse_reply(with_xor("80 07 02 00"))
    assert opened == legacy_codec.Reply(0x80, 7, 2, 0x00) and opened.door is OPEN
    closed = legacy_codec.parse_reply(with_xor("8a 40 ff 11"))
    assert closed == legacy_codec.Reply(0x8A, 64, 255, 0x11) and closed.door is CLOSED
    assert legacy_codec.reply(3, 4, door_open=False) == with_xor("8a 03 04 11")
    assert legacy_codec.reply(3, 4, door_open=True, header=legacy_codec.STATUS) == with_xor(
        "80 03 04 00")


@pytest.mark.parametrize("frame", [with_xor("8a 01 01"), with_xor("8a 01 01 00 00"),
                                   with_xor("81 01 01 00"), b""])
def test_legacy_parse_reply_refuses_the_wrong_shape(frame):
    with pytest.raises(ValueError, match="not a KR-CU reply"):
        legacy_codec.parse_reply(frame)


def test_legacy_parse_reply_names_the_expected_xor():
    with pytest.raises(ValueError, match=r"xor should be 95"):
        legacy_codec.parse_reply(bytes.fromhex("80 01 05 11 00"))


GROUPS = {  # locks -> the four data bytes L25-32 L17-24 L9-16 L1-8
    range(1, 9): "00 00 00 ff",
    range(9, 17): "00 00 ff 00",
    range(17, 25): "00 ff 00 00",
    range(25, 33): "ff 00 00 00",
}


@pytest.mark.parametrize("locks, data", GROUPS.items(), ids=lambda v: str(v))
def test_legacy_whole_board_groups_both_directions(locks, data):
    closed = sum(1 << (n - 1) for n in locks)
    frame = with_xor(f"80 05 {data} 33")
    # encode
    assert legacy_codec.board_reply(5, closed) == frame
    # decode
    status = legacy_codec.parse_board_reply(frame)
    assert status == legacy_codec.BoardStatus(5, closed)
    assert [n for n in range(1, 33) if status.door(n) is CLOSED] == list(locks)
    assert all(status.door(n) is OPEN for n in range(1, 33) if n not in locks)


@pytest.mark.parametrize("lock", [1, 8, 9, 16, 17, 25, 32])
def test_legacy_whole_board_single_lock(lock):
    status = legacy_codec.parse_board_reply(legacy_codec.board_reply(1, 1 << (lock - 1)))
    assert [n for n in range(1, 33) if status.door(n) is CLOSED] == [lock]


@pytest.mark.parametrize("frame", [
    with_xor("80 01 ff ff ff ff 11"),  # the unlock function byte
    with_xor("8a 01 ff ff ff ff 33"),  # the unlock header
    bytes.fromhex("80 01 ff ff ff ff 33 00"),  # bad XOR
])
def test_legacy_parse_board_reply_refuses_bad_frames(frame):
    with pytest.raises(ValueError, match="not a KR-CU whole-board reply"):
        legacy_codec.parse_board_reply(frame)


def test_legacy_board_reply_checks_the_board():
    with pytest.raises(ValueError):
        legacy_codec.board_reply(0, 0)
    assert legacy_codec.board_reply(64, 0) == with_xor("80 40 00 00 00 00 33")


def test_legacy_xor():
    assert legacy_codec.xor(b"") == 0
    assert legacy_codec.xor(bytes.fromhex("8a 01 01 11")) == 0x9B
    assert legacy_codec.xor(bytes.fromhex("ff 0f")) == 0xF0


def test_legacy_finders_report_the_expected_xor():
    frame = legacy_codec.unlock_request(1, 1)
    bad = frame[:-1] + b"\x00"
    assert legacy_codec.find_request(bad) == codec.Found(
        None, 5, f"checksum error in {bad.hex(' ')} (xor should be 9b)")


def test_legacy_finder_takes_the_earlier_of_the_two_headers():
    request = legacy_codec.status_request(2, 3)  # 80 ...
    unlock = legacy_codec.unlock_request(2, 3)  # 8a ...
    assert legacy_codec.find_request(request + unlock) == codec.Found(request, 5)
    assert legacy_codec.find_request(unlock + request) == codec.Found(unlock, 5)
    assert legacy_codec.find_request(b"\x00\x8a\x01") == codec.Found(None, 1)


# ------------------------------------------------------- USB relay boards

def test_relay_constants():
    assert (protocol.VENDOR_ID, protocol.PRODUCT_ID) == (0x16C0, 0x05DF)
    assert (protocol.REQUEST_TYPE_OUT, protocol.REQUEST_TYPE_IN) == (0x21, 0xA1)
    assert protocol.FEATURE_REPORT == 0x0300
    assert (protocol.SET_REPORT, protocol.GET_REPORT) == (0x09, 0x01)
    assert (protocol.ON, protocol.OFF) == (0xFF, 0xFD)
    assert (protocol.ALL_ON, protocol.ALL_OFF) == (0xFE, 0xFC)
    assert (protocol.REPORT_LENGTH, protocol.SERIAL_LENGTH, protocol.STATE_BYTE) == (8, 5, 7)


@pytest.mark.parametrize("relay", [1, 8])
def test_relay_report_at_the_limits(relay):
    assert protocol.set_relay_report(relay, True) == bytes([0xFF, relay, 0, 0, 0, 0, 0, 0])
    assert protocol.set_relay_report(relay, False) == bytes([0xFD, relay, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("relay", [0, 9, -1])
def test_relay_number_out_of_range(relay):
    with pytest.raises(ValueError, match="relay must be 1 to 8"):
        protocol.set_relay_report(relay, True)


def test_feature_report_of_exactly_eight_bytes_and_longer():
    assert protocol.parse_feature_report(b"ABCDE\x00\x00\x81") == ("ABCDE", 0x81)
    assert protocol.parse_feature_report(b"AB\x00DE\x00\x00\x02\xff") == ("AB", 0x02)
    assert protocol.parse_feature_report(b"AB   \x00\x00\x00") == ("AB", 0)
    with pytest.raises(ValueError, match="sent 7 bytes, expected 8"):
        protocol.parse_feature_report(b"ABCDE\x00\x00")


def test_feature_report_serial_of_exactly_five_characters():
    assert protocol.feature_report("ABCDE", 0x1FF) == b"ABCDE\x00\x00\xff"
    assert protocol.feature_report("ABCDEFG", 3) == b"ABCDE\x00\x00\x03"
    assert protocol.feature_report("AB", 1) == b"AB\x00\x00\x00\x00\x00\x01"
    assert protocol.parse_feature_report(protocol.feature_report("QAAMZ", 0x80)) == ("QAAMZ", 0x80)


@pytest.mark.parametrize("product, count", [("USBRelay1", 1), ("USBRelay8", 8), ("USBRelay", None),
                                            ("USBRelay10", None), ("xUSBRelay2", None),
                                            ("USBRelay2 ", None), (None, None), ("", None)])
def test_relay_count(product, count):
    assert protocol.relay_count(product) == count
