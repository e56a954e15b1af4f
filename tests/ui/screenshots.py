"""Renders every screen in every language to PNG (used by tools/screenshots and the tests).

    python -m tests.ui.screenshots [OUT_DIR] [LANG ...]

The real app draws each screen in a real Kivy window from a KioskView of a
real (not started) kiosk with simulated hardware, changed only in the
fields that select the screen. Next to each `<lang>/<screen>.png` a JSON
file lists where every text label and button is, for the layout, contrast
and touch-target checks in tests/ui/test_screens.py.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import traceback
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.ui.driver import Robot, prepare_environment


def shots(base, kiosk_view_now):
    """(screen file name, view changes, UI state changes, extra app setup) for every screen."""
    from kiosk.domain.compartment import CompartmentState
    from kiosk.domain.document_return import ReturnState as R
    from kiosk.domain.pickup_order import DocumentKind
    from kiosk.domain.pickup_session import PickupState as P
    from kiosk.domain.staff_session import Notice, StaffState as S
    from kiosk.ui import texts

    now = kiosk_view_now
    low = next((c.number for c in base.compartments if c.is_low), base.compartments[0].number)
    mixed = tuple(
        c.with_state([CompartmentState.FREE, CompartmentState.OCCUPIED, CompartmentState.OUT_OF_SERVICE,
                      CompartmentState.OPEN, CompartmentState.RESERVED][i % 5], "PO-X" if i % 5 else None)
        for i, c in enumerate(base.compartments))
    # Where a document waits, until when (the staff's grid shows it).
    deadlines = tuple((c.number, now + timedelta(days=14)) for c in mixed if c.order_reference)
    staff = dict(staff_ids=("anna",), staff_expires_at=now + timedelta(minutes=4), pickup_deadlines=deadlines)
    # Far from the time-out: on a loaded machine drawing a language's screens takes
    # longer than a short limit, and the "more time?" question would cover them.
    pin_wait = dict(pickup_expires_at=now + timedelta(minutes=10), pickup_document_kind=DocumentKind.PASSPORT)
    yield "idle", {}, {}, None
    yield "language", {}, {"overlay": "language"}, None
    yield "accessibility", {}, {"overlay": "a11y", "high_contrast": False}, None
    yield "scan", {}, {"code_mode": "scan"}, None
    yield "code", {}, {"code_mode": "type"}, "K7M2QX"
    yield "code_typo", {}, {"code_mode": "type", "code_error": (texts.CODE_TYPO, ())}, "K7M2QXD45A"
    yield "pin", {"pickup_state": P.AWAITING_PIN, **pin_wait}, {}, "123"
    yield "wrong_pin", {"pickup_state": P.WRONG_PIN, "attempts_left": 3, **pin_wait}, {}, None
    yield "pin_letter", {"pickup_state": P.AWAITING_PIN_LETTER, **pin_wait}, {}, None
    yield "opening", {"pickup_state": P.DOOR_OPENING, "pickup_compartment": low}, {}, None
    yield "door_open", {"pickup_state": P.DOOR_OPEN, "pickup_compartment": low}, {}, None
    yield "door_open_no_sensors", {"pickup_state": P.DOOR_OPEN, "pickup_compartment": low,
                                   "has_door_sensors": False}, {}, None
    yield "done", {"pickup_state": P.DONE, "pickup_compartment": low, "pickup_reference": "PO-7K2M9QXD",
                   "pickup_document_kind": DocumentKind.ID_CARD}, {}, None
    yield "problem", {"pickup_state": P.DOOR_OPEN, "pickup_compartment": low}, {"overlay": "problem"}, None
    yield "problem_reported", {"pickup_state": P.PROBLEM_REPORTED, "pickup_detail": "not_my_document"}, {}, None
    for state in (P.INVALID_CODE, P.UNKNOWN_CODE, P.NOT_AVAILABLE, P.EXPIRED, P.LOCKED,
                  P.PIN_LETTER_DECLINED, P.DOOR_FAILED):
        yield f"error_{state.value}", {"pickup_state": state}, {}, None
    # 2 min 30 s left: "in 3 minutes" however long the drawing takes; then the wait is over.
    yield "error_throttled", {"pickup_state": P.THROTTLED, "pickup_retry_at": now + timedelta(seconds=150)}, {}, None
    yield "error_throttled_over", {"pickup_state": P.THROTTLED, "pickup_retry_at": now}, {}, None
    for state in (R.OFFERED, R.NOT_AN_EID, R.DOOR_OPEN, R.RETURNED, R.DOOR_FAILED):
        yield f"old_id_return_{state.value}", {"pickup_state": P.DONE, "return_state": state,
                                                "return_compartment": 20}, {}, None
    yield "timeout_warning", {"pickup_state": P.AWAITING_PIN, "pickup_expires_at": now + timedelta(seconds=9)}, {}, None
    yield "high_contrast", {}, {"high_contrast": True}, None
    yield "high_contrast_pin", {"pickup_state": P.AWAITING_PIN, **pin_wait}, {"high_contrast": True}, "12"
    yield "large_text_code", {}, {"code_mode": "type", "large_text": True}, "K7"
    yield "large_text_pin_letter", {"pickup_state": P.AWAITING_PIN_LETTER, **pin_wait}, {"large_text": True}, None
    yield "reach_pin", {"pickup_state": P.AWAITING_PIN, **pin_wait}, {"reach": True}, None
    yield "help_scan", {}, {"code_mode": "scan", "overlay": "help", "help_for": "scan"}, None
    yield "help_pin", {"pickup_state": P.AWAITING_PIN, **pin_wait}, {"overlay": "help", "help_for": "pin"}, None
    # With a help-call device (hardware.help_call): the page offers the call (see main()).
    yield "help_call", {"pickup_state": P.AWAITING_PIN, **pin_wait}, {"overlay": "help", "help_for": "pin"}, None
    yield "pin_letter_steps", {"pickup_state": P.AWAITING_PIN_LETTER, "requires_pin_letter": True, **pin_wait}, {}, None
    yield "staff_pin", {"staff_state": S.AWAITING_PIN}, {}, "12"
    yield "staff_second_card", {"staff_state": S.AWAITING_SECOND_CARD, **staff}, {}, None
    yield "staff_menu", {"staff_state": S.MENU, "compartments": mixed,
                         "staff_message_notice": Notice("removed", (("count", 2),)), **staff}, {}, None
    yield "staff_deposit", {"staff_state": S.DEPOSIT_AWAITING_REFERENCE,
                            "staff_error_notice": Notice("unknown_order", (("reference", "PO-7K2M9QXD"),)),
                            **staff}, {}, "PO-7K2M"
    reserved = tuple(c.with_state(CompartmentState.RESERVED, "PO-7K2M9QXD") if c.number == low else c
                     for c in base.compartments)
    yield "staff_door", {"staff_state": S.DEPOSIT_DOOR_OPEN, "staff_compartment": low, "compartments": reserved,
                         **staff}, {}, None
    yield "staff_exit_confirm", {"staff_state": S.MENU, **staff}, {"confirm_exit": True}, None
    yield "staff_compartments", {"staff_state": S.MENU, "compartments": mixed, **staff},\
        {"staff_page": "compartments", "selected": mixed[2].number}, None
    yield "staff_reason", {"staff_state": S.MENU, **staff}, {"selected": low, "asking_reason": True}, None
    yield "staff_health", {"staff_state": S.MENU, **staff}, {"staff_page": "health"}, None
    from kiosk.core.view import Inspection
    inspect = (Inspection(6, "PO-7K2M9QXD", "handover"), Inspection(9, "PO-4H8N2WQR", "deposit"))
    yield "staff_menu_inspections", {"staff_state": S.MENU, "compartments": mixed, "inspections": inspect,
                                     **staff}, {}, None
    from kiosk.core.view import ClockStep
    yield "staff_menu_clock_step", {"staff_state": S.MENU, "compartments": mixed, **staff,
                                    "clock_step": ClockStep("+30d 00:00:00", now)}, {}, None
    yield "staff_inspections", {"staff_state": S.MENU, "inspections": inspect, **staff},\
        {"staff_page": "inspections"}, None
    yield "staff_inspection_door", {"staff_state": S.INSPECTION_DOOR_OPEN, "staff_compartment": 6,
                                    "staff_order": "PO-7K2M9QXD", "inspections": inspect, **staff}, {}, None


class Offline:
    """A kiosk that is built but not started: the core answers inline, no registry."""

    def __init__(self, base: Path):
        from kiosk.app import build_kiosk
        from kiosk.config import load_settings

        settings = load_settings(None, {
            "PICKUPBOX_KIOSK__DATA_DIR": str(base / "kiosk"),
            "PICKUPBOX_OFFICE__NAME": "Bürgerbüro Mitte",
            "PICKUPBOX_OFFICE__PHONE": "0800 123 456",
            "PICKUPBOX_OFFICE__OPENING_HOURS": "Mo-Fr 8-16",
            "PICKUPBOX_UI__FULLSCREEN": "false",
        })
        self.kiosk = build_kiosk(settings, registry_target="127.0.0.1:9")
        self.registry = None

    def stop(self) -> None:
        self.kiosk.stop()


def layout_record(app) -> dict:
    from kivy.core.window import Window

    from kiosk.ui.widgets import KioskButton, TextLabel

    def box(w):
        x, y = w.to_window(w.x, w.y)
        return [round(x, 1), round(y, 1), round(w.width, 1), round(w.height, 1)]

    labels, buttons = [], []
    top = app.holder.children[0]  # the time-out question covers the screen when it is shown
    for w in top.walk(restrict=True):
        if isinstance(w, TextLabel) and w.text.strip():
            tw, th = w.texture_size
            x, y, width, height = box(w)
            # The drawn text, centred in the label's box by Kivy.
            labels.append({"text": w.raw, "box": box(w), "text_box": [x + (width - tw) / 2 if w.halign == "center"
                           else (x + width - tw if w.halign == "right" else x), y + (height - th) / 2, tw, th],
                           "halign": w.halign, "lang": w.lang, "colour": list(w.color)[:3]})
        elif isinstance(w, KioskButton):
            buttons.append({"name": w.name, "box": box(w)})
    return {"window": list(Window.size), "labels": labels, "buttons": buttons,
            "high_contrast": app.ui.high_contrast, "dpi": app.dpi}


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "artifacts/screenshots")
    from kiosk.ui.i18n import LANGUAGES

    langs = argv[1:] or [lang.code for lang in LANGUAGES]
    out.mkdir(parents=True, exist_ok=True)
    prepare_environment(out)
    work = Path(tempfile.mkdtemp(prefix="pickupbox-shots-"))
    world = Offline(work)
    from kiosk.ui.launch import configure_kivy

    configure_kivy(world.kiosk.settings, windowed=True)
    from hardware.help_call import SimulatedHelpCall
    from kiosk.ui.app import KioskApp, utc_now
    from kiosk.ui.speech import Speaker
    from kiosk.ui.state import UiState

    base = world.kiosk.core.view()
    app = KioskApp(world.kiosk, base, Speaker(enabled=False))
    # The views come from this tool; answers of the (idle) core to the app's
    # own intents, e.g. starting the camera, must not replace them.
    app.on_view = lambda _view: None
    robot = Robot(app, world, out)
    failures: list[str] = []

    def show(lang: str, view_changes: dict, ui_changes: dict, typed: str | None) -> None:
        app.view = replace(base, **view_changes)
        app.ui = UiState(lang=lang).with_(**ui_changes)
        app.buffers.clear()
        buffer = app.buffers.reference if "staff_state" in view_changes and view_changes["staff_state"].value.startswith(
            "deposit") else (app.buffers.code if ui_changes.get("code_mode") == "type" else app.buffers.pin)
        for char in typed or "":
            buffer.add(char)
        app._local_deadline = None
        app.render()

    def play():
        try:
            robot.wait_for("the app window", lambda: robot.on_ui(lambda: app.screen is not None))
            for lang in langs:
                for name, view_changes, ui_changes, typed in shots(base, utc_now()):
                    try:
                        app.help_call = SimulatedHelpCall() if name == "help_call" else None
                        robot.on_ui(lambda: show(lang, view_changes, ui_changes, typed))
                        robot.shot(f"{lang}/{name}")
                        record = robot.on_ui(lambda: layout_record(app))
                        record["screen"] = robot.screen()
                        (out / lang / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1),
                                                                 encoding="utf-8")
                    except Exception:
                        failures.append(f"{lang}/{name}: {traceback.format_exc()}")
        except BaseException:
            failures.append(traceback.format_exc())
        finally:
            app.allow_exit = True
            robot.on_ui(app.stop)

    threading.Thread(target=play, daemon=True).start()
    try:
        app.run()
    finally:
        world.stop()
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"screenshots of {len(langs)} languages in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
