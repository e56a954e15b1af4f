"""The asyncio server: open command streams hold no thread and wake on a queued command."""

from __future__ import annotations

import grpc

from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.auth_support import KioskCaller, admin_token
from common.auth import authenticated_channel, bearer
from tests.registry.conftest import TEST_KDF

KIOSKS = 40  # more than the old server's 32 threads, with only 2 threads now


def test_more_streams_than_threads_and_a_command_wakes_only_by_event(tmp_path):
    # Two pool threads, and a safety re-check far longer than the test: a
    # command arrives only if the queueing woke the stream.
    server = create_server("127.0.0.1:0", tmp_path / "r.sqlite3", kdf_params=TEST_KDF,
                           max_workers=2, stream_poll_seconds=3600)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        kiosks = KioskCaller(channel, server.db)
        office = registry_pb2_grpc.OfficeServiceStub(
            authenticated_channel(channel, bearer(admin_token(tmp_path / "r.sqlite3"))))
        streams = []
        for n in range(KIOSKS):
            kiosk_id = f"kiosk-{n}"
            kiosks.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id=kiosk_id), timeout=10)
            streams.append(kiosks.StreamCommands(pb.StreamCommandsRequest(kiosk_id=kiosk_id),
                                                 timeout=60))
        # Every stream is open (the last one too) and unary calls still pass.
        last = f"kiosk-{KIOSKS - 1}"
        kiosks.Heartbeat(pb.HeartbeatRequest(kiosk_id=last), timeout=10)
        queued = office.SendKioskCommand(pb.SendKioskCommandRequest(
            kiosk_id=last, command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC, reason="test")),
            timeout=10)
        received = next(streams[-1]).command
        assert received.command_id == queued.command_id
        assert server.metrics.in_flight.labels("StreamCommands")._value.get() == KIOSKS
        assert server.wakeup.open_streams == KIOSKS
        for stream in streams:
            stream.cancel()
    finally:
        channel.close()
        server.stop(grace=1)


def test_stop_ends_streams_that_wait_for_a_wakeup(tmp_path):
    server = create_server("127.0.0.1:0", tmp_path / "r.sqlite3", kdf_params=TEST_KDF,
                           stream_poll_seconds=3600)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    kiosks = KioskCaller(channel, server.db)
    kiosks.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10)
    stream = kiosks.StreamCommands(pb.StreamCommandsRequest(kiosk_id="kiosk-1"), timeout=60)
    server.stop(grace=5)
    ended = list(stream)  # returns instead of waiting an hour
    assert ended == []
    assert not server.wait_for_termination(0)
    channel.close()
