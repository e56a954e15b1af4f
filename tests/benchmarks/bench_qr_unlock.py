"""From a QR code entering the camera's view to the unlock frame on the RS485 line.

The whole kiosk runs as in service: the real registry on a loopback port
(default scrypt parameters, as deployed), the kiosk core thread, store and
uplink, the camera driver reading frames through cv2.VideoCapture (an image
sequence: blank lobby frames, then the code), and the Kerong driver talking
to the byte-level board simulator on a pty. Nothing in the measured path is
replaced.

Two paths are timed:

* **deposit** — staff on the deposit screen hold the document's barcode (the
  order reference, as a QR code) to the camera; the compartment unlocks at
  once. Start: the moment the camera driver read the first frame with the
  code. End: the moment the unlock frame reached the board simulator.
* **pickup** — a citizen shows the pickup QR code, the kiosk asks for the
  PIN (QR → PIN prompt), the PIN is submitted (PIN → unlock frame). The
  human typing in between is not part of the system's latency, so the two
  halves are timed separately and their sum is reported.

Target on this machine: QR-to-unlock under 150 ms at p95.

    .venv/bin/python -m tests.benchmarks.bench_qr_unlock [--runs 30]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import cv2
import grpc
import numpy as np

from hardware.box import DEMO_BOX, load_box
from hardware.camera.decoding import default_decoder
from hardware.camera.scanner import CameraScanner, VideoSource
from hardware.devicesim.kerong_bus import KerongBus
from hardware.kerong import codec
from hardware.kerong.bank import KerongLockerBank
from hardware.simulated import SimulatedCardReader, SimulatedIndicator
from kiosk.app import KioskHardware, build_kiosk
from kiosk.config import load_settings
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff_session import StaffState
from registry.notifier import DirectoryNotifier
from registry.server import create_server
from common.auth import authenticated_channel, bearer
from tests.auth_support import admin_token, enrol_into
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.benchmarks.common import summary_ms, write_result
from tests.hardware.qr_media import background, paste, qr_image

STAFF_CARD = "04A1B2C3D4E5F6"
STAFF_PIN = "246810"
CITIZEN_PIN = "482915"
BLANK_FRAMES = 6  # the code enters the view after these


class TimedCapture:
    """cv2.VideoCapture that notes when each frame was read (instrumentation only)."""

    def __init__(self, capture: cv2.VideoCapture, reads: list[float]):
        self._capture = capture
        self._reads = reads

    def read(self):
        result = self._capture.read()
        self._reads.append(time.monotonic())
        return result

    def __getattr__(self, name):
        return getattr(self._capture, name)


class Camera:
    """The camera driver on an image sequence that is rewritten for each code."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.reads: list[float] = []
        rng = random.Random(7)
        self.lobby = background(rng, 640, 480)
        self.write(None)
        self.driver = CameraScanner(str(folder / "%04d.png"), debounce_seconds=0.5)
        reads = self.reads

        class TimedSource(VideoSource):
            def open(self, width, height):
                capture = super().open(width, height)
                return None if capture is None else TimedCapture(capture, reads)

        self.driver.source = TimedSource(self.driver.source.device)

    def write(self, payload: bytes | None) -> None:
        frames = [self.lobby] * BLANK_FRAMES
        if payload is not None:
            frames += [paste(self.lobby, qr_image(payload, 6), (320, 240))] * 24
        for i, frame in enumerate(frames):
            cv2.imwrite(str(self.folder / f"{i:04d}.png"), np.ascontiguousarray(frame))

    def code_entered_at(self) -> float:
        """When the driver read the first frame that holds the code."""
        return self.reads[BLANK_FRAMES]


