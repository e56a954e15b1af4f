"""A thin wrapper over the generated KioskService stub.

It converts between protobuf and domain values and turns gRPC failures into
two domain errors: `RegistryUnavailable` (try again later, nothing was
decided) and `RegistryRejected` (the registry said no; retrying the same
request will not help).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import grpc
from grpc_status import rpc_status

from google.rpc import error_details_pb2
from kiosk.domain.compartment import Compartment
from common.credentials import KdfParams
from kiosk.domain.events import EventType, KioskEvent
from kiosk.domain.pickup_order import PickupOrder
from kiosk.domain.staff import StaffRecord
from common import convert
from common.auth import authenticated_channel, bearer
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from hardware.interfaces import DeviceHealth, HealthStatus
from kiosk.uplink import failover

log = logging.getLogger(__name__)

_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
}


class RegistryError(Exception):
    pass


class RegistryUnavailable(RegistryError):
    pass


class RegistryRejected(RegistryError):
    def __init__(self, message: str, reason: str = "", metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.metadata = metadata or {}


@dataclass(frozen=True)
class SyncPage:
    orders: list[PickupOrder]
    staff: list[StaffRecord]
    next_cursor: str
    has_more: bool
    lookup_salt: bytes
    kdf_params: KdfParams


def _translate(error: grpc.RpcError) -> RegistryError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    if code in _RETRYABLE:
        return RegistryUnavailable(f"registry unavailable ({code.name}): {details}")
    reason, metadata = "", {}
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    if status is not None:
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                reason, metadata = info.reason, dict(info.metadata)
    return RegistryRejected(f"registry refused ({code.name}): {details}", reason, metadata)


def _trailing(error: grpc.RpcError):
    try:
        return error.trailing_metadata() or ()
    except Exception:  # an error raised before the call had any (not a grpc.Call)
        return ()


# Every call on a channel left behind has ended by then (calls time out after
# `timeout` seconds, a stream is cancelled when the client moves).
RETIRED_CHANNEL_SECONDS = 30.0


def _closed_channel(error: ValueError) -> bool:
    """gRPC's ValueError for a call on a channel that was closed meanwhile."""
    return "closed" in str(error).lower() and "channel" in str(error).lower()


_HEALTH = {
    HealthStatus.OK: pb.DEVICE_STATUS_OK,
    HealthStatus.DEGRADED: pb.DEVICE_STATUS_DEGRADED,
    HealthStatus.FAILED: pb.DEVICE_STATUS_FAILED,
}


def event_to_proto(event: KioskEvent) -> pb.KioskEvent:
    message = pb.KioskEvent(
        event_id=event.event_id,
        type=pb.EventType.Value("EVENT_TYPE_" + event.type.name),
        order_reference=event.order_reference,
        compartment_number=event.compartment_number,
        staff_ids=list(event.staff_ids),
        detail=event.detail,
        pin_letter_confirmed=event.pin_letter_confirmed,
    )
    message.occur_time.CopyFrom(convert.to_timestamp(event.occur_time))
    if event.pickup_deadline is not None:
        message.pickup_deadline.CopyFrom(convert.to_timestamp(event.pickup_deadline))
    return message


# Every domain event type must have a protobuf twin, checked at import.
for _type in EventType:
    pb.EventType.Value("EVENT_TYPE_" + _type.name)


