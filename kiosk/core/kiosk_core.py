"""The kiosk core: the inputs, the handlers and the sessions they drive.

Inputs (citizen and staff intents, hardware events, remote commands, clock
ticks) arrive on one queue and are handled one at a time on the core
thread, so no two inputs ever race on a compartment. Each input goes to the
pickup or staff session, which returns effects; the core carries out each
effect as one store transaction (journal and outbox included) and sends
unlock pulses to the locker bank.

Nothing here imports Kivy or gRPC: the UI and the uplink talk to the core
through its public methods and read immutable `KioskView` snapshots.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from datetime import datetime, timedelta, timezone

from common import credentials
from hardware.errors import HardwareError
from hardware.interfaces import (
    CardEvent,
    CardEventKind,
    CardReader,
    CodeScanner,
    DeviceHealth,
    DoorEvent,
    DoorEventKind,
    HealthStatus,
    LockerBank,
    ScanEvent,
)
from kiosk.clock import TrustedClock, describe_offset
from kiosk.core.effect_handlers import record_change, record_effect
from kiosk.core.loop import CoreLoop
from kiosk.core.view import ClockStep, KioskView, device_health, snapshot
from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from kiosk.domain.document_return import DocumentReturn, ReturnPolicy, ReturnState
from kiosk.domain.effects import (
    Effect,
    InspectionOutcome,
    Problem,
    ReportEvent,
    SetInService,
    SetOutOfService,
    UnlockCompartment,
    UnlockPurpose,
)
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.inspection import DoorReading, reconcile_intent, settle_at_start
from kiosk.domain.intents import UnlockIntent
from kiosk.domain.records import Change, FinishIntents, expire_order, free_open_compartment
from kiosk.domain.pickup_order import OrderStatus, PickupOrder
from kiosk.domain.pickup_session import DOOR_STATES as PICKUP_DOOR_STATES
from kiosk.domain.pickup_session import PickupPolicy, PickupSession, PickupState
from kiosk.domain.staff import StaffRecord
from kiosk.domain.staff_session import DOOR_STATES as STAFF_DOOR_STATES
from kiosk.domain.staff_session import StaffPolicy, StaffSession, StaffState, removable_orders
from kiosk.domain.throttle import AttemptThrottle
from kiosk.guards import StaffCardGuard
from kiosk.remote_commands import RemoteCommand, command_effects, command_refusal
from kiosk.store import KioskStore, StorageFault
from kiosk.store.faults import fault_point

log = logging.getLogger("kiosk.core")

# Openings that record nothing when their door closes (see _finish_idle_intents).
_FINISHED_BY_CLOSING = (UnlockPurpose.SERVICE, UnlockPurpose.RETURN)
_RETURN_DOOR_STATES = (ReturnState.DOOR_OPENING, ReturnState.DOOR_OPEN)

CREDENTIAL_POLICY_KEY = "credential_policy"
# The health of the help-call device is reported as "help call: <its name>".
HELP_CALL_PREFIX = "help call: "


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CredentialContext:
    """How this deployment hashes codes and card UIDs (from the registry)."""

    lookup_salt: bytes
    params: credentials.KdfParams

    def to_json(self) -> str:
        p = self.params
        return json.dumps({"salt": self.lookup_salt.hex(), "n": p.n, "r": p.r, "p": p.p})

    @classmethod
    def from_json(cls, text: str) -> CredentialContext:
        d = json.loads(text)
        return cls(bytes.fromhex(d["salt"]), credentials.KdfParams(d["n"], d["r"], d["p"]))


def layout_from_bank(bank: LockerBank) -> list[Compartment]:
    return [
        Compartment(s.number, Size(s.size), s.column, s.row, HeightClass(s.height_class))
        for s in bank.layout()
    ]


class KioskCore(CoreLoop):
    def __init__(
        self,
        store: KioskStore,
        bank: LockerBank,
        *,
        card_reader: CardReader | None = None,
        scanner: CodeScanner | None = None,
        barcode_scanner: CodeScanner | None = None,
        help_call: Any = None,
        pickup_policy: PickupPolicy = PickupPolicy(),
        staff_policy: StaffPolicy = StaffPolicy(),
        return_policy: ReturnPolicy = ReturnPolicy(),
        clock: Callable[[], datetime] = utc_now,
        on_outbox: Callable[[], None] = lambda: None,
    ):
        super().__init__()
        self.store = store
        self.bank = bank
        self.card_reader = card_reader
        # A second reader of codes, e.g. a keyboard-wedge scanner for staff
        # deposits; it runs with the camera, on the same screens.
        self.scanners = [s for s in (scanner, barcode_scanner) if s is not None]
        # The optional help-call device (hardware.help_call): the UI places the
        # calls; the core reports its health with the other devices.
        self.help_call = help_call
        self.clock = clock
        self.on_outbox = on_outbox
        self.pickup = PickupSession(pickup_policy, AttemptThrottle(), bank.has_door_sensors)
        self.staff = StaffSession(staff_policy, AttemptThrottle(free_failures=3, alarm_after=5))
        self.document_return = DocumentReturn(return_policy, bank.has_door_sensors)
        self._last_expiry_check: datetime | None = None
        self._last_health: dict[str, DeviceHealth] = {}
        # Compartments opened by a remote command whose door has not closed yet.
        self._remote_opens: set[int] = set()
        # Guards wired in by kiosk.app (kiosk.guards): run on every tick, and
        # the per-card staff PIN limit.
        self.tick_hooks: list[Callable[[datetime], list[Effect]]] = []
        self.staff_cards: StaffCardGuard | None = None
        # The trusted clock (kiosk.clock) when `clock` is its `now`: staff
        # confirm a large wall-clock step through it (confirm_clock).
        self.trusted_clock: TrustedClock | None = None
        self._unsubscribe: list[Callable[[], None]] = [
            bank.subscribe(lambda e: self._post(self._on_door_event, e))
        ]
        if card_reader is not None:
            self._unsubscribe.append(
                card_reader.subscribe(lambda e: self._post(self._on_card_event, e))
            )
        for code_reader in self.scanners:
            self._unsubscribe.append(
                code_reader.subscribe(lambda e: self._post(self._on_scan_event, e))
            )
        store.install_layout(self._deposit_layout(return_policy.compartment))
        self._storage_alarm: tuple[datetime, str] | None = None
        self._reconcile_pending = False
        self._reconcile()

    def _deposit_layout(self, return_compartment: int | None) -> list[Compartment]:
        """The bank's compartments, without the one that takes back old ID cards."""
        layout = layout_from_bank(self.bank)
        if return_compartment is None:
            return layout
        if return_compartment not in {c.number for c in layout}:
            raise ValueError(f"return compartment {return_compartment} is not in the locker bank's layout")
        known = self.store.compartment(return_compartment)
        if known is not None and known.order_reference:
            raise ValueError(
                f"compartment {return_compartment} holds order {known.order_reference}; remove the "
                "document before making it the return compartment"
            )
        if known is not None and known.state is not CompartmentState.OUT_OF_SERVICE:
            # Used for deposits before: keep it out of the deposit choice.
            with self.store.transaction() as tx:
                self.store.save_compartment(tx, known.with_state(CompartmentState.OUT_OF_SERVICE))
                self.store.journal(tx, self.clock(), "return_compartment", compartment=return_compartment)
        return [c for c in layout if c.number != return_compartment]

    # ------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._set_scanning(False)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._stop_loop()

    # ----------------------------------------------------- citizen intents

    def submit_code(self, raw: str | bytes) -> KioskView:
        return self._call(self._submit_code, raw)

    def submit_pin(self, pin: str) -> KioskView:
        return self._call(lambda: self._apply(self.pickup.submit_pin(pin, self.clock())))

    def confirm_pin_letter(self, confirmed: bool) -> KioskView:
        return self._call(lambda: self._apply(self.pickup.confirm_pin_letter(confirmed, self.clock())))

    def confirm_door_closed(self) -> KioskView:
        """Door-closed confirmation from the screen (banks without sensors)."""

        def run():
            now = self.clock()
            handing_over = self.pickup.state is not PickupState.DONE
            for effects in (self.pickup.confirm_door_closed(now), self.staff.confirm_door_closed(now),
                            self.document_return.confirm_door_closed(now)):
                self._apply(effects)
            if not self.bank.has_door_sensors:
                self._settle_open_compartments()
            if handing_over:
                self._offer_return(now)

        return self._call(run)

    def cancel(self) -> KioskView:
        return self._call(lambda: self._apply(self.pickup.cancel(self.clock())))

    def report_problem(self, problem: Problem | str) -> KioskView:
        """The citizen reports a problem at the door: an alarm with the order,
        and the handover held until staff inspect (kiosk.domain.problem_report)."""
        return self._call(lambda: self._apply(self.pickup.report_problem(Problem(problem), self.clock())))

    def skip_return(self) -> KioskView:
        """The citizen does not return an old ID card now (or has read the result)."""
        return self._call(lambda: self._apply(self.document_return.skip(self.clock())))

    def extend_time(self) -> KioskView:
        def run():
            now = self.clock()
            self.pickup.extend(now)
            self.staff.touch(now)

        return self._call(run)

    # ------------------------------------------------------- staff intents

    def present_staff_card(self, uid: str) -> KioskView:
        return self._call(self._staff_card, uid)

    def staff_pin(self, pin: str) -> KioskView:
        def run():
            effects = self.staff.submit_pin(pin, self.clock(), self._find_staff)
            if self.staff_cards is not None:  # counts the PIN against the card
                effects += self.staff_cards.after_pin(effects, self.clock())
            self._apply(effects)

        return self._call(run)

    def start_deposit(self) -> KioskView:
        return self._call(lambda: self._apply(self.staff.start_deposit(self.clock())))

    def submit_reference(self, reference: str) -> KioskView:
        return self._call(self._submit_reference, reference)

    def abort_deposit(self) -> KioskView:
        return self._call(lambda: self._apply(self.staff.abort_deposit(self.clock())))

    def finish_deposits(self) -> KioskView:
        return self._call(lambda: self._apply(self.staff.finish_deposits(self.clock())))

    def start_removal(self) -> KioskView:
        def run():
            now = self.clock()
            self._expire_orders(now)
            due = removable_orders(self.store.orders(), self.store.compartments(), now)
            self._apply(self.staff.start_removal(due, now))

        return self._call(run)

    def open_for_service(self, compartment: int, reason: str) -> KioskView:
        return self._call(lambda: self._apply(self.staff.open_for_service(compartment, reason, self.clock())))

    def set_out_of_service(self, compartment: int, reason: str) -> KioskView:
        return self._call(lambda: self._apply(self.staff.set_out_of_service(compartment, reason, self.clock())))

    def set_in_service(self, compartment: int) -> KioskView:
        return self._call(lambda: self._apply(self.staff.set_in_service(compartment, self.clock())))

    def start_inspection(self, compartment: int) -> KioskView:
        """Staff open a compartment that needs inspection to see what is inside."""
        return self._call(lambda: self._apply(
            self.staff.start_inspection(self.store.compartment(compartment), self.clock())))

    def resolve_inspection(self, outcome: InspectionOutcome | str) -> KioskView:
        """Staff say what they found: the document, nothing, or something else."""
        return self._call(lambda: self._apply(
            self.staff.resolve_inspection(InspectionOutcome(outcome), self.clock())))

    def confirm_clock(self, correct: bool) -> KioskView:
        """Staff say whether the wall clock is right after a large step the registry did not confirm.

        Yes: trusted time follows the wall clock from now (orders may expire);
        no: trusted time goes on as before. Either answer is journalled with
        the staff ids and reported (EVENT_TYPE_CLOCK_STEP).
        """

        def run():
            clock = self.trusted_clock
            step = clock.step_to_confirm() if clock is not None else None
            if step is None or self.staff.state is not StaffState.MENU:
                return
            who = self.staff.staff_ids
            if correct:
                clock.confirm_wall_clock(who)
            else:
                clock.deny_wall_clock(who)
            *earlier, answer = clock.take_reports()
            events = [KioskEvent(EventType.CLOCK_STEP, self.clock(), detail=d) for d in earlier]
            events.append(KioskEvent(EventType.CLOCK_STEP, self.clock(), staff_ids=who, detail=answer))
            entry = ("clock_confirmation", {"staff": list(who), "correct": bool(correct),
                                            "offset": describe_offset(step[0]),
                                            "wall_clock": step[1].isoformat()})
            if self._record(Change(events=tuple(events), journal=(entry,)), "clock_confirmation"):
                self.on_outbox()

        return self._call(run)

    def logout(self) -> KioskView:
        return self._call(lambda: self._apply(self.staff.logout(self.clock())))

    # ------------------------------------------------------ other inputs

    def remote_open(self, compartment: int, reason: str, requested_by: str) -> KioskView:
        """The office opens a compartment (an authorised staff action, audited)."""

        def run():
            if self.store.compartment(compartment) is None:
                log.warning("remote open for unknown compartment %s ignored", compartment)
                return
            who = (requested_by or "office",)
            self._remote_opens.add(compartment)
            self._apply([
                ReportEvent(EventType.COMPARTMENT_SERVICE_OPENED, f"remote: {reason}", compartment=compartment,
                            staff_ids=who),
                UnlockCompartment(compartment, UnlockPurpose.SERVICE, "", who),
            ])

        return self._call(run)

    def remote_command(self, command: RemoteCommand, started_at: datetime) -> KioskView:
        """A checked remote command (kiosk.remote_commands decides; refusals are reported)."""

        def run():
            compartment = self.store.compartment(command.compartment)
            now = self.clock()
            why = command_refusal(command, now, started_at, compartment)
            try:
                # Audited before it acts: a command that cannot be recorded is not run.
                with self.store.transaction() as tx:
                    self.store.audit(
                        tx, now,
                        f"registry:{command.requested_by}" if command.requested_by else "registry",
                        "command.refused" if why else "command.executed",
                        target=command.command_id, outcome="denied" if why else "ok",
                        kind=command.kind or "unknown", compartment=command.compartment,
                        reason=command.reason, **({"refusal": why} if why else {}),
                    )
            except StorageFault as exc:
                log.error("remote command %s not run: it cannot be audited (%s)",
                          command.command_id, exc)
                return
            effects = command_effects(command, now, started_at, compartment)
            if any(isinstance(e, UnlockCompartment) for e in effects):
                self._remote_opens.add(command.compartment)
            self._apply(effects)

        return self._call(run)

    def remote_set_service(self, compartment: int, in_service: bool, reason: str, requested_by: str) -> KioskView:
        def run():
            if self.store.compartment(compartment) is None:
                return
            who = (requested_by or "office",)
            effect = SetInService(compartment, who) if in_service else SetOutOfService(compartment, reason, who)
            self._apply([effect])

        return self._call(run)

    def scan_screen(self, visible: bool) -> KioskView:
        """The UI shows (True) or left (False) a screen that reads codes.

        The camera runs only while such a screen is visible, so it never
        watches the lobby and a code held up earlier is not delivered later.
        Starting a camera can block, so it happens on the core thread.
        """
        return self._call(self._set_scanning, visible)

    def write(self, fn: Callable[..., Any], *args) -> Any:
        """Runs a store write of the uplink (sync merge, acknowledgement) on the core thread.

        The uplink reads the store from its own threads but writes only
        through here, as one input among the others: a merge never races a
        deposit or a handover the core is recording. Returns what fn returns
        (a view if nothing); a StorageFault reaches the caller.
        """
        return self._call(fn, *args)

    def tick(self) -> KioskView:
        return self._call(self._tick)

    def view(self) -> KioskView:
        return self._call(lambda: None)

    # ---------------------------------------------------------- handlers

    def _submit_code(self, raw: str | bytes) -> None:
        if self.staff.state is not StaffState.LOGGED_OUT:
            return
        self._apply(self.pickup.submit_code(raw, self.clock(), self._find_order, self._in_service))

    def _staff_card(self, uid: str) -> None:
        if self.pickup.state is not PickupState.IDLE:
            return  # a citizen is in the middle of a pickup
        try:
            self._apply(self.staff.card_presented(uid, self.clock()))
        except credentials.CredentialFormatError as exc:
            log.warning("unreadable staff card: %s", exc)

    def _submit_reference(self, reference: str) -> None:
        self._apply(
            self.staff.submit_reference(reference, self.clock(), self.store.order, self.store.compartments())
        )

    def _on_door_event(self, event: DoorEvent) -> None:
        now = self.clock()
        n = event.compartment
        if event.kind is DoorEventKind.FORCED_OPEN:
            # The one alarm a technician looks for in the journal first.
            log.warning("compartment %d: door forced open (no unlock command); out of service", n)
            self._apply([
                ReportEvent(EventType.DOOR_FORCED, event.detail or "door opened without an unlock command",
                            compartment=n),
                SetOutOfService(n, "door forced open: check the compartment"),
            ])
            return
        if event.kind is DoorEventKind.OPENED:
            self._apply(self.pickup.door_opened(n, now))
            self._apply(self.document_return.door_opened(n, now))
        elif event.kind is DoorEventKind.UNLOCK_FAILED:
            self._apply(self.pickup.door_failed(n, event.detail, now))
            self._apply(self.staff.door_failed(n, event.detail, now))
            self._apply(self.document_return.door_failed(n, event.detail, now))
            if n in self._remote_opens:
                self._remote_open_failed(n, event.detail)
        elif event.kind is DoorEventKind.CLOSED:
            self._remote_opens.discard(n)
            handing_over = self.pickup.state is PickupState.DOOR_OPEN
            self._apply(self.pickup.door_closed(n, now))
            self._apply(self.staff.door_closed(n, now))
            self._apply(self.document_return.door_closed(n, now))
            self._settle_compartment(n)
            if handing_over and self.pickup.state is PickupState.DONE:
                self._offer_return(now)

    def _offer_return(self, now: datetime) -> None:
        """After a handover: ask for the old ID card if the document replaces one."""
        # From the session, not the store: the store may already have dropped
        # the order once the registry confirmed the collection.
        reference, kind = self.pickup.order_reference, self.pickup.document_kind
        if reference and kind:
            self._apply(self.document_return.offer(reference, kind, now))

    def _set_scanning(self, visible: bool) -> None:
        for code_reader in self.scanners:
            try:
                code_reader.start() if visible else code_reader.stop()
            except HardwareError as exc:  # health() reports the camera; the UI offers the keypad
                log.warning("code scanner %s failed: %s", "start" if visible else "stop", exc)

    def _on_card_event(self, event: CardEvent) -> None:
        if event.kind is not CardEventKind.PRESENTED:
            return
        if self.document_return.state in (ReturnState.OFFERED, ReturnState.NOT_AN_EID):
            # The citizen's old ID card, not a staff card: only "is it a German
            # eID card" is known, nothing is read from it.
            self._apply(self.document_return.card_presented(event.german_eid, self.clock()))
        elif event.uid:
            self._staff_card(event.uid.hex().upper())

    def _on_scan_event(self, event: ScanEvent) -> None:
        if self.staff.state is StaffState.DEPOSIT_AWAITING_REFERENCE:
            try:
                reference = event.payload.decode("utf-8")
            except UnicodeDecodeError:
                reference = ""  # the staff session reports it as not a reference
            self._submit_reference(reference)
        elif self.staff.state is StaffState.LOGGED_OUT:
            self._submit_code(event.payload)

    def _tick(self) -> None:
        now = self.clock()
        self._check_storage(now)
        self._apply(self.pickup.tick(now))
        self._apply(self.staff.tick(now))
        self._apply(self.document_return.tick(now))
        if self._last_expiry_check is None or now - self._last_expiry_check > timedelta(minutes=1):
            self._expire_orders(now)
        self._report_health_changes()
        for hook in self.tick_hooks:
            self._apply(hook(now))

    def _check_storage(self, now: datetime) -> None:
        """After a failed write: probe until writes work, then raise the alarm and tidy up."""
        if self.store.fault is not None:
            if self._storage_alarm is None:
                self._storage_alarm = (self.store.fault_since or now, self.store.fault)
            if not self.store.probe():
                return
        if self._storage_alarm is not None:
            since, detail = self._storage_alarm
            # The first write that works carries the alarm (nothing could be
            # queued while the disk was full; the heartbeat showed FAILED).
            event = KioskEvent(EventType.STORAGE_FAULT, since,
                               detail=f"store: {detail}; writes failed from "
                                      f"{since.isoformat(timespec='seconds')} until "
                                      f"{now.isoformat(timespec='seconds')}")
            try:
                recorded = self._record(Change(events=(event,)), "storage_alarm")
            except StorageFault:
                return  # full again: the next try carries it
            if recorded:
                self._storage_alarm = None
                self._reconcile_pending = True
                self.on_outbox()
        if self._reconcile_pending and self._idle():
            # Unlocks whose outcome could not be written are settled like after a crash.
            self._reconcile_pending = False
            self._reconcile()

    def _idle(self) -> bool:
        return (self.pickup.state not in PICKUP_DOOR_STATES
                and self.staff.state not in STAFF_DOOR_STATES
                and self.document_return.state not in _RETURN_DOOR_STATES
                and not self._remote_opens)

    def _report_health_changes(self) -> None:
        """A device that fails or recovers is reported to the registry once."""
        current = {h.device: h for h in self._device_health()}
        for name, health in current.items():
            before = self._last_health.get(name)
            if before is None and health.status is HealthStatus.OK:
                continue
            if before is None or before.status is not health.status:
                self._apply([ReportEvent(EventType.DEVICE_FAULT,
                                         f"{name}: {health.status.value} {health.detail}".strip())])
        self._last_health = current

    def _expire_orders(self, now: datetime) -> None:
        self._last_expiry_check = now
        in_handover = self.pickup.order_reference
        for order in self.store.orders((OrderStatus.DEPOSITED,)):
            # The order being handed out right now is not expired under the
            # citizen's hands: its deadline was checked when the PIN was right.
            if order.reference != in_handover and self._record(expire_order(order, now), "expire"):
                self.on_outbox()

    def _settle_compartment(self, number: int) -> None:
        """A door closed: a compartment emptied by a handover is free again."""
        compartment = self.store.compartment(number)
        if compartment is not None:
            self._record(free_open_compartment(compartment), "free")
        self._finish_idle_intents()

    def _settle_open_compartments(self) -> None:
        for compartment in self.store.compartments():
            self._record(free_open_compartment(compartment), "free")
        self._finish_idle_intents()

    def _finish_idle_intents(self) -> None:
        """Service and return openings are over once their door is shut and no session holds it.

        Deposits, handovers and removals are finished by the transaction that
        records them; these two record nothing when the door closes.
        """
        busy = set(self._remote_opens)
        if self.staff.state is StaffState.SERVICE_DOOR_OPEN and (
                self.staff.current_compartment is not None):
            busy.add(self.staff.current_compartment)
        if self.document_return.state in _RETURN_DOOR_STATES and (
                self.document_return.compartment is not None):
            busy.add(self.document_return.compartment)
        idle = {i.compartment for i in self.store.open_intents()
                if i.purpose in _FINISHED_BY_CLOSING and i.compartment not in busy}
        for number in sorted(idle):
            done = Change(finished=(FinishIntents(number, _FINISHED_BY_CLOSING),))
            self._record(done, "finish_intent")

    def _record(self, change: Change, point: str) -> bool:
        return record_change(self.store, change, self.clock(), point)

    # ---------------------------------------------------------- start-up

    def _reconcile(self) -> None:
        """Before anyone is served: settle every unlock the last run left unfinished.

        The intents say what the kiosk was doing; the door sensors say what the
        doors are doing now. What cannot be known goes to NEEDS_INSPECTION.
        """
        try:
            self._reconcile_intents()
        except StorageFault as exc:
            log.error("start-up reconciliation postponed until writes work: %s", exc)
            self._reconcile_pending = True

    def _reconcile_intents(self) -> None:
        now = self.clock()
        for intent in self.store.open_intents():
            compartment = self.store.compartment(intent.compartment)
            order = self.store.order(intent.order_reference) if intent.order_reference else None
            door = self._door(intent.compartment)
            change = reconcile_intent(intent, compartment, order, door, now)
            if change.events:
                log.warning("start-up: %s", "; ".join(e.detail for e in change.events))
            self._record(change, "reconcile")
        # Every intent is settled now, so what is still RESERVED never had its
        # door unlocked, and what is OPEN had its handover recorded.
        for compartment in self.store.compartments():
            door = self._door(compartment.number)
            self._record(settle_at_start(compartment, door, self.bank.has_door_sensors), "settle")

    def _door(self, number: int) -> DoorReading:
        try:
            return DoorReading(self.bank.door_state(number).value)
        except (HardwareError, ValueError, KeyError) as exc:
            log.warning("door %s unreadable at start-up: %s", number, exc)
            return DoorReading.UNKNOWN

    # -------------------------------------------------------- credentials

    def credential_context(self) -> CredentialContext | None:
        text = self.store.meta(CREDENTIAL_POLICY_KEY)
        return CredentialContext.from_json(text) if text else None

    def _find_order(self, code: str) -> PickupOrder | None:
        ctx = self.credential_context()
        if ctx is None:
            return None  # never synced: no order can be known yet
        return self.store.order_by_lookup(credentials.lookup_key(code, ctx.lookup_salt, ctx.params))

    def _in_service(self, number: int) -> bool:
        compartment = self.store.compartment(number)
        return compartment is not None and compartment.state is CompartmentState.OCCUPIED

    def _find_staff(self, uid: str) -> StaffRecord | None:
        ctx = self.credential_context()
        if ctx is None:
            return None
        lookup = credentials.lookup_key(uid, ctx.lookup_salt, ctx.params)
        if self.staff_cards is not None:  # a locked card finds no one
            return self.staff_cards.find(lookup, self.store.staff_by_lookup)
        return self.store.staff_by_lookup(lookup)

    # ------------------------------------------------------------ effects

    def _apply(self, effects: list[Effect]) -> None:
        failed = ""
        for effect in effects:
            if failed and isinstance(effect, UnlockCompartment):
                # What had to be recorded before this door opens was not: no pulse.
                self._unlock_refused(effect, failed)
                continue
            try:
                self._apply_one(effect)
            except StorageFault as exc:
                log.error("could not record %s: %s", type(effect).__name__, exc)
                failed = f"store: {exc}"

    def _apply_one(self, effect: Effect) -> None:
        now = self.clock()
        if isinstance(effect, UnlockCompartment):
            self._unlock(effect, now)
            return
        if record_effect(self.store, effect, now):
            self.on_outbox()

    def _unlock(self, effect: UnlockCompartment, now: datetime) -> None:
        # Write-ahead: what the kiosk is about to do is committed before the
        # pulse, so a crash in between is reconciled at the next start-up.
        # If it cannot be written, no door opens.
        self._check_storage(now)
        if self._reconcile_pending:
            # Writes work again after a fault: what could not be recorded is
            # settled before any door opens (the sessions that held those doors
            # are done: their unlocks could not be recorded either).
            self._reconcile_pending = False
            self._reconcile()
        target = self.store.compartment(effect.compartment)
        if target is not None and target.state is CompartmentState.NEEDS_INSPECTION and (
                effect.purpose is not UnlockPurpose.INSPECTION):
            self._unlock_refused(effect, f"compartment {effect.compartment} needs an inspection")
            return
        letter = effect.purpose is UnlockPurpose.HANDOVER and self.pickup.requires_pin_letter
        intent = UnlockIntent(effect.compartment, effect.purpose, effect.order_reference,
                              effect.staff_ids, letter, now)
        try:
            with self.store.transaction() as tx:
                self.store.add_intent(tx, intent)
                self.store.journal(tx, now, "unlock", compartment=effect.compartment,
                                   purpose=effect.purpose.value, order=effect.order_reference,
                                   staff=list(effect.staff_ids))
                fault_point("intent")
        except StorageFault as exc:
            self._unlock_refused(effect, str(exc))
            return
        fault_point("intent:committed")
        try:
            result = self.bank.unlock(effect.compartment)
            acknowledged, detail = result.acknowledged, result.detail
        except HardwareError as exc:
            acknowledged, detail = False, str(exc)
        fault_point("pulse")
        with self.store.transaction() as tx:
            self.store.journal(tx, self.clock(), "unlock_result", compartment=effect.compartment,
                               acknowledged=acknowledged, detail=detail)
            fault_point("unlock_result")
        fault_point("unlock_result:committed")
        self._unlock_outcome(effect, acknowledged, detail)

    def _unlock_outcome(self, effect: UnlockCompartment, acknowledged: bool, detail: str) -> None:
        now = self.clock()
        self._apply(self.pickup.unlock_result(effect.compartment, acknowledged, detail, now))
        self._apply(self.staff.unlock_result(effect.compartment, acknowledged, detail,
                                             self.bank.has_door_sensors, now))
        self._apply(self.document_return.unlock_result(effect.compartment, acknowledged, detail, now))
        if not acknowledged and effect.compartment in self._remote_opens:
            self._remote_open_failed(effect.compartment, detail)

    def _unlock_refused(self, effect: UnlockCompartment, why: str) -> None:
        """The intent could not be recorded: the sessions hear of a door that did not open."""
        log.error("no unlock of compartment %s (%s): %s",
                  effect.compartment, effect.purpose.value, why)
        self._remote_opens.discard(effect.compartment)
        try:
            self._unlock_outcome(effect, False, why)
        except StorageFault:
            pass  # nothing more can be recorded now; the sessions have moved on

    def _remote_open_failed(self, number: int, detail: str) -> None:
        """A remote open whose door did not open: out of service until staff look (issue 15)."""
        self._remote_opens.discard(number)
        self._apply([
            ReportEvent(EventType.DOOR_FAILED, detail or "the door did not open for a remote open",
                        compartment=number),
            SetOutOfService(number, f"door did not open for a remote open: {detail}"),
        ])

    # -------------------------------------------------------------- view

    def _device_health(self) -> list[DeviceHealth]:
        health = device_health((self.bank, self.card_reader, *self.scanners))
        # Named as a help call, so staff and the registry know what the vendor's name is.
        calls = device_health((self.help_call,))
        return health + [replace(h, device=HELP_CALL_PREFIX + h.device) for h in calls]

    def _health(self) -> list[DeviceHealth]:
        fault = self.store.fault
        store = DeviceHealth("store", HealthStatus.FAILED if fault else HealthStatus.OK, fault or "")
        return [*self._device_health(), store]

    def _view(self) -> KioskView:
        step = self.trusted_clock.step_to_confirm() if self.trusted_clock is not None else None
        return snapshot(self.pickup, self.staff, self.document_return, self.store.compartments(),
                        self.bank.has_door_sensors, self._health(), self._uncertainty,
                        ClockStep(describe_offset(step[0]), step[1]) if step else None,
                        self._deadlines())

    def _deadlines(self) -> list[tuple[int, datetime]]:
        """Where a document waits and until when, for the staff's compartment grid.
        Read only while staff are logged in: a citizen's view never needs it."""
        if self.staff.state is StaffState.LOGGED_OUT:
            return []
        return sorted((o.compartment_number, o.pickup_deadline) for o in self.store.orders()
                      if o.compartment_number is not None and o.pickup_deadline is not None)

    def _uncertainty(self, reference: str) -> str:
        order = self.store.order(reference)
        return order.uncertain.value if order else ""
