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
    assert t(text, "en", **values) == "The pickup PIN is not correct. You have 3 attempts left."
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


# ------------------------------------------------------------ issue 13 defects

PLURALS = {name: value for name, value in vars(texts).items() if isinstance(value, texts.Plural)}


def test_numbers_take_the_plural_form_of_each_language():
    # "schließt in 1 Sekunden" and Arabic "2 ثانية" were the defects.
    assert t(texts.TIMEOUT_TEXT, "de", seconds=1) == "Dieser Bildschirm schließt in 1 Sekunde."
    assert t(texts.TIMEOUT_TEXT, "de", seconds=20) == "Dieser Bildschirm schließt in 20 Sekunden."
    assert t(texts.TIMEOUT_TEXT, "ar", seconds=2) == "ستُغلق هذه الشاشة خلال ثانيتين."
    assert "ثوانٍ" in t(texts.TIMEOUT_TEXT, "ar", seconds=5)
    assert t(texts.TIMEOUT_TEXT, "ru", seconds=21).endswith("21 секунду.")
    assert t(texts.TIMEOUT_TEXT, "ru", seconds=5).endswith("5 секунд.")
    assert t(texts.REMOVAL_DONE, "pl", count=3) == "Wyjęto 3 dokumenty."
    for name, plural in PLURALS.items():
        for lang in LANGUAGES:
            for n in (0, 1, 2, 5, 11, 100):
                values = {f: n if f == plural.key else "X"
                          for f in {f for _, f, _, _ in string.Formatter().parse(plural.plural) if f}}
                assert "{" not in t(plural, lang.code, **values), (name, lang.code, n)


def test_every_text_that_shows_a_count_is_a_plural():
    counting = {"seconds", "count", "attempts"}
    singular_with_count = [name for name, msgid in MSGIDS.items()
                           if {f for _, f, _, _ in string.Formatter().parse(msgid) if f} & counting]
    assert not singular_with_count, singular_with_count


def test_the_time_out_warning_gives_at_least_20_seconds():
    from kiosk.ui.flow import warning_seconds

    assert warning_seconds(15, 60) == 20 and warning_seconds(45, 60) == 45
    assert warning_seconds(6, 10) == 6  # a 10 s session (the shortest allowed) warns for half of it at most
    assert timeout_warning(Screen.PIN, NOW + timedelta(seconds=19), NOW, warning_seconds(15, 60)) == 19


def test_a_session_that_timed_out_is_told_on_the_idle_screen():
    from kiosk.ui.flow import ended_by_timeout

    pin = view(pickup_state=PickupState.AWAITING_PIN)
    assert ended_by_timeout(pin, view(), user_ended=False)
    assert not ended_by_timeout(pin, view(), user_ended=True)  # Cancel
    assert not ended_by_timeout(view(pickup_state=PickupState.DONE), view(), user_ended=False)
    assert not ended_by_timeout(view(), view(), user_ended=False)


def test_the_pin_is_named_the_pickup_pin_everywhere():
    for msgid in (texts.PIN_TITLE, texts.PIN_INSTRUCTION, texts.SAY_PIN, texts.IDLE_HINT, texts.HELP_PIN):
        assert "Abhol-PIN" in t(msgid, "de"), msgid
        assert "pickup PIN" in msgid
    assert "Abhol-PIN" in t(texts.ERR_WRONG_PIN_TEXT, "de", attempts=2)


def test_the_pin_letter_asks_only_for_receipt_and_says_what_no_means():
    text = t(texts.PIN_LETTER_TEXT, "en")
    assert "received the PIN letter" in text
    assert "envelope" not in text and "opened" not in text  # PAuswV §17: receipt, nothing more
    assert "come back" in t(texts.PIN_LETTER_NOT_RECEIVED, "en")
    assert "Come back" in t(texts.ERR_PIN_LETTER_DECLINED_TEXT, "en")


