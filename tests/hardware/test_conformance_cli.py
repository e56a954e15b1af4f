"""`kiosk-hw conformance` as a vendor runs it: real processes, a pty, no person.

The simulator runs as its own process (``python -m
hardware.devicesim.kerong_bus``), the kit as another, with the shipped
deploy/kerong.example.toml; only the port (printed by the simulator) and the
simulator's operator are given on the command line.
"""

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from hardware import cli, conformance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "kerong.example.toml"
OPERATOR = "hardware.devicesim.kerong_bus:operator"


@contextmanager
def simulator(*flags):
    process = subprocess.Popen(
        [sys.executable, "-m", "hardware.devicesim.kerong_bus", "--boards", "1,2", *flags],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = process.stdout.readline().strip()
        assert port, process.stderr.read()
        yield port
    finally:
        process.kill()
        process.wait(timeout=5)


def kit(*argv, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "hardware.cli", "conformance", *argv],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def test_the_shipped_config_passes_11_of_11_against_the_simulator(tmp_path):
    report = tmp_path / "kerong.md"
    with simulator() as port:
        done = kit("--config", str(EXAMPLE), "--port", port, "--operator", OPERATOR,
                   "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "11 passed, 0 failed, 0 skipped" in done.stdout
    summary = json.loads(report.with_suffix(".json").read_text())["summary"]
    assert summary == {"passed": 11, "failed": 0, "skipped": 0}
    # Each result is printed as its check ends, right after the check's own line.
    lines = done.stdout.splitlines()
    start = lines.index("  .... forced_door_alarm: A door that opens with no unlock command is "
                        "reported as FORCED_OPEN.")
    assert lines[start + 1] == "  ok   forced_door_alarm"


def test_the_operator_can_be_named_in_the_config(tmp_path):
    with simulator("--protocol", "legacy", "--reply-length", "7") as port:
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[conformance]\noperator = "{OPERATOR}"\n\n'
            f'[hardware.locker_bank]\ndriver = "kerong"\nprotocol = "legacy"\nport = "{port}"\n'
            'box = "demo"\n'
        )
        done = kit("--config", str(config), "--report", str(tmp_path / "r.md"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "11 passed, 0 failed, 0 skipped" in done.stdout


def test_without_an_operator_the_person_steps_are_skipped_never_passed(tmp_path):
    with simulator() as port:
        done = kit("--config", str(EXAMPLE), "--port", port, "--report", str(tmp_path / "r.md"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed, 0 failed, 4 skipped" in done.stdout
    # check 4 leaves the spring-loaded door open; nobody can shut it for check 5
    assert ("skip unlock_reports_the_opening: needs an operator to: shut compartment 1 "
            "(it reads open)") in done.stdout


def test_an_interactive_run_prompts_for_each_step(tmp_path, monkeypatch, capsys):
    """A person at the terminal: the kit asks to shut the door that check 4 left open."""
    from hardware.devicesim.kerong_bus import KerongBus

    with KerongBus([1, 2]) as bus:
        prompts = []

        def person(prompt=""):
            prompts.append(prompt)
            if "shut compartment 1" in prompt:
                bus.close_door(1, 1)
            elif "force compartment 1" in prompt:
                bus.open_door(1, 1)
            return ""

        monkeypatch.setattr("builtins.input", person)
        code = cli.main(["conformance", "--config", str(EXAMPLE), "--port", bus.port,
                         "--interactive", "--report", str(tmp_path / "r.md")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "11 passed, 0 failed, 0 skipped" in out
    assert any("shut compartment 1 (it reads open)" in p for p in prompts), prompts


def test_a_bad_operator_name_is_a_config_error(tmp_path, capsys):
    code = cli.main(["conformance", "--group", "locker_bank", "--operator", "no.such:thing",
                     "--report", str(tmp_path / "r.md")])
    assert code == 1
    assert "operator" in capsys.readouterr().err


@pytest.mark.parametrize("inverted", [False, True])
def test_the_kit_tells_a_vendor_when_polarity_is_probably_inverted(tmp_path, inverted):
    """Sensors read the other way round: door_states fails and names the option."""
    from hardware.devicesim.kerong_bus import KerongBus, operator

    with KerongBus([1, 2], inverted=True) as bus:
        options = {"port": bus.port, "box": "demo", "timeout": 0.05, "poll_interval": 0.02}
        if inverted:
            options["polarity"] = "inverted"
        from hardware.kerong.bank import KerongLockerBank

        results = conformance.run("locker_bank", lambda: KerongLockerBank.from_options(options),
                                  conformance.Context(operator=operator(options)))
    outcome = {r.name: r for r in results}
    if inverted:
        assert all(r.outcome == conformance.PASSED for r in results), results
    else:
        assert outcome["door_states"].outcome == conformance.FAILED
        assert 'polarity = "inverted"' in outcome["door_states"].detail
