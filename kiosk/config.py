"""Kiosk configuration: a TOML file, overridable by environment variables.

Every key has a default, so the kiosk runs with no file at all: simulated
hardware and the embedded registry. Environment variables override the
file, e.g. ``PICKUPBOX_KIOSK__ID=rathaus-1`` or
``PICKUPBOX_HARDWARE__LOCKER_BANK__BOX=/etc/pickupbox/cabinet.toml``
(sections separated by a double underscore).

Errors name the key, what was found and what is expected; they are raised
as ConfigError and printed by the CLI without a traceback.

Hardware: with a config file, every device section must name its driver;
a production file that leaves one out does not fall back to a simulated
device. Only a run without any file (the demo, `tools/run`) uses the
simulators by default. A relative `box = ...` path in a file is relative to
that file (see hardware.box.box_relative_to).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hardware.box import box_relative_to

ENV_PREFIX = "PICKUPBOX_"
# Variables with the prefix that are not settings: read by other parts directly
# (the speech capture for tests, see kiosk/ui/speech.py; the fault points of
# the crash tests; the `kiosk-registry` command's credentials and messages
# files, which an operator may have exported in the shell a kiosk starts from).
NOT_SETTINGS = frozenset({
    "PICKUPBOX_SPEECH_CAPTURE", "PICKUPBOX_FAULT_TRACE", "PICKUPBOX_FAULT_KILL_AT",
    "PICKUPBOX_CREDENTIAL", "PICKUPBOX_API_KEY", "PICKUPBOX_PASSWORD", "PICKUPBOX_NEW_PASSWORD",
    "PICKUPBOX_MESSAGES_CONFIG", "PICKUPBOX_MESSAGES_QUEUE",
})
# Compartment numbers travel as uint32 in the registry API.
MAX_COMPARTMENT = 2**32 - 1
# Device sections a config file must name a driver for (no silent simulator).
REQUIRED_DEVICES = ("locker_bank", "card_reader", "code_scanner", "indicator")
SIMULATED = "simulated"


class ConfigError(Exception):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KioskSection(_Section):
    id: str = Field("kiosk-1", min_length=1, max_length=64, description="Name of this terminal at the registry.")
    data_dir: Path = Field(Path("var/kiosk"), description="Where the kiosk keeps its SQLite store.")
    pickup_days: int = Field(14, ge=1, le=90, description="Days a document waits after deposit.")
    max_pin_attempts: int = Field(5, ge=1, le=10, description="Wrong PINs before an order locks.")
    four_eyes_deposit: bool = Field(False, description="Require a second staff login to deposit.")
    session_timeout_seconds: int = Field(60, ge=10, le=600, description="Citizen inactivity before reset.")
    staff_timeout_seconds: int = Field(300, ge=30, le=3600, description="Staff inactivity before logout.")
    return_compartment: int | None = Field(
        None, ge=1, le=MAX_COMPARTMENT,
        description="Compartment that takes back old ID cards after a pickup; unset: no return step.",
    )
    journal_retention_days: int = Field(
        90, ge=7, le=3650,
        description="Days the local journal and audit log keep a row (audit entries only once the registry holds them).",
    )
    command_retention_days: int = Field(
        30, ge=1, le=3650,
        description="Days the ids of carried-out remote commands are kept (repeat guard).",
    )
    code_free_failures: int = Field(
        3, ge=1, le=1000,
        description="Unknown pickup codes per kiosk within 15 minutes before the backoff "
        "starts (survives restarts).",
    )
    staff_card_max_pin_attempts: int = Field(
        5, ge=1, le=10,
        description="Wrong staff PINs in a row before the card locks (the office unlocks it).",
    )
    clock_step_tolerance_seconds: float = Field(
        30, ge=1, le=3600,
        description="Wall-clock jumps beyond this are journalled and reported as a clock step.",
    )
    clock_large_step_seconds: float = Field(
        600, ge=60, le=86400,
        description="Steps beyond this are not believed until the registry's time or staff "
        "confirm them.",
    )


class RegistrySection(_Section):
    address: str = Field(
        "embedded",
        description='"embedded" starts the reference registry inside the kiosk; otherwise HOST:PORT, '
        "or several separated by commas (instances of one registry: the kiosk moves to the next "
        "when its instance is unavailable), or one DNS name with several addresses.",
    )
    embedded_listen: str = Field("127.0.0.1:50051", description="Listen address of the embedded registry.")
    embedded_db: Path = Field(Path("var/registry.sqlite3"), description="Database of the embedded registry.")
    notify_dir: Path = Field(Path("var/notifications"), description="Where the embedded registry writes notices.")
    sync_interval_seconds: float = Field(30, gt=0, le=3600, description="Seconds between order syncs.")
    heartbeat_interval_seconds: float = Field(30, gt=0, le=3600, description="Seconds between heartbeats.")
    retry_max_seconds: float = Field(60, gt=0, le=3600, description="Longest backoff between report retries.")
    tls_ca_file: Path | None = Field(None, description="CA that signed the registry's certificate; set to use TLS.")
    tls_cert_file: Path | None = Field(None, description="This kiosk's client certificate (mTLS).")
    tls_key_file: Path | None = Field(None, description="The key of the client certificate.")

    @model_validator(mode="after")
    def _addresses(self) -> "RegistrySection":
        if self.address != "embedded":
            for target in self.address.split(","):
                if target.strip() and ":" not in target:
                    raise ValueError(
                        f"address: {target.strip()!r} has no port: write HOST:PORT"
                        " (several separated by commas)"
                    )
            if not any(target.strip() for target in self.address.split(",")):
                raise ValueError('address is empty: write HOST:PORT or "embedded"')
        return self

    @model_validator(mode="after")
    def _tls_complete(self) -> "RegistrySection":
        # A client certificate without a CA would silently talk plaintext.
        if (self.tls_cert_file or self.tls_key_file) and self.tls_ca_file is None:
            raise ValueError(
                "tls_cert_file/tls_key_file are set but tls_ca_file is not: set tls_ca_file to "
                "the CA of the registry's certificate (without it the kiosk would not use TLS)"
            )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both tls_cert_file and tls_key_file (mTLS), or neither")
        return self


class OfficeSection(_Section):
    name: str = Field("Bürgerbüro", description="Shown on error screens and in notices.")
    phone: str = Field("", description="Phone number for citizens who need help.")
    opening_hours: str = Field("", description="Counter opening hours, free text.")


NO_DRIVER = "none"  # for optional devices: the box has none


class UiSection(_Section):
    fullscreen: bool = Field(True, description="Full screen without borders; `kiosk run --windowed` overrides.")
    window_size: str = Field("1280x800", pattern=r"^\d{3,5}x\d{3,5}$",
                             description="Window size WIDTHxHEIGHT when not full screen.")
    screen_dpi: float = Field(96.0, gt=30, le=600, description="Pixels per inch of the panel; sets the 15 mm touch targets.")
    speech: bool = Field(True, description="Speak every prompt (espeak-ng); citizens can switch it off per session.")
    timeout_warning_seconds: int = Field(15, ge=5, le=120, description="Warn this long before a screen times out.")
    simulator_panel: Literal["auto", "off"] = Field(
        "auto", description='"auto" offers the simulator side panel (F12) when the hardware is simulated.')


class DriverSection(BaseModel):
    """A driver name plus its own options (checked by the driver itself)."""

    model_config = ConfigDict(extra="allow")
    driver: str = Field(SIMULATED, description="Entry-point name of the driver.")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class HardwareSection(_Section):
    locker_bank: DriverSection = Field(default_factory=DriverSection)
    card_reader: DriverSection = Field(default_factory=DriverSection)
    code_scanner: DriverSection = Field(default_factory=DriverSection)
    # Optional: a keyboard-wedge barcode scanner for staff deposits, beside the camera.
    barcode_scanner: DriverSection = Field(default_factory=lambda: DriverSection(driver=NO_DRIVER))
    indicator: DriverSection = Field(default_factory=DriverSection)
    # Optional: a call button or intercom that reaches a person (hardware.help_call);
    # the help page offers the call when the box has one.
    help_call: DriverSection = Field(default_factory=lambda: DriverSection(driver=NO_DRIVER))


class Settings(_Section):
    kiosk: KioskSection = Field(default_factory=KioskSection)
    registry: RegistrySection = Field(default_factory=RegistrySection)
    office: OfficeSection = Field(default_factory=OfficeSection)
    hardware: HardwareSection = Field(default_factory=HardwareSection)
    ui: UiSection = Field(default_factory=UiSection)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        raw = _read_file(Path(path))
        _resolve_box_paths(raw, Path(path).resolve().parent)
    _apply_environment(raw, os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    if path is not None:
        _require_drivers(raw, source)
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; pass an existing TOML file to --config"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not a text file (byte {exc.start} is not UTF-8); "
            "pass the TOML config, not a binary or another file"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _require_drivers(raw: dict[str, Any], source: str) -> None:
    """A config file names every device's driver: no silent fallback to a simulator."""
    hardware = raw.get("hardware", {})
    if not isinstance(hardware, dict):
        return  # the model reports the wrong type
    missing = []
    for device in REQUIRED_DEVICES:
        section = hardware.get(device)
        if not isinstance(section, dict) or "driver" not in section:
            missing.append(f"hardware.{device}")
    if missing:
        raise ConfigError(
            f"invalid configuration ({source}):\n"
            + "\n".join(f"  {key}: no driver named; set driver = \"...\" (the real "
                         f"device's driver, or \"{SIMULATED}\" for a test bench)" for key in missing)
        )


