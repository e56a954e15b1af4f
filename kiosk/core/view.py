"""What the UI may see of the kiosk: immutable `KioskView` snapshots."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from hardware.interfaces import DeviceHealth, HealthStatus
from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.document_return import DocumentReturn, ReturnState
from kiosk.domain.pickup_order import DocumentKind
from kiosk.domain.pickup_session import PickupSession, PickupState
from kiosk.domain.staff_session import Notice, StaffSession, StaffState

log = logging.getLogger("kiosk.core")


@dataclass(frozen=True)
class KioskView:
    """Everything the UI may show; contains no secrets and no names."""

    pickup_state: PickupState
    pickup_detail: str
    attempts_left: int | None
    pickup_compartment: int | None
    requires_pin_letter: bool
    pickup_expires_at: datetime | None
    staff_state: StaffState
    staff_ids: tuple[str, ...]
    staff_message: str
    staff_error: str
    staff_compartment: int | None
    compartments: tuple[Compartment, ...]
    has_door_sensors: bool
    health: tuple[DeviceHealth, ...]
    # The staff error and message as codes + values, which the UI translates
    # (staff_error / staff_message are English, for logs and tools).
    staff_error_notice: Notice = Notice()
    staff_message_notice: Notice = Notice()
    staff_expires_at: datetime | None = None
    # The optional old-ID return step after a pickup (OFF when not offered).
    return_state: ReturnState = ReturnState.OFF
    return_compartment: int | None = None
    return_expires_at: datetime | None = None
    # Compartments staff must look into (a crash left them uncertain).
    inspections: tuple[Inspection, ...] = ()
    # The order of the compartment open for staff (inspection: "is PO-... inside?").
    staff_order: str | None = None
    # A large wall-clock step the registry has not confirmed: staff are asked.
    clock_step: ClockStep | None = None
    # When a throttled citizen may try again (on the core's trusted clock).
    pickup_retry_at: datetime | None = None
    # The order's document kind once its code was accepted, and its reference
    # (the office's order number from the letter) on the receipt only.
    pickup_document_kind: DocumentKind | None = None
    pickup_reference: str | None = None
    # (compartment, pickup deadline) of the documents waiting in the box:
    # staff screens only (empty while no staff are logged in).
    pickup_deadlines: tuple[tuple[int, datetime], ...] = ()


@dataclass(frozen=True)
class ClockStep:
    offset: str  # how far the wall clock moved, e.g. "+1d 00:00:00"
    wall_clock: datetime  # what the wall clock shows (UTC)


@dataclass(frozen=True)
class Inspection:
    compartment: int
    order_reference: str  # "" if the records name no document
    uncertain: str  # what is uncertain: deposit, handover, removal, service ("" = the contents)


def device_health(devices: Iterable[object | None]) -> list[DeviceHealth]:
    """The health of every device; a broken driver must not hide the others."""
    health: list[DeviceHealth] = []
    for device in devices:
        if device is not None:
            try:
                health.extend(device.health())
            except Exception as exc:
                log.warning("health check failed: %s", exc)
                health.append(DeviceHealth(type(device).__name__, HealthStatus.FAILED, str(exc)))
    return health


def snapshot(
    pickup: PickupSession,
    staff: StaffSession,
    document_return: DocumentReturn,
    compartments: Iterable[Compartment],
    has_door_sensors: bool,
    health: Iterable[DeviceHealth],
    uncertainty: Callable[[str], str] = lambda reference: "",
    clock_step: ClockStep | None = None,
    pickup_deadlines: Iterable[tuple[int, datetime]] = (),
) -> KioskView:
    compartments = tuple(compartments)
    inspections = tuple(
        Inspection(c.number, c.order_reference or "",
                   uncertainty(c.order_reference) if c.order_reference else "")
        for c in compartments if c.state is CompartmentState.NEEDS_INSPECTION
    )
    return KioskView(
        pickup_state=pickup.state,
        pickup_detail=pickup.error_detail,
        attempts_left=pickup.attempts_left,
        pickup_compartment=pickup.compartment,
        requires_pin_letter=pickup.requires_pin_letter,
        pickup_expires_at=pickup.expires_at,
        staff_state=staff.state,
        staff_ids=staff.staff_ids,
        staff_message=staff.message,
        staff_error=staff.error,
        staff_compartment=staff.current_compartment,
        compartments=compartments,
        has_door_sensors=has_door_sensors,
        health=tuple(health),
        staff_error_notice=staff.error_notice,
        staff_message_notice=staff.message_notice,
        staff_expires_at=staff.expires_at,
        return_state=document_return.state,
        return_compartment=document_return.compartment,
        return_expires_at=document_return.expires_at,
        inspections=inspections,
        staff_order=staff.current_order,
        clock_step=clock_step,
        pickup_retry_at=pickup.retry_at,
        pickup_document_kind=pickup.accepted_kind,
        pickup_reference=pickup.receipt_reference,
        pickup_deadlines=tuple(pickup_deadlines),
    )
