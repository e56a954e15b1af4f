"""Prometheus metrics, scraped from the real HTTP endpoint after real calls."""

from __future__ import annotations

import uuid

import grpc
import pytest

from common import systemd
from common.metrics_http import MetricsEndpoint, parse_listen
from kiosk.metrics import CoreHeartbeat, KioskMetrics
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for
from tests.ops.conftest import scrape
from tests.registry.conftest import compartments, start_registry
from tests.ops.kiosk_config import SIMULATED_KIOSK_TOML

pytestmark = pytest.mark.integration


@pytest.fixture
def served_registry(tmp_path):
    reg = start_registry(tmp_path / "registry.sqlite3", tmp_path / "notifications")
    endpoint = MetricsEndpoint(reg.server.metrics.registry, "127.0.0.1:0")
    endpoint.start()
    yield reg, endpoint.port
    endpoint.stop()
    reg.close()


def test_registry_counts_rpcs_by_method_and_code(served_registry):
    reg, port = served_registry
    reg.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="k1", software_version="t", compartments=compartments(pb.COMPARTMENT_STATE_FREE)),
        timeout=5)
    for _ in range(3):
        reg.kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="k1"), timeout=5)
    with pytest.raises(grpc.RpcError) as refused:
        reg.kiosk.Heartbeat(pb.HeartbeatRequest(kiosk_id="nobody"), timeout=5)
    code = refused.value.code().name
    samples = scrape(port)
    assert samples[("registry_rpcs_total", (("code", "OK"), ("method", "Heartbeat")))] == 3
    assert samples[("registry_rpcs_total", (("code", code), ("method", "Heartbeat")))] == 1
    assert samples[("registry_rpcs_total", (("code", "OK"), ("method", "RegisterKiosk")))] == 1
    assert samples[("registry_rpc_duration_seconds_count", (("method", "Heartbeat"),))] == 4
    assert samples[("registry_rpcs_in_flight", (("method", "Heartbeat"),))] == 0
    assert samples[("registry_kiosks_registered", ())] == 1
    assert samples[("registry_kiosks_online", ())] == 1


def test_registry_counts_events_notices_and_open_streams(served_registry):
    reg, port = served_registry
    reg.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="k1", software_version="t", compartments=compartments(pb.COMPARTMENT_STATE_FREE)),
        timeout=5)
    order = reg.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=pb.DOCUMENT_KIND_ID_CARD, request_id=str(uuid.uuid4())), timeout=5).order
    stream = reg.kiosk.StreamCommands(pb.StreamCommandsRequest(kiosk_id="k1"))
    try:
        wait_for(lambda: scrape(port).get(
            ("registry_rpcs_in_flight", (("method", "StreamCommands"),))) == 1, what="open stream")
        event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_DEPOSITED,
                              order_reference=order.reference, compartment_number=1)
        event.occur_time.GetCurrentTime()
        for _ in range(2):  # the repeat is acknowledged again
            reg.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="k1", events=[event]), timeout=5)
        samples = scrape(port)
        assert samples[("registry_events_acknowledged_total", ())] == 2
        assert samples[("registry_notices_total", (("outcome", "sent"),))] == len(reg.notifier.notices) == 1
        assert samples[("registry_notices_total", (("outcome", "failed"),))] == 0
    finally:
        stream.cancel()
    wait_for(lambda: scrape(port).get(
        ("registry_rpcs_total", (("code", "CANCELLED"), ("method", "StreamCommands")))) == 1,
        what="the cancelled stream counted")


def test_a_failing_notifier_is_counted(tmp_path):
    class Broken:
        def order_ready(self, notice):
            raise OSError("mail server down")

    from registry.metrics import RegistryMetrics

    metrics = RegistryMetrics()
    notifier = metrics.counting(Broken())
    with pytest.raises(OSError):
        notifier.order_ready(object())
    assert metrics.registry.get_sample_value("registry_notices_total", {"outcome": "failed"}) == 1


