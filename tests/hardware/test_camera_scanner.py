"""The camera driver on real recordings read back through cv2.VideoCapture.

Each test writes its own video (MJPG .avi) or PNG sequence into a tmp dir;
the driver opens it exactly as it would open /dev/video0.
"""

import os
import random
import shutil
import time

import numpy as np
import pytest

from hardware import drivers
from hardware.camera.scanner import CameraScanner
from hardware.errors import DeviceUnavailable, DriverConfigError
from hardware.interfaces import CodeScanner, HealthStatus, PreviewSource, ScanEvent
from hardware.scan_support import Backoff
from common.credentials import CredentialFormatError, parse_qr_payload
from tests.hardware.qr_media import pickup_payload, scene, write_sequence, write_video
from hardware.conformance import wait_for

RNG = random.Random(11)
CODE_A = pickup_payload(RNG)
CODE_B = pickup_payload(RNG)
FPS = 60.0  # recordings play at their own rate; a high one keeps tests short


def blank(width=640, height=480, seed=0):
    frame = scene(CODE_A, width=width, height=height, seed=seed)
    frame[:] = 140
    return frame


def clip(*segments):
    """Frames from (payload or None, count, scene options) segments."""
    frames = []
    for payload, count, options in segments:
        frame = blank(**{k: v for k, v in options.items() if k in ("width", "height")}) \
            if payload is None else scene(payload, **options)
        frames += [frame] * count
    return frames


def scanner_for(device, **options):
    options.setdefault("backoff", Backoff(first=0.02, most=0.1))
    return CameraScanner(device, **options)


@pytest.fixture
def events():
    return []


def ended(scanner):
    return scanner.health()[0].detail == "end of the recording"


def test_a_code_in_view_is_sent_once(tmp_path, events):
    frames = clip((None, 5, {}), (CODE_A, 40, {}), (None, 5, {}))
    video = write_video(tmp_path / "a.avi", frames, FPS)
    scanner = scanner_for(str(video))
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: ended(scanner), timeout=10)
    scanner.close()
    assert events == [ScanEvent(CODE_A, f"camera {video}")]


def test_the_same_code_again_after_the_debounce_window(tmp_path, events):
    frames = clip((CODE_A, 6, {}), (None, 30, {}), (CODE_A, 6, {}), (CODE_B, 6, {}))
    video = write_video(tmp_path / "again.avi", frames, FPS)
    scanner = scanner_for(str(video), debounce_seconds=0.2)  # the gap lasts 0.5 s
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: ended(scanner), timeout=10)
    scanner.close()
    assert [e.payload for e in events] == [CODE_A, CODE_A, CODE_B]


def test_the_camera_looks_only_between_start_and_stop(tmp_path, events):
    video = write_video(tmp_path / "loop.avi", clip((CODE_A, 10, {})), FPS)
    scanner = scanner_for(str(video), loop=True)
    scanner.subscribe(events.append)
    time.sleep(0.3)
    assert events == [] and scanner.frames_read == 0 and not scanner.running

    scanner.start()
    scanner.start()  # idempotent: still one capture thread
    assert wait_for(lambda: events)
    scanner.stop()
    assert not scanner.running
    read = scanner.frames_read
    time.sleep(0.3)
    assert scanner.frames_read == read, "no frames are read while stopped"
    assert len(events) == 1

    scanner.start()  # a new scan screen: the same code counts again
    assert wait_for(lambda: len(events) == 2)
    scanner.close()
    with pytest.raises(DeviceUnavailable):
        scanner.start()


def test_a_malformed_payload_is_delivered_for_the_kiosk_to_reject(tmp_path, events):
    junk = b"PBX1:K7M2-9QXD"
    video = write_video(tmp_path / "junk.avi", clip((junk, 10, {})), FPS)
    scanner = scanner_for(str(video))
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: events)
    scanner.close()
    assert events[0].payload == junk
    with pytest.raises(CredentialFormatError):
        parse_qr_payload(events[0].payload)


def test_inverted_and_turned_codes_are_found(tmp_path, events):
    frames = clip((CODE_A, 12, {"inverted": True}), (None, 3, {}), (CODE_B, 12, {"degrees": 40}))
    video = write_video(tmp_path / "hard.avi", frames, FPS)
    scanner = scanner_for(str(video))
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: ended(scanner), timeout=10)
    scanner.close()
    assert [e.payload for e in events] == [CODE_A, CODE_B]


def test_an_image_sequence_plays_through_the_same_path(tmp_path, events):
    pattern = write_sequence(tmp_path / "frames", clip((None, 3, {}), (CODE_B, 8, {})))
    scanner = scanner_for(pattern)
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: ended(scanner), timeout=10)
    scanner.close()
    assert [e.payload for e in events] == [CODE_B]


