"""An optional help-call device: a button or intercom that reaches a person.

A vendor wires it (a call button to the office's phone system, a SIP
intercom, a GSM module); the kiosk only asks it to call and reads whether a
call is under way. A box may have none: the help page then shows the
office's phone number alone.

Drivers register under the entry-point group ``pickupbox.help_call``
(see hardware.drivers)::

    [project.entry-points."pickupbox.help_call"]
    acme-intercom = "acme_pickupbox.intercom:AcmeIntercom"

The simulated driver records each call, so a test or the first-run demo can
see that the citizen's request arrived, and can be switched to fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from hardware.errors import DeviceUnavailable
from hardware.interfaces import DeviceHealth, HealthStatus
from hardware.options import validate


class CallState(str, Enum):
    IDLE = "idle"
    CALLING = "calling"  # the call was placed; nobody has answered yet
    CONNECTED = "connected"  # a person is on the line
    FAILED = "failed"  # the last call could not be placed


@runtime_checkable
class HelpCall(Protocol):
    """Places a call to a person who can help the citizen at the box."""

    name: str

    def call(self, reason: str) -> None:
        """Start a call and return at once; `reason` is a short code for the
        person answering ("help_page"), never personal data. Raises
        DeviceUnavailable when the device cannot place calls now."""
        ...

    def state(self) -> CallState: ...

    def hang_up(self) -> None: ...

    def health(self) -> list[DeviceHealth]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PlacedCall:
    at: float
    reason: str


class _SimulatedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("simulated help call", description="How staff find the device.")
    answer_after_seconds: float = Field(
        3.0, ge=0, description="A simulated person answers this long after the call.")


class SimulatedHelpCall:
    """Records calls in `calls`; `answer_after_seconds` later the call counts
    as connected. `fail_next(True)` makes calls fail, as an unplugged intercom."""

    def __init__(self, name: str = "simulated help call", answer_after_seconds: float = 3.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.answer_after = answer_after_seconds
        self.calls: list[PlacedCall] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._failing = False
        self._state = CallState.IDLE
        self._closed = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatedHelpCall:
        opts = validate(_SimulatedOptions, options, source="help_call driver 'simulated'")
        return cls(opts.name, opts.answer_after_seconds)

    def fail_next(self, failing: bool) -> None:
        with self._lock:
            self._failing = failing

    def call(self, reason: str) -> None:
        with self._lock:
            if self._closed:
                raise DeviceUnavailable(f"{self.name}: driver closed")
            if self._failing:
                self._state = CallState.FAILED
                raise DeviceUnavailable(f"{self.name}: no line (simulated fault)")
            self.calls.append(PlacedCall(self._clock(), reason))
            self._state = CallState.CALLING

    def state(self) -> CallState:
        with self._lock:
            answered = self.calls and self._clock() - self.calls[-1].at >= self.answer_after
            if self._state is CallState.CALLING and answered:
                self._state = CallState.CONNECTED
            return self._state

    def hang_up(self) -> None:
        with self._lock:
            if self._state is not CallState.FAILED:
                self._state = CallState.IDLE

    def health(self) -> list[DeviceHealth]:
        with self._lock:
            if self._closed:
                return [DeviceHealth(self.name, HealthStatus.FAILED, "driver closed")]
            if self._failing:
                return [DeviceHealth(self.name, HealthStatus.FAILED, "no line (simulated fault)")]
            return [DeviceHealth(self.name, HealthStatus.OK)]

    def close(self) -> None:
        with self._lock:
            self._closed = True
