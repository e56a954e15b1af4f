"""Frames of older Kerong KR-CU boards (before the CU16 STX/ETX protocol).

Pure functions, no I/O, like `codec` for the CU16 boards. The driver reaches
them through `hardware.kerong.protocols.Legacy` (option ``protocol =
"legacy"``); the simulator (`hardware.devicesim.kerong_bus`) builds its
replies here too, so the two cannot drift apart. Frame layout::

    unlock request    0x8A BOARD LOCK 0x11 XOR                    5 bytes
    status request    0x80 BOARD LOCK 0x33 XOR                    5 bytes
                      (LOCK 0 = the whole board)
    one-lock reply    HEAD BOARD LOCK STATE XOR                   5 bytes
    whole-board reply 0x80 BOARD L17-24 L9-16 L1-8 0x33 XOR          7 bytes
                      0x80 BOARD L25-32 ... L1-8 0x33 XOR             8 bytes
                      0x80 BOARD L49-50 ... L1-8 0x33 XOR            11 bytes

Where each fact comes from
--------------------------
Kerong's sheet for these boards is not public; the frames are those of a
generic RS485 lock-board protocol that several public clients speak. Read
(with the project's code search, never copied) and agreeing:
Open-Locker/Open-Locker (locker-client's RS485 lock-board codec and its
docs/rs485-lock-board.md, with a query-all frame captured from a real
8-channel board), nyh3174680732/yunle_sensors, a ROS 2 lock-controller
README and two C# clients (one quotes the vendor sheet).

Confirmed by those sources:

* Project brief (/work/shared/BRIEF.md): the unlock frame ``8A addr lock 11
  xor``.
* XOR is the exclusive-or of every byte before it (``8A 01 01 11`` gives
  0x9B, ``80 01 00 33`` gives 0xB2): every source, and Open-Locker's docs
  ("an XOR/BCC over all bytes").
* Status requests have header 0x80 and function 0x33; LOCK 0 asks for the
  whole board (Open-Locker, the ROS 2 README, the C# vendor sheet).
* The one-lock reply header 0x8A with a state byte of 0x00 or 0x11
  (Open-Locker: "each unlock reply carries one status byte, 00 or 11").
* The whole-board reply's length follows the board (Open-Locker takes it
  "from the received frame"): ``80 BOARD <data> 33 XOR`` with 3 data bytes
  on 8- and 24-channel boards (7 bytes; the captured frame is
  ``80 01 00 00 00 33 B2``), 4 on 32-channel boards (8 bytes, the C# vendor
  sheet's ``80 01 FF FF FF FF 33 B2``), 7 on 50-channel boards (11 bytes).
  `BOARD_REPLY_CHANNELS` lists them; a length not in it is reported as
  "fits no known variant", never read as door states.
* The boards run at 9600 baud 8N1 (every source).
* The unlock reply comes once the lock has opened: about a second in the
  vendor sheet, ~500 ms in Open-Locker's timing table. The driver waits
  `UNLOCK_REPLY_DELAY` longer for it than for a status reply.

Still assumed (deploy/udev/README.md, "Checking a new lock board's
protocol", says how to check them on a real board):

* Group order in the whole-board reply: highest group first, bit 0 = the
  lowest lock of its group, so the last data byte holds locks 1-8 (the C#
  vendor sheet; one public source orders the groups lowest-first). A board
  that does the other thing shows doors swapped by groups of eight, which
  ``kiosk-hw open N`` reveals at once. Pinned by a golden-byte test.
* Polarity: 0x11 and a set bit read closed (latched), as in the vendor
  sheet's status section and Open-Locker's default ``door_closing``
  feedback; its ``door_opening`` is the other way round. That is the
  driver's ``polarity`` option (per board in the box file).
* The vendor sheet shows 0x80 as the header of the unlock reply too; we
  accept both 0x80 and 0x8A and send 0x8A from the simulator.
* BOARD is the address switch, 1 to 64 (the C# vendor sheet; the ROS 2
  README says 1 to 32, Open-Locker supports 1 to 31); LOCK counts from 1.
* An unlock request and a "still locked" reply to it can be the same five
  bytes (``8A 01 01 11 9B``), so a two-wire adapter that echoes our own
  frames cannot be told from a board answering: use an adapter without echo
  (most USB-RS485 adapters) with this protocol.
* A frame that fails its XOR is dropped whole, as in `codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hardware.interfaces import DoorState
from hardware.kerong.codec import Found

UNLOCK = 0x8A
STATUS = 0x80
FN_UNLOCK = 0x11
FN_STATUS = 0x33
STATE_CLOSED = 0x11
STATE_OPEN = 0x00
FRAME_LENGTH = 5
# Whole-board reply length -> the locks it carries (3, 4 or 7 data bytes).
BOARD_REPLY_CHANNELS = {7: 24, 8: 32, 11: 50}
MAX_BOARD_REPLY = 16  # longest frame looked at when naming an unknown length
WHOLE_BOARD = 0  # LOCK value of a status request for every lock

MIN_ADDRESS = 1
MAX_ADDRESS = 64
CHANNELS = 50  # what the longest whole-board reply can carry
BAUDRATE = 9600
UNLOCK_REPLY_DELAY = 1.0  # seconds the board takes before it answers an unlock


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def _check(board: int, lock: int, *, lock_may_be_zero: bool = False) -> None:
    if not MIN_ADDRESS <= board <= MAX_ADDRESS:
        raise ValueError(f"KR-CU board address must be {MIN_ADDRESS} to {MAX_ADDRESS}, got {board}")
    if not (0 if lock_may_be_zero else 1) <= lock <= 0xFF:
        raise ValueError(f"KR-CU lock must be 1 to 255, got {lock}")


def _frame(*body: int) -> bytes:
    return bytes(body) + bytes([xor(bytes(body))])


def unlock_request(board: int, lock: int) -> bytes:
    _check(board, lock)
    return _frame(UNLOCK, board, lock, FN_UNLOCK)


def status_request(board: int, lock: int = WHOLE_BOARD) -> bytes:
    """Ask for one lock's state, or (lock 0) for the whole board's."""
    _check(board, lock, lock_may_be_zero=True)
    return _frame(STATUS, board, lock, FN_STATUS)


@dataclass(frozen=True)
class Request:
    board: int
    lock: int  # 1-255, or WHOLE_BOARD in a status request
    command: int  # the header byte: UNLOCK or STATUS


def parse_request(frame: bytes) -> Request:
    """A checked request frame (from `find_request`) as a Request."""
    if not _is_request(frame) or xor(frame[:4]) != frame[4]:
        raise ValueError(f"not a KR-CU request: {frame.hex(' ')}")
    return Request(frame[1], frame[2], frame[0])


@dataclass(frozen=True)
class Reply:
    """A one-lock reply (to an unlock, or to a one-lock status request)."""

    header: int  # UNLOCK or STATUS
    board: int
    lock: int
    state: int

    @property
    def door(self) -> DoorState:
        if self.state == STATE_CLOSED:
            return DoorState.CLOSED
        if self.state == STATE_OPEN:
            return DoorState.OPEN
        return DoorState.UNKNOWN


def reply(board: int, lock: int, door_open: bool, header: int = UNLOCK) -> bytes:
    """The one-lock reply a board sends (simulator and tests)."""
    _check(board, lock)
    return _frame(header, board, lock, STATE_OPEN if door_open else STATE_CLOSED)


def parse_reply(frame: bytes) -> Reply:
    """A 5-byte reply; raises ValueError naming what is wrong with it."""
    if len(frame) != FRAME_LENGTH or frame[0] not in (UNLOCK, STATUS):
        raise ValueError(f"not a KR-CU reply (8A/80 + 4 bytes): {frame.hex(' ')}")
    if xor(frame[:4]) != frame[4]:
        raise ValueError(
            f"checksum error in {frame.hex(' ')} (xor should be {xor(frame[:4]):02x})"
        )
    return Reply(frame[0], frame[1], frame[2], frame[3])


@dataclass(frozen=True)
class BoardStatus:
    """A whole-board reply: bit n of `closed` set = lock n+1 closed."""

    board: int
    closed: int
    channels: int = 32  # locks the reply carries

    def door(self, lock: int) -> DoorState:
        return DoorState.CLOSED if self.closed >> (lock - 1) & 1 else DoorState.OPEN


def reply_length(channels: int) -> int:
    """The whole-board reply a board with `channels` locks sends."""
    for length, carried in sorted(BOARD_REPLY_CHANNELS.items()):
        if channels <= carried:
            return length
    raise ValueError(f"legacy boards carry at most {CHANNELS} locks, got {channels}")


def board_reply(board: int, closed: int, length: int = 8) -> bytes:
    """The whole-board reply of `length` bytes (simulator and tests).

    Any length from 5 up builds (tests need frames of unknown variants);
    only those in BOARD_REPLY_CHANNELS parse.
    """
    _check(board, 1)
    if length < 5:
        raise ValueError(f"a whole-board reply has at least 5 bytes, got {length}")
    data = (closed & ((1 << 8 * (length - 4)) - 1)).to_bytes(length - 4, "big")  # highest first
    return _frame(STATUS, board, *data, FN_STATUS)


def parse_board_reply(frame: bytes) -> BoardStatus:
    """A checked frame (from `find_board_reply`) as a BoardStatus."""
    if not _is_board_reply(frame) or xor(frame[:-1]) != frame[-1]:
        raise ValueError(f"not a KR-CU whole-board reply: {frame.hex(' ')}")
    channels = BOARD_REPLY_CHANNELS[len(frame)]
    closed = int.from_bytes(frame[2:-2], "big") & ((1 << channels) - 1)
    return BoardStatus(frame[1], closed, channels)


# --- Finding frames in a byte stream (noise, replies of other boards)


def _is_request(frame: bytes) -> bool:
    shapes = ((UNLOCK, FN_UNLOCK), (STATUS, FN_STATUS))
    return len(frame) == FRAME_LENGTH and (frame[0], frame[3]) in shapes


def _is_reply(frame: bytes) -> bool:
    return frame[0] in (UNLOCK, STATUS) and frame[3] in (STATE_OPEN, STATE_CLOSED)


def _is_board_reply(frame: bytes) -> bool:
    return len(frame) in BOARD_REPLY_CHANNELS and _board_shaped(frame)


def _board_shaped(frame: bytes) -> bool:
    return len(frame) >= 5 and frame[0] == STATUS and frame[-2] == FN_STATUS


def _find(buffer: bytes, length: int, shaped: Callable[[bytes], bool]) -> Found:
    """The first `length`-byte frame of the right shape and a good XOR.

    Same contract as `codec.find_frame`: drop `consumed` bytes in any case;
    a frame of the right shape with a bad XOR is dropped with an error.
    """
    start = 0
    while True:
        starts = [i for i in (buffer.find(UNLOCK, start), buffer.find(STATUS, start)) if i >= 0]
        if not starts:
            return Found(None, len(buffer))
        start = min(starts)
        if len(buffer) - start < length:
            return Found(None, start)
        candidate = bytes(buffer[start:start + length])
        if not shaped(candidate):  # an 0x80/0x8A inside noise
            start += 1
            continue
        end = start + length
        if xor(candidate[:-1]) != candidate[-1]:
            return Found(
                None, end,
                f"checksum error in {candidate.hex(' ')} (xor should be {xor(candidate[:-1]):02x})",
            )
        return Found(candidate, end)


def find_request(buffer: bytes) -> Found:
    """The first unlock or status request in `buffer` (board side)."""
    return _find(buffer, FRAME_LENGTH, _is_request)


def find_reply(buffer: bytes) -> Found:
    """The first one-lock reply in `buffer`."""
    return _find(buffer, FRAME_LENGTH, _is_reply)


def find_board_reply(buffer: bytes, expected: int = 8, final: bool = False) -> Found:
    """The first whole-board reply in `buffer`, of any known length.

    `expected` is the length the board should send (`reply_length` of its
    channels): tried first, the other known lengths after it. `final` says
    no more bytes will come (the reply timed out): only then is a frame of a
    length no variant has reported (in `error`, with what to try), since
    until then it may be the start of a longer one.
    """
    lengths = [expected, *sorted(n for n in BOARD_REPLY_CHANNELS if n != expected)]
    start = 0
    while True:
        start = buffer.find(STATUS, start)
        if start < 0:
            return Found(None, len(buffer))
        rest = bytes(buffer[start:start + MAX_BOARD_REPLY])
        shaped = _shaped(rest, lengths)
        for n in shaped:
            if xor(rest[:n - 1]) == rest[n - 1]:
                return Found(rest[:n], start + n)
        if not final and len(rest) < max(BOARD_REPLY_CHANNELS):
            return Found(None, start)  # a longer variant may still be arriving
        if shaped:
            n = shaped[0]
            if any(rest[i] == STATUS and _shaped(rest[i:], lengths) for i in range(1, n)):
                start += 1  # this 0x80 was noise before a frame that starts inside it
                continue
            return Found(
                None, start + n,
                f"checksum error in {rest[:n].hex(' ')} (xor should be {xor(rest[:n - 1]):02x})",
            )
        if final:
            for n in range(5, len(rest) + 1):
                if _board_shaped(rest[:n]) and xor(rest[:n - 1]) == rest[n - 1]:
                    known = ", ".join(str(k) for k in sorted(BOARD_REPLY_CHANNELS))
                    return Found(
                        None, start + n,
                        f"a whole-board reply of {n} bytes ({rest[:n].hex(' ')}) fits no known "
                        f"variant ({known} bytes for 24, 32 or 50 locks): check the board "
                        "model and report the frame to the project",
                    )
        start += 1


def _shaped(rest: bytes, lengths: list[int]) -> list[int]:
    return [n for n in lengths if len(rest) >= n and _board_shaped(rest[:n])]
