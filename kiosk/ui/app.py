"""The Kivy touchscreen app: renders the newest KioskView, sends intents.

Data flows one way: core -> view -> `render()` -> a fresh widget tree. Buttons
and keys call the action methods below, which change the local `UiState` or
send an intent through the bridge; the answer comes back as a new view.

Import this module only after `kiosk.ui.launch.configure_kivy()`: Kivy reads
its window settings when the window is created.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from hardware.interfaces import HealthStatus, PreviewSource
from kiosk.app import Kiosk
from kiosk.core import KioskView
from kiosk.core.kiosk_core import HELP_CALL_PREFIX
from kiosk.domain.document_return import ReturnState
from kiosk.domain.effects import Problem
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import StaffState
from kiosk.ui import texts
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.flow import (EXTENDABLE, Screen, choose_screen, citizen_session_active, ended_by_timeout, seconds_left,
                           timeout_warning, warning_seconds)
from kiosk.ui.focus import next_focus
from kiosk.ui.i18n import t
from kiosk.ui.intents import Intents
from kiosk.ui.keys import KeyAction, key_action
from kiosk.ui.messages import RETRYABLE, help_prompt, office_contact, retry_wait, spoken_prompt
from kiosk.ui.preview import CameraPreview
from kiosk.ui.screens.citizen_entry import code_keys_block, pin_keypad
from kiosk.ui.screens.common import Ctx, citizen_toolbar, timeout_overlay
from kiosk.ui.screens.registry import BUILDERS
from kiosk.ui.state import InputBuffers, UiState
from kiosk.ui.theme import Metrics, palette
from kiosk.ui.widgets import KioskButton

log = logging.getLogger(__name__)

# Screens that read codes: the camera runs only while one is visible.
SCANNING_SCREENS = frozenset({Screen.SCAN, Screen.STAFF_DEPOSIT})
FLASH_SECONDS = 10
EXTEND_EVERY = timedelta(seconds=5)
AFTER_FRAME_LATEST = 0.1  # seconds; see KioskApp._after_frame


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KioskApp(App):
    title = "pickupbox"

    def __init__(self, kiosk: Kiosk, view: KioskView, speaker, *, simulator_panel: Widget | None = None,
                 locked_down: bool = True, help_call=None, **kwargs):
        super().__init__(**kwargs)
        self.locked_down = locked_down  # production: the window cannot be closed without a staff login
        # The optional call button / intercom (hardware.help_call.HelpCall) of the
        # box, configured as hardware.help_call; a caller may pass another one.
        self.help_call = help_call if help_call is not None else kiosk.hardware.help_call
        self._call_failed = False
        self.kiosk = kiosk
        ui_settings = kiosk.settings.ui
        self.view = view
        self.speaker = speaker
        self.speech_default = ui_settings.speech
        self.ui = UiState(speech=self.speech_default)
        self.buffers = InputBuffers.new()
        self.dpi = ui_settings.screen_dpi
        self.warn_seconds = warning_seconds(ui_settings.timeout_warning_seconds,
                                            kiosk.settings.kiosk.session_timeout_seconds)
        self.session_timeout = timedelta(seconds=kiosk.settings.kiosk.session_timeout_seconds)
        self.screen: Screen | None = None
        self.focusables: list[KioskButton] = []
        self.focus_index: int | None = None
        self.allow_exit = False
        self.widget_cache: dict[tuple, Widget] = {}  # see Ctx.reuse
        self._render_key = None
        self._last_prompt: tuple[str, str] = ("", "")  # (language, text) last spoken for a screen
        self._last_extend = datetime.min.replace(tzinfo=timezone.utc)
        self._scanning = False
        self._local_deadline: datetime | None = None  # start/scan/type screens: the core has no timer there
        self._retrying = False  # a reset to idle the citizen asked for keeps language and modes
        self._user_ended = False  # the citizen asked to end the session (no "timed out" notice)
        self._prebuilt: set[tuple] = set()
        self._pending_after_frame: list = []  # see _after_frame
        self._drawn = False  # the first frame is on screen (see _first_frame)
        self._staff_logout_requested = False
        self._flash: tuple[object, datetime] | None = None  # a short notice on the idle screen
        self._sim_panel = simulator_panel
        self._sim_visible = False
        scanner = kiosk.hardware.code_scanner
        self._preview = CameraPreview(scanner) if isinstance(scanner, PreviewSource) else None

    # ------------------------------------------------------------ lifecycle

    def build(self) -> Widget:
        self.body = BoxLayout(orientation="horizontal")
        self.holder = FloatLayout()  # the screen, and the time-out question above it
        self.body.add_widget(self.holder)
        self.bridge = CoreBridge(self.kiosk.core, lambda fn: Clock.schedule_once(lambda _dt: fn()), self.on_view)
        self.intents = Intents(self.bridge.call)
        Window.bind(on_key_down=self.on_key_down, on_request_close=self.on_request_close)
        Clock.schedule_interval(lambda _dt: self.render(), 0.5)  # countdowns and time-outs
        self.render()
        # The first frame on screen, for the operator's log and the start-up benchmark.
        Window.bind(on_flip=self._first_frame)
        return self.body

    def _first_frame(self, *_args) -> None:
        Window.unbind(on_flip=self._first_frame)
        log.info("first screen drawn: %s", self.screen.value if self.screen else "?")
        self._drawn = True
        self._render_key = None  # render again, which schedules the prebuild
        Clock.schedule_once(lambda _dt: self.render(), 0.3)

    def on_request_close(self, *_args, **_kwargs) -> bool:
        # True = refuse. Only "Exit app" in the staff menu (after login) may close a
        # locked-down kiosk; a development window (--windowed, the demo) closes as windows do.
        return self.locked_down and not self.allow_exit

    def on_stop(self) -> None:
        if self._sim_panel is not None:
            self._sim_panel.close()
        self._pending_after_frame.clear()
        if self._scanning:
            self.intents.scan_screen(False)
        self.bridge.close()
        self.speaker.stop()

    # ------------------------------------------------------------ views in

    def on_view(self, view: KioskView) -> None:
        old, self.view = self.view, view
        if ended_by_timeout(old, view, self._user_ended or self._retrying):
            self._flash = (texts.IDLE_TIMED_OUT, utc_now() + timedelta(seconds=FLASH_SECONDS))
        if not citizen_session_active(view):
            self._user_ended = False
        if citizen_session_active(old) and not citizen_session_active(view):
            if self._retrying:
                self._retrying = False
            else:
                self.reset_session()
        if old.pickup_state is not view.pickup_state:
            self.ui = self.ui.with_(code_error=None)
            if view.pickup_state is not PickupState.IDLE:
                self.ui = self.ui.with_(overlay="") if view.pickup_state is not PickupState.AWAITING_PIN else self.ui
        staff_was_in = old.staff_state is not StaffState.LOGGED_OUT
        staff_is_in = view.staff_state is not StaffState.LOGGED_OUT
        if staff_is_in and not staff_was_in:
            # A staff card takes the screen: nothing a citizen typed survives.
            self.reset_session()
        elif staff_was_in and not staff_is_in:
            until = utc_now() + timedelta(seconds=FLASH_SECONDS)
            if view.staff_error_notice.code:
                self._flash = (view.staff_error_notice, until)  # e.g. card or PIN not accepted
            elif not self._staff_logout_requested:
                self._flash = (texts.STAFF_LOGGED_OUT_IDLE, until)
            self._staff_logout_requested = False
            self.reset_session()
        self.render()

    def reset_session(self) -> None:
        """End of a session: German, default modes, idle screen, every buffer wiped."""
        self.buffers.clear()
        self.ui = self.ui.reset_citizen(self.speech_default)
        self._local_deadline = None
        self._retrying = False

    # --------------------------------------------------------------- render

    def expires_at(self) -> datetime | None:
        if self.view.pickup_state is PickupState.IDLE:
            return self._local_deadline
        return self.view.pickup_expires_at

    def render(self) -> None:
        now = utc_now()
        if self._local_deadline is not None and now >= self._local_deadline and self.view.pickup_state is PickupState.IDLE:
            self.reset_session()
            self._flash = (texts.IDLE_TIMED_OUT, now + timedelta(seconds=FLASH_SECONDS))
        if self._flash and now >= self._flash[1]:
            self._flash = None
        screen = choose_screen(self.view, self.ui)
        warning = timeout_warning(screen, self.expires_at(), now, self.warn_seconds)
        staff_left = seconds_left(self.view.staff_expires_at, now) if screen.is_staff else None
        key = (screen, self.view, self.ui, self.buffers.code.peek(), self.buffers.pin.count,
               self.buffers.reference.peek(), warning, self._flash, staff_left if (staff_left or 99) <= 60 else None,
               self.camera_available() if screen is Screen.SCAN else None,
               retry_wait(self.view, now) if screen in (Screen.ERROR, Screen.PIN) else None,
               self.call_state() if screen is Screen.HELP else None)
        if key == self._render_key:
            return
        self._render_key = key
        changed = screen is not self.screen
        self.screen = screen
        pal = palette(self.ui.high_contrast)
        Window.clearcolor = (*pal.background, 1)
        if self._preview is not None and self._preview.parent is not None:
            self._preview.parent.remove_widget(self._preview)
        ctx = Ctx(self.view, self.ui, self.buffers, pal, Metrics(self.dpi, self.ui.large_text), self.kiosk.settings.office,
                  now, warning, self, preview=self._preview if screen is Screen.SCAN else None,
                  flash=self._flash[0] if self._flash else None)
        self.holder.clear_widgets()
        self.holder.add_widget(BUILDERS[screen](ctx))
        top = self.holder
        if warning is not None:
            top = timeout_overlay(ctx)
            self.holder.add_widget(top)
        self.focusables = [w for w in top.walk(restrict=True) if isinstance(w, KioskButton)]
        if changed or self.focus_index is None or self.focus_index >= len(self.focusables):
            self.focus_index = None
        self._show_focus()
        self._after_render(screen, changed, warning)
        self._schedule_prebuild(ctx)

    def _schedule_prebuild(self, ctx: Ctx) -> None:
        """Builds the blocks the next screens need (code keys, PIN keypad, the
        toolbar) for the current language and modes while the citizen reads,
        not on the tap that needs them (issue 13: 214 ms p95 on the first tap)."""
        key = (ctx.lang, ctx.ui.high_contrast, ctx.ui.large_text, ctx.m.dpi)
        if key in self._prebuilt or not self._drawn:
            return  # before the first frame is on screen, the start-up comes first
        self._prebuilt.add(key)
        Clock.schedule_once(lambda _dt: prebuild(ctx), 0.3)

    def _after_render(self, screen: Screen, changed: bool, warning: int | None) -> None:
        scanning = screen in SCANNING_SCREENS
        if scanning != self._scanning:
            self._scanning = scanning
            self._after_frame(lambda: self._set_scanning(scanning))
        now = utc_now()
        prompt = (self.help_speech() if screen is Screen.HELP
                  else spoken_prompt(screen, self.view, self.ui.lang, now))
        if retry_wait(self.view, now) and not changed and self._last_prompt[1][:20] == prompt[:20]:
            return  # the throttle's countdown ticks: said once, and again when the retry is open
        if warning is not None:
            prompt = t(texts.SAY_TIMEOUT, self.ui.lang, seconds=warning)
            if self._last_prompt[1][:20] == prompt[:20] and not changed:
                return  # the countdown ticks; say it once, not every second
        if prompt and (self.ui.lang, prompt) != self._last_prompt:
            self._last_prompt = (self.ui.lang, prompt)
            lang = self.ui.lang
            self._after_frame(lambda: self.say(prompt, lang))

    def _set_scanning(self, scanning: bool) -> None:
        self.intents.scan_screen(scanning)
        if self._preview is not None:
            (self._preview.start if scanning else self._preview.stop)()

    def _after_frame(self, fn) -> None:
        """Runs `fn` once the frame with the new screen is on the display.

        Starting the speech process (a fork) and waking the core thread to
        start or stop the camera both compete with drawing the next screen
        for the CPU and the GIL; a citizen sees the screen first and hears it
        a frame (some milliseconds) later (issue 13: tap to next screen)."""
        self._pending_after_frame.append(fn)
        if len(self._pending_after_frame) == 1:
            Window.bind(on_flip=self._run_after_frame)
            # Kivy flips only when something was drawn: never wait longer than this.
            Clock.schedule_once(self._run_after_frame, AFTER_FRAME_LATEST)

    def _run_after_frame(self, *_args) -> None:
        Window.unbind(on_flip=self._run_after_frame)
        pending, self._pending_after_frame = self._pending_after_frame, []
        for fn in pending:
            fn()

    def say(self, text: str, lang: str | None = None) -> None:
        if self.ui.speech and text:
            self.speaker.say(text, lang or self.ui.lang)

    def camera_available(self) -> bool:
        return all(h.status is not HealthStatus.FAILED for h in self.kiosk.hardware.code_scanner.health())

    # ---------------------------------------------------------------- focus

    def _show_focus(self) -> None:
        for i, button in enumerate(self.focusables):
            button.focused = i == self.focus_index

    def move_focus(self, direction: str) -> None:
        rects = [(b.x, b.y, b.width, b.height) for b in self.focusables]
        self.user_acted()
        self.focus_index = next_focus(rects, self.focus_index, direction)
        self._show_focus()
        if self.focus_index is not None:
            self.say(self.focusables[self.focus_index].speak_text)

    # ------------------------------------------------------------- keyboard

    def on_key_down(self, _window, key: int, _scancode: int, codepoint: str | None, modifiers: list[str]) -> bool:
        if self._sim_panel is not None:
            if self._sim_visible and any(getattr(w, "focus", False) for w in self._sim_panel.walk()):
                return False  # typing into the panel's own text field
            if self._sim_panel.handle_key(key, modifiers):
                return True  # F5-F9: the panel's shortcuts
        action, arg = key_action(key, codepoint, self.screen or Screen.IDLE, self._entry_has_text())
        if action is KeyAction.NONE:
            return False
        if action is KeyAction.SIMULATOR:
            self.toggle_simulator()
        elif action is KeyAction.MOVE:
            self.move_focus(arg)
        elif action is KeyAction.ENTER:
            self.user_acted()
            if self.focus_index is not None:
                self.focusables[self.focus_index].action()
            else:
                self.default_action()
        elif action is KeyAction.BACK:
            self.escape()
        elif action is KeyAction.DELETE:
            self.delete()
        elif action is KeyAction.HELP:
            self.help()
        elif action is KeyAction.LARGE_TEXT:
            self.toggle_large_text()
        elif action is KeyAction.CONTRAST:
            self.toggle_contrast()
        elif action is KeyAction.CHAR:
            self.key(arg)
        return True

    def _entry_has_text(self) -> bool:
        buffer = self._buffer()
        return buffer is not None and buffer.count > 0

    def _buffer(self):
        return {Screen.CODE: self.buffers.code, Screen.PIN: self.buffers.pin, Screen.STAFF_PIN: self.buffers.pin,
                Screen.STAFF_DEPOSIT: self.buffers.reference}.get(self.screen)

    def default_action(self) -> None:
        """Enter with no button focused: the screen's main action (tactile keypad)."""
        s = self.screen
        if self._render_key and self._render_key[6] is not None:
            return self.more_time()
        actions = {
            Screen.IDLE: self.start, Screen.SCAN: self.type_instead, Screen.CODE: self.submit,
            Screen.PIN: self.submit, Screen.PIN_LETTER: lambda: self.pin_letter(True), Screen.DONE: self.to_start,
            Screen.STAFF_PIN: self.submit, Screen.STAFF_DEPOSIT: self.submit, Screen.A11Y: self.close_overlay,
            Screen.LANGUAGE: self.close_overlay, Screen.HELP: self.close_overlay,
            Screen.PROBLEM_REPORTED: self.to_start,
        }
        if s is Screen.RETURN:
            if self.view.return_state is ReturnState.DOOR_OPEN and not self.view.has_door_sensors:
                self.door_closed()
            elif self.view.return_state in (ReturnState.RETURNED, ReturnState.DOOR_FAILED):
                self.finish_return()
        elif s is Screen.ERROR:
            (self.try_again if self.view.pickup_state in RETRYABLE else self.to_start)()
        elif s is Screen.DOOR_OPEN or s is Screen.STAFF_DOOR:
            if not self.view.has_door_sensors:
                self.door_closed()
        elif s in actions:
            actions[s]()

    def escape(self) -> None:
        s = self.screen
        if s in (Screen.LANGUAGE, Screen.A11Y, Screen.HELP, Screen.PROBLEM):
            self.close_overlay()
        elif s is Screen.STAFF_MENU and self.ui.confirm_exit:
            self.cancel_exit()
        elif s in (Screen.SCAN, Screen.CODE):
            self.back()
        elif s is Screen.PIN:
            self.cancel()
        elif s is Screen.PIN_LETTER:
            self.pin_letter(False)
        elif s in (Screen.ERROR, Screen.DONE, Screen.PROBLEM_REPORTED):
            self.to_start()
        elif s is Screen.RETURN:
            self.finish_return()
        elif s is Screen.STAFF_PIN:
            self.staff_cancel()
        elif s in (Screen.STAFF_DEPOSIT, Screen.STAFF_SECOND_CARD):
            self.staff_finish()
        elif s in (Screen.STAFF_COMPARTMENTS, Screen.STAFF_HEALTH):
            self.staff_page("menu")
        elif s is Screen.STAFF_REASON:
            self.cancel_reason()
        elif s is Screen.STAFF_DOOR and self.view.staff_state is StaffState.DEPOSIT_DOOR_OPEN:
            self.staff_abort()

    def toggle_simulator(self) -> None:
        if self._sim_panel is None:
            return
        self._sim_visible = not self._sim_visible
        if self._sim_visible:
            self.body.add_widget(self._sim_panel)
        else:
            self.body.remove_widget(self._sim_panel)

    # -------------------------------------------------------------- actions

    def user_acted(self) -> None:
        """Any input: speech stops (EN 301 549) and the session timer restarts."""
        self.speaker.stop()
        now = utc_now()
        if self.view.pickup_state is PickupState.IDLE and self.ui.code_mode:
            self._local_deadline = now + self.session_timeout
        elif self.screen in EXTENDABLE and now - self._last_extend > EXTEND_EVERY:
            # Typing a PIN digit or moving the focus is activity the core does not see.
            self._last_extend = now
            self.intents.extend_time()

    def _set_ui(self, **changes) -> None:
        self.user_acted()
        self.ui = self.ui.with_(**changes)
        self.render()

    def _acting(self) -> Intents:
        """The core's intents, after noting that the user acted."""
        self.user_acted()
        return self.intents

    def start(self) -> None:
        self._local_deadline = utc_now() + self.session_timeout
        self._set_ui(code_mode="scan")

    def type_instead(self) -> None:
        self._set_ui(code_mode="type")

    def back(self) -> None:
        if self.screen is Screen.CODE:
            self.buffers.code.clear()
            self._set_ui(code_mode="scan", code_error=None)
        else:
            self.buffers.clear()
            self._local_deadline = None
            self._set_ui(code_mode="")

    def key(self, char: str) -> None:
        buffer = self._buffer()
        if buffer is None:
            return
        self.user_acted()
        if not buffer.add(char):
            return
        if self.screen in (Screen.PIN, Screen.STAFF_PIN):
            # Never the digit itself: the speaker is in a public lobby.
            self.say(t(texts.SAY_PIN_DIGIT, self.ui.lang, n=buffer.count, total=buffer.length))
        elif self.screen is Screen.CODE:
            self.say(t(texts.SAY_CODE_CHAR, self.ui.lang, n=buffer.count, total=buffer.length, char=char.upper()))
        self.ui = self.ui.with_(code_error=None)
        self.render()

    def delete(self) -> None:
        buffer = self._buffer()
        if buffer is not None and buffer.delete():
            self.user_acted()
            self.render()

    def submit(self) -> None:
        s = self.screen
        if s is Screen.CODE:
            problem = self.buffers.code.problem()
            if problem is not None:
                msgid, values = problem
                self._set_ui(code_error=(msgid, tuple(values.items())))
                self.say(t(msgid, self.ui.lang, **values))
                return
            self._acting().submit_code(self.buffers.code.take())
        elif s in (Screen.PIN, Screen.STAFF_PIN):
            if not self.buffers.pin.full:
                self.say(t(texts.PIN_INSTRUCTION, self.ui.lang))
                return
            intents, pin = self._acting(), self.buffers.pin.take()
            (intents.submit_pin if s is Screen.PIN else intents.staff_pin)(pin)
        elif s is Screen.STAFF_DEPOSIT:
            reference = self.buffers.reference.take()
            if reference:
                self._acting().submit_reference(reference)
        self.render()

    def pin_letter(self, confirmed: bool) -> None:
        self._user_ended = not confirmed
        self._acting().confirm_pin_letter(confirmed)

    def cancel(self) -> None:
        self._user_ended = True
        self.buffers.clear()
        self._acting().cancel()

    def to_start(self) -> None:
        self._user_ended = True
        self.buffers.clear()
        if self.view.pickup_state is PickupState.IDLE:
            self.reset_session()
            self.render()
        else:
            self._acting().cancel()

    def try_again(self) -> None:
        if retry_wait(self.view, utc_now()):
            return  # still throttled: the screen counts down and offers the retry when it is over
        self._retrying = True
        self.buffers.clear()
        self._local_deadline = utc_now() + self.session_timeout
        self.ui = self.ui.with_(code_mode=self.ui.code_mode or "scan")
        self._acting().cancel()

    def open_problem(self) -> None:
        """ "Report a problem" at the door: the choice of what is wrong."""
        self._set_ui(overlay="problem")

    def report_problem(self, problem: Problem) -> None:
        """The answer goes to the core, which holds the handover and raises the alarm."""
        self._set_ui(overlay="")
        self._acting().report_problem(problem)

    def finish_return(self) -> None:
        """Skip the old-ID return, or leave its result screen."""
        self._acting().skip_return()

    def door_closed(self) -> None:
        self._acting().confirm_door_closed()

    def more_time(self) -> None:
        self._local_deadline = utc_now() + self.session_timeout
        self._last_prompt = ("", "")
        self._acting().extend_time()
        self.render()

    def help(self) -> None:
        """F1, ? or the Help button: the help page of this step, read aloud.
        On a staff screen (no help page) the screen's prompt is repeated."""
        self.speaker.stop()
        if self.screen is Screen.HELP:
            return self.close_overlay()
        if self.screen is None or self.screen.is_staff or self.screen is Screen.RETURN:
            prompt = (spoken_prompt(self.screen, self.view, self.ui.lang, utc_now())
                      if self.screen else "")
            self.say(prompt or self._last_prompt[1])
            return
        self._set_ui(overlay="help", help_for=self.screen.value)

    def call_state(self) -> str:
        """"" (no device or no call), or the help-call device's state."""
        if self.help_call is None:
            return ""
        if self._call_failed:
            return "failed"
        return self.help_call.state().value

    def call_for_help(self) -> None:
        """The help page's "Call a person now": the device places the call and returns at once."""
        from hardware.errors import HardwareError

        self.user_acted()
        self._call_failed = False
        try:
            self.help_call.call("help_page")
        except HardwareError as exc:
            log.warning("help call failed: %s", exc)
            self._call_failed = True
        self.render()

    def help_speech(self) -> str:
        o = self.kiosk.settings.office
        about = Screen(self.ui.help_for) if self.ui.help_for else None
        return help_prompt(about, office_contact(o.name, o.phone, o.opening_hours, self.ui.lang), self.ui.lang)

    def set_language(self, code: str) -> None:
        self._set_ui(lang=code, overlay="")

    def open_language(self) -> None:
        self._set_ui(overlay="language")

    def open_a11y(self) -> None:
        self._set_ui(overlay="a11y")

    def close_overlay(self) -> None:
        self._set_ui(overlay="")

    def toggle_contrast(self) -> None:
        self._set_ui(high_contrast=not self.ui.high_contrast)

    def toggle_large_text(self) -> None:
        self._set_ui(large_text=not self.ui.large_text)

    def toggle_reach(self) -> None:
        self._set_ui(reach=not self.ui.reach)

    def toggle_speech(self) -> None:
        self._set_ui(speech=not self.ui.speech)

    # ---------------------------------------------------------------- staff

    def staff_cancel(self) -> None:
        self.buffers.clear()
        self._staff_logout_requested = True
        self._acting().logout()

    def staff_logout(self) -> None:
        self._staff_logout_requested = True
        self._acting().logout()

    def staff_deposit(self) -> None:
        self._acting().start_deposit()

    def staff_remove(self) -> None:
        self._acting().start_removal()

    def staff_finish(self) -> None:
        self.buffers.reference.clear()
        self._acting().finish_deposits()

    def staff_abort(self) -> None:
        self._acting().abort_deposit()

    def staff_page(self, page: str) -> None:
        self._set_ui(staff_page=page, asking_reason=False, confirm_exit=False)

    def device_health(self) -> list:
        """The devices on the staff's status page: the core's (the configured help
        call among them), the speech output, and a help call passed in directly."""
        extra = []
        if self.help_call is not None and self.help_call is not self.kiosk.hardware.help_call:
            extra = [replace(h, device=HELP_CALL_PREFIX + h.device) for h in self.help_call.health()]
        return [*self.view.health, *self.speaker.health(), *extra]

    def select_compartment(self, number: int) -> None:
        self._set_ui(selected=number)

    def ask_reason(self) -> None:
        self._set_ui(asking_reason=True)

    def cancel_reason(self) -> None:
        self._set_ui(asking_reason=False)

    def open_for_service(self, reason: str) -> None:
        number = self.ui.selected
        self._set_ui(asking_reason=False)
        if number is not None:
            self._acting().open_for_service(number, reason)

    def set_out_of_service(self) -> None:
        if self.ui.selected is not None:
            self._acting().set_out_of_service(self.ui.selected, "set by staff at the kiosk")

    def set_in_service(self) -> None:
        if self.ui.selected is not None:
            self._acting().set_in_service(self.ui.selected)

    def start_inspection(self, number: int) -> None:
        self._acting().start_inspection(number)

    def resolve_inspection(self, outcome: str) -> None:
        self._acting().resolve_inspection(outcome)

    def confirm_clock(self, correct: bool) -> None:
        self._acting().confirm_clock(correct)

    def exit_app(self) -> None:
        """"Exit app" asks once more: closing leaves the box unusable for citizens."""
        if self.view.staff_state is StaffState.MENU:
            self._set_ui(confirm_exit=True)

    def cancel_exit(self) -> None:
        self._set_ui(confirm_exit=False)

    def confirm_exit_app(self) -> None:
        # Reachable only from the staff menu, i.e. after a staff login.
        if self.view.staff_state is StaffState.MENU and self.ui.confirm_exit:
            self.allow_exit = True
            self.stop()


def prebuild(ctx: Ctx) -> None:
    """Fills the widget cache (Ctx.reuse) for the blocks of the entry screens."""
    started = utc_now()
    ctx = replace(ctx, warming=True)
    blocks = [citizen_toolbar(ctx), pin_keypad(ctx), code_keys_block(ctx), ctx.contact_line()]
    # The fixed texts of the scan and code screens (see Ctx.label(keep=True)).
    for msgid, role in ((texts.SCAN_TITLE, "title"), (texts.SCAN_INSTRUCTION, "body"),
                        (texts.CODE_TITLE, "title"), (texts.CODE_INSTRUCTION, "body")):
        blocks.append(ctx.label(msgid, role, keep=True))
    # Laid out ahead too, at the width they will have on screen (the holder
    # less the screen's padding, see citizen_frame): otherwise their first
    # appearance re-wraps and re-renders every text in them (the 32 code keys).
    width = ctx.act.holder.width - 2 * ctx.m.mm(5)
    for block in blocks:
        if block.parent is None and width > 0:
            block.width = width
            if hasattr(block, "do_layout"):
                block.do_layout()
    log.debug("prebuilt the entry blocks for %s in %.0f ms", ctx.lang,
              (utc_now() - started).total_seconds() * 1000)
