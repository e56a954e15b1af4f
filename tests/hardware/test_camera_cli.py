"""kiosk-hw scan-image and scan-camera, in-process on generated photos and recordings."""

import random

import cv2
import pytest

from hardware import scan_commands
from hardware.camera import decoding
from hardware.cli import main
from tests.hardware.qr_media import pickup_payload, scene, write_video

RNG = random.Random(3)
CODE_A = pickup_payload(RNG)
CODE_B = pickup_payload(RNG)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_image_prints_each_code_with_its_file(tmp_path, capsys):
    first, second = tmp_path / "photo1.jpg", tmp_path / "photo2.png"
    cv2.imwrite(str(first), scene(CODE_A, width=1280, height=720))
    cv2.imwrite(str(second), scene(CODE_B, inverted=True))
    code, out, err = run(capsys, "scan-image", str(first), str(second))
    assert code == 0 and err == ""
    # The path as given, as for a file that fails (issue 13), so both can be found again.
    assert out.splitlines() == [f"{first}: {CODE_A.decode()}", f"{second}: {CODE_B.decode()}"]


def test_scan_image_explains_each_bad_file(tmp_path, capsys):
    good, blank, junk = tmp_path / "good.png", tmp_path / "blank.png", tmp_path / "junk.jpg"
    cv2.imwrite(str(good), scene(CODE_A, module_px=3))
    blank_frame = scene(CODE_A)
    blank_frame[:] = 90
    cv2.imwrite(str(blank), blank_frame)
    junk.write_bytes(b"this is not a JPEG")
    code, out, err = run(capsys, "scan-image", "--decoder", "pyzbar", str(tmp_path / "gone.jpg"),
                         str(junk), str(blank), str(good))
    assert code == 0, "one file decoded"
    assert out.splitlines() == [f"{good}: {CODE_A.decode()}"]
    lines = err.splitlines()
    assert lines[0] == f"{tmp_path / 'gone.jpg'}: no such file"
    assert lines[1].startswith(f"{junk}: not an image OpenCV can read")
    assert lines[2] == f"{blank}: no QR code found"


def test_scan_image_fails_when_nothing_decodes(tmp_path, capsys):
    code, out, err = run(capsys, "scan-image", str(tmp_path / "none.png"))
    assert code == 1 and out == "" and "no such file" in err


def test_scan_camera_prints_codes_from_a_recording(tmp_path, capsys):
    frames = [scene(CODE_A)] * 8 + [scene(CODE_B, degrees=20)] * 8
    video = write_video(tmp_path / "demo.avi", frames, fps=60)
    code, out, err = run(capsys, "scan-camera", "--device", str(video), "--seconds", "1")
    assert code == 0
    assert out.splitlines() == [CODE_A.decode(), CODE_B.decode()]
    assert f"watching camera {video}" in err


def test_scan_camera_reports_a_missing_camera(tmp_path, capsys):
    missing = str(tmp_path / "x.avi")
    code, out, err = run(capsys, "scan-camera", "--device", missing, "--seconds", "0.3")
    assert code == 1 and out == ""
    assert f"video file {tmp_path / 'x.avi'} not found" in err


def test_decoder_choices_match_the_decoders():
    assert scan_commands.DECODERS == decoding.DECODERS


def test_unknown_decoder_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["scan-image", "--decoder", "zbar", "x.png"])
    assert "invalid choice" in capsys.readouterr().err


def test_scan_image_prints_a_relative_path_as_given(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    cv2.imwrite("sub/photo.png", scene(CODE_A))
    code, out, err = run(capsys, "scan-image", "sub/photo.png", "sub/missing.png")
    assert out.splitlines() == [f"sub/photo.png: {CODE_A.decode()}"]
    assert err.splitlines() == ["sub/missing.png: no such file"]
