"""Find QR codes in camera frames: decoders and the ladder of attempts.

Pure functions on numpy frames (BGR or grayscale ``uint8``), shared by the
camera driver, ``kiosk-hw scan-image`` and the benchmarks.

Decoders
    ``zxing`` (zxing-cpp, the optional ``zxing`` extra) and ``pyzbar``
    (Debian's libzbar0), both restricted to QR codes: reading every barcode
    kind costs about three times as much and the kiosk wants only QR. Both
    run "plain" (zxing-cpp's own invert/rotate/downscale retries switched
    off) inside the ladder below, so each step tries one thing.

Library first
    With zxing-cpp, the first attempt on every frame is the library's own
    ``read_barcodes`` with its default options (rotate, downscale and invert
    retries on) on the frame exactly as it came, and only then the ladder:
    the ladder alone, on grey frames with the retries off, lost codes the
    library alone finds (issue 13: 114 against 123 of 137 real photos). So
    the scanner reads every code the library's defaults read, and more.

Ladder
    Cheapest and most useful first, stop at the first hit: the grey frame as
    it is; inverted for light-on-dark phone themes; the centre (where the UI
    draws its framing guide) enlarged, for a code held far away; the frame
    halved, which smooths blur, noise and screen moiré; contrast equalised
    (CLAHE, on the halved frame) for a dim lobby; turned by 45 degrees for a
    code held at a slant that the finder misses. `decode()` walks the whole ladder (a single photo);
    `StreamLadder` is for video, where the next frame comes in 33 ms anyway:
    every frame gets the plain attempt plus one fallback step in turn, so a
    frame without a code stays cheap (see tests/benchmarks/bench_decode.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from hardware.errors import DriverConfigError

DECODERS = ("zxing", "pyzbar")
# Which Python package and extra each decoder needs, for error messages.
_PACKAGES = {
    "zxing": ("zxingcpp", "pip install 'pickupbox-kiosk[zxing]' (zxing-cpp)"),
    "pyzbar": ("pyzbar", "pip install pyzbar and apt-get install libzbar0"),
}


class BadFrame(ValueError):
    """A frame that is not a picture: empty, wrong type or channel count."""


class Decoder(Protocol):
    """Turns a grey ``uint8`` image into the payloads of the QR codes in it."""

    name: str

    def __call__(self, gray: np.ndarray) -> list[bytes]: ...


# --- Decoders ------------------------------------------------------------------------


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp

        self._read = zxingcpp.read_barcodes
        self._formats = zxingcpp.BarcodeFormat.QRCode

    def __call__(self, gray: np.ndarray) -> list[bytes]:
        found = self._read(
            gray, formats=self._formats, try_rotate=False, try_downscale=False, try_invert=False
        )
        return [bytes(code.bytes) for code in found if code.valid]

    def library_defaults(self, frame: np.ndarray) -> list[bytes]:
        """zxing-cpp's ``read_barcodes`` with its default options on the frame
        as given (BGR or grey), restricted to QR codes: restricting the formats
        only skips the other symbologies' readers (and takes 2.5 instead of 36
        ms per 720p frame without a code); tests/benchmarks/bench_detection.py
        checks it against the unrestricted call."""
        found = self._read(frame, formats=self._formats)
        return [bytes(code.bytes) for code in found if code.valid]


class PyzbarDecoder:
    name = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._decode = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def __call__(self, gray: np.ndarray) -> list[bytes]:
        return [bytes(code.data) for code in self._decode(gray, symbols=self._symbols)]


_CLASSES: dict[str, Callable[[], Decoder]] = {"zxing": ZxingDecoder, "pyzbar": PyzbarDecoder}


def installed_decoders() -> list[str]:
    """The decoders whose package can be imported here, best first."""
    return [name for name in DECODERS if importlib.util.find_spec(_PACKAGES[name][0])]


def default_decoder() -> str:
    """zxing-cpp when installed, else pyzbar. On the project's machine zxing-cpp
    took 1.0 ms per 720p frame against pyzbar's 26 ms (median) and read 90 %
    of the generated hard photos against 76 % (both with the ladder); rerun
    tests/benchmarks/bench_decode.py and bench_detection.py to compare."""
    found = installed_decoders()
    return found[0] if found else "zxing"


def make_decoder(name: str | None = None, *, source: str = "camera") -> Decoder:
    """The decoder called `name` (None: `default_decoder()`), ready to use."""
    name = name or default_decoder()
    if name not in _CLASSES:
        raise DriverConfigError("decoder", name, "one of: " + ", ".join(DECODERS), source=source)
    module, how = _PACKAGES[name]
    try:
        return _CLASSES[name]()
    except ImportError as exc:
        raise DriverConfigError(
            "decoder", name,
            f"an installed decoder: the Python package {module!r} is missing or broken ({exc}); "
            f"install it ({how}) or choose decoder = "
            + " | ".join(repr(d) for d in DECODERS if d != name),
            source=source,
        ) from None


# --- Frames --------------------------------------------------------------------------


def to_gray(frame: object) -> np.ndarray:
    """A grey ``uint8`` image from a BGR, BGRA or grey frame; BadFrame otherwise."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise BadFrame(f"expected a uint8 image array, got {type(frame).__name__}"
                       + (f" of {frame.dtype}" if isinstance(frame, np.ndarray) else ""))
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        gray = cv2.cvtColor(frame, code)
    else:
        raise BadFrame(f"expected a grey or colour image, got shape {frame.shape}")
    if gray.shape[0] < 21 or gray.shape[1] < 21:
        raise BadFrame(
            f"image of {gray.shape[1]}x{gray.shape[0]} pixels is too small for a QR code"
        )
    return np.ascontiguousarray(gray)


