"""Staff confirm a large wall-clock step the registry cannot confirm (issue 8, item 6).

A real kiosk (core thread, store, uplink) with a wall clock the test steps,
and the real registry, stopped while the clock steps (unreachable). The
step is held: nothing expires. Staff on the menu are asked; their answer is
journalled with their id and reaches the registry as EVENT_TYPE_CLOCK_STEP.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from kiosk.domain.pickup_order import OrderStatus
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import STAFF_CARD, wait_for
from tests.integration.test_clock_steps import SteppableClock, start_kiosk


def clock_step_details(registry) -> list[tuple[str, tuple[str, ...]]]:
    with sqlite3.connect(registry.db_path) as db:
        rows = db.execute("SELECT payload FROM events WHERE type='EVENT_TYPE_CLOCK_STEP'").fetchall()
    events = [pb.KioskEvent.FromString(row[0]) for row in rows]
    return [(e.detail, tuple(e.staff_ids)) for e in events]


def step_while_the_registry_is_down(registry, tmp_path, days: int):
    wall = SteppableClock()
    k = start_kiosk(registry, tmp_path, wall)
    created = registry.create_order()
    ref = created.order.reference
    k.deposit(ref)
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_DEPOSITED, what="the deposit reported")
    registry.stop()
    wall.step(timedelta(days=days))
    k.core.tick()
    return k, wall, ref


def login(k) -> None:
    k.reader.present_card(bytes.fromhex(STAFF_CARD))
    k.reader.remove_card()
    k.core.staff_pin("246810")


def test_staff_confirm_a_step_and_then_orders_expire(registry, tmp_path):
    days = 30
    k, wall, ref = step_while_the_registry_is_down(registry, tmp_path, days)
    try:
        view = k.core.tick()
        assert view.clock_step is not None and view.clock_step.offset[:4] in ("+29d", "+30d")
        assert k.store.order(ref).status is OrderStatus.DEPOSITED  # the step alone expires nothing
        assert k.core.confirm_clock(True).clock_step is not None  # nobody logged in: no answer
        login(k)
        view = k.core.confirm_clock(True)
        assert view.clock_step is None
        assert abs(k.core.clock() - wall()) < timedelta(seconds=5)
        k.core.logout()
        k.core.tick()
        assert k.store.order(ref).status is OrderStatus.EXPIRED
        entries = k.store.journal_entries("clock_confirmation")
        assert len(entries) == 1 and entries[0][2]["staff"] == ["anna"]
        assert entries[0][2]["correct"] is True

        registry.start()
        confirmed = wait_for(
            lambda: [d for d in clock_step_details(registry) if "confirmed by staff" in d[0]],
            what="the confirmation at the registry")
        assert confirmed == [("wall clock confirmed by staff anna", ("anna",))]
    finally:
        k.kiosk.stop()


def test_staff_say_no_and_trusted_time_goes_on(registry, tmp_path):
    k, wall, ref = step_while_the_registry_is_down(registry, tmp_path, 30)
    try:
        login(k)
        assert k.core.view().clock_step is not None
        view = k.core.confirm_clock(False)
        assert view.clock_step is None  # not asked again for this step
        assert wall() - k.core.clock() > timedelta(days=29)
        k.core.tick()
        assert k.store.order(ref).status is OrderStatus.DEPOSITED
        assert k.store.journal_entries("clock_confirmation")[0][2]["correct"] is False
        registry.start()
        denied = wait_for(
            lambda: [d for d in clock_step_details(registry) if "is wrong, say staff anna" in d[0]],
            what="the answer at the registry")
        assert denied[0][1] == ("anna",)
    finally:
        k.kiosk.stop()


def test_staff_are_not_asked_while_the_registry_contradicts_the_wall_clock(registry, tmp_path):
    wall = SteppableClock()
    k = start_kiosk(registry, tmp_path, wall)
    try:
        wall.step(timedelta(days=30))
        k.core.tick()
        # The next heartbeat brings the registry's time: the wall clock is wrong.
        wait_for(lambda: k.core.view().clock_step is None and k.kiosk.uplink.online,
                 what="the registry's time to overrule the wall clock")
        assert wall() - k.core.clock() > timedelta(days=29)
    finally:
        k.kiosk.stop()
