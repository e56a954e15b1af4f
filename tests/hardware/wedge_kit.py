"""A virtual keyboard-wedge scanner: a real evdev device made through /dev/uinput.

Skips (with the reason) where the kernel offers no uinput, as in most
containers; on a developer machine ``modprobe uinput`` as root enables it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hardware.wedge.keys import KEY_ENTER, KEY_LEFTSHIFT, KEY_RIGHTALT, KEYMAPS

SCANNER_NAME = "pickupbox test wedge scanner"


def keystrokes(text: str, keymap: str = "us") -> list[tuple[int, int]]:
    """(key code, value) events a scanner set to `keymap` sends for `text` + Enter."""
    where: dict[str, tuple[int, int | None]] = {}
    for code, (plain, shifted, altgr) in sorted(KEYMAPS[keymap].items(), reverse=True):
        for char, modifier in ((altgr, KEY_RIGHTALT), (shifted, KEY_LEFTSHIFT), (plain, None)):
            if char:
                where[char] = (code, modifier)  # lowest code wins: main block before keypad
    events: list[tuple[int, int]] = []
    for char in text:
        code, modifier = where[char]
        if modifier:
            events.append((modifier, 1))
        events += [(code, 1), (code, 0)]
        if modifier:
            events.append((modifier, 0))
    return events + [(KEY_ENTER, 1), (KEY_ENTER, 0)]


def uinput_unavailable() -> str | None:
    if not os.path.exists("/dev/uinput"):
        return "no /dev/uinput on this machine: load the kernel module (modprobe uinput) to run it"
    if not os.access("/dev/uinput", os.W_OK):
        return ("/dev/uinput is not writable for this user "
                "(add it to the 'input' group or run as root)")
    return None


class VirtualScanner:
    def __init__(self) -> None:
        import evdev

        codes = sorted({code for keymap in KEYMAPS.values() for code in keymap}
                       | {KEY_ENTER, KEY_LEFTSHIFT, KEY_RIGHTALT})
        try:
            self.device = evdev.UInput({evdev.ecodes.EV_KEY: codes}, name=SCANNER_NAME)
        except (OSError, evdev.UInputError) as exc:
            pytest.skip(f"cannot create a uinput device here: {exc}")
        self.path = self.device.device.path
        time.sleep(0.2)  # let udev create the node's permissions

    def scan(self, text: str, keymap: str = "us") -> None:
        import evdev

        for code, value in keystrokes(text, keymap):
            self.device.write(evdev.ecodes.EV_KEY, code, value)
            self.device.syn()

    def unplug(self) -> None:
        self.device.close()


@contextmanager
def virtual_scanner() -> Iterator[VirtualScanner]:
    reason = uinput_unavailable()
    if reason:
        pytest.skip(reason)
    scanner = VirtualScanner()
    try:
        yield scanner
    finally:
        scanner.unplug()


@contextmanager
def wedge_options() -> Iterator[dict]:
    """A contract-test setup: options for the evdev-wedge driver on a virtual scanner."""
    with virtual_scanner() as scanner:
        yield {"device": scanner.path}