class RegistryClient:
    def __init__(self, target: str, kiosk_id: str, timeout: float = 5.0,
                 credentials: grpc.ChannelCredentials | None = None, token: str | None = None,
                 channel_options: tuple[tuple[str, object], ...] = ()):
        """`credentials` (TLS, with a client certificate) or `token` (the kiosk
        credential from enrolment), or both, tell the registry who calls.

        `target` is "host:port", or several separated by commas: the client
        then moves to the next when its instance is unavailable
        (kiosk.uplink.failover). `channel_options` are added to the channel's
        (a fleet simulated in one process gives each kiosk its own connection
        with ``grpc.use_local_subchannel_pool``)."""
        self.targets = failover.parse_targets(target)
        self.kiosk_id = kiosk_id
        self.timeout = timeout
        self._credentials = credentials
        self._token = token
        self._channel_options = list(channel_options)
        self._lock = threading.Lock()
        self._index = failover.first_target(kiosk_id, len(self.targets))
        self._generation = 0
        self._channel, self._stub = self._connect(self.targets[self._index])
        # Channels left behind by moves: (when, target, channel, stub), closed
        # RETIRED_CHANNEL_SECONDS later, or taken up again by a move back.
        self._retired: list[tuple[float, str, grpc.Channel, object]] = []
        self._stream = None
        self._stream_generation = -1
        # Per address: time.monotonic() of its last answer and of its last
        # refused connection (None: never), for failover.moves_on/next_target.
        self._answered: list[float | None] = [None] * len(self.targets)
        self._refused: list[float | None] = [None] * len(self.targets)
        # An overloaded instance (failover.OVERLOADED): how many overload
        # failures in a row (the next deadline grows with them), and until
        # when no call goes out at all (its retry hint, jittered).
        self._overloads = 0
        self._hold_until = 0.0
        # One unary call in flight per kiosk: the uplink's two threads
        # (outbox and heartbeat; command acknowledgements) take turns, so a
        # kiosk never adds a second call to an instance that is struggling.
        self._in_flight = threading.Lock()
        self._closing = threading.Event()
        # (server_time, time.monotonic() at receipt) of the last Register/Heartbeat reply.
        self.last_server_time: tuple[datetime, float] | None = None

    @property
    def target(self) -> str:
        return self.targets[self._index]

    def _connect(self, target: str):
        options = [("grpc.service_config", failover.SERVICE_CONFIG), *self._channel_options]
        if self._credentials is None:
            channel = grpc.insecure_channel(target, options=options)
        else:
            channel = grpc.secure_channel(target, self._credentials, options=options)
        called = channel
        if self._token is not None:
            called = authenticated_channel(channel, bearer(self._token))
        return channel, pb_grpc.KioskServiceStub(called)

    def _current(self):
        with self._lock:
            return self._stub, self._generation

    def _answer(self, generation: int) -> None:
        """The instance of ``generation`` answered (any reply, even a refusal)."""
        with self._lock:
            if generation == self._generation:
                self._answered[self._index] = time.monotonic()
                self._overloads = 0

    def _note_failure(self, generation: int, error: grpc.RpcError) -> None:
        """What a failed call tells about its instance, before _fail_over decides."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                return
            if code.name in failover.UNREACHABLE:
                self._refused[self._index] = now
            elif failover.overloaded(code.name):
                self._overloads += 1
                hint = None
                if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
                    self._answered[self._index] = now  # it shed the call: it is alive
                    hint = failover.retry_after(_trailing(error))
                self._hold_until = max(self._hold_until, now + failover.overload_pause(
                    hint, self._overloads, cap=self.timeout * failover.DEADLINE_GROWTH_CAP))

    def _fail_over(self, generation: int, code: grpc.StatusCode) -> None:
        """Moves to the next address, once per failure of the current one
        (the heartbeat and the command stream may both notice it), unless
        the failure says the instance is alive but busy (failover.moves_on)
        or every other address refused connections moments ago."""
        if len(self.targets) < 2:
            return
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                return  # the other thread moved already
            answered = self._answered[self._index]
            if not failover.moves_on(code.name, None if answered is None else now - answered):
                return
            refused_ago = [None if t is None else now - t for t in self._refused]
            following = failover.next_target(self._index, len(self.targets), refused_ago)
            if following == self._index:
                return  # nowhere better to go: wait here
            # The old channel is closed later, not now: the other thread may be
            # starting a call on it this instant, and closing a channel under a
            # starting call crashed gRPC's client (SIGSEGV, in bench_failover).
            self._retired.append((now, self.target, self._channel, self._stub))
            due = [c for t, _, c, _ in self._retired if now - t >= RETIRED_CHANNEL_SECONDS]
            self._retired = [r for r in self._retired if now - r[0] < RETIRED_CHANNEL_SECONDS]
            self._index = following
            self._generation += 1
            self._overloads, self._hold_until = 0, 0.0  # that was the other instance's
            # Back to an instance left moments ago (a slow survivor and a dead
            # instance, in turn): its connection is still there, use it
            # rather than open one more on a registry that is struggling.
            again = next((r for r in self._retired if r[1] == self.target), None)
            if again is not None:
                self._retired.remove(again)
                self._channel, self._stub = again[2], again[3]
            else:
                self._channel, self._stub = self._connect(self.target)
            stream = self._stream if self._stream_generation == generation else None
        log.warning("registry unavailable (%s); moving to %s", code.name, self.target)
        if stream is not None:
            stream.cancel()  # the command stream follows to the new instance
        for channel in due:
            channel.close()

    def close(self) -> None:
        self._closing.set()
        with self._lock:  # closed outside the lock: a closing channel may call back
            channels = [self._channel, *(retired[2] for retired in self._retired)]
            self._retired = []
        for channel in channels:
            channel.close()

    def _moved_since(self, generation: int) -> bool:
        with self._lock:
            return generation != self._generation

    def _hold(self) -> None:
        """Waits out an overloaded instance's pause (its retry hint) before a call."""
        with self._lock:
            wait = self._hold_until - time.monotonic()
        if wait > 0 and self._closing.wait(wait):
            raise RegistryUnavailable("registry client closed")

    def _call(self, name: str, request):
        with self._in_flight:
            return self._call_alone(name, request)

    def _call_alone(self, name: str, request):
        while True:
            if name not in failover.NEVER_SHED:
                self._hold()
            stub, generation = self._current()
            with self._lock:
                timeout = failover.call_timeout(self.timeout, self._overloads)
            try:
                response = getattr(stub, name)(request, timeout=timeout)
            except grpc.RpcError as error:
                self._note_failure(generation, error)
                if error.code() not in _RETRYABLE:
                    self._answer(generation)  # a refusal is an answer
                self._fail_over(generation, error.code())
                raise _translate(error) from None
            except ValueError as error:  # gRPC: "Cannot invoke RPC on closed channel!"
                if not _closed_channel(error):
                    raise
                # The other thread moved to the next instance and closed this
                # channel between our taking it and calling: call that one.
                if not self._moved_since(generation):
                    raise RegistryUnavailable(f"registry connection closed: {error}") from None
                continue
            self._answer(generation)
            return response

    def register(self, compartments: list[Compartment], software_version: str) -> tuple[bytes, KdfParams]:
        response = self._call(
            "RegisterKiosk",
            pb.RegisterKioskRequest(
                kiosk_id=self.kiosk_id,
                software_version=software_version,
                compartments=[convert.compartment_to_proto(c) for c in compartments],
            ),
        )
        self._note_server_time(response)
        policy = response.credential_policy
        return policy.lookup_salt, convert.kdf_params_from_policy(policy)

    def _note_server_time(self, response) -> None:
        if response.HasField("server_time"):
            self.last_server_time = (convert.from_timestamp(response.server_time), time.monotonic())

    def heartbeat(self, health: list[DeviceHealth], backlog: int, compartments: list[Compartment]) -> None:
        response = self._call(
            "Heartbeat",
            pb.HeartbeatRequest(
                kiosk_id=self.kiosk_id,
                devices=[pb.DeviceHealth(device=h.device, status=_HEALTH[h.status], detail=h.detail)
                         for h in health],
                outbox_backlog=backlog,
                compartments=[convert.compartment_to_proto(c) for c in compartments],
            ),
        )
        self._note_server_time(response)

    def sync(self, cursor: str) -> SyncPage:
        response = self._call("SyncChanges", pb.SyncChangesRequest(kiosk_id=self.kiosk_id, cursor=cursor))
        orders = []
        for record in response.orders:
            try:
                orders.append(convert.pickup_order_from_record(record))
            except ValueError:
                continue  # a kind or status this build does not know: skip, do not guess
        staff = [StaffRecord(s.staff_id, s.card_lookup, s.pin_verifier, s.active,
                             s.unlock_generation) for s in response.staff]
        policy = response.credential_policy
        return SyncPage(orders, staff, response.next_cursor, response.has_more, policy.lookup_salt,
                        convert.kdf_params_from_policy(policy))

    def report(self, events: list[KioskEvent]) -> list[str]:
        response = self._call(
            "ReportEvents",
            pb.ReportEventsRequest(kiosk_id=self.kiosk_id, events=[event_to_proto(e) for e in events]),
        )
        return list(response.acknowledged_event_ids)

    def report_audit(self, entries: list) -> tuple[int, str]:
        """Sends audit chain entries; returns the head the registry now holds."""
        response = self._call(
            "ReportAuditEntries",
            pb.ReportAuditEntriesRequest(
                kiosk_id=self.kiosk_id, entries=[convert.audit_entry_to_proto(e) for e in entries]),
        )
        return response.head_seq, response.head_hash

    def commands(self) -> Iterator[pb.RemoteCommand]:
        """Blocks and yields remote commands until the stream breaks."""
        stub, generation = self._current()  # never held: a registry does not shed streams
        stream = stub.StreamCommands(pb.StreamCommandsRequest(kiosk_id=self.kiosk_id))
        with self._lock:
            self._stream, self._stream_generation = stream, generation
        try:
            for response in stream:
                self._answer(generation)
                yield response.command
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.CANCELLED:
                return
            self._note_failure(generation, error)
            self._fail_over(generation, error.code())
            raise _translate(error) from None
        except ValueError as error:
            if not _closed_channel(error):
                raise
            # The other thread moved on and closed the channel: the caller
            # opens the stream again, on the new one.
            raise RegistryUnavailable(f"registry connection closed: {error}") from None

    def acknowledge_commands(self, command_ids: list[str]) -> None:
        self._call(
            "AcknowledgeCommands",
            pb.AcknowledgeCommandsRequest(kiosk_id=self.kiosk_id, command_ids=command_ids),
        )

    def cancel_commands(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream.cancel()
