"""How fast the office console answers: a real registry with 1,000 orders and
its console on loopback, timed from an HTTP client (so the figures include
HTTP on loopback, the in-process OfficeServicer call and the Jinja render).

    tools/bench console   -> artifacts/benchmarks/console.json
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pickupbox.registry.v1 import registry_pb2 as pb
from registry.cli import settle_heap
from tests.benchmarks.common import summary_ms, write_result
from tests.console.conftest import start_console

ORDERS = 1000


def timed(call, runs: int) -> dict[str, float]:
    call()  # warm up
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        response = call()
        seconds.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return summary_ms(seconds)


def main(runs: int = 20) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        console = start_console(Path(tmp))
        try:
            for i in range(ORDERS):
                console.registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                    reference=f"BENCH-{i:04d}", kind=pb.DOCUMENT_KIND_ID_CARD))
            settle_heap()  # as `kiosk-registry serve` does once it has started
            client = console.client("clara")
            page = client.get("/orders", params={"size": "1000"})
            assert page.text.count('<a href="/orders/BENCH-') == ORDERS
            result = {
                "orders": ORDERS,
                "find_orders_page_of_1000": timed(
                    lambda: client.get("/orders", params={"size": "1000"}), runs),
                "find_orders_page_of_25": timed(lambda: client.get("/orders"), runs),
                "order_page_with_history": timed(lambda: client.get("/orders/BENCH-0500"), runs),
                "start_page": timed(lambda: client.get("/"), runs),
            }
        finally:
            console.close()
    path = write_result("console", result)
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"{name}: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
