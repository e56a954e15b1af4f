"""The worked example of docs/drivers.md is a real, passing vendor package."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hardware import cli, drivers
from hardware.interfaces import DoorState
from tests.hardware.acme_kit import CABINET, ENTRY_POINTS, EXAMPLE, NAME, AcmeBoard, register

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "drivers.md"


@pytest.fixture
def acme():
    register()
    with AcmeBoard() as board:
        yield board
    drivers.unregister("locker_bank", NAME)


def test_the_entry_point_names_the_driver_class():
    assert ENTRY_POINTS == {NAME: "acme_pickupbox.locks:AcmeLockerBank"}


def test_the_conformance_cli_passes_on_the_simulator_without_a_person(acme, tmp_path, capsys):
    report = tmp_path / "acme.md"
    code = cli.main(["conformance", "--driver", NAME, "--group", "locker_bank",
                     "--port", acme.port, "--box", str(CABINET), "--compartment", "20",
                     "--operator", "acme_pickupbox.sim:operator", "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "11 passed, 0 failed, 0 skipped" in out
    assert "driver `acme-cu48`" in report.read_text()


def test_kiosk_hw_reads_and_opens_its_doors(acme, tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[hardware.locker_bank]\ndriver = "{NAME}"\nport = "{acme.port}"\n'
                      f'box = "{CABINET}"\ntimeout = 0.05\npoll_interval = 0.02\n')
    assert cli.main(["doors", "--config", str(config)]) == 0
    assert capsys.readouterr().out.count(DoorState.CLOSED.value) == 48
    assert cli.main(["open", "48", "--config", str(config)]) == 0
    assert "compartment 48: opened" in capsys.readouterr().out


def test_the_driver_is_little_more_than_its_framing():
    locks = (EXAMPLE / "acme_pickupbox" / "locks.py").read_text()
    assert len(locks.splitlines()) < 60


def test_every_code_block_in_the_docs_is_the_file_it_names():
    """docs/drivers.md shows whole files of the example; they must not drift apart."""
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) >= 3
    for path, text in blocks:
        assert (ROOT / path).read_text() == text, f"docs/drivers.md's copy of {path} is stale"


def test_the_examples_own_test_passes():
    register()
    try:
        spec = importlib.util.spec_from_file_location(
            "acme_test_conformance", EXAMPLE / "tests" / "test_conformance.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.test_acme_conforms()
    finally:
        drivers.unregister("locker_bank", NAME)


def test_pip_installed_the_entry_point_alone_finds_the_driver(tmp_path):
    """Packaged as a vendor ships it: pip install, then kiosk-hw finds acme-cu48 by itself."""
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": f"{target}:{ROOT}"}
    with AcmeBoard() as board:
        done = subprocess.run(
            [sys.executable, "-m", "hardware.cli", "conformance", "--driver", NAME,
             "--group", "locker_bank", "--port", board.port,
             "--box", str(target / "acme_pickupbox" / "cabinet48.toml"),
             "--operator", "acme_pickupbox.sim:operator", "--report", str(tmp_path / "r.md")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "11 passed, 0 failed, 0 skipped" in done.stdout
