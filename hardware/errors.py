"""Errors raised by the hardware layer.

The kiosk catches `HardwareError` around every driver call, so each error
here subclasses it. Errors a person reads (config files, the box description,
the CLI) name the option, the value found and what is expected instead.
"""

from __future__ import annotations

from pathlib import PurePath


class HardwareError(Exception):
    """Base class for everything the hardware layer raises on purpose."""


class DeviceUnavailable(HardwareError):
    """The device does not answer: unplugged, powered off, or its daemon died.

    Raised by commands (unlock, transmit, start). The kiosk should retry later
    and show the device as failed in health(); it is not a programming error.
    """


class CardError(HardwareError):
    """A card operation failed, most often because no card is on the reader."""


class UnknownCompartment(HardwareError, LookupError):
    """A compartment number that this locker bank does not have."""


class DriverConfigError(HardwareError, ValueError):
    """A driver option, a driver name or a box description is wrong.

    `source` says where the option came from (a driver, a file), `option` is
    the option or key, `value` what was found and `expected` what would be
    accepted. With `option=None` the whole source is wrong (say, a file that
    is not valid TOML) and only `expected` is shown.
    """

    def __init__(
        self,
        option: str | None,
        value: object,
        expected: str,
        *,
        source: str | None = None,
    ) -> None:
        self.option = option
        self.value = value
        self.expected = expected
        self.source = source
        where = f"{source}: " if source else ""
        if option is None:
            message = f"{where}expected {expected}"
        else:
            message = f"{where}{option} = {_short_repr(value)}: expected {expected}"
        super().__init__(message)


class BoxDescriptionError(DriverConfigError):
    """A box description file is missing, unreadable or invalid.

    `source` is the file's path and `option` the key inside it, such as
    ``compartments[3].size``.
    """


def _short_repr(value: object, limit: int = 80) -> str:
    # A whole misplaced table would drown the message; the key already says where.
    # A path is shown whole: the operator has to see which file was looked for.
    text = repr(str(value)) if isinstance(value, PurePath) else repr(value)
    if isinstance(value, (str, PurePath)):
        limit = max(limit, 400)
    return text if len(text) <= limit else text[: limit - 3] + "..."
