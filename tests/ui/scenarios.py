"""End-to-end scenarios the driver plays on the real app (see driver.py)."""

from __future__ import annotations

from kiosk.ui.keys import KEY_ENTER, KEY_ESCAPE, KEY_F1
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import STAFF_CARD, STAFF_PIN
from tests.ui.world import CITIZEN_PIN

SCENARIOS: dict = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# Extra config per scenario (environment keys without the PICKUPBOX_ prefix).
# Speech (espeak rendering WAV files) costs CPU, so only the scenarios that
# check it speak.
QUIET = {"UI__SPEECH": "false"}
WORLD_OPTIONS: dict[str, dict[str, str]] = {
    "inactivity": {"KIOSK__SESSION_TIMEOUT_SECONDS": "10", "UI__TIMEOUT_WARNING_SECONDS": "6"},
    "pickup_keyboard": QUIET,
    "staff_keyboard": QUIET,
    "errors": QUIET,
    "old_id_return": {**QUIET, "KIOSK__RETURN_COMPARTMENT": "20", "UI__SIMULATOR_PANEL": "off"},
    # The help-call device through the real config path (hardware.help_call).
    "problem_at_door": {**QUIET, "HARDWARE__HELP_CALL__DRIVER": "simulated",
                        "HARDWARE__HELP_CALL__NAME": "call button",
                        "HARDWARE__HELP_CALL__ANSWER_AFTER_SECONDS": "0.5"},
}


@scenario
def smoke(robot) -> dict:
    robot.wait_screen("idle")
    robot.shot("idle")
    return {"labels": robot.labels()}


def _status(robot, reference: str) -> str:
    return pb.OrderStatus.Name(robot.registry.status(reference))


@scenario
def pickup_touch(robot) -> dict:
    """A citizen collects an ID card by touch only: QR, PIN, PIN letter, door."""
    created, number = robot.world.order_ready()
    robot.wait_screen("idle")
    robot.tap("lang_en")
    robot.tap("start")
    robot.wait_screen("scan")
    scanning = robot.scanner.running
    robot.shot("scan")
    robot.scanner.show(created.qr_payload.encode())  # the citizen holds the QR code up
    robot.wait_screen("pin")
    for digit in CITIZEN_PIN:
        robot.tap(f"key_{digit}")
    pin_display = robot.labels()
    robot.shot("pin")
    robot.tap("continue")
    robot.wait_screen("pin_letter")
    robot.shot("pin_letter")
    robot.key(KEY_F1)  # help: the help page of this step, read aloud
    robot.wait_screen("help")
    help_labels = robot.labels()
    robot.shot("help")
    robot.key(KEY_F1)  # the help key again: back to the step
    robot.wait_screen("pin_letter")
    robot.tap("pin_letter_yes")
    robot.wait_screen("door_open")
    open_labels = robot.labels()
    robot.shot("door_open")
    robot.bank.close_door(number)
    robot.wait_screen("done")
    robot.wait_for("collected at the registry", lambda: _status(robot, created.order.reference) == "ORDER_STATUS_COLLECTED")
    return {"number": number, "scanner_ran_on_scan_screen": scanning, "scanner_after": robot.scanner.running,
            "pin_labels": pin_display, "open_labels": open_labels, "help_labels": help_labels,
            "speech": robot.speech()}


