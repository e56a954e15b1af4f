"""Frames of the Kerong KR-CU16 lock board (RS485, 19200 baud, 8N1).

Pure functions, no I/O: build requests, check and parse replies, and find a
frame in a byte stream that may carry line noise before it. The driver
(`hardware.kerong.bank`) and the board simulator
(`hardware.devicesim.kerong_bus`) both use this module, so they cannot drift
apart; the golden-byte tests in ``tests/hardware/test_kerong_codec.py`` pin
the bytes themselves.

Frame layout::

    request  STX ADDR CMD ETX SUM                       5 bytes
    reply    STX ADDR 0x35 D1 D2 D3 D4 ETX SUM          9 bytes

Where each byte comes from
--------------------------
Kerong's CU16 protocol sheet is not public. Independent public clients
agree on every byte below (issue 14 checked seven of them; the
project's code search reads them, their code is never copied):
jin0949/KR-CU16_locker, mojisejr/smc-app (a deployed medicine-cabinet
app), RSPickup/machine-layer, suryavirkapur/kerong-lib, julio-alv/lkaas-kerong
and Arviv123/CartWise, besides the project brief (/work/shared/BRIEF.md).

Confirmed:

* The frame ``STX addr cmd ETX sum``: STX = 0x02, ETX = 0x03, and the sum is
  the low byte of the sum of every byte before it, STX and ETX included
  (the brief; kerong-lib's README: "Modulo-256 checksum of all preceding
  bytes"; the others alike).
* Unlock command 0x31, status command 0x30 (the brief; kerong-lib's
  command table; CartWise's KR-CU16 module).
* ADDR packs the board address (DIP switch, 0-15) in the high nibble and
  the lock (0-15, i.e. channel - 1) in the low nibble (every client).
* The 9-byte 0x35 reply ``STX ADDR 0x35 D1 D2 D3 D4 ETX SUM``: D1 = hook
  switches of locks 1-8 (bit 0 = lock 1), D2 = locks 9-16, D3/D4 = the
  optional infrared "item inside" sensors, same order (kerong-lib's README
  spells out this layout; the others agree).
* 19200 baud 8N1 (the brief; CartWise's "factory default").
* A set hook bit means latched, i.e. the door is CLOSED, in six of the seven
  clients. kerong-lib (for the "NCU16L" variant behind a TCP gateway) reads
  0 = locked, 1 = unlocked: that board is driven with ``polarity =
  "inverted"`` (box file or driver option).
* Most boards answer an unlock with the 0x35 status frame; kerong-lib's
  NCU16L answers none ("Response: none"): drive such boards with
  ``unlock_reply = false``, and the next status poll confirms the unlock.

Still assumed (deploy/udev/README.md, "Checking a new lock board's
protocol", says how to check them on a real board):

* A status request carries lock nibble 0; a reply is matched to its board
  by the high nibble only (the low nibble echoes the request).
* A reply that fails its checksum is dropped whole (not re-scanned byte by
  byte): on a half-duplex bus there is one reply per request, and the
  driver retries status requests anyway (never unlocks: a second pulse
  would be a second opening).
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.interfaces import DoorState

STX = 0x02
ETX = 0x03
CMD_STATUS = 0x30
CMD_UNLOCK = 0x31
REPLY_STATUS = 0x35

CHANNELS = 16
MAX_ADDRESS = 15
BAUDRATE = 19200

REQUEST_LENGTH = 5
REPLY_LENGTH = 9
# Frame length by command byte; the command byte tells requests from replies.
FRAME_LENGTHS = {CMD_STATUS: REQUEST_LENGTH, CMD_UNLOCK: REQUEST_LENGTH, REPLY_STATUS: REPLY_LENGTH}


def checksum(data: bytes) -> int:
    """Sum of all bytes, low 8 bits."""
    return sum(data) & 0xFF


def address_byte(board: int, channel: int = 1) -> int:
    """ADDR: board address in the high nibble, lock (channel - 1) in the low one."""
    if not 0 <= board <= MAX_ADDRESS:
        raise ValueError(f"KR-CU16 board address must be 0 to {MAX_ADDRESS}, got {board}")
    if not 1 <= channel <= CHANNELS:
        raise ValueError(f"KR-CU16 channel must be 1 to {CHANNELS}, got {channel}")
    return (board << 4) | (channel - 1)


def _frame(body: bytes) -> bytes:
    return body + bytes([checksum(body)])


def status_request(board: int) -> bytes:
    """Ask board `board` for the state of all 16 locks."""
    return _frame(bytes([STX, address_byte(board), CMD_STATUS, ETX]))


def unlock_request(board: int, channel: int) -> bytes:
    """Pulse lock `channel` (1-16) of board `board`."""
    return _frame(bytes([STX, address_byte(board, channel), CMD_UNLOCK, ETX]))


@dataclass(frozen=True)
class Request:
    board: int
    channel: int  # 1-16
    command: int  # CMD_STATUS or CMD_UNLOCK


@dataclass(frozen=True)
class Status:
    """A board's 0x35 reply: which hooks are latched, which items are seen."""

    board: int
    channel: int  # the lock nibble echoed from the request, 1-16
    hooks: int  # bit n set = lock n+1 latched = door closed
    items: int = 0  # infrared sensors, bit n = something inside compartment n+1

    def door(self, channel: int) -> DoorState:
        return DoorState.CLOSED if self.hooks >> (channel - 1) & 1 else DoorState.OPEN


