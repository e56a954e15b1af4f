"""The typed interface from the touchscreen to the kiosk core.

Every intent is a method here that names the core method it calls as an
attribute of `KioskCore` (not as a string), with typed arguments: a typo or a
renamed core method fails when this module's methods are called in the test
suite (tests/ui/test_logic.py calls every one against a real core), not on
the terminal at night. The calls run on the bridge's worker thread
(`CoreBridge.call`): the UI never waits for the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.core import KioskCore, KioskView
from kiosk.domain.effects import Problem

# Runs `method(core, *args)` later, on another thread (CoreBridge.call).
Call = Callable[..., None]


class Intents:
    def __init__(self, call: Call):
        self._call = call

    def _run(self, method: Callable[..., KioskView], *args: Any) -> None:
        self._call(method, *args)

    # ------------------------------------------------------------ citizen

    def submit_code(self, raw: str) -> None:
        self._run(KioskCore.submit_code, raw)

    def submit_pin(self, pin: str) -> None:
        self._run(KioskCore.submit_pin, pin)

    def confirm_pin_letter(self, confirmed: bool) -> None:
        self._run(KioskCore.confirm_pin_letter, confirmed)

    def confirm_door_closed(self) -> None:
        self._run(KioskCore.confirm_door_closed)

    def cancel(self) -> None:
        self._run(KioskCore.cancel)

    def report_problem(self, problem: Problem) -> None:
        self._run(KioskCore.report_problem, problem)

    def skip_return(self) -> None:
        self._run(KioskCore.skip_return)

    def extend_time(self) -> None:
        self._run(KioskCore.extend_time)

    def scan_screen(self, visible: bool) -> None:
        self._run(KioskCore.scan_screen, visible)

    # -------------------------------------------------------------- staff

    def staff_pin(self, pin: str) -> None:
        self._run(KioskCore.staff_pin, pin)

    def start_deposit(self) -> None:
        self._run(KioskCore.start_deposit)

    def submit_reference(self, reference: str) -> None:
        self._run(KioskCore.submit_reference, reference)

    def abort_deposit(self) -> None:
        self._run(KioskCore.abort_deposit)

    def finish_deposits(self) -> None:
        self._run(KioskCore.finish_deposits)

    def start_removal(self) -> None:
        self._run(KioskCore.start_removal)

    def open_for_service(self, compartment: int, reason: str) -> None:
        self._run(KioskCore.open_for_service, compartment, reason)

    def set_out_of_service(self, compartment: int, reason: str) -> None:
        self._run(KioskCore.set_out_of_service, compartment, reason)

    def set_in_service(self, compartment: int) -> None:
        self._run(KioskCore.set_in_service, compartment)

    def logout(self) -> None:
        self._run(KioskCore.logout)

    def start_inspection(self, compartment: int) -> None:
        self._run(KioskCore.start_inspection, compartment)

    def resolve_inspection(self, outcome: str) -> None:
        self._run(KioskCore.resolve_inspection, outcome)

    def confirm_clock(self, correct: bool) -> None:
        self._run(KioskCore.confirm_clock, correct)
