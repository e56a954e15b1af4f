"""LockerBank driver for USB HID relay boards ("USBRelay1/2/4/8"), via pyusb.

Each relay drives one lock. An unlock switches the relay on, waits
`pulse_ms`, switches it off, and reads the board's state back after each
step: the unlock is acknowledged when the relay was seen on and then off.
The boards have no door sensors, so there are no door events and doors read
UNKNOWN; the kiosk asks people to confirm a door is shut.

Boards are found by VID/PID and product string, and told apart by the
serial in their feature report (box description ``serial = "..."``; may be
left out when there is only one relay board). Nothing is cached that a
replug would make stale: a USB error drops the device and the next call
looks for it again, so a board that comes back works without a restart.

Options: ``box`` (default "relay8"), ``pulse_ms`` (default 500), ``backend``
("module:function" returning a pyusb backend, or a backend object; default:
pyusb's own libusb backend).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import usb.backend
import usb.core
import usb.util
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hardware.box import BoardSpec, BoxDescription, Wiring, load_box
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.interfaces import (
    CompartmentSpec,
    DeviceHealth,
    DoorCallback,
    DoorState,
    HealthStatus,
    Unsubscribe,
    UnlockResult,
)
from hardware.options import validate
from hardware.usbrelay import protocol

log = logging.getLogger(__name__)

USB_TIMEOUT_MS = 1000
_USB_ERRORS = (usb.core.USBError, usb.core.USBTimeoutError, ValueError)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)
    box: str = "relay8"
    pulse_ms: int = Field(500, ge=20, le=10_000)
    backend: Any = None

    @field_validator("backend")
    @classmethod
    def _load_backend(cls, value: Any) -> Any:
        if value is None or isinstance(value, usb.backend.IBackend):
            return value
        if not isinstance(value, str) or ":" not in value:
            raise ValueError("'module:function' returning a pyusb backend")
        module, _, name = value.partition(":")
        try:
            factory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"an importable 'module:function' ({exc})") from None
        return factory()


class UsbRelayLockerBank:
    """Compartment locks on one or more USB HID relay boards; no door sensors."""

    def __init__(
        self,
        box: BoxDescription,
        *,
        pulse_ms: int = 500,
        backend: usb.backend.IBackend | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.box = box
        self.pulse = pulse_ms / 1000
        self._backend = backend
        self._sleep = sleep
        self._boards = {board.name: board for board in box.boards}
        _check_serials(box)
        self._lock = threading.Lock()  # one USB conversation at a time
        self._devices: dict[str, tuple[usb.core.Device, int]] = {}  # name -> (device, relays)
        self._trouble: dict[str, str] = {}  # board name -> last failed unlock
        self._closed = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> UsbRelayLockerBank:
        opts = validate(_Options, options, source="locker_bank driver 'usb-relay'")
        return cls(load_box(opts.box), pulse_ms=opts.pulse_ms, backend=opts.backend)

    # --- LockerBank protocol

    @property
    def has_door_sensors(self) -> bool:
        return False

    def layout(self) -> list[CompartmentSpec]:
        return list(self.box.compartments)

    def unlock(self, compartment: int) -> UnlockResult:
        wiring = self._wiring(compartment)
        board = self._boards[wiring.board]
        with self._lock:
            if self._closed:
                raise DeviceUnavailable("the usb-relay locker bank was closed")
            device = self._device(board)
            try:
                detail = self._pulse(device, wiring.channel)
            except _USB_ERRORS as exc:
                self._forget(board.name)
                raise DeviceUnavailable(
                    f"USB relay board {board.name}{_serial_text(board)} stopped answering "
                    f"({exc}): unplugged? Check its USB cable; it is used again as soon as "
                    f"it is back"
                ) from None
            if detail:
                self._trouble[board.name] = f"compartment {compartment}: {detail}"
            else:
                self._trouble.pop(board.name, None)
        return UnlockResult(compartment, not detail, detail)

    def door_state(self, compartment: int) -> DoorState:
        self._wiring(compartment)
        return DoorState.UNKNOWN

    def subscribe(self, callback: DoorCallback) -> Unsubscribe:
        return lambda: None  # no sensors, so never an event

    def health(self) -> list[DeviceHealth]:
        result = []
        with self._lock:
            for board in self.box.boards:
                device = f"lock board {board.name}"
                if self._closed:
                    result.append(DeviceHealth(device, HealthStatus.FAILED, "driver closed"))
                    continue
                try:
                    self._ping(board)
                except DeviceUnavailable as exc:
                    result.append(DeviceHealth(device, HealthStatus.FAILED, str(exc)))
                    continue
                trouble = self._trouble.get(board.name, "")
                status = HealthStatus.DEGRADED if trouble else HealthStatus.OK
                result.append(DeviceHealth(device, status, trouble))
        return result

    def _ping(self, board: BoardSpec) -> None:
        """Read the board's state; look for it again if the old handle broke."""
        for _ in range(2):
            dev, _ = self._device(board)
            try:
                _read_state(dev)
                return
            except _USB_ERRORS as exc:
                log.info("relay board %s: %s", board.name, exc)
                self._forget(board.name)
        raise DeviceUnavailable(f"USB relay board {board.name}{_serial_text(board)} does not answer")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for name in list(self._devices):
                self._forget(name)

    # --- Inside

    def _pulse(self, device: tuple[usb.core.Device, int], channel: int) -> str:
        """Relay on, wait, off; '' if the board did both, else what went wrong."""
        dev, relays = device
        if channel > relays:
            return f"channel {channel} does not exist on a {protocol.PRODUCT_PREFIX}{relays}"
        bit = 1 << (channel - 1)
        _write(dev, protocol.set_relay_report(channel, True))
        switched_on = _read_state(dev) & bit
        self._sleep(self.pulse)
        _write(dev, protocol.set_relay_report(channel, False))
        still_on = _read_state(dev) & bit
        if still_on:
            return f"relay {channel} stays on after the pulse (welded contact?)"
        if not switched_on:
            return f"relay {channel} did not switch on"
        return ""

    def _device(self, board: BoardSpec) -> tuple[usb.core.Device, int]:
        """The board's device and relay count; raises DeviceUnavailable."""
        if board.name in self._devices:
            return self._devices[board.name]
        found = self._scan()
        if board.serial:
            match = found.get(board.serial)
        else:
            match = next(iter(found.values())) if len(found) == 1 else None
        if match is None:
            seen = ", ".join(sorted(found)) or "none"
            wanted = f"with serial {board.serial!r}" if board.serial else "(only one may be plugged in when the box gives no serial)"
            raise DeviceUnavailable(
                f"no USB relay board {wanted} for board {board.name}; relay boards found: "
                f"{seen}. Check the USB cable and the `serial` in the box description "
                f"({self.box.source}); the kiosk user needs access (deploy/udev)"
            )
        self._devices[board.name] = match
        return match

    def _scan(self) -> dict[str, tuple[usb.core.Device, int]]:
        """serial -> (device, relays) for every relay board that answers."""
        found = {}
        try:
            devices = usb.core.find(
                find_all=True, idVendor=protocol.VENDOR_ID, idProduct=protocol.PRODUCT_ID,
                backend=self._backend,
            )
            devices = list(devices)
        except usb.core.NoBackendError:
            raise DeviceUnavailable(
                "pyusb finds no USB backend: install libusb-1.0 (apt install libusb-1.0-0)"
            ) from None
        for dev in devices:
            try:
                relays = protocol.relay_count(dev.product)
                if relays is None:
                    continue  # another V-USB gadget sharing the generic VID/PID
                _detach_kernel_driver(dev)
                serial, _ = protocol.parse_feature_report(_read_report(dev))
            except _USB_ERRORS as exc:
                log.info("skipping USB device %s: %s", dev, exc)
                continue
            found[serial] = (dev, relays)
        return found

    def _forget(self, name: str) -> None:
        device = self._devices.pop(name, None)
        if device is not None:
            usb.util.dispose_resources(device[0])

    def _wiring(self, compartment: int) -> Wiring:
        return self.box.lock_for(compartment)


