"""Golden bytes for the Kerong codecs: what goes on the wire, byte for byte."""

import pytest

from hardware.interfaces import DoorState
from hardware.kerong import codec, legacy_codec


def test_status_request_bytes():
    # STX, board 1 in the high nibble, status, ETX, sum 02+10+30+03 = 45
    assert codec.status_request(1) == bytes.fromhex("02 10 30 03 45")
    assert codec.status_request(0) == bytes.fromhex("02 00 30 03 35")
    assert codec.status_request(15) == bytes.fromhex("02 f0 30 03 25")


def test_unlock_request_bytes():
    # lock 3 of board 1 = low nibble 2; sum 02+12+31+03 = 48
    assert codec.unlock_request(1, 3) == bytes.fromhex("02 12 31 03 48")
    assert codec.unlock_request(2, 16) == bytes.fromhex("02 2f 31 03 65")


def test_status_reply_bytes_and_parse():
    # board 2, lock 1 open (bit 0 clear), the other 15 latched; sum low byte 0x57
    frame = bytes.fromhex("02 20 35 fe ff 00 00 03 57")
    assert codec.status_reply(2, 0xFFFE) == frame
    status = codec.parse_status(frame)
    assert (status.board, status.hooks, status.items) == (2, 0xFFFE, 0)
    assert status.door(1) is DoorState.OPEN
    assert status.door(2) is DoorState.CLOSED
    assert status.door(16) is DoorState.CLOSED


def test_items_bytes_follow_the_hooks():
    frame = codec.status_reply(1, hooks=0x0100, items=0x8001)
    assert frame[3:7] == bytes([0x00, 0x01, 0x01, 0x80])
    status = codec.parse_status(frame)
    assert status.door(9) is DoorState.CLOSED and status.door(1) is DoorState.OPEN
    assert status.items == 0x8001


def test_checksum_is_the_low_byte_of_the_sum():
    assert codec.checksum(bytes([0xFF, 0xFF, 0x03])) == 0x01
    assert codec.checksum(b"") == 0


@pytest.mark.parametrize("board, channel", [(-1, 1), (16, 1), (1, 0), (1, 17)])
def test_address_out_of_range(board, channel):
    with pytest.raises(ValueError):
        codec.address_byte(board, channel)


def test_parse_request_round_trip():
    request = codec.parse_request(codec.unlock_request(3, 7))
    assert request == codec.Request(board=3, channel=7, command=codec.CMD_UNLOCK)


def test_find_frame_skips_noise_before_a_frame():
    reply = codec.status_reply(1, 0xFFFF)
    noise = bytes.fromhex("ff 00 02 99 13 02")  # includes stray STX bytes
    found = codec.find_frame(noise + reply + b"\x02\x10")
    assert found.frame == reply
    assert found.consumed == len(noise) + len(reply)
    assert found.error == ""


def test_find_frame_waits_for_the_rest_of_a_frame():
    reply = codec.status_reply(1, 0xFFFF)
    found = codec.find_frame(b"\xaa\xbb" + reply[:6])
    assert found.frame is None
    assert found.consumed == 2  # the noise goes, the partial frame stays


def test_find_frame_drops_a_frame_with_a_bad_checksum():
    reply = codec.status_reply(1, 0xFFFF)
    bad = reply[:-1] + bytes([reply[-1] ^ 0xFF])
    found = codec.find_frame(bad + reply)
    assert found.frame is None and found.consumed == len(bad)
    assert "checksum" in found.error
    assert codec.find_frame((bad + reply)[found.consumed:]).frame == reply


def test_find_frame_in_pure_noise_consumes_it():
    assert codec.find_frame(b"\x00\x11\x22") == codec.Found(None, 3)


def test_parse_rejects_the_wrong_kind_of_frame():
    with pytest.raises(ValueError):
        codec.parse_status(codec.status_request(1))
    with pytest.raises(ValueError):
        codec.parse_request(codec.status_reply(1, 0))


# --- Older KR-CU boards: 8A addr lock 11 xor


