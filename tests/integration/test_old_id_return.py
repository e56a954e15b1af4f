"""The optional old-ID return step, end to end with the registry on loopback."""

from __future__ import annotations

from kiosk.domain.compartment import CompartmentState
from kiosk.domain.document_return import ReturnState
from kiosk.domain.pickup_session import PickupState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for

RETURN_COMPARTMENT = "20"


def collect(k, registry, kind):
    created = registry.create_order(kind=kind)
    number = k.deposit(created.order.reference)
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.DOOR_OPEN
    k.bank.close_door(number)
    return created.order.reference


def test_old_id_card_goes_into_the_return_compartment(registry, make_kiosk):
    k = make_kiosk(kiosk__return_compartment=RETURN_COMPARTMENT)
    # Never offered for deposits: it is not among the kiosk's compartments.
    assert 20 not in {c.number for c in k.store.compartments()}

    ref = collect(k, registry, pb.DOCUMENT_KIND_ID_CARD)
    view = k.core.view()
    assert view.pickup_state is PickupState.DONE
    assert view.return_state is ReturnState.OFFERED and view.return_compartment == 20

    # A staff card (not an eID) is refused and logs nobody in.
    k.reader.present_preset("staff-1")
    k.reader.remove_card()
    view = k.core.view()
    assert view.return_state is ReturnState.NOT_AN_EID
    assert view.staff_state.value == "logged_out"
    unlocks = len(k.bank.unlock_log)

    k.reader.present_preset("eid")  # the old ID card, recognised from EF.CardAccess only
    k.reader.remove_card()
    view = k.core.view()
    assert view.return_state is ReturnState.DOOR_OPEN
    assert [u.compartment for u in k.bank.unlock_log[unlocks:]] == [20]
    k.bank.close_door(20)
    assert k.core.view().return_state is ReturnState.RETURNED

    returned = wait_for(lambda: registry.order(ref).HasField("old_document_return_time"),
                        what="the return at the registry")
    assert returned
    assert [e for e in registry.events() if e[1] == "EVENT_TYPE_OLD_DOCUMENT_RETURNED"][0][2] == ref
    assert k.core.skip_return().return_state is ReturnState.OFF


def test_no_return_step_for_a_passport_or_when_skipped(registry, make_kiosk):
    k = make_kiosk(kiosk__return_compartment=RETURN_COMPARTMENT)
    collect(k, registry, pb.DOCUMENT_KIND_PASSPORT)
    assert k.core.view().return_state is ReturnState.OFF
    k.core.cancel()  # the citizen leaves the "done" screen

    collect(k, registry, pb.DOCUMENT_KIND_RESIDENCE_PERMIT)
    assert k.core.view().return_state is ReturnState.OFFERED
    unlocks = len(k.bank.unlock_log)
    assert k.core.skip_return().return_state is ReturnState.OFF
    k.reader.present_preset("eid")  # too late: nothing opens
    assert len(k.bank.unlock_log) == unlocks


def test_without_a_return_compartment_nothing_is_offered(registry, make_kiosk):
    k = make_kiosk()
    collect(k, registry, pb.DOCUMENT_KIND_ID_CARD)
    assert k.core.view().return_state is ReturnState.OFF
    assert k.store.compartment(20).state is CompartmentState.FREE
