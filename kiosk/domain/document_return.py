"""The optional "return your old ID card" step after a pickup.

Some municipalities want the citizen's old ID card back when the new one is
collected (the Dokumentenausgabebox boxes take it in). When the kiosk config
names a return compartment, a citizen who has just collected an ID card or
an electronic residence permit is asked to lay the old card on the reader::

    off ─offer─▶ offered ─German eID on the reader─▶ door_opening
        ─door opened─▶ door_open ─door closed─▶ returned ─▶ off
    offered ─other card─▶ not_an_eid (try again) ; offered ─skip/timeout─▶ off

The card is recognised only as *a German eID card*, from EF.CardAccess,
which needs no PACE; no personal data is read (§18a PAuswG needs a photo
check with the person present for that). So the box cannot tell whose card
it is: the return is recorded against the order just collected, and staff
check the cards when they empty the return compartment. Like the pickup
session, this machine does no I/O and returns effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from kiosk.domain.effects import (
    Effect,
    ReportEvent,
    SessionStateError,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType
from kiosk.domain.pickup_order import DocumentKind

# Documents whose predecessor is a German eID card the box can recognise.
RETURNABLE_KINDS = frozenset({DocumentKind.ID_CARD, DocumentKind.RESIDENCE_PERMIT})


class ReturnState(str, Enum):
    OFF = "off"
    OFFERED = "offered"  # "lay your old ID card on the reader, or skip"
    NOT_AN_EID = "not_an_eid"  # a card that is not a German eID card: try again or skip
    DOOR_OPENING = "door_opening"
    DOOR_OPEN = "door_open"  # "put the card into compartment N and close the door"
    RETURNED = "returned"  # thank you
    DOOR_FAILED = "door_failed"  # keep the card, hand it in at the office


ACTIVE_STATES = frozenset(set(ReturnState) - {ReturnState.OFF})


@dataclass(frozen=True)
class ReturnPolicy:
    compartment: int | None = None  # None: the step is switched off
    offer_timeout: timedelta = timedelta(seconds=60)
    door_opening_timeout: timedelta = timedelta(seconds=15)
    door_open_timeout: timedelta = timedelta(minutes=2)
    result_timeout: timedelta = timedelta(seconds=10)


class DocumentReturn:
    def __init__(self, policy: ReturnPolicy, has_door_sensors: bool):
        self.policy = policy
        self.has_door_sensors = has_door_sensors
        self._enter(ReturnState.OFF, None)
        self._order_reference = ""

    @property
    def state(self) -> ReturnState:
        return self._state

    @property
    def active(self) -> bool:
        return self._state in ACTIVE_STATES

    @property
    def compartment(self) -> int | None:
        return self.policy.compartment if self._state in ACTIVE_STATES else None

    @property
    def expires_at(self) -> datetime | None:
        return self._expires_at

    def offer(self, order_reference: str, kind: DocumentKind, now: datetime) -> list[Effect]:
        """Called after a handover; offers the step if it applies to this document."""
        if self.policy.compartment is None or kind not in RETURNABLE_KINDS or self.active:
            return []
        self._order_reference = order_reference
        self._enter(ReturnState.OFFERED, now + self.policy.offer_timeout)
        return []

    def card_presented(self, german_eid: bool, now: datetime) -> list[Effect]:
        if self._state not in (ReturnState.OFFERED, ReturnState.NOT_AN_EID):
            return []
        if not german_eid:
            self._enter(ReturnState.NOT_AN_EID, now + self.policy.offer_timeout)
            return []
        self._enter(ReturnState.DOOR_OPENING, now + self.policy.door_opening_timeout)
        if self.policy.compartment is None:
            raise SessionStateError("no return compartment is configured")
        return [UnlockCompartment(self.policy.compartment, UnlockPurpose.RETURN, self._order_reference)]

    def unlock_result(self, compartment: int, acknowledged: bool, detail: str, now: datetime) -> list[Effect]:
        if self._state is not ReturnState.DOOR_OPENING or compartment != self.policy.compartment:
            return []
        if not acknowledged:
            return self._door_failed(now, detail or "the return compartment did not unlock")
        if not self.has_door_sensors:
            self._enter(ReturnState.DOOR_OPEN, now + self.policy.door_open_timeout)
        return []

    def door_opened(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state is ReturnState.DOOR_OPENING and compartment == self.policy.compartment:
            self._enter(ReturnState.DOOR_OPEN, now + self.policy.door_open_timeout)
        return []

    def door_failed(self, compartment: int, detail: str, now: datetime) -> list[Effect]:
        if self._state is ReturnState.DOOR_OPENING and compartment == self.policy.compartment:
            return self._door_failed(now, detail or "the return compartment did not open")
        return []

    def door_closed(self, compartment: int, now: datetime) -> list[Effect]:
        if self._state is ReturnState.DOOR_OPEN and compartment == self.policy.compartment:
            return self._returned(now)
        return []

    def confirm_door_closed(self, now: datetime) -> list[Effect]:
        """The person says the door is shut; only trusted on banks without sensors."""
        if self._state is ReturnState.DOOR_OPEN and not self.has_door_sensors:
            return self._returned(now)
        return []

    def skip(self, now: datetime) -> list[Effect]:
        """The citizen has no old card with them (it can be handed in at the office)."""
        if self._state in (ReturnState.OFFERED, ReturnState.NOT_AN_EID, ReturnState.RETURNED,
                           ReturnState.DOOR_FAILED):
            self._enter(ReturnState.OFF, None)
        return []

    def tick(self, now: datetime) -> list[Effect]:
        if self._expires_at is None or now < self._expires_at:
            return []
        if self._state is ReturnState.DOOR_OPENING:
            return self._door_failed(now, "no door-open signal in time")
        if self._state is ReturnState.DOOR_OPEN:
            # Left open: the card is inside or was never put in; staff look.
            effects: list[Effect] = [ReportEvent(EventType.DOOR_LEFT_OPEN, "return compartment left open",
                                                 self._order_reference, self.policy.compartment or 0)]
            self._enter(ReturnState.OFF, None)
            return effects
        self._enter(ReturnState.OFF, None)
        return []

    # ----------------------------------------------------------- helpers

    def _returned(self, now: datetime) -> list[Effect]:
        self._enter(ReturnState.RETURNED, now + self.policy.result_timeout)
        return [ReportEvent(EventType.OLD_DOCUMENT_RETURNED, "old ID card put into the return compartment",
                            self._order_reference, self.policy.compartment or 0)]

    def _door_failed(self, now: datetime, detail: str) -> list[Effect]:
        self._enter(ReturnState.DOOR_FAILED, now + self.policy.result_timeout)
        return [ReportEvent(EventType.DOOR_FAILED, detail, self._order_reference, self.policy.compartment or 0)]

    def _enter(self, state: ReturnState, expires_at: datetime | None) -> None:
        self._state = state
        self._expires_at = expires_at
        if state is ReturnState.OFF:
            self._order_reference = ""
