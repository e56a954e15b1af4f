"""The uplink worker: keeps the kiosk and the registry in step.

One thread registers the kiosk, syncs orders and staff, drains the outbox
and sends heartbeats; a second thread holds the stream of remote commands.
Both survive any registry outage: failures are logged once per outage and
retried with backoff. The outbox only loses an event once the registry has
acknowledged it, so a restart of either side never loses or duplicates one
(the registry drops repeats by event id).

The uplink reads the store from its threads but never writes it there:
every write (sync merges, acknowledgements, handled commands) runs on the
core thread through `KioskCore.write`, like any other input.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from kiosk import remote_commands
from kiosk.clock import TrustedClock
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from kiosk.store import StorageFault, audit_log
from kiosk.store.guard_tables import GuardTables
from kiosk.uplink.client import RegistryClient, RegistryError, RegistryRejected
from kiosk.uplink.failover import Heartbeats, backoff_delay
from kiosk.uplink.sync import merge_orders, merge_staff
from pickupbox.registry.v1 import registry_pb2 as pb

log = logging.getLogger(__name__)

SYNC_CURSOR_KEY = "sync_cursor"
SOFTWARE_VERSION = "0.1.0"
# Looked this far ahead, every postponed outbox event is due.
OUTAGE_OVER = timedelta(days=36500)
KIOSK_NOT_REGISTERED = "KIOSK_NOT_REGISTERED"  # registry.errors; the uplink never imports registry
AUDIT_BATCH = 200


class Uplink:
    def __init__(
        self,
        core: KioskCore,
        client: RegistryClient,
        *,
        sync_interval: float = 30.0,
        heartbeat_interval: float = 30.0,
        retry_max: float = 60.0,
        guards: GuardTables | None = None,
        trusted_clock: TrustedClock | None = None,
    ):
        self.core = core
        self.store = core.store
        self.client = client
        self.sync_interval = sync_interval
        self.heartbeat_interval = heartbeat_interval
        self.retry_max = retry_max
        self.registered = False
        self.online = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._sync_due = True
        self._next_sync = 0.0
        # Regular, and soon after the registry was lost (failover.Heartbeats).
        self._heartbeats = Heartbeats(heartbeat_interval)
        self._failures = 0
        self._audit_refusal = ""  # the last refusal of our audit log, logged once
        self._threads: list[threading.Thread] = []
        self.guards = guards if guards is not None else GuardTables(core.store)
        self.trusted_clock = trusted_clock
        # Remote opens created before the start were sent while the kiosk was
        # off or starting: they are refused (kiosk.remote_commands).
        self._started_mono = time.monotonic()

    def start(self) -> None:
        self._started_mono = time.monotonic()
        for target, name in ((self._run, "uplink"), (self._run_commands, "uplink-commands")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.client.cancel_commands()
        for thread in self._threads:
            thread.join(timeout=5)
        self.client.close()

    @property
    def started_at(self) -> datetime:
        """The start, on the trusted clock as it reads now (set from the registry's time)."""
        return self.core.clock() - timedelta(seconds=time.monotonic() - self._started_mono)

    def wake(self) -> None:
        """New outbox events: report them now rather than at the next interval."""
        self._wake.set()

    def request_sync(self) -> None:
        self._sync_due = True
        self._wake.set()

    # --------------------------------------------------------------- main

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.step(time.monotonic())
                self._set_online(True)
                self._failures = 0
                wait = self._next_wait(time.monotonic())
            except RegistryError as exc:
                self._set_online(False, exc)
                if isinstance(exc, RegistryRejected) and exc.reason == KIOSK_NOT_REGISTERED:
                    # Another instance whose database has not seen us (or a
                    # registry rebuilt from scratch): register again.
                    self.registered = False
                self._failures += 1
                self._heartbeats.lost(time.monotonic())
                wait = backoff_delay(self._failures, cap=self.retry_max)
            except Exception:
                log.exception("uplink step failed")
                wait = self.retry_max
            self._wake.wait(wait)

    def step(self, now: float) -> None:
        """One round of work; raises RegistryError when the registry is unreachable."""
        if not self.registered:
            salt, params = self.client.register(self.store.compartments(), SOFTWARE_VERSION)
            self._registry_time()
            self._save_policy(CredentialContext(salt, params))
            self.registered = True
            log.info("registered with the registry at %s", self.client.target)
        if self._failures > 0:
            # Back after an outage, maybe on another instance: the heartbeat
            # first. It is the call the registry always admits (an instance
            # with a fleet just moved onto it sheds outbox replays first,
            # registry.admission), and it is what shows the kiosk online.
            self._heartbeat(now)
        try:
            # Back after an outage: what waits in the outbox goes now. Its
            # retry times were set while the registry was unreachable, maybe
            # on a clock the registry's time is about to set back (the
            # heartbeat below), which would leave them waiting for the
            # size of that step.
            self.flush_outbox(everything=self._failures > 0)
            self.flush_audit()
            if self._sync_due or now >= self._next_sync:
                self.sync()
                self._sync_due = False
                self._next_sync = now + self.sync_interval
        except StorageFault as exc:
            # A full disk: what could not be written is retried later, and the
            # heartbeat below still tells the registry (health: store FAILED).
            log.error("uplink cannot write the store: %s", exc)
        self._heartbeat(now)

    def _heartbeat(self, now: float) -> None:
        if self._heartbeats.due(now):
            view = self.core.view()
            self.client.heartbeat(list(view.health), self.store.outbox_backlog(), list(view.compartments))
            self._registry_time()
            self._heartbeats.sent(now)

    def _registry_time(self) -> None:
        """The registry's clock, from the reply just received, sets the kiosk's trusted time."""
        received = self.client.last_server_time
        if self.trusted_clock is not None and received is not None:
            self.trusted_clock.registry_time(*received)

    def _next_wait(self, now: float) -> float:
        wait = min(self._next_sync, self._heartbeats.next_at) - now
        next_retry = self.store.next_outbox_attempt()
        if next_retry is not None:
            wait = min(wait, (next_retry - self.core.clock()).total_seconds())
        return max(0.05, wait)

    def flush_outbox(self, *, everything: bool = False) -> None:
        while True:
            now = self.core.clock()
            due = self.store.outbox_due(now + OUTAGE_OVER if everything else now)
            if not due:
                return
            events = [event for event, _ in due]
            try:
                acknowledged = self.client.report(events)
            except RegistryRejected as exc:
                # The registry refuses the batch as such; keep the events and
                # retry later rather than drop a handover record.
                log.error("registry refused %d events: %s", len(events), exc)
                self._postpone(due)
                return
            except RegistryError:
                self._postpone(due)
                raise
            self.core.write(self.store.outbox_acknowledge, acknowledged)
            missing = [(e, a) for e, a in due if e.event_id not in set(acknowledged)]
            if missing:
                self._postpone(missing)
                return

    def flush_audit(self) -> None:
        """Sends the audit log entries the registry does not hold yet, in order.

        A registry that holds less than we think (restored from a backup) gets
        the rest again from where it stands. Any other refusal (the registry's
        copy and ours disagree: someone changed one of them) is logged as an
        error and tried again next round; the entries stay here either way.
        """
        while True:
            reported = int(self.store.meta(audit_log.REPORTED_KEY) or 0)
            batch = self.store.audit_entries(after=reported, limit=AUDIT_BATCH)
            if not batch:
                return
            try:
                head_seq, _ = self.client.report_audit(batch)
            except RegistryRejected as exc:
                held = exc.metadata.get("held_seq", "")
                if exc.reason == "AUDIT_CHAIN_BROKEN" and held.isdigit() and int(held) < reported:
                    log.warning("the registry holds the audit log up to entry %s, not %d:"
                                " sending the rest again", held, reported)
                    self.core.write(self._set_meta, audit_log.REPORTED_KEY, held)
                    continue
                if str(exc) != self._audit_refusal:
                    log.error("registry refused the kiosk's audit log: %s", exc)
                self._audit_refusal = str(exc)
                return
            self._audit_refusal = ""
            if head_seq <= reported:
                return
            self.core.write(self._set_meta, audit_log.REPORTED_KEY, str(head_seq))

    def _postpone(self, due) -> None:
        now: datetime = self.core.clock()
        retries = [(event.event_id, now + timedelta(
            seconds=min(self.retry_max, 0.5 * 2 ** min(attempts, 12)))) for event, attempts in due]
        self.core.write(self._store_retries, retries)

    def _store_retries(self, retries: list[tuple[str, datetime]]) -> None:
        for event_id, until in retries:
            self.store.outbox_postpone([event_id], until)

    def sync(self) -> None:
        cursor = self.store.meta(SYNC_CURSOR_KEY) or ""
        while True:
            page = self.client.sync(cursor)
            self._save_policy(CredentialContext(page.lookup_salt, page.kdf_params))
            self.core.write(self._merge_page, page)
            cursor = page.next_cursor
            if not page.has_more:
                return

    def _merge_page(self, page) -> None:
        """On the core thread: one sync page into the store, then its cursor."""
        merge_orders(self.store, page.orders)
        merge_staff(self.store, page.staff, self.core.clock())
        for _ in self.guards.unlock_renewed_cards(page.staff, self.core.clock()):
            log.info("a locked staff card was unlocked: the office issued a new PIN")
        self._set_meta(SYNC_CURSOR_KEY, page.next_cursor)

    def _set_meta(self, key: str, value: str) -> None:
        with self.store.transaction() as tx:
            self.store.set_meta(tx, key, value)

    def _save_policy(self, ctx: CredentialContext) -> None:
        if not ctx.lookup_salt:
            return
        text = ctx.to_json()
        if self.store.meta(CREDENTIAL_POLICY_KEY) != text:
            self.core.write(self._set_meta, CREDENTIAL_POLICY_KEY, text)

    def _set_online(self, online: bool, error: Exception | None = None) -> None:
        if online and not self.online:
            log.info("registry reachable at %s", self.client.target)
        elif not online and (self.online or self._failures == 0):
            log.warning("registry not reachable (%s); serving pickups from synced orders", error)
        self.online = online

    # ------------------------------------------------------------ commands

    def _run_commands(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                for command in self.client.commands():
                    failures = 0
                    self._handle_command(command)
                    if self._stopping.is_set():
                        return
            except RegistryError as exc:
                log.debug("command stream broken: %s", exc)
            # The stream broke or ended: its instance may be gone and the
            # client on its way to the next. The main thread heartbeats soon,
            # so that the instance the kiosk lands on sees it (the regular
            # heartbeat could be up to an interval away).
            self._heartbeats.lost(time.monotonic())
            self._wake.set()
            failures += 1
            self._stopping.wait(backoff_delay(failures, cap=self.retry_max))

    def _handle_command(self, command: pb.RemoteCommand) -> None:
        # The registry sends a command again until it is acknowledged, so a
        # command carried out (or refused) just before a stream broke must not
        # run twice (it could open a door a second time).
        # Marked before it runs: a crash in between loses the command rather
        # than opening a door twice.
        checked = remote_commands.from_proto(command)
        if not self.guards.command_handled(checked.command_id):
            try:
                self.core.write(self.guards.mark_command, checked.command_id,
                                self.core.clock(), checked.kind or "unknown",
                                checked.requested_by,
                                {"compartment": checked.compartment, "reason": checked.reason,
                                 "service_opening": checked.service_opening})
            except StorageFault as exc:
                log.error("remote command %s not run: it cannot be recorded (%s)",
                          checked.command_id, exc)
                return  # not acknowledged: it comes again (and expires)
            self._carry_out(checked)
        try:
            self.client.acknowledge_commands([command.command_id])
        except RegistryError as exc:
            log.info("acknowledging command %s failed (%s); it will come again and be skipped",
                     command.command_id, exc)

    def _carry_out(self, command: remote_commands.RemoteCommand) -> None:
        target = f" for compartment {command.compartment}" if command.compartment else ""
        log.info("remote command %s %s%s from %s", command.command_id,
                 command.kind or "(unknown)", target, command.requester)
        if command.kind == remote_commands.RESYNC:
            now = self.core.clock()
            if remote_commands.command_refusal(command, now, self.started_at, None) is None:
                self.request_sync()
                return
        self.core.remote_command(command, self.started_at)
