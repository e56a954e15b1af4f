"""KioskService over real gRPC: sync, event reports and remote commands."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.credentials import check_verifier, lookup_key, normalize_code
from common.convert import from_timestamp, kdf_params_from_policy, to_timestamp
from registry.errors import error_reason
from pickupbox.registry.v1 import registry_pb2 as pb


def sync_all(registry, kiosk_id: str, cursor: str = "", page_size: int = 0):
    """Pages through SyncChanges; returns (pages, final cursor)."""
    pages = []
    while True:
        page = registry.kiosk.SyncChanges(
            pb.SyncChangesRequest(kiosk_id=kiosk_id, cursor=cursor, page_size=page_size), timeout=5
        )
        pages.append(page)
        cursor = page.next_cursor
        if not page.has_more:
            return pages, cursor


def event(type_: int, reference: str, **fields) -> pb.KioskEvent:
    fields.setdefault("event_id", str(uuid.uuid4()))
    fields.setdefault("occur_time", to_timestamp(datetime.now(timezone.utc)))
    return pb.KioskEvent(type=type_, order_reference=reference, **fields)


def report(registry, *events: pb.KioskEvent, kiosk_id: str = "kiosk-1") -> list[str]:
    response = registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id=kiosk_id, events=events), timeout=5
    )
    return list(response.acknowledged_event_ids)


def get_order(registry, reference: str) -> pb.PickupOrder:
    return registry.office.GetPickupOrder(
        pb.GetPickupOrderRequest(reference=reference), timeout=5
    ).order


def test_register_returns_the_credential_policy(register_kiosk):
    response = register_kiosk()
    policy = response.credential_policy
    assert policy.kdf == "scrypt"
    assert (policy.scrypt_n, policy.scrypt_r, policy.scrypt_p) == (2**10, 8, 1)
    assert len(policy.lookup_salt) == 16
    server_time = from_timestamp(response.server_time)
    assert abs(server_time - datetime.now(timezone.utc)) < timedelta(seconds=10)


def test_unregistered_kiosk_is_refused(registry):
    calls = [
        (registry.kiosk.SyncChanges, pb.SyncChangesRequest(kiosk_id="ghost")),
        (registry.kiosk.Heartbeat, pb.HeartbeatRequest(kiosk_id="ghost")),
        (registry.kiosk.ReportEvents, pb.ReportEventsRequest(kiosk_id="ghost")),
    ]
    for call, request in calls:
        with pytest.raises(grpc.RpcError) as caught:
            call(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(caught.value) == "KIOSK_NOT_REGISTERED"


def test_sync_hands_out_hashes_the_kiosk_can_verify(registry, register_kiosk, create_order):
    policy = register_kiosk().credential_policy
    created = create_order(pin="482913")
    (page,), _ = sync_all(registry, "kiosk-1")
    (record,) = page.orders
    code = normalize_code(created.pickup_code)
    params = kdf_params_from_policy(page.credential_policy)
    assert page.credential_policy == policy
    assert record.code_lookup == lookup_key(code, policy.lookup_salt, params)
    assert check_verifier(record.pin_verifier, code, "482913")
    assert not check_verifier(record.pin_verifier, code, "482914")
    assert record.status == pb.ORDER_STATUS_ANNOUNCED
    assert record.requires_pin_letter_confirmation


def test_sync_pages_and_then_reports_only_changes(registry, register_kiosk, create_order):
    register_kiosk("kiosk-1")
    register_kiosk("kiosk-2")
    mine = [create_order(kiosk_id="kiosk-1").order.reference for _ in range(5)]
    create_order(kiosk_id="kiosk-2")
    for staff_id, uid in [("alice", "04A1"), ("bob", "04B2")]:
        registry.office.CreateStaffMember(
            pb.CreateStaffMemberRequest(staff_id=staff_id, card_uid=uid, pin="123456"), timeout=5
        )

    pages, cursor = sync_all(registry, "kiosk-1", page_size=3)
    assert [len(p.orders) + len(p.staff) for p in pages] == [3, 3, 1]
    assert [p.has_more for p in pages] == [True, True, False]
    assert [o.reference for p in pages for o in p.orders] == mine  # not kiosk-2's order
    assert [s.staff_id for p in pages for s in p.staff] == ["alice", "bob"]
    assert all(p.credential_policy.lookup_salt for p in pages)

    (empty,), same_cursor = sync_all(registry, "kiosk-1", cursor)
    assert not empty.orders and not empty.staff
    assert same_cursor == cursor

    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=mine[2]), timeout=5)
    registry.office.DeactivateStaffMember(
        pb.DeactivateStaffMemberRequest(staff_id="bob"), timeout=5
    )
    (changes,), _ = sync_all(registry, "kiosk-1", cursor)
    assert [(o.reference, o.status) for o in changes.orders] == [
        (mine[2], pb.ORDER_STATUS_CANCELLED)
    ]
    assert [(s.staff_id, s.active) for s in changes.staff] == [("bob", False)]


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "99999999"])
def test_bad_cursor_is_invalid_cursor(registry, register_kiosk, cursor):
    register_kiosk()
    with pytest.raises(grpc.RpcError) as caught:
        registry.kiosk.SyncChanges(
            pb.SyncChangesRequest(kiosk_id="kiosk-1", cursor=cursor), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "INVALID_CURSOR"


def test_deposit_is_applied_once_and_notifies_once(registry, register_kiosk, create_order):
    register_kiosk()
    created = create_order(contact="citizen@example.org")
    reference = created.order.reference
    deadline = datetime(2031, 5, 20, 16, 0, tzinfo=timezone.utc)
    deposit = event(
        pb.EVENT_TYPE_ORDER_DEPOSITED,
        reference,
        compartment_number=3,
        pickup_deadline=to_timestamp(deadline),
        staff_ids=["alice", "bob"],
    )
    _, cursor = sync_all(registry, "kiosk-1")

    assert report(registry, deposit, deposit) == [deposit.event_id] * 2
    assert report(registry, deposit) == [deposit.event_id]

    order = get_order(registry, reference)
    assert order.status == pb.ORDER_STATUS_DEPOSITED
    assert order.compartment_number == 3
    assert from_timestamp(order.pickup_deadline) == deadline
    assert from_timestamp(order.deposit_time) == from_timestamp(deposit.occur_time)
    assert registry.sql("SELECT COUNT(*) FROM events")[0][0] == 1

    assert [n.reference for n in registry.notifier.notices] == [reference]
    notice = registry.notifier.notices[0]
    assert notice.pickup_code == created.pickup_code
    assert notice.qr_payload == created.qr_payload
    assert notice.contact == "citizen@example.org"
    text = (registry.notifier.directory / f"{reference}.txt").read_text(encoding="utf-8")
    assert created.pickup_code in text and "20.05.2031" in text
    assert created.pin not in text
    png = registry.notifier.directory / f"{reference}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The kiosk learns its own deposit back through the sync (status, deadline).
    (page,), _ = sync_all(registry, "kiosk-1", cursor)
    assert [(o.reference, o.status, o.compartment_number) for o in page.orders] == [
        (reference, pb.ORDER_STATUS_DEPOSITED, 3)
    ]


def test_plaintext_code_is_gone_after_the_notice(registry, register_kiosk, create_order):
    register_kiosk()
    created = create_order(pin="777111")
    reference = created.order.reference
    code = normalize_code(created.pickup_code)
    (row,) = registry.sql("SELECT * FROM orders WHERE reference = ?", reference)
    assert row["pending_code"] == code  # kept only until the citizen is told

    report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=1))

    (row,) = registry.sql("SELECT * FROM orders WHERE reference = ?", reference)
    assert row["pending_code"] is None
    for column in row.keys():
        value = row[column]
        if isinstance(value, (str, bytes)):
            assert code not in str(value) and "777111" not in str(value), column
    assert check_verifier(row["pin_verifier"], code, "777111")
    assert not check_verifier(row["pin_verifier"], code, "777112")


def test_failed_notice_is_retried_with_the_next_report(registry, register_kiosk, create_order):
    register_kiosk()
    reference = create_order().order.reference
    original = registry.notifier.order_ready
    attempts = []

    def flaky(notice):
        attempts.append(notice.reference)
        if len(attempts) == 1:
            raise ConnectionError("mail server down")
        original(notice)

    registry.notifier.order_ready = flaky
    report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=1))
    assert registry.sql("SELECT pending_code FROM orders")[0][0] is not None

    report(registry, event(pb.EVENT_TYPE_DOOR_LEFT_OPEN, "", compartment_number=1))
    assert attempts == [reference, reference]
    assert registry.sql("SELECT pending_code FROM orders")[0][0] is None


def test_collection_expiry_removal_and_lock(registry, register_kiosk, create_order):
    register_kiosk()
    ref_collected, ref_expired = (create_order().order.reference for _ in range(2))
    for number, ref in enumerate([ref_collected, ref_expired], start=1):
        report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, ref, compartment_number=number))

    report(registry, event(pb.EVENT_TYPE_ORDER_LOCKED, ref_collected))
    assert get_order(registry, ref_collected).locked
    collected = event(pb.EVENT_TYPE_ORDER_COLLECTED, ref_collected, pin_letter_confirmed=True)
    report(registry, collected)
    order = get_order(registry, ref_collected)
    assert order.status == pb.ORDER_STATUS_COLLECTED
    assert from_timestamp(order.collect_time) == from_timestamp(collected.occur_time)

    report(registry, event(pb.EVENT_TYPE_ORDER_EXPIRED, ref_expired))
    assert get_order(registry, ref_expired).status == pb.ORDER_STATUS_EXPIRED
    report(registry, event(pb.EVENT_TYPE_ORDER_REMOVED, ref_expired, compartment_number=2))
    order = get_order(registry, ref_expired)
    assert order.status == pb.ORDER_STATUS_REMOVED
    assert order.compartment_number == 0

    # Expiry is not a physical fact: it does not overwrite a collection.
    report(registry, event(pb.EVENT_TYPE_ORDER_EXPIRED, ref_collected))
    assert get_order(registry, ref_collected).status == pb.ORDER_STATUS_COLLECTED


def test_physical_facts_win_over_the_registry_status(
    registry, register_kiosk, create_order, caplog
):
    register_kiosk()
    reference = create_order().order.reference
    report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2))
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference), timeout=5)

    # The kiosk was offline and handed the document out before it heard of the cancellation.
    collected = event(pb.EVENT_TYPE_ORDER_COLLECTED, reference)
    with caplog.at_level(logging.WARNING, logger="registry"):
        assert report(registry, collected) == [collected.event_id]
    order = get_order(registry, reference)
    assert order.status == pb.ORDER_STATUS_COLLECTED
    assert order.collect_time.seconds > 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(reference in w and "cancelled to collected" in w for w in warnings)
    (stored,) = registry.sql("SELECT type FROM events WHERE event_id = ?", collected.event_id)
    assert stored["type"] == "EVENT_TYPE_ORDER_COLLECTED"


def test_deposit_after_cancellation_keeps_the_order_cancelled(
    registry, register_kiosk, create_order
):
    register_kiosk()
    reference = create_order().order.reference
    registry.office.CancelPickupOrder(pb.CancelPickupOrderRequest(reference=reference), timeout=5)
    report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=4))
    order = get_order(registry, reference)
    assert order.status == pb.ORDER_STATUS_CANCELLED
    assert order.compartment_number == 4  # staff must take it out again
    assert registry.notifier.notices == []  # the citizen is not told to come
    report(registry, event(pb.EVENT_TYPE_ORDER_REMOVED, reference))
    assert get_order(registry, reference).status == pb.ORDER_STATUS_REMOVED


def test_unknown_order_and_alarm_events_are_stored_and_acknowledged(
    registry, register_kiosk, caplog
):
    register_kiosk()
    unknown = event(pb.EVENT_TYPE_ORDER_COLLECTED, "PO-NEVERMADE")
    alarm = event(pb.EVENT_TYPE_DOOR_FORCED, "", compartment_number=7, detail="door 7 opened")
    with caplog.at_level(logging.WARNING, logger="registry"):
        assert report(registry, unknown, alarm) == [unknown.event_id, alarm.event_id]
    assert any("PO-NEVERMADE" in r.getMessage() for r in caplog.records)
    rows = registry.sql("SELECT event_id, type, payload FROM events ORDER BY type")
    assert [(r["event_id"], r["type"]) for r in rows] == [
        (alarm.event_id, "EVENT_TYPE_DOOR_FORCED"),
        (unknown.event_id, "EVENT_TYPE_ORDER_COLLECTED"),
    ]
    assert pb.KioskEvent.FromString(rows[0]["payload"]) == alarm


def test_events_without_id_are_rejected(registry, register_kiosk):
    register_kiosk()
    with pytest.raises(grpc.RpcError) as caught:
        report(registry, event(pb.EVENT_TYPE_DOOR_FORCED, "", event_id=""))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "events[0].event_id" in caught.value.details()


def test_heartbeat_needs_registration_then_updates_status(registry, register_kiosk):
    register_kiosk()
    registry.kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="kiosk-1", outbox_backlog=9), timeout=5)
    (row,) = registry.sql("SELECT outbox_backlog FROM kiosks")
    assert row[0] == 9


def next_command(stream) -> pb.RemoteCommand:
    return next(stream).command


def test_stream_delivers_queued_then_new_commands(registry, register_kiosk, create_order):
    register_kiosk("kiosk-1")
    queued = registry.office.SendKioskCommand(
        pb.SendKioskCommandRequest(
            kiosk_id="kiosk-1",
            command=pb.RemoteCommand(
                type=pb.COMMAND_TYPE_OPEN_COMPARTMENT,
                compartment_number=3,
                reason="jammed",
                requested_by="alice",
            ),
        ),
        timeout=5,
    )
    stream = registry.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=15)
    first = next_command(stream)
    assert (first.command_id, first.type, first.compartment_number, first.reason) == (
        queued.command_id, pb.COMMAND_TYPE_OPEN_COMPARTMENT, 3, "jammed",
    )
    # The registry names who really asked, whatever the request claimed.
    assert first.requested_by == "api_key:local-admin"

    reference = create_order().order.reference
    resync = next_command(stream)
    assert resync.type == pb.COMMAND_TYPE_RESYNC
    assert reference in resync.reason
    stream.cancel()

    # Nothing was acknowledged: a new stream sends both again.
    stream = registry.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=15)
    again = [next_command(stream), next_command(stream)]
    assert [c.command_id for c in again] == [first.command_id, resync.command_id]
    stream.cancel()

    # Acknowledged commands are not sent again; new ones are.
    registry.kiosk.AcknowledgeCommands(
        pb.AcknowledgeCommandsRequest(kiosk_id="kiosk-1", command_ids=[first.command_id, resync.command_id]),
        timeout=5,
    )
    registry.office.SendKioskCommand(
        pb.SendKioskCommandRequest(
            kiosk_id="kiosk-1",
            command=pb.RemoteCommand(type=pb.COMMAND_TYPE_SET_IN_SERVICE, compartment_number=3),
        ),
        timeout=5,
    )
    stream = registry.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=15)
    assert next_command(stream).type == pb.COMMAND_TYPE_SET_IN_SERVICE
    stream.cancel()


def test_stream_of_unregistered_kiosk_fails(registry):
    stream = registry.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="ghost"), timeout=5)
    with pytest.raises(grpc.RpcError) as caught:
        next(stream)
    assert error_reason(caught.value) == "KIOSK_NOT_REGISTERED"


def test_server_stop_ends_open_streams(tmp_path, registry_at):
    reg = registry_at(tmp_path / "r.sqlite3", tmp_path / "n")
    reg.kiosk.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=5)
    stream = reg.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=30)
    ended = threading.Event()

    def drain():
        try:
            for _ in stream:
                pass
        except grpc.RpcError:
            pass
        ended.set()

    threading.Thread(target=drain, daemon=True).start()
    reg.server.stop(grace=1)
    assert ended.wait(10)
    reg.channel.close()


def test_a_supervisor_extends_the_deadline_of_a_document_in_the_box(registry, register_kiosk,
                                                                   create_order):
    register_kiosk()
    reference = create_order().order.reference
    now = datetime.now(timezone.utc).replace(microsecond=0)
    first = now + timedelta(days=14)
    extend = pb.ExtendPickupDeadlineRequest(request_id="ext-1", reference=reference,
                                            pickup_deadline=to_timestamp(now + timedelta(days=30)),
                                            reason="citizen in hospital")
    with pytest.raises(grpc.RpcError) as announced:  # not in the box yet
        registry.office.ExtendPickupDeadline(extend, timeout=5)
    assert error_reason(announced.value) == "ORDER_NOT_EXTENDABLE"
    report(registry, event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2,
                           pickup_deadline=to_timestamp(first)))
    _, cursor = sync_all(registry, "kiosk-1")

    earlier = pb.ExtendPickupDeadlineRequest(reference=reference,
                                             pickup_deadline=to_timestamp(first - timedelta(days=1)))
    with pytest.raises(grpc.RpcError) as refused:
        registry.office.ExtendPickupDeadline(earlier, timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "can only be extended" in refused.value.details()

    extended = registry.office.ExtendPickupDeadline(extend, timeout=5)
    assert from_timestamp(extended.order.pickup_deadline) == now + timedelta(days=30)
    again = registry.office.ExtendPickupDeadline(extend, timeout=5)  # a retry: replayed
    assert again == extended
    assert len(registry.sql(
        "SELECT * FROM audit_log WHERE action = 'order.deadline_extended'")) == 1
    # The kiosk gets it with its next sync.
    changed = registry.kiosk.SyncChanges(
        pb.SyncChangesRequest(kiosk_id="kiosk-1", cursor=cursor), timeout=5)
    record = next(o for o in changed.orders if o.reference == reference)
    assert from_timestamp(record.pickup_deadline) == now + timedelta(days=30)
