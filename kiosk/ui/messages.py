"""What to say: maps core states and notices to translatable texts.

Pure functions (no Kivy), shared by the screens and the speech output, so a
screen and its spoken prompt never disagree. Domain English free text
(`staff_error`, `pickup_detail`) is never shown: only these mappings are.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.core import KioskView
from kiosk.core.kiosk_core import HELP_CALL_PREFIX
from kiosk.domain.document_return import ReturnState
from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.pickup_order import DocumentKind
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import Notice
from kiosk.ui import inspection_texts, texts
from kiosk.ui.flow import Screen, seconds_left
from kiosk.ui.i18n import language, t

Text = tuple[str, dict]  # msgid + values

CITIZEN_ERRORS: dict[PickupState, tuple[str, str]] = {
    PickupState.INVALID_CODE: (texts.ERR_INVALID_CODE_TITLE, texts.ERR_INVALID_CODE_TEXT),
    PickupState.UNKNOWN_CODE: (texts.ERR_UNKNOWN_CODE_TITLE, texts.ERR_UNKNOWN_CODE_TEXT),
    PickupState.NOT_AVAILABLE: (texts.ERR_NOT_AVAILABLE_TITLE, texts.ERR_NOT_AVAILABLE_TEXT),
    PickupState.EXPIRED: (texts.ERR_EXPIRED_TITLE, texts.ERR_EXPIRED_TEXT),
    PickupState.LOCKED: (texts.ERR_LOCKED_TITLE, texts.ERR_LOCKED_TEXT),
    PickupState.THROTTLED: (texts.ERR_THROTTLED_TITLE, texts.ERR_THROTTLED_TEXT),
    PickupState.PIN_LETTER_DECLINED: (texts.ERR_PIN_LETTER_DECLINED_TITLE, texts.ERR_PIN_LETTER_DECLINED_TEXT),
    PickupState.DOOR_FAILED: (texts.ERR_DOOR_FAILED_TITLE, texts.ERR_DOOR_FAILED_TEXT),
}
# Errors after which typing a code again makes sense; the others send the
# citizen to the office, so the screen offers only "Back to the start".
RETRYABLE = frozenset({PickupState.INVALID_CODE, PickupState.UNKNOWN_CODE, PickupState.THROTTLED})


def retry_wait(view: KioskView, now: datetime) -> int | None:
    """Seconds a throttled citizen must still wait (0: they may try again now),
    or None when the kiosk is not throttling them."""
    return seconds_left(view.pickup_retry_at, now)


def throttle_text(left: int) -> Text:
    """The real remaining wait: seconds under a minute, else whole minutes (rounded up)."""
    if left <= 0:
        return texts.THROTTLE_READY, {}
    if left > 60:
        return texts.THROTTLE_WAIT_MINUTES, {"minutes": (left + 59) // 60}
    return texts.THROTTLE_WAIT_SECONDS, {"seconds": left}


def citizen_error(view: KioskView, now: datetime | None = None) -> tuple[Text, Text] | None:
    """Title and explanation for a failure state, or None if it is not one.
    With `now`, a throttled attempt says how long the wait still is."""
    left = retry_wait(view, now) if now is not None else None
    if left is not None and view.pickup_state in (PickupState.THROTTLED, PickupState.WRONG_PIN):
        return (texts.ERR_THROTTLED_TITLE, {}), throttle_text(left)
    if view.pickup_state is PickupState.WRONG_PIN:
        if view.attempts_left == 1:
            return (texts.ERR_WRONG_PIN_TITLE, {}), (texts.ERR_WRONG_PIN_LAST, {})
        return (texts.ERR_WRONG_PIN_TITLE, {}), (texts.ERR_WRONG_PIN_TEXT, {"attempts": view.attempts_left or 0})
    pair = CITIZEN_ERRORS.get(view.pickup_state)
    if pair is None:
        return None
    return (pair[0], {}), (pair[1], {})


KIND_TEXTS = {
    DocumentKind.ID_CARD: texts.KIND_ID_CARD,
    DocumentKind.PASSPORT: texts.KIND_PASSPORT,
    DocumentKind.CHILD_PASSPORT: texts.KIND_CHILD_PASSPORT,
    DocumentKind.RESIDENCE_PERMIT: texts.KIND_RESIDENCE_PERMIT,
    DocumentKind.OTHER: texts.KIND_OTHER,
}


def document_kind_line(view: KioskView, lang: str) -> str:
    """ "Document: Passport" once the code was accepted; "" before."""
    kind = view.pickup_document_kind
    if kind is None:
        return ""
    return t(texts.DOCUMENT_KIND, lang, kind=t(KIND_TEXTS[kind], lang))


STAFF_NOTICES: dict[str, str] = {
    "login_wait": texts.STAFF_LOGIN_WAIT,
    "login_failed": texts.STAFF_LOGIN_FAILED,
    "second_same": texts.STAFF_SECOND_SAME,
    "close_first": texts.STAFF_CLOSE_FIRST,
    "not_reference": texts.DEPOSIT_ERR_NOT_REFERENCE,
    "unknown_order": texts.DEPOSIT_ERR_UNKNOWN,
    "order_status": texts.DEPOSIT_ERR_STATUS,
    "no_compartment": texts.DEPOSIT_ERR_NO_COMPARTMENT,
    "deposit_cancelled": texts.DEPOSIT_CANCELLED,
    "removal_none": texts.REMOVAL_NONE,
    "no_reason": texts.SERVICE_ERR_NO_REASON,
    "door_failed": texts.STAFF_DOOR_FAILED,
    "door_failed_deposit": texts.STAFF_DOOR_FAILED_DEPOSIT,
    "deposited": texts.DEPOSIT_DONE,
    "service_closed": texts.SERVICE_CLOSED,
    "removed": texts.REMOVAL_DONE,
    "order_inspection": inspection_texts.DEPOSIT_ERR_INSPECTION,
    "no_inspection": inspection_texts.INSPECTION_NOT_NEEDED,
    "inspection_resolved": inspection_texts.INSPECTION_RECORDED,
}
ORDER_STATUS_TEXTS = {
    "announced": texts.ORDER_ANNOUNCED,
    "deposited": texts.ORDER_DEPOSITED,
    "collected": texts.ORDER_COLLECTED,
    "expired": texts.ORDER_EXPIRED,
    "removed": texts.ORDER_REMOVED,
    "cancelled": texts.ORDER_CANCELLED,
}


# Staff messages that confirm something done: drawn as a success, never in the error box.
STAFF_SUCCESS = frozenset({"deposited", "service_closed", "removed"})


def notice_kind(notice: Notice) -> str:
    return "success" if notice.code in STAFF_SUCCESS else "error"


def device_name(device: str, lang: str) -> str:
    """A device name from the drivers in `lang` ("lock board A" -> "Schlossplatine A");
    a vendor's own name (a reader's PC/SC name, a camera path) as it is."""
    if device == "speech output":
        return t(texts.DEVICE_SPEECH, lang)
    if device.startswith(HELP_CALL_PREFIX):
        return t(texts.DEVICE_HELP_CALL, lang, name=device.removeprefix(HELP_CALL_PREFIX))
    if device.startswith("lock board "):
        return t(texts.DEVICE_LOCK_BOARD, lang, name=device.removeprefix("lock board "))
    return device


# The help page of each citizen screen (F1, ? or the Help button).
HELP_TEXTS: dict[Screen, str] = {
    Screen.IDLE: texts.HELP_IDLE,
    Screen.SCAN: texts.HELP_SCAN,
    Screen.CODE: texts.HELP_CODE,
    Screen.PIN: texts.HELP_PIN,
    Screen.PIN_LETTER: texts.HELP_PIN_LETTER,
    Screen.OPENING: texts.HELP_DOOR,
    Screen.DOOR_OPEN: texts.HELP_DOOR,
}


def help_text(screen: Screen | None) -> str:
    return HELP_TEXTS.get(screen, texts.HELP_OTHER) if screen is not None else texts.HELP_OTHER


def help_prompt(screen: Screen | None, contact: str, lang: str) -> str:
    """What the help page says aloud: the step's help, then how to reach a person."""
    return " ".join((t(texts.HELP_TITLE, lang) + ".", t(help_text(screen), lang),
                     t(texts.HELP_PERSON, lang), contact, t(texts.HELP_KEYS, lang)))


