"""The kiosk's RegistryClient used from two threads while it moves between instances.

The command thread may move the client to the next instance (closing the old
channel) just as the main thread takes that channel for a call. The call must
go to the new channel, or fail as "registry unavailable", never with gRPC's
ValueError "Cannot invoke RPC on closed channel", which the uplink's threads
do not expect (its command thread died of it in bench_failover).
"""

from __future__ import annotations

import threading

import grpc

from kiosk.uplink.client import RegistryClient, RegistryError
from tests.auth_support import enrol


def test_a_call_racing_the_other_threads_move_is_not_a_closed_channel_error(registry):
    token = enrol(registry.server.db, "kiosk-1")
    # Two addresses of the one registry: every move lands on a live instance.
    client = RegistryClient(f"127.0.0.1:{registry.port},ipv4:127.0.0.1:{registry.port}",
                            "kiosk-1", token=token)
    client.register([], "test")
    stop = threading.Event()
    moves = 0

    def move_on() -> None:  # what the command thread does when its stream breaks
        nonlocal moves
        while not stop.is_set():
            _, generation = client._current()
            client._fail_over(generation, grpc.StatusCode.UNAVAILABLE)
            moves += 1
            stop.wait(0.002)

    closed: list[ValueError] = []
    calls = 0

    def call() -> None:
        nonlocal calls
        for _ in range(300):
            try:
                client.heartbeat([], 0, [])
            except RegistryError:
                pass  # a call cut off by the close: "try again", as the uplink does
            except ValueError as error:
                closed.append(error)
                return
            calls += 1

    mover = threading.Thread(target=move_on)
    callers = [threading.Thread(target=call) for _ in range(8)]
    mover.start()
    try:
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
    finally:
        stop.set()
        mover.join()
        client.close()
    assert not closed, f"{closed[0]} after {calls} calls and {moves} moves"
    assert moves > 100


def test_moving_back_to_an_instance_left_moments_ago_takes_up_its_connection(registry):
    token = enrol(registry.server.db, "kiosk-1")
    client = RegistryClient(f"127.0.0.1:{registry.port},ipv4:127.0.0.1:{registry.port}",
                            "kiosk-1", token=token)
    try:
        client.register([], "test")
        first_channel = client._channel
        channels = {id(first_channel)}
        for _ in range(50):  # two instances that fail in turn
            _, generation = client._current()
            client._fail_over(generation, grpc.StatusCode.UNAVAILABLE)
            channels.add(id(client._channel))
        assert len(channels) == 2  # one connection per instance, not one per move
        client.heartbeat([], 0, [])  # and the one taken up again still works
    finally:
        client.close()


def test_a_deadline_on_an_instance_that_just_answered_is_waited_out_not_a_move(registry):
    token = enrol(registry.server.db, "kiosk-1")
    client = RegistryClient(f"127.0.0.1:{registry.port},ipv4:127.0.0.1:{registry.port}",
                            "kiosk-1", token=token)
    try:
        client.register([], "test")  # it answered just now
        before = client.target
        _, generation = client._current()
        client._fail_over(generation, grpc.StatusCode.DEADLINE_EXCEEDED)
        client._fail_over(generation, grpc.StatusCode.RESOURCE_EXHAUSTED)
        assert client.target == before
        client._fail_over(generation, grpc.StatusCode.UNAVAILABLE)
        assert client.target != before  # gone is gone
    finally:
        client.close()
