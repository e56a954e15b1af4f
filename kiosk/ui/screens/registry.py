"""Screen id -> builder."""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.widget import Widget

from kiosk.ui.flow import Screen
from kiosk.ui.screens import citizen_entry, citizen_result, citizen_start, staff_login, staff_service, staff_work
from kiosk.ui.screens import staff_inspection
from kiosk.ui.screens.common import Ctx

BUILDERS: dict[Screen, Callable[[Ctx], Widget]] = {
    Screen.IDLE: citizen_start.idle,
    Screen.LANGUAGE: citizen_start.language,
    Screen.A11Y: citizen_start.accessibility,
    Screen.HELP: citizen_start.help_page,
    Screen.SCAN: citizen_entry.scan,
    Screen.CODE: citizen_entry.code,
    Screen.PIN: citizen_entry.pin,
    Screen.PIN_LETTER: citizen_entry.pin_letter,
    Screen.OPENING: citizen_result.opening,
    Screen.DOOR_OPEN: citizen_result.door_open,
    Screen.DONE: citizen_result.done,
    Screen.PROBLEM: citizen_result.problem,
    Screen.PROBLEM_REPORTED: citizen_result.problem_reported,
    Screen.ERROR: citizen_result.error,
    Screen.RETURN: citizen_result.old_id_return,
    Screen.STAFF_PIN: staff_login.staff_pin,
    Screen.STAFF_SECOND_CARD: staff_login.second_card,
    Screen.STAFF_MENU: staff_work.menu,
    Screen.STAFF_DEPOSIT: staff_work.deposit,
    Screen.STAFF_DOOR: staff_work.door,
    Screen.STAFF_COMPARTMENTS: staff_service.compartments,
    Screen.STAFF_REASON: staff_service.reason,
    Screen.STAFF_HEALTH: staff_service.health,
    Screen.STAFF_INSPECTIONS: staff_inspection.inspections,
    Screen.STAFF_INSPECTION_DOOR: staff_inspection.inspection_door,
}
