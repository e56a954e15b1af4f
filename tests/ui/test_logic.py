"""The UI's pure logic, without a window: screen choice, keys, focus, buffers, texts."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.core import KioskView
from common import credentials
from kiosk.domain.compartment import Compartment, HeightClass, Size
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import Notice, StaffState
from kiosk.ui import texts
from kiosk.ui.flow import Screen, choose_screen, seconds_left, timeout_warning
from kiosk.ui.focus import next_focus
from kiosk.ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, language, t
from kiosk.ui.keys import KEY_BACKSPACE, KEY_ENTER, KEY_ESCAPE, KEY_F1, KEY_LEFT, KeyAction, key_action
from kiosk.ui.messages import CITIZEN_ERRORS, STAFF_NOTICES, citizen_error, compartment_place, spoken_prompt, staff_notice
from kiosk.ui.state import CodeBuffer, InputBuffers, PinBuffer, UiState
from kiosk.ui.theme import HIGH_CONTRAST, NORMAL, Metrics, contrast_ratio

NOW = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
BOX = (
    Compartment(1, Size.S, 1, 1, HeightClass.LOW),
    Compartment(2, Size.M, 1, 2),
    Compartment(3, Size.S, 2, 1, HeightClass.LOW),
    Compartment(4, Size.L, 2, 2, HeightClass.HIGH),
)


def view(**changes) -> KioskView:
    base = KioskView(PickupState.IDLE, "", None, None, False, None, StaffState.LOGGED_OUT, (), "", "", None, BOX,
                     True, ())
    return replace(base, **changes)


# ------------------------------------------------------------------ screens

@pytest.mark.parametrize("mode, screen", [("", Screen.IDLE), ("scan", Screen.SCAN), ("type", Screen.CODE)])
def test_idle_core_shows_the_step_the_citizen_chose(mode, screen):
    assert choose_screen(view(), UiState(code_mode=mode)) is screen


def test_every_pickup_state_has_a_screen_and_failures_an_explanation():
    for state in PickupState:
        screen = choose_screen(view(pickup_state=state), UiState())
        if state in CITIZEN_ERRORS:
            assert screen is Screen.ERROR
            assert citizen_error(view(pickup_state=state)) is not None
    assert choose_screen(view(pickup_state=PickupState.WRONG_PIN), UiState()) is Screen.PIN
    assert choose_screen(view(pickup_state=PickupState.AWAITING_PIN_LETTER), UiState()) is Screen.PIN_LETTER
    assert choose_screen(view(pickup_state=PickupState.DOOR_OPEN), UiState()) is Screen.DOOR_OPEN


def test_staff_screens_win_over_citizen_overlays():
    assert choose_screen(view(staff_state=StaffState.AWAITING_PIN), UiState(overlay="language")) is Screen.STAFF_PIN
    menu = view(staff_state=StaffState.MENU)
    assert choose_screen(menu, UiState()) is Screen.STAFF_MENU
    assert choose_screen(menu, UiState(staff_page="health")) is Screen.STAFF_HEALTH
    assert choose_screen(menu, UiState(staff_page="compartments", selected=2, asking_reason=True)) is Screen.STAFF_REASON
    for state in StaffState:
        if state is not StaffState.LOGGED_OUT:
            assert choose_screen(view(staff_state=state), UiState()).is_staff


def test_old_id_return_follows_the_handover_and_keeps_the_session():
    from kiosk.domain.document_return import ReturnState
    from kiosk.ui.flow import citizen_session_active

    returning = view(pickup_state=PickupState.IDLE, return_state=ReturnState.OFFERED, return_compartment=20)
    assert choose_screen(returning, UiState(lang="en")) is Screen.RETURN
    assert citizen_session_active(returning)  # the pickup reset to idle, the citizen is still there
    assert not citizen_session_active(view())
    assert "20" in spoken_prompt(Screen.RETURN, returning, "en")


def test_overlays_only_over_citizen_screens():
    assert choose_screen(view(), UiState(overlay="a11y", code_mode="type")) is Screen.A11Y


def test_timeout_warning_only_near_the_end_of_an_extendable_screen():
    assert seconds_left(NOW + timedelta(seconds=4.2), NOW) == 5
    assert seconds_left(NOW - timedelta(seconds=3), NOW) == 0
    assert seconds_left(None, NOW) is None
    soon = NOW + timedelta(seconds=10)
    assert timeout_warning(Screen.PIN, soon, NOW, 15) == 10
    assert timeout_warning(Screen.PIN, NOW + timedelta(seconds=30), NOW, 15) is None
    # The door screens have their own handling in the core: no "more time" there.
    assert timeout_warning(Screen.DOOR_OPEN, soon, NOW, 15) is None


def test_session_reset_returns_to_german_and_default_modes():
    used = UiState(lang="ar", high_contrast=True, large_text=True, reach=True, speech=False, code_mode="type",
                   overlay="a11y")
    assert used.reset_citizen() == UiState()
    assert UiState().lang == DEFAULT_LANGUAGE == "de"


# --------------------------------------------------------------------- keys

def test_keypad_keys():
    assert key_action(KEY_ENTER, None, Screen.PIN, False) == (KeyAction.ENTER, "")
    assert key_action(KEY_ESCAPE, None, Screen.PIN, True) == (KeyAction.BACK, "")
    assert key_action(KEY_BACKSPACE, None, Screen.PIN, True) == (KeyAction.DELETE, "")
    assert key_action(KEY_BACKSPACE, None, Screen.PIN, False) == (KeyAction.BACK, "")
    assert key_action(KEY_F1, None, Screen.IDLE, False)[0] is KeyAction.HELP
    assert key_action(ord("?"), "?", Screen.CODE, False)[0] is KeyAction.HELP
    assert key_action(KEY_LEFT, None, Screen.CODE, False) == (KeyAction.MOVE, "left")
    assert key_action(ord("5"), "5", Screen.PIN, False) == (KeyAction.CHAR, "5")
    assert key_action(ord("a"), "a", Screen.PIN, False)[0] is KeyAction.NONE  # PINs are digits
    assert key_action(ord("k"), "k", Screen.CODE, False) == (KeyAction.CHAR, "k")
    assert key_action(ord("+"), "+", Screen.CODE, False)[0] is KeyAction.LARGE_TEXT
    assert key_action(ord("-"), "-", Screen.IDLE, False)[0] is KeyAction.CONTRAST
    # Staff type references with dashes: no accessibility toggles there.
    assert key_action(ord("-"), "-", Screen.STAFF_DEPOSIT, False) == (KeyAction.CHAR, "-")


# -------------------------------------------------------------------- focus

GRID = [(x * 100, y * 100, 90, 90) for y in (2, 1, 0) for x in range(3)]  # 3x3, top row first


def test_arrows_move_like_on_a_grid():
    assert next_focus(GRID, None, "right") == 0
    assert next_focus(GRID, 0, "right") == 1
    assert next_focus(GRID, 0, "down") == 3
    assert next_focus(GRID, 4, "up") == 1
    assert next_focus(GRID, 4, "left") == 3
    assert next_focus([], None, "down") is None


def test_arrows_prefer_the_row_over_a_nearer_key_diagonally_above():
    # A keypad row above a wide bottom row: right from "Back" goes to "Delete", not up to a key.
    rects = [(0, 100, 90, 60), (100, 100, 90, 60), (0, 0, 190, 60), (400, 0, 190, 60), (800, 0, 190, 60)]
    assert next_focus(rects, 2, "right") == 3
    assert next_focus(rects, 3, "right") == 4
    assert next_focus(rects, 1, "down") == 2  # below, though not straight below


def test_arrows_wrap_so_every_button_is_reachable():
    assert next_focus(GRID, 8, "right") == 0
    assert next_focus(GRID, 0, "left") == 8
    seen, focus = set(), None
    for _ in range(len(GRID)):
        focus = next_focus(GRID, focus, "right")
        seen.add(focus)
    assert seen == set(range(len(GRID)))


# ------------------------------------------------------------------ buffers

def test_code_buffer_takes_only_the_code_alphabet_and_explains_problems():
    code = credentials.generate_code()
    buffer = CodeBuffer()
    assert not buffer.add("O") and not buffer.add("1") and not buffer.add("I") and not buffer.add("0")
    for char in code[:4]:
        assert buffer.add(char.lower())
    assert buffer.display() == f"{code[:4]}-____-__"
    assert buffer.problem() == (texts.CODE_TOO_SHORT, {"total": 10, "count": 4})
    for char in code[4:]:
        buffer.add(char)
    assert not buffer.add("A")  # full
    assert buffer.problem() is None
    buffer.delete()
    buffer.add(next(c for c in "ABC" if c != code[-1]))  # a wrong check character
    assert buffer.problem() == (texts.CODE_TYPO, {})
    assert buffer.take() != "" and buffer.count == 0


def test_buffers_are_wiped_on_reset():
    buffers = InputBuffers.new()
    buffers.code.add("K")
    buffers.pin.add("4")
    buffers.reference.add("P")
    buffers.clear()
    assert (buffers.code.peek(), buffers.pin.peek(), buffers.reference.peek()) == ("", "", "")


def test_pin_buffer_is_six_digits():
    pin = PinBuffer()
    assert not pin.add("a")
    for digit in "1234567":
        pin.add(digit)
    assert pin.take() == "123456"


# -------------------------------------------------------------------- texts

MSGIDS = {name: value for name, value in vars(texts).items() if name.isupper() and isinstance(value, str)}


def test_placeholders_are_named_and_translations_fill_them():
    for name, msgid in MSGIDS.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(msgid) if f is not None]
        assert all(re.fullmatch(r"[a-z_]+", f) for f in fields), name
        values = {f: "X" for f in fields}
        for lang in LANGUAGES:
            assert "{" not in t(msgid, lang.code, **values), (name, lang.code)


def test_languages_have_native_names_and_arabic_is_rtl():
    assert [lang.code for lang in LANGUAGES] == ["de", "en", "tr", "uk", "ru", "pl", "ar"]
    assert language("ar").rtl and not language("de").rtl
    assert language("xx").code == "de"


def test_every_staff_notice_the_domain_sets_has_a_text():
    import inspect

    from kiosk.domain import staff_session

    source = inspect.getsource(staff_session)
    codes = set(re.findall(r'_set_(?:error|message)\("([a-z_]+)"', source))
    assert codes and codes <= set(STAFF_NOTICES), codes - set(STAFF_NOTICES)
    text = staff_notice(Notice("order_status", (("reference", "PO-1"), ("status", "collected"))), "en")
    assert text == "Order PO-1 cannot be deposited: it is already collected."
    assert staff_notice(Notice(), "en") == ""


def test_wrong_pin_says_how_many_attempts_are_left():
    (_, _), (text, values) = citizen_error(view(pickup_state=PickupState.WRONG_PIN, attempts_left=3))
    assert t(text, "en", **values) == "The PIN is not correct. You have 3 attempts left."
    (_, _), (text, _) = citizen_error(view(pickup_state=PickupState.WRONG_PIN, attempts_left=1))
    assert text == texts.ERR_WRONG_PIN_LAST


def test_spoken_prompts_say_where_the_compartment_is():
    opening = view(pickup_state=PickupState.DOOR_OPENING, pickup_compartment=3)
    assert compartment_place(opening, 3) == {"number": 3, "column": 2, "columns": 2, "row": 1, "rows": 2}
    assert spoken_prompt(Screen.OPENING, opening, "en") == (
        "Compartment 3 is opening. Column 2 of 2, counted from the left, row 1 of 2, counted from the floor.")
    no_sensor = view(pickup_state=PickupState.DOOR_OPEN, pickup_compartment=3, has_door_sensors=False)
    assert "I have closed the door" in spoken_prompt(Screen.DOOR_OPEN, no_sensor, "en")
    for screen in (Screen.IDLE, Screen.SCAN, Screen.CODE, Screen.PIN, Screen.PIN_LETTER, Screen.DONE):
        assert spoken_prompt(screen, view(), "en")


# -------------------------------------------------------------------- theme

def test_palettes_meet_the_contrast_targets():
    for pal, minimum in ((NORMAL, 4.5), (HIGH_CONTRAST, 7.0)):
        for fg, bg in ((pal.text, pal.background), (pal.muted_text, pal.background), (pal.button_text, pal.button),
                       (pal.button_secondary_text, pal.button_secondary), (pal.error_text, pal.error),
                       (pal.highlight_text, pal.highlight)):
            assert contrast_ratio(fg, bg) >= minimum


def test_touch_targets_are_15_mm_at_the_configured_dpi():
    for dpi in (96, 160, 300):
        assert Metrics(dpi, False).target / dpi * 25.4 >= 15


def test_speech_capture_variable_is_not_taken_for_a_setting():
    from kiosk.config import load_settings

    settings = load_settings(None, environ={"PICKUPBOX_SPEECH_CAPTURE": "/tmp/x", "PICKUPBOX_UI__SCREEN_DPI": "160"})
    assert settings.ui.screen_dpi == 160


def test_contact_details_keep_their_reading_order_in_arabic():
    from kiosk.ui.messages import office_contact

    text = office_contact("Bürgerbüro", "0800 123 456", "Mo-Fr 8-16", "ar")
    assert "\u20680800 123 456\u2069" in text
    assert "\u2068" not in office_contact("Bürgerbüro", "0800 123 456", "Mo-Fr 8-16", "de")
