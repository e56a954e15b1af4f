"""KioskService: what the terminals call."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from datetime import datetime, timedelta

import grpc
from google.protobuf import json_format

from common import audit_chain
from common.credentials import group_code, qr_payload
from common.faults import fault_point
from registry import validation
from common.convert import (
    audit_entry_from_proto,
    credential_policy_to_proto,
    order_record_from_pickup_order,
    to_timestamp,
)
from registry.aio_calls import in_thread
from registry.auth import Guard, current_peer, current_principal
from registry import sync_cursor
from registry.batching import Batches
from registry.database import (
    DATABASE_UNAVAILABLE,
    DEFAULT_OFFICE,
    Heartbeat,
    RegistryDatabase,
    StoredCommand,
    StoredStaff,
    utcnow,
)
from registry.permissions import check_kiosk
from registry.retention import Retention
from registry.errors import (
    AUDIT_CHAIN_BROKEN,
    INVALID_CURSOR,
    KIOSK_NOT_REGISTERED,
    RegistryError,
    abort_async,
    abort_on_error,
    invalid_argument,
    refuse_async,
)
from registry.events import ORDER_EVENTS, record_event
from registry.notifier import Notifier, ReadyNotice
from registry.wakeup import Wakeup
from registry.messages.hooks import notify_event, notify_heartbeat
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc

log = logging.getLogger(__name__)

# An event report in a group commit: the kiosk, its events, when it arrived.
Report = tuple[str, list[pb.KioskEvent], datetime]

ENDING_EVENTS = frozenset({pb.EVENT_TYPE_ORDER_COLLECTED, pb.EVENT_TYPE_ORDER_REMOVED})
DEFAULT_SYNC_PAGE_SIZE = 500
MAX_SYNC_PAGE_SIZE = 5000
MAX_EVENTS_PER_REPORT = 1000
MAX_EVENT_ID_LENGTH = 128
MAX_AUDIT_ENTRIES_PER_REPORT = 1000


def message_to_json(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class KioskServicer(registry_pb2_grpc.KioskServiceServicer):
    def __init__(
        self,
        db: RegistryDatabase,
        notifier: Notifier,
        office_contact: str,
        stopping: threading.Event,
        guard: Guard,
        retention: Retention,
        *,
        stream_poll_seconds: float = 30.0,
        wakeup: Wakeup | None = None,
        executor: Executor | None = None,
    ) -> None:
        self._db = db
        self._guard = guard
        self._retention = retention
        self._notifier = notifier
        self._office_contact = office_contact
        self._stopping = stopping
        self._stream_poll_seconds = stream_poll_seconds
        self._wakeup = wakeup if wakeup is not None else Wakeup()
        self._executor = executor  # for the database work of the async calls
        self._notice_lock = threading.Lock()
        # Whether a ready notice may wait to be sent (one failed, or none was
        # looked for since the start); an order event may add one anyway.
        self._notices_pending = True
        # Kiosks known to be registered: a registration is never undone, so
        # once seen, a kiosk's row need not be read again for that.
        self._registered_kiosks: set[str] = set()
        # Group commit (registry.batching): the heartbeats that arrive while
        # one batch is stored are the next batch; command streams woken
        # together read their commands in one query.
        self._heartbeats: Batches[tuple[Heartbeat, str], bool] = Batches(
            self._store_heartbeats, "heartbeats")
        self._command_reads: Batches[str, list[StoredCommand]] = Batches(
            self._read_undelivered, "command-reads")
        self._acknowledgements: Batches[tuple[str, tuple[str, ...]], None] = Batches(
            self._store_acknowledgements, "acknowledgements")
        self._reports: Batches[Report, Exception | None] = Batches(
            self._store_reports, "event-reports")

    def close(self) -> None:
        """Ends the threads of the group commits (the server has stopped serving)."""
        for batches in (self._heartbeats, self._command_reads, self._acknowledgements,
                        self._reports):
            batches.close()

    @property
    def notifier(self) -> Notifier:
        return self._notifier

    def _policy(self) -> pb.CredentialPolicy:
        return credential_policy_to_proto(self._db.policy.params, self._db.policy.lookup_salt)

    def _itself(self, kiosk_id: str) -> str:
        """A kiosk acts only as the kiosk its credential names."""
        validation.identifier("kiosk_id", kiosk_id)
        self._guard.require(check_kiosk(current_principal(), kiosk_id), target=kiosk_id)
        return kiosk_id

    def _registered(self, kiosk_id: str) -> str:
        self._itself(kiosk_id)
        if kiosk_id in self._registered_kiosks:
            return kiosk_id
        with self._db.reading() as tx:
            known = tx.get_kiosk(kiosk_id) is not None
        if not known:
            raise _not_registered(kiosk_id)
        self._registered_kiosks.add(kiosk_id)
        return kiosk_id

    @abort_on_error
    def RegisterKiosk(self, request: pb.RegisterKioskRequest, context) -> pb.RegisterKioskResponse:
        kiosk_id = self._itself(request.kiosk_id)
        validation.text("software_version", request.software_version, 100)
        _check_compartments(request.compartments)
        now = utcnow()
        with self._db.transaction() as tx:
            tx.register_kiosk(
                kiosk_id,
                request.software_version,
                [message_to_json(c) for c in request.compartments],
                now,
            )
            tx.audit(f"kiosk:{kiosk_id}", "kiosk.registered",
                     office_id=tx.kiosk_office(kiosk_id) or "",
                     target=kiosk_id, compartments=len(request.compartments),
                     software=request.software_version, peer=current_peer())
        self._registered_kiosks.add(kiosk_id)
        log.info(
            "kiosk %s registered (software %s, %d compartments)",
            kiosk_id, request.software_version or "unknown", len(request.compartments),
        )
        return pb.RegisterKioskResponse(
            credential_policy=self._policy(), server_time=to_timestamp(now)
        )

    async def Heartbeat(self, request: pb.HeartbeatRequest, context) -> pb.HeartbeatResponse:
        """A coroutine: the liveness write joins the next group commit
        (registry.batching), and the answer goes out once that committed."""
        try:
            return await self._heartbeat(request)
        except RegistryError as error:
            return await refuse_async(context, error)

    async def _heartbeat(self, request: pb.HeartbeatRequest) -> pb.HeartbeatResponse:
        kiosk_id = request.kiosk_id
        validation.identifier("kiosk_id", kiosk_id)
        principal = current_principal()
        if not check_kiosk(principal, kiosk_id).allowed:
            # The refusal is audited (a database write): not on the loop.
            await in_thread(self._executor, self._itself, kiosk_id)
        if request.compartments:
            _check_compartments(request.compartments)
        now = utcnow()
        beat = Heartbeat(
            kiosk_id,
            devices=[message_to_json(d) for d in request.devices],
            outbox_backlog=request.outbox_backlog,
            compartments=(
                [message_to_json(c) for c in request.compartments]
                if request.compartments
                else None
            ),
            now=now,
        )
        # The kiosk's office (messages hook: whose staff) is its credential's.
        if not await self._heartbeats.submit((beat, principal.office_id or "")):
            raise _not_registered(kiosk_id)
        return pb.HeartbeatResponse(server_time=to_timestamp(now))

    def _store_heartbeats(self, beats: list[tuple[Heartbeat, str]]) -> list[bool]:
        """One transaction for a batch of heartbeats; per beat whether the kiosk is registered."""
        with self._db.transaction() as tx:
            stored = tx.record_heartbeats([beat for beat, _ in beats])
        for beat, office_id in beats:
            if beat.kiosk_id in stored:
                notify_heartbeat(self._notifier, beat.kiosk_id, beat.now, office_id)  # messages hook
        self._registered_kiosks.update(stored)
        return [beat.kiosk_id in stored for beat, _ in beats]

    @abort_on_error
    def SyncChanges(self, request: pb.SyncChangesRequest, context) -> pb.SyncChangesResponse:
        kiosk_id = self._registered(request.kiosk_id)
        cursor = _parse_cursor(request.cursor)
        after = cursor.after
        page_size = validation.page_size(
            request.page_size, default=DEFAULT_SYNC_PAGE_SIZE, maximum=MAX_SYNC_PAGE_SIZE
        )
        with self._db.reading() as tx:  # one snapshot: the cursor and the changes agree
            current = tx.current_seq()
            if after > current:
                raise RegistryError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    INVALID_CURSOR,
                    f"cursor {request.cursor} is ahead of this registry (was its database"
                    " replaced?): start again with an empty cursor",
                )
            # One more than a page of each, so we know whether more follow.
            # A full sync skips the registry's history (see registry/sync_cursor.py).
            snapshot = None
            if cursor.full:
                snapshot = current if cursor.snapshot is None else cursor.snapshot
            if snapshot is None and after == current:
                # Nothing changed since the cursor (the usual poll): no change
                # in this snapshot is numbered above the registry's counter.
                orders, staff = [], []
            else:
                if snapshot is None:
                    orders = tx.orders_changed_since(kiosk_id, after, page_size + 1)
                else:
                    orders = tx.orders_for_full_sync(kiosk_id, after, snapshot, page_size + 1)
                office_id = current_principal().office_id or DEFAULT_OFFICE
                staff = tx.staff_changed_since(after, page_size + 1, office_id)
        changes = sorted([*orders, *staff], key=lambda change: change.change_seq)
        page = changes[:page_size]
        has_more = len(changes) > page_size
        # Without more pages the kiosk has seen everything up to `current`,
        # including other kiosks' changes it does not need.
        next_cursor = (
            sync_cursor.next_cursor(page[-1].change_seq, snapshot) if has_more else str(current)
        )
        response = pb.SyncChangesResponse(
            next_cursor=next_cursor, has_more=has_more, credential_policy=self._policy()
        )
        for change in page:
            if isinstance(change, StoredStaff):
                response.staff.append(
                    pb.StaffRecord(
                        staff_id=change.staff_id,
                        card_lookup=change.card_lookup,
                        pin_verifier=change.pin_verifier,
                        active=change.active,
                        unlock_generation=change.unlock_generation,
                    )
                )
            else:
                response.orders.append(order_record_from_pickup_order(change.to_domain()))
        return response

    async def ReportEvents(self, request: pb.ReportEventsRequest, context) -> pb.ReportEventsResponse:
        """A coroutine like Heartbeat: the report joins the next group commit
        of reports (registry.batching) and is acknowledged once that committed."""
        try:
            return await self._report_events(request)
        except RegistryError as error:
            return await refuse_async(context, error)

    async def _report_events(self, request: pb.ReportEventsRequest) -> pb.ReportEventsResponse:
        kiosk_id = request.kiosk_id
        validation.identifier("kiosk_id", kiosk_id)
        if not (kiosk_id in self._registered_kiosks
                and check_kiosk(current_principal(), kiosk_id).allowed):
            # A refusal is audited, a kiosk not yet seen is looked up: not on the loop.
            await in_thread(self._executor, self._registered, kiosk_id)
        events = list(request.events)
        if len(events) > MAX_EVENTS_PER_REPORT:
            raise invalid_argument(
                "events", f"at most {MAX_EVENTS_PER_REPORT} events per report; send the rest later"
            )
        for i, event in enumerate(events):
            if not event.event_id or len(event.event_id) > MAX_EVENT_ID_LENGTH:
                raise invalid_argument(
                    f"events[{i}].event_id", f"must be 1 to {MAX_EVENT_ID_LENGTH} characters"
                )
        failure = await self._reports.submit((kiosk_id, events, utcnow()))
        if failure is not None:
            raise failure
        notices = self._notices_pending or any(e.type in ORDER_EVENTS for e in events)
        ending = any(e.type in ENDING_EVENTS for e in events)
        if notices or ending:
            await in_thread(self._executor, self._after_report, notices, ending)
        return pb.ReportEventsResponse(acknowledged_event_ids=[e.event_id for e in events])

    def _after_report(self, notices: bool, ending: bool) -> None:
        if notices:
            # Only an order event can make a notice due (a deposit); others
            # need not look for one.
            self.send_pending_notices()
        if ending:
            self._retention.run()  # the contact goes as soon as the order ended

    def _store_reports(self, reports: list[Report]) -> list[Exception | None]:
        """One transaction for a batch of event reports; per report None once its
        events are stored and applied (each exactly once: registry.events), or
        the error to answer it with.

        Every event is stored with its effect and its audit entry in that one
        transaction. Should the batch fail, each report is tried again in a
        transaction of its own, so that one report that cannot be stored (or a
        database that went away) fails only its own caller."""
        try:
            with self._db.transaction() as tx:
                for kiosk_id, events, now in reports:
                    self._record_report(tx, kiosk_id, events, now)
        except Exception as error:
            if len(reports) == 1 or (isinstance(error, RegistryError)
                                     and error.reason == DATABASE_UNAVAILABLE):
                # A database that is away fails the whole batch at once, not
                # each report after its own wait for a connection.
                return [error] * len(reports)
            return [failure for report in reports for failure in self._store_reports([report])]
        return [self._notify_report(kiosk_id, events) for kiosk_id, events, _ in reports]

    @staticmethod
    def _record_report(tx, kiosk_id: str, events: list[pb.KioskEvent], now: datetime) -> None:
        for event in events:
            record_event(tx, kiosk_id, event, now)
            fault_point("registry:event")
        tx.touch_kiosk(kiosk_id, now)  # the report notes that the kiosk was seen

    def _notify_report(self, kiosk_id: str, events: list[pb.KioskEvent]) -> Exception | None:
        """The messages hook for a stored report's events (after the commit)."""
        try:
            for event in events:
                fault_point("registry:event:committed")
                notify_event(self._notifier, self._db, kiosk_id, event)  # messages hook
                fault_point("registry:event:notified")
        except Exception as error:  # stored all the same: the kiosk's resend is acknowledged
            return error
        return None

    async def StreamCommands(
        self, request: pb.StreamCommandsRequest, context
    ) -> AsyncIterator[pb.StreamCommandsResponse]:
        """A coroutine on the server's loop: waiting costs no thread.

        It wakes when a command is queued for this kiosk (registry.wakeup),
        and every ``stream_poll_seconds`` as a safety net. A cancelled call
        or the server's stop ends it at once (CancelledError at the await).
        A command stays queued until the kiosk acknowledges it: one written
        into a stream that breaks at that moment is sent again on the next.
        """
        try:
            kiosk_id = await in_thread(self._executor, self._registered, request.kiosk_id)
        except RegistryError as error:
            await abort_async(context, error)
        log.info("kiosk %s opened its command stream", kiosk_id)
        # Subscribed before the first read: a command queued in between
        # sets the event, so it is not missed.
        woken = self._wakeup.subscribe(kiosk_id)
        sent: set[int] = set()
        try:
            while not self._stopping.is_set():
                woken.clear()
                try:
                    pending = await self._command_reads.submit(kiosk_id)
                except RegistryError as error:
                    # The database is away (PostgreSQL restarting): UNAVAILABLE,
                    # so the kiosk opens its stream again later, maybe elsewhere.
                    await abort_async(context, error)
                for command in (c for c in pending if c.seq not in sent):
                    sent.add(command.seq)
                    yield pb.StreamCommandsResponse(command=_command_to_proto(command))
                if self._stopping.is_set():
                    break
                try:
                    await asyncio.wait_for(woken.wait(), self._stream_poll_seconds)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._wakeup.unsubscribe(kiosk_id, woken)
        log.info("kiosk %s command stream ended", kiosk_id)

    def _read_undelivered(self, kiosk_ids: list[str]) -> list[list[StoredCommand]]:
        """The queued commands of the streams that asked meanwhile, in one read."""
        with self._db.reading() as tx:
            found = tx.undelivered_commands_of(kiosk_ids)
        return [found[kiosk_id] for kiosk_id in kiosk_ids]

    async def AcknowledgeCommands(
        self, request: pb.AcknowledgeCommandsRequest, context
    ) -> pb.AcknowledgeCommandsResponse:
        """A coroutine like Heartbeat: after a burst of commands every kiosk
        acknowledges at once, and those acknowledgements share a commit."""
        try:
            kiosk_id = request.kiosk_id
            validation.identifier("kiosk_id", kiosk_id)
            if (not check_kiosk(current_principal(), kiosk_id).allowed
                    or kiosk_id not in self._registered_kiosks):
                # A refusal is audited, an unknown kiosk looked up: not on the loop.
                await in_thread(self._executor, self._registered, kiosk_id)
            await self._acknowledgements.submit((kiosk_id, tuple(request.command_ids)))
        except RegistryError as error:
            return await refuse_async(context, error)
        return pb.AcknowledgeCommandsResponse()

    def _store_acknowledgements(self, acks: list[tuple[str, tuple[str, ...]]]) -> list[None]:
        with self._db.transaction() as tx:
            for kiosk_id, command_ids in acks:
                tx.acknowledge_commands(kiosk_id, list(command_ids))
        return [None] * len(acks)

    @abort_on_error
    def ReportAuditEntries(
        self, request: pb.ReportAuditEntriesRequest, context
    ) -> pb.ReportAuditEntriesResponse:
        """Stores a batch of the kiosk's audit chain if it continues what the
        registry holds; a batch that does not is refused whole and audited."""
        kiosk_id = self._registered(request.kiosk_id)
        if len(request.entries) > MAX_AUDIT_ENTRIES_PER_REPORT:
            raise invalid_argument(
                "entries",
                f"at most {MAX_AUDIT_ENTRIES_PER_REPORT} entries per report; send the rest later",
            )
        entries = [audit_entry_from_proto(e) for e in request.entries]
        with self._db.transaction() as tx:
            head_seq, head_hash = tx.kiosk_audit_head(kiosk_id)
            known = tx.kiosk_audit_hashes(kiosk_id, entries[0].seq, head_seq) if entries else {}
            # Repeats of entries retention purged here (a lost answer) cannot be compared.
            anchor = tx.kiosk_audit_anchor(kiosk_id)
            problem = audit_chain.continuation_problem(head_seq, head_hash, entries, known,
                                                       anchor.seq if anchor else 0)
            if problem is None:
                fresh = [e for e in entries if e.seq > head_seq]
                tx.append_kiosk_audit(kiosk_id, fresh)
                if fresh:
                    head_seq, head_hash = fresh[-1].seq, fresh[-1].hash
        if problem is not None:
            # The registry keeps what it had; the refusal is itself evidence.
            with self._db.transaction() as tx:
                tx.audit(f"kiosk:{kiosk_id}", "kiosk_audit.rejected",
                         office_id=tx.kiosk_office(kiosk_id) or "", target=kiosk_id,
                         outcome="denied", problem=problem, held_seq=head_seq,
                         peer=current_peer())
            log.error("kiosk %s sent an audit chain that does not fit: %s", kiosk_id, problem)
            raise RegistryError(
                grpc.StatusCode.FAILED_PRECONDITION, AUDIT_CHAIN_BROKEN,
                f"kiosk {kiosk_id}'s audit entries do not continue the chain the registry holds"
                f" (up to entry {head_seq}): {problem}. Run `kiosk audit verify` on the kiosk"
                " and tell the data-protection officer: the log may have been tampered with.",
                {"kiosk_id": kiosk_id, "held_seq": str(head_seq)},
            )
        return pb.ReportAuditEntriesResponse(head_seq=head_seq, head_hash=head_hash)

    def send_pending_notices(self) -> None:
        """Sends the "ready for pickup" notices of deposited orders, then wipes
        their plaintext codes. A failed notice stays pending and is retried
        with the next event report and at the next start."""
        with self._notice_lock:
            # Cleared before looking: an order event committed after the look
            # calls this again itself.
            self._notices_pending = False
            with self._db.transaction() as tx:
                pending = tx.pending_notifications()
            for order, code in pending:
                notice = ReadyNotice(
                    reference=order.reference,
                    pickup_code=group_code(code),
                    qr_payload=qr_payload(code),
                    pickup_deadline=order.pickup_deadline,
                    office_contact=self._office_contact,
                    contact=order.contact,
                    requires_pin_letter_confirmation=order.requires_pin_letter_confirmation,
                    document_kind=order.kind.value,
                    kiosk_id=order.kiosk_id,
                    compartment_number=order.compartment_number or 0,
                    office_id=order.office_id,
                )
                try:
                    self._notifier.order_ready(notice)
                except Exception:
                    log.warning(
                        "could not send the ready-for-pickup notice for order %s; will retry",
                        order.reference,
                        exc_info=True,
                    )
                    self._notices_pending = True
                    continue
                fault_point("registry:notice:sent")
                with self._db.transaction() as tx:
                    tx.wipe_pending_code(order.reference)
                # The plaintext code must not survive in the WAL either.
                self._db.checkpoint_wal()
                fault_point("registry:notice:code_wiped")