@scenario
def pickup_keyboard(robot) -> dict:
    """Keypad alone: Enter, the code typed by arrows over the on-screen keypad, PIN digits, Enter."""
    from pickupbox.registry.v1 import registry_pb2 as pb  # noqa: F811

    created, number = robot.world.order_ready(kind=pb.DOCUMENT_KIND_PASSPORT)
    code = created.pickup_code.replace("-", "")
    robot.wait_screen("idle")
    robot.key(KEY_ENTER)  # start
    robot.wait_screen("scan")
    robot.key(KEY_ENTER)  # type the code instead
    robot.wait_screen("code")
    for char in code:
        robot.focus_on(f"key_{char}")
        robot.key(KEY_ENTER)
    typed = robot.on_ui(lambda: robot.app.buffers.code.peek())
    robot.shot("code")
    robot.focus_on("continue")
    robot.key(KEY_ENTER)
    robot.wait_screen("pin")
    code_left_in_buffer = robot.on_ui(lambda: robot.app.buffers.code.peek())
    for digit in CITIZEN_PIN:
        robot.key(ord(digit), digit)
    robot.key(KEY_ENTER)
    robot.wait_screen("door_open")  # a passport needs no PIN-letter confirmation
    pin_left = robot.on_ui(lambda: robot.app.buffers.pin.count)
    robot.bank.close_door(number)
    robot.wait_screen("done")
    robot.key(KEY_ENTER)
    robot.wait_screen("idle")
    robot.wait_for("collected at the registry", lambda: _status(robot, created.order.reference) == "ORDER_STATUS_COLLECTED")
    return {"typed": typed, "code": code, "code_left": code_left_in_buffer, "pin_left": pin_left,
            "speech": robot.speech()}


@scenario
def staff_keyboard(robot) -> dict:
    """Staff log in (card + PIN), deposit two documents and remove an expired one, by keyboard."""
    from datetime import timedelta

    first = robot.world.create_order()
    second = robot.world.create_order()
    robot.wait_screen("idle")
    robot.reader.present_card(bytes.fromhex(STAFF_CARD))
    robot.reader.remove_card()
    robot.wait_screen("staff_pin")
    robot.type(STAFF_PIN)
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_menu")
    robot.shot("staff_menu")
    robot.focus_on("deposit")
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_deposit")
    scanning = robot.scanner.running
    numbers = []
    # The first by typing the reference, the second through the barcode scanner.
    robot.type(first.order.reference)
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_door")
    robot.shot("staff_door")
    numbers.append(robot.on_ui(lambda: robot.app.view.staff_compartment))
    robot.bank.close_door(numbers[-1])
    robot.wait_screen("staff_deposit")
    after_first = robot.labels()
    robot.scanner.show(second.order.reference.encode())
    robot.wait_screen("staff_door")
    numbers.append(robot.on_ui(lambda: robot.app.view.staff_compartment))
    robot.bank.close_door(numbers[-1])
    robot.wait_screen("staff_deposit")
    robot.key(KEY_ESCAPE)  # finish depositing
    robot.wait_screen("staff_menu")
    robot.focus_on("logout")
    robot.key(KEY_ENTER)
    robot.wait_screen("idle")
    # The pickup period ends unused: staff come back and take both documents out again.
    robot.world.clock.advance(timedelta(days=30))
    robot.reader.present_card(bytes.fromhex(STAFF_CARD))
    robot.reader.remove_card()
    robot.wait_screen("staff_pin")
    robot.type(STAFF_PIN)
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_menu")
    robot.focus_on("remove")
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_door")
    removal_labels = robot.labels()
    opened = []
    while robot.screen() == "staff_door":
        number = robot.on_ui(lambda: robot.app.view.staff_compartment)
        opened.append(number)
        robot.bank.close_door(number)  # the compartments open one after another
        robot.wait_for("the next compartment or the menu", lambda: robot.screen() == "staff_menu" or
                       robot.on_ui(lambda: robot.app.view.staff_compartment) not in (None, number))
        robot.settle()
    robot.wait_screen("staff_menu")
    menu_labels = robot.labels()
    robot.focus_on("logout")
    robot.key(KEY_ENTER)
    robot.wait_screen("idle")
    statuses = [_status(robot, o.order.reference) for o in (first, second)]
    return {"deposited": numbers, "references": [first.order.reference, second.order.reference], "removed": opened, "after_first": after_first, "removal_labels": removal_labels,
            "menu_labels": menu_labels, "statuses": statuses, "scanner_on_deposit": scanning}