def test_confirmations_are_not_drawn_as_errors():
    from kiosk.ui.messages import notice_kind
    from kiosk.ui.screens.common import notice_colours

    assert notice_kind(Notice("deposited", (("reference", "A"), ("number", 6)))) == "success"
    assert notice_kind(Notice("removed", (("count", 2),))) == "success"
    assert notice_kind(Notice("unknown_order")) == "error"
    for pal in (NORMAL, HIGH_CONTRAST):
        assert notice_colours(pal, "success") != notice_colours(pal, "error")
        assert contrast_ratio(pal.success_text, pal.success) >= 7


def test_toggles_say_their_state_in_words():
    from kiosk.ui.screens.common import toggle_label

    assert toggle_label(texts.HIGH_CONTRAST, True, "de") == "Hoher Kontrast: an"
    assert toggle_label(texts.HIGH_CONTRAST, False, "de") == "Hoher Kontrast: aus"


def test_long_words_shrink_instead_of_breaking():
    from kiosk.ui.shaping import fit_scale, wrap

    def measure(text):
        return 10.0 * len(text)

    lines = wrap("Barrierefreiheit einstellen", "de", 120, measure)
    assert lines == ["Barrierefreiheit", "einstellen"]  # whole words, never "Barrierefreih|eit"
    assert fit_scale("Barrierefreiheit", "de", 120, measure) == pytest.approx(120 / 160)
    assert fit_scale("kurz", "de", 120, measure) == 1.0


def test_a_phone_number_is_never_split_across_lines_in_arabic():
    from kiosk.ui.messages import office_contact
    from kiosk.ui.shaping import wrap
    from kiosk.ui.widgets import BIDI_CONTROLS

    text = office_contact("Bürgerbüro Mitte", "0800 123 456", "Mo-Fr 8-16", "ar")
    for width in (200, 300, 400, 600):
        lines = [line.translate(BIDI_CONTROLS) for line in wrap(text, "ar", width, lambda s: 10.0 * len(s))]
        assert any("0800 123 456" in line for line in lines), lines


def test_rows_and_icons_follow_the_reading_direction():
    from kiosk.ui.screens.common import reading_order
    from kiosk.ui.widgets import mirrored_icon

    assert reading_order(["back", "continue"], rtl=True) == ["continue", "back"]
    assert reading_order(["back", "continue"], rtl=False) == ["back", "continue"]
    assert mirrored_icon("back", True) == "back-rtl" and mirrored_icon("back", False) == "back"
    assert mirrored_icon("check", True) == "check"