class Bench:
    def __init__(self, tmp: Path, runs: int):
        self.runs = runs
        self.registry = create_server("127.0.0.1:0", tmp / "registry.sqlite3",
                                      notifier=DirectoryNotifier(tmp / "notices"), stream_poll_seconds=0.2)
        self.registry.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{self.registry.port}")
        admin = bearer(admin_token(tmp / "registry.sqlite3"))
        self.office = pb_grpc.OfficeServiceStub(authenticated_channel(channel, admin))
        self.office.CreateStaffMember(pb.CreateStaffMemberRequest(staff_id="anna", card_uid=STAFF_CARD, pin=STAFF_PIN))
        self.bus = KerongBus([1, 2]).start()
        (tmp / "frames").mkdir()
        self.camera = Camera(tmp / "frames")
        bank = KerongLockerBank.from_options({"port": self.bus.port, "box": "demo", "poll_interval": 0.02})
        self.reader = SimulatedCardReader.from_options({})
        hardware = KioskHardware(bank, self.reader, self.camera.driver, SimulatedIndicator())
        settings = load_settings(None, {
            "PICKUPBOX_KIOSK__DATA_DIR": str(tmp / "kiosk"),
            "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
        })
        enrol_into(self.registry.db, settings.kiosk.id, settings.kiosk.data_dir)
        self.kiosk = build_kiosk(settings, hardware=hardware, registry_target=f"127.0.0.1:{self.registry.port}")
        self.kiosk.start()
        self.core = self.kiosk.core
        box = load_box(DEMO_BOX)
        addresses = {board.name: board.address for board in box.boards}
        self.locks = {n: (addresses[w.board], w.channel) for n, w in box.wiring.items()}
        self.states: list[tuple[float, object, object]] = []
        self.core.add_listener(lambda v: self.states.append((time.monotonic(), v.pickup_state, v.staff_state)))
        wait(lambda: self.kiosk.uplink.registered and self.kiosk.store.staff_count(), "kiosk registration + staff")

    def close(self) -> None:
        self.kiosk.stop()
        self.bus.stop()
        self.registry.stop(grace=0)

    def unlock_frame_after(self, since: float) -> tuple[float, codec.Request]:
        def found():
            for received in list(self.bus.received):
                if received.at >= since and received.request.command == codec.CMD_UNLOCK:
                    return received
            return None

        received = wait(found, "the unlock frame on the bus")
        return received.at, received.request

    def show(self, payload: bytes) -> float:
        """Runs the scan screen with `payload` entering the view; returns when it entered."""
        self.camera.driver.stop()
        self.camera.reads.clear()
        self.camera.write(payload)
        self.core.scan_screen(True)
        wait(lambda: len(self.camera.reads) > BLANK_FRAMES, "the code to enter the view")
        return self.camera.code_entered_at()

    def close_door(self, number: int) -> None:
        self.bus.close_door(*self.locks[number])

    def deposit(self, reference: str) -> tuple[float, int]:
        self.reader.present_card(bytes.fromhex(STAFF_CARD))
        self.reader.remove_card()
        assert self.core.staff_pin(STAFF_PIN).staff_state is StaffState.MENU
        self.core.start_deposit()
        entered = self.show(reference.encode())
        unlocked_at, _ = self.unlock_frame_after(entered)
        view = wait(lambda: (v := self.core.view()).staff_state is StaffState.DEPOSIT_DOOR_OPEN and v, "door open")
        number = view.staff_compartment
        self.core.scan_screen(False)
        self.close_door(number)
        wait(lambda: self.core.view().staff_state is StaffState.DEPOSIT_AWAITING_REFERENCE, "deposit recorded")
        self.core.finish_deposits()
        self.core.logout()
        return unlocked_at - entered, number

    def pickup(self, qr: str, number: int) -> tuple[float, float]:
        self.states.clear()
        entered = self.show(qr.encode())
        prompt = wait(lambda: next((t for t, p, _ in list(self.states) if p is PickupState.AWAITING_PIN), None),
                      "the PIN prompt")
        self.core.scan_screen(False)
        submitted = time.monotonic()
        view = self.core.submit_pin(CITIZEN_PIN)
        assert view.pickup_state in (PickupState.DOOR_OPENING, PickupState.DOOR_OPEN), view.pickup_state
        unlocked_at, _ = self.unlock_frame_after(submitted)
        wait(lambda: self.core.view().pickup_state is PickupState.DOOR_OPEN, "pickup door open")
        self.close_door(number)
        wait(lambda: self.core.view().pickup_state is PickupState.DONE, "pickup done")
        self.core.cancel()  # leave the "done" screen for the next person
        return prompt - entered, unlocked_at - submitted

    def run(self) -> dict:
        deposit, to_prompt, to_unlock, total = [], [], [], []
        for _ in range(self.runs):
            created = self.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                kind=pb.DOCUMENT_KIND_PASSPORT, pin=CITIZEN_PIN))
            reference = created.order.reference
            self.kiosk.uplink.request_sync()
            wait(lambda: self.kiosk.store.order(reference), "the order on the kiosk")
            seconds, number = self.deposit(reference)
            deposit.append(seconds)
            prompt, unlock = self.pickup(created.qr_payload, number)
            to_prompt.append(prompt)
            to_unlock.append(unlock)
            total.append(prompt + unlock)
        return {
            "deposit_qr_to_unlock_frame": summary_ms(deposit),
            "pickup_qr_to_pin_prompt": summary_ms(to_prompt),
            "pickup_pin_to_unlock_frame": summary_ms(to_unlock),
            "pickup_qr_to_unlock_without_typing": summary_ms(total),
        }


def wait(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.001)
    raise TimeoutError(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-qr-unlock-") as folder:
        bench = Bench(Path(folder), args.runs)
        try:
            results = bench.run()
        finally:
            bench.close()
    path = write_result("qr_unlock", {"decoder": default_decoder(), **results})
    for name, figures in results.items():
        print(f"{name:40} median {figures['median_ms']:7.1f} ms   p95 {figures['p95_ms']:7.1f} ms   "
              f"({figures['runs']} runs)")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