@scenario
def errors(robot) -> dict:
    """Every citizen failure the UI can reach here ends on a screen that says what to do."""
    seen: dict[str, dict] = {}

    def record(name: str) -> None:
        seen[name] = {"screen": robot.screen(), "labels": robot.labels()}
        robot.shot(f"error_{name}")

    created, number = robot.world.order_ready()
    robot.wait_screen("idle")
    robot.tap("start")
    robot.wait_screen("scan")
    robot.scanner.show(b"https://example.org/not-a-pickup-code")  # a stranger's QR code
    robot.wait_screen("error")
    record("invalid_qr")
    robot.tap("try_again")
    robot.wait_screen("scan")
    # A typo in a typed code is explained before anything is looked up.
    robot.tap("type_instead")
    robot.wait_screen("code")
    code = created.pickup_code.replace("-", "")
    wrong_last = next(c for c in "ABCDEFGH" if c != code[-1])
    robot.type(code[:-1] + wrong_last)
    robot.tap("continue")
    record("typo")
    robot.type("\b")
    robot.tap("delete")
    # Too short.
    robot.tap("continue")
    record("too_short")
    robot.tap("back")
    robot.wait_screen("scan")
    # A well-formed code nobody issued.
    from common.credentials import generate_code

    robot.scanner.show(("PBX1:" + generate_code()).encode())
    robot.wait_screen("error")
    record("unknown")
    robot.tap("to_start")
    robot.wait_screen("idle")
    # Wrong PIN, then the PIN letter declined.
    robot.tap("start")
    robot.wait_screen("scan")
    robot.scanner.show(created.qr_payload.encode())
    robot.wait_screen("pin")
    robot.type("111111")
    robot.tap("continue")
    robot.wait_for("wrong PIN", lambda: robot.on_ui(lambda: robot.app.view.pickup_state.value) == "wrong_pin")
    robot.settle()
    record("wrong_pin")
    robot.type(CITIZEN_PIN)
    robot.tap("continue")
    robot.wait_screen("pin_letter")
    robot.tap("pin_letter_no")
    robot.wait_screen("error")
    record("pin_letter_declined")
    robot.tap("to_start")
    robot.wait_screen("idle")
    # The lock does not answer: the door cannot open.
    robot.bank.set_no_ack(number)
    robot.tap("start")
    robot.wait_screen("scan")
    robot.scanner.show(created.qr_payload.encode())
    robot.wait_screen("pin")
    robot.type(CITIZEN_PIN)
    robot.tap("continue")
    robot.wait_screen("pin_letter")
    robot.tap("pin_letter_yes")
    robot.wait_screen("error")
    record("door_failed")
    return {"seen": seen, "status": _status(robot, created.order.reference)}


@scenario
def inactivity(robot) -> dict:
    """A forgotten session warns, can be extended, then resets to German and defaults."""
    import time

    robot.wait_screen("idle")
    robot.tap("lang_en")
    robot.key(ord("+"), "+")  # large text
    robot.tap("start")
    robot.wait_screen("scan")
    robot.tap("type_instead")
    robot.wait_screen("code")
    robot.type("K7M")
    robot.wait_for("the time-out warning", lambda: robot.on_ui(lambda: robot.app._render_key[6]) is not None,
                   timeout=12)
    warning_labels = robot.labels()
    robot.shot("timeout_warning")
    robot.tap("more_time")
    after_more = robot.on_ui(lambda: robot.app._render_key[6])
    still = robot.screen()
    ui_before = robot.on_ui(lambda: (robot.app.ui.lang, robot.app.ui.large_text))
    started = time.monotonic()
    robot.wait_screen("idle", timeout=20)
    waited = time.monotonic() - started
    ui_after = robot.on_ui(lambda: (robot.app.ui.lang, robot.app.ui.large_text, robot.app.ui.code_mode,
                                    robot.app.buffers.code.peek()))
    return {"warning_labels": warning_labels, "after_more": after_more, "screen_after_more": still,
            "ui_before": ui_before, "ui_after": ui_after, "waited": waited, "speech": robot.speech()}


