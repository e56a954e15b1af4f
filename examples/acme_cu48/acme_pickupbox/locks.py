"""The ACME CU48 driver: framing only; the rest comes from PolledSerialBank."""

from __future__ import annotations

from hardware.box import BoardSpec
from hardware.interfaces import DoorState
from hardware.polled_serial import PolledSerialBank, Reply

from acme_pickupbox import protocol


class AcmeLockerBank(PolledSerialBank):
    driver_name = "acme-cu48"
    default_baudrate = protocol.BAUDRATE

    def status_request(self, board: BoardSpec) -> bytes:
        return protocol.status_request(board.address)

    def unlock_request(self, board: BoardSpec, channel: int) -> bytes:
        return protocol.unlock_request(board.address, channel)

    def find_reply(self, board: BoardSpec, buffer: bytes, request: bytes, final: bool) -> Reply:
        wanted = request[:3].decode("ascii").lower()  # "s01" answers "S01", "u01" "U01:.."
        consumed, error = 0, ""
        while (end := buffer.find(b"\n", consumed)) >= 0:
            line, consumed = buffer[consumed:end + 1], end + 1
            try:
                body = protocol.parse(line)
            except ValueError as exc:
                error = str(exc)
                continue
            if not body.startswith(wanted):
                continue  # another board's line
            if body[0] == "u":
                return Reply({}, consumed)  # acknowledged; the poll reads the door
            closed = int(body[4:], 16)
            doors = {
                ch: DoorState.CLOSED if closed >> (ch - 1) & 1 else DoorState.OPEN
                for ch in range(1, protocol.CHANNELS + 1)
            }
            return Reply(doors, consumed)
        return Reply(None, consumed, error)
