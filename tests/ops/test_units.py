"""The systemd units match what the services implement."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy"


def _service(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return dict(parser["Service"])


@pytest.mark.parametrize("name", ["pickupbox-kiosk.service", "pickupbox-registry.service"])
def test_units_are_notify_services_with_a_watchdog(name):
    service = _service(name)
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"  # only the service process may send READY/WATCHDOG
    assert int(service["WatchdogSec"]) >= 10
    assert service["Restart"] == "always"


def test_exec_start_lines_parse_with_the_real_command_lines(capsys):
    from kiosk import cli as kiosk_cli
    from registry.cli import build_parser

    registry_args = shlex.split(_service("pickupbox-registry.service")["ExecStart"])[1:]
    parsed = build_parser().parse_args(registry_args)
    assert parsed.metrics_listen.startswith("127.0.0.1:")

    kiosk_args = shlex.split(_service("pickupbox-kiosk.service")["ExecStart"])[1:]
    assert kiosk_args[:1] == ["run"]
    # `kiosk run` parses inside main(): every flag of the unit is in its help.
    with pytest.raises(SystemExit) as usage:
        kiosk_cli.main(["run", "--help"])
    assert usage.value.code == 0
    help_text = capsys.readouterr().out
    assert all(arg in help_text for arg in kiosk_args if arg.startswith("--"))
