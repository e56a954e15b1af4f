"""Find and create drivers by name.

Drivers are classes registered under an entry-point group, one group per
kind of device, so a vendor's package can add its own without touching this
project::

    [project.entry-points."pickupbox.locker_bank"]
    acme-cu48 = "acme_pickupbox.locks:AcmeLockerBank"

The kiosk config names the driver and its options (``driver = "simulated"``,
``box = "demo"``); `create()` turns that into an instance. A class builds
itself from the options with a classmethod ``from_options(options)``; a
class without one is called with the options as keyword arguments.

Tests can `register()` a class at runtime without packaging it (as gpiozero
lets a test pick a pin factory). Runtime registrations win over entry points
of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from hardware.errors import DriverConfigError

GROUPS = {
    "locker_bank": "pickupbox.locker_bank",
    "card_reader": "pickupbox.card_reader",
    "code_scanner": "pickupbox.code_scanner",
    "indicator": "pickupbox.indicator",
    "help_call": "pickupbox.help_call",  # optional call button / intercom (hardware.help_call)
}

_registered: dict[str, dict[str, type]] = {group: {} for group in GROUPS.values()}


def group_name(group: str) -> str:
    """'locker_bank' or 'pickupbox.locker_bank' -> 'pickupbox.locker_bank'."""
    full = GROUPS.get(group, group)
    if full not in _registered:
        raise DriverConfigError(
            "group", group, "one of: " + ", ".join(GROUPS), source="hardware drivers"
        )
    return full


def available(group: str) -> list[str]:
    """Names of all drivers for `group`, sorted."""
    full = group_name(group)
    names = {ep.name for ep in entry_points(group=full)} | set(_registered[full])
    return sorted(names)


def load(group: str, name: str) -> type:
    """The driver class registered as `name` in `group`."""
    full = group_name(group)
    if name in _registered[full]:
        return _registered[full][name]
    for ep in entry_points(group=full, name=name):
        try:
            return ep.load()
        except Exception as exc:  # a broken vendor package should read as a config problem
            raise DriverConfigError(
                "driver", name, f"an importable driver ({ep.value} failed: {exc})",
                source=_short(full),
            ) from exc
    raise DriverConfigError(
        "driver", name, "one of the installed drivers: " + (", ".join(available(full)) or "none"),
        source=_short(full),
    )


def create(group: str, name: str, options: Mapping[str, Any] | None = None) -> Any:
    """A ready driver instance; raises DriverConfigError for a bad name or option."""
    cls = load(group, name)
    options = dict(options or {})
    factory = getattr(cls, "from_options", None)
    if factory is not None:
        return factory(options)
    try:
        return cls(**options)
    except TypeError as exc:
        raise DriverConfigError(
            "options", options, f"options that {cls.__name__} accepts ({exc})",
            source=f"{_short(group_name(group))} driver {name!r}",
        ) from exc


def register(group: str, name: str, cls: type) -> None:
    """Make `cls` available as driver `name` for this process (tests, experiments)."""
    _registered[group_name(group)][name] = cls


def unregister(group: str, name: str) -> None:
    """Undo `register`; unknown names are ignored."""
    _registered[group_name(group)].pop(name, None)


def _short(full_group: str) -> str:
    return full_group.removeprefix("pickupbox.")
