"""Keyboard and tactile-keypad input mapped to UI actions (pure, testable).

A tactile keypad sends digits, Enter, Escape (Cancel), Backspace and a help
key (F1). Letters come from a full keyboard (staff, development). Arrows move
the focus ring, so every on-screen button is reachable without touch.
"""

from __future__ import annotations

from enum import Enum

from kiosk.ui.flow import Screen

# SDL key codes as Kivy reports them.
KEY_BACKSPACE, KEY_ENTER, KEY_ESCAPE, KEY_NUMPAD_ENTER = 8, 13, 27, 271
KEY_UP, KEY_DOWN, KEY_RIGHT, KEY_LEFT = 273, 274, 275, 276
KEY_F1, KEY_F12 = 282, 293
ARROWS = {KEY_UP: "up", KEY_DOWN: "down", KEY_RIGHT: "right", KEY_LEFT: "left"}
# Screens with a typing buffer, and the characters each accepts from the keyboard.
TYPING = {Screen.CODE: "alnum", Screen.PIN: "digits", Screen.STAFF_PIN: "digits", Screen.STAFF_DEPOSIT: "reference"}


class KeyAction(str, Enum):
    NONE = "none"
    MOVE = "move"
    ENTER = "enter"
    BACK = "back"
    DELETE = "delete"
    HELP = "help"
    LARGE_TEXT = "large_text"
    CONTRAST = "contrast"
    CHAR = "char"
    SIMULATOR = "simulator"


def key_action(key: int, codepoint: str | None, screen: Screen, entry_has_text: bool) -> tuple[KeyAction, str]:
    if key == KEY_F12:
        return KeyAction.SIMULATOR, ""
    if key in ARROWS:
        return KeyAction.MOVE, ARROWS[key]
    if key in (KEY_ENTER, KEY_NUMPAD_ENTER):
        return KeyAction.ENTER, ""
    if key == KEY_ESCAPE:
        return KeyAction.BACK, ""
    if key == KEY_BACKSPACE:
        # Backspace deletes while there is something to delete, then goes back.
        return (KeyAction.DELETE if entry_has_text else KeyAction.BACK), ""
    if key == KEY_F1 or codepoint == "?":
        return KeyAction.HELP, ""
    char = codepoint or ""
    kind = TYPING.get(screen)
    if kind == "reference" and len(char) == 1 and (char.isalnum() or char in "-_/."):
        return KeyAction.CHAR, char
    if not screen.is_staff and char in ("+", "-"):
        return (KeyAction.LARGE_TEXT if char == "+" else KeyAction.CONTRAST), ""
    if kind == "digits" and len(char) == 1 and char.isdigit():
        return KeyAction.CHAR, char
    if kind == "alnum" and len(char) == 1 and char.isascii() and char.isalnum():
        return KeyAction.CHAR, char
    return KeyAction.NONE, ""
