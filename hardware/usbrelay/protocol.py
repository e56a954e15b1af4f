"""Report bytes of the USB HID relay boards sold as "USBRelayN" (N = 1, 2, 4, 8).

Pure functions and constants, shared by the driver and the fake device
(`hardware.devicesim.usbrelay_backend`).

Where each byte comes from
--------------------------
* Project brief: VID 0x16c0, PID 0x05df; set a relay with a HID SET_REPORT
  control transfer (bmRequestType 0x21, bRequest 0x09, wValue 0x0300 =
  feature report 0, wIndex 0) carrying ``[0xFF (on) | 0xFD (off), relay]``
  padded to 8 bytes; read with GET_REPORT (0xA1, 0x01, 0x0300).
* Every part of the protocol is confirmed by four independent public
  implementations (issue 14; read with the project's code search, never
  copied): pavel-a/usb-relay-hid and darrylb123/usbrelay (C host tools),
  JPEWdev/pyhid-usb-relay (Python) and JPEWdev/hid-relay (replacement
  firmware): the feature report layout, bytes 0-4 the board's serial (5
  ASCII characters, settable, stored in EEPROM), byte 7 the relay states as
  a bitmask (bit 0 = relay 1), relays counted from 1 in SET_REPORT; 0xFE /
  0xFC switch all relays on / off.
* Our choices: the product string ("USBRelay8") gives the number of
  relays; a serial is read as ASCII up to the first NUL, trailing spaces
  dropped.
"""

from __future__ import annotations

import re

VENDOR_ID = 0x16C0
PRODUCT_ID = 0x05DF
PRODUCT_PREFIX = "USBRelay"

REQUEST_TYPE_OUT = 0x21  # host to device, class, interface
REQUEST_TYPE_IN = 0xA1  # device to host, class, interface
SET_REPORT = 0x09
GET_REPORT = 0x01
FEATURE_REPORT = 0x0300  # report type 3 (feature) << 8 | report id 0
REPORT_LENGTH = 8

ON = 0xFF
OFF = 0xFD
ALL_ON = 0xFE
ALL_OFF = 0xFC
SERIAL_LENGTH = 5
STATE_BYTE = 7


def set_relay_report(relay: int, on: bool) -> bytes:
    """The 8 bytes that switch `relay` (from 1) on or off."""
    if not 1 <= relay <= 8:
        raise ValueError(f"relay must be 1 to 8, got {relay}")
    return bytes([ON if on else OFF, relay]) + bytes(REPORT_LENGTH - 2)


def parse_feature_report(report: bytes) -> tuple[str, int]:
    """(serial, relay state bitmask) from a GET_REPORT answer."""
    if len(report) < REPORT_LENGTH:
        raise ValueError(
            f"relay board sent {len(report)} bytes, expected {REPORT_LENGTH}: {report.hex(' ')}"
        )
    serial = bytes(report[:SERIAL_LENGTH]).split(b"\0")[0].decode("ascii", "replace").rstrip()
    return serial, report[STATE_BYTE]


def feature_report(serial: str, state: int) -> bytes:
    """What a board answers to GET_REPORT (the fake device uses it)."""
    raw = serial.encode("ascii")[:SERIAL_LENGTH].ljust(SERIAL_LENGTH, b"\0")
    return raw + bytes([0, 0, state & 0xFF])


def relay_count(product: str | None) -> int | None:
    """8 for "USBRelay8"; None if the product string is not a relay board's."""
    match = re.fullmatch(rf"{PRODUCT_PREFIX}(\d)", product or "")
    return int(match.group(1)) if match else None
