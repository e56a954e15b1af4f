"""Frames of older Kerong KR-CU boards (before the CU16 STX/ETX protocol).

Pure functions, no I/O, like `codec` for the CU16 boards. The driver reaches
them through `hardware.kerong.protocols.Legacy` (option ``protocol =
"legacy"``); the simulator (`hardware.devicesim.kerong_bus`) builds its
replies here too, so the two cannot drift apart. Frame layout::

    unlock request    0x8A BOARD LOCK 0x11 XOR                    5 bytes
    status request    0x80 BOARD LOCK 0x33 XOR                    5 bytes
                      (LOCK 0 = the whole board)
    one-lock reply    HEAD BOARD LOCK STATE XOR                   5 bytes
    whole-board reply 0x80 BOARD L25-32 L17-24 L9-16 L1-8 0x33 XOR  8 bytes

Where each fact comes from
--------------------------
Kerong's sheet for these boards is not public; the frames are the ones of
a generic Chinese RS485 lock-board protocol that several public clients
speak (found with the project's code search). What they agree on:

* Project brief (/work/shared/BRIEF.md): the unlock frame ``8A addr lock 11
  xor``.
* XOR is the exclusive-or of every byte before it (``8A 01 01 11`` gives
  0x9B, ``80 01 00 33`` gives 0xB2): a C# shelf-lock driver that quotes the
  vendor sheet, a ROS 2 lock-controller README and several Java clients.
* Status requests have header 0x80 and function 0x33; LOCK 0 asks for the
  whole board (ROS 2 README, the vendor sheet quoted by the C# driver).
* The whole-board reply carries one bit per lock, highest group first and
  bit 0 = the lowest lock of its group, then 0x33 and the XOR; the all-closed
  example is ``80 01 FF FF FF FF 33 B2`` (vendor sheet in the C# driver).
  A set bit means closed (locked), a clear one open.
* A one-lock state byte of 0x11 reads locked, 0x00 open (ROS 2 README; the
  vendor sheet's status section).
* BOARD is the address switch, 1 to 64 (vendor sheet; the ROS 2 README says
  1 to 32); LOCK counts from 1.
* The boards run at 9600 baud 8N1 in every public client.
* The unlock reply comes about one second after the request, once the lock
  has had time to open (vendor sheet). The driver waits `UNLOCK_REPLY_DELAY`
  longer for it than for a status reply.

Our choices, unverified on hardware (deploy/udev/README.md, "Checking a new
lock board's protocol", says how to check them on a real board):

* The one-lock reply header: the vendor sheet shows 0x80 for the unlock
  reply, the ROS 2 README and the Java clients show 0x8A (``8A 01 01 00 8A``
  = opened). We accept both and send 0x8A from the simulator.
* The state polarity: the sheet's unlock example calls 0x11 "open", its
  status section calls 0x11 "locked"; it depends on whether the feedback
  switch is normally open or closed. We read 0x11 and a set bit as closed,
  as the status section does; a board wired the other way reads every door
  open at start-up, which shows on the first ``kiosk-hw doors``.
* The whole-board reply always has four data bytes (32 locks), as the vendor
  sheet says. One public client reads a shorter reply from 12-lock boards
  (one data byte per 8 locks); such a board shows up here as garbled or
  silent, never as wrong door states.
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
BOARD_REPLY_LENGTH = 8
WHOLE_BOARD = 0  # LOCK value of a status request for every lock

MIN_ADDRESS = 1
MAX_ADDRESS = 64
CHANNELS = 32  # what a whole-board reply can carry
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

    def door(self, lock: int) -> DoorState:
        return DoorState.CLOSED if self.closed >> (lock - 1) & 1 else DoorState.OPEN


def board_reply(board: int, closed: int) -> bytes:
    """The 8-byte whole-board reply (simulator and tests)."""
    _check(board, 1)
    groups = [closed >> shift & 0xFF for shift in (24, 16, 8, 0)]  # locks 25-32 first
    return _frame(STATUS, board, *groups, FN_STATUS)


def parse_board_reply(frame: bytes) -> BoardStatus:
    """A checked 8-byte frame (from `find_board_reply`) as a BoardStatus."""
    if not _is_board_reply(frame) or xor(frame[:-1]) != frame[-1]:
        raise ValueError(f"not a KR-CU whole-board reply: {frame.hex(' ')}")
    return BoardStatus(frame[1], int.from_bytes(frame[2:6], "big"))


# --- Finding frames in a byte stream (noise, replies of other boards)


def _is_request(frame: bytes) -> bool:
    return len(frame) == FRAME_LENGTH and (frame[0], frame[3]) in ((UNLOCK, FN_UNLOCK), (STATUS, FN_STATUS))


def _is_reply(frame: bytes) -> bool:
    return frame[0] in (UNLOCK, STATUS) and frame[3] in (STATE_OPEN, STATE_CLOSED)


def _is_board_reply(frame: bytes) -> bool:
    return len(frame) == BOARD_REPLY_LENGTH and frame[0] == STATUS and frame[6] == FN_STATUS


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


def find_board_reply(buffer: bytes) -> Found:
    """The first whole-board reply in `buffer`."""
    return _find(buffer, BOARD_REPLY_LENGTH, _is_board_reply)
