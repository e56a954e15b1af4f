"""One contract, every registered driver (as gpiozero tests every pin factory).

The checks live in `hardware.conformance` (the vendor kit; `kiosk-hw
conformance` runs the same ones on a real box). Here each check runs once
per driver found through `hardware.drivers.available`, and once per setup.
A driver that cannot be built with the options in SETUPS (or none) on this
machine is skipped with the reason, never silently passed. Real drivers add
their SETUPS entry pointing at a byte-level simulator (pty, pyusb backend),
which may also yield a `Setup` with an operator that acts on the simulator
(force a door, lay a card on the reader).
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial

import pytest

from hardware import conformance, drivers
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.simulated import SimulatedCardReader, SimulatedCodeScanner, SimulatedLockerBank
from tests.hardware.pcscd import pcscd_vpcd_options
from tests.hardware.qr_media import camera_recording
from tests.hardware.wedge_kit import wedge_options

@dataclass
class Setup:
    """What a SETUPS factory may yield instead of bare options."""

    options: dict
    operator: conformance.Operator | None = None


# Option sets that build each driver against something it can talk to here;
# a driver not listed is built with no options. A value is either the options
# themselves or a context-manager factory that starts the device's simulator
# (a pty board, a pyusb backend, pcscd with a virtual card), yields the
# options, and tears the simulator down afterwards.


class RecordingOperator(conformance.Operator):
    """The camera's recording already holds a code in view: nothing to do."""

    can_act = True

    def act(self, instruction: str, **details) -> None:
        pass


@contextmanager
def with_operator(options_cm: AbstractContextManager[dict], operator: conformance.Operator) -> Iterator[Setup]:
    with options_cm as options:
        yield Setup(options, operator)


class VirtualCardOperator(conformance.Operator):
    """Lays a virtual staff card on vpcd's reader and takes it away."""

    can_act = True

    def __init__(self):
        from hardware.devicesim.vpcd_card import VirtualCard

        self.card = VirtualCard("staff")

    def act(self, instruction: str, **details) -> None:
        if details.get("card") == "staff":
            self.card.insert()
        elif "card" in details:
            self.card.remove()
        else:
            raise conformance.Skipped(f"the virtual card cannot: {instruction}")


@contextmanager
def kerong_pty(protocol: str = "cu16", **variant) -> Iterator[dict]:
    """Two Kerong boards (addresses 1 and 2, as in the demo box) on a pty.

    `variant`: the simulator's options for the board variants sold
    (reply_length, inverted, silent_unlocks); the driver gets the options
    that match them.
    """
    from hardware.devicesim.kerong_bus import KerongBus, operator

    with KerongBus([1, 2], protocol=protocol, **variant) as bus:
        options = {"port": bus.port, "box": "demo", "protocol": protocol,
                   "timeout": 0.05, "poll_interval": 0.02}
        if variant.get("inverted"):
            options["polarity"] = "inverted"
        if variant.get("silent_unlocks"):
            options["unlock_reply"] = False
        yield Setup(options, operator(options))


@contextmanager
def usb_relay_fake() -> Iterator[dict]:
    """One USBRelay8 (serial RLY01, as in the relay8 box) behind a pyusb backend."""
    from hardware.devicesim.usbrelay_backend import demo_backend

    yield {"box": "relay8", "pulse_ms": 20, "backend": demo_backend()}


SETUPS: dict[tuple[str, str], dict[str, dict | Callable[[], AbstractContextManager[dict]]]] = {
    ("locker_bank", "simulated"): {"sensors": {"box": "demo"}, "relay": {"box": "relay8"}},
    ("locker_bank", "kerong"): {
        "pty": kerong_pty,
        "inverted-pty": partial(kerong_pty, inverted=True),
        "silent-unlock-pty": partial(kerong_pty, silent_unlocks=True),
        "legacy-pty": partial(kerong_pty, "legacy"),
        "legacy7-pty": partial(kerong_pty, "legacy", reply_length=7),
        "legacy11-pty": partial(kerong_pty, "legacy", reply_length=11),
        "legacy-inverted-pty": partial(kerong_pty, "legacy", reply_length=7, inverted=True),
        "legacy-silent-unlock-pty": partial(kerong_pty, "legacy", silent_unlocks=True),
    },
    ("locker_bank", "usb-relay"): {"fake-usb": usb_relay_fake},
    ("card_reader", "pcsc"): {"vpcd": lambda: with_operator(pcscd_vpcd_options(), VirtualCardOperator())},
    ("code_scanner", "camera"): {"recording": lambda: with_operator(camera_recording(), RecordingOperator())},
    ("code_scanner", "evdev-wedge"): {"uinput": wedge_options},
}