def _not_registered(kiosk_id: str) -> RegistryError:
    return RegistryError(
        grpc.StatusCode.FAILED_PRECONDITION,
        KIOSK_NOT_REGISTERED,
        f"kiosk {kiosk_id} is not registered: call RegisterKiosk first",
        {"kiosk_id": kiosk_id},
    )


def _parse_cursor(cursor: str) -> sync_cursor.Cursor:
    try:
        return sync_cursor.parse(cursor)
    except ValueError:
        raise RegistryError(
            grpc.StatusCode.INVALID_ARGUMENT,
            INVALID_CURSOR,
            "cursor is not one this registry issued: pass the next_cursor of the last"
            " SyncChanges response, or an empty cursor for a full sync",
        ) from None


def _check_compartments(compartments) -> None:
    seen: set[int] = set()
    for i, compartment in enumerate(compartments):
        if compartment.number == 0:
            raise invalid_argument(f"compartments[{i}].number", "must be 1 or more")
        if compartment.number in seen:
            raise invalid_argument(
                f"compartments[{i}].number", f"compartment {compartment.number} appears twice"
            )
        seen.add(compartment.number)


COMMAND_EXPIRY = timedelta(minutes=5)


def _command_to_proto(command: StoredCommand) -> pb.RemoteCommand:
    message = pb.RemoteCommand(
        command_id=command.command_id,
        type=pb.CommandType.Value(command.type),
        compartment_number=command.compartment_number,
        reason=command.reason,
        requested_by=command.requested_by,
        service_opening=command.service_opening,
    )
    if command.created_at:  # the kiosk refuses it five minutes after it was sent
        created = datetime.fromisoformat(command.created_at)
        message.create_time.CopyFrom(to_timestamp(created))
        message.expire_time.CopyFrom(to_timestamp(created + COMMAND_EXPIRY))
    if command.expire_at:  # or when the office said, which is never later
        message.expire_time.CopyFrom(to_timestamp(datetime.fromisoformat(command.expire_at)))
    return message
