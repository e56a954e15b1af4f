"""The kiosk core: one thread that owns all kiosk state.

- `loop`: the core thread and its queue (one input at a time);
- `kiosk_core`: `KioskCore`, its intents and the handlers of hardware events;
- `effect_handlers`: how each effect becomes one store transaction;
- `view`: the immutable `KioskView` snapshots the UI reads.
"""

from kiosk.core.kiosk_core import (
    CREDENTIAL_POLICY_KEY,
    CredentialContext,
    KioskCore,
    layout_from_bank,
    utc_now,
)
from kiosk.core.loop import TICK_SECONDS
from kiosk.core.view import KioskView

__all__ = [
    "CREDENTIAL_POLICY_KEY",
    "TICK_SECONDS",
    "CredentialContext",
    "KioskCore",
    "KioskView",
    "layout_from_bank",
    "utc_now",
]
