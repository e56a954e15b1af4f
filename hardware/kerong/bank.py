"""LockerBank driver for Kerong lock boards on an RS485 bus (pyserial).

One serial port, one or more boards told apart by their address (the DIP
switch), as the box description says (``[[boards]] address = 1``). Two wire
protocols, chosen with the option ``protocol`` (see
`hardware.kerong.protocols`):

* ``"cu16"`` (default): KR-CU16 boards, ``STX addr cmd ETX sum`` frames,
  addresses 0-15, 16 locks a board, 19200 baud.
* ``"legacy"``: older KR-CU boards, ``8A addr lock 11 xor`` frames,
  addresses 1-64, up to 32 locks a board, 9600 baud. They answer an unlock
  only once the lock has opened, about a second later, so the driver waits
  that much longer for an unlock reply than for a status reply.

A polling thread asks every board for its lock states in turn; the readings go
through `DoorWatch`, which turns them into OPENED / CLOSED / FORCED_OPEN /
UNLOCK_FAILED. `unlock()` shares the bus with the poller, one request at a
time, because RS485 is half duplex.

"Unlock acknowledged" (the board answered the unlock frame) is the
`UnlockResult`; "door opened" (the hook switch let go) is a `DoorEvent`.
The pulse goes out even when the door already reads open: sensor cables fail.

Faults and what health() says, one entry per board:

* port missing or unplugged: FAILED on every board, naming the port and
  what to check; the driver reopens it every `reconnect_interval` seconds
  and recovers by itself. unlock() raises DeviceUnavailable meanwhile.
* a board that stays silent for all `retries`: FAILED ("no answer").
* replies that keep failing their checksum: DEGRADED (noise on the bus).
* a door that did not open after an unlock: DEGRADED until it opens.
* a whole-board reply of a length no variant has, every door reading open
  with nothing unlocked (polarity), a board silent after an unlock that
  answers status requests: DEGRADED, the detail naming what was seen and
  the option to try (`polarity`, `unlock_reply`); no door event comes of it.

The port, the poller, reconnects, retries, health and door events are the
shared base for polled serial boards, `hardware.polled_serial`; this module
adds the Kerong framing and nothing else.

Options (``[hardware.locker_bank]`` with ``driver = "kerong"``;
``baudrate`` defaults to the protocol's factory setting): see
`_Options` below and deploy/kerong.example.toml.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from hardware.box import BoardSpec, BoxDescription
from hardware.errors import DriverConfigError
from hardware.kerong.protocols import PROTOCOLS, Protocol
from hardware.polled_serial import PolledSerialBank, Reply, SerialOptions


class _Options(SerialOptions):
    protocol: Literal["cu16", "legacy"] = "cu16"  # KR-CU16 frames, or the older 8A ... xor ones


class KerongLockerBank(PolledSerialBank):
    """All compartments of a box wired to Kerong boards on one RS485 port."""

    Options: ClassVar[type[SerialOptions]] = _Options
    driver_name: ClassVar[str] = "kerong"

    def __init__(self, box: BoxDescription, port: str, *, protocol: str = "cu16",
                 baudrate: int | None = None, **settings: Any) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"unknown Kerong protocol {protocol!r}; use one of {sorted(PROTOCOLS)}")
        self._protocol: Protocol = PROTOCOLS[protocol]
        self._addresses = _addresses(box, self._protocol)
        super().__init__(box, port, baudrate=baudrate or self._protocol.baudrate, **settings)

    def status_request(self, board: BoardSpec) -> bytes:
        return self._protocol.status_request(self._addresses[board.name])

    def unlock_request(self, board: BoardSpec, channel: int) -> bytes:
        return self._protocol.unlock_request(self._addresses[board.name], channel)

    def find_reply(self, board: BoardSpec, buffer: bytes, request: bytes, final: bool) -> Reply:
        return self._protocol.find_reply(buffer, request, channels=board.channels, final=final)

    def unlock_reply_delay(self, board: BoardSpec) -> float:
        return self._protocol.unlock_reply_delay


def _addresses(box: BoxDescription, protocol: Protocol) -> dict[str, int]:
    """Board name -> bus address; every board needs a distinct one in the protocol's range."""
    lowest, highest, channels = protocol.min_address, protocol.max_address, protocol.channels
    addresses: dict[str, int] = {}
    for i, board in enumerate(box.boards):
        if board.address is None or not lowest <= board.address <= highest:
            raise DriverConfigError(
                f"boards[{i}].address", board.address,
                f"the board's address switch setting, {lowest} to {highest} "
                f"(protocol {protocol.name!r})",
                source=box.source,
            )
        if board.channels > channels:
            raise DriverConfigError(
                f"boards[{i}].channels", board.channels,
                f"at most {channels} (protocol {protocol.name!r} drives {channels} locks a board)",
                source=box.source,
            )
        if board.address in addresses.values():
            raise DriverConfigError(
                f"boards[{i}].address", board.address, "an address no other board has",
                source=box.source,
            )
        addresses[board.name] = board.address
    return addresses
