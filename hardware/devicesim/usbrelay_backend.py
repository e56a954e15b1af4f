"""A pyusb backend that poses as one or more USB HID relay boards.

Unchanged pyusb code (``usb.core.find(backend=...)``, ``dev.product``,
``dev.ctrl_transfer(...)``) finds the fake boards, reads their descriptors
and strings, and its control transfers land here, byte for byte. Use it in
tests, or point the usb-relay driver at it from a config::

    [hardware.locker_bank]
    driver = "usb-relay"
    box = "relay8"
    backend = "hardware.devicesim.usbrelay_backend:demo_backend"

Controls: `FakeRelayBoard.history` (every relay switch with its time, to
check pulse lengths), `unplug()` / `replug()`.
"""

from __future__ import annotations

import errno
import threading
import time
from array import array
from dataclasses import dataclass, field
from types import SimpleNamespace

import usb.backend
import usb.core

from hardware.usbrelay import protocol

GET_DESCRIPTOR = 0x06
STRING_DESCRIPTOR = 0x03
LANGID_EN_US = 0x0409
MANUFACTURER = "www.dcttech.com"


@dataclass(frozen=True)
class Switch:
    """One relay change the board carried out, with time.monotonic()."""

    at: float
    relay: int
    on: bool


@dataclass(eq=False)
class FakeRelayBoard:
    serial: str = "RLY01"
    relays: int = 8
    state: int = 0  # bit 0 = relay 1
    history: list[Switch] = field(default_factory=list)
    plugged: bool = True
    address: int = 1

    def unplug(self) -> None:
        self.plugged = False
        self.state = 0  # no power, relays drop

    def replug(self) -> None:
        self.plugged = True

    def pulses(self, relay: int) -> list[float]:
        """Length in seconds of each completed on-off pulse of `relay`."""
        lengths, started = [], None
        for switch in self.history:
            if switch.relay != relay:
                continue
            if switch.on:
                started = switch.at
            elif started is not None:
                lengths.append(switch.at - started)
                started = None
        return lengths


def _gone() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)


class FakeRelayBackend(usb.backend.IBackend):
    """pyusb backend serving `boards` (FakeRelayBoard) as USB devices."""

    def __init__(self, boards: list[FakeRelayBoard] | None = None) -> None:
        super().__init__()
        self.boards = boards if boards is not None else [FakeRelayBoard()]
        self._lock = threading.Lock()

    # --- Enumeration and descriptors

    def enumerate_devices(self):
        return [board for board in self.boards if board.plugged]

    def get_device_descriptor(self, dev: FakeRelayBoard):
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0110, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=8, idVendor=protocol.VENDOR_ID,
            idProduct=protocol.PRODUCT_ID, bcdDevice=0x0100, iManufacturer=1, iProduct=2,
            iSerialNumber=0, bNumConfigurations=1, address=dev.address, bus=1,
            port_number=dev.address, port_numbers=(dev.address,), speed=1,
        )

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError("configuration index out of range")
        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=34, bNumInterfaces=1,
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80, bMaxPower=50,
            extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev, intf, alt, config):
        # pyusb walks alternate settings until IndexError: a missing one must
        # raise it, or that loop never ends.
        if (config, intf, alt) != (0, 0, 0):
            raise IndexError("no such interface or alternate setting")
        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0,
            bNumEndpoints=1, bInterfaceClass=3, bInterfaceSubClass=0, bInterfaceProtocol=0,
            iInterface=0, extra_descriptors=[],
        )

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        if (config, intf, alt, ep) != (0, 0, 0, 0):
            raise IndexError("no such endpoint")
        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=0x81, bmAttributes=0x03,
            wMaxPacketSize=8, bInterval=20, bRefresh=0, bSynchAddress=0, extra_descriptors=[],
        )

    # --- Handles

    def open_device(self, dev: FakeRelayBoard) -> FakeRelayBoard:
        if not dev.plugged:
            raise _gone()
        return dev

    def close_device(self, dev_handle) -> None:
        pass

    def set_configuration(self, dev_handle, config_value) -> None:
        pass

    def get_configuration(self, dev_handle) -> int:
        return 1

    def claim_interface(self, dev_handle, intf) -> None:
        if not dev_handle.plugged:
            raise _gone()

    def release_interface(self, dev_handle, intf) -> None:
        pass

    def is_kernel_driver_active(self, dev_handle, intf) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle, intf) -> None:
        pass

    def attach_kernel_driver(self, dev_handle, intf) -> None:
        pass

    # --- Control transfers: what the board firmware does

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        board: FakeRelayBoard = dev_handle
        with self._lock:
            if not board.plugged:
                raise _gone()
            request = (bmRequestType, bRequest, wValue)
            if request == (protocol.REQUEST_TYPE_IN, protocol.GET_REPORT, protocol.FEATURE_REPORT):
                return _fill(data, protocol.feature_report(board.serial, board.state))
            if request == (protocol.REQUEST_TYPE_OUT, protocol.SET_REPORT, protocol.FEATURE_REPORT):
                self._set_report(board, bytes(data))
                return len(data)
            if bmRequestType == 0x80 and bRequest == GET_DESCRIPTOR and wValue >> 8 == STRING_DESCRIPTOR:
                return _fill(data, _string_descriptor(board, wValue & 0xFF))
        raise usb.core.USBError("Pipe error (request not supported)", -9, errno.EPIPE)

    def _set_report(self, board: FakeRelayBoard, report: bytes) -> None:
        command = report[0]
        if command in (protocol.ALL_ON, protocol.ALL_OFF):
            targets, on = range(1, board.relays + 1), command == protocol.ALL_ON
        elif command in (protocol.ON, protocol.OFF) and 1 <= report[1] <= board.relays:
            targets, on = [report[1]], command == protocol.ON
        else:
            return  # the firmware ignores what it does not know
        now = time.monotonic()
        for relay in targets:
            bit = 1 << (relay - 1)
            board.state = board.state | bit if on else board.state & ~bit
            board.history.append(Switch(now, relay, on))


def _string_descriptor(board: FakeRelayBoard, index: int) -> bytes:
    if index == 0:
        payload = LANGID_EN_US.to_bytes(2, "little")
    else:
        text = {1: MANUFACTURER, 2: f"{protocol.PRODUCT_PREFIX}{board.relays}"}.get(index)
        if text is None:
            raise usb.core.USBError("Pipe error (no such string)", -9, errno.EPIPE)
        payload = text.encode("utf-16-le")
    return bytes([2 + len(payload), STRING_DESCRIPTOR]) + payload


def _fill(buffer: array, payload: bytes) -> int:
    count = min(len(buffer), len(payload))
    buffer[:count] = array("B", payload[:count])
    return count


def demo_backend() -> FakeRelayBackend:
    """One USBRelay8 with serial RLY01, as in hardware/boxes/relay8.toml."""
    return FakeRelayBackend([FakeRelayBoard("RLY01", 8)])
