"""The worked example's vendor package (examples/acme_cu48), importable in tests.

It is put on sys.path and its driver registered under the name its
pyproject's entry point gives, exactly as `pip install` would make it
available.
"""

import sys
import tomllib
from pathlib import Path

from hardware import drivers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme_cu48"
ENTRY_POINTS = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"][
    "entry-points"]["pickupbox.locker_bank"]

if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

from acme_pickupbox.locks import AcmeLockerBank  # noqa: E402
from acme_pickupbox.sim import CABINET, AcmeBoard  # noqa: E402

NAME = "acme-cu48"


def register() -> None:
    drivers.register("locker_bank", NAME, AcmeLockerBank)


__all__ = ["AcmeBoard", "AcmeLockerBank", "CABINET", "ENTRY_POINTS", "NAME", "register"]
