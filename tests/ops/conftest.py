"""Operations tests: metrics scraped over real HTTP, sd_notify over a real socket."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

# The real registry and kiosk harnesses of the integration tests.
from tests.integration.conftest import make_kiosk, registry  # noqa: F401


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """GET /metrics and parse it: {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


class NotifySocket:
    """The service manager's end of NOTIFY_SOCKET: a bound AF_UNIX datagram socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.received: list[str] = []

    def receive_until(self, wanted: str, timeout: float = 20.0) -> list[str]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(wanted in message.split("\n") for message in self.received):
                return self.received
            try:
                self.received.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
        raise AssertionError(f"no {wanted} within {timeout} s; got {self.received}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()
