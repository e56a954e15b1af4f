"""Runs the real kiosk app in a real Kivy window and plays a scenario on it.

    python -m tests.ui.driver SCENARIO OUT_DIR

Starts the reference registry on loopback, a kiosk with simulated hardware
(its real core, store and uplink), and the touchscreen app in an SDL window
(offscreen when there is no display). A scenario thread then acts like the
people at the box: it presses keys and touches buttons through Kivy's input
path, shows QR codes to the simulated camera and closes doors, waits for
screens, and writes `result.json` (+ screenshots) to OUT_DIR. One scenario
per process, because Kivy's App.run() works once per process.
"""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

def prepare_environment(out: Path) -> None:
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    os.environ["KIVY_NO_ARGS"] = "1"
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ["PICKUPBOX_SPEECH_CAPTURE"] = str(out / "speech")


class Robot:
    """Acts on the app from the scenario thread; every UI access runs on the Kivy thread."""

    def __init__(self, app, world, out: Path):
        self.app, self.world, self.out = app, world, out
        kiosk = self.kiosk = world.kiosk
        self.registry = world.registry
        self.core = kiosk.core
        self.bank = kiosk.hardware.locker_bank
        self.reader = kiosk.hardware.card_reader
        self.scanner = kiosk.hardware.code_scanner
        self.log: list[str] = []

    def on_ui(self, fn: Callable[[], object], timeout: float = 10) -> object:
        from kivy.clock import Clock

        done = threading.Event()
        box: dict = {}

        def run(_dt):
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the scenario thread
                box["error"] = exc
            done.set()

        Clock.schedule_once(run)
        if not done.wait(timeout):
            faulthandler.dump_traceback(all_threads=True)  # where the UI thread is stuck, in the log
            raise TimeoutError("the UI thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def screen(self) -> str:
        return self.on_ui(lambda: self.app.screen.value if self.app.screen else "")

    def wait_screen(self, name: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.screen() == name:
                self.settle()
                return
            time.sleep(0.05)
        raise AssertionError(f"screen {name!r} did not appear; showing {self.screen()!r}")

    def wait_for(self, what: str, predicate: Callable[[], object], timeout: float = 15) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def settle(self) -> None:
        """Lets pending renders and two frames happen."""
        for _ in range(3):
            self.on_ui(lambda: None)
            time.sleep(0.03)

    # ------------------------------------------------------------- input

    def key(self, key: int, codepoint: str | None = None) -> None:
        from kivy.core.window import Window

        self.on_ui(lambda: Window.dispatch("on_key_down", key, 0, codepoint, []))
        self.on_ui(lambda: Window.dispatch("on_key_up", key, 0))
        self.settle()

    def type(self, text: str) -> None:
        for char in text:
            self.key(ord(char.lower()) if char.isalpha() else ord(char), char)

    def button(self, name: str):
        def find():
            for b in self.app.focusables:
                if b.name == name:
                    return b
            raise AssertionError(f"no button {name!r} on {self.app.screen}: "
                                 f"{[b.name for b in self.app.focusables]}")

        return self.on_ui(find)

    def tap(self, name: str) -> None:
        """A real touch: down and up at the button's centre, through Kivy's event loop."""
        from kivy.tests.common import UnitTestTouch

        button = self.button(name)
        x, y = self.on_ui(lambda: button.to_window(*button.center))

        def touch():
            t = UnitTestTouch(x, y)
            t.touch_down()
            t.touch_up()

        self.on_ui(touch)
        self.settle()

    def focus_on(self, name: str, max_steps: int = 40) -> None:
        """Moves the focus ring to a button with arrow keys only, like a keypad user."""
        from kiosk.ui.keys import KEY_DOWN, KEY_LEFT, KEY_RIGHT, KEY_UP

        path = []
        for _ in range(max_steps):
            target = self.button(name)  # looked up each time: a render builds new buttons
            focus, wanted = self.on_ui(lambda: (self.app.focus_index, self.app.focusables.index(target)))
            if focus == wanted:
                return
            if focus is None:
                self.key(KEY_RIGHT)
                continue
            fx, fy = self.on_ui(lambda: self.app.focusables[self.app.focus_index].center)
            path.append((self.on_ui(lambda: self.app.focusables[self.app.focus_index].name), int(fx), int(fy)))
            tx, ty = self.on_ui(lambda: target.center)
            if abs(ty - fy) > 5:
                self.key(KEY_UP if ty > fy else KEY_DOWN)
            else:
                self.key(KEY_RIGHT if tx > fx else KEY_LEFT)
        raise AssertionError(f"could not move the focus to {name}: went {path}")

    # ------------------------------------------------------------ output

    def shot(self, name: str) -> Path:
        from kivy.core.window import Window

        path = self.out / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.settle()
        pattern = str(path.parent / (path.stem + "-.png"))  # Kivy inserts a number before the suffix
        written = self.on_ui(lambda: Window.screenshot(pattern))
        Path(written).replace(path)
        return path

    def labels(self) -> list[str]:
        from kiosk.ui.widgets import TextLabel

        return self.on_ui(lambda: [w.raw for w in self.app.holder.walk(restrict=True) if isinstance(w, TextLabel)])

    def speech(self) -> list[dict]:
        path = self.out / "speech" / "speech.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


HANG_EXIT = 86  # exit status after a hang: faulthandler has written every thread's stack


def main(argv: list[str]) -> int:
    name, out = argv[0], Path(argv[1])
    hang = float(os.environ.get("PICKUPBOX_UI_TEST_HANG_SECONDS", "0"))
    if hang:
        faulthandler.dump_traceback_later(hang, exit=False)
        watchdog = threading.Timer(hang + 1, os._exit, (HANG_EXIT,))
        watchdog.daemon = True  # never keeps a finished scenario alive
        watchdog.start()
    out.mkdir(parents=True, exist_ok=True)
    prepare_environment(out)
    from tests.ui import scenarios  # noqa: F401  (registers the scenarios)
    from tests.ui.world import World

    shutil.rmtree(out / "world", ignore_errors=True)  # a rerun starts from an empty registry and kiosk
    (out / "result.json").unlink(missing_ok=True)
    world = World(out / "world", **scenarios.WORLD_OPTIONS.get(name, {}))
    world.start()
    from kiosk.ui.launch import configure_kivy, simulator_panel_for

    configure_kivy(world.kiosk.settings, windowed=True)
    from kiosk.ui.app import KioskApp
    from kiosk.ui.speech import Speaker

    app = KioskApp(world.kiosk, world.kiosk.core.view(), Speaker(),
                   simulator_panel=simulator_panel_for(world.kiosk))
    robot = Robot(app, world, out)
    result: dict = {"scenario": name}

    def play():
        try:
            robot.wait_for("the app window", lambda: robot.on_ui(lambda: app.screen is not None))
            result.update(scenarios.SCENARIOS[name](robot) or {})
            result["ok"] = True
        except BaseException as exc:
            result["ok"] = False
            result["error"] = "".join(traceback.format_exception(exc))
            try:
                robot.shot("failure")
                result["failure_labels"] = robot.labels()
            except Exception:
                pass
        finally:
            app.allow_exit = True
            robot.on_ui(app.stop)

    threading.Thread(target=play, daemon=True, name="scenario").start()
    try:
        app.run()
    finally:
        world.stop()
        (out / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
