"""sd_notify and the watchdog against a real AF_UNIX datagram socket the test binds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from common import systemd
from tests.ops.kiosk_config import SIMULATED_KIOSK_TOML


def test_notify_sends_one_datagram_of_lines(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    assert systemd.notify("READY=1", "STATUS=serving")
    assert notify_socket.sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_reaches_an_abstract_socket(monkeypatch):
    name = f"pickupbox-test-{uuid.uuid4()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert systemd.notify("STOPPING=1")
        assert sock.recv(4096) == b"STOPPING=1"


def test_without_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False


def test_a_vanished_socket_is_a_warning_not_a_crash(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert systemd.notify("READY=1") is False
    assert "cannot notify the service manager" in caplog.text


@pytest.mark.parametrize(
    "usec, pid, expected",
    [("30000000", None, 15.0), ("30000000", "self", 15.0), ("30000000", "1", None),
     (None, None, None), ("soon", None, None), ("0", None, None)],
)
def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch, usec, pid, expected):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(os.getpid()) if value == "self" else value)
    assert systemd.watchdog_interval() == expected


def test_watchdog_pings_only_while_the_check_passes(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    alive = threading.Event()
    alive.set()
    notifier = systemd.ServiceNotifier(alive.is_set, interval=0.05)
    notifier.ready()
    try:
        notify_socket.receive_until("READY=1")
        notify_socket.receive_until("WATCHDOG=1")
        alive.clear()
        time.sleep(0.2)  # a ping already on its way may still arrive
        while True:
            try:
                notify_socket.sock.recv(4096)
            except TimeoutError:
                break
        # Stuck: half a second (ten intervals) without a single ping.
        notify_socket.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            notify_socket.sock.recv(4096)
        alive.set()
        notify_socket.sock.settimeout(0.2)
        notify_socket.received.clear()
        notify_socket.receive_until("WATCHDOG=1", timeout=5)
    finally:
        notifier.stopping()
    notify_socket.receive_until("STOPPING=1", timeout=5)


def test_a_raising_check_counts_as_not_alive(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))

    def broken() -> bool:
        raise RuntimeError("database gone")

    notifier = systemd.ServiceNotifier(broken, interval=0.02)
    notifier.ready()
    time.sleep(0.3)
    notifier.stopping()
    assert notifier.pings == 0
    messages = notify_socket.receive_until("STOPPING=1", timeout=5)
    assert not any("WATCHDOG=1" in m for m in messages)


def _service_env(notify_socket) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTIFY_SOCKET": str(notify_socket.path),
           "WATCHDOG_USEC": "400000"}  # WatchdogSec=0.4 s: a ping every 0.2 s
    env.pop("WATCHDOG_PID", None)
    return env


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.integration
def test_registry_service_is_ready_pings_and_says_it_stops(tmp_path, notify_socket):
    script = Path(sys.executable).parent / "kiosk-registry"
    process = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
         "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024", "--metrics-listen", "off"],
        env=_service_env(notify_socket), stderr=subprocess.DEVNULL,
    )
    try:
        notify_socket.receive_until("READY=1")
        # Each ping follows a real health check over gRPC against the server itself.
        notify_socket.receive_until("WATCHDOG=1")
        assert _stop(process) == 0
        notify_socket.receive_until("STOPPING=1", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.integration
def test_kiosk_service_is_ready_pings_and_says_it_stops(tmp_path, notify_socket):
    (tmp_path / "kiosk.toml").write_text(SIMULATED_KIOSK_TOML)
    script = Path(sys.executable).parent / "kiosk"
    process = subprocess.Popen(
        [str(script), "run", "--headless", "--config", "kiosk.toml", "--metrics-listen", "off"],
        cwd=tmp_path, env=_service_env(notify_socket), stderr=subprocess.PIPE, text=True,
    )
    try:
        messages = notify_socket.receive_until("READY=1")
        assert any(re.search(r"STATUS=kiosk \S+ running", m) for m in messages), messages
        # Pings come only while the core loop keeps publishing its state.
        notify_socket.receive_until("WATCHDOG=1")
        assert _stop(process) == 0, process.stderr.read()
        notify_socket.receive_until("STOPPING=1", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.mark.integration
@pytest.mark.slow
def test_registry_with_more_streams_than_the_old_threads_keeps_pinging(tmp_path, notify_socket,
                                                                     monkeypatch):
    """The threaded registry served from 32 threads and each command stream
    held one: at the 33rd its own health check failed and the pings stopped.
    On the asyncio server streams hold no thread: with 40 open, the health
    check still passes, so the pings go on (each follows a real check)."""
    import asyncio

    from tests.benchmarks.fleet_client import REGISTRY_DB_ENV, SimulatedKiosk

    monkeypatch.setenv(REGISTRY_DB_ENV, str(tmp_path / "r.sqlite3"))  # kiosks enrol there
    script = Path(sys.executable).parent / "kiosk-registry"
    process = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
         "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024", "--metrics-listen", "off"],
        env={**_service_env(notify_socket), "WATCHDOG_USEC": "1000000"},
        stderr=subprocess.PIPE, text=True,
    )
    try:
        notify_socket.receive_until("WATCHDOG=1")
        line = ""
        while "registry listening on" not in line:
            line = process.stderr.readline()
        target = re.search(r"listening on (127\.0\.0\.1:\d+)", line).group(1)

        async def hold_streams() -> None:
            kiosks = [SimulatedKiosk(target, f"k{i:02d}", timeout=10) for i in range(40)]
            try:
                for kiosk in kiosks:
                    await kiosk.register()
                    await kiosk.open_stream()
                await asyncio.sleep(0.5)
                assert all(k.stats.stream_open for k in kiosks)
                _drain(notify_socket)
                notify_socket.received.clear()
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: notify_socket.receive_until("WATCHDOG=1", timeout=10))
                await kiosks[-1].heartbeat()  # and the last kiosk is answered too
            finally:
                await asyncio.gather(*(k.close() for k in kiosks), return_exceptions=True)

        asyncio.run(hold_streams())
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def _drain(notify_socket) -> None:
    while True:
        try:
            notify_socket.sock.recv(4096)
        except TimeoutError:
            return


@pytest.mark.parametrize("listen, host", [
    ("127.0.0.1:50051", "127.0.0.1"), ("0.0.0.0:50051", "127.0.0.1"), ("[::]:50051", "127.0.0.1"),
    ("10.1.2.3:50051", "10.1.2.3"), ("[::1]:50051", "[::1]"), ("localhost:0", "localhost"),
])
def test_the_registry_probes_itself_where_it_listens(listen, host):
    from registry.metrics import probe_host

    assert probe_host(listen) == host


@pytest.mark.integration
def test_registry_over_tls_still_pings(tmp_path, notify_socket):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=registry.example", "-keyout", "server.key", "-out", "server.pem"],
        cwd=tmp_path, check=True, capture_output=True)
    script = Path(sys.executable).parent / "kiosk-registry"
    process = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
         "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024", "--metrics-listen", "off",
         "--tls-cert", str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.key")],
        env=_service_env(notify_socket), stderr=subprocess.DEVNULL,
    )
    try:
        notify_socket.receive_until("READY=1")
        notify_socket.receive_until("WATCHDOG=1")
    finally:
        _stop(process)
