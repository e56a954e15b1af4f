"""Which screen to show: a pure function of the core's view and the UI state.

Kept free of Kivy so it is tested without a window. The staff screens win
over the citizen screens: the core accepts a staff card only while no pickup
is under way, and refuses citizen codes while staff are logged in.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from kiosk.core import KioskView
from kiosk.domain.document_return import ReturnState
from kiosk.domain.pickup_session import PROBLEM_STATES, PickupState
from kiosk.domain.staff_session import StaffState
from kiosk.ui.state import UiState


class Screen(str, Enum):
    IDLE = "idle"
    LANGUAGE = "language"
    A11Y = "accessibility"
    HELP = "help"
    SCAN = "scan"
    CODE = "code"
    PIN = "pin"
    PIN_LETTER = "pin_letter"
    OPENING = "opening"
    DOOR_OPEN = "door_open"
    DONE = "done"
    PROBLEM = "problem"  # the citizen chooses what is wrong at the door
    PROBLEM_REPORTED = "problem_reported"
    ERROR = "error"
    RETURN = "old_id_return"
    STAFF_PIN = "staff_pin"
    STAFF_SECOND_CARD = "staff_second_card"
    STAFF_MENU = "staff_menu"
    STAFF_DEPOSIT = "staff_deposit"
    STAFF_DOOR = "staff_door"
    STAFF_COMPARTMENTS = "staff_compartments"
    STAFF_REASON = "staff_reason"
    STAFF_HEALTH = "staff_health"
    STAFF_INSPECTIONS = "staff_inspections"
    STAFF_INSPECTION_DOOR = "staff_inspection_door"

    @property
    def is_staff(self) -> bool:
        return self.value.startswith("staff_")


CITIZEN_SCREENS_BY_STATE = {
    PickupState.AWAITING_PIN: Screen.PIN,
    PickupState.WRONG_PIN: Screen.PIN,  # the error is shown above the keypad: the citizen types again
    PickupState.AWAITING_PIN_LETTER: Screen.PIN_LETTER,
    PickupState.DOOR_OPENING: Screen.OPENING,
    PickupState.DOOR_OPEN: Screen.DOOR_OPEN,
    PickupState.DONE: Screen.DONE,
    PickupState.PROBLEM_REPORTED: Screen.PROBLEM_REPORTED,
}
STAFF_SCREENS_BY_STATE = {
    StaffState.AWAITING_PIN: Screen.STAFF_PIN,
    StaffState.AWAITING_SECOND_PIN: Screen.STAFF_PIN,
    StaffState.AWAITING_SECOND_CARD: Screen.STAFF_SECOND_CARD,
    StaffState.DEPOSIT_AWAITING_REFERENCE: Screen.STAFF_DEPOSIT,
    StaffState.DEPOSIT_DOOR_OPEN: Screen.STAFF_DOOR,
    StaffState.REMOVAL_DOOR_OPEN: Screen.STAFF_DOOR,
    StaffState.SERVICE_DOOR_OPEN: Screen.STAFF_DOOR,
    StaffState.INSPECTION_DOOR_OPEN: Screen.STAFF_INSPECTION_DOOR,
}
STAFF_PAGES = {"menu": Screen.STAFF_MENU, "compartments": Screen.STAFF_COMPARTMENTS,
               "health": Screen.STAFF_HEALTH, "inspections": Screen.STAFF_INSPECTIONS}
# Screens whose time limit the citizen is warned about and may extend.
EXTENDABLE = frozenset({Screen.SCAN, Screen.CODE, Screen.PIN, Screen.PIN_LETTER, Screen.LANGUAGE, Screen.A11Y,
                        Screen.HELP})
# WCAG 2.2.1 asks for at least 20 seconds to answer "Do you need more time?".
MIN_WARNING_SECONDS = 20


def warning_seconds(configured: int, session_timeout: int) -> int:
    """The warning time to use: the configured one, but at least 20 s, or half
    the session time when a (test) configuration makes sessions shorter than 40 s."""
    return max(configured, min(MIN_WARNING_SECONDS, session_timeout // 2))


def ended_by_timeout(old: KioskView, new: KioskView, user_ended: bool) -> bool:
    """A citizen session went back to idle with nobody asking for it and not
    after a finished pickup: the idle screen then says why."""
    if user_ended or not citizen_session_active(old) or citizen_session_active(new):
        return False
    return (old.pickup_state not in (PickupState.DONE, PickupState.PROBLEM_REPORTED)
            and old.return_state is ReturnState.OFF)


def choose_screen(view: KioskView, ui: UiState) -> Screen:
    if view.staff_state is not StaffState.LOGGED_OUT:
        if view.staff_state is StaffState.MENU:
            if ui.asking_reason and ui.selected is not None:
                return Screen.STAFF_REASON
            return STAFF_PAGES.get(ui.staff_page, Screen.STAFF_MENU)
        return STAFF_SCREENS_BY_STATE[view.staff_state]
    if view.return_state is not ReturnState.OFF:
        return Screen.RETURN  # after the handover: the old ID card (see document_return.py)
    if ui.overlay == "language":
        return Screen.LANGUAGE
    if ui.overlay == "a11y":
        return Screen.A11Y
    if ui.overlay == "help":
        return Screen.HELP
    if ui.overlay == "problem" and view.pickup_state in PROBLEM_STATES:
        return Screen.PROBLEM
    if view.pickup_state is PickupState.IDLE:
        return {"scan": Screen.SCAN, "type": Screen.CODE}.get(ui.code_mode, Screen.IDLE)
    return CITIZEN_SCREENS_BY_STATE.get(view.pickup_state, Screen.ERROR)


def citizen_session_active(view: KioskView) -> bool:
    """A pickup (or the old-ID return after it) is under way: the UI keeps its language and modes."""
    return view.pickup_state is not PickupState.IDLE or view.return_state is not ReturnState.OFF


def seconds_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds until `expires_at` (rounded up, never negative), or None."""
    if expires_at is None:
        return None
    remaining = (expires_at - now).total_seconds()
    return max(0, int(remaining + 0.999))


def timeout_warning(screen: Screen, expires_at: datetime | None, now: datetime, warn_seconds: int) -> int | None:
    """Seconds to show in the "Do you need more time?" warning, or None."""
    if screen not in EXTENDABLE:
        return None
    left = seconds_left(expires_at, now)
    if left is None or left > warn_seconds:
        return None
    return left
