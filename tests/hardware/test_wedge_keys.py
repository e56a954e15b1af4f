"""Key events back to text, for each keyboard layout a scanner may be set to."""

import string

import pytest

from hardware.wedge.keys import KEY_CAPSLOCK, KEY_KPENTER, KEY_LEFTSHIFT, MAX_LINE, KeyDecoder
from tests.hardware.wedge_kit import keystrokes


def read(events, keymap="us"):
    decoder = KeyDecoder(keymap)
    lines = [decoder.feed(code, value) for code, value in events]
    return [line for line in lines if line is not None]


@pytest.mark.parametrize("keymap", ["us", "de"])
def test_a_pickup_payload_and_a_reference_survive_the_round_trip(keymap):
    for text in ("PBX1:K7M29QXD45", "BB-2026-004711", "ZYzy 12/34"):
        assert read(keystrokes(text, keymap), keymap) == [text]


def test_every_printable_ascii_character_on_us():
    text = "".join(ch for ch in string.printable if ch not in "\t\n\r\x0b\x0c")
    assert read(keystrokes(text, "us")) == [text]


def test_german_layout_with_umlauts_and_altgr():
    text = "Müller-Straße 5 @ Äöü €~{}[]\\|<>°§"
    assert read(keystrokes(text, "de"), "de") == [text]


def test_the_layout_must_match_the_scanner():
    # A German scanner presses Shift+. for ':', its Z key (where US has Y)
    # and Shift+7 for '/': read as US, the payload's prefix is broken.
    assert read(keystrokes("PBX1:ZZ/", "de"), "us") == ["PBX1>YY&"]


def test_one_line_per_enter_and_keypad_enter_counts():
    events = keystrokes("AB") + keystrokes("CD")[:-2] + [(KEY_KPENTER, 1), (KEY_KPENTER, 0)]
    assert read(events) == ["AB", "CD"]


def test_key_up_and_auto_repeat_type_nothing():
    a = 30
    events = [(a, 1), (a, 2), (a, 2), (a, 0)] + keystrokes("")
    assert read(events) == ["a"]


def test_shift_is_released_per_key():
    events = [(KEY_LEFTSHIFT, 1), (30, 1), (30, 0), (KEY_LEFTSHIFT, 0), (30, 1), (30, 0)]
    assert read(events + keystrokes("")) == ["Aa"]


def test_caps_lock_turns_letters_only():
    events = [(KEY_CAPSLOCK, 1), (KEY_CAPSLOCK, 0)] + keystrokes("ab1!")
    assert read(events) == ["AB1!"]


def test_unknown_keys_are_counted_not_typed():
    decoder = KeyDecoder("us")
    for code, value in [(59, 1), (59, 0)] + keystrokes("x")[:-2]:  # F1, then x
        decoder.feed(code, value)
    assert decoder.feed(28, 1) == "x"
    assert decoder.unknown_keys == 1


def test_a_runaway_line_is_bounded():
    events = keystrokes("7" * (MAX_LINE + 100))
    assert read(events) == ["7" * MAX_LINE]
