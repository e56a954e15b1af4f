"""`kiosk-registry serve` starts the web console beside gRPC, and refuses to
offer its password form unencrypted beyond loopback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from registry.cli import main

pytestmark = pytest.mark.integration


def test_serve_starts_the_console_at_web_address(tmp_path):
    script = Path(sys.executable).with_name("kiosk-registry")
    server = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
         "--web-address", "127.0.0.1:0", "--metrics-listen", "off",
         "--notify-dir", str(tmp_path / "n")],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        match = None
        while match is None and (line := server.stderr.readline()):
            match = re.search(r"office console on (http://127\.0\.0\.1:\d+)/", line)
        assert match, "no console URL in the log"
        page = httpx.get(f"{match.group(1)}/signin")
        assert page.status_code == 200 and "Anmelden" in page.text
        # The HTTP/JSON API on the same port: its document is public, its calls are not.
        document = httpx.get(f"{match.group(1)}/api/v1/openapi.json")
        assert document.status_code == 200 and document.json()["openapi"].startswith("3.1")
        refused = httpx.get(f"{match.group(1)}/api/v1/orders")
        assert refused.status_code == 401
        assert refused.json()["error"]["details"][0]["reason"] == "UNAUTHENTICATED"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_a_console_beyond_loopback_needs_tls(capsys, tmp_path):
    code = main(["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
                 "--web-address", "0.0.0.0:0", "--metrics-listen", "off",
                 "--notify-dir", str(tmp_path / "n")])
    assert code == 1
    assert "serve it over TLS" in capsys.readouterr().err


def test_bad_opening_hours_stop_the_start_with_their_name(capsys, tmp_path):
    code = main(["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
                 "--web-address", "127.0.0.1:0", "--metrics-listen", "off",
                 "--notify-dir", str(tmp_path / "n"), "--opening-hours", "mon 8-12"])
    assert code == 1
    assert "--opening-hours/--timezone: opening hours 'mon 8-12'" in capsys.readouterr().err


def test_a_broken_oidc_config_stops_the_start_with_its_name(capsys, tmp_path):
    config = tmp_path / "oidc.toml"
    config.write_text('[[oidc]]\nissuer = "https://login.example"\nclient = "x"\n')
    code = main(["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
                 "--web-address", "127.0.0.1:0", "--metrics-listen", "off",
                 "--notify-dir", str(tmp_path / "n"), "--oidc-config", str(config)])
    assert code == 1
    assert f"--oidc-config {config}: {config}: [[oidc]] number 1" in capsys.readouterr().err


def test_bad_letter_settings_stop_the_start_with_their_name(capsys, tmp_path):
    settings = tmp_path / "letter.toml"
    settings.write_text("sender = \n")
    code = main(["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
                 "--web-address", "127.0.0.1:0", "--metrics-listen", "off",
                 "--notify-dir", str(tmp_path / "n"), "--console-letter", str(settings)])
    assert code == 1
    assert f"cannot read the letter settings {settings}" in capsys.readouterr().err


def test_the_web_front_door_sends_without_waiting_for_acks():
    import socket

    from registry.web import WebServer, build_app

    server = WebServer(build_app([]), "127.0.0.1:0")
    try:
        assert server._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.stop()