def test_cabinet_schematic_cells_stay_inside_and_do_not_overlap():
    from kiosk.ui.screens.box_schematic import THICK, cell_rects, outline_rect

    box = [Compartment(n, Size.S if n % 3 else Size.M, (n - 1) // 5 + 1, (n - 1) % 5 + 1) for n in range(1, 21)]
    rects = cell_rects(box, 0, 0, 400, 300)
    assert len(rects) == 20
    for number, (x, y, w, h) in rects.items():
        assert x >= 0 and y >= 0 and x + w <= 400 and y + h <= 300, number
        ox, oy, ow, oh = outline_rect((x, y, w, h), THICK)
        # The thick outline of the highlight (Kivy strokes centred on the path) stays in its cell.
        assert ox - THICK / 2 >= x and ox + ow + THICK / 2 <= x + w + 1e-9
        for other, (x2, y2, w2, h2) in rects.items():
            if other != number:
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, (number, other)
    # The fourth column has a left edge of its own, apart from the third's right edge.
    assert rects[16][0] > rects[11][0] + rects[11][2]


def test_staff_grid_is_laid_out_like_the_cabinet():
    from kiosk.ui.screens.staff_work import cabinet_cells

    cells = cabinet_cells(BOX)
    assert [[c.number if c else None for c in row] for row in cells] == [[2, 4], [1, 3]]  # top row first


def test_empty_code_slots_are_apart():
    from kiosk.ui.screens.citizen_entry import spaced_slots

    assert "__" not in spaced_slots("K7__-____-__")
    assert spaced_slots("K7M2-QXD4-5A") == "K7M2-QXD4-5A"


def test_device_names_are_translated():
    from kiosk.ui.messages import device_name

    assert device_name("lock board A", "de") == "Schlossplatine A"
    assert device_name("speech output", "de") == "Sprachausgabe"
    assert device_name("Virtual PCD 00 00", "de") == "Virtual PCD 00 00"


def test_help_has_a_page_for_every_citizen_step_and_names_a_person():
    from kiosk.ui.messages import HELP_TEXTS, help_prompt

    for screen in (Screen.IDLE, Screen.SCAN, Screen.CODE, Screen.PIN, Screen.PIN_LETTER, Screen.DOOR_OPEN):
        assert screen in HELP_TEXTS
    spoken = help_prompt(Screen.PIN, "Bürgerbüro, Telefon 0800 123 456", "de")
    assert "nicht die PIN Ihres Ausweises" in spoken and "0800 123 456" in spoken
    assert choose_screen(view(), UiState(overlay="help", help_for="pin")) is Screen.HELP


def test_steps_of_a_pickup():
    from kiosk.ui.screens.common import step_names, step_number

    assert step_number(texts.STEP_PIN, True) == 2 and step_number(texts.STEP_TAKE, True) == 4
    assert step_number(texts.STEP_TAKE, False) == 3  # no PIN letter for a passport
    assert texts.STEP_LETTER not in step_names(False)


def test_every_intent_reaches_a_real_core_method():
    """The typed interface: each Intents method names a KioskCore method with
    arguments it accepts (a typo fails here, not at the terminal)."""
    import inspect

    from kiosk.core import KioskCore
    from kiosk.domain.effects import Problem
    from kiosk.ui.intents import Intents

    calls = []
    intents = Intents(lambda method, *args: calls.append((method, args)))
    samples = {"raw": "K7M2QXD45A", "pin": "123456", "confirmed": True, "visible": True, "reference": "PO-1",
               "compartment": 3, "reason": "check", "outcome": "inside", "correct": True,
               "problem": Problem.COMPARTMENT_EMPTY}
    names = [n for n, f in inspect.getmembers(Intents, inspect.isfunction) if not n.startswith("_")]
    assert len(names) >= 18
    for name in names:
        params = list(inspect.signature(getattr(Intents, name)).parameters)[1:]
        calls.clear()
        getattr(intents, name)(*(samples[p] for p in params))
        (method, args), = calls
        assert getattr(KioskCore, method.__name__) is method, name
        inspect.signature(method).bind(object(), *args)  # the core accepts these arguments


def test_first_run_is_a_window_and_production_stays_locked_down(tmp_path):
    from kiosk.config import load_settings
    from kiosk.ui.first_run import demo_environment, demo_login_hint
    from kiosk.ui.launch import locked_down

    demo = load_settings(None, environ=demo_environment(tmp_path))
    assert not locked_down(demo, windowed=False)
    assert demo.office.phone  # the footer shows a phone number, not "Please contact Bürgerbüro."
    production = load_settings(None, environ={})
    assert production.ui.fullscreen and locked_down(production, windowed=False)
    assert not locked_down(production, windowed=True)
    from kiosk.demo import STAFF_CARD, STAFF_PIN

    assert STAFF_CARD in demo_login_hint() and STAFF_PIN in demo_login_hint()


def test_the_first_run_demo_staff_can_log_in(tmp_path):
    """`tools/run` creates its demo staff member through the authenticated office
    API of the embedded registry, and the kiosk gets it by sync (what a newcomer
    needs to get out of the demo)."""
    import time

    from kiosk.app import build_kiosk
    from kiosk.config import load_settings
    from kiosk.demo import STAFF_CARD, STAFF_PIN
    from kiosk.ui.first_run import create_demo_staff, demo_environment

    settings = load_settings(None, environ={**demo_environment(tmp_path),
                                            "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2"})
    kiosk = build_kiosk(settings)
    kiosk.start()
    try:
        create_demo_staff(kiosk.registry.port, settings.registry.embedded_db)
        create_demo_staff(kiosk.registry.port, settings.registry.embedded_db)  # a second start
        deadline = time.monotonic() + 20
        while kiosk.store.staff_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        kiosk.core.present_staff_card(STAFF_CARD)
        view = kiosk.core.staff_pin(STAFF_PIN)
        assert view.staff_state.value == "menu", view.staff_error
    finally:
        kiosk.stop()


def test_the_first_run_demo_opens_the_office_console_with_a_demo_account(tmp_path):
    """`tools/run` also serves the office console; its demo supervisor signs in
    with the password kept (mode 0600) in the demo's data dir."""
    import re

    import httpx

    from kiosk.app import build_kiosk
    from kiosk.config import load_settings
    from kiosk.ui.first_run import CONSOLE_PASSWORD_FILE, demo_environment, start_demo_console

    settings = load_settings(None, environ=demo_environment(tmp_path))
    kiosk = build_kiosk(settings)
    kiosk.start()
    web = None
    try:
        web, url, password = start_demo_console(kiosk.registry, tmp_path)
        again = start_demo_console(kiosk.registry, tmp_path)  # a second start: same account
        again[0].stop()
        assert again[2] == password
        assert (tmp_path / CONSOLE_PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
        with httpx.Client(base_url=url, follow_redirects=False) as client:
            form = client.get("/signin").text
            fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
            signed_in = client.post("/signin", data={**fields, "user": "demo", "password": password})
            assert signed_in.status_code == 303
            assert "Stationen" in client.get("/").text  # a supervisor's start page
    finally:
        if web is not None:
            web.stop()
        kiosk.stop()


# ------------------------------------------------ throttle countdown, document kind

CODES = [lang.code for lang in LANGUAGES]


def test_throttle_shows_the_real_remaining_wait_with_plurals():
    from kiosk.ui.messages import retry_wait, throttle_text
    throttled = view(pickup_state=PickupState.THROTTLED, pickup_retry_at=NOW + timedelta(seconds=41.2))
    assert retry_wait(throttled, NOW) == 42
    assert retry_wait(throttled, NOW + timedelta(seconds=42)) == 0
    assert retry_wait(view(pickup_state=PickupState.UNKNOWN_CODE), NOW) is None
    (_, _), (text, values) = citizen_error(throttled, NOW)
    assert t(text, "de", **values) == "Es gab zu viele Versuche. Sie können es in 42 Sekunden erneut versuchen."
    assert t(*throttle_text(1)[:1], "de", **throttle_text(1)[1]).endswith("in 1 Sekunde erneut versuchen.")
    # Over a minute: whole minutes, rounded up (4 min 47 s -> 5 minutes).
    assert throttle_text(287) == (texts.THROTTLE_WAIT_MINUTES, {"minutes": 5})
    assert throttle_text(60) == (texts.THROTTLE_WAIT_SECONDS, {"seconds": 60})
    assert throttle_text(0) == (texts.THROTTLE_READY, {})
    for seconds in (1, 2, 5, 11, 60):
        for lang in CODES:
            shown = t(texts.THROTTLE_WAIT_SECONDS, lang, seconds=seconds)
            assert "{" not in shown and shown != t(texts.THROTTLE_READY, lang)
    # The spoken prompt says the same as the screen.
    assert "42" in spoken_prompt(Screen.ERROR, throttled, "de", NOW)


def test_throttled_pin_attempt_says_wait_not_wrong_pin():
    waiting = view(pickup_state=PickupState.WRONG_PIN, attempts_left=2, pickup_retry_at=NOW + timedelta(seconds=9))
    (title, _), (text, values) = citizen_error(waiting, NOW)
    assert (title, text, values) == (texts.ERR_THROTTLED_TITLE, texts.THROTTLE_WAIT_SECONDS, {"seconds": 9})
    wrong = view(pickup_state=PickupState.WRONG_PIN, attempts_left=2)
    assert citizen_error(wrong, NOW)[0][0] == texts.ERR_WRONG_PIN_TITLE


def test_document_kind_line_in_every_language():
    from kiosk.domain.pickup_order import DocumentKind
    from kiosk.ui.messages import KIND_TEXTS, document_kind_line
    assert document_kind_line(view(), "de") == ""
    assert document_kind_line(view(pickup_document_kind=DocumentKind.PASSPORT), "de") == "Dokument: Reisepass"
    assert document_kind_line(view(pickup_document_kind=DocumentKind.ID_CARD), "de") == "Dokument: Personalausweis"
    assert set(KIND_TEXTS) == set(DocumentKind)
    for lang in CODES:
        for kind in DocumentKind:
            line = document_kind_line(view(pickup_document_kind=kind), lang)
            assert line and "{" not in line
            if lang != "en":
                assert t(KIND_TEXTS[kind], lang) != KIND_TEXTS[kind], (lang, kind)


def test_the_staff_grid_draws_doors_by_size_and_never_below_the_touch_minimum():
    from kiosk.ui.screens.cabinet_grid import door_heights

    # A column of S, S, S, M, L doors (floor first) in room for 6 small ones.
    heights = door_heights([1, 1, 1, 2, 3], 6.0, 1.0)
    assert heights[:3] == [1.0, 1.0, 1.0]  # held at the floor (0.75 in proportion)
    assert heights[3] < heights[4] and abs(heights[3] / heights[4] - 2 / 3) < 1e-9  # the rest in proportion
    assert abs(sum(heights) - 6.0) < 1e-9
    assert door_heights([2, 2], 8.0, 1.0) == [4.0, 4.0]
    assert min(door_heights([1, 1, 1, 1], 2.0, 1.0)) == 1.0  # too little room: the floors win


def test_the_staff_grid_names_the_order_and_its_pickup_deadline():
    from datetime import datetime, timezone

    from kiosk.domain.compartment import Compartment, CompartmentState, Size
    from kiosk.ui.screens.common import Ctx
    from kiosk.ui.screens.staff_work import compartment_caption
    from kiosk.ui.theme import Metrics, palette

    deadline = datetime(2026, 3, 16, 12, 0, tzinfo=timezone.utc)
    occupied = Compartment(7, Size.S, 2, 4, state=CompartmentState.OCCUPIED, order_reference="PO-7K2M9QXD")
    ctx = Ctx(view(pickup_deadlines=((7, deadline),)), UiState(lang="de"), None, palette(False),
              Metrics(96, False), None, NOW, None, None)
    caption = compartment_caption(ctx, occupied)
    assert "PO-7K2M9QXD" in caption and deadline.astimezone().strftime("%d.%m.%Y") in caption
    free = Compartment(8, Size.S, 2, 3)
    assert "PO-" not in compartment_caption(ctx, free)


def test_a_problem_can_be_reported_at_the_door_and_the_next_screen_says_what_happens():
    from kiosk.ui.flow import ended_by_timeout

    asking = UiState(overlay="problem")
    for state in (PickupState.DOOR_OPENING, PickupState.DOOR_OPEN, PickupState.DONE):
        assert choose_screen(view(pickup_state=state), asking) is Screen.PROBLEM
    # Not offered before the door is being opened.
    assert choose_screen(view(pickup_state=PickupState.AWAITING_PIN), asking) is Screen.PIN
    reported = view(pickup_state=PickupState.PROBLEM_REPORTED)
    assert choose_screen(reported, UiState()) is Screen.PROBLEM_REPORTED
    assert spoken_prompt(Screen.PROBLEM_REPORTED, reported, "en") == t(texts.SAY_PROBLEM_REPORTED, "en")
    # Its screen goes back to the start on its own, without "timed out".
    assert not ended_by_timeout(reported, view(), user_ended=False)