def test_legacy_unlock_and_status_bytes():
    assert legacy_codec.unlock_request(1, 1) == bytes.fromhex("8a 01 01 11 9b")
    assert legacy_codec.unlock_request(1, 0x18) == bytes.fromhex("8a 01 18 11 82")
    assert legacy_codec.status_request(1, 1) == bytes.fromhex("80 01 01 33 b3")


def test_legacy_reply_parse():
    closed = legacy_codec.parse_reply(bytes.fromhex("80 01 05 11 95"))
    assert (closed.board, closed.lock, closed.door) == (1, 5, DoorState.CLOSED)
    opened = legacy_codec.parse_reply(bytes.fromhex("8a 02 03 00 8b"))
    assert opened.door is DoorState.OPEN and opened.header == legacy_codec.UNLOCK


def test_legacy_reply_rejects_bad_xor_and_junk():
    with pytest.raises(ValueError, match="checksum"):
        legacy_codec.parse_reply(bytes.fromhex("80 01 05 11 00"))
    with pytest.raises(ValueError, match="not a KR-CU reply"):
        legacy_codec.parse_reply(bytes.fromhex("02 10 30 03 45"))


def test_legacy_whole_board_status_bytes():
    # lock 0 asks for every lock; the vendor sheet's example
    assert legacy_codec.status_request(1) == bytes.fromhex("80 01 00 33 b2")
    assert legacy_codec.board_reply(1, 0xFFFFFFFF) == bytes.fromhex("80 01 ff ff ff ff 33 b2")


def test_legacy_whole_board_reply_is_highest_group_first():
    # lock 1 open, lock 9 open, lock 32 open, the rest closed
    frame = legacy_codec.board_reply(2, 0xFFFFFFFF & ~(1 << 0) & ~(1 << 8) & ~(1 << 31))
    assert frame[2:6] == bytes([0x7F, 0xFF, 0xFE, 0xFE])
    status = legacy_codec.parse_board_reply(frame)
    assert status.board == 2
    assert [status.door(n) for n in (1, 2, 9, 10, 32)] == [
        DoorState.OPEN, DoorState.CLOSED, DoorState.OPEN, DoorState.CLOSED, DoorState.OPEN]


def test_legacy_one_lock_reply_bytes():
    assert legacy_codec.reply(1, 1, door_open=True) == bytes.fromhex("8a 01 01 00 8a")
    assert legacy_codec.reply(1, 1, door_open=False, header=legacy_codec.STATUS) == bytes.fromhex(
        "80 01 01 11 91")


@pytest.mark.parametrize("board, lock", [(0, 1), (65, 1), (1, 0)])
def test_legacy_address_out_of_range(board, lock):
    with pytest.raises(ValueError):
        legacy_codec.unlock_request(board, lock)


def test_legacy_request_round_trip():
    assert legacy_codec.parse_request(legacy_codec.unlock_request(3, 7)) == legacy_codec.Request(
        3, 7, legacy_codec.UNLOCK)
    assert legacy_codec.parse_request(legacy_codec.status_request(3)).lock == legacy_codec.WHOLE_BOARD


def test_legacy_finders_skip_noise_and_drop_bad_xor():
    reply = legacy_codec.board_reply(1, 0xFFFF)
    bad = reply[:-1] + bytes([reply[-1] ^ 0xFF])
    noise = bytes.fromhex("00 80 8a 13")  # stray header bytes
    found = legacy_codec.find_board_reply(noise + bad + reply)
    assert found.frame is None and found.consumed == len(noise + bad)
    assert "checksum" in found.error
    assert legacy_codec.find_board_reply(reply[:5]) == codec.Found(None, 0)  # wait for the rest
    assert legacy_codec.find_board_reply(reply).frame == reply
    request = legacy_codec.unlock_request(1, 2)
    assert legacy_codec.find_request(noise + request).frame == request
    assert legacy_codec.find_reply(noise + legacy_codec.reply(1, 2, True)).frame == bytes.fromhex(
        "8a 01 02 00 89")