# --- The ladder ----------------------------------------------------------------------

Transform = Callable[[np.ndarray], np.ndarray]


def _plain(gray: np.ndarray) -> np.ndarray:
    return gray


def _centre(gray: np.ndarray) -> np.ndarray:
    # The middle 60 % of each side, enlarged back to about the frame's size:
    # a small code far away gains pixels per module, and the clutter around
    # the framing guide is gone.
    h, w = gray.shape
    top, left = int(h * 0.2), int(w * 0.2)
    crop = gray[top : h - top, left : w - left]
    return cv2.resize(crop, None, fx=1.6, fy=1.6, interpolation=cv2.INTER_LINEAR)


def _halved(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))


def _equalised(gray: np.ndarray) -> np.ndarray:
    # On the halved frame: averaging four pixels tames the sensor noise that
    # CLAHE would amplify in a dark frame, at a quarter of the cost.
    return _CLAHE.apply(_halved(gray))


def _inverted(gray: np.ndarray) -> np.ndarray:
    return cv2.bitwise_not(gray)


def _turned(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 45, 1.0)
    return cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


@dataclass(frozen=True)
class Step:
    name: str
    transform: Transform


# Ordered by what the detection benchmark found (tests/benchmarks/
# bench_detection.py, 270 generated photos): after the plain attempt,
# inversion rescues every dark-theme phone and the enlarged centre most small
# or dim codes; halving and turning rescued a few for pyzbar only, CLAHE none
# there (zxing-cpp binarises locally), but it stays for dimmer lobbies than
# the set has: in the stream it costs one slot in five frames.
LADDER: tuple[Step, ...] = (
    Step("plain", _plain),
    Step("inverted", _inverted),
    Step("centre", _centre),
    Step("halved", _halved),
    Step("equalised", _equalised),
    Step("turned", _turned),
)
STEP_NAMES = tuple(step.name for step in LADDER)


@dataclass(frozen=True)
class Hit:
    payloads: tuple[bytes, ...]
    step: str  # the ladder step that found them


LIBRARY_STEP = "library"  # Hit.step of a code found by zxing-cpp's own defaults


def library_defaults(decoder: Decoder, frame: np.ndarray) -> Hit | None:
    # Call after to_gray(frame) accepted the frame.
    """The library's own default attempt, for decoders that have one (zxing-cpp)."""
    attempt = getattr(decoder, "library_defaults", None)
    if attempt is None:
        return None
    # zxing-cpp takes grey or BGR; a BGRA or one-channel 3-D frame goes in as grey.
    as_given = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)
    payloads = attempt(frame if as_given else to_gray(frame))
    return Hit(tuple(dict.fromkeys(payloads)), LIBRARY_STEP) if payloads else None


def decode(frame: np.ndarray, decoder: Decoder, steps: Sequence[Step] = LADDER, *,
           library_first: bool = True) -> Hit | None:
    """The library's defaults first (see above), then `steps` on `frame`;
    the first attempt's codes, or None."""
    gray = to_gray(frame)  # also rejects what is not a picture, before the library sees it
    if library_first:
        hit = library_defaults(decoder, frame)
        if hit is not None:
            return hit
    for step in steps:
        payloads = decoder(step.transform(gray))
        if payloads:
            return Hit(tuple(dict.fromkeys(payloads)), step.name)
    return None


# Steps the library's defaults already cover (a plain pass, and try_invert).
COVERED_BY_LIBRARY = frozenset({"plain", "inverted"})


class StreamLadder:
    """The ladder spread over a video stream: each frame gets the first attempt
    (the library's defaults, or the plain step for a decoder without them) and
    the next fallback step in turn, so its cost stays at about two decodes
    (under 10 ms per 720p frame: tests/benchmarks/bench_decode.py)."""

    def __init__(self, decoder: Decoder, steps: Sequence[Step] = LADDER) -> None:
        self.decoder = decoder
        self._library = hasattr(decoder, "library_defaults")
        first = [] if self._library else [steps[0]]
        self._first = first
        rest = steps if self._library else steps[1:]
        self._fallbacks = [s for s in rest if not (self._library and s.name in COVERED_BY_LIBRARY)]
        self._turn = 0

    def decode(self, frame: np.ndarray) -> Hit | None:
        steps = list(self._first)
        if self._fallbacks:
            steps.append(self._fallbacks[self._turn % len(self._fallbacks)])
            self._turn += 1
        return decode(frame, self.decoder, steps, library_first=self._library)
