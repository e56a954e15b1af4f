"""Choosing drivers by name: entry points plus runtime registration."""

import pytest

from hardware import drivers
from hardware.errors import DriverConfigError
from hardware.simulated import SimulatedCodeScanner, SimulatedLockerBank


class FakeIndicator:
    def __init__(self, colour="green"):
        self.colour = colour

    def show(self, signal):
        pass

    def health(self):
        return []

    def close(self):
        pass


@pytest.fixture
def registered():
    names = []

    def register(group, name, cls):
        drivers.register(group, name, cls)
        names.append((group, name))

    yield register
    for group, name in names:
        drivers.unregister(group, name)


def test_simulated_drivers_come_from_entry_points():
    for group in drivers.GROUPS:
        assert "simulated" in drivers.available(group)
        assert "simulated" in drivers.available(drivers.GROUPS[group])


def test_create_simulated_bank_with_options():
    bank = drivers.create("locker_bank", "simulated", {"box": "relay8"})
    assert isinstance(bank, SimulatedLockerBank)
    assert not bank.has_door_sensors


def test_unknown_driver_lists_the_available_ones():
    with pytest.raises(DriverConfigError) as info:
        drivers.create("locker_bank", "kerong-typo")
    assert info.value.option == "driver"
    assert "kerong-typo" in str(info.value) and "simulated" in str(info.value)


def test_unknown_group():
    with pytest.raises(DriverConfigError, match="locker_bank"):
        drivers.available("door_bell")


def test_bad_option_names_the_option():
    with pytest.raises(DriverConfigError, match="unlock_window"):
        drivers.create("locker_bank", "simulated", {"unlock_window": -1})


def test_runtime_registration(registered):
    registered("indicator", "fake", FakeIndicator)
    assert "fake" in drivers.available("indicator")
    indicator = drivers.create("indicator", "fake", {"colour": "red"})
    assert isinstance(indicator, FakeIndicator) and indicator.colour == "red"
    drivers.unregister("indicator", "fake")
    assert "fake" not in drivers.available("indicator")


def test_runtime_registration_wins_over_entry_point(registered):
    registered("code_scanner", "simulated", FakeIndicator)
    assert isinstance(drivers.create("code_scanner", "simulated"), FakeIndicator)
    drivers.unregister("code_scanner", "simulated")
    assert isinstance(drivers.create("code_scanner", "simulated"), SimulatedCodeScanner)


def test_class_without_from_options_gets_a_clear_error(registered):
    registered("indicator", "fake", FakeIndicator)
    with pytest.raises(DriverConfigError, match="FakeIndicator"):
        drivers.create("indicator", "fake", {"brightness": 3})
