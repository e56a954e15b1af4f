"""Frame scanners always make progress on garbage.

A driver calls a finder, drops `consumed` bytes, and calls it again while
bytes are left. On any input that loop must end: every call either
consumes something or leaves less than one frame, and a single call must
not spin. The step count is bounded by tracing the codec's own lines, so a
scanner that stops advancing fails here at once (and deterministically)
instead of hanging the test run.
"""

from __future__ import annotations

import random
import sys
from contextlib import contextmanager

import pytest

from hardware.kerong import codec, legacy_codec

# The longest whole-board reply of an older KR-CU board (replies of 7, 8
# and 11 bytes are to be accepted): a scanner may wait for that many bytes.
LONGEST_BOARD_REPLY = 11
# scanner -> the longest frame it looks for
SCANNERS = {
    "cu16": (codec.find_frame, max(codec.FRAME_LENGTHS.values())),
    "legacy request": (legacy_codec.find_request, legacy_codec.FRAME_LENGTH),
    "legacy reply": (legacy_codec.find_reply, legacy_codec.FRAME_LENGTH),
    "legacy board": (legacy_codec.find_board_reply, LONGEST_BOARD_REPLY),
}
CODEC_FILES = {codec.__file__, legacy_codec.__file__}


class Spinning(Exception):
    """A scanner ran far more steps than its input can need."""


@contextmanager
def step_limit(limit: int):
    """Counts the lines run inside the codec modules; raises Spinning past `limit`."""
    steps = 0

    def local(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > limit:
                raise Spinning(f"more than {limit} steps")
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in CODEC_FILES else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def drain(find, frame_length: int, buffer: bytes) -> list[bytes]:
    """What a driver does with a buffer: scan, drop, repeat. Returns the frames."""
    frames = []
    calls = 0
    while buffer:
        calls += 1
        # Each call may look at every byte a few times, no more.
        with step_limit(60 * len(buffer) + 200):
            found = find(buffer)
        assert 0 <= found.consumed <= len(buffer)
        if found.frame is not None:
            assert found.consumed >= len(found.frame)
            frames.append(found.frame)
        if found.consumed == 0:
            # Nothing dropped is only right while a frame may still be arriving.
            assert found.frame is None and len(buffer) < frame_length, (
                f"no progress on {buffer.hex(' ')}")
            break
        buffer = buffer[found.consumed:]
        assert calls <= 10_000
    return frames


def garbage(rng: random.Random, alphabet: bytes | None = None) -> bytes:
    length = rng.randrange(0, 200)
    if alphabet is None:
        return rng.randbytes(length)
    return bytes(rng.choice(alphabet) for _ in range(length))


# Bytes that look like frame starts, ends and commands, so the scanners take
# their every branch instead of skipping uniform noise.
FRAME_BYTES = bytes([codec.STX, codec.ETX, codec.CMD_STATUS, codec.CMD_UNLOCK, codec.REPLY_STATUS,
                     legacy_codec.UNLOCK, legacy_codec.STATUS, legacy_codec.FN_UNLOCK,
                     legacy_codec.FN_STATUS, 0x00, 0x01, 0xFF])


@pytest.mark.parametrize("name", SCANNERS)
@pytest.mark.parametrize("alphabet", [None, FRAME_BYTES], ids=["random", "frame-like"])
def test_scanners_make_progress_on_random_bytes(name, alphabet):
    find, length = SCANNERS[name]
    rng = random.Random(f"progress:{name}:{alphabet is None}")
    for _ in range(300):
        drain(find, length, garbage(rng, alphabet))


@pytest.mark.parametrize("name", SCANNERS)
def test_scanners_make_progress_on_runs_of_start_bytes(name):
    find, length = SCANNERS[name]
    for start in (codec.STX, legacy_codec.UNLOCK, legacy_codec.STATUS):
        for count in range(1, 40):
            drain(find, length, bytes([start]) * count)
            drain(find, length, bytes([start, 0x00]) * count)


def test_frames_hidden_in_garbage_are_all_found():
    rng = random.Random("hidden")
    frames = [codec.status_reply(b, rng.randrange(0x10000)) for b in range(16)]
    stream = b"".join(bytes([0x00]) * rng.randrange(5) + f for f in frames)
    assert drain(codec.find_frame, codec.REPLY_LENGTH, stream) == frames
    requests = [legacy_codec.unlock_request(b, b) for b in range(1, 20)]
    stream = b"".join(bytes([0x55]) * rng.randrange(5) + f for f in requests)
    assert drain(legacy_codec.find_request, legacy_codec.FRAME_LENGTH, stream) == requests
    replies = [legacy_codec.board_reply(b, rng.randrange(2**32)) for b in range(1, 10)]
    stream = b"".join(bytes([0x00]) * rng.randrange(5) + f for f in replies)
    assert drain(legacy_codec.find_board_reply, LONGEST_BOARD_REPLY, stream) == replies


def test_the_step_limit_itself_trips():
    # The guard must work, or the tests above prove nothing.
    def spin(buffer):
        while True:
            codec.checksum(buffer)

    with pytest.raises(Spinning):
        drain(spin, 5, b"\x02" * 10)
