"""The optional help-call device: Protocol, simulated driver, entry point."""

import pytest

from hardware import drivers
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.help_call import CallState, HelpCall, SimulatedHelpCall
from hardware.interfaces import HealthStatus


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_simulated_driver_is_found_through_its_entry_point():
    device = drivers.create("help_call", "simulated", {"name": "call button", "answer_after_seconds": 1})
    assert isinstance(device, SimulatedHelpCall) and isinstance(device, HelpCall)
    assert device.name == "call button"
    assert "simulated" in drivers.available("help_call")


def test_bad_options_name_the_problem():
    with pytest.raises(DriverConfigError, match="answer_after_seconds"):
        drivers.create("help_call", "simulated", {"answer_after_seconds": -1})
    with pytest.raises(DriverConfigError):
        drivers.create("help_call", "simulated", {"colour": "red"})


def test_a_call_is_recorded_then_answered_then_hung_up():
    clock = Clock()
    device = SimulatedHelpCall(answer_after_seconds=3, clock=clock)
    assert device.state() is CallState.IDLE
    device.call("help_page")
    assert [c.reason for c in device.calls] == ["help_page"]
    assert device.state() is CallState.CALLING
    clock.now += 3
    assert device.state() is CallState.CONNECTED
    device.hang_up()
    assert device.state() is CallState.IDLE


def test_a_broken_line_fails_the_call_and_shows_in_health():
    device = SimulatedHelpCall()
    device.fail_next(True)
    with pytest.raises(DeviceUnavailable, match="no line"):
        device.call("help_page")
    assert device.state() is CallState.FAILED
    assert device.health()[0].status is HealthStatus.FAILED
    device.fail_next(False)
    device.call("help_page")
    assert device.state() is CallState.CALLING and device.health()[0].status is HealthStatus.OK
    device.close()
    with pytest.raises(DeviceUnavailable, match="closed"):
        device.call("help_page")


def test_the_simulated_driver_passes_the_conformance_kit():
    from hardware import conformance

    checks = conformance.checks_for("help_call")
    assert checks
    for chk in checks:
        result = conformance.run_check(chk, SimulatedHelpCall())
        assert result.outcome == conformance.PASSED, f"{chk.summary}: {result.detail}"
