"""Frames of older Kerong KR-CU boards (before the CU16 STX/ETX protocol).

Codec only: the `kerong` driver speaks the CU16 protocol (`codec`); this
module is here so a driver option for older cabinets can be added without
mixing the two byte formats. Frame layout, 5 bytes each way::

    unlock  0x8A BOARD LOCK 0x11 XOR
    status  0x80 BOARD LOCK 0x33 XOR
    reply   (same header) BOARD LOCK STATE XOR

Where each byte comes from
--------------------------
* Project brief: the unlock frame ``8A addr lock 11 xor``.
* A public Python client for these boards (found with the project's code
  search): the XOR covers the four bytes before it (``8A 01 00 11`` gives
  0x9A), status requests use header 0x80 and function 0x33, and a state
  byte of 0x11 reads closed (latched), 0x00 open.
* Our choices, unverified on hardware: BOARD and LOCK are plain numbers
  (lock counted from 1; lock 0 addresses the whole board and is not used
  here), and a reply repeats the request's header byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.interfaces import DoorState

UNLOCK = 0x8A
STATUS = 0x80
FN_UNLOCK = 0x11
FN_STATUS = 0x33
STATE_CLOSED = 0x11
STATE_OPEN = 0x00
FRAME_LENGTH = 5


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def _frame(header: int, board: int, lock: int, function: int) -> bytes:
    if not 0 <= board <= 0xFF or not 1 <= lock <= 0xFF:
        raise ValueError(f"board must be 0-255 and lock 1-255, got {board}, {lock}")
    body = bytes([header, board, lock, function])
    return body + bytes([xor(body)])


def unlock_request(board: int, lock: int) -> bytes:
    return _frame(UNLOCK, board, lock, FN_UNLOCK)


def status_request(board: int, lock: int) -> bytes:
    return _frame(STATUS, board, lock, FN_STATUS)


@dataclass(frozen=True)
class Reply:
    header: int  # UNLOCK or STATUS: which request this answers
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


def parse_reply(frame: bytes) -> Reply:
    """A 5-byte reply; raises ValueError naming what is wrong with it."""
    if len(frame) != FRAME_LENGTH or frame[0] not in (UNLOCK, STATUS):
        raise ValueError(f"not a KR-CU reply (8A/80 + 4 bytes): {frame.hex(' ')}")
    if xor(frame[:4]) != frame[4]:
        raise ValueError(
            f"checksum error in {frame.hex(' ')} (xor should be {xor(frame[:4]):02x})"
        )
    return Reply(frame[0], frame[1], frame[2], frame[3])
