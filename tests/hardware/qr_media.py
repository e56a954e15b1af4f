"""Test pictures and videos with QR codes, made at test time.

Shared by the camera tests and the decode benchmarks. Everything takes a
`random.Random` or a seed, so a run makes the same pictures every time.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import segno

from common.credentials import ALPHABET, CredentialFormatError, normalize_code, qr_payload


def pickup_payload(rng: random.Random) -> bytes:
    """A valid ``PBX1:`` payload with a code drawn from `rng` (check symbol included)."""
    body = "".join(rng.choice(ALPHABET) for _ in range(9))
    for check in ALPHABET:
        try:
            return qr_payload(normalize_code(body + check)).encode("ascii")
        except CredentialFormatError:
            continue
    raise AssertionError("every body has exactly one check symbol")


def qr_image(payload: bytes, module_px: int, *, quiet: int = 4, dark: int = 0,
             light: int = 255) -> np.ndarray:
    """The code as a grey image, `module_px` pixels per module."""
    matrix = np.array(segno.make(payload, error="m", micro=False).matrix, dtype=bool)
    matrix = np.pad(matrix, quiet, constant_values=False)
    image = np.where(matrix, dark, light).astype(np.uint8)
    return cv2.resize(image, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


def background(rng: random.Random, width: int, height: int) -> np.ndarray:
    """A lobby-ish grey background: a lighting gradient, some blobs, sensor noise."""
    np_rng = np.random.default_rng(rng.randrange(2**32))
    x = np.linspace(0, 1, width, dtype=np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    base = 90 + 80 * (rng.random() * x + rng.random() * y) / 2
    image = np.broadcast_to(base, (height, width)).astype(np.float32).copy()
    for _ in range(6):
        centre = (rng.randrange(width), rng.randrange(height))
        axes = (rng.randrange(20, width // 3), rng.randrange(20, height // 3))
        cv2.ellipse(image, centre, axes, rng.randrange(180), 0, 360, rng.randrange(40, 200), -1)
    image = cv2.GaussianBlur(image, (0, 0), 8)
    image += np_rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def paste(frame: np.ndarray, image: np.ndarray, centre: tuple[int, int]) -> np.ndarray:
    """`image` pasted onto a copy of `frame` (grey) with its middle at `centre`."""
    out = frame.copy()
    h, w = image.shape
    top, left = centre[1] - h // 2, centre[0] - w // 2
    out[top : top + h, left : left + w] = image
    return out


def warp_onto(frame: np.ndarray, image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """`image` drawn onto a copy of `frame` with its corners at `corners` (4x2, clockwise)."""
    h, w = image.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, np.float32(corners))
    size = (frame.shape[1], frame.shape[0])
    warped = cv2.warpPerspective(image, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full_like(image, 255), matrix, size, flags=cv2.INTER_NEAREST)
    out = frame.copy()
    out[mask > 0] = warped[mask > 0]
    return out


def rotated(
    frame: np.ndarray, image: np.ndarray, centre: tuple[int, int], degrees: float
) -> np.ndarray:
    h, w = image.shape
    half = np.float32([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    turn = np.deg2rad(degrees)
    rot = np.float32([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return warp_onto(frame, image, half @ rot.T + np.float32(centre))


def scene(payload: bytes, *, width: int = 640, height: int = 480, module_px: int = 6,
          seed: int = 0, inverted: bool = False, degrees: float = 0.0) -> np.ndarray:
    """A grey frame with the code in the middle of a textured background."""
    rng = random.Random(seed)
    frame = background(rng, width, height)
    dark, light = (255, 0) if inverted else (0, 255)
    code = qr_image(payload, module_px, dark=dark, light=light)
    centre = (width // 2, height // 2)
    return rotated(frame, code, centre, degrees) if degrees else paste(frame, code, centre)


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """Frames (grey or BGR) as an MJPG .avi that cv2.VideoCapture reads back."""
    frames = [_bgr(f) for f in frames]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_sequence(folder: Path, frames: Sequence[np.ndarray], name: str = "%04d.png") -> str:
    """Frames as numbered PNGs; returns the printf pattern cv2.VideoCapture opens."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / (name % index)), _bgr(frame))
    return str(folder / name)


def _bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame


@contextmanager
def camera_recording() -> Iterator[dict]:
    """A contract-test setup: options for the camera driver on a short recording."""
    with tempfile.TemporaryDirectory(prefix="camera-") as folder:
        payload = pickup_payload(random.Random(5))
        video = write_video(Path(folder) / "scan.avi", [scene(payload)] * 10, fps=60.0)
        yield {"device": str(video), "loop": True}