def test_preview_frames_are_small_rgb_and_advance(tmp_path):
    frames = clip((CODE_A, 10, {"width": 1280, "height": 720}))
    video = write_video(tmp_path / "hd.avi", frames, FPS)
    scanner = scanner_for(str(video), loop=True)
    assert isinstance(scanner, PreviewSource) and isinstance(scanner, CodeScanner)
    assert scanner.preview_frame() is None, "nothing before start"
    scanner.start()
    assert wait_for(lambda: scanner.preview_frame() is not None)
    first = scanner.preview_frame()
    assert (first.width, first.height) == (640, 360)
    assert len(first.rgb) == 640 * 360 * 3
    pixels = np.frombuffer(first.rgb, np.uint8).reshape(360, 640, 3)
    assert pixels.min() < 60 and pixels.max() > 200, "the code's black and white modules show"
    assert wait_for(lambda: scanner.preview_frame().sequence > first.sequence)
    scanner.stop()
    assert scanner.preview_frame() is None, "nothing after stop"
    scanner.close()


def test_missing_camera_fails_health_then_recovers_when_it_appears(tmp_path, events):
    path = tmp_path / "late.avi"
    scanner = scanner_for(str(path))
    scanner.subscribe(events.append)
    stopped = scanner.health()[0]
    assert stopped.status is HealthStatus.FAILED and "not found" in stopped.detail
    scanner.start()  # does not raise: the thread keeps trying
    assert wait_for(lambda: scanner.health()[0].status is HealthStatus.FAILED)
    assert f"video file {path} not found" == scanner.health()[0].detail

    staged = write_video(tmp_path / "staged.avi", clip((CODE_A, 10, {})), FPS)
    os.rename(staged, path)  # plugged in
    assert wait_for(lambda: events, timeout=5)
    assert scanner.health()[0].status is HealthStatus.OK
    scanner.close()


def test_a_camera_device_that_is_not_there_names_the_cable():
    scanner = CameraScanner(7)
    health = scanner.health()[0]
    if os.path.exists("/dev/video7"):
        pytest.skip("this machine has a /dev/video7")
    assert health.status is HealthStatus.FAILED
    assert health.detail == "camera /dev/video7 not found: check the USB cable"
    assert health.device == "camera /dev/video7"


def test_unplugged_during_use_fails_then_recovers(tmp_path, events):
    folder = tmp_path / "frames"
    pattern = write_sequence(folder, clip((CODE_A, 6, {})))
    scanner = scanner_for(pattern, loop=True, debounce_seconds=0.2)
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: events)

    shutil.move(folder, tmp_path / "away")  # unplugged
    assert wait_for(lambda: scanner.health()[0].status is HealthStatus.FAILED)
    assert "not found" in scanner.health()[0].detail
    time.sleep(0.3)  # longer than the debounce window: the code left the view
    seen = len(events)
    shutil.move(tmp_path / "away", folder)  # back
    assert wait_for(lambda: len(events) > seen, timeout=5)
    assert scanner.health()[0].status is HealthStatus.OK
    scanner.close()


def test_a_garbled_file_fails_health_without_crashing(tmp_path, events):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" + bytes(range(256)) * 8)
    scanner = scanner_for(str(broken))
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: scanner.health()[0].status is HealthStatus.FAILED)
    assert "cannot open" in scanner.health()[0].detail
    assert scanner.running, "the thread keeps retrying"
    scanner.close()
    assert events == []


def test_a_failing_subscriber_does_not_stop_the_others(tmp_path, events):
    frames = clip((CODE_A, 6, {}), (None, 20, {}), (CODE_B, 6, {}))
    video = write_video(tmp_path / "a.avi", frames, FPS)
    scanner = scanner_for(str(video))

    def broken(event):
        raise RuntimeError("consumer bug")

    scanner.subscribe(broken)
    scanner.subscribe(events.append)
    scanner.start()
    assert wait_for(lambda: ended(scanner), timeout=10)
    scanner.close()
    assert [e.payload for e in events] == [CODE_A, CODE_B]


def test_driver_is_registered_and_checks_its_options(tmp_path):
    assert "camera" in drivers.available("code_scanner")
    video = write_video(tmp_path / "a.avi", clip((None, 2, {})), FPS)
    scanner = drivers.create("code_scanner", "camera", {"device": str(video), "decoder": "pyzbar"})
    assert scanner.health()[0].status is HealthStatus.OK
    scanner.close()
    with pytest.raises(DriverConfigError, match="decoder"):
        drivers.create("code_scanner", "camera", {"device": str(video), "decoder": "zbar"})
    with pytest.raises(DriverConfigError, match="debounce_seconds"):
        drivers.create("code_scanner", "camera", {"debounce_seconds": -1})
    with pytest.raises(DriverConfigError, match="fps"):
        drivers.create("code_scanner", "camera", {"fps": 30})
