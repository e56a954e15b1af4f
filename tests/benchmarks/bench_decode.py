"""Per-frame QR decode time, with and without a code in the frame.

    .venv/bin/python -m tests.benchmarks.bench_decode [--repeat 40]

For 640x480 and 1280x720 and each installed decoder it times:
  plain   one decoder call on the grey frame (the first ladder step);
  stream  what the camera driver spends per frame (StreamLadder: the plain
          attempt plus one fallback step in turn);
  ladder  the whole ladder (``decode()``, as scan-image runs it): on a
          frame without a code this is the worst case.
Times include the BGR-to-grey conversion. Writes artifacts/benchmarks/decode.json.
"""

from __future__ import annotations

import argparse
import random
import time

import cv2

from hardware.camera.decoding import StreamLadder, decode, installed_decoders, make_decoder
from tests.benchmarks.common import summary_ms, write_result
from tests.hardware.qr_media import background, pickup_payload, scene

SIZES = ((640, 480), (1280, 720))
VARIANTS = 5  # different frames per case, cycled, so no single picture decides


def frames(width: int, height: int, with_code: bool) -> list:
    rng = random.Random(width * 7 + with_code)
    out = []
    for seed in range(VARIANTS):
        if with_code:
            grey = scene(pickup_payload(rng), width=width, height=height, seed=seed,
                         module_px=max(3, height // 120))
        else:
            grey = background(random.Random(seed), width, height)
        out.append(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))  # cameras deliver BGR
    return out


def time_calls(call, inputs: list, repeat: int) -> list[float]:
    call(inputs[0])  # warm-up: first calls allocate
    timings = []
    for index in range(repeat):
        start = time.perf_counter()
        call(inputs[index % len(inputs)])
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="timed frames per case")
    args = parser.parse_args()

    results = []
    for name in installed_decoders():
        decoder = make_decoder(name)
        for width, height in SIZES:
            for with_code in (True, False):
                inputs = frames(width, height, with_code)
                stream = StreamLadder(decoder)
                modes = {
                    "plain": lambda f: decoder(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)),
                    "stream": stream.decode,
                    "ladder": lambda f: decode(f, decoder),
                }
                for mode, call in modes.items():
                    found = call(inputs[0])
                    entry = {
                        "decoder": name, "mode": mode, "size": f"{width}x{height}",
                        "code_in_frame": with_code, "found": bool(found),
                        **summary_ms(time_calls(call, inputs, args.repeat)),
                    }
                    results.append(entry)
    path = write_result("decode", {"repeat": args.repeat, "results": results})

    print(f"{'decoder':8} {'mode':7} {'size':9} {'code':5} {'median ms':>10} {'p95 ms':>8}")
    for r in results:
        code = "yes" if r["code_in_frame"] else "no"
        print(f"{r['decoder']:8} {r['mode']:7} {r['size']:9} {code:5} "
              f"{r['median_ms']:>10.2f} {r['p95_ms']:>8.2f}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
