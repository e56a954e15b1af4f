"""Key events of a keyboard-wedge scanner turned back into the scanned text.

A wedge scanner "types" what it reads: one key press per character, Shift
held for capitals, Enter at the end. Which key it presses for a character
depends on the keyboard layout it is set to, so the kiosk must read the keys
with the same layout: US by default, German QWERTZ (``de``) as an option,
because scanners sold in Germany often ship set to it.

Key codes are Linux's (``linux/input-event-codes.h``, a stable kernel ABI),
written as numbers here so this module needs no evdev to be tested.
"""

from __future__ import annotations

# Key codes of the main block, by position.
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_RIGHTALT = 100  # AltGr on European keyboards
KEY_CAPSLOCK = 58
SHIFTS = {KEY_LEFTSHIFT, KEY_RIGHTSHIFT}
ENTERS = {KEY_ENTER, KEY_KPENTER}

# Rows of the main block: first key code, then the characters of the keys in
# order, unshifted and shifted. A letter's shifted form is its upper case.
_ROWS_US = (
    (2, "1234567890-=", '!@#$%^&*()_+'),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
)
_ROWS_DE = (
    (2, "1234567890ß´", '!"§$%&/()=?`'),
    (16, "qwertzuiopü+", "QWERTZUIOPÜ*"),
    (30, "asdfghjklöä^", "ASDFGHJKLÖÄ°"),
    (43, "#yxcvbnm,.-", "'YXCVBNM;:_"),
)
# AltGr characters of the German layout (key code -> character).
_ALTGR_DE = {3: "²", 4: "³", 8: "{", 9: "[", 10: "]", 11: "}", 12: "\\", 16: "@", 18: "€",
             27: "~", 50: "µ", 86: "|"}
# Keys outside the rows: space, the keypad (NumLock on, as scanners send it)
# and the extra key left of Z on European keyboards (102ND).
_COMMON = {57: (" ", " "), 55: ("*", "*"), 74: ("-", "-"), 78: ("+", "+"), 83: (".", "."),
           98: ("/", "/"), 71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 75: ("4", "4"),
           76: ("5", "5"), 77: ("6", "6"), 79: ("1", "1"), 80: ("2", "2"), 81: ("3", "3"),
           82: ("0", "0")}

Keymap = dict[int, tuple[str, str, str]]  # key code -> (plain, shifted, AltGr)


def _keymap(rows: tuple[tuple[int, str, str], ...], altgr: dict[int, str],
            extra: dict[int, tuple[str, str]]) -> Keymap:
    table: Keymap = {code: (plain, shifted, "") for code, (plain, shifted) in _COMMON.items()}
    for first, plain, shifted in rows:
        for offset, (low, high) in enumerate(zip(plain, shifted, strict=True)):
            table[first + offset] = (low, high, "")
    for code, (low, high) in extra.items():
        table[code] = (low, high, "")
    for code, char in altgr.items():
        low, high, _ = table.get(code, ("", "", ""))
        table[code] = (low, high, char)
    return table


KEYMAPS: dict[str, Keymap] = {
    "us": _keymap(_ROWS_US, {}, {86: ("\\", "|")}),
    "de": _keymap(_ROWS_DE, _ALTGR_DE, {86: ("<", ">")}),
}

# A scanner never sends lines this long; a stuck key or a keyboard plugged in
# by mistake must not grow memory without end.
MAX_LINE = 512


class KeyDecoder:
    """Feed it key events (code, value: 1 down, 0 up, 2 repeat); it returns
    each finished line once Enter is pressed."""

    def __init__(self, keymap: str = "us") -> None:
        self.keymap = KEYMAPS[keymap]
        self._shift: set[int] = set()
        self._altgr = False
        self._capslock = False
        self._chars: list[str] = []
        self.unknown_keys = 0  # keys this layout does not know (shown in health)

    def feed(self, code: int, value: int) -> str | None:
        if code in SHIFTS:
            self._shift.add(code) if value else self._shift.discard(code)
            return None
        if code == KEY_RIGHTALT:
            self._altgr = bool(value)
            return None
        if value != 1:  # key up; auto-repeat is not something a scanner types
            return None
        if code == KEY_CAPSLOCK:
            self._capslock = not self._capslock
            return None
        if code in ENTERS:
            line, self._chars = "".join(self._chars), []
            return line
        char = self._char(code)
        if char is None:
            self.unknown_keys += 1
        elif len(self._chars) < MAX_LINE:
            self._chars.append(char)
        return None

    def reset(self) -> None:
        """Forget a half-typed line (the device went away mid-scan)."""
        self._chars = []
        self._shift.clear()
        self._altgr = False

    def _char(self, code: int) -> str | None:
        entry = self.keymap.get(code)
        if entry is None:
            return None
        plain, shifted, altgr = entry
        if self._altgr:
            return altgr or None
        shift = bool(self._shift)
        if self._capslock and plain.isalpha():
            shift = not shift
        return shifted if shift else plain
