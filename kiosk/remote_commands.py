"""Remote commands from the office: when the kiosk carries one out, and how.

A command opens doors with nobody from the office standing at the box, so
the kiosk checks it before it acts:

- it is refused after its expiry (`expire_time`; without one, five minutes
  after `create_time`);
- a remote open never runs unattended at start-up: an open created before
  this kiosk started (sent while it was off or restarting) is refused, and
  so is one without a `create_time`, whose age nobody can tell;
- an open of a compartment that holds a document (or needs inspection) runs
  only when marked as a service opening with a reason;
- a refusal is reported to the registry (COMMAND_REFUSED) and journalled.

A remote open is recorded like a staff service opening (the same event,
unlock intent and journal), except that `requested_by` is the principal the
registry authenticated: it goes into the event's detail, never into the
staff ids, because it is not a staff member's card login.

`command_refusal` and `command_effects` are pure; the core runs the latter
on its thread with the compartment as it is at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from common import convert
from kiosk.domain.compartment import Compartment, CompartmentState
from kiosk.domain.effects import (
    Effect,
    ReportEvent,
    SetInService,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from pickupbox.registry.v1 import registry_pb2 as pb

DEFAULT_EXPIRY = timedelta(minutes=5)
OPEN = "open"
OUT_OF_SERVICE = "out_of_service"
IN_SERVICE = "in_service"
RESYNC = "resync"
_TYPES = {
    pb.COMMAND_TYPE_OPEN_COMPARTMENT: OPEN,
    pb.COMMAND_TYPE_SET_OUT_OF_SERVICE: OUT_OF_SERVICE,
    pb.COMMAND_TYPE_SET_IN_SERVICE: IN_SERVICE,
    pb.COMMAND_TYPE_RESYNC: RESYNC,
}
_HOLDS_SOMETHING = (
    CompartmentState.OCCUPIED,
    CompartmentState.RESERVED,
    CompartmentState.NEEDS_INSPECTION,
)


@dataclass(frozen=True)
class RemoteCommand:
    command_id: str
    kind: str  # OPEN, OUT_OF_SERVICE, IN_SERVICE, RESYNC or "" (unknown)
    compartment: int = 0
    reason: str = ""
    requested_by: str = ""  # the registry's principal, not a staff id
    create_time: datetime | None = None
    expire_time: datetime | None = None
    service_opening: bool = False

    @property
    def expires_at(self) -> datetime | None:
        if self.expire_time is not None:
            return self.expire_time
        return self.create_time + DEFAULT_EXPIRY if self.create_time is not None else None

    @property
    def requester(self) -> str:
        return (
            f"registry principal {self.requested_by!r}"
            if self.requested_by
            else "the registry (no principal)"
        )


def from_proto(message: pb.RemoteCommand) -> RemoteCommand:
    def time(field: str) -> datetime | None:
        return convert.from_timestamp(getattr(message, field)) if message.HasField(field) else None

    return RemoteCommand(
        command_id=message.command_id,
        kind=_TYPES.get(message.type, ""),
        compartment=message.compartment_number,
        reason=message.reason.strip(),
        requested_by=message.requested_by,
        create_time=time("create_time"),
        expire_time=time("expire_time"),
        service_opening=message.service_opening,
    )


def command_refusal(
    command: RemoteCommand, now: datetime, started_at: datetime, compartment: Compartment | None
) -> str | None:
    """Why the kiosk refuses the command (None: carry it out).

    `started_at` is when this kiosk process started, on the trusted clock,
    which the registry's time sets: so it compares with the registry's
    create_time without the kiosk's own wall clock in between.
    """
    if not command.kind:
        return "unknown command type"
    expires = command.expires_at
    if expires is not None and now >= expires:
        return f"expired at {expires.isoformat(timespec='seconds')}"
    if command.kind == RESYNC:
        return None
    if compartment is None:
        return f"compartment {command.compartment} is not in this kiosk"
    if command.kind != OPEN:
        return None
    if command.create_time is None:
        return "a remote open without create_time: its age is unknown, so it is not run"
    if command.create_time < started_at:
        return (
            f"sent at {command.create_time.isoformat(timespec='seconds')}, "
            "before this kiosk started: "
            "a remote open never runs unattended at start-up; send it again"
        )
    if compartment.order_reference or compartment.state in _HOLDS_SOMETHING:
        if not (command.service_opening and command.reason):
            return (
                f"compartment {compartment.number} holds a document ({compartment.state.value}): "
                "only a service opening with a reason opens it"
            )
    return None


def command_effects(
    command: RemoteCommand, now: datetime, started_at: datetime, compartment: Compartment | None
) -> list[Effect]:
    """What carrying out (or refusing) the command records and does."""
    why = command_refusal(command, now, started_at, compartment)
    number = command.compartment if compartment is not None else 0
    if why is not None:
        return [
            ReportEvent(
                EventType.COMMAND_REFUSED,
                f"command {command.command_id} ({command.kind or 'unknown'}) from "
                f"{command.requester} refused: {why}",
                compartment=number,
            )
        ]
    detail = f"remote, requested by {command.requester}: {command.reason or 'no reason given'}"
    if command.kind == OPEN:
        return [
            ReportEvent(EventType.COMPARTMENT_SERVICE_OPENED, detail, compartment=number),
            UnlockCompartment(number, UnlockPurpose.SERVICE, ""),
        ]
    if command.kind == OUT_OF_SERVICE:
        return [SetOutOfService(number, detail)]
    if command.kind == IN_SERVICE:
        return [SetInService(number)]
    return []
