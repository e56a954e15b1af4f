"""What the kiosk may ask of the hardware: events and driver protocols.

Every driver, real or simulated, implements one of the protocols below:
`LockerBank`, `CardReader`, `CodeScanner` or `Indicator`. The kiosk core
imports only this module and `hardware.errors`; it never learns which driver
it talks to (see `hardware.drivers` for how a driver is chosen).

Threads
-------
Callbacks given to ``subscribe()`` may be called from any thread: real
drivers poll a serial bus or wait on pcscd in their own thread. A consumer
must not do real work in a callback; it should hand the event to its own
thread or queue (in the Kivy UI: ``Clock.schedule_once``). Events are frozen
dataclasses, so they can cross threads safely.

The simulated drivers call back synchronously, in the thread that caused the
event, before the causing call returns. That keeps tests deterministic, and
it means an OPENED event may arrive *before* ``unlock()`` has returned its
`UnlockResult`. A consumer must accept both orders.

Unsubscribing is idempotent: calling the returned function twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

# Plain strings that match kiosk.domain.compartment.Size and HeightClass.
# The hardware layer must not import the kiosk, so it repeats the values.
SIZES = ("S", "M", "L")
HEIGHT_CLASSES = ("low", "standard", "high")


# --- Locker bank -------------------------------------------------------------


class DoorState(str, Enum):
    OPEN = "open"
    CLOSED = "closed"
    # No sensor, the board does not answer, or the sensor was never read.
    UNKNOWN = "unknown"


class DoorEventKind(str, Enum):
    # The door opened within the unlock window after an unlock command.
    OPENED = "opened"
    CLOSED = "closed"
    # The door opened with no recent unlock command: treat it as tampering.
    FORCED_OPEN = "forced_open"
    # An unlock was commanded but the door still read closed when the unlock
    # window ran out (jammed lock, dead channel). Only banks with sensors.
    UNLOCK_FAILED = "unlock_failed"


@dataclass(frozen=True)
class DoorEvent:
    compartment: int
    kind: DoorEventKind
    detail: str = ""


@dataclass(frozen=True)
class UnlockResult:
    """The board's answer to an unlock command.

    `acknowledged` only says the board took the command. Whether the door
    actually opened arrives later, as a `DoorEvent` (banks with sensors).
    """

    compartment: int
    acknowledged: bool
    detail: str = ""


@dataclass(frozen=True)
class CompartmentSpec:
    """Where a compartment is and how big it is, as the box description says.

    `size` is one of `SIZES`, `height_class` one of `HEIGHT_CLASSES`. Columns
    count from the left and rows from the floor, both starting at 1.
    """

    number: int
    size: str
    column: int
    row: int
    height_class: str


class HealthStatus(str, Enum):
    OK = "ok"
    DEGRADED = "degraded"  # works, but something needs a look (a failing channel)
    FAILED = "failed"  # does not answer


@dataclass(frozen=True)
class DeviceHealth:
    device: str  # a name staff can find in the cabinet, e.g. "lock board A"
    status: HealthStatus
    detail: str = ""


DoorCallback = Callable[[DoorEvent], None]
Unsubscribe = Callable[[], None]


@runtime_checkable
class LockerBank(Protocol):
    """All compartment locks of one box, on one or more lock boards."""

    @property
    def has_door_sensors(self) -> bool:
        """True if every compartment reports whether its door is open.

        Without sensors (a USB relay board, say), `door_state()` returns
        UNKNOWN and no door events are ever sent; staff confirm on screen.
        """
        ...

    def layout(self) -> list[CompartmentSpec]:
        """Every compartment of the bank, ordered by number."""
        ...

    def unlock(self, compartment: int) -> UnlockResult:
        """Send the unlock pulse and wait for the board's acknowledgement.

        Blocks for up to about a second on real boards. The pulse is sent
        even when the door already reads open, because sensor cables fail.
        Raises `UnknownCompartment` for a number not in `layout()` and
        `DeviceUnavailable` if the board cannot be reached.
        """
        ...

    def door_state(self, compartment: int) -> DoorState:
        """The door as the sensor reads it now; UNKNOWN without a sensor."""
        ...

    def subscribe(self, callback: DoorCallback) -> Unsubscribe:
        """Call `callback` for every door event; returns the unsubscribe function."""
        ...

    def health(self) -> list[DeviceHealth]:
        """One entry per lock board."""
        ...

    def close(self) -> None:
        """Release the port or device. Idempotent."""
        ...


# --- Card reader -------------------------------------------------------------


class CardEventKind(str, Enum):
    PRESENTED = "presented"
    REMOVED = "removed"


@dataclass(frozen=True)
class CardEvent:
    """A card arrived at or left a reader.

    `uid` is the contactless UID (answer to ``FF CA 00 00 00``), or None when
    the card has none. A REMOVED event repeats the uid and ATR of the card
    that left. `german_eid` is True when the card answered like a German eID
    card (EF.CardAccess read without PACE); no personal data is ever read.
    """

    kind: CardEventKind
    reader: str
    uid: bytes | None
    atr: bytes
    german_eid: bool = False


CardCallback = Callable[[CardEvent], None]


@runtime_checkable
class CardReader(Protocol):
    """A smartcard reader, contact or contactless (PC/SC on real boxes)."""

    def subscribe(self, callback: CardCallback) -> Unsubscribe: ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send a command APDU to the card on the reader; returns data + SW1 SW2.

        Raises `CardError` when no card is present and `DeviceUnavailable`
        when the reader (or pcscd) is gone.
        """
        ...

    def health(self) -> list[DeviceHealth]: ...

    def close(self) -> None: ...