def status_reply(board: int, hooks: int, items: int = 0, channel: int = 1) -> bytes:
    """The 9-byte reply a board sends (used by the simulator and the tests)."""
    body = bytes(
        [STX, address_byte(board, channel), REPLY_STATUS,
         hooks & 0xFF, hooks >> 8 & 0xFF, items & 0xFF, items >> 8 & 0xFF, ETX]
    )
    return _frame(body)


def parse_request(frame: bytes) -> Request:
    """A checked 5-byte request frame (from `find_frame`) as a Request."""
    if len(frame) != REQUEST_LENGTH or frame[2] not in (CMD_STATUS, CMD_UNLOCK):
        raise ValueError(f"not a KR-CU16 request: {frame.hex(' ')}")
    return Request(frame[1] >> 4, (frame[1] & 0x0F) + 1, frame[2])


def parse_status(frame: bytes) -> Status:
    """A checked 9-byte reply frame (from `find_frame`) as a Status."""
    if len(frame) != REPLY_LENGTH or frame[2] != REPLY_STATUS:
        raise ValueError(f"not a KR-CU16 status reply: {frame.hex(' ')}")
    return Status(
        board=frame[1] >> 4,
        channel=(frame[1] & 0x0F) + 1,
        hooks=frame[3] | frame[4] << 8,
        items=frame[5] | frame[6] << 8,
    )


@dataclass(frozen=True)
class Found:
    """What `find_frame` made of the start of a buffer.

    Drop the first `consumed` bytes in any case. `frame` is a complete frame
    with a good checksum, or None. `error` describes a frame that was
    dropped because its checksum was wrong.
    """

    frame: bytes | None
    consumed: int
    error: str = ""


def find_frame(buffer: bytes) -> Found:
    """The first complete frame in `buffer`, skipping noise before it.

    Returns ``Found(None, n)`` when no complete frame is there yet: the
    first n bytes are noise, the rest may be the start of a frame still
    arriving.
    """
    start = 0
    while True:
        start = buffer.find(STX, start)
        if start < 0:
            return Found(None, len(buffer))
        if len(buffer) - start < 3:
            return Found(None, start)
        length = FRAME_LENGTHS.get(buffer[start + 2])
        if length is None:  # an 0x02 inside noise, not a frame start
            start += 1
            continue
        if len(buffer) - start < length:
            return Found(None, start)
        candidate = bytes(buffer[start:start + length])
        if candidate[-2] != ETX:
            start += 1
            continue
        end = start + length
        if checksum(candidate[:-1]) != candidate[-1]:
            return Found(
                None, end,
                f"checksum error in {candidate.hex(' ')} "
                f"(sum should be {checksum(candidate[:-1]):02x})",
            )
        return Found(candidate, end)
