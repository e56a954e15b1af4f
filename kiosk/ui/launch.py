"""Starts the touchscreen app for a built kiosk (`kiosk run`).

Kivy reads its window settings when the window is created, and parses the
command line on import unless told not to; both are settled here before
anything imports Kivy's window.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from pathlib import Path

from kiosk.app import Kiosk
from kiosk.config import Settings

log = logging.getLogger(__name__)


def locked_down(settings: Settings, windowed: bool) -> bool:
    """Full screen, borderless, no cursor, window close refused: a production
    kiosk (ui.fullscreen, the default). `--windowed` and the first-run demo are not."""
    return settings.ui.fullscreen and not windowed


def configure_kivy(settings: Settings, windowed: bool) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # `kiosk run --windowed` is ours, not Kivy's
    # Kivy's log handlers on its own logger only: with logging.basicConfig in
    # `kiosk run`, the default mode printed every line twice.
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
    # SDL2's clipboard: Kivy otherwise probes xclip and xsel and logs their
    # absence as tracebacks that look like a crash.
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
    import kivy
    from kivy.config import Config

    if not (shutil.which("xclip") or shutil.which("xsel")):
        # Kivy also probes xclip/xsel for the X11 cut buffer (middle-click paste
        # in the simulator panel's text field) and logs each missing one as a
        # CRITICAL traceback. Without either tool there is no cut buffer anyway.
        kivy.kivy_options.setdefault("cutbuffer", ())
        from kivy.logger import Logger

        Logger.addFilter(lambda record: not str(record.msg).startswith("Cutbuffer: Unable"))

    width, height = settings.ui.window_size.split("x")
    fullscreen = locked_down(settings, windowed)
    Config.set("kivy", "exit_on_escape", "0")  # Escape means Back; leaving needs a staff login
    Config.set("kivy", "keyboard_mode", "system")  # no Kivy virtual keyboard
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")  # no red multitouch dots on right click


def simulator_panel_for(kiosk: Kiosk, demo_hint: str = ""):
    """The dev side panel, if the hardware is simulated and the config allows it."""
    if kiosk.settings.ui.simulator_panel == "off":
        return None
    from hardware.simulated import SimulatedCardReader, SimulatedCodeScanner, SimulatedLockerBank

    hw = kiosk.hardware
    if not (isinstance(hw.locker_bank, SimulatedLockerBank) and isinstance(hw.card_reader, SimulatedCardReader)
            and isinstance(hw.code_scanner, SimulatedCodeScanner)):
        return None
    try:
        from kiosk.ui.simulator_panel import SimulatorPanel
    except ImportError as exc:
        log.warning("simulator panel not available: %s", exc)
        return None
    return SimulatorPanel(bank=hw.locker_bank, reader=hw.card_reader, scanner=hw.code_scanner,
                          notify_dir=Path(kiosk.settings.registry.notify_dir), size_hint_x=None, width=420,
                          demo_hint=demo_hint)


def run_app(kiosk: Kiosk, *, windowed: bool = False, demo_hint: str = "", help_call=None) -> None:
    """Runs the app until staff choose "Exit app" (blocks; call on the main thread)."""
    configure_kivy(kiosk.settings, windowed)
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.ui.app import KioskApp
    from kiosk.ui.speech import Speaker

    locked = locked_down(kiosk.settings, windowed)
    Window.show_cursor = not locked
    speaker = Speaker()  # the per-session speech switch (UiState.speech) decides what is said
    app = KioskApp(kiosk, kiosk.core.view(), speaker, simulator_panel=simulator_panel_for(kiosk, demo_hint),
                   locked_down=locked, help_call=help_call)

    def stop_on_signal(*_):
        # The service manager (or Ctrl-C at a development machine) may end the app.
        def stop(_dt):
            app.allow_exit = True
            app.stop()

        Clock.schedule_once(stop)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_on_signal)
    try:
        app.run()
    finally:
        speaker.close()
