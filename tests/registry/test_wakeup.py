"""registry.wakeup: streams wake for their own kiosk's commands, in-process and across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

from registry.wakeup import MAX_PAYLOAD, PostgresWakeup, Wakeup, parse_payload, payloads, wakeup_for


def test_payloads_stay_below_the_notify_limit_and_carry_every_kiosk():
    ids = [f"kiosk-{n:05d}" for n in range(3000)]
    chunks = payloads(ids)
    assert len(chunks) > 1
    assert all(len(chunk.encode()) <= MAX_PAYLOAD for chunk in chunks)
    assert sorted(i for chunk in chunks for i in parse_payload(chunk)) == sorted(ids)


def test_a_payload_that_is_not_a_list_of_ids_wakes_nobody():
    assert parse_payload("not json") == []
    assert parse_payload(json.dumps({"a": 1})) == []
    assert parse_payload(json.dumps(["k1", 7])) == ["k1"]


def test_the_bus_follows_the_database_url():
    assert isinstance(wakeup_for("postgresql://u@h/db"), PostgresWakeup)
    assert type(wakeup_for("/var/lib/registry.sqlite3")) is Wakeup


def test_only_the_streams_of_the_kiosk_named_wake_up():
    async def scenario():
        bus = Wakeup()
        await bus.start()
        mine, other = bus.subscribe("kiosk-1"), bus.subscribe("kiosk-2")
        # From another thread, as a committing pool thread does.
        await asyncio.to_thread(bus.publish, {"kiosk-1"})
        await asyncio.wait_for(mine.wait(), 5)
        assert not other.is_set()
        bus.unsubscribe("kiosk-1", mine)
        bus.unsubscribe("kiosk-2", other)
        assert bus.open_streams == 0

    asyncio.run(scenario())


LISTENER = textwrap.dedent("""
    import asyncio, sys
    from registry.wakeup import PostgresWakeup

    async def main():
        bus = PostgresWakeup(sys.argv[1], channel=sys.argv[2])
        await bus.start()
        woken = bus.subscribe("kiosk-far")
        print("listening", flush=True)
        await asyncio.wait_for(woken.wait(), 30)
        print("woken", flush=True)
        await bus.stop()

    asyncio.run(main())
""")


@pytest.mark.postgres
@pytest.mark.slow
def test_a_command_queued_in_one_process_wakes_the_stream_in_another(postgres_url):
    channel = "pickupbox_commands_test"
    child = subprocess.Popen([sys.executable, "-c", LISTENER, postgres_url, channel],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "listening"
        sender = PostgresWakeup(postgres_url, channel=channel)
        sender.publish({"kiosk-far"})  # what the commit hook does in the other instance
        assert child.stdout.readline().strip() == "woken"
        assert child.wait(timeout=30) == 0
        sender._sender.close()
    finally:
        if child.poll() is None:
            child.kill()


@pytest.mark.postgres
def test_a_command_sent_through_one_instance_is_announced_to_the_others(postgres_url, tmp_path):
    """The commit hook of a real registry publishes through NOTIFY: another
    instance's listener (here one in the test) wakes for that kiosk only."""
    import threading

    import grpc

    from common.auth import authenticated_channel, bearer
    from pickupbox.registry.v1 import registry_pb2 as pb
    from pickupbox.registry.v1 import registry_pb2_grpc
    from registry.server import create_server
    from tests.auth_support import KioskCaller, admin_token
    from tests.registry.conftest import TEST_KDF

    channel_name = "pickupbox_commands_hook_test"
    server = create_server("127.0.0.1:0", tmp_path / "r.sqlite3", kdf_params=TEST_KDF,
                           wakeup=PostgresWakeup(postgres_url, channel=channel_name))
    server.start()
    other = PostgresWakeup(postgres_url, channel=channel_name)
    loop = asyncio.new_event_loop()
    listening = threading.Thread(target=loop.run_forever, daemon=True)
    listening.start()

    def on_loop(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    async def subscribe():
        await other.start()
        return other.subscribe("kiosk-1"), other.subscribe("kiosk-2")

    async def woken(event):
        await asyncio.wait_for(event.wait(), 30)
        return True

    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        mine, not_mine = on_loop(subscribe())
        KioskCaller(channel, server.db).RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=10)
        office = registry_pb2_grpc.OfficeServiceStub(
            authenticated_channel(channel, bearer(admin_token(tmp_path / "r.sqlite3"))))
        office.SendKioskCommand(pb.SendKioskCommandRequest(
            kiosk_id="kiosk-1", command=pb.RemoteCommand(type=pb.COMMAND_TYPE_RESYNC)), timeout=10)
        assert on_loop(woken(mine))
        assert not not_mine.is_set()
    finally:
        channel.close()
        server.stop(grace=1)
        on_loop(other.stop())
        loop.call_soon_threadsafe(loop.stop)
        listening.join()
        loop.close()
