"""Helpers for the domain tests: credentials, orders, staff and a tiny kiosk model.

Importable from the test modules (``from domain_kit import ...``); fixtures that
wrap them live in conftest.py. Orders and staff records are built exactly the
way the registry builds them (``lookup_key`` + ``make_verifier``), with tiny
scrypt parameters so the tests stay fast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from common import credentials
from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from kiosk.domain.effects import Effect, RecordHandover, ReportEvent, UnlockCompartment
from kiosk.domain.pickup_order import (
    DocumentKind,
    OrderStatus,
    OrderTransitionError,
    PickupOrder,
    requires_pin_letter_confirmation,
)
from kiosk.domain.inspection import DoorReading, reconcile_intent, settle_at_start
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.records import (
    Change,
    RecordIntegrityError,
    apply_effect,
    expire_order,
    free_open_compartment,
)
from kiosk.domain.pickup_session import PickupPolicy
from kiosk.domain.staff import StaffRecord

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"domain-tests/lookup-salt"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
PICKUP_PERIOD = timedelta(days=14)


def make_code(body: str) -> str:
    """A valid code with a chosen 9-character body (deterministic test data)."""
    assert len(body) == credentials.CODE_RANDOM_CHARS
    return body + credentials._check_char(body)


# ------------------------------------------------------------------ orders

@dataclass(frozen=True)
class Issued:
    """An order as the kiosk stores it, plus the secrets only the citizen knows."""

    order: PickupOrder
    code: str
    pin: str

    @property
    def reference(self) -> str:
        return self.order.reference


def issue(
    reference: str = "ORD-1",
    *,
    kind: DocumentKind = DocumentKind.PASSPORT,
    status: OrderStatus = OrderStatus.DEPOSITED,
    compartment: int | None = 1,
    deadline: datetime | None = T0 + PICKUP_PERIOD,
    code: str | None = None,
    pin: str | None = None,
    size: Size = Size.S,
    needs_low: bool = False,
    **changes,
) -> Issued:
    code = code or credentials.generate_code()
    pin = pin or credentials.generate_pin()
    if status is OrderStatus.ANNOUNCED:
        compartment, deadline = None, None
    order = PickupOrder(
        reference=reference,
        kind=kind,
        status=status,
        size=size,
        needs_low_compartment=needs_low,
        requires_pin_letter_confirmation=requires_pin_letter_confirmation(kind),
        code_lookup=credentials.lookup_key(code, SALT, PARAMS),
        pin_verifier=credentials.make_verifier(code, pin, params=PARAMS),
        compartment_number=compartment,
        pickup_deadline=deadline,
    )
    return Issued(replace(order, **changes), code, pin)


class OrderBook:
    """The kiosk's orders, found by code the way the store finds them (by lookup key)."""

    def __init__(self, *orders: PickupOrder | Issued):
        self.by_reference: dict[str, PickupOrder] = {}
        self.lookups = 0
        for order in orders:
            self.put(order.order if isinstance(order, Issued) else order)

    def put(self, order: PickupOrder) -> None:
        self.by_reference[order.reference] = order

    def find(self, code: str) -> PickupOrder | None:
        self.lookups += 1
        key = credentials.lookup_key(code, SALT, PARAMS)
        for order in self.by_reference.values():
            if order.code_lookup == key:
                return order
        return None

    def get(self, reference: str) -> PickupOrder | None:
        return self.by_reference.get(reference)


# ------------------------------------------------------------------- staff

@dataclass(frozen=True)
class StaffMember:
    record: StaffRecord
    uid: str
    pin: str


def staff_member(staff_id: str, uid: str, pin: str, active: bool = True) -> StaffMember:
    canonical = credentials.normalize_card_uid(uid)
    record = StaffRecord(
        staff_id=staff_id,
        card_lookup=credentials.lookup_key(canonical, SALT, PARAMS),
        pin_verifier=credentials.make_verifier(canonical, pin, params=PARAMS),
        active=active,
    )
    return StaffMember(record, uid, pin)


class StaffDirectory:
    def __init__(self, *members: StaffMember):
        self.records = [m.record for m in members]

    def find(self, uid: str) -> StaffRecord | None:
        key = credentials.lookup_key(uid, SALT, PARAMS)
        return next((r for r in self.records if r.card_lookup == key), None)


ALICE = staff_member("alice", "04:a1:b2:c3:d4:e5:f6", "135790")
BOB = staff_member("bob", "04B0B0B0B0B0B0", "246802")
CAROL_INACTIVE = staff_member("carol", "04CA401CA401CA", "112233", active=False)

# Short, explicit timeouts so the tests read clearly.
POLICY = PickupPolicy(
    max_pin_attempts=3,
    input_timeout=timedelta(seconds=60),
    result_timeout=timedelta(seconds=20),
    door_opening_timeout=timedelta(seconds=15),
    door_open_timeout=timedelta(minutes=3),
)


# ------------------------------------------------------------ compartments

def compartment(number: int, size: Size = Size.S, height: HeightClass = HeightClass.STANDARD,
                state: CompartmentState = CompartmentState.FREE, order_reference: str | None = None) -> Compartment:
    return Compartment(number, size, column=1 + (number - 1) // 4, row=(number - 1) % 4,
                       height_class=height, state=state, order_reference=order_reference)


def of_type(effects: list[Effect], cls: type) -> list:
    return [e for e in effects if isinstance(e, cls)]