@scenario
def old_id_return(robot) -> dict:
    """After collecting an ID card the citizen returns the old one: first a wrong card, then the eID.
    (Also: with ui.simulator_panel = "off" there is no panel.)"""
    assert robot.on_ui(lambda: robot.app._sim_panel) is None
    created, number = robot.world.order_ready()
    robot.wait_screen("idle")
    robot.tap("start")
    robot.wait_screen("scan")
    robot.scanner.show(created.qr_payload.encode())
    robot.wait_screen("pin")
    robot.type(CITIZEN_PIN)
    robot.key(KEY_ENTER)
    robot.wait_screen("pin_letter")
    robot.key(KEY_ENTER)
    robot.wait_screen("door_open")
    robot.bank.close_door(number)
    robot.wait_screen("old_id_return")
    offered = robot.labels()
    robot.reader.present_card(bytes.fromhex("0411223344"), german_eid=False)  # a bank card
    robot.reader.remove_card()
    robot.wait_for("not an eID", lambda: robot.on_ui(lambda: robot.app.view.return_state.value) == "not_an_eid")
    robot.settle()
    wrong_card = robot.labels()
    robot.reader.present_card(bytes.fromhex("0455667788"), german_eid=True)
    robot.reader.remove_card()
    robot.wait_for("the return door", lambda: robot.on_ui(lambda: robot.app.view.return_state.value) == "door_open")
    robot.settle()
    door = robot.labels()
    robot.shot("old_id_return_door")
    returned_to = robot.on_ui(lambda: robot.app.view.return_compartment)
    robot.bank.close_door(returned_to)
    robot.wait_for("returned", lambda: robot.on_ui(lambda: robot.app.view.return_state.value) == "returned")
    robot.settle()
    thanks = robot.labels()
    robot.key(KEY_ENTER)
    robot.wait_screen("done")  # back to the pickup's own end screen
    robot.key(KEY_ENTER)
    robot.wait_screen("idle")
    return {"offered": offered, "wrong_card": wrong_card, "door": door, "thanks": thanks,
            "compartment": returned_to}


@scenario
def problem_at_door(robot) -> dict:
    """The compartment is empty: the citizen reports it at the open door, staff are
    alerted with the order, it does not count as collected; then the help page calls
    a person through the configured help-call device, whose health staff see."""
    from kiosk.ui.keys import KEY_F1  # noqa: F811

    created, number = robot.world.order_ready(kind=pb.DOCUMENT_KIND_PASSPORT)
    reference = created.order.reference
    robot.wait_screen("idle")
    robot.tap("start")
    robot.wait_screen("scan")
    robot.scanner.show(created.qr_payload.encode())
    robot.wait_screen("pin")
    pin_labels = robot.labels()
    for digit in CITIZEN_PIN:
        robot.tap(f"key_{digit}")
    robot.tap("continue")
    robot.wait_screen("door_open")
    robot.wait_for("the handover at the registry", lambda: _status(robot, reference) == "ORDER_STATUS_COLLECTED")
    robot.tap("problem")
    robot.wait_screen("problem")
    choices = [b["name"] for b in robot.on_ui(lambda: [{"name": b.name} for b in robot.app.focusables])]
    robot.tap("problem_compartment_empty")
    robot.wait_screen("problem_reported")
    reported = robot.labels()
    robot.shot("problem_reported")
    robot.bank.close_door(number)
    alarms = robot.wait_for("the alarm at the registry", lambda: [
        e for e in robot.registry.office.ListKioskEvents(pb.ListKioskEventsRequest(kiosk_id=robot.kiosk.settings.kiosk.id, alarms_only=True)).events
        if e.event.type == pb.EVENT_TYPE_PROBLEM_REPORTED])
    robot.wait_for("the order back to deposited", lambda: _status(robot, reference) == "ORDER_STATUS_DEPOSITED")
    compartment_state = robot.kiosk.store.compartment(number).state.value
    robot.tap("to_start")
    robot.wait_screen("idle")
    robot.key(KEY_F1)
    robot.wait_screen("help")
    robot.tap("help_call")
    device = robot.kiosk.hardware.help_call
    robot.wait_for("the call placed", lambda: device.calls)
    from kiosk.ui import texts
    from kiosk.ui.i18n import t

    connected = t(texts.HELP_CONNECTED, "de")
    calling = robot.wait_for("the call answered on screen", lambda: connected in robot.labels() and robot.labels())
    robot.key(KEY_F1)
    robot.wait_screen("idle")
    robot.reader.present_card(bytes.fromhex(STAFF_CARD))
    robot.reader.remove_card()
    robot.wait_screen("staff_pin")
    robot.type(STAFF_PIN)
    robot.key(KEY_ENTER)
    robot.wait_screen("staff_menu")
    robot.tap("health")
    robot.wait_screen("staff_health")
    health = robot.labels()
    return {"pin_labels": pin_labels, "choices": choices, "reported": reported, "number": number,
            "alarm": {"order": alarms[0].event.order_reference, "compartment": alarms[0].event.compartment_number,
                      "detail": alarms[0].event.detail, "alarm": alarms[0].alarm},
            "reference": reference, "compartment_state": compartment_state,
            "calls": [c.reason for c in device.calls], "calling_labels": calling, "health": health}