def test_kiosk_reports_backlog_compartments_alarms_and_health(make_kiosk, registry):
    harness = make_kiosk()
    metrics = KioskMetrics(harness.kiosk)
    endpoint = MetricsEndpoint(metrics.registry, "127.0.0.1:0")
    endpoint.start()
    try:
        wait_for(lambda: metrics.heartbeat.last_view is not None, what="a first view")
        total = len(harness.store.compartments())
        samples = scrape(endpoint.port)
        assert samples[("kiosk_compartments", (("state", "free"),))] == total
        assert samples[("kiosk_door_alarms_total", (("type", "door_forced"),))] == 0
        wait_for(lambda: scrape(endpoint.port)[("kiosk_registry_online", ())] == 1,
                 what="the uplink online")

        registry.stop()  # events now stay in the outbox
        harness.bank.force_door(3)
        harness.reader.set_offline(True)
        wait_for(lambda: scrape(endpoint.port).get(
            ("kiosk_door_alarms_total", (("type", "door_forced"),))) == 1, what="the alarm counted")
        samples = scrape(endpoint.port)
        assert samples[("kiosk_compartments", (("state", "out_of_service"),))] == 1
        assert samples[("kiosk_compartments", (("state", "free"),))] == total - 1
        assert samples[("kiosk_outbox_backlog", ())] >= 1
        wait_for(lambda: any(
            name == "kiosk_device_health" and dict(labels)["status"] == "failed" and value == 1
            for (name, labels), value in scrape(endpoint.port).items()), what="reader failed")
        # Counted once, not again at every scrape.
        assert scrape(endpoint.port)[("kiosk_door_alarms_total", (("type", "door_forced"),))] == 1
    finally:
        endpoint.stop()


def test_core_heartbeat_goes_stale_when_the_loop_stops():
    now = [100.0]
    beat = CoreHeartbeat(clock=lambda: now[0])
    assert not beat.alive()  # nothing published yet
    beat(object())
    now[0] += 5
    assert beat.alive()
    now[0] += 20
    assert not beat.alive()


@pytest.mark.parametrize("listen", ["9465", "localhost", "127.0.0.1:99999", ":9465"])
def test_a_bad_metrics_address_is_named(listen):
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen(listen)


def test_off_serves_nothing():
    endpoint = MetricsEndpoint(None, "off")
    endpoint.start()
    assert endpoint.port is None
    endpoint.stop()


def _read_until(process, pattern: str, timeout: float = 60.0):
    import re
    import time

    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (line := process.stderr.readline()):
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no {pattern!r} in:\n{''.join(seen)}")


def test_the_services_serve_metrics_from_their_command_lines(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    (tmp_path / "kiosk.toml").write_text(SIMULATED_KIOSK_TOML)
    registry = subprocess.Popen(
        [str(bin_dir / "kiosk-registry"), "serve", "--listen", "127.0.0.1:0", "--db",
         str(tmp_path / "r.sqlite3"), "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024",
         "--metrics-listen", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE, text=True)
    kiosk = subprocess.Popen(
        [str(bin_dir / "kiosk"), "run", "--headless", "--config", "kiosk.toml",
         "--metrics-listen", "127.0.0.1:0"], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
        text=True)
    try:
        registry_port = int(_read_until(registry, r"metrics on http://127\.0\.0\.1:(\d+)").group(1))
        target = _read_until(registry, r"listening on (127\.0\.0\.1:\d+)").group(1)
        # The health check: a call every registry answers without credentials.
        assert systemd.grpc_serving(target)
        samples = scrape(registry_port)
        assert samples[("registry_rpcs_total", (("code", "OK"), ("method", "Check")))] == 1

        kiosk_port = int(_read_until(kiosk, r"metrics on http://127\.0\.0\.1:(\d+)").group(1))
        wait_for(lambda: scrape(kiosk_port).get(("kiosk_registry_online", ())) == 1,
                 what="the kiosk online with its embedded registry")
        assert scrape(kiosk_port)[("kiosk_compartments", (("state", "free"),))] > 0
    finally:
        for process in (kiosk, registry):
            process.terminate()
            try:
                process.wait(timeout=15)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stderr.close()


@pytest.mark.parametrize("command", [["kiosk-registry", "serve"], ["kiosk", "run", "--headless"]])
def test_a_bad_metrics_address_stops_start_up_with_a_clear_message(tmp_path, command):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "kiosk.toml").write_text(SIMULATED_KIOSK_TOML)
    extra = (["--config", "kiosk.toml"] if command[0] == "kiosk" else
             ["--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"), "--kdf-n", "1024"])
    result = subprocess.run(
        [str(Path(sys.executable).parent / command[0]), *command[1:], *extra,
         "--metrics-listen", "everywhere"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode in (1, 2)
    assert "expected HOST:PORT" in result.stderr and "Traceback" not in result.stderr, result.stderr
