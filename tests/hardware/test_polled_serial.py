"""Every driver built on hardware.polled_serial, on a real pty, unplugged and back.

The drivers: kerong (KR-CU16 frames and the legacy ones) and the worked
example's acme-cu48 (examples/acme_cu48). Each is built against its own
byte-level simulator; the simulator closes the pty and removes the port's
symlink (the adapter leaves), then opens a new pty behind it (it comes back).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from hardware.box import load_box
from hardware.devicesim.kerong_bus import KerongBus
from hardware.errors import DeviceUnavailable
from hardware.interfaces import DoorEventKind, DoorState, HealthStatus
from hardware.kerong.bank import KerongLockerBank
from hardware.polled_serial import PORT_ERRORS, PolledSerialBank
from tests.hardware.acme_kit import CABINET, AcmeBoard, AcmeLockerBank
from tests.hardware.test_kerong_bank import FAST, kinds, ok, wait_for


@dataclass
class Rig:
    bank: PolledSerialBank
    unplug: Callable[[], None]
    replug: Callable[[], None]
    force: Callable[[], None]  # open compartment 9 without an unlock
    port: str


@contextmanager
def kerong(protocol: str) -> Iterator[Rig]:
    with KerongBus([1, 2], protocol=protocol) as bus:
        bank = KerongLockerBank(load_box("demo"), bus.port, protocol=protocol, **FAST)
        try:
            yield Rig(bank, bus.unplug, bus.replug, lambda: bus.open_door(1, 9), bus.port)
        finally:
            bank.close()


@contextmanager
def acme() -> Iterator[Rig]:
    with AcmeBoard() as board:
        bank = AcmeLockerBank(load_box(CABINET), board.port, **FAST)
        try:
            yield Rig(bank, lambda: board.command("unplug"), lambda: board.command("replug"),
                      lambda: board.command("open 9"), board.port)
        finally:
            bank.close()


RIGS = {"kerong-cu16": lambda: kerong("cu16"), "kerong-legacy": lambda: kerong("legacy"),
        "acme-cu48": acme}


@pytest.mark.parametrize("name", RIGS)
def test_unplug_and_replug(name, caplog):
    with RIGS[name]() as rig:
        bank = rig.bank
        events = []
        bank.subscribe(events.append)
        assert wait_for(lambda: ok(bank)), bank.health()
        rig.unplug()
        assert wait_for(lambda: all(h.status is HealthStatus.FAILED for h in bank.health()))
        assert rig.port in bank.health()[0].detail
        assert bank.door_state(1) is DoorState.UNKNOWN
        with pytest.raises(DeviceUnavailable, match="serial port"):
            bank.unlock(1)
        rig.force()  # forced while the adapter was out
        rig.replug()
        assert wait_for(lambda: ok(bank)), bank.health()
        assert wait_for(lambda: kinds(events, 9) == [DoorEventKind.FORCED_OPEN])
        assert bank.unlock(1).acknowledged
        assert wait_for(lambda: kinds(events, 1) == [DoorEventKind.OPENED])
    # An unplugged tty must not be a traceback per poll.
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_the_tty_error_list_has_termios_error():
    import termios

    import serial

    assert termios.error in PORT_ERRORS and not issubclass(termios.error, OSError)
    assert serial.SerialException in PORT_ERRORS and OSError in PORT_ERRORS


@pytest.mark.parametrize("name", RIGS)
def test_a_broken_callback_harms_neither_the_poller_nor_the_others(name):
    with RIGS[name]() as rig:
        heard = []

        def broken(event):
            raise RuntimeError("consumer bug")

        rig.bank.subscribe(broken)
        rig.bank.subscribe(heard.append)
        assert wait_for(lambda: ok(rig.bank))
        rig.force()
        assert wait_for(lambda: kinds(heard, 9) == [DoorEventKind.FORCED_OPEN])
        assert rig.bank.unlock(1).acknowledged
        assert wait_for(lambda: kinds(heard, 1) == [DoorEventKind.OPENED])
