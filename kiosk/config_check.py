"""What `kiosk check-config` checks beyond the settings model, and `kiosk run` first.

The model checks each value on its own; here is what only shows when the
parts are put together: a driver that is not installed or refuses its
options, a box file that is missing, a return compartment the box does not
have, TLS files that cannot be read, a data directory the kiosk cannot
write. Each problem names the key or section and what to do, so a config
that passes here does not fail at `kiosk run` for one of these reasons.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware import drivers
from hardware.errors import HardwareError
from kiosk.config import NO_DRIVER, ConfigError, Settings

DEVICE_GROUPS = {
    "locker_bank": "locker_bank",
    "card_reader": "card_reader",
    "code_scanner": "code_scanner",
    "barcode_scanner": "code_scanner",
    "indicator": "indicator",
    "help_call": "help_call",
}
# Devices a box may do without (driver = "none").
OPTIONAL_DEVICES = ("barcode_scanner", "help_call")


def create_device(settings: Settings, section: str) -> Any:
    """The driver of hardware.<section>; a bad name or option raises ConfigError naming it."""
    config = getattr(settings.hardware, section)
    try:
        return drivers.create(DEVICE_GROUPS[section], config.driver, config.options)
    except HardwareError as exc:
        raise ConfigError(f"hardware.{section}: {exc}") from None


def writable_dir_problem(path: Path) -> str | None:
    """Why the kiosk could not create files in `path` (None: it can).

    Looks at the nearest existing ancestor, so checking creates nothing.
    """
    probe = Path(os.path.abspath(path))
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable for this user (uid {os.getuid()})"
    return None


def data_dir_problems(settings: Settings) -> list[str]:
    dirs = [("kiosk.data_dir", settings.kiosk.data_dir)]
    if settings.registry.address == "embedded":
        dirs += [
            ("registry.embedded_db", settings.registry.embedded_db.parent),
            ("registry.notify_dir", settings.registry.notify_dir),
        ]
    problems = []
    for key, path in dirs:
        why = writable_dir_problem(path)
        if why:
            problems.append(
                f"{key}: cannot write to {path}: {why}; choose a writable directory "
                "or give the kiosk's user write access"
            )
    return problems


def tls_problems(settings: Settings) -> list[str]:
    reg = settings.registry
    problems = []
    for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        path = getattr(reg, key)
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            problems.append(f"registry.{key}: cannot read {path}: {exc.strerror or exc}")
    return problems


def hardware_problems(
    settings: Settings,
    create: Callable[[Settings, str], Any] = create_device,
    warnings: list[str] | None = None,
) -> list[str]:
    """Creates each configured driver once (and closes it) to see that it starts.

    A device that starts but reports itself unhealthy (a board not answering
    yet) does not stop `kiosk run`, which retries: that goes to `warnings`.
    """
    problems = []
    for section in DEVICE_GROUPS:
        if section in OPTIONAL_DEVICES and getattr(settings.hardware, section).driver == NO_DRIVER:
            continue
        try:
            device = create(settings, section)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        try:
            if section == "locker_bank":
                problems += _return_compartment_problems(settings, device)
            if warnings is not None and hasattr(device, "health"):
                warnings += [
                    f"hardware.{section}: {h.device} {h.status.value} {h.detail}".rstrip()
                    for h in device.health()
                    if h.status.value != "ok"
                ]
        finally:
            device.close()
    return problems


def _return_compartment_problems(settings: Settings, bank: Any) -> list[str]:
    number = settings.kiosk.return_compartment
    if number is None:
        return []
    numbers = [spec.number for spec in bank.layout()]
    if number in numbers or not numbers:
        return []
    return [
        f"kiosk.return_compartment: {number} is not a compartment of the locker bank "
        f"(it has {min(numbers)} to {max(numbers)}); pick one of its compartments or unset it"
    ]


def check_settings(settings: Settings, warnings: list[str] | None = None) -> list[str]:
    """Every problem that would stop `kiosk run`, each naming its key (empty: none).

    What would not stop it but deserves a look is appended to `warnings`.
    """
    return (
        data_dir_problems(settings)
        + tls_problems(settings)
        + hardware_problems(settings, warnings=warnings)
    )
