"""Wall-clock steps against a real kiosk (core thread, store, uplink) and the real registry.

The kiosk gets its wall clock as a dependency; here it is a clock the test
steps (+15 days and back, -1 day), while the monotonic clock and the
registry's clock run on. Nothing may expire, lock or wait because of a step.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc

from common.credentials import generate_code
from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.domain.pickup_session import PickupState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import KioskHarness, wait_for


class SteppableClock:
    """The system's wall clock plus an offset the test steps."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def step(self, delta: timedelta) -> None:
        self.offset += delta


def start_kiosk(registry, tmp_path, wall: SteppableClock) -> KioskHarness:
    environ = {
        "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / "kiosk"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
        "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "0.3",
        "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
    }
    settings = load_settings(None, environ)
    registry.enrol(settings.kiosk.id, Path(settings.kiosk.data_dir))  # as the operator did
    kiosk = build_kiosk(settings, registry_target=f"127.0.0.1:{registry.port}", wall_clock=wall)
    kiosk.start()
    wait_for(lambda: kiosk.uplink.registered, what="kiosk registration")
    return KioskHarness(kiosk, registry, wall)  # type: ignore[arg-type]


def clock_steps(registry) -> list[str]:
    return [e for e in registry.events() if e[1] == "EVENT_TYPE_CLOCK_STEP"]


def test_fifteen_days_ahead_and_back_expires_nothing(registry, tmp_path):
    wall = SteppableClock()
    k = start_kiosk(registry, tmp_path, wall)
    created = registry.create_order()
    ref = created.order.reference
    k.deposit(ref)
    wait_for(
        lambda: registry.status(ref) == pb.ORDER_STATUS_DEPOSITED, what="deposit at the registry"
    )
    # Step +15 days and restart there: the start-up expiry check runs at once.
    wall.step(timedelta(days=15))
    k.kiosk.stop()
    k = start_kiosk(registry, tmp_path, wall)
    k.core.tick()
    wait_for(lambda: clock_steps(registry), what="the clock step at the registry")
    assert abs(k.core.clock() - datetime.now(timezone.utc)) < timedelta(minutes=1)
    wall.step(timedelta(days=-15))
    k.core.tick()
    assert registry.status(ref) == pb.ORDER_STATUS_DEPOSITED
    view = k.pickup(created.qr_payload, "482915")
    assert (
        view.pickup_state is PickupState.DOOR_OPENING or view.pickup_state is PickupState.DOOR_OPEN
    ), view
    k.bank.close_door(view.pickup_compartment)
    wait_for(
        lambda: registry.status(ref) == pb.ORDER_STATUS_COLLECTED,
        what="the handover at the registry",
    )
    journal = [
        d for _, kind, d in k.store.journal_entries("event") if d.get("type") == "clock_step"
    ]
    assert journal, "the step is journalled"
    k.kiosk.stop()


def test_a_day_back_during_a_backoff_does_not_make_a_citizen_wait_a_day(registry, tmp_path):
    wall = SteppableClock()
    k = start_kiosk(registry, tmp_path, wall)
    k.core.scan_screen(True)
    for _ in range(5):  # wrong codes until the per-kiosk backoff starts
        view = k.core.submit_code(generate_code())
    assert view.pickup_state is PickupState.THROTTLED, view
    wall.step(timedelta(days=-1))
    view = k.core.submit_code(generate_code())
    assert view.pickup_state is PickupState.THROTTLED, view
    seconds = int(view.pickup_detail.split()[1])
    assert seconds <= 10, view.pickup_detail
    k.kiosk.stop()


def test_a_day_back_holds_back_no_report_waiting_for_its_retry(registry, tmp_path):
    wall = SteppableClock()
    k = start_kiosk(registry, tmp_path, wall)
    created = registry.create_order()
    ref = created.order.reference
    k.synced(ref)
    registry.stop()  # the deposit report has to wait for a retry
    k.deposit(ref)
    wait_for(
        lambda: k.store.outbox_backlog() and k.store.next_outbox_attempt(),
        what="a postponed report",
    )
    wall.step(timedelta(days=-1))
    registry.start()

    def deposited() -> bool:
        try:
            return registry.status(ref) == pb.ORDER_STATUS_DEPOSITED
        except grpc.RpcError:  # the office channel reconnects too
            return False

    wait_for(deposited, timeout=15, what="the deposit report within seconds, not a day")
    k.kiosk.stop()
