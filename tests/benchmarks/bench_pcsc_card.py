"""How fast the pcsc driver sees cards and exchanges APDUs, via real pcscd + vpcd.

    .venv/bin/python -m tests.benchmarks.bench_pcsc_card

Measures, with the virtual staff card on "Virtual PCD 00 00":
- the time from putting the card on the reader to the PRESENTED event
  (pcscd polls vpcd for presence, so this is mostly pcscd's poll interval);
- the round trip of one APDU through `transmit()`, with the virtual card's
  socket set to TCP_QUICKACK and without it (the brief's 40 ms per APDU).

Writes artifacts/benchmarks/pcsc_card.json. Needs root, pcscd and vpcd.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from hardware.devicesim.vpcd_card import VirtualCard
from hardware.pcsc.reader import PcscCardReader
from tests.hardware.pcscd import READER, missing, shared_pcscd, wait_until_empty

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "benchmarks" / "pcsc_card.json"
GET_UID = bytes.fromhex("FFCA000000")


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(p95 * 1000, 3), "runs": len(ordered)}


def detection(reader: PcscCardReader, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        events = []
        unsubscribe = reader.subscribe(events.append)
        card = VirtualCard("staff")
        start = time.perf_counter()
        card.insert()
        while not events:
            time.sleep(0.001)
        times.append(time.perf_counter() - start)
        unsubscribe()
        card.remove()
        wait_until_empty()
        while reader.current_card is not None:
            time.sleep(0.001)
    return times


def round_trips(reader: PcscCardReader, quick_ack: bool, runs: int) -> list[float]:
    card = VirtualCard("staff", quick_ack=quick_ack)
    card.insert()
    try:
        while reader.current_card is None:
            time.sleep(0.001)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            reader.transmit(GET_UID)
            times.append(time.perf_counter() - start)
        return times
    finally:
        card.remove()
        wait_until_empty()
        while reader.current_card is not None:
            time.sleep(0.001)


def main() -> int:
    reason = missing()
    if reason:
        print(f"pcsc_card benchmark cannot run: {reason}", file=sys.stderr)
        return 1
    with shared_pcscd():
        reader = PcscCardReader(READER, poll_timeout=0.2)
        try:
            result = {
                "card_detection": summary_ms(detection(reader, 10)),
                "apdu_round_trip_quickack": summary_ms(round_trips(reader, True, 200)),
                "apdu_round_trip_no_quickack": summary_ms(round_trips(reader, False, 50)),
            }
        finally:
            reader.close()
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(result, indent=2) + "\n")
    for name, figures in result.items():
        if name != "machine":
            print(f"{name:30} median {figures['median_ms']:8.2f} ms   p95 {figures['p95_ms']:8.2f} ms"
                  f"   ({figures['runs']} runs)")
    print(f"written to {ARTIFACT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
