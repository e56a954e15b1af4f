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
from kiosk.domain.pickup_order import DocumentKind, OrderStatus, PickupOrder, Uncertainty
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff import StaffRecord
from kiosk.domain.staff_session import StaffState
from kiosk.store import KioskStore

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"core-tests"
CARD = "04A1B2C3D4E5F6"


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def make_kiosk(tmp_path, box: str = "demo"):
    store = KioskStore(tmp_path / "kiosk.sqlite3")
    bank = SimulatedLockerBank(load_box(box))
    clock = Clock()
    core = KioskCore(store, bank, clock=clock)
    with store.transaction() as tx:
        store.set_meta(tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json())
        store.save_staff(tx, StaffRecord("anna", credentials.lookup_key(CARD, SALT, PARAMS),
                                         credentials.make_verifier(CARD, "246810", params=PARAMS)))
    return core, store, bank, clock


@pytest.fixture
def kiosk(tmp_path):
    core, store, bank, clock = make_kiosk(tmp_path)
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


# ------------------------------------------------- restarts and inspections

def restart(core, store, bank, clock):
    """The process died (no stop, no cleanup); a new core starts on the same store and doors."""
    for unsubscribe in core._unsubscribe:
        unsubscribe()
    return KioskCore(store, bank, clock=clock)


def event_types(store):
    return [entry[2]["type"] for entry in store.journal_entries("event")]


def login(core):
    core.present_staff_card(CARD)
    return core.staff_pin("246810")


def test_deposit_cut_off_with_the_door_open_needs_inspection_and_inside_completes_it(kiosk):
    core, store, bank, clock = kiosk
    code = announce(store)
    login(core)
    core.start_deposit()
    number = core.submit_reference("PO-1").staff_compartment  # door open, document going in
    core = restart(core, store, bank, clock)
    assert store.compartment(number).state is CompartmentState.NEEDS_INSPECTION
    assert store.order("PO-1").uncertain is Uncertainty.DEPOSIT
    assert store.open_intents() == []
    assert "compartment_needs_inspection" in event_types(store)
    # The same order cannot be deposited again meanwhile (no UNIQUE crash)...
    bank.close_door(number)
    login(core)
    core.start_deposit()
    view = core.submit_reference("PO-1")
    assert view.staff_error_notice.code == "order_inspection"
    core.finish_deposits()
    # ...the staff screen lists it, the door opens for the inspection:
    assert [(i.compartment, i.order_reference, i.uncertain) for i in core.view().inspections] == [
        (number, "PO-1", "deposit")]
    unlocks = len(bank.unlock_log)
    view = core.start_inspection(number)
    assert view.staff_state is StaffState.INSPECTION_DOOR_OPEN and view.staff_order == "PO-1"
    assert len(bank.unlock_log) == unlocks + 1
    view = core.resolve_inspection("inside")
    bank.close_door(number)
    assert store.order("PO-1").status is OrderStatus.DEPOSITED
    assert store.order("PO-1").uncertain is Uncertainty.NONE
    assert store.compartment(number).state is CompartmentState.OCCUPIED
    resolved = [e[2] for e in store.journal_entries("event") if e[2]["type"] == "inspection_resolved"]
    assert resolved[0]["staff_ids"] == ["anna"] and "inside" in resolved[0]["detail"]
    assert event_types(store)[-2:] == ["inspection_resolved", "order_deposited"]
    core.logout()
    # and the citizen can now collect it
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPEN


def handover_cut_off(kiosk):
    """The pulse went out, the kill came before the door-open signal."""
    core, store, bank, clock = kiosk
    code = announce(store)
    number = deposit(core, bank)
    bank.jam_door(number)
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPENING
    bank.jam_door(number, False)
    return restart(core, store, bank, clock), code, number


def test_handover_cut_between_pulse_and_door_open_is_never_opened_by_its_code_again(kiosk):
    _, store, bank, _ = kiosk
    core, code, number = handover_cut_off(kiosk)
    assert store.compartment(number).state is CompartmentState.NEEDS_INSPECTION
    assert store.order("PO-1").uncertain is Uncertainty.HANDOVER
    unlocks = len(bank.unlock_log)
    view = core.submit_code(code)
    assert view.pickup_state is PickupState.NOT_AVAILABLE
    assert len(bank.unlock_log) == unlocks
    # Staff find it empty: the citizen has it, the handover is confirmed.
    core.cancel()
    login(core)
    core.start_inspection(number)
    core.resolve_inspection("empty")
    assert store.order("PO-1").status is OrderStatus.COLLECTED
    assert store.compartment(number).state is CompartmentState.FREE
    assert event_types(store)[-2:] == ["inspection_resolved", "order_collected"]


