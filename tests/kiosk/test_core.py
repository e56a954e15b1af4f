"""The kiosk core with its real store and the simulated locker bank, no registry.

The core runs inline here (not started), which handles every hardware event
the simulator sends before a call returns, exactly as the core thread does.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from common import credentials
from kiosk.domain.compartment import CompartmentState
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"core-tests"
CARD = "04A1B2C3D4E5F6"


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def kiosk(tmp_path):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    bank = SimulatedLockerBank(load_box("demo"))
    clock = Clock()
    core = KioskCore(store, bank, clock=clock)
    with store.transaction() as tx:
        store.set_meta(tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json())
        store.save_staff(tx, StaffRecord("anna", credentials.lookup_key(CARD, SALT, PARAMS),
                                         credentials.make_verifier(CARD, "246810", params=PARAMS)))
    yield core, store, bank, clock
    store.close()


def announce(store, reference="PO-1", kind=DocumentKind.PASSPORT, pin="482915") -> str:
    code = credentials.generate_code()
    with store.transaction() as tx:
        store.save_order(tx, PickupOrder(
            reference, kind, OrderStatus.ANNOUNCED,
            code_lookup=credentials.lookup_key(code, SALT, PARAMS),
            pin_verifier=credentials.make_verifier(code, pin, params=PARAMS),
        ))
    return code


def deposit(core, bank, reference="PO-1") -> int:
    core.present_staff_card(CARD)
    core.staff_pin("246810")
    core.start_deposit()
    number = core.submit_reference(reference).staff_compartment
    bank.close_door(number)
    core.finish_deposits()
    core.logout()
    return number


def test_out_of_service_compartment_is_not_opened_for_a_citizen(kiosk):
    core, store, bank, _ = kiosk
    code = announce(store)
    number = deposit(core, bank)
    bank.force_door(number)  # tamper: the compartment goes out of service
    core.view()  # let the core handle the door event
    assert store.compartment(number).state is CompartmentState.OUT_OF_SERVICE
    bank.close_door(number)
    unlocks = len(bank.unlock_log)
    view = core.submit_code(code)
    assert view.pickup_state is PickupState.NOT_AVAILABLE
    assert len(bank.unlock_log) == unlocks


def test_jammed_door_on_pickup_takes_the_compartment_out_of_service(kiosk):
    core, store, bank, _ = kiosk
    code = announce(store)
    number = deposit(core, bank)
    bank.jam_door(number)
    core.submit_code(code)
    core.submit_pin("482915")
    view = core.view()
    assert view.pickup_state is PickupState.DOOR_OPENING
    bank.advance(11)  # the unlock window runs out: UNLOCK_FAILED
    view = core.view()
    assert view.pickup_state is PickupState.DOOR_FAILED
    assert store.compartment(number).state is CompartmentState.OUT_OF_SERVICE
    assert store.order("PO-1").status is OrderStatus.DEPOSITED  # nothing handed out
    types = [entry[2]["type"] for entry in store.journal_entries("event")]
    assert "door_failed" in types and "compartment_out_of_service" in types


def test_handover_is_recorded_even_if_the_office_cancelled_meanwhile(kiosk):
    core, store, bank, _ = kiosk
    code = announce(store)
    number = deposit(core, bank)
    bank.jam_door(number)
    core.submit_code(code)
    core.submit_pin("482915")
    # The cancellation arrives from the registry while the door is opening.
    with store.transaction() as tx:
        order = store.order("PO-1")
        store.save_order(tx, order.transition(OrderStatus.CANCELLED))
    bank.jam_door(number, False)
    bank.open_door(number)  # the citizen pulls the door within the window
    assert core.view().pickup_state is PickupState.DOOR_OPEN
    assert store.order("PO-1").status is OrderStatus.COLLECTED
    assert [e[2]["order"] for e in store.journal_entries("late_handover")] == ["PO-1"]


def test_order_is_not_expired_under_the_citizens_hands(kiosk):
    core, store, bank, clock = kiosk
    code = announce(store)
    deposit(core, bank)
    clock.now += timedelta(days=14) - timedelta(seconds=5)
    bank.jam_door(store.order("PO-1").compartment_number)
    core.submit_code(code)
    core.submit_pin("482915")
    clock.now += timedelta(minutes=2)  # deadline passes while the door opens
    core.tick()
    assert store.order("PO-1").status is OrderStatus.DEPOSITED


def test_aborted_deposit_frees_a_compartment_taken_out_of_service_meanwhile(kiosk):
    core, store, bank, _ = kiosk
    announce(store)
    core.present_staff_card(CARD)
    core.staff_pin("246810")
    core.start_deposit()
    number = core.submit_reference("PO-1").staff_compartment
    # Staff cannot do this mid-deposit, but the office can, remotely.
    core.remote_set_service(number, False, "inspection", "office")
    core.abort_deposit()
    c = store.compartment(number)
    assert c.state is CompartmentState.OUT_OF_SERVICE and c.order_reference is None
    # The same document can now go into another compartment without being in two.
    bank.close_door(number)
    other = core.submit_reference("PO-1").staff_compartment
    assert other != number
    refs = [c.order_reference for c in store.compartments() if c.order_reference]
    assert refs == ["PO-1"]


def test_running_core_returns_to_idle_after_inactivity(kiosk):
    core, store, bank, clock = kiosk
    code = announce(store)
    deposit(core, bank)
    core.start()
    try:
        assert core.submit_code(code).pickup_state is PickupState.AWAITING_PIN
        clock.now += core.pickup.policy.input_timeout
        deadline = time.monotonic() + 5
        while core.view().pickup_state is not PickupState.IDLE:
            assert time.monotonic() < deadline, "the core thread never timed the session out"
            time.sleep(0.05)
        assert core.pickup._code == ""  # the secret left memory with the session
    finally:
        core.stop()


def test_device_failure_and_recovery_are_reported_once_each(kiosk):
    core, store, bank, _ = kiosk
    core.tick()
    bank.set_offline(True)
    core.tick()
    core.tick()
    bank.set_offline(False)
    core.tick()
    faults = [e[2]["detail"] for e in store.journal_entries("event") if e[2]["type"] == "device_fault"]
    assert len(faults) == 2 * len({h.device for h in bank.health()})  # down once, back once, per board
    assert all("failed" in d for d in faults[: len(faults) // 2])
    assert all(" ok" in d for d in faults[len(faults) // 2:])
