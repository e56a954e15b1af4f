"""The fleet dashboard of a 200-kiosk office: how long the page takes at the
server (HTTP on loopback, ListKiosks and ListPickupOrders in-process, the
cabinet drawing, the Jinja render), and how long a kiosk's report takes to
reach an open dashboard through its server-sent event stream.

    tools/bench dashboard   -> artifacts/benchmarks/dashboard.json
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from pickupbox.registry.v1 import registry_pb2 as pb
from registry.cli import settle_heap
from tests.benchmarks.common import summary_ms, write_result
from tests.console.conftest import start_console

KIOSKS = 200
COMPARTMENTS = 24  # four columns of six


def layout(occupied: int) -> list[pb.Compartment]:
    return [
        pb.Compartment(
            number=n + 1, column=n // 6 + 1, row=n % 6 + 1, size=pb.COMPARTMENT_SIZE_S,
            state=pb.COMPARTMENT_STATE_OCCUPIED if n < occupied else pb.COMPARTMENT_STATE_FREE,
        )
        for n in range(COMPARTMENTS)
    ]


def report_problem(console, kiosk_id: str) -> None:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_DEVICE_FAULT,
                          detail="bench")
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id=kiosk_id,
                                                               events=[event]), timeout=10)


def live_latencies(console, client, samples: int) -> list[float]:
    """Seconds from a ReportEvents call's start to the dashboard's next update."""
    arrived = threading.Event()
    stop = threading.Event()

    def listen():
        try:
            with client.stream("GET", "/fleet/live", timeout=60) as stream:
                for line in stream.iter_lines():
                    if line == "event: fleet":
                        arrived.set()
                    if stop.is_set():
                        return
        except httpx.HTTPError:
            if not stop.is_set():  # the client closed under the stream at the end: fine
                raise

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)  # the stream has taken its first fingerprint
    seconds = []
    for i in range(samples):
        arrived.clear()
        start = time.perf_counter()
        report_problem(console, f"kiosk-{i % KIOSKS:03d}")
        if not arrived.wait(10):
            raise RuntimeError("no dashboard update within 10 s")
        seconds.append(time.perf_counter() - start)
    stop.set()
    return seconds


def main(runs: int = 10, samples: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        console = start_console(Path(tmp))
        try:
            for i in range(KIOSKS):
                console.registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
                    kiosk_id=f"kiosk-{i:03d}", software_version="bench",
                    compartments=layout(occupied=i % COMPARTMENTS)), timeout=10)
            settle_heap()  # as `kiosk-registry serve` does once it has started
            client = console.client("sven")
            page = client.get("/fleet")
            assert page.text.count('<figure class="cabinet">') == KIOSKS, page.status_code
            client.get("/fleet")  # warm up
            seconds = []
            for _ in range(runs):
                start = time.perf_counter()
                response = client.get("/fleet")
                seconds.append(time.perf_counter() - start)
                assert response.status_code == 200
            result = {
                "kiosks": KIOSKS, "compartments_per_kiosk": COMPARTMENTS,
                "dashboard_page": summary_ms(seconds),
                "live_update": summary_ms(live_latencies(console, client, samples)),
            }
        finally:
            console.close()
    path = write_result("dashboard", result)
    for name in ("dashboard_page", "live_update"):
        print(f"{name}: median {result[name]['median_ms']} ms, p95 {result[name]['p95_ms']} ms")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
