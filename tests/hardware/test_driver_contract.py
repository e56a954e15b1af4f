"""One contract, every registered driver (as gpiozero tests every pin factory).

Each test runs once per driver found through `hardware.drivers.available`.
A driver that cannot be built with the options in SETUPS (or none) on this
machine is skipped with the reason, never silently passed. Real drivers add
their SETUPS entry pointing at a byte-level simulator (pty, pyusb backend).
"""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext

import pytest

from hardware import drivers
from hardware.errors import CardError, DeviceUnavailable, DriverConfigError, UnknownCompartment
from hardware.interfaces import (
    HEIGHT_CLASSES,
    SIGNALS,
    SIZES,
    CardReader,
    CodeScanner,
    CompartmentSpec,
    DeviceHealth,
    DoorEvent,
    DoorEventKind,
    DoorState,
    HealthStatus,
    Indicator,
    LockerBank,
    UnlockResult,
)
from tests.hardware.pcscd import pcscd_vpcd_options

# Option sets that build each driver against something it can talk to here;
# a driver not listed is built with no options. A value is either the options
# themselves or a context-manager factory that starts the device's simulator
# (a pty board, a pyusb backend, pcscd with a virtual card), yields the
# options, and tears the simulator down afterwards.
SETUPS: dict[tuple[str, str], dict[str, dict | Callable[[], AbstractContextManager[dict]]]] = {
    ("locker_bank", "simulated"): {"sensors": {"box": "demo"}, "relay": {"box": "relay8"}},
    ("card_reader", "pcsc"): {"vpcd": pcscd_vpcd_options},
}


def setups(group):
    for name in drivers.available(group):
        for label, options in SETUPS.get((group, name), {"default": {}}).items():
            yield pytest.param((name, options), id=f"{name}-{label}")


def device_fixture(group):
    @pytest.fixture(params=list(setups(group)))
    def fixture(request):
        name, setup = request.param
        with ExitStack() as stack:
            options = stack.enter_context(setup() if callable(setup) else nullcontext(setup))
            try:
                device = drivers.create(group, name, options)
            except (DeviceUnavailable, DriverConfigError) as exc:
                pytest.skip(f"{group} driver {name!r} cannot run here: {exc}")
            yield device
            device.close()

    return fixture


locker_bank = device_fixture("locker_bank")
card_reader = device_fixture("card_reader")
code_scanner = device_fixture("code_scanner")
indicator = device_fixture("indicator")


def wait_for(condition, timeout=3.0):
    """Real drivers call back from their own thread; simulated ones at once."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def check_health(device):
    health = device.health()
    assert isinstance(health, list) and health
    for entry in health:
        assert isinstance(entry, DeviceHealth)
        assert isinstance(entry.status, HealthStatus)
        assert entry.device


def test_every_group_has_a_driver():
    for group in drivers.GROUPS:
        assert "simulated" in drivers.available(group)


# --- Locker bank


def test_bank_is_a_locker_bank(locker_bank):
    assert isinstance(locker_bank, LockerBank)
    assert isinstance(locker_bank.has_door_sensors, bool)


def test_bank_layout(locker_bank):
    layout = locker_bank.layout()
    assert layout and all(isinstance(spec, CompartmentSpec) for spec in layout)
    numbers = [spec.number for spec in layout]
    assert numbers == sorted(set(numbers)), "ordered by number, no duplicates"
    for spec in layout:
        assert spec.size in SIZES and spec.height_class in HEIGHT_CLASSES
        assert spec.column >= 1 and spec.row >= 1


def test_bank_door_states(locker_bank):
    for spec in locker_bank.layout():
        state = locker_bank.door_state(spec.number)
        assert isinstance(state, DoorState)
        if not locker_bank.has_door_sensors:
            assert state is DoorState.UNKNOWN


def test_bank_unlock_answers_for_the_compartment(locker_bank):
    number = locker_bank.layout()[0].number
    result = locker_bank.unlock(number)
    assert isinstance(result, UnlockResult)
    assert result.compartment == number
    assert isinstance(result.acknowledged, bool)


def test_bank_unlock_reports_the_opening(locker_bank):
    events: list[DoorEvent] = []
    locker_bank.subscribe(events.append)
    number = locker_bank.layout()[0].number
    assert locker_bank.unlock(number).acknowledged
    if not locker_bank.has_door_sensors:
        assert events == [], "a bank without sensors sends no door events"
        assert locker_bank.door_state(number) is DoorState.UNKNOWN
        return
    assert wait_for(lambda: any(e.kind is DoorEventKind.OPENED for e in events))
    assert all(isinstance(e, DoorEvent) for e in events)
    assert wait_for(lambda: locker_bank.door_state(number) is DoorState.OPEN)


def test_bank_unsubscribe_stops_events(locker_bank):
    if not locker_bank.has_door_sensors:
        pytest.skip("no door sensors, no door events")
    gone: list[DoorEvent] = []
    sentinel: list[DoorEvent] = []
    unsubscribe = locker_bank.subscribe(gone.append)
    unsubscribe()
    unsubscribe()
    locker_bank.subscribe(sentinel.append)
    locker_bank.unlock(locker_bank.layout()[-1].number)
    assert wait_for(lambda: sentinel), "the still-subscribed callback heard it"
    assert gone == []


def test_bank_rejects_unknown_compartment(locker_bank):
    missing = max(spec.number for spec in locker_bank.layout()) + 1
    with pytest.raises(UnknownCompartment):
        locker_bank.unlock(missing)


def test_bank_health(locker_bank):
    check_health(locker_bank)


def test_bank_close_is_idempotent(locker_bank):
    locker_bank.close()
    locker_bank.close()


# --- Card reader


def test_reader_contract(card_reader):
    assert isinstance(card_reader, CardReader)
    unsubscribe = card_reader.subscribe(lambda event: None)
    assert callable(unsubscribe)
    unsubscribe()
    unsubscribe()
    check_health(card_reader)


def test_reader_transmit_without_card(card_reader):
    with pytest.raises(CardError):
        card_reader.transmit(bytes.fromhex("FFCA000000"))


# --- Code scanner


def test_scanner_contract(code_scanner):
    assert isinstance(code_scanner, CodeScanner)
    unsubscribe = code_scanner.subscribe(lambda event: None)
    code_scanner.start()
    code_scanner.start()
    code_scanner.stop()
    code_scanner.stop()
    unsubscribe()
    unsubscribe()
    check_health(code_scanner)


# --- Indicator


def test_indicator_contract(indicator):
    assert isinstance(indicator, Indicator)
    for signal in sorted(SIGNALS):
        indicator.show(signal)
    check_health(indicator)


def test_indicator_rejects_unknown_signal(indicator):
    with pytest.raises(ValueError):
        indicator.show("no-such-signal")
