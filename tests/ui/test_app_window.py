"""The real app in a real Kivy window (SDL offscreen), driven end to end.

Each scenario runs in its own process (Kivy's App.run() works once per
process) against a loopback registry and simulated hardware; see driver.py.
The processes start together when the first test needs one, so the module
takes about as long as its slowest scenario.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("kivy", reason="the UI needs Kivy: run tools/setup")

from kiosk.ui import texts  # noqa: E402
from tests.ui.driver import HANG_EXIT  # noqa: E402
from kiosk.ui.i18n import t  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# The first test waits for all scenario processes (about a minute on 2 cores).
pytestmark = pytest.mark.timeout(400)
SCENARIOS = ["pickup_touch", "pickup_keyboard", "staff_keyboard", "errors", "inactivity", "old_id_return",
             "simulator_panel", "problem_at_door"]


HANG_SECONDS = 150  # a scenario takes 15-40 s; past this the driver dumps its stacks and exits


def run_scenario(name: str, out: Path) -> dict:
    env = dict(os.environ, KIVY_HOME=str(out / "kivy-home"), PICKUPBOX_UI_TEST_HANG_SECONDS=str(HANG_SECONDS))
    env.pop("KIVY_NO_CONSOLELOG", None)
    command = [sys.executable, "-m", "tests.ui.driver", name, str(out)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_SECONDS + 60)
    if proc.returncode == HANG_EXIT:
        # Seen once in many runs on a loaded 2-core machine and not yet
        # diagnosed: keep the thread dump, try once more, and fail with the
        # dump if it hangs again.
        first = proc.stderr[-6000:]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=HANG_SECONDS + 60)
        if proc.returncode == HANG_EXIT:
            raise AssertionError(f"scenario {name} hung twice; thread dump:\n{first}")
    result_file = out / "result.json"
    if not result_file.exists():
        raise AssertionError(f"scenario {name} crashed (rc {proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    result["out"] = out
    result["log"] = proc.stderr
    return result


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, Future]:
    base = tmp_path_factory.mktemp("ui-scenarios")
    pool = ThreadPoolExecutor(max_workers=2)  # the CI machine has 2 cores
    futures = {name: pool.submit(run_scenario, name, base / name) for name in SCENARIOS}
    yield futures
    pool.shutdown(wait=True)


def result_of(scenarios, name: str) -> dict:
    result = scenarios[name].result()
    assert result["ok"], f"{result.get('error')}\nlabels on screen: {result.get('failure_labels')}"
    return result


def test_full_pickup_by_touch(scenarios):
    r = result_of(scenarios, "pickup_touch")
    # The camera ran while the scan screen was visible, and stopped when it left.
    assert r["scanner_ran_on_scan_screen"] is True and r["scanner_after"] is False
    assert "123456" not in " ".join(r["pin_labels"])  # digits never appear on screen
    assert t(texts.OPEN_TITLE, "en") in r["open_labels"]
    assert t(texts.OPEN_INSTRUCTION, "en", number=r["number"]) in r["open_labels"]


def test_pickup_speech_follows_the_screens_and_never_says_pin_digits(scenarios):
    r = result_of(scenarios, "pickup_touch")
    spoken = [s["text"] for s in r["speech"]]
    assert spoken[0] == t(texts.SAY_IDLE, "de")  # German until the citizen chooses
    chosen = next(i for i, s in enumerate(r["speech"]) if s["lang"] == "en")
    assert spoken[chosen] == t(texts.SAY_IDLE, "en")  # the welcome again, in the chosen language
    assert t(texts.SAY_SCAN, "en") in spoken and t(texts.SAY_PIN_LETTER, "en") in spoken
    assert [s for s in spoken if s.startswith("Digit")] == [f"Digit {n} of 6" for n in range(1, 7)]
    assert not any(digit in s for s in spoken for digit in ("482915", "4 8 2")), spoken
    assert all(s["lang"] == "en" for s in r["speech"][chosen:])
    # The help key opens the step's help page, read aloud; closing it says the step again.
    assert t(texts.HELP_PIN_LETTER, "en") in r["help_labels"]
    assert any(s.startswith("Help. " + t(texts.HELP_PIN_LETTER, "en")) and "0800 123 456" in s for s in spoken)
    assert spoken.count(t(texts.SAY_PIN_LETTER, "en")) == 2


def test_full_pickup_by_keyboard_alone(scenarios):
    r = result_of(scenarios, "pickup_keyboard")
    assert r["typed"] == r["code"]
    assert r["code_left"] == "" and r["pin_left"] == 0  # nothing kept after submitting


def test_staff_login_deposit_and_removal_by_keyboard(scenarios):
    r = result_of(scenarios, "staff_keyboard")
    assert r["scanner_on_deposit"] is True
    assert len(set(r["deposited"])) == 2
    assert t(texts.DEPOSIT_DONE, "de", reference=r["references"][0], number=r["deposited"][0]) in r["after_first"]
    assert sorted(r["removed"]) == sorted(r["deposited"])
    assert t(texts.REMOVAL_DONE, "de", count=2) in r["menu_labels"]
    assert r["statuses"] == ["ORDER_STATUS_REMOVED", "ORDER_STATUS_REMOVED"]


ERROR_TEXTS = {
    "invalid_qr": (texts.ERR_INVALID_CODE_TITLE, {}),
    "typo": (texts.CODE_TYPO, {}),
    "too_short": (texts.CODE_TOO_SHORT, {"total": 10, "count": 8}),
    "unknown": (texts.ERR_UNKNOWN_CODE_TITLE, {}),
    "wrong_pin": (texts.ERR_WRONG_PIN_TEXT, {"attempts": 4}),
    "pin_letter_declined": (texts.ERR_PIN_LETTER_DECLINED_TEXT, {}),
    "door_failed": (texts.ERR_DOOR_FAILED_TEXT, {}),
}


def test_error_screens_say_what_happened_and_what_to_do(scenarios):
    r = result_of(scenarios, "errors")
    for name, (msgid, values) in ERROR_TEXTS.items():
        labels = r["seen"][name]["labels"]
        assert t(msgid, "de", **values) in labels, (name, labels)
    for name in ("invalid_qr", "unknown", "pin_letter_declined", "door_failed"):
        contact = t(texts.OFFICE_CONTACT, "de", office="Bürgerbüro Mitte", phone="0800 123 456", hours="Mo-Fr 8-16")
        assert contact in r["seen"][name]["labels"]
    assert r["status"] == "ORDER_STATUS_DEPOSITED"  # the failed door handed nothing out


def test_inactivity_warns_extends_and_resets(scenarios):
    r = result_of(scenarios, "inactivity")
    assert t(texts.TIMEOUT_TITLE, "en") in r["warning_labels"]
    assert r["after_more"] is None and r["screen_after_more"] == "code"
    assert r["ui_before"] == ["en", True]
    assert r["waited"] > 3  # the extension gave a whole new period, not the seconds that were left
    assert r["ui_after"] == ["de", False, "", ""]  # German, default text size, idle, typed code gone
    assert any(s["text"].startswith("Do you need more time?") for s in r["speech"])


def test_old_id_card_return_after_the_pickup(scenarios):
    r = result_of(scenarios, "old_id_return")
    assert r["compartment"] == 20
    assert t(texts.RETURN_OFFERED, "de", number=20) in r["offered"]
    assert any(t(texts.RETURN_NOT_AN_EID, "de") == line for line in r["wrong_card"])
    assert t(texts.RETURN_DOOR_OPEN, "de", number=20) in r["door"]
    assert t(texts.RETURN_DONE, "de") in r["thanks"]


def test_simulator_panel_toggles_with_f12_and_its_shortcuts_work(scenarios):
    r = result_of(scenarios, "simulator_panel")
    assert r["hidden_at_start"] and r["shown"] and r["hidden_again"]


def test_a_problem_at_the_open_door_alerts_staff_and_holds_the_pickup(scenarios):
    r = result_of(scenarios, "problem_at_door")
    assert {"problem_compartment_empty", "problem_not_my_document", "problem_door_stuck"} <= set(r["choices"])
    assert t(texts.PROBLEM_REPORTED_TITLE, "de") in r["reported"]
    assert t(texts.PROBLEM_NEXT, "de") in r["reported"]
    assert any("0800 123 456" in line for line in r["reported"])  # whom to call
    # The alarm names the order and the compartment; the registry no longer counts it as collected.
    assert r["alarm"] == {"order": r["reference"], "compartment": r["number"], "alarm": True,
                          "detail": r["alarm"]["detail"]} and "compartment_empty" in r["alarm"]["detail"]
    assert r["compartment_state"] == "needs_inspection"
    # The document kind is named while the PIN is typed.
    assert t(texts.DOCUMENT_KIND, "de", kind=t(texts.KIND_PASSPORT, "de")) in r["pin_labels"]


def test_the_configured_help_call_device_is_offered_called_and_shown_to_staff(scenarios):
    r = result_of(scenarios, "problem_at_door")
    assert r["calls"] == ["help_page"]
    assert t(texts.HELP_CONNECTED, "de") in r["calling_labels"]
    device = t(texts.DEVICE_HELP_CALL, "de", name="call button")
    assert any(line.startswith(device) for line in r["health"]), r["health"]