def staff_notice(notice: Notice, lang: str) -> str:
    """A staff error or message in `lang`; "" for none (or an unknown code)."""
    msgid = STAFF_NOTICES.get(notice.code)
    if msgid is None:
        return ""
    values = dict(notice.values)
    if "status" in values:
        values["status"] = t(ORDER_STATUS_TEXTS.get(str(values["status"]), str(values["status"])), lang)
    return t(msgid, lang, **values)


COMPARTMENT_STATE_TEXTS = {
    CompartmentState.FREE: texts.COMPARTMENT_FREE,
    CompartmentState.RESERVED: texts.COMPARTMENT_RESERVED,
    CompartmentState.OCCUPIED: texts.COMPARTMENT_OCCUPIED,
    CompartmentState.OPEN: texts.COMPARTMENT_OPEN,
    CompartmentState.OUT_OF_SERVICE: texts.COMPARTMENT_OUT_OF_SERVICE,
    CompartmentState.NEEDS_INSPECTION: inspection_texts.COMPARTMENT_NEEDS_INSPECTION,
}


def isolate(value: str) -> str:
    """Keeps a value (phone number, opening hours, a Latin office name) in its own
    reading order inside right-to-left text: "0800 123 456" must not become
    "456 123 0800". FSI...PDI are Unicode bidi isolates; TextLabel removes them
    after reordering."""
    return f"\u2068{value}\u2069" if value else value


