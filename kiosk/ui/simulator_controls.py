"""What the simulator panel can do to the simulated hardware, without Kivy.

The panel (``simulator_panel``) is a thin view over this class: every
button and shortcut calls one method here, and every method returns an
:class:`Outcome` (a one-line English message for the panel's log) instead of
raising, because a developer tool that dies on a bad click is no use.

It talks only to the simulated drivers' test controls, never to the kiosk
core: the drivers report to the core on their own, exactly as real hardware
would. The driver calls are quick (they only queue events for the core), so
calling them on the Kivy thread does not block it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardware.interfaces import DoorEvent, DoorEventKind, DoorState, HealthStatus
from hardware.simulated import SimulatedCardReader, SimulatedCodeScanner, SimulatedLockerBank
from kiosk.ui.notices import Notice, NoticeFolder

log = logging.getLogger(__name__)

CAMERA_OFF = "Camera is off — open the scan screen first"

# Held up by "show garbage", one after the other, so each press tries
# another of the kiosk's error paths.
GARBAGE_PAYLOADS: tuple[tuple[str, bytes], ...] = (
    ("a malformed pickup code", b"PBX1:K7M2-9QXD-4"),
    ("a future QR version", b"PBX9:K7M29QXD45"),
    ("a web address", b"https://example.org/not-a-pickup-code"),
    ("binary data", bytes(range(0xF0, 0x100))),
)

# ISO/IEC 14443 UIDs are 4, 7 or 10 bytes long.
UID_LENGTHS = (4, 7, 10)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


@dataclass(frozen=True)
class DoorView:
    """One compartment as the panel draws it."""

    number: int
    column: int
    row: int
    size: str
    sensed: DoorState  # what the kiosk's sensors report (UNKNOWN offline / without sensors)
    actual: DoorState  # where the simulated door really is
    jammed: bool
    no_ack: bool
    forced: bool

    @property
    def markers(self) -> list[str]:
        return [name for name, on in (("forced", self.forced), ("jammed", self.jammed),
                                      ("no ack", self.no_ack)) if on]

    @property
    def state_text(self) -> str:
        if self.sensed is DoorState.UNKNOWN:
            # The sensors cannot tell; the simulator knows, and says so.
            return f"? ({self.actual.value})"
        return self.sensed.value

    @property
    def label(self) -> str:
        return "\n".join([str(self.number), self.state_text, *self.markers])


class SimulatorControls:
    """Test controls of one simulated box, as panel actions."""

    def __init__(
        self,
        *,
        bank: SimulatedLockerBank,
        reader: SimulatedCardReader,
        scanner: SimulatedCodeScanner,
        notify_dir: Path,
    ) -> None:
        self.bank = bank
        self.reader = reader
        self.scanner = scanner
        self.notices = NoticeFolder(notify_dir)
        self.specs = {spec.number: spec for spec in bank.layout()}
        # The bank keeps its fault sets to itself; the panel is the only
        # place they change while the kiosk runs, so it tracks them from the
        # box file's starting faults.
        self._jammed = set(bank.box.faults.jammed)
        self._no_ack = set(bank.box.faults.no_ack)
        self.offline = bank.box.faults.offline
        self._card_uid: bytes | None = None
        self._garbage = 0
        # Door events arrive on whichever thread moved the door (the core's
        # for unlocks); the lock keeps the forced set consistent.
        self._forced: set[int] = set()
        self._forced_lock = threading.Lock()
        self._unsubscribe = bank.subscribe(self._on_door_event)

    def close(self) -> None:
        self._unsubscribe()

    # --- Reading

    def grid_size(self) -> tuple[int, int]:
        """(columns, rows) of the cabinet."""
        specs = self.specs.values()
        return max(s.column for s in specs), max(s.row for s in specs)

    def doors(self) -> list[DoorView]:
        actual = self.bank.door_states()
        with self._forced_lock:
            forced = set(self._forced)
        return [
            DoorView(
                spec.number, spec.column, spec.row, spec.size,
                sensed=self.bank.door_state(spec.number), actual=actual[spec.number],
                jammed=spec.number in self._jammed, no_ack=spec.number in self._no_ack,
                forced=spec.number in forced,
            )
            for spec in self.specs.values()
        ]

    def bank_status(self) -> str:
        parts = []
        for health in self.bank.health():
            text = f"{health.device}: {health.status.value}"
            if health.status is not HealthStatus.OK and health.detail:
                text += f" ({health.detail})"
            parts.append(text)
        return "; ".join(parts)

    def card_status(self) -> str:
        if not self.reader.card_present:
            self._card_uid = None  # taken off by someone else (a test, the CLI)
            return "No card on the reader"
        if self._card_uid is None:
            return "A card is on the reader"
        return f"Card {self._card_uid.hex().upper()} is on the reader"

    def camera_status(self) -> str:
        return "Camera is running (scan screen open)" if self.scanner.running else CAMERA_OFF

    def card_presets(self) -> list[str]:
        return list(self.reader.presets)

    # --- Doors

    def close_door(self, number: int) -> Outcome:
        return self._door_action(number, f"Door {number} pushed shut",
                                 lambda: self.bank.close_door(number))

    def open_door(self, number: int) -> Outcome:
        def pull() -> str | None:
            if not self.bank.open_door(number):
                return f"Door {number} is jammed and stays shut"
            return None

        return self._door_action(number, f"Door {number} pulled open", pull)

    def force_door(self, number: int) -> Outcome:
        return self._door_action(number, f"Door {number} forced open (tamper)",
                                 lambda: self.bank.force_door(number))

    def toggle_jam(self, number: int) -> Outcome:
        jammed = number not in self._jammed

        def jam() -> None:
            self.bank.jam_door(number, jammed)
            (self._jammed.add if jammed else self._jammed.discard)(number)

        text = "jammed: unlocks are acknowledged, the door stays shut" if jammed else "unjammed"
        return self._door_action(number, f"Lock {number} {text}", jam)

    def toggle_no_ack(self, number: int) -> Outcome:
        no_ack = number not in self._no_ack

        def set_no_ack() -> None:
            self.bank.set_no_ack(number, no_ack)
            (self._no_ack.add if no_ack else self._no_ack.discard)(number)

        text = "stops acknowledging unlocks" if no_ack else "acknowledges unlocks again"
        return self._door_action(number, f"Channel of door {number} {text}", set_no_ack)

    def close_all_open(self) -> Outcome:
        opened = [n for n, state in self.bank.door_states().items() if state is DoorState.OPEN]
        if not opened:
            return Outcome(True, "No door is open")
        for number in opened:
            outcome = self.close_door(number)
            if not outcome.ok:
                return outcome
        return Outcome(True, f"Closed door{'s' if len(opened) > 1 else ''} "
                             f"{', '.join(map(str, opened))}")

    def set_offline(self, offline: bool) -> Outcome:
        def plug() -> None:
            self.bank.set_offline(offline)
            self.offline = offline

        text = "Lock boards unplugged: unlocks fail" if offline else "Lock boards plugged back in"
        return self._attempt(text, plug)

    # --- Card reader

    def present_preset(self, name: str) -> Outcome:
        preset = self.reader.presets.get(name)
        if preset is None:
            known = ", ".join(self.reader.presets) or "none"
            return Outcome(False, f"No card preset {name!r} in the box file (it has: {known})")

        def present() -> None:
            self.reader.present_preset(name)
            self._card_uid = preset.uid

        return self._attempt(f"Card '{name}' ({preset.uid.hex().upper()}) presented", present)

    def present_first_preset(self, index: int = 0) -> Outcome:
        names = self.card_presets()
        if index >= len(names):
            return Outcome(False, f"The box file has only {len(names)} card preset(s); "
                                  "add [[cards]] entries to it")
        return self.present_preset(names[index])

    def present_uid(self, text: str) -> Outcome:
        cleaned = "".join(text.split()).replace(":", "")
        try:
            uid = bytes.fromhex(cleaned)
        except ValueError:
            return Outcome(False, "A card UID is hex digits, e.g. 04A1B2C3D4E5F6")
        if len(uid) not in UID_LENGTHS:
            return Outcome(False, f"A card UID has 4, 7 or 10 bytes; this one has {len(uid)}")

        def present() -> None:
            self.reader.present_card(uid)
            self._card_uid = uid

        return self._attempt(f"Card {uid.hex().upper()} presented", present)

    def remove_card(self) -> Outcome:
        if not self.reader.card_present:
            return Outcome(True, "No card on the reader")

        def remove() -> None:
            self.reader.remove_card()
            self._card_uid = None

        return self._attempt("Card removed", remove)

    # --- Camera

    def list_notices(self) -> list[Notice]:
        return self.notices.notices()

    def show_notice(self, notice: Notice) -> Outcome:
        return self._show(notice.payload.encode("ascii"),
                          f"QR code of {notice.reference} ({notice.masked_payload})")

    def show_newest(self) -> Outcome:
        notices = self.list_notices()
        if not notices:
            return Outcome(False, f"No notices in {self.notices.directory} yet: "
                                  "deposit an order first")
        return self.show_notice(notices[0])

    def show_garbage(self) -> Outcome:
        what, payload = GARBAGE_PAYLOADS[self._garbage % len(GARBAGE_PAYLOADS)]
        self._garbage += 1
        return self._show(payload, f"Garbage QR code ({what})")

    def show_text(self, text: str) -> Outcome:
        text = text.strip()
        if not text:
            return Outcome(False, "Type what the code says first (e.g. an order reference)")
        return self._show(text.encode("utf-8"), f"Code '{text}'")

    # --- Inside

    def _show(self, payload: bytes, what: str) -> Outcome:
        outcome: list[bool] = []
        result = self._attempt(f"{what} shown to the camera",
                               lambda: outcome.append(self.scanner.show(payload)))
        if result.ok and not outcome[0]:
            return Outcome(False, f"{CAMERA_OFF} ({what} not seen)")
        return result

    def _door_action(self, number: int, done: str, action: Callable[[], str | None]) -> Outcome:
        if number not in self.specs:
            return Outcome(False, f"There is no door {number} in this cabinet")
        return self._attempt(done, action)

    def _attempt(self, done: str, action: Callable[[], str | None]) -> Outcome:
        try:
            refusal = action()
        except Exception as exc:
            # A device error, or a kiosk subscriber that raised while the
            # simulated driver delivered the event: show it, keep the panel.
            log.exception("simulator action failed: %s", done)
            return Outcome(False, f"{done}: failed ({type(exc).__name__}: {exc})")
        if isinstance(refusal, str):
            return Outcome(False, refusal)
        return Outcome(True, done)

    def _on_door_event(self, event: DoorEvent) -> None:
        with self._forced_lock:
            if event.kind is DoorEventKind.FORCED_OPEN:
                self._forced.add(event.compartment)
            elif event.kind is DoorEventKind.CLOSED:
                self._forced.discard(event.compartment)
