"""The vendor simulator panel: try the whole kiosk on a laptop.

A side panel (about 420 px wide, scrollable) that the kiosk app shows next
to the kiosk screen when it runs on simulated hardware. It plays everything
outside the screen: the cabinet's doors, the staff member's card, the
citizen's phone held up to the camera.

- **Locker bank**: the compartments laid out like the cabinet (columns and
  rows from the box file, row 1 at the bottom), each with its number, its
  door as the sensors report it and markers (forced / jammed / no ack).
  Tap a door to select it, then act on it: close, open (pull), force open
  (tamper: FORCED_OPEN unless the kiosk just unlocked it), jam the lock,
  stop the board acknowledging. Unplug/replug takes all boards offline.
- **Card reader**: present a card preset from the box file's ``[[cards]]``
  (staff cards in the demo box), a custom UID, or take the card off.
- **Camera**: the orders with a notice in the registry's notification folder,
  newest first, shown by reference and a masked code (``PBX1:K7M2…``); "Show"
  holds that QR code up to the camera. The camera only looks while a scan
  screen is open; otherwise the panel says "Camera is off — open the scan
  screen first". "Show garbage" holds up malformed codes in turn, for the
  error screens; a text field holds up anything else, e.g. an order
  reference as the document's barcode for a staff deposit.
- **Log**: the last actions and what came of them.

Keyboard shortcuts (the app forwards keys to :meth:`SimulatorPanel.handle_key`;
the same list is shown at the top of the panel):

    F5          present the first card preset (staff-1 in the demo box)
    Shift+F5    present the second card preset (four-eyes deposits)
    F6          take the card off the reader
    F7          show the newest notice's QR code to the camera
    Shift+F7    show a garbage code to the camera
    F8          close every open door
    F9          force the selected door open (tamper)

It is a developer and vendor tool, so it is English only. It shows nothing
beyond the box file and the notification folder already on the developer's
machine: references and masked codes, never a PIN (notices do not hold one).
It never calls the kiosk core; the simulated drivers report to the core on
their own, as real hardware does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget
from kivy.utils import escape_markup, get_hex_from_color

from hardware.interfaces import DoorState
from hardware.simulated import SimulatedCardReader, SimulatedCodeScanner, SimulatedLockerBank
from kiosk.ui.notices import Notice
from kiosk.ui.simulator_controls import DoorView, Outcome, SimulatorControls

log = logging.getLogger(__name__)

PANEL_WIDTH = 420
DEVICE_REFRESH_SECONDS = 0.25  # doors move when the kiosk unlocks them
NOTICE_REFRESH_SECONDS = 1.0
MAX_NOTICES = 8
MAX_LOG = 8

# Kivy's keycodes for F1-F12 (kivy.core.window.Keyboard.keycodes); spelled
# out so this module does not import kivy.core.window, which opens a window.
FUNCTION_KEYS = {282 + i: f"f{i + 1}" for i in range(12)}

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("F5", "first card"),
    ("Shift+F5", "second card"),
    ("F6", "remove card"),
    ("F7", "newest QR"),
    ("Shift+F7", "garbage QR"),
    ("F8", "close open doors"),
    ("F9", "force selected door"),
)

# Colours only help; every state is also written in the cell.
BACKGROUND = (0.13, 0.14, 0.16, 1)
DOOR_COLOURS = {
    DoorState.CLOSED: (0.30, 0.33, 0.38, 1),
    DoorState.OPEN: (0.16, 0.50, 0.28, 1),
    DoorState.UNKNOWN: (0.55, 0.45, 0.12, 1),
}
FAULT_COLOUR = (0.65, 0.16, 0.16, 1)
ERROR_TEXT = (1, 0.6, 0.55, 1)
OK_TEXT = (0.85, 0.88, 0.9, 1)

ROW = dp(40)
CELL_HEIGHT = dp(62)  # number, state and a marker line
GAP = dp(6)


class DoorCell(Button):
    """One compartment; a frame marks the selected one."""

    selected = BooleanProperty(False)
    fill = ListProperty(DOOR_COLOURS[DoorState.CLOSED])

    def __init__(self, number: int, **kwargs) -> None:
        super().__init__(background_normal="", background_down="", halign="center",
                         valign="middle", font_size=sp(12), **kwargs)
        self.number = number
        with self.canvas.after:
            self._frame_colour = Color(1, 0.85, 0.2, 0)
            self._frame = Line(width=dp(1.5))
        self.bind(pos=self._redraw, size=self._redraw, selected=self._redraw, fill=self._redraw)
        # Wrap to the width only: the text keeps its full height, so a cell
        # too small for its lines shows up as such (tests check it).
        self.bind(width=lambda *_: setattr(self, "text_size", (self.width, None)))
        self._redraw()

    def _redraw(self, *_: object) -> None:
        self.background_color = self.fill
        self._frame_colour.a = 1 if self.selected else 0
        inset = dp(2)
        self._frame.rectangle = (self.x + inset, self.y + inset,
                                 self.width - 2 * inset, self.height - 2 * inset)


class SimulatorPanel(BoxLayout):
    """Side panel with the simulated box's controls; see the module docstring."""

    def __init__(
        self,
        *,
        bank: SimulatedLockerBank,
        reader: SimulatedCardReader,
        scanner: SimulatedCodeScanner,
        notify_dir: Path,
        demo_hint: str = "",
        **kwargs,
    ) -> None:
        kwargs.setdefault("orientation", "vertical")
        kwargs.setdefault("size_hint_x", None)
        kwargs.setdefault("width", dp(PANEL_WIDTH))
        kwargs.setdefault("padding", GAP)
        kwargs.setdefault("spacing", GAP)
        super().__init__(**kwargs)
        self.controls = SimulatorControls(bank=bank, reader=reader, scanner=scanner,
                                          notify_dir=notify_dir)
        self.selected_door = min(self.controls.specs)
        self.log_lines: list[Outcome] = []
        self._shown_notices: list[Notice] | None = None
        with self.canvas.before:
            Color(*BACKGROUND)
            self._background = Rectangle()
        self.bind(pos=self._fit_background, size=self._fit_background)

        self.add_widget(_text("Simulator — vendor tool (simulated hardware)", bold=True,
                              font_size=sp(15)))
        if demo_hint:  # the first-run demo's staff login (kiosk.ui.first_run)
            self.add_widget(_text(demo_hint, bold=True, font_size=sp(13)))
        self.add_widget(_legend())
        scroll = ScrollView(do_scroll_x=False, bar_width=dp(6), scroll_type=["bars", "content"])
        body = BoxLayout(orientation="vertical", size_hint_y=None, spacing=GAP,
                         padding=(0, 0, dp(8), 0))  # room for the scroll bar
        body.bind(minimum_height=body.setter("height"))
        scroll.add_widget(body)
        self.add_widget(scroll)
        self.scroll = scroll

        self._build_doors(body)
        self._build_card_reader(body)
        self._build_camera(body)
        body.add_widget(_heading("Log (newest first)"))
        self.log_label = _text("", font_size=sp(12), markup=True)
        body.add_widget(self.log_label)

        self.refresh()
        self.refresh_notices()
        self._clock_events = [
            Clock.schedule_interval(_guarded(self.refresh), DEVICE_REFRESH_SECONDS),
            Clock.schedule_interval(_guarded(self.refresh_notices), NOTICE_REFRESH_SECONDS),
        ]

    # --- API for the app

    def handle_key(self, key: str | int, modifiers: Iterable[str] = ()) -> bool:
        """Runs the shortcut for `key`; True if it was one.

        `key` is Kivy's key name ("f5", as from ``Keyboard.keycode_to_string``)
        or the keycode ``Window.on_key_down`` passes (286); `modifiers` as
        Kivy gives them (["shift"]).
        """
        if isinstance(key, int):
            key = FUNCTION_KEYS.get(key, "")
        shift = "shift" in set(modifiers or ())
        actions: dict[tuple[str, bool], Callable[[], Outcome]] = {
            ("f5", False): lambda: self.controls.present_first_preset(0),
            ("f5", True): lambda: self.controls.present_first_preset(1),
            ("f6", False): self.controls.remove_card,
            ("f7", False): self.controls.show_newest,
            ("f7", True): self.controls.show_garbage,
            ("f8", False): self.controls.close_all_open,
            ("f9", False): lambda: self.controls.force_door(self.selected_door),
        }
        action = actions.get((str(key).lower(), shift))
        if action is None:
            return False
        self._run(action)
        return True

    def close(self) -> None:
        """Stops the refresh timers and the door-event subscription."""
        for event in self._clock_events:
            event.cancel()
        self._clock_events = []
        self.controls.close()

    # --- Refreshing

    def refresh(self) -> None:
        """Redraws doors and device status from the simulated devices."""
        views = {view.number: view for view in self.controls.doors()}
        for number, view in views.items():
            self._show_door(self.door_cells[number], view)
        selected = views[self.selected_door]
        _set(self.selected_label, "text",
             f"Door {selected.number} (size {selected.size}, column {selected.column}, "
             f"row {selected.row}): " + ", ".join([selected.state_text, *selected.markers]))
        _set(self.jam_button, "text", "Unjam lock" if selected.jammed else "Jam lock")
        _set(self.no_ack_button, "text", "Ack again" if selected.no_ack else "No ack")
        _set(self.plug_button, "text",
             "Replug lock boards" if self.controls.offline else "Unplug lock boards")
        _set(self.bank_label, "text", self.controls.bank_status())
        _set(self.card_label, "text", self.controls.card_status())
        camera = self.controls.camera_status()
        _set(self.camera_label, "text", camera)
        _set(self.camera_label, "color", OK_TEXT if self.controls.scanner.running else ERROR_TEXT)

    def refresh_notices(self) -> None:
        """Re-reads the notification folder; rebuilds the list only when it changed."""
        notices = self.controls.list_notices()[:MAX_NOTICES]
        if notices == self._shown_notices:
            return
        self._shown_notices = notices
        self.notice_list.clear_widgets()
        if not notices:
            self.notice_list.add_widget(_text(
                f"No notices in {self.controls.notices.directory} yet. They appear when "
                "staff deposit an order.", font_size=sp(12)))
            return
        for notice in notices:
            row = _row()
            row.add_widget(_text(f"{notice.reference}   {notice.masked_payload}",
                                 font_size=sp(13), height=ROW))
            show = _button("Show", lambda n=notice: self.controls.show_notice(n), self,
                           size_hint_x=None, width=dp(80))
            show.notice = notice
            row.add_widget(show)
            self.notice_list.add_widget(row)

    # --- Building

    def _build_doors(self, body: BoxLayout) -> None:
        body.add_widget(_heading(f"Locker bank: {self.controls.bank.box.name}"))
        columns, rows = self.controls.grid_size()
        grid = GridLayout(cols=columns, spacing=dp(3), size_hint_y=None,
                          height=rows * CELL_HEIGHT + (rows - 1) * dp(3))
        places = {(s.column, s.row): s.number for s in self.controls.specs.values()}
        self.door_cells: dict[int, DoorCell] = {}
        for row in range(rows, 0, -1):  # the top row first; row 1 is at the floor
            for column in range(1, columns + 1):
                number = places.get((column, row))
                if number is None:
                    grid.add_widget(Widget())
                    continue
                cell = DoorCell(number)
                cell.bind(on_release=lambda c: self.select_door(c.number))
                self.door_cells[number] = cell
                grid.add_widget(cell)
        self.door_cells[self.selected_door].selected = True
        body.add_widget(grid)

        self.selected_label = _text("", font_size=sp(13))
        body.add_widget(self.selected_label)
        door = lambda action: (lambda: action(self.selected_door))  # noqa: E731
        c = self.controls
        self.close_button, self.open_button, self.force_button = _button_row(body, self, [
            ("Close", door(c.close_door)),
            ("Open (pull)", door(c.open_door)),
            ("Force open", door(c.force_door)),
        ])
        self.jam_button, self.no_ack_button, self.close_all_button = _button_row(body, self, [
            ("Jam lock", door(c.toggle_jam)),
            ("No ack", door(c.toggle_no_ack)),
            ("Close all open", c.close_all_open),
        ])
        (self.plug_button,) = _button_row(body, self, [
            ("Unplug lock boards", lambda: c.set_offline(not c.offline)),
        ])
        self.bank_label = _text("", font_size=sp(12))
        body.add_widget(self.bank_label)

    def _build_card_reader(self, body: BoxLayout) -> None:
        body.add_widget(_heading("Card reader"))
        self.card_label = _text("", font_size=sp(13))
        body.add_widget(self.card_label)
        presets = self.controls.card_presets()
        self.preset_buttons: dict[str, Button] = {}
        if presets:
            grid = GridLayout(cols=3, spacing=GAP, size_hint_y=None,
                              height=-(-len(presets) // 3) * (ROW + GAP) - GAP)
            for name in presets:
                button = _button(f"Card {name}", lambda n=name: self.controls.present_preset(n),
                                 self)
                self.preset_buttons[name] = button
                grid.add_widget(button)
            body.add_widget(grid)
        row, self.uid_input, self.present_uid_button = _input_row(
            body, self, "custom UID (hex)", "Present", self.controls.present_uid)
        self.remove_card_button = _button("Remove", self.controls.remove_card, self,
                                          size_hint_x=None, width=dp(90))
        row.add_widget(self.remove_card_button)

    def _build_camera(self, body: BoxLayout) -> None:
        body.add_widget(_heading("Camera: QR codes from the notification folder"))
        self.camera_label = _text("", font_size=sp(13))
        body.add_widget(self.camera_label)
        self.notice_list = BoxLayout(orientation="vertical", size_hint_y=None, spacing=GAP)
        self.notice_list.bind(minimum_height=self.notice_list.setter("height"))
        body.add_widget(self.notice_list)
        self.show_newest_button, self.garbage_button = _button_row(body, self, [
            ("Show newest", self.controls.show_newest),
            ("Show garbage", self.controls.show_garbage),
        ])
        _, self.code_input, self.show_text_button = _input_row(
            body, self, "any text, e.g. an order reference", "Show text",
            self.controls.show_text)

    # --- Acting

    def select_door(self, number: int) -> None:
        self.door_cells[self.selected_door].selected = False
        self.selected_door = number
        self.door_cells[number].selected = True
        self.refresh()

    def _run(self, action: Callable[[], Outcome]) -> Outcome:
        outcome = action()
        self.log_lines = [outcome, *self.log_lines][:MAX_LOG]
        # Errors stand out in colour and say ERROR in words.
        self.log_label.text = "\n".join(
            f"[color={get_hex_from_color(OK_TEXT)}]{escape_markup(o.message)}[/color]" if o.ok
            else f"[color={get_hex_from_color(ERROR_TEXT)}]ERROR: {escape_markup(o.message)}[/color]"
            for o in self.log_lines)
        self.refresh()
        return outcome

    def _show_door(self, cell: DoorCell, view: DoorView) -> None:
        _set(cell, "text", view.label)
        fill = FAULT_COLOUR if view.markers else DOOR_COLOURS[view.sensed]
        _set(cell, "fill", list(fill))

    def _fit_background(self, *_: object) -> None:
        self._background.pos = self.pos
        self._background.size = self.size


# --- Small widget helpers ------------------------------------------------------------


def _guarded(refresh: Callable[[], None]) -> Callable[[float], None]:
    """A Clock callback that logs a failed refresh instead of raising.

    An exception in a Clock callback ends the Kivy app, and the panel runs
    inside the kiosk app: a developer tool must not take the kiosk down.
    """
    failed = False

    def tick(_dt: float) -> None:
        nonlocal failed
        try:
            refresh()
            failed = False
        except Exception:
            if not failed:  # once per run of failures, not four times a second
                log.exception("simulator panel: %s failed", refresh.__name__)
            failed = True

    return tick


def _set(widget: Widget, name: str, value: object) -> None:
    # Only assign on change: the refresh runs four times a second, and every
    # assignment to a Label re-renders its texture.
    if getattr(widget, name) != value:
        setattr(widget, name, value)


def _text(text: str, *, height: float | None = None, **kwargs) -> Label:
    """A label that wraps to its width and grows to its text (or has `height`)."""
    label = Label(text=text, halign="left", valign="middle", color=OK_TEXT,
                  size_hint_y=None, **kwargs)
    label.bind(width=lambda lbl, w: setattr(lbl, "text_size", (w, None)))
    if height is None:
        label.bind(texture_size=lambda lbl, size: setattr(lbl, "height", size[1]))
    else:
        label.height = height
    return label


def _heading(text: str) -> Label:
    return _text(text, bold=True, font_size=sp(14))


def _legend() -> Label:
    return _text("Keys: " + "   ".join(f"{key} {what}" for key, what in SHORTCUTS),
                 font_size=sp(12))


def _row() -> BoxLayout:
    return BoxLayout(orientation="horizontal", size_hint_y=None, height=ROW, spacing=GAP)


def _button(text: str, action: Callable[[], Outcome], panel: SimulatorPanel,
            **kwargs) -> Button:
    button = Button(text=text, font_size=sp(13), **kwargs)
    button.bind(on_release=lambda _b: panel._run(action))
    return button


def _input_row(body: BoxLayout, panel: SimulatorPanel, hint: str, label: str,
               action: Callable[[str], Outcome]) -> tuple[BoxLayout, TextInput, Button]:
    """A text field and the button that acts on its text (Enter in the field does too)."""
    row = _row()
    field = TextInput(hint_text=hint, multiline=False, write_tab=False, font_size=sp(14))
    button = _button(label, lambda: action(field.text), panel, size_hint_x=None, width=dp(90))
    field.bind(on_text_validate=lambda *_: button.dispatch("on_release"))
    row.add_widget(field)
    row.add_widget(button)
    body.add_widget(row)
    return row, field, button


def _button_row(body: BoxLayout, panel: SimulatorPanel,
                buttons: list[tuple[str, Callable[[], Outcome]]]) -> list[Button]:
    row = _row()
    made = [_button(text, action, panel) for text, action in buttons]
    for button in made:
        row.add_widget(button)
    body.add_widget(row)
    return made