def test_something_else_inside_sends_the_order_back_to_the_counter(kiosk):
    store = kiosk[1]
    core, _, number = handover_cut_off(kiosk)
    login(core)
    core.start_inspection(number)
    core.resolve_inspection("other")
    assert store.order("PO-1").status is OrderStatus.REMOVED
    assert store.compartment(number).state is CompartmentState.OUT_OF_SERVICE
    assert "order_removed" in event_types(store)[-3:]


def test_compartment_stuck_open_after_a_recorded_handover_is_settled_from_the_sensor(kiosk):
    core, store, bank, clock = kiosk
    code = announce(store)
    number = deposit(core, bank)
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPEN
    assert store.compartment(number).state is CompartmentState.OPEN
    bank.close_door(number)  # closed while the kiosk was down: no event reached it
    core = restart(core, store, bank, clock)
    assert store.compartment(number).state is CompartmentState.FREE
    assert store.order("PO-1").status is OrderStatus.COLLECTED  # nothing uncertain


def test_reserved_compartment_whose_pulse_never_went_out_is_free_after_a_restart(kiosk):
    core, store, bank, clock = kiosk
    announce(store)
    with store.transaction() as tx:  # the reservation committed, then the kill
        store.save_compartment(tx, store.compartment(3).with_state(CompartmentState.RESERVED, "PO-1"))
    core = restart(core, store, bank, clock)
    assert store.compartment(3).state is CompartmentState.FREE
    assert store.order("PO-1").uncertain is Uncertainty.NONE


def test_remote_open_on_a_jammed_door_takes_the_compartment_out_of_service(kiosk):
    core, store, bank, _ = kiosk
    bank.jam_door(5)
    core.remote_open(5, "check", "office")
    bank.advance(11)  # the unlock window runs out: UNLOCK_FAILED
    core.view()
    assert store.compartment(5).state is CompartmentState.OUT_OF_SERVICE
    assert {"compartment_service_opened", "door_failed", "compartment_out_of_service"} <= set(event_types(store))


def test_remote_open_not_acknowledged_takes_the_compartment_out_of_service(kiosk):
    core, store, bank, _ = kiosk
    bank.set_no_ack(6)
    core.remote_open(6, "check", "office")
    assert store.compartment(6).state is CompartmentState.OUT_OF_SERVICE
    assert event_types(store)[-2:] == ["door_failed", "compartment_out_of_service"]


def test_bank_without_sensors_cut_off_deposit_needs_inspection_and_a_recorded_handover_frees(tmp_path):
    core, store, bank, clock = make_kiosk(tmp_path, "relay8")
    code = announce(store, "PO-1")
    announce(store, "PO-2")
    login(core)
    core.start_deposit()
    first = core.submit_reference("PO-1").staff_compartment
    core.confirm_door_closed()  # staff confirm: the only signal without sensors
    second = core.submit_reference("PO-2").staff_compartment  # ...and the kill comes before the next one
    core = restart(core, store, bank, clock)
    assert store.compartment(first).state is CompartmentState.OCCUPIED
    assert store.compartment(second).state is CompartmentState.NEEDS_INSPECTION
    assert store.order("PO-2").uncertain is Uncertainty.DEPOSIT
    core.submit_code(code)
    assert core.submit_pin("482915").pickup_state is PickupState.DOOR_OPEN  # acknowledged pulse = handover
    core = restart(core, store, bank, clock)  # killed before the citizen confirmed the door shut
    assert store.compartment(first).state is CompartmentState.FREE
    assert store.order("PO-1").status is OrderStatus.COLLECTED
    store.close()


def test_view_carries_the_kind_after_the_code_and_the_reference_on_the_receipt(kiosk):
    core, store, bank, _ = kiosk
    code = announce(store, kind=DocumentKind.PASSPORT)
    number = deposit(core, bank)
    assert core.view().pickup_document_kind is None
    view = core.submit_code(code)
    assert (view.pickup_document_kind, view.pickup_reference) == (DocumentKind.PASSPORT, None)
    core.submit_pin("482915")
    bank.open_door(number)
    assert core.view().pickup_state is PickupState.DOOR_OPEN
    bank.close_door(number)
    view = core.view()
    assert view.pickup_state is PickupState.DONE
    assert (view.pickup_document_kind, view.pickup_reference) == (DocumentKind.PASSPORT, "PO-1")


def test_view_carries_the_retry_time_on_the_cores_clock(kiosk):
    core, store, bank, clock = kiosk
    code = announce(store)
    deposit(core, bank)
    unknown = credentials.generate_code()
    for _ in range(4):  # the default throttle's free failures, and one more
        assert core.submit_code(unknown).pickup_retry_at is None
    view = core.submit_code(code)
    assert view.pickup_state is PickupState.THROTTLED
    assert view.pickup_retry_at is not None and view.pickup_retry_at > clock.now
    clock.now = view.pickup_retry_at
    assert core.submit_code(code).pickup_state is PickupState.AWAITING_PIN
