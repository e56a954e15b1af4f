"""Two registry instances on one PostgreSQL serve one fleet: a command sent
through instance A reaches a kiosk streaming from instance B (woken by
LISTEN/NOTIFY, not by B's re-check, which is set to an hour here), and an
idempotency key holds across them."""

from __future__ import annotations

import threading
import uuid

import grpc
import pytest

from common.auth import authenticated_channel, bearer
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import KioskCaller, admin_token
from tests.registry.conftest import TEST_KDF

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def two_instances(pg_database, tmp_path):
    url = pg_database()
    state = tmp_path / "state"  # shared: one audit key, one admin credential
    servers = [create_server("127.0.0.1:0", url, kdf_params=TEST_KDF, state_dir=state,
                             stream_poll_seconds=3600) for _ in range(2)]
    for server in servers:
        server.start()
    channels = [grpc.insecure_channel(f"127.0.0.1:{s.port}") for s in servers]
    yield servers, channels, state
    for channel in channels:
        channel.close()
    for server in servers:
        server.stop(grace=1)


def test_a_command_through_one_instance_reaches_a_kiosk_streaming_from_the_other(two_instances):
    (a, b), (channel_a, channel_b), state = two_instances
    kiosk = KioskCaller(channel_b, b.db)
    kiosk.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10)
    stream = kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=30)
    received: list[pb.RemoteCommand] = []
    arrived = threading.Event()

    def listen():
        for response in stream:
            received.append(response.command)
            arrived.set()
            return

    threading.Thread(target=listen, daemon=True).start()
    office_a = registry_pb2_grpc.OfficeServiceStub(
        authenticated_channel(channel_a, bearer(admin_token(a.db.path))))
    # Instance B's stream must be open (and listening) before the command is sent.
    for _ in range(100):
        if b.wakeup.open_streams == 1:
            break
        threading.Event().wait(0.05)
    queued = office_a.SendKioskCommand(pb.SendKioskCommandRequest(
        kiosk_id="kiosk-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="test")),
        timeout=10)
    assert arrived.wait(10), "the command never reached the stream on the other instance"
    assert received[0].command_id == queued.command_id
    stream.cancel()


def test_an_idempotency_key_holds_across_instances(two_instances):
    (a, b), channels, state = two_instances
    offices = [registry_pb2_grpc.OfficeServiceStub(
        authenticated_channel(channel, bearer(admin_token(server.db.path))))
        for server, channel in zip((a, b), channels)]
    KioskCaller(channels[0], a.db).RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"),
                                                 timeout=10)
    request = pb.CreatePickupOrderRequest(request_id=str(uuid.uuid4()), kiosk_id="kiosk-1",
                                          kind=pb.DOCUMENT_KIND_ID_CARD)
    first = offices[0].CreatePickupOrder(request, timeout=10)
    again = offices[1].CreatePickupOrder(request, timeout=10)  # the retry lands on B
    assert again.order.reference == first.order.reference
    listed = offices[1].ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=10).orders
    assert [o.reference for o in listed] == [first.order.reference]