def _tap_to_frame(robot, name: str) -> float:
    """Seconds from a touch on `name` until the frame showing the next screen is on screen."""
    import threading
    import time

    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    button = robot.button(name)
    x, y = robot.on_ui(lambda: button.to_window(*button.center))
    flipped = threading.Event()
    box = {}

    def touch():
        def on_flip(*_):
            box["t1"] = time.perf_counter()
            Window.unbind(on_flip=on_flip)
            flipped.set()

        box["t0"] = time.perf_counter()
        t = UnitTestTouch(x, y)
        t.touch_down()
        t.touch_up()  # the action renders the next screen right here
        Window.bind(on_flip=on_flip)  # ... and the next flip puts it on the screen

    robot.on_ui(touch)
    flipped.wait(5)
    return box["t1"] - box["t0"]


def _rss_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@scenario
def bench_ui(robot) -> dict:
    """Benchmark (tests/benchmarks/bench_ui.py): tap latency, and memory over many pickups."""
    import gc
    import os

    pickups = int(os.environ.get("BENCH_PICKUPS", "100"))
    robot.wait_screen("idle")
    taps = []  # (button, seconds)
    for _ in range(15):
        taps.append(("start", _tap_to_frame(robot, "start")))
        robot.wait_screen("scan")
        taps.append(("type_instead", _tap_to_frame(robot, "type_instead")))
        robot.wait_screen("code")
        taps.append(("back", _tap_to_frame(robot, "back")))
        robot.wait_screen("scan")
        robot.tap("back")
        robot.wait_screen("idle")
    rss = {}
    for i in range(1, pickups + 1):
        created, number = robot.world.order_ready(kind=pb.DOCUMENT_KIND_PASSPORT)
        robot.wait_screen("idle")  # the staff deposit's views have reached the screen
        robot.tap("start")
        robot.wait_screen("scan")
        robot.scanner.show(created.qr_payload.encode())
        robot.wait_screen("pin")
        robot.type(CITIZEN_PIN)
        robot.key(KEY_ENTER)
        robot.wait_screen("door_open")
        robot.bank.close_door(number)
        robot.wait_screen("done")
        robot.tap("to_start")
        robot.wait_screen("idle")
        if i in (10, pickups):
            gc.collect()
            rss[i] = _rss_kb()
    return {"tap_seconds": taps, "rss_kb": rss, "pickups": pickups}


@scenario
def simulator_panel(robot) -> dict:
    """F12 shows the vendor panel next to the kiosk screen; its F5 shortcut presents the staff card."""
    from kiosk.ui.keys import KEY_F12

    robot.wait_screen("idle")
    hidden_at_start = robot.on_ui(lambda: robot.app._sim_panel.parent is None)
    robot.key(KEY_F12)
    shown = robot.on_ui(lambda: robot.app._sim_panel.parent is robot.app.body)
    robot.shot("simulator_panel")
    robot.key(286)  # F5: the first card preset (staff-1 in the demo box) on the reader
    robot.wait_screen("staff_pin")
    robot.key(KEY_F12)
    hidden_again = robot.on_ui(lambda: robot.app._sim_panel.parent is None)
    return {"hidden_at_start": hidden_at_start, "shown": shown, "hidden_again": hidden_again}