def _write(dev: usb.core.Device, report: bytes) -> None:
    written = dev.ctrl_transfer(
        protocol.REQUEST_TYPE_OUT, protocol.SET_REPORT, protocol.FEATURE_REPORT, 0, report,
        USB_TIMEOUT_MS,
    )
    if written != len(report):
        raise usb.core.USBError(f"short write ({written} of {len(report)} bytes)")


def _read_report(dev: usb.core.Device) -> bytes:
    return bytes(dev.ctrl_transfer(
        protocol.REQUEST_TYPE_IN, protocol.GET_REPORT, protocol.FEATURE_REPORT, 0,
        protocol.REPORT_LENGTH, USB_TIMEOUT_MS,
    ))


def _read_state(dev: usb.core.Device) -> int:
    return protocol.parse_feature_report(_read_report(dev))[1]


def _detach_kernel_driver(dev: usb.core.Device) -> None:
    # Linux binds usbhid to the board; its control transfers to interface 0
    # need the interface, so take it over.
    try:
        if dev.is_kernel_driver_active(0):
            dev.detach_kernel_driver(0)
    except NotImplementedError:
        pass


def _check_serials(box: BoxDescription) -> None:
    serials = [board.serial for board in box.boards]
    if len(box.boards) > 1 and not all(serials):
        raise DriverConfigError(
            "boards[].serial", serials, "a serial for every board when the box has several",
            source=box.source,
        )
    if len(set(serials)) != len(serials):
        raise DriverConfigError(
            "boards[].serial", serials, "a different serial per board", source=box.source
        )


def _serial_text(board: BoardSpec) -> str:
    return f" (serial {board.serial})" if board.serial else ""
