"""Configuration: defaults, environment overrides and clear errors for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import ConfigError, load_settings, reference_table

ROOT = Path(__file__).resolve().parents[2]


# A config file names every device's driver (no silent simulators).
HARDWARE = "".join(f'[hardware.{d}]\ndriver = "simulated"\n'
                   for d in ("locker_bank", "card_reader", "code_scanner", "indicator"))


def write(tmp_path, text: str, hardware: str = HARDWARE) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text + "\n" + hardware, encoding="utf-8")
    return path


def test_defaults_need_no_file():
    settings = load_settings(None, environ={})
    assert settings.kiosk.pickup_days == 14
    assert settings.kiosk.max_pin_attempts == 5
    assert settings.registry.address == "embedded"
    assert settings.hardware.locker_bank.driver == "simulated"


def test_environment_overrides_file(tmp_path):
    path = write(tmp_path, '[kiosk]\nid = "from-file"\npickup_days = 10\n')
    settings = load_settings(path, environ={"PICKUPBOX_KIOSK__ID": "from-env",
                                            "PICKUPBOX_HARDWARE__LOCKER_BANK__BOX": "cab.toml"})
    assert settings.kiosk.id == "from-env"
    assert settings.kiosk.pickup_days == 10
    # Set by the environment: relative to the current directory (no file names it).
    assert settings.hardware.locker_bank.options == {"box": "cab.toml"}


def test_the_registry_commands_variables_do_not_stop_a_kiosk():
    """An operator who exported kiosk-registry's credentials can still start a kiosk."""
    environ = {"PICKUPBOX_API_KEY": "pbx.key.secret", "PICKUPBOX_CREDENTIAL": "/x/admin.credential",
               "PICKUPBOX_PASSWORD": "pw", "PICKUPBOX_MESSAGES_CONFIG": "/etc/messages.toml"}
    assert load_settings(None, environ=environ).kiosk.id == "kiosk-1"
    with pytest.raises(ConfigError, match="api_keys: unknown key"):
        load_settings(None, environ={"PICKUPBOX_API_KEYS": "a typo is still caught"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[kiosk]\npickup_days = \"soon\"\n", r"kiosk\.pickup_days: .*integer.*'soon'"),
        ("[kiosk]\npickup_dayz = 3\n", r"kiosk\.pickup_dayz: unknown key"),
        ("[kiosk]\nmax_pin_attempts = 0\n", r"kiosk\.max_pin_attempts: .*greater than or equal to 1"),
        ("[registry]\nsync_interval_seconds = -1\n", r"registry\.sync_interval_seconds"),
        ("[kioskk]\n", r"kioskk: unknown key"),
        ("log_level = \"LOUD\"\n", r"log_level: .*'LOUD'"),
        ("[kiosk\nid=1", r"not valid TOML"),
    ],
)
def test_bad_config_names_key_and_expectation(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(write(tmp_path, text), environ={})


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_cli_reports_config_errors_without_traceback(tmp_path, capsys):
    path = write(tmp_path, "[kiosk]\npickup_days = \"x\"\n")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "kiosk.pickup_days" in err and "Traceback" not in err


def test_example_config_is_valid():
    settings = load_settings(ROOT / "deploy" / "kiosk.example.toml", environ={})
    assert settings.kiosk.id == "rathaus-eg-1"


def test_readme_configuration_reference_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- config-reference:start.*?-->\n(.*?)\n<!-- config-reference:end -->", readme, re.S)
    assert block, "README lost its configuration reference markers"
    assert block.group(1).strip() == reference_table().strip(), "run `kiosk config-reference` and update README"
