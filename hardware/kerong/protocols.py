"""The two Kerong wire protocols behind one small interface.

`KerongLockerBank` talks to its boards through a `Protocol`: build a status
or unlock request, then find the reply to it in the bytes that came back.
Which one is used is the driver option ``protocol``: ``"cu16"`` (`Cu16`,
the KR-CU16 ``STX addr cmd ETX sum`` frames of `codec`) or ``"legacy"``
(`Legacy`, the older ``8A addr lock 11 xor`` frames of `legacy_codec`). The
byte formats and where each fact comes from are in those two modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol as _Interface

from hardware.interfaces import DoorState
from hardware.kerong import codec, legacy_codec
from hardware.polled_serial import Reply


class Protocol(_Interface):
    """What the driver needs from a wire protocol; no I/O here."""

    name: str
    baudrate: int  # the boards' factory setting
    min_address: int
    max_address: int
    channels: int  # locks one board can have
    unlock_reply_delay: float  # extra seconds a board may take to answer an unlock

    def status_request(self, address: int) -> bytes: ...

    def unlock_request(self, address: int, channel: int) -> bytes: ...

    def find_reply(self, buffer: bytes, request: bytes, *, channels: int = 16,
                   final: bool = False) -> Reply:
        """The reply to `request` (built by this protocol) in `buffer`.

        `channels` is the board's lock count from the box file, `final` says
        no more bytes will come. Skips noise and replies of other boards
        (and, with CU16 frames, echoes of our own requests; legacy frames
        cannot tell them apart, see `legacy_codec`).
        """
        ...


class Cu16:
    name = "cu16"
    baudrate = codec.BAUDRATE
    min_address = 0
    max_address = codec.MAX_ADDRESS
    channels = codec.CHANNELS
    unlock_reply_delay = 0.0  # the board answers at once with its status

    def status_request(self, address: int) -> bytes:
        return codec.status_request(address)

    def unlock_request(self, address: int, channel: int) -> bytes:
        return codec.unlock_request(address, channel)

    def find_reply(self, buffer: bytes, request: bytes, *, channels: int = 16,
                   final: bool = False) -> Reply:
        # Status and unlock are both answered with the 0x35 status frame.
        address = codec.parse_request(request).board

        def answer(frame: bytes) -> Mapping[int, DoorState] | None:
            if frame[2] != codec.REPLY_STATUS:
                return None  # our own request echoed by a 2-wire adapter
            status = codec.parse_status(frame)
            if status.board != address:
                return None
            return {ch: status.door(ch) for ch in range(1, codec.CHANNELS + 1)}

        return _scan(buffer, codec.find_frame, answer)


class Legacy:
    name = "legacy"
    baudrate = legacy_codec.BAUDRATE
    min_address = legacy_codec.MIN_ADDRESS
    max_address = legacy_codec.MAX_ADDRESS
    channels = legacy_codec.CHANNELS
    unlock_reply_delay = legacy_codec.UNLOCK_REPLY_DELAY

    def status_request(self, address: int) -> bytes:
        # One request per board and poll round, as with the CU16.
        return legacy_codec.status_request(address, legacy_codec.WHOLE_BOARD)

    def unlock_request(self, address: int, channel: int) -> bytes:
        return legacy_codec.unlock_request(address, channel)

    def find_reply(self, buffer: bytes, request: bytes, *, channels: int = 16,
                   final: bool = False) -> Reply:
        asked = legacy_codec.parse_request(request)
        whole_board = (asked.command == legacy_codec.STATUS
                       and asked.lock == legacy_codec.WHOLE_BOARD)

        def board_answer(frame: bytes) -> Mapping[int, DoorState] | None:
            status = legacy_codec.parse_board_reply(frame)
            if status.board != asked.board:
                return None
            return {ch: status.door(ch) for ch in range(1, status.channels + 1)}

        def lock_answer(frame: bytes) -> Mapping[int, DoorState] | None:
            reply = legacy_codec.parse_reply(frame)
            if (reply.board, reply.lock) != (asked.board, asked.lock):
                return None
            return {reply.lock: reply.door}

        if whole_board:
            expected = legacy_codec.reply_length(min(channels, legacy_codec.CHANNELS))

            def find(data: bytes) -> codec.Found:
                return legacy_codec.find_board_reply(data, expected, final)

            return _scan(buffer, find, board_answer)
        return _scan(buffer, legacy_codec.find_reply, lock_answer)


def _scan(
    buffer: bytes,
    find: Callable[[bytes], codec.Found],
    answer: Callable[[bytes], Mapping[int, DoorState] | None],
) -> Reply:
    """Frames from `find` until `answer` takes one as the reply we wait for."""
    consumed, error = 0, ""
    while True:
        found = find(buffer[consumed:])
        consumed += found.consumed
        error = found.error or error
        if found.frame is None:
            return Reply(None, consumed, error)
        doors = answer(found.frame)
        if doors is not None:
            return Reply(doors, consumed, error)


PROTOCOLS: dict[str, Protocol] = {"cu16": Cu16(), "legacy": Legacy()}
