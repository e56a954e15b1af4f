"""How many hard photos each decoder reads, per kind of difficulty.

    .venv/bin/python -m tests.benchmarks.bench_detection [--per-category 30] [--seed 1]
    .venv/bin/python -m tests.benchmarks.bench_detection --dir ~/my-qr-photos

The generated set (deterministic for a seed, 1280x720 like the kiosk camera)
has these categories: clean, perspective, blur, low light with noise, a glare
spot, a phone screen (code on a dark bezel, low contrast, moiré), a small
code far away, inverted (light on dark), turned. Each photo holds a real
``PBX1:`` payload; a photo counts as read only if exactly that payload comes
back. `--dir` instead reads every image in a folder and counts a photo as read
when any QR code decodes (your own photos have your own payloads).

Configurations: each installed decoder alone (one plain attempt), with the
ladder only (library_first=False: how the scanner read before issue 13), and
combined (the scanner today: zxing-cpp's own defaults first, then the
ladder); for the ladder ones, which step found the code. The reference is
``zxing-cpp defaults``: ``zxingcpp.read_barcodes(photo)`` with every option at
its default (all formats) on the photo as loaded; "fewer than defaults" counts
photos it read that a configuration missed (the scanner's must be 0). Writes
artifacts/benchmarks/detection.json (or detection-dir.json).
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from hardware.camera.decoding import LADDER, decode, installed_decoders, make_decoder
from tests.benchmarks.common import write_result
from tests.hardware.qr_media import background, pickup_payload, qr_image, rotated, warp_onto

WIDTH, HEIGHT = 1280, 720
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


# --- The generated photos ----------------------------------------------------------


def _place(rng: random.Random, size: int) -> tuple[int, int]:
    """A centre inside the framing guide (the middle half of the frame) that
    keeps a `size`-pixel object wholly in the picture."""

    def pick(length: int) -> int:
        low, high = max(size // 2 + 4, length // 4), min(length - size // 2 - 4, 3 * length // 4)
        return rng.randint(low, high) if low <= high else length // 2

    return pick(WIDTH), pick(HEIGHT)


def _printed(rng: random.Random, payload: bytes, module_px: float, **colours: int) -> np.ndarray:
    """The code as printed: rendered large, then scaled to `module_px` (anti-aliased)."""
    big = qr_image(payload, 8, **colours)
    side = max(21, round(big.shape[0] * module_px / 8))
    return cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA)


def _noise(rng: random.Random, frame: np.ndarray, sigma: float) -> np.ndarray:
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, sigma, frame.shape)
    return np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def _on_paper(rng: random.Random, payload: bytes, module_px: float | None = None) -> np.ndarray:
    code = _printed(rng, payload, module_px or rng.uniform(4, 7))
    return rotated(background(rng, WIDTH, HEIGHT), code, _place(rng, code.shape[0] * 3 // 2),
                   rng.uniform(-10, 10))


def clean(rng: random.Random, payload: bytes) -> np.ndarray:
    return _on_paper(rng, payload)


def perspective(rng: random.Random, payload: bytes) -> np.ndarray:
    code = _printed(rng, payload, rng.uniform(5, 7))
    side = code.shape[0]
    cx, cy = _place(rng, side * 2)
    corners = np.float32([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * side / 2
    # Tilt away: one edge shorter than the other, plus a little jitter.
    squeeze = rng.uniform(0.4, 0.7)
    axis = rng.randrange(2)
    for index in ((1, 2) if axis == 0 else (2, 3)):
        corners[index, 1 - axis] *= squeeze
    corners += np.float32([[rng.uniform(-0.12, 0.12) * side for _ in range(2)] for _ in range(4)])
    return warp_onto(background(rng, WIDTH, HEIGHT), code, corners + np.float32([cx, cy]))


def blur(rng: random.Random, payload: bytes) -> np.ndarray:
    frame = _on_paper(rng, payload, rng.uniform(5, 7))
    if rng.random() < 0.5:
        return cv2.GaussianBlur(frame, (0, 0), rng.uniform(2.5, 4.5))
    length = rng.randrange(12, 24)  # a hand moving during the exposure
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    turn = cv2.getRotationMatrix2D((length / 2, length / 2), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    return cv2.filter2D(frame, -1, kernel / kernel.sum())


def low_light(rng: random.Random, payload: bytes) -> np.ndarray:
    frame = _on_paper(rng, payload).astype(np.float32) * rng.uniform(0.1, 0.2)
    return _noise(rng, frame.astype(np.uint8), rng.uniform(3, 6))


def glare(rng: random.Random, payload: bytes) -> np.ndarray:
    code = _printed(rng, payload, rng.uniform(5, 7))
    side = code.shape[0]
    cx, cy = _place(rng, side * 3 // 2)
    frame = rotated(background(rng, WIDTH, HEIGHT), code, (cx, cy), rng.uniform(-10, 10))
    # A ceiling light on glossy paper: a bright blob over part of the code.
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    gx = cx + rng.uniform(-0.35, 0.35) * side
    gy = cy + rng.uniform(-0.35, 0.35) * side
    radius = rng.uniform(0.18, 0.32) * side
    spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2)) * rng.uniform(160, 230)
    return np.clip(frame.astype(np.float32) + spot, 0, 255).astype(np.uint8)


def phone_screen(rng: random.Random, payload: bytes) -> np.ndarray:
    code = _printed(rng, payload, rng.uniform(3, 5), dark=rng.randint(70, 100),
                    light=rng.randint(150, 185))
    side = code.shape[0]
    screen = np.full((int(side * 1.9), int(side * 1.15)), code.max(), np.uint8)
    top = (screen.shape[0] - side) // 2
    left = (screen.shape[1] - side) // 2
    screen[top : top + side, left : left + side] = code
    phone = np.full((screen.shape[0] + 60, screen.shape[1] + 24), 18, np.uint8)  # the bezel
    phone[30 : 30 + screen.shape[0], 12 : 12 + screen.shape[1]] = screen
    h, w = phone.shape
    cx, cy = WIDTH // 2 + rng.randint(-120, 120), HEIGHT // 2 + rng.randint(-20, 20)
    corners = np.float32([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    corners += np.float32([[rng.uniform(-0.06, 0.06) * w for _ in range(2)] for _ in range(4)])
    # Moiré: the screen's pixel grid beating against the camera sensor's.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx, fy = rng.uniform(0.08, 0.3), rng.uniform(0.08, 0.3)
    moire = 1 + rng.uniform(0.1, 0.25) * np.sin(2 * np.pi * (fx * xx + fy * yy))
    phone = np.clip(phone * moire, 0, 255).astype(np.uint8)
    frame = warp_onto(background(rng, WIDTH, HEIGHT), phone, corners + np.float32([cx, cy]))
    frame = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 1.0)
    return _noise(rng, np.clip(frame, 0, 255).astype(np.uint8), 2)


def small_far(rng: random.Random, payload: bytes) -> np.ndarray:
    return _noise(rng, _on_paper(rng, payload, rng.uniform(1.3, 2.2)), 2)


def inverted(rng: random.Random, payload: bytes) -> np.ndarray:
    code = _printed(rng, payload, rng.uniform(4, 6), dark=255, light=rng.randint(10, 40))
    frame = background(rng, WIDTH, HEIGHT)
    return rotated(frame, code, _place(rng, code.shape[0] * 3 // 2), rng.uniform(-10, 10))


def turned(rng: random.Random, payload: bytes) -> np.ndarray:
    code = _printed(rng, payload, rng.uniform(4, 6))
    return rotated(background(rng, WIDTH, HEIGHT), code, _place(rng, code.shape[0] * 3 // 2),
                   rng.uniform(15, 75) * rng.choice((-1, 1)))


CATEGORIES: dict[str, Callable[[random.Random, bytes], np.ndarray]] = {
    f.__name__: f
    for f in (clean, perspective, blur, low_light, glare, phone_screen, small_far, inverted, turned)
}


def generated(per_category: int, seed: int):
    """(category, payload, BGR frame) for the whole set, the same for the same seed."""
    for category, make in CATEGORIES.items():
        rng = random.Random(f"{seed}-{category}")
        for _ in range(per_category):
            payload = pickup_payload(rng)
            yield category, payload, cv2.cvtColor(make(rng, payload), cv2.COLOR_GRAY2BGR)


def from_folder(folder: Path):
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                print(f"{path}: not readable, skipped")
                continue
            yield path.name, None, image


# --- Counting ----------------------------------------------------------------------


def zxing_defaults(frame: np.ndarray) -> list[bytes]:
    """zxing-cpp's read_barcodes with its default options, QR results only."""
    import zxingcpp

    return [bytes(c.bytes) for c in zxingcpp.read_barcodes(frame)
            if c.valid and c.format == zxingcpp.BarcodeFormat.QRCode]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-category", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="a folder of your own photos instead")
    parser.add_argument("--save", type=Path, help="also write the generated photos here (PNG)")
    args = parser.parse_args()

    decoders = {name: make_decoder(name) for name in installed_decoders()}
    configs = [(name, mode) for name in decoders for mode in ("plain", "ladder-only", "combined")]
    reference = zxing_defaults if "zxing" in decoders else None
    fewer: Counter = Counter()
    tally: dict[str, dict[str, Counter]] = {}
    misses: dict[str, list[str]] = {}
    photos = from_folder(args.dir) if args.dir else generated(args.per_category, args.seed)
    for index, (category, payload, frame) in enumerate(photos):
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.save / f"{category}-{index:03d}.png"), frame)
        row = tally.setdefault("all" if args.dir else category, {})
        theirs = None
        if reference is not None:
            theirs = reference(frame)
            read = bool(theirs) and (payload is None or payload in theirs)
            counts = row.setdefault("zxing-cpp defaults", Counter())
            counts["photos"] += 1
            counts["read"] += read
            if not read and args.dir:
                misses.setdefault("zxing-cpp defaults", []).append(category)
        for name, mode in configs:
            key = f"{name}/{mode}"
            hit = decode(frame, decoders[name], LADDER[:1] if mode == "plain" else LADDER,
                         library_first=mode == "combined")
            read = hit is not None and (payload is None or payload in hit.payloads)
            if theirs and not (set(theirs) & set(hit.payloads if hit else ())):
                fewer[key] += 1
            counts = row.setdefault(key, Counter())
            counts["photos"] += 1
            if read:
                counts["read"] += 1
                counts[f"step:{hit.step}"] += 1
            elif args.dir:
                misses.setdefault(key, []).append(category)

    results = {
        category: {key: {"read": c["read"], "photos": c["photos"],
                         "rate": round(c["read"] / c["photos"], 3),
                         "steps": {k[5:]: v for k, v in c.items() if k.startswith("step:")}}
                   for key, c in row.items()}
        for category, row in tally.items()
    }
    name = "detection-dir" if args.dir else "detection"
    settings = {"dir": str(args.dir)} if args.dir else {
        "per_category": args.per_category, "seed": args.seed, "size": f"{WIDTH}x{HEIGHT}"}
    keys = (["zxing-cpp defaults"] if reference else []) + [f"{n}/{m}" for n, m in configs]
    fewer_than = {f"{n}/{m}": fewer[f"{n}/{m}"] for n, m in configs} if reference else {}
    path = write_result(name, {**settings, "results": results, "misses": misses,
                               "fewer_than_zxing_defaults": fewer_than})

    print(f"{'category':14}" + "".join(f"{k:>20}" for k in keys))
    totals = Counter()
    for category, row in results.items():
        cells = []
        for key in keys:
            totals[key, "read"] += row[key]["read"]
            totals[key, "photos"] += row[key]["photos"]
            cells.append(f"{row[key]['read']:>4}/{row[key]['photos']:<4}{row[key]['rate']:>7.0%}")
        print(f"{category:14}" + "".join(f"{c:>20}" for c in cells))
    print(f"{'total':14}" + "".join(
        f"{totals[k, 'read'] / max(1, totals[k, 'photos']):>20.0%}" for k in keys))
    for key in keys:
        steps = Counter()
        for row in results.values():
            steps.update(row[key]["steps"])
        if "ladder" in key or key.endswith("combined"):
            print(f"{key} found by step: " + ", ".join(f"{s} {n}" for s, n in steps.most_common()))
    for key, names in misses.items():
        print(f"{key} missed: {', '.join(names)}")
    if reference:
        print("photos zxing-cpp's defaults read but this missed: "
              + ", ".join(f"{k} {n}" for k, n in fewer_than.items()))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