def _resolve_box_paths(raw: dict[str, Any], config_dir: Path) -> None:
    hardware = raw.get("hardware", {})
    if not isinstance(hardware, dict):
        return
    for section in hardware.values():
        if isinstance(section, dict) and isinstance(section.get("box"), str):
            section["box"] = box_relative_to(section["box"], config_dir)


def simulated_devices(settings: Settings) -> list[str]:
    """The device sections that run on a simulator (to say so in the log and on screen)."""
    hw = settings.hardware
    return [f"hardware.{name}" for name in type(hw).model_fields
            if getattr(hw, name).driver == SIMULATED]


def _apply_environment(raw: dict[str, Any], environ: dict[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name} sets a key inside {part}, which is not a section")
            node = child
        node[path[-1]] = value


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key; check the spelling against the README's configuration reference")
        elif error["type"] == "value_error":
            lines.append(f"  {key}: {error['msg'].removeprefix('Value error, ')}")
        else:
            got = error.get("input")
            lines.append(f"  {key}: {error['msg']} (got {got!r})")
    return "\n".join(lines)


def reference_table() -> str:
    """The configuration reference in Markdown, generated from the model (see README)."""
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    for section_name, section_field in Settings.model_fields.items():
        model = section_field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            rows.append(f"| `{section_name}` | `{section_field.default}` | log level |")
            continue
        for key, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                default_driver = field.default_factory().driver  # type: ignore[misc]
                rows.append(
                    f"| `{section_name}.{key}.driver` | `{default_driver}` | driver name; further keys go to the driver |"
                )
                continue
            default = field.default
            rows.append(f"| `{section_name}.{key}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows)