# --- Code scanner ------------------------------------------------------------


@dataclass(frozen=True)
class ScanEvent:
    """A decoded QR code or barcode. `source` names the camera or scanner."""

    payload: bytes
    source: str


ScanCallback = Callable[[ScanEvent], None]


@runtime_checkable
class CodeScanner(Protocol):
    """A camera reading QR codes, or a barcode scanner.

    The camera runs only between `start()` and `stop()` (while a scan screen
    is visible), so it does not watch the lobby and a code shown earlier is
    not delivered later. Both are idempotent.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def subscribe(self, callback: ScanCallback) -> Unsubscribe: ...

    def health(self) -> list[DeviceHealth]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PreviewFrame:
    """One camera picture for the UI's live preview.

    `rgb` holds width*height*3 bytes, rows from the top. `sequence` grows with
    every new frame, so a consumer can skip a frame it has already drawn.
    """

    width: int
    height: int
    rgb: bytes
    sequence: int


@runtime_checkable
class PreviewSource(Protocol):
    """Optional: a code scanner with a camera the UI can show live."""

    def preview_frame(self) -> PreviewFrame | None:
        """The newest frame, or None while stopped or before the first one."""
        ...


# --- Indicator ---------------------------------------------------------------


class Signal(str, Enum):
    """What an indicator (LED ring, lamp, buzzer) can show.

    `Indicator.show` takes the plain string too, e.g. ``show("door_open")``.
    """

    IDLE = "idle"  # ready for the next person
    ATTENTION = "attention"  # look here: insert a card, take your document
    DOOR_OPEN = "door_open"  # a compartment is open; light it, or beep until shut
    ERROR = "error"  # something went wrong; call staff
    OFF = "off"


SIGNALS = frozenset(s.value for s in Signal)


@runtime_checkable
class Indicator(Protocol):
    """An optional LED or buzzer. A box may have none."""

    def show(self, signal: str) -> None:
        """Switch to `signal`, one of `SIGNALS`. Raises ValueError for others."""
        ...

    def health(self) -> list[DeviceHealth]: ...

    def close(self) -> None: ...
