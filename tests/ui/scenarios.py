"""End-to-end scenarios the driver plays on the real app (see driver.py)."""

from __future__ import annotations

from kiosk.ui.keys import KEY_ENTER, KEY_ESCAPE
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import STAFF_CARD, STAFF_PIN
from tests.ui.world import CITIZEN_PIN

SCENARIOS: dict = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# Extra config per scenario (environment keys without the PICKUPBOX_ prefix).
WORLD_OPTIONS: dict[str, dict[str, str]] = {
    "inactivity": {"KIOSK__SESSION_TIMEOUT_SECONDS": "10", "UI__TIMEOUT_WARNING_SECONDS": "6"},
}


@scenario
def smoke(robot) -> dict:
    robot.wait_screen("idle")
    robot.shot("idle")
    return {"labels": robot.labels()}
