"""The UI's own state, next to the core's KioskView.

Everything here is local to the screen (which step of code entry, language,
accessibility modes) and goes back to the defaults when a session ends. The
typed code and PIN live only in `InputBuffers`, which are wiped on every reset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from common.credentials import ALPHABET, CODE_LENGTH, PIN_LENGTH, CredentialFormatError, group_code, normalize_code
from kiosk.ui import texts
from kiosk.ui.i18n import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class UiState:
    lang: str = DEFAULT_LANGUAGE
    high_contrast: bool = False
    large_text: bool = False
    reach: bool = False  # controls in the lower part of the screen (wheelchair users)
    speech: bool = True
    code_mode: str = ""  # "" idle screen, "scan" QR camera, "type" on-screen keypad
    overlay: str = ""  # "", "language", "a11y", "help" or "problem": panels over the citizen screens
    help_for: str = ""  # the screen (Screen value) the help page explains
    staff_page: str = "menu"  # "menu", "compartments", "health"
    selected: int | None = None  # compartment picked on the staff grid
    asking_reason: bool = False  # the staff member is choosing a service reason
    confirm_exit: bool = False  # staff chose "Exit app": asked once more before the kiosk closes
    code_error: tuple[str, tuple[tuple[str, object], ...]] | None = None  # msgid + values

    def with_(self, **changes) -> UiState:
        return replace(self, **changes)

    def reset_citizen(self, speech_default: bool = True) -> UiState:
        """A session ended: German, default modes, idle screen (see the issue)."""
        return UiState(speech=speech_default)


class KeyBuffer:
    """Characters typed on the keypad; never logged, cleared on every reset."""

    def __init__(self, length: int, allowed: str):
        self.length = length
        self.allowed = allowed
        self._chars: list[str] = []

    def add(self, char: str) -> bool:
        char = char.upper()
        if len(char) != 1 or char not in self.allowed or len(self._chars) >= self.length:
            return False
        self._chars.append(char)
        return True

    def delete(self) -> bool:
        if not self._chars:
            return False
        self._chars.pop()
        return True

    def clear(self) -> None:
        self._chars.clear()

    def take(self) -> str:
        """Returns the content and wipes the buffer, so nothing lingers."""
        value = "".join(self._chars)
        self._chars.clear()
        return value

    @property
    def count(self) -> int:
        return len(self._chars)

    @property
    def full(self) -> bool:
        return len(self._chars) >= self.length

    def __len__(self) -> int:
        return len(self._chars)

    def peek(self) -> str:
        return "".join(self._chars)


class CodeBuffer(KeyBuffer):
    def __init__(self):
        super().__init__(CODE_LENGTH, ALPHABET)

    def display(self) -> str:
        """The code in groups as printed on the letter, with blanks still to fill."""
        padded = self.peek() + "_" * (self.length - self.count)
        return group_code(padded)

    def problem(self) -> tuple[str, dict] | None:
        """Why the typed code cannot be submitted yet (msgid, values), or None."""
        if not self.full:
            return texts.CODE_TOO_SHORT, {"total": self.length, "count": self.count}
        try:
            normalize_code(self.peek())
        except CredentialFormatError:
            return texts.CODE_TYPO, {}
        return None


class PinBuffer(KeyBuffer):
    """Shown only as filled circles (PinDots) and spoken as "digit n of 6"."""

    def __init__(self):
        super().__init__(PIN_LENGTH, "0123456789")


class ReferenceBuffer(KeyBuffer):
    """Order reference typed by staff (when the barcode cannot be scanned)."""

    def __init__(self):
        super().__init__(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.")

    def display(self) -> str:
        return self.peek()


@dataclass
class InputBuffers:
    code: CodeBuffer
    pin: PinBuffer
    reference: ReferenceBuffer

    @classmethod
    def new(cls) -> InputBuffers:
        return cls(CodeBuffer(), PinBuffer(), ReferenceBuffer())

    def clear(self) -> None:
        for buffer in (self.code, self.pin, self.reference):
            buffer.clear()
