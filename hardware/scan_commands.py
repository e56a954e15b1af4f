"""kiosk-hw scan-image / scan-camera: try the QR decoding from a shell.

    kiosk-hw scan-image photo1.jpg photo2.png     codes in photos, one per line
    kiosk-hw scan-camera --device /dev/video0     codes as the camera sees them

Both use the camera driver's decoding ladder and decoder choice, so a photo
that fails here would fail at the kiosk too.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time
from pathlib import Path

from hardware.interfaces import HealthStatus, ScanEvent

# hardware.camera.decoding.DECODERS, repeated so that kiosk-hw starts without
# importing OpenCV for the commands that do not need it.
DECODERS = ("zxing", "pyzbar")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    decoder = argparse.ArgumentParser(add_help=False)
    decoder.add_argument("--decoder", choices=DECODERS,
                         help="QR decoder (default: the best installed)")

    image = commands.add_parser("scan-image", parents=[decoder], help="decode QR codes in photos")
    image.add_argument("files", nargs="+", type=Path, metavar="FILE")

    camera = commands.add_parser("scan-camera", parents=[decoder],
                                 help="print QR codes as the camera decodes them")
    camera.add_argument("--device", default="0",
                        help="camera index, /dev/videoN, a video file "
                        "or a pattern like frames/%%04d.png")
    camera.add_argument("--seconds", type=float, default=None,
                        help="stop after N seconds (default: Ctrl-C)")
    camera.add_argument("--loop", action="store_true", help="replay a video file endlessly")


COMMANDS = ("scan-image", "scan-camera")


def run(args: argparse.Namespace) -> int:
    """Carry out one of `COMMANDS`; raises HardwareError for bad options."""
    if args.command == "scan-image":
        return scan_image(args.files, args.decoder)
    return scan_camera(args.device, args.seconds, args.decoder, loop=args.loop)


def scan_image(files: list[Path], decoder_name: str | None) -> int:
    import cv2

    from hardware.camera.decoding import BadFrame, decode, make_decoder

    decoder = make_decoder(decoder_name, source="kiosk-hw scan-image")
    found = 0
    for path in files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            print(f"{path}: not an image OpenCV can read (JPEG, PNG, BMP, TIFF, WebP ...)",
                  file=sys.stderr)
            continue
        try:
            hit = decode(image, decoder)
        except BadFrame as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            continue
        if hit is None:
            print(f"{path}: no QR code found", file=sys.stderr)
            continue
        for payload in hit.payloads:
            print(f"{path}: {_text(payload)}")  # as given, like the failures above
            found += 1
    return 0 if found else 1


def scan_camera(device: str, seconds: float | None, decoder_name: str | None, *,
                loop: bool = False) -> int:
    from hardware.camera.scanner import CameraScanner

    scanner = CameraScanner(device, decoder=decoder_name, loop=loop)
    events: queue.Queue[ScanEvent] = queue.Queue()
    scanner.subscribe(events.put)
    deadline = None if seconds is None else time.monotonic() + seconds
    reported = None
    scanner.start()
    print(f"watching {scanner.name}; show a QR code (Ctrl-C ends)", file=sys.stderr)
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.2)
                print(_text(event.payload), flush=True)
            except queue.Empty:
                pass
            health = scanner.health()[0]
            if health != reported and health.status is not HealthStatus.OK:
                print(f"{health.device}: {health.status.value}: {health.detail}", file=sys.stderr)
            reported = health
    except KeyboardInterrupt:
        pass
    finally:
        scanner.close()
    if scanner.frames_read == 0:
        print(f"{scanner.name}: no pictures read", file=sys.stderr)
        return 1
    return 0


def _text(payload: bytes) -> str:
    """The payload as text; bytes that are not UTF-8 are shown escaped, never dropped."""
    return payload.decode("utf-8", errors="backslashreplace")