def unlocks(effects: list[Effect]) -> list[UnlockCompartment]:
    return of_type(effects, UnlockCompartment)


# -------------------------------------------------------------- the model

class ModelViolation(AssertionError):
    """The sessions asked for something the kiosk store would refuse."""


@dataclass
class KioskModel:
    """Compartments and orders, changed by effects the way kiosk/core/effect_handlers.py applies them.

    The rules are the core's own (kiosk.domain.records). Where they refuse an
    effect (e.g. reserving a compartment that is not free) the model raises,
    so a property test fails on any effect the real core could not carry out.
    """

    compartments: dict[int, Compartment]
    orders: dict[str, PickupOrder]
    handovers: Counter = field(default_factory=Counter)
    unlocks: list[UnlockCompartment] = field(default_factory=list)
    # Write-ahead intents, as the core keeps them (committed before each pulse).
    intents: list[UnlockIntent] = field(default_factory=list)
    events: list[ReportEvent] = field(default_factory=list)

    @classmethod
    def of(cls, compartments: list[Compartment], orders: list[PickupOrder]) -> KioskModel:
        return cls({c.number: c for c in compartments}, {o.reference: o for o in orders})

    # lookups the sessions get
    def find_by_code(self, code: str) -> PickupOrder | None:
        key = credentials.lookup_key(code, SALT, PARAMS)
        return next((o for o in self.orders.values() if o.code_lookup == key), None)

    def order(self, reference: str) -> PickupOrder | None:
        return self.orders.get(reference)

    def compartment_list(self) -> list[Compartment]:
        return [self.compartments[n] for n in sorted(self.compartments)]

    def _compartment(self, number: int) -> Compartment:
        if number not in self.compartments:
            raise ModelViolation(f"effect names unknown compartment {number}")
        return self.compartments[number]

    def _order(self, reference: str) -> PickupOrder:
        if reference not in self.orders:
            raise ModelViolation(f"effect names unknown order {reference!r}")
        return self.orders[reference]

    def apply(self, effect: Effect) -> None:
        """Non-unlock effects, through the very rules the core persists (kiosk.domain.records)."""
        if isinstance(effect, UnlockCompartment):
            self.unlocks.append(effect)
            self.intents.append(UnlockIntent(effect.compartment, effect.purpose, effect.order_reference,
                                             effect.staff_ids))
            return
        if isinstance(effect, ReportEvent):
            self.events.append(effect)
        try:
            change = apply_effect(effect, self.compartments.get, self.orders.get, T0)
        except (RecordIntegrityError, OrderTransitionError) as exc:
            raise ModelViolation(str(exc)) from exc
        if isinstance(effect, RecordHandover):
            self.handovers[effect.order_reference] += 1
        self._take(change)

    def _take(self, change: Change) -> None:
        for c in change.compartments:
            self.compartments[c.number] = c
        for o in change.orders:
            self.orders[o.reference] = o
        for done in change.finished:
            self.intents = [i for i in self.intents if not (
                i.compartment == done.compartment and (not done.purposes or i.purpose in done.purposes))]

    def crash(self, now: datetime, has_door_sensors: bool) -> None:
        """The kiosk died and starts again: core._reconcile with what the sensors say
        (here: nothing known, the strictest case)."""
        for intent in list(self.intents):
            compartment = self.compartments.get(intent.compartment)
            order = self.orders.get(intent.order_reference) if intent.order_reference else None
            self._take(reconcile_intent(intent, compartment, order, DoorReading.UNKNOWN, now))
        for c in list(self.compartments.values()):
            self._take(settle_at_start(c, DoorReading.UNKNOWN, has_door_sensors))

    def settle(self, number: int) -> None:
        """A door closed: a compartment emptied by a handover is free again (core._settle_compartment)."""
        c = self.compartments.get(number)
        if c is not None:
            self._take(free_open_compartment(c))

    def settle_all(self) -> None:
        for number in list(self.compartments):
            self.settle(number)

    def expire(self, now: datetime, keep: str | None = None) -> None:
        """core._expire_orders; ``keep`` names an order whose handover is under way."""
        for order in list(self.orders.values()):
            if order.reference != keep:
                self._take(expire_order(order, now))

    # ------------------------------------------------------------ invariants

    def holders(self, reference: str) -> list[int]:
        return [c.number for c in self.compartments.values() if c.order_reference == reference]

    def check(self) -> None:
        for reference, order in self.orders.items():
            held = self.holders(reference)
            assert len(held) <= 1, f"order {reference} recorded in compartments {held}"
            assert self.handovers[reference] <= 1, f"order {reference} handed out twice"
            if order.status in (OrderStatus.DEPOSITED, OrderStatus.EXPIRED) or (
                order.status is OrderStatus.CANCELLED and order.compartment_number is not None
            ):
                # The record of which document is in which compartment is never lost.
                assert held == [order.compartment_number], (
                    f"order {reference} ({order.status.value}) should be in "
                    f"{order.compartment_number}, compartments say {held}")
            if order.status is OrderStatus.COLLECTED:
                assert self.handovers[reference] == 1
        for c in self.compartments.values():
            if c.state is CompartmentState.FREE:
                assert c.order_reference is None, f"free compartment {c.number} holds {c.order_reference}"
            if c.state in (CompartmentState.OCCUPIED, CompartmentState.RESERVED):
                assert c.order_reference in self.orders
