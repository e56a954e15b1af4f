"""Box descriptions: a cabinet's compartments, lock boards and test faults.

A box description is a TOML file, so a vendor can model their own cabinet
without writing code (the idea comes from pyvisa-sim's device files). The
bundled ones live in ``hardware/boxes/``; ``demo.toml`` documents every key
in its header. In short::

    format = 1                      # required; this module reads format 1
    name = "Demo cabinet"

    [[boards]]                      # one entry per lock board, at least one
    name = "A"                      # how staff find it in the cabinet
    channels = 16                   # locks on the board (default 16)
    door_sensors = true             # feedback switches (default true)
    address = 1                     # bus address, for real drivers (optional)
    serial = "QAAMZ"                # USB relay boards: the board's serial (optional)
    polarity = "inverted"           # door sensors read the other way round (optional;
                                    # default: the driver's `polarity` option, "normal")
    model = "Kerong KR-CU16"        # free text (optional)

    [[compartments]]                # one entry per compartment, at least one
    number = 1                      # what the kiosk and staff call it
    size = "L"                      # "S", "M" or "L"
    column = 1                      # from the left, from 1
    row = 1                         # from the floor, from 1
    height_class = "low"            # "low", "standard" (default) or "high"
    board = "A"                     # may be left out if there is one board
    channel = 1                     # lock channel on that board, from 1

    [faults]                        # simulator only
    jammed = [7]                    # board acknowledges, door never opens
    no_ack = [12]                   # board never acknowledges, door stays shut
    offline = false                 # the bank starts unplugged

    [[cards]]                       # simulator only: cards to present by name
    name = "staff-1"
    uid = "04A1B2C3D4E5F6"
    atr = "3B8180018080"            # optional
    apdu = { "00A4040007D2760000850101" = "9000" }   # command -> reply, hex
    german_eid = false              # true: reported as a German eID card

``compartments`` may also be written as an array of inline tables, one line
per compartment; TOML treats both forms alike.

Layout and wiring are useful to real drivers too: they need to know which
channel of which board opens compartment 7. `faults` and `cards` only affect
the simulated drivers.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hardware.errors import BoxDescriptionError, UnknownCompartment
from hardware.interfaces import CompartmentSpec
from hardware.options import validate

FORMAT = 1
BOXES_DIR = Path(__file__).parent / "boxes"
DEMO_BOX = BOXES_DIR / "demo.toml"


# --- What a loaded description looks like -------------------------------------


@dataclass(frozen=True)
class BoardSpec:
    name: str
    channels: int
    door_sensors: bool
    address: int | None = None
    model: str = ""
    serial: str = ""  # tells boards of the same kind apart (USB relay boards)
    # How the door sensors read: "normal" (a set bit / latched hook = closed)
    # or "inverted" (normally-open switches). None: the driver's default.
    polarity: str | None = None


@dataclass(frozen=True)
class Wiring:
    """Which lock opens a compartment."""

    board: str
    channel: int


@dataclass(frozen=True)
class Faults:
    jammed: frozenset[int] = frozenset()
    no_ack: frozenset[int] = frozenset()
    offline: bool = False


@dataclass(frozen=True)
class CardPreset:
    name: str
    uid: bytes
    atr: bytes | None
    apdus: Mapping[bytes, bytes]  # command APDU -> response (data + SW1 SW2)
    german_eid: bool = False  # what a real reader learns from EF.CardAccess


@dataclass(frozen=True)
class BoxDescription:
    source: str  # file path, or whatever the caller named the data
    name: str
    boards: tuple[BoardSpec, ...]
    compartments: tuple[CompartmentSpec, ...]  # ordered by number
    wiring: Mapping[int, Wiring]  # compartment number -> lock
    faults: Faults
    cards: tuple[CardPreset, ...]

    @property
    def has_door_sensors(self) -> bool:
        # The LockerBank protocol reports sensors for the whole bank; a
        # compartment without one makes the whole bank sensorless for the
        # kiosk, which then asks staff to confirm doors on screen.
        return all(board.door_sensors for board in self.boards)

    def compartment(self, number: int) -> CompartmentSpec | None:
        for spec in self.compartments:
            if spec.number == number:
                return spec
        return None

    def lock_for(self, compartment: int) -> Wiring:
        """The board and channel that open `compartment`; UnknownCompartment if none."""
        wiring = self.wiring.get(compartment)
        if wiring is None:
            numbers = [spec.number for spec in self.compartments]
            raise UnknownCompartment(
                f"compartment {compartment!r} is not in this locker bank "
                f"(it has {min(numbers)} to {max(numbers)})"
            )
        return wiring


# --- The file format, as pydantic models ---------------------------------------

# strict: TOML has real types, so "3" where a number belongs is a mistake
# worth reporting rather than quietly converting.
_STRICT = ConfigDict(extra="forbid", strict=True)


class _Board(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    channels: int = Field(16, ge=1, le=256)
    door_sensors: bool = True
    address: int | None = Field(None, ge=0)
    model: str = ""
    serial: str = ""
    polarity: Literal["normal", "inverted"] | None = None


class _Compartment(BaseModel):
    model_config = _STRICT
    number: int = Field(ge=1, le=2**32 - 1)  # uint32 in the registry API
    size: Literal["S", "M", "L"]
    column: int = Field(ge=1)
    row: int = Field(ge=1)
    height_class: Literal["low", "standard", "high"] = "standard"
    board: str | None = None
    channel: int = Field(ge=1)


class _Faults(BaseModel):
    model_config = _STRICT
    jammed: list[int] = []
    no_ack: list[int] = []
    offline: bool = False


def _hex(value: str) -> bytes:
    try:
        return bytes.fromhex(value.replace(" ", ""))
    except ValueError:
        raise ValueError("a hex string such as '04A1B2C3'") from None


class _Card(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1)
    uid: str
    atr: str | None = None
    apdu: dict[str, str] = {}
    german_eid: bool = False

    @field_validator("uid", "atr")
    @classmethod
    def _check_hex(cls, value: str | None) -> str | None:
        if value is not None:
            _hex(value)
        return value

    @field_validator("apdu")
    @classmethod
    def _check_apdus(cls, value: dict[str, str]) -> dict[str, str]:
        for command, reply in value.items():
            try:
                _hex(command)
                _hex(reply)
            except ValueError:
                raise ValueError(
                    f"hex strings, such as '00B0000000' = '9000'; got {command!r} = {reply!r}"
                ) from None
            if len(_hex(reply)) < 2:
                raise ValueError(
                    f"a reply ending in two status bytes, such as '9000', got {reply!r}"
                )
        return value


class _Box(BaseModel):
    model_config = _STRICT
    format: int
    name: str = ""
    boards: list[_Board] = Field(min_length=1)
    compartments: list[_Compartment] = Field(min_length=1)
    faults: _Faults = _Faults()
    cards: list[_Card] = []

    @field_validator("format")
    @classmethod
    def _check_format(cls, value: int) -> int:
        if value != FORMAT:
            raise ValueError(f"{FORMAT} (this version reads box format {FORMAT} only)")
        return value


# --- Loading --------------------------------------------------------------------


def bundled_boxes() -> list[str]:
    """Names of the box descriptions shipped with the package, e.g. 'demo'."""
    return sorted(path.stem for path in BOXES_DIR.glob("*.toml"))


def resolve_box(ref: str | Path) -> Path:
    """A path to an existing box file, or a bundled box's name ('demo')."""
    path = Path(ref)
    if path.is_file():
        return path
    bundled = BOXES_DIR / f"{ref}.toml"
    if isinstance(ref, str) and "/" not in ref and bundled.is_file():
        return bundled
    # The whole path in the message: the value itself may be shortened.
    missing = f" ({path.resolve()} does not exist)" if "/" in str(ref) or path.suffix else ""
    raise BoxDescriptionError(
        "box",
        str(ref),
        f"a path to a box TOML file{missing}, or a bundled box: " + ", ".join(bundled_boxes()),
    )


