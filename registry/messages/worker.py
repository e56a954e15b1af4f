"""The delivery worker: one thread that sends due messages in batches.

A batch is claimed (marked ``sending``) in one commit, handed to the
channels, and its outcomes stored in one commit; two commits per batch
instead of two per message is what lets it keep up with an office's burst
of deposits. The batch size is the at-least-once bound (see queue.py).

Several registry instances each run a worker on the one queue (claims with
a lease, see queue.py). A message queued by this process wakes its worker
at once (``MessageQueue.wake``); one queued by another instance is found by
the idle poll, every ``IDLE_POLL_SECONDS`` (one indexed query each).

Within a batch the messages go out from ``senders`` threads at once: the
claim never holds two messages of the same order and channel (see
``MessageQueue.claim_due``), so sending them side by side keeps the order
per order, and a burst no longer waits on one SMTP connection's round trips.
Waiting on those round trips, more than the CPU, held the benchmark at 56
messages/s: one sender used 13 s of CPU in 28 s for 3,000 messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from registry.messages.alarms import STAFF_KINDS
from registry.messages.channels import Channel, DeliveryError
from registry.messages.queue import (
    BOUNCED, FAILED, QUEUED, SENT, Message, MessageQueue, backoff, utcnow,
)

log = logging.getLogger(__name__)

CITIZEN_CHANNELS = ("email", "sms")
IDLE_POLL_SECONDS = 1.0


class DeliveryWorker:
    def __init__(
        self,
        queue: MessageQueue,
        channels: Mapping[str, Channel],
        *,
        batch_size: int = 20,
        retry_base_seconds: float = 30.0,
        retry_max_seconds: float = 3600.0,
        on_permanent_failure: Callable[[Message, str], None] | None = None,
        senders: int = 1,
        office_channels: Mapping[str, Mapping[str, Channel]] | None = None,
    ) -> None:
        self.queue = queue
        # The default office's channels; other offices' by office id (a
        # registry serving several municipalities, see config.py).
        self.channels = dict(channels)
        self.office_channels = {o: dict(c) for o, c in (office_channels or {}).items()}
        self.senders = max(1, senders)
        self._pool: ThreadPoolExecutor | None = None
        self.batch_size = batch_size
        self.retry_base = retry_base_seconds
        self.retry_max = retry_max_seconds
        self._on_permanent_failure = on_permanent_failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        recovered = self.queue.recover()
        if recovered:
            log.warning(
                "%d messages were being sent when the registry stopped; sending them again"
                " (a citizen may get one of them twice)", recovered,
            )
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="message-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for channel in self._all_channels():
            channel.close()

    def _all_channels(self) -> list[Channel]:
        found = list(self.channels.values())
        for channels in self.office_channels.values():
            found.extend(channels.values())
        return found

    def channel_for(self, message: Message) -> Channel | None:
        """The channel of the message's office (the default office's if it has none)."""
        office = self.office_channels.get(message.office_id)
        if office is not None:
            return office.get(message.channel)
        return self.channels.get(message.channel)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # a bug or a full disk: log, wait, go on
                log.exception("message worker failed; retrying in a moment")
                sent = 0
            if sent == 0:
                for channel in self._all_channels():
                    channel.close()  # do not hold an idle SMTP connection
                due = self.queue.next_due()
                wait = IDLE_POLL_SECONDS
                if due is not None:
                    wait = max(0.0, min(wait, (due - utcnow()).total_seconds()))
                self.queue.wait(wait)

    def run_once(self) -> int:
        """Sends one batch of due messages; returns how many were claimed."""
        batch = self.queue.claim_due(self.batch_size)
        if not batch:
            return 0
        if self.senders > 1 and len(batch) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix="message-sender")
            outcomes = list(self._pool.map(self._deliver, batch))
        else:
            outcomes = [self._deliver(message) for message in batch]
        lost = {m.seq for m in self.queue.record(outcomes)}
        for message in batch:
            if message.seq in lost:
                log.warning("message %s was taken over by another instance while this one"
                            " sent it (the claim's lease ran out); its outcome here is dropped",
                            message.key)
        for message, status, reason, _ in outcomes:
            if status in (FAILED, BOUNCED) and message.seq not in lost:
                self.permanent_failure(message, reason)
        return len(batch)

    def _deliver(self, message: Message):
        channel = self.channel_for(message)
        if channel is None:
            return (message, FAILED, f"no channel {message.channel!r} is configured", None)
        try:
            provider_id = channel.send(message)
        except DeliveryError as error:
            attempts = message.attempts + 1
            if error.bounced:
                return (message, BOUNCED, error.reason, None)
            if error.permanent:
                return (message, FAILED, error.reason, None)
            limit = channel.max_attempts
            if limit is not None and attempts >= limit:
                return (message, FAILED, f"gave up after {attempts} attempts: {error.reason}", None)
            retry_at = utcnow() + backoff(attempts, self.retry_base, self.retry_max)
            log.info("message %s (%s) not delivered, retry at %s: %s",
                     message.key, message.channel, retry_at, error.reason)
            return (message, QUEUED, error.reason, retry_at)
        except Exception as error:  # a bug in a channel must not stop the queue
            log.exception("channel %s failed on message %s", message.channel, message.key)
            retry_at = utcnow() + backoff(message.attempts + 1, self.retry_base, self.retry_max)
            return (message, QUEUED, f"internal error: {type(error).__name__}", retry_at)
        return (message, SENT, provider_id, None)

    def permanent_failure(self, message: Message, reason: str) -> None:
        """The message will never reach its recipient (also called for a
        bounce that arrives after "sent", see bounces.py)."""
        if message.channel in CITIZEN_CHANNELS and message.kind not in STAFF_KINDS:
            text = (
                f"citizen of order {message.order_reference} could not be reached by"
                f" {message.channel} ({message.kind}: {reason}): print the letter"
            )
            self.queue.raise_alarm("citizen_unreachable", text, message.order_reference,
                                   office_id=message.office_id)
            log.warning("%s", text)
        if self._on_permanent_failure is not None:
            self._on_permanent_failure(message, reason)

    def wait_until_idle(self, timeout: float) -> bool:
        """For tests and benchmarks: True once nothing due is left."""
        deadline = utcnow().timestamp() + timeout
        while utcnow().timestamp() < deadline:
            # Due first: a claim between the two reads then shows as "sending".
            due = self.queue.next_due()
            counts = self.queue.counts()
            if not counts.get("sending") and (due is None or due > utcnow()):
                return True
            self._stop.wait(0.05)
        return False