class SimulatorOperator(conformance.Operator):
    """Does what a person would do at the box, on the simulated drivers."""

    can_act = True

    def __init__(self, device):
        self.device = device

    def act(self, instruction: str, **details) -> None:
        device = self.device
        if isinstance(device, SimulatedLockerBank):
            if details.get("forced"):
                device.force_door(details["compartment"])
            elif details.get("shut"):
                device.close_door(details["compartment"])
            # Unlocked simulated doors spring open by themselves.
        elif isinstance(device, SimulatedCardReader):
            if details.get("card") == "staff":
                device.present_card(bytes.fromhex("04A1B2C3D4E5F6"))
            else:
                device.remove_card()
        elif isinstance(device, SimulatedCodeScanner):
            device.show(details["payload"])
        else:
            raise conformance.Skipped(f"no simulator operator for {type(device).__name__}: {instruction}")


def cases(group):
    for name in drivers.available(group):
        for label, setup in SETUPS.get((group, name), {"default": {}}).items():
            for chk in conformance.checks_for(group):
                yield pytest.param(name, setup, chk, id=f"{name}-{label}-{chk.name}")


def run_case(group, name, setup, chk):
    with ExitStack() as stack:
        built = stack.enter_context(setup() if callable(setup) else nullcontext(setup))
        if not isinstance(built, Setup):
            built = Setup(built)
        try:
            device = drivers.create(group, name, built.options)
        except (DeviceUnavailable, DriverConfigError) as exc:
            pytest.skip(f"{group} driver {name!r} cannot run here: {exc}")
        stack.callback(device.close)
        operator = built.operator or SimulatorOperator(device)
        result = conformance.run_check(chk, device, conformance.Context(operator=operator))
    if result.outcome == conformance.SKIPPED:
        pytest.skip(result.detail)
    assert result.outcome == conformance.PASSED, f"{chk.summary}: {result.detail}"


def test_every_group_has_a_driver():
    for group in drivers.GROUPS:
        assert "simulated" in drivers.available(group)
        assert conformance.checks_for(group), f"the kit has checks for {group}"


@pytest.mark.parametrize("name, setup, chk", list(cases("locker_bank")))
def test_locker_bank(name, setup, chk):
    run_case("locker_bank", name, setup, chk)


@pytest.mark.parametrize("name, setup, chk", list(cases("card_reader")))
def test_card_reader(name, setup, chk):
    run_case("card_reader", name, setup, chk)


@pytest.mark.parametrize("name, setup, chk", list(cases("code_scanner")))
def test_code_scanner(name, setup, chk):
    run_case("code_scanner", name, setup, chk)


@pytest.mark.parametrize("name, setup, chk", list(cases("indicator")))
def test_indicator(name, setup, chk):
    run_case("indicator", name, setup, chk)


def test_a_broken_driver_fails_the_kit():
    """The kit must not pass a driver that breaks the contract."""

    class ForgetfulBank(SimulatedLockerBank):
        def unlock(self, compartment):
            result = super().unlock(compartment)
            return type(result)(compartment, False, "never acknowledges")

        def door_state(self, compartment):
            return "open"  # not a DoorState

    results = conformance.run("locker_bank", lambda: ForgetfulBank.from_options({"box": "demo"}))
    failed = {r.name for r in results if r.outcome == conformance.FAILED}
    assert {"unlock_is_acknowledged", "door_states"} <= failed