def box_relative_to(ref: str, config_dir: Path) -> str:
    """The one rule for a `box = ...` option read from a config file.

    A bundled box's name ("demo") stays a name; anything else is a path, and
    a relative path is relative to the directory of the config file that
    names it, never to the current directory of whoever started the program
    (`kiosk run` from / and from the config's folder must read the same box).
    """
    path = Path(ref)
    if path.is_absolute():
        return ref
    if "/" not in ref and not ref.endswith(".toml") and (BOXES_DIR / f"{ref}.toml").is_file():
        return ref
    return str(config_dir / path)


def load_box(ref: str | Path = DEMO_BOX) -> BoxDescription:
    """Read and check a box description; see the module docstring for the format."""
    path = resolve_box(ref)
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BoxDescriptionError(
            None, None, "a text TOML file (it is not UTF-8 text)", source=source
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise BoxDescriptionError(None, None, f"valid TOML ({exc})", source=source) from None
    except OSError as exc:
        raise BoxDescriptionError(None, None, f"a readable file ({exc})", source=source) from None
    return box_from_dict(data, source=source)


def box_from_dict(data: Mapping[str, Any], *, source: str = "<box>") -> BoxDescription:
    """Check already-parsed TOML data; `source` names it in error messages."""
    raw = validate(_Box, data, source=source, error=BoxDescriptionError)

    def fail(key: str, value: object, expected: str) -> BoxDescriptionError:
        return BoxDescriptionError(key, value, expected, source=source)

    boards: dict[str, BoardSpec] = {}
    for i, board in enumerate(raw.boards):
        if board.name in boards:
            raise fail(f"boards[{i}].name", board.name, "a name no other board has")
        boards[board.name] = BoardSpec(
            board.name, board.channels, board.door_sensors, board.address, board.model,
            board.serial, board.polarity,
        )

    specs: dict[int, CompartmentSpec] = {}
    wiring: dict[int, Wiring] = {}
    where: dict[tuple[int, int], int] = {}
    locks: dict[Wiring, int] = {}
    for i, c in enumerate(raw.compartments):
        key = f"compartments[{i}]"
        if c.number in specs:
            raise fail(f"{key}.number", c.number, "a number no other compartment has")
        board_name = c.board if c.board is not None else _only_board(boards, key, fail)
        board = boards.get(board_name)
        if board is None:
            raise fail(f"{key}.board", board_name, "one of the boards: " + ", ".join(boards))
        if c.channel > board.channels:
            raise fail(
                f"{key}.channel", c.channel, f"1 to {board.channels} (board {board.name})"
            )
        lock = Wiring(board.name, c.channel)
        if lock in locks:
            raise fail(
                f"{key}.channel",
                c.channel,
                f"a channel not used yet on board {board.name} "
                f"(compartment {locks[lock]} uses it)",
            )
        if (c.column, c.row) in where:
            raise fail(
                f"{key}.row",
                c.row,
                f"a free place; column {c.column} row {c.row} "
                f"is compartment {where[(c.column, c.row)]}",
            )
        specs[c.number] = CompartmentSpec(c.number, c.size, c.column, c.row, c.height_class)
        wiring[c.number] = lock
        where[(c.column, c.row)] = c.number
        locks[lock] = c.number

    for fault in ("jammed", "no_ack"):
        for i, number in enumerate(getattr(raw.faults, fault)):
            if number not in specs:
                raise fail(
                    f"faults.{fault}[{i}]", number, "the number of a compartment in this box"
                )

    cards: dict[str, CardPreset] = {}
    for i, card in enumerate(raw.cards):
        if card.name in cards:
            raise fail(f"cards[{i}].name", card.name, "a name no other card has")
        cards[card.name] = CardPreset(
            name=card.name,
            uid=_hex(card.uid),
            atr=_hex(card.atr) if card.atr is not None else None,
            apdus=MappingProxyType({_hex(k): _hex(v) for k, v in card.apdu.items()}),
            german_eid=card.german_eid,
        )

    return BoxDescription(
        source=source,
        name=raw.name,
        boards=tuple(boards.values()),
        compartments=tuple(specs[n] for n in sorted(specs)),
        wiring=MappingProxyType(wiring),
        faults=Faults(
            jammed=frozenset(raw.faults.jammed),
            no_ack=frozenset(raw.faults.no_ack),
            offline=raw.faults.offline,
        ),
        cards=tuple(cards.values()),
    )


def _only_board(boards: Mapping[str, BoardSpec], key: str, fail: Any) -> str:
    if len(boards) == 1:
        return next(iter(boards))
    raise fail(
        f"{key}.board", None, "one of the boards: " + ", ".join(boards) + " (the box has several)"
    )
