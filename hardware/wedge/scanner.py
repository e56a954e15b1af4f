"""USB keyboard-wedge barcode scanner read through evdev (staff deposits).

Registered as code scanner driver ``evdev-wedge``. Options::

    [hardware.code_scanner]
    driver = "evdev-wedge"
    device = "/dev/input/by-id/usb-Datalogic_Scanner-event-kbd"   # or part of its name
    keymap = "us"          # or "de" (QWERTZ), whatever the scanner is set to

The scanner is grabbed (EVIOCGRAB) for as long as the driver is open, not
only while a scan screen shows: otherwise a code scanned at the wrong moment
would be typed into the kiosk window. Lines read while stopped are dropped,
as a camera that is not looking would not see them either. Each line (ended
by Enter) becomes one ScanEvent with the text encoded as UTF-8.

A scanner that is missing or unplugged turns health FAILED and is opened
again with growing pauses; the kiosk never sees an exception from it.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from hardware.errors import DeviceUnavailable
from hardware.interfaces import DeviceHealth, HealthStatus, ScanCallback, ScanEvent, Unsubscribe
from hardware.options import validate
from hardware.scan_support import Backoff, HealthCell, Subscribers
from hardware.wedge.keys import KeyDecoder

log = logging.getLogger(__name__)

EV_KEY = 1  # linux/input-event-codes.h
POLL_SECONDS = 0.2  # how quickly close() is noticed by the reading thread


class WedgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: str
    keymap: Literal["us", "de"] = "us"
    grab: bool = True  # only for trying a scanner out on a desktop
    name: str | None = None  # what health calls it; default "barcode scanner <device>"


class WedgeScanner:
    """CodeScanner over one evdev keyboard device; see the module doc."""

    def __init__(
        self,
        device: str,
        *,
        keymap: str = "us",
        grab: bool = True,
        name: str | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        try:
            import evdev  # noqa: F401  (the hardware extra; Linux only)
        except ImportError as exc:
            raise DeviceUnavailable(
                f"barcode scanner {device}: python-evdev is not installed ({exc}); "
                "install the hardware extra (Linux only)"
            ) from None
        self.device = device
        self.name = name or f"barcode scanner {device}"
        self._keymap = keymap
        self._grab = grab
        self._backoff = backoff or Backoff()
        self._subscribers: Subscribers[ScanEvent] = Subscribers()
        self._health = HealthCell(self.name, HealthStatus.FAILED, "not opened yet")
        self._delivering = False
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"read {self.name}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> WedgeScanner:
        opts = validate(WedgeOptions, options, source="code_scanner driver 'evdev-wedge'")
        return cls(opts.device, keymap=opts.keymap, grab=opts.grab, name=opts.name)

    # --- CodeScanner protocol

    def start(self) -> None:
        if self._closing.is_set():
            raise DeviceUnavailable(f"{self.name}: driver closed")
        self._delivering = True

    def stop(self) -> None:
        self._delivering = False

    def subscribe(self, callback: ScanCallback) -> Unsubscribe:
        return self._subscribers.add(callback)

    def health(self) -> list[DeviceHealth]:
        if self._closing.is_set():
            return [DeviceHealth(self.name, HealthStatus.FAILED, "driver closed")]
        return [self._health.current]

    def close(self) -> None:
        self._delivering = False
        self._closing.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # --- The reading thread

    def _read(self) -> None:
        while not self._closing.is_set():
            device = self._open()
            if device is None:
                self._closing.wait(self._backoff.next())
                continue
            try:
                self._read_lines(device)
            except OSError as exc:  # ENODEV: unplugged
                self._health.set(
                    HealthStatus.FAILED,
                    f"{self.device} went away ({exc.strerror}): check the USB cable",
                )
                self._closing.wait(self._backoff.next())
            except Exception as exc:  # never let a surprise kill the kiosk
                log.exception("%s: reading failed", self.name)
                self._health.set(HealthStatus.FAILED, f"reading failed: {exc}")
                self._closing.wait(self._backoff.next())
            finally:
                _release(device)

    def _open(self) -> Any:
        import evdev

        try:
            device = evdev.InputDevice(_find(self.device))
        except (OSError, LookupError) as exc:
            self._health.set(
                HealthStatus.FAILED, f"{self.device} not found: check the USB cable ({exc})"
            )
            return None
        if self._grab:
            try:
                device.grab()
            except OSError as exc:
                device.close()
                self._health.set(
                    HealthStatus.FAILED,
                    f"{self.device} is held by another program ({exc.strerror}); "
                    "is a second kiosk running?",
                )
                return None
        self._backoff.reset()
        self._health.set(HealthStatus.OK)
        return device

    def _read_lines(self, device: Any) -> None:
        keys = KeyDecoder(self._keymap)
        while not self._closing.is_set():
            ready, _, _ = select.select([device.fd], [], [], POLL_SECONDS)
            if not ready:
                continue
            for event in device.read():
                if event.type != EV_KEY:
                    continue
                line = keys.feed(event.code, event.value)
                if line and self._delivering:
                    self._subscribers.emit(ScanEvent(line.encode("utf-8"), self.name))


def _find(wanted: str) -> str:
    """The event device path: `wanted` itself, or the device whose name contains it."""
    if wanted.startswith("/") or os.path.exists(wanted):
        return wanted
    import evdev

    for path in evdev.list_devices():
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue
        try:
            if wanted.lower() in device.name.lower():
                return path
        finally:
            device.close()
    raise LookupError(f"no input device named like {wanted!r}")


def _release(device: Any) -> None:
    try:
        device.close()  # closing the fd also ends the grab
    except OSError:
        pass