def office_contact(name: str, phone: str, hours: str, lang: str) -> str:
    if language(lang).rtl:
        name, phone, hours = isolate(name), isolate(phone), isolate(hours)
    if phone and hours:
        return t(texts.OFFICE_CONTACT, lang, office=name, phone=phone, hours=hours)
    if hours:
        return t(texts.OFFICE_CONTACT_NO_PHONE, lang, office=name, hours=hours)
    if phone:
        return f"{name}, {phone}"
    return t(texts.OFFICE_CONTACT_NAME_ONLY, lang, office=name)


def compartment_place(view: KioskView, number: int) -> dict:
    """Column/row of a compartment for the "is opening" prompt (rows from the floor)."""
    compartments = view.compartments
    target: Compartment | None = next((c for c in compartments if c.number == number), None)
    columns = max((c.column for c in compartments), default=1)
    rows = max((c.row for c in compartments if target and c.column == target.column), default=1)
    return {"number": number, "column": target.column if target else 1, "columns": columns,
            "row": target.row if target else 1, "rows": rows}


RETURN_TEXTS = {
    ReturnState.OFFERED: texts.RETURN_OFFERED,
    ReturnState.NOT_AN_EID: texts.RETURN_NOT_AN_EID,
    ReturnState.DOOR_OPENING: texts.RETURN_OPENING,
    ReturnState.DOOR_OPEN: texts.RETURN_DOOR_OPEN,
    ReturnState.RETURNED: texts.RETURN_DONE,
    ReturnState.DOOR_FAILED: texts.RETURN_DOOR_FAILED,
}


def return_text(view: KioskView, lang: str, spoken: bool = False) -> str:
    """What the old-ID return screen says in its current state."""
    msgid = RETURN_TEXTS.get(view.return_state)
    if msgid is None:
        return ""
    text = t(msgid, lang, number=view.return_compartment or 0)
    if spoken and view.return_state is ReturnState.OFFERED:
        text += " " + t(texts.SAY_RETURN_OFFERED, lang)
    return text


def spoken_prompt(screen: Screen, view: KioskView, lang: str, now: datetime | None = None) -> str:
    """The speech for a screen as it appears (EN 301 549: everything on screen is also spoken)."""
    number = view.pickup_compartment or 0
    if screen is Screen.ERROR or (screen is Screen.PIN and view.pickup_state is PickupState.WRONG_PIN):
        error = citizen_error(view, now)
        if error:
            (title, tv), (text, xv) = error
            spoken = t(texts.SAY_ERROR, lang, title=t(title, lang, **tv), text=t(text, lang, **xv))
            if screen is Screen.PIN:
                spoken += " " + t(texts.SAY_PIN, lang)
            return spoken
    simple = {
        Screen.IDLE: texts.SAY_IDLE,
        Screen.LANGUAGE: texts.SAY_LANGUAGE,
        Screen.A11Y: texts.SAY_A11Y,
        Screen.SCAN: texts.SAY_SCAN,
        Screen.CODE: texts.SAY_CODE,
        Screen.PIN: texts.SAY_PIN,
        Screen.PIN_LETTER: texts.SAY_PIN_LETTER,
        Screen.DONE: texts.SAY_DONE,
        Screen.PROBLEM: texts.SAY_PROBLEM,
        Screen.PROBLEM_REPORTED: texts.SAY_PROBLEM_REPORTED,
        Screen.STAFF_PIN: texts.SAY_STAFF_PIN,
        Screen.STAFF_MENU: texts.SAY_STAFF_MENU,
        Screen.STAFF_DEPOSIT: texts.SAY_DEPOSIT,
    }
    if screen in simple:
        return t(simple[screen], lang)
    if screen is Screen.RETURN:
        return return_text(view, lang, spoken=True)
    if screen is Screen.OPENING:
        return t(texts.SAY_OPENING, lang, **compartment_place(view, number))
    if screen is Screen.DOOR_OPEN:
        msgid = texts.SAY_OPEN if view.has_door_sensors else texts.SAY_OPEN_NO_SENSOR
        return t(msgid, lang, number=number)
    return ""
