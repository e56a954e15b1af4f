"""Drives the optional indicator (LED ring, lamp, buzzer) from the kiosk's state.

A second sensory channel besides the screen: people who cannot see the
display well still notice that a compartment is open or that something
went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hardware.interfaces import Indicator, Signal
from kiosk.core import KioskView
from kiosk.domain.pickup_session import CODE_ENTRY_STATES, DOOR_STATES, PickupState
from kiosk.domain.staff_session import DOOR_STATES as STAFF_DOOR_STATES
from kiosk.domain.staff_session import StaffState

log = logging.getLogger(__name__)

_FINE = frozenset({PickupState.IDLE, PickupState.DONE})


def signal_for(view: KioskView) -> Signal:
    if view.pickup_state in DOOR_STATES or view.staff_state in STAFF_DOOR_STATES:
        return Signal.DOOR_OPEN
    if view.pickup_state in CODE_ENTRY_STATES and view.pickup_state not in _FINE:
        return Signal.ERROR
    if view.pickup_state is not PickupState.IDLE or view.staff_state is not StaffState.LOGGED_OUT:
        return Signal.ATTENTION
    return Signal.IDLE


def indicator_listener(indicator: Indicator) -> Callable[[KioskView], None]:
    """A core listener that changes the indicator only when the signal changes."""
    last: list[Signal] = []

    def on_view(view: KioskView) -> None:
        signal = signal_for(view)
        if last and last[0] is signal:
            return
        try:
            indicator.show(signal.value)
        except Exception as exc:  # a broken lamp must not disturb a pickup
            log.warning("indicator failed: %s", exc)
            return
        last[:] = [signal]

    return on_view
