"""The simulator panel in a real Kivy window (SDL offscreen), around real simulated devices.

Kivy creates one window per process, so the window tests run in a child
pytest process: the normal run collects one test, which starts this same
file again with ``PICKUPBOX_SIMPANEL_WINDOW=1`` set and reports the child's
output if anything failed. The child drives the panel with touches
(UnitTestTouch) and shortcut keys and checks what the devices' subscribers
received. It also saves ``artifacts/screenshots/simulator-panel.png``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD_ENV = "PICKUPBOX_SIMPANEL_WINDOW"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "artifacts" / "screenshots" / "simulator-panel.png"
# Tall enough that the whole panel is on screen: touches need no scrolling.
WINDOW_SIZE = (420, 1150)


if not os.environ.get(CHILD_ENV):

    def test_panel_in_a_real_window(tmp_path: Path) -> None:
        # Only looked up, not imported: importing Kivy here would set it up
        # in this process, with the user's ~/.kivy.
        if importlib.util.find_spec("kivy") is None:
            pytest.skip("Kivy is not installed (tools/setup --tests installs it)")
        env = dict(os.environ, **{
            CHILD_ENV: "1",
            "KIVY_HOME": str(tmp_path / "kivy-home"),
            "SDL_VIDEODRIVER": "offscreen",
            "KIVY_NO_ARGS": "1",  # Kivy must not parse pytest's arguments
        })
        child = subprocess.run(
            [sys.executable, "-m", "pytest", str(Path(__file__)), "-q", "-p", "no:cacheprovider",
             "--basetemp", str(tmp_path / "child")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=110,
        )
        output = child.stdout + child.stderr
        assert child.returncode == 0, f"window tests failed:\n{output[-6000:]}"
        summary = child.stdout.strip().splitlines()[-1]
        assert "passed" in summary and "skipped" not in summary, summary

else:
    import shutil
    import time
    from collections.abc import Callable, Iterator

    from kivy.config import Config

    Config.set("graphics", "width", str(WINDOW_SIZE[0]))
    Config.set("graphics", "height", str(WINDOW_SIZE[1]))

    from kivy.base import EventLoop
    from kivy.core.window import Keyboard, Window
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.button import Button
    from kivy.uix.label import Label

    from hardware.errors import DeviceUnavailable
    from hardware.interfaces import CardEventKind, DoorEventKind, DoorState, HealthStatus
    from hardware.simulated import SimulatedCardReader, SimulatedCodeScanner, SimulatedLockerBank
    from kiosk.ui.simulator_controls import CAMERA_OFF, GARBAGE_PAYLOADS
    from kiosk.ui.simulator_panel import SimulatorPanel
    from tests.ui.test_notices import write_notice

    STAFF_1 = bytes.fromhex("04A1B2C3D4E5F6")
    STAFF_2 = bytes.fromhex("04112233445566")

    class Box:
        """Simulated devices, what their subscribers heard, and the panel on screen."""

        def __init__(self, notify_dir: Path) -> None:
            self.bank = SimulatedLockerBank()
            self.reader = SimulatedCardReader(cards=self.bank.box.cards)
            self.scanner = SimulatedCodeScanner()
            self.door_events: list = []
            self.card_events: list = []
            self.scans: list = []
            self.bank.subscribe(self.door_events.append)
            self.reader.subscribe(self.card_events.append)
            self.scanner.subscribe(self.scans.append)
            self.notify_dir = notify_dir
            self.panel = SimulatorPanel(bank=self.bank, reader=self.reader, scanner=self.scanner,
                                        notify_dir=notify_dir)

        def door_kinds(self, number: int) -> list[DoorEventKind]:
            return [e.kind for e in self.door_events if e.compartment == number]

    def frames(count: int = 2) -> None:
        for _ in range(count):
            EventLoop.idle()

    def wait_until(what: str, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            EventLoop.idle()

    def tap(widget) -> None:
        """A real touch at the widget's centre, through the window's event loop."""
        x, y = widget.to_window(*widget.center)
        assert 0 <= x < Window.width and 0 <= y < Window.height, f"{widget} is off screen"
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        frames(2)

    def notice_buttons(panel: SimulatorPanel) -> list[Button]:
        """The "Show" buttons of the notice list, top to bottom."""
        rows = reversed(panel.notice_list.children)  # Kivy keeps children last-first
        return [w for row in rows for w in row.children if hasattr(w, "notice")]

    @pytest.fixture(scope="module", autouse=True)
    def window() -> Iterator[None]:
        EventLoop.ensure_window()
        yield

    @pytest.fixture
    def box(tmp_path: Path) -> Iterator[Box]:
        box = Box(tmp_path / "notifications")
        Window.add_widget(box.panel)
        box.panel.height = Window.height
        frames(3)
        yield box
        box.panel.close()
        Window.remove_widget(box.panel)
        box.bank.close()

    # --- Doors

    def test_select_a_door_and_close_it(box: Box) -> None:
        box.bank.unlock(4)  # the kiosk opens compartment 4
        tap(box.panel.door_cells[4])
        tap(box.panel.close_button)

        assert box.bank.door_states()[4] is DoorState.CLOSED
        assert box.door_kinds(4) == [DoorEventKind.OPENED, DoorEventKind.CLOSED]
        assert box.panel.door_cells[4].text.split("\n")[:2] == ["4", "closed"]
        assert "Door 4 pushed shut" in box.panel.log_label.text

    def test_force_open_is_tamper_and_marked(box: Box) -> None:
        tap(box.panel.door_cells[9])
        tap(box.panel.force_button)

        assert box.door_kinds(9) == [DoorEventKind.FORCED_OPEN]
        assert box.panel.door_cells[9].text == "9\nopen\nforced"
        assert "forced" in box.panel.selected_label.text

        tap(box.panel.close_button)  # shut again: no longer marked
        assert box.panel.door_cells[9].text == "9\nclosed"

    def test_doors_follow_the_kiosk_without_a_tap(box: Box) -> None:
        box.bank.unlock(2)  # from the kiosk; the panel only polls
        wait_until("door 2 to show open", lambda: box.panel.door_cells[2].text == "2\nopen")

    def test_jammed_lock_keeps_the_door_shut(box: Box) -> None:
        tap(box.panel.door_cells[5])
        tap(box.panel.jam_button)
        assert "jammed" in box.panel.door_cells[5].text

        box.bank.unlock(5)
        assert box.bank.door_states()[5] is DoorState.CLOSED
        tap(box.panel.open_button)  # pulling does not help either
        assert box.bank.door_states()[5] is DoorState.CLOSED
        assert "ERROR: Door 5 is jammed" in box.panel.log_label.text

        tap(box.panel.jam_button)  # unjam
        box.bank.unlock(5)
        assert box.bank.door_states()[5] is DoorState.OPEN

    def test_no_ack_channel(box: Box) -> None:
        tap(box.panel.door_cells[11])
        tap(box.panel.no_ack_button)

        assert not box.bank.unlock(11).acknowledged
        assert "no ack" in box.panel.door_cells[11].text

    def test_unplug_and_replug_the_lock_boards(box: Box) -> None:
        tap(box.panel.plug_button)

        assert {h.status for h in box.bank.health()} == {HealthStatus.FAILED}
        with pytest.raises(DeviceUnavailable):
            box.bank.unlock(1)
        assert box.panel.door_cells[1].text == "1\n? (closed)"
        assert box.panel.plug_button.text == "Replug lock boards"

        tap(box.panel.plug_button)
        assert box.bank.unlock(1).acknowledged
        assert "does not answer" not in box.panel.bank_label.text

    # --- Card reader

    def test_present_and_remove_a_preset_card(box: Box) -> None:
        tap(box.panel.preset_buttons["staff-1"])
        assert [(e.kind, e.uid) for e in box.card_events] == [(CardEventKind.PRESENTED, STAFF_1)]
        assert "04A1B2C3D4E5F6" in box.panel.card_label.text

        tap(box.panel.remove_card_button)
        assert box.card_events[-1].kind is CardEventKind.REMOVED
        assert box.panel.card_label.text == "No card on the reader"

    def test_custom_uid(box: Box) -> None:
        box.panel.uid_input.text = "04 11 22 aa"
        tap(box.panel.present_uid_button)
        assert box.card_events[-1].uid == bytes.fromhex("041122AA")

        box.panel.uid_input.text = "not hex"
        tap(box.panel.present_uid_button)
        assert len(box.card_events) == 1  # nothing new reached the reader
        assert "ERROR: A card UID is hex digits" in box.panel.log_label.text

        box.panel.uid_input.text = "04AABBCC"
        box.panel.uid_input.dispatch("on_text_validate")  # Enter in the field
        assert box.card_events[-1].uid == bytes.fromhex("04AABBCC")

    # --- Camera

    def test_qr_code_reaches_the_camera_only_while_it_runs(box: Box) -> None:
        write_notice(box.notify_dir, "R-OLDER", age=60)
        payload = write_notice(box.notify_dir, "R-NEWER")
        box.panel.refresh_notices()
        frames(2)
        buttons = notice_buttons(box.panel)
        assert [b.notice.reference for b in buttons] == ["R-NEWER", "R-OLDER"]
        # Reference and a masked code only: the full code is nowhere on the panel.
        texts = [w.text for w in box.panel.walk(restrict=True) if isinstance(w, Label)]
        assert any("R-NEWER" in t and payload[:9] + "…" in t for t in texts)
        assert not any(payload[5:] in t for t in texts)

        tap(buttons[0])  # camera stopped: no scan screen open
        assert box.scans == []
        assert box.panel.camera_label.text == CAMERA_OFF
        assert "ERROR: Camera is off — open the scan screen first" in box.panel.log_label.text

        box.scanner.start()  # the kiosk opens a scan screen
        tap(buttons[0])
        assert [s.payload for s in box.scans] == [payload.encode()]

        tap(box.panel.garbage_button)
        assert box.scans[-1].payload == GARBAGE_PAYLOADS[0][1]

        box.panel.code_input.text = "R-2025-000777"  # a document's barcode, for a deposit
        tap(box.panel.show_text_button)
        assert box.scans[-1].payload == b"R-2025-000777"
        # The log names what was shown the same masked way.
        texts = [w.text for w in box.panel.walk(restrict=True) if isinstance(w, Label)]
        assert not any(payload[5:] in t for t in texts)

    def test_new_notices_appear_by_themselves(box: Box) -> None:
        assert notice_buttons(box.panel) == []
        write_notice(box.notify_dir, "R-LATE")
        wait_until("the new notice to be listed",
                   lambda: [b.notice.reference for b in notice_buttons(box.panel)] == ["R-LATE"])

    # --- Keyboard

    def test_shortcuts(box: Box) -> None:
        payload = write_notice(box.notify_dir, "R-KEYS")
        box.scanner.start()
        box.bank.unlock(1)
        box.bank.unlock(20)
        tap(box.panel.door_cells[13])
        tap(box.panel.jam_button)  # only forcing opens a jammed door, pulling does not

        assert box.panel.handle_key("f5", [])
        assert box.panel.handle_key("f5", ["shift"])
        assert box.panel.handle_key("f6", [])
        assert [(e.kind, e.uid) for e in box.card_events] == [
            (CardEventKind.PRESENTED, STAFF_1),
            (CardEventKind.REMOVED, STAFF_1),  # a second card replaces the first
            (CardEventKind.PRESENTED, STAFF_2),
            (CardEventKind.REMOVED, STAFF_2),
        ]
        assert box.panel.handle_key("F7", [])
        assert box.panel.handle_key("f7", ["shift"])
        assert [s.payload for s in box.scans] == [payload.encode(), GARBAGE_PAYLOADS[0][1]]
        assert box.panel.handle_key("f8", [])
        assert box.door_kinds(1)[-1] is DoorEventKind.CLOSED
        assert box.door_kinds(20)[-1] is DoorEventKind.CLOSED
        assert box.panel.handle_key("f9", [])
        assert box.door_kinds(13) == [DoorEventKind.FORCED_OPEN]

        box.bank.unlock(14)
        assert box.panel.handle_key(Keyboard.keycodes["f8"], [])  # as Window.on_key_down passes it
        assert box.bank.door_states()[14] is DoorState.CLOSED

        assert not box.panel.handle_key("a", [])
        assert not box.panel.handle_key("f9", ["shift"])

    def test_legend_lists_every_shortcut(box: Box) -> None:
        legend = next(w for w in box.panel.children if isinstance(w, Label)
                      and w.text.startswith("Keys:"))
        for key in ("F5", "Shift+F5", "F6", "F7", "Shift+F7", "F8", "F9"):
            assert f"{key} " in legend.text

    # --- Lifecycle and looks

    def test_close_stops_refreshing(box: Box) -> None:
        box.panel.close()
        box.bank.unlock(6)
        box.bank.close_door(6)
        box.bank.force_door(6)
        deadline = time.monotonic() + 0.6  # two refresh periods
        while time.monotonic() < deadline:
            EventLoop.idle()
        assert box.panel.door_cells[6].text == "6\nclosed"

    def test_screenshot_shows_everything_unclipped(box: Box) -> None:
        write_notice(box.notify_dir, "R-2025-000101", age=30)
        write_notice(box.notify_dir, "R-2025-000102")
        box.bank.unlock(3)
        box.panel.select_door(7)
        box.panel.handle_key("f9", [])
        box.panel.controls.toggle_jam(12)
        box.panel.handle_key("f5", [])
        box.panel.handle_key("f7", [])  # camera off: an error line in the log
        box.panel.refresh_notices()
        frames(4)

        # Every text fits its widget: nothing runs off a button or a cell.
        for widget in box.panel.walk(restrict=True):
            if isinstance(widget, Label) and widget.text:
                widget.texture_update()
                width, height = widget.texture_size
                assert width <= widget.width + 1, f"{widget.text!r} is wider than its widget"
                assert height <= widget.height + 1, f"{widget.text!r} is taller than its widget"
        # The scrolled body fits the window here, so all of it is on screen.
        assert box.panel.scroll.children[0].height <= box.panel.scroll.height

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        saved = Window.screenshot(name=str(SCREENSHOT.with_name("simulator-panel-tmp.png")))
        shutil.move(saved, SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 10_000
