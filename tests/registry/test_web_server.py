"""The web front door binds where it is told, serves the mounted parts, and stops."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from registry.web import WebServer, build_app, split_address


def test_addresses_are_split_and_bad_ones_named():
    assert split_address("127.0.0.1:8480") == ("127.0.0.1", 8480)
    assert split_address("[::1]:0") == ("::1", 0)
    with pytest.raises(ValueError, match="not host:port"):
        split_address("localhost")


def test_a_mounted_route_answers_on_a_free_loopback_port_and_the_port_is_freed():
    app = build_app([Route("/ping", lambda request: PlainTextResponse("pong"))])
    server = WebServer(app, "127.0.0.1:0")
    server.start()
    try:
        assert httpx.get(f"{server.url}/ping").text == "pong"
    finally:
        server.stop()
    again = WebServer(app, f"127.0.0.1:{server.port}")  # the port is free again
    again.stop()


def test_a_busy_address_fails_loudly():
    first = WebServer(build_app([]), "127.0.0.1:0")
    try:
        with pytest.raises(OSError, match="cannot listen on"):
            WebServer(build_app([]), f"127.0.0.1:{first.port}")
    finally:
        first.stop()
