"""The camera QR scanner: a UVC camera (or a recording) read with OpenCV.

Registered as code scanner driver ``camera``. Options::

    [hardware.code_scanner]
    driver = "camera"
    device = "/dev/video0"     # index (0), /dev/videoN, a video file, or an
                               # image sequence such as "frames/%04d.png"
    width = 1280               # asked of the camera; files keep their size
    height = 720
    decoder = "zxing"          # or "pyzbar"; default: the best one installed
    debounce_seconds = 2.0     # the same code is not sent again within this
    loop = false               # replay a file endlessly (vendor demos)

Every kind of device goes through ``cv2.VideoCapture``, so a recording
exercises the same code path as the camera in the cabinet. The capture
thread runs only between `start()` and `stop()`: the camera does not watch
the lobby while no scan screen is shown.

Faults never reach the kiosk as exceptions: a camera that is missing at
start or unplugged later turns health FAILED and is opened again with
growing pauses until it is back; unreadable frames are skipped (health
DEGRADED while they keep coming).
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from hardware.camera.decoding import BadFrame, StreamLadder, make_decoder
from hardware.errors import DeviceUnavailable
from hardware.interfaces import (
    DeviceHealth,
    HealthStatus,
    PreviewFrame,
    ScanEvent,
    ScanCallback,
    Unsubscribe,
)
from hardware.options import validate
from hardware.scan_support import Backoff, HealthCell, Subscribers

log = logging.getLogger(__name__)

PREVIEW_MAX_WIDTH = 640
# Unreadable frames in a row before health says DEGRADED: one odd frame from
# a USB hiccup is normal, a second of them is not.
GARBAGE_LIMIT = 30
# A recording without a frame rate (image sequences) plays at this rate.
DEFAULT_FILE_FPS = 30.0


class CameraOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: int | str = 0
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    decoder: Literal["zxing", "pyzbar"] | None = None
    debounce_seconds: float = Field(default=2.0, ge=0)
    loop: bool = False
    name: str | None = None  # what health calls it; default "camera <device>"


@dataclass(frozen=True)
class VideoSource:
    """Where the pictures come from, and how to talk about it when it is missing."""

    device: int | str

    @property
    def is_file(self) -> bool:
        return isinstance(self.device, str) and not self.device.startswith("/dev/")

    @property
    def path(self) -> str:
        """The file or device node to look for."""
        if isinstance(self.device, int):
            return f"/dev/video{self.device}"
        return self.device

    def missing(self) -> str | None:
        """Why it cannot be opened now, or None when it is (probably) there."""
        if not self.is_file:
            # Only Linux has /dev/videoN; elsewhere let OpenCV find out.
            if os.path.isdir("/dev") and not os.path.exists(self.path):
                return f"camera {self.path} not found: check the USB cable"
            return None
        if "%" in self.path:
            if not glob.glob(_pattern_glob(self.path)):
                return f"image sequence {self.path} not found: no file matches the pattern"
            return None
        if not os.path.isfile(self.path):
            return f"video file {self.path} not found"
        return None

    def open(self, width: int | None, height: int | None) -> cv2.VideoCapture | None:
        capture = cv2.VideoCapture(self.device if isinstance(self.device, int) else self.path)
        if not capture.isOpened():
            capture.release()
            return None
        if not self.is_file:
            if width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            # Keep the newest picture, not a queue of old ones: less delay.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return capture


def _pattern_glob(pattern: str) -> str:
    """'frames/%04d.png' -> 'frames/*.png' (enough to tell whether any exist)."""
    head, _, tail = pattern.partition("%")
    return head + "*" + tail.lstrip("0123456789").removeprefix("d")


def _parse_device(value: int | str) -> int | str:
    return int(value) if isinstance(value, str) and value.isdigit() else value


class CameraScanner:
    """CodeScanner and PreviewSource over one camera; see the module doc."""

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int | None = None,
        height: int | None = None,
        decoder: str | None = None,
        debounce_seconds: float = 2.0,
        loop: bool = False,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
    ) -> None:
        self.source = VideoSource(_parse_device(device))
        self.name = name or f"camera {self.source.path}"
        self._size = (width, height)
        self._decoder = make_decoder(decoder, source=f"code_scanner driver 'camera' ({self.name})")
        self._debounce = debounce_seconds
        self._loop = loop
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._subscribers: Subscribers[ScanEvent] = Subscribers()
        self._health = HealthCell(self.name)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closed = False
        self._seen: dict[bytes, float] = {}  # payload -> when it was last in view
        self._frame: np.ndarray | None = None
        self._sequence = 0
        self._preview: PreviewFrame | None = None
        self.frames_read = 0  # since construction; for tests and `kiosk-hw scan-camera`

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CameraScanner:
        opts = validate(CameraOptions, options, source="code_scanner driver 'camera'")
        return cls(
            opts.device, width=opts.width, height=opts.height, decoder=opts.decoder,
            debounce_seconds=opts.debounce_seconds, loop=opts.loop, name=opts.name,
        )

    # --- CodeScanner protocol

    def start(self) -> None:
        """Start looking. Never fails for a missing camera: health says FAILED
        and the capture thread keeps trying to open it."""
        with self._lock:
            if self._closed:
                raise DeviceUnavailable(f"{self.name}: driver closed")
            if self._thread is not None and self._thread.is_alive():
                return
            self._seen.clear()  # a new scan screen takes the same code again
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._capture, args=(self._stopping,), name=f"capture {self.name}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            self._frame = None
            self._preview = None

    def subscribe(self, callback: ScanCallback) -> Unsubscribe:
        return self._subscribers.add(callback)

    def health(self) -> list[DeviceHealth]:
        if self._closed:
            return [DeviceHealth(self.name, HealthStatus.FAILED, "driver closed")]
        if self.running:
            return [self._health.current]
        # Stopped: the camera is not opened, so say what a cheap look finds.
        problem = self.source.missing()
        if problem:
            return [DeviceHealth(self.name, HealthStatus.FAILED, problem)]
        return [DeviceHealth(self.name, HealthStatus.OK, "stopped")]

    def close(self) -> None:
        self.stop()
        self._closed = True

    # --- PreviewSource protocol

    def preview_frame(self) -> PreviewFrame | None:
        with self._lock:
            frame, sequence, cached = self._frame, self._sequence, self._preview
        if frame is None:
            return None
        if cached is not None and cached.sequence == sequence:
            return cached
        preview = _preview(frame, sequence)
        with self._lock:
            if self._frame is not None:
                self._preview = preview
        return preview

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    # --- The capture thread

    def _capture(self, stopping: threading.Event) -> None:
        capture: cv2.VideoCapture | None = None
        ladder = StreamLadder(self._decoder)
        self._backoff.reset()
        garbage = 0
        period = next_frame = 0.0
        try:
            while not stopping.is_set():
                if capture is None:
                    capture = self._open()
                    if capture is None:
                        stopping.wait(self._backoff.next())
                        continue
                    period = _file_period(capture) if self.source.is_file else 0.0
                    next_frame = time.monotonic()
                ok, frame = capture.read()
                if not ok:
                    capture.release()
                    capture = None
                    if self.source.is_file and not self._loop:
                        self._health.set(HealthStatus.OK, "end of the recording")
                        stopping.wait()
                    elif not self.source.is_file:
                        self._health.set(
                            HealthStatus.FAILED,
                            f"camera {self.source.path} stopped delivering pictures: "
                            "check the USB cable",
                        )
                        stopping.wait(self._backoff.next())
                    continue
                garbage = 0 if self._handle(frame, ladder) else garbage + 1
                if garbage == GARBAGE_LIMIT:
                    self._health.set(
                        HealthStatus.DEGRADED,
                        f"{garbage} unreadable pictures in a row from {self.source.path}",
                    )
                elif garbage == 0 and self._health.current.status is HealthStatus.DEGRADED:
                    self._health.set(HealthStatus.OK)
                if period:
                    # Play recordings at their own speed, as a camera would deliver them.
                    next_frame += period
                    stopping.wait(max(0.0, next_frame - time.monotonic()))
        except Exception as exc:  # never let a surprise kill the kiosk; say so in health
            log.exception("%s: capture thread failed", self.name)
            self._health.set(HealthStatus.FAILED, f"capture failed: {exc}")
        finally:
            if capture is not None:
                capture.release()

    def _open(self) -> cv2.VideoCapture | None:
        problem = self.source.missing()
        capture = None if problem else self.source.open(*self._size)
        if capture is None:
            self._health.set(
                HealthStatus.FAILED, problem or f"cannot open {self.source.path} with OpenCV"
            )
            return None
        self._backoff.reset()
        self._health.set(HealthStatus.OK)
        return capture

    def _handle(self, frame: object, ladder: StreamLadder) -> bool:
        """Decode one frame and send new codes; False for an unreadable frame."""
        try:
            hit = ladder.decode(frame)  # type: ignore[arg-type]
        except BadFrame as exc:
            log.debug("%s: skipping a frame: %s", self.name, exc)
            return False
        except Exception:  # a decoder choking on one picture must not end the capture
            log.warning("%s: the decoder failed on a frame", self.name, exc_info=True)
            return False
        assert isinstance(frame, np.ndarray)
        with self._lock:
            self._frame = frame
            self._sequence += 1
            self.frames_read += 1
        if hit is not None:
            now = self._clock()
            for payload in hit.payloads:
                last = self._seen.get(payload)
                self._seen[payload] = now  # still in view: the window starts again
                if last is None or now - last > self._debounce:
                    self._subscribers.emit(ScanEvent(payload, self.name))
        return True


def _file_period(capture: cv2.VideoCapture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return 1.0 / (fps if 1 <= fps <= 240 else DEFAULT_FILE_FPS)


def _preview(frame: np.ndarray, sequence: int) -> PreviewFrame:
    """A small RGB copy for the UI: at most PREVIEW_MAX_WIDTH pixels wide."""
    height, width = frame.shape[:2]
    if width > PREVIEW_MAX_WIDTH:
        scale = PREVIEW_MAX_WIDTH / width
        frame = cv2.resize(frame, (PREVIEW_MAX_WIDTH, max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    if frame.ndim == 2 or frame.shape[2] == 1:
        rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    elif frame.shape[2] == 4:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    return PreviewFrame(rgb.shape[1], rgb.shape[0], rgb.tobytes(), sequence)
