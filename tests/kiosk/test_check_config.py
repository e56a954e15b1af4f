"""Bad input: `kiosk check-config` catches what would make `kiosk run` fail, naming the key.

Each case runs the real CLI on a real file; where `kiosk run` is concerned
the same settings go through `build_kiosk`, which must refuse them the same way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hardware.box import BOXES_DIR
from kiosk.app import build_kiosk
from kiosk.cli import main
from kiosk.config import ConfigError, load_settings

DEVICES = ("locker_bank", "card_reader", "code_scanner", "indicator")


def config(tmp_path: Path, text: str = "", **sections: str) -> Path:
    """A config file with a data dir in tmp_path and simulated devices unless given."""
    parts = [
        f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n{text}',
        f'[registry]\naddress = "127.0.0.1:1"\n{sections.pop("registry", "")}',
    ]
    for device in DEVICES:
        parts.append(f"[hardware.{device}]\n" + sections.get(device, 'driver = "simulated"\n'))
    path = tmp_path / "kiosk.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def check(path: Path, capsys) -> tuple[int, str]:
    code = main(["check-config", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_good_config_passes(tmp_path, capsys):
    code, err = check(config(tmp_path), capsys)
    assert code == 0, err
    assert "configuration OK" in err
    assert "SIMULATED" in err  # never silent about simulators


def test_binary_config_file_names_the_file(tmp_path, capsys):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe" * 20)
    code, err = check(path, capsys)
    assert code == 2
    assert str(path) in err and "not a text file" in err


def test_compartment_beyond_32_bits_names_the_key(tmp_path, capsys):
    code, err = check(config(tmp_path, "return_compartment = 4294967296\n"), capsys)
    assert code == 2
    assert "kiosk.return_compartment" in err and "4294967296" in err


def test_compartment_beyond_32_bits_in_a_box_file_names_the_key(tmp_path, capsys):
    box = (
        (BOXES_DIR / "demo.toml")
        .read_text(encoding="utf-8")
        .replace("number =  1,", "number = 99999999999,", 1)
    )
    (tmp_path / "big.toml").write_text(box, encoding="utf-8")
    code, err = check(
        config(tmp_path, locker_bank='driver = "simulated"\nbox = "big.toml"\n'), capsys
    )
    assert code == 2
    assert "hardware.locker_bank" in err and "number" in err and "99999999999" in err


def test_binary_box_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "cab.toml").write_bytes(b"\xff\xfe\x00binary" * 10)
    code, err = check(
        config(tmp_path, locker_bank='driver = "simulated"\nbox = "cab.toml"\n'), capsys
    )
    assert code == 2
    assert "hardware.locker_bank" in err and "not UTF-8" in err


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            'driver = "acme-nonexistent"\n',
            r"hardware.locker_bank: .*acme-nonexistent.*installed drivers",
        ),
        (
            'driver = "simulated"\nbox = "missing-cabinet.toml"\n',
            r"hardware.locker_bank: box = .*expected a path to a box TOML file \(/.*"
            r"/missing-cabinet.toml does not exist\)",
        ),
        ('driver = "simulated"\nunlock_windw = 3\n', r"hardware.locker_bank: .*unlock_windw"),
    ],
)
def test_driver_problems_name_the_section(tmp_path, capsys, section, expected):
    import re

    path = config(tmp_path, locker_bank=section)
    code, err = check(path, capsys)
    assert code == 2
    assert re.search(expected, err), err
    # `kiosk run` refuses the same settings with the same message.
    with pytest.raises(ConfigError, match=expected):
        build_kiosk(load_settings(path, environ={}))


def test_return_compartment_not_in_the_box(tmp_path, capsys):
    code, err = check(config(tmp_path, "return_compartment = 999\n"), capsys)
    assert code == 2
    assert "kiosk.return_compartment: 999 is not a compartment" in err


def test_missing_tls_files(tmp_path, capsys):
    files = (("tls_ca_file", "ca.pem"), ("tls_cert_file", "k.pem"), ("tls_key_file", "k.key"))
    tls = "".join(f'{key} = "{tmp_path}/{name}"\n' for key, name in files)
    path = config(tmp_path, registry=tls)
    code, err = check(path, capsys)
    assert code == 2
    for key in ("registry.tls_ca_file", "registry.tls_cert_file", "registry.tls_key_file"):
        assert key in err
    with pytest.raises(ConfigError, match="registry.tls_ca_file"):
        build_kiosk(load_settings(path, environ={}))


def test_client_certificate_without_ca_is_refused(tmp_path, capsys):
    (tmp_path / "k.pem").write_text("x")
    (tmp_path / "k.key").write_text("x")
    tls = f'tls_cert_file = "{tmp_path}/k.pem"\ntls_key_file = "{tmp_path}/k.key"\n'
    code, err = check(config(tmp_path, registry=tls), capsys)
    assert code == 2
    assert "tls_ca_file" in err and "would not use TLS" in err


def test_a_config_without_a_hardware_section_does_not_run_on_a_simulator(tmp_path, capsys):
    path = config(tmp_path)
    text = path.read_text().replace('[hardware.card_reader]\ndriver = "simulated"\n', "")
    path.write_text(text)
    code, err = check(path, capsys)
    assert code == 2
    assert "hardware.card_reader: no driver named" in err


def test_without_any_file_the_demo_runs_on_simulators_and_says_so():
    from kiosk.config import simulated_devices

    settings = load_settings(None, environ={})
    assert simulated_devices(settings) == [f"hardware.{d}" for d in DEVICES]


def test_unwritable_data_dir_says_so(tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    path = config(tmp_path)
    path.write_text(path.read_text().replace(str(tmp_path / "data"), str(blocker / "kiosk")))
    code, err = check(path, capsys)
    assert code == 2
    assert "kiosk.data_dir: cannot write to" in err and "is a file" in err
    with pytest.raises(ConfigError, match="kiosk.data_dir"):
        build_kiosk(load_settings(path, environ={}))
    assert main(["run", "--headless", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "kiosk.data_dir: cannot write to" in err and "embedded registry" not in err


def test_box_path_is_relative_to_the_config_file_from_any_directory(tmp_path, capsys, monkeypatch):
    """Issue 15.5: one rule for every driver, the same in `kiosk run` and `kiosk check-config`."""
    shutil.copy(BOXES_DIR / "relay8.toml", tmp_path / "cabinet8.toml")
    path = config(
        tmp_path,
        locker_bank='driver = "simulated"\nbox = "cabinet8.toml"\n',
        card_reader='driver = "simulated"\nbox = "cabinet8.toml"\n',
    )
    for cwd in ("/", str(tmp_path)):
        monkeypatch.chdir(cwd)
        settings = load_settings(Path(os.path.relpath(path)) if cwd != "/" else path, environ={})
        assert settings.hardware.locker_bank.options["box"] == str(tmp_path / "cabinet8.toml")
        assert check(path, capsys)[0] == 0
    kiosk = build_kiosk(settings)
    try:
        assert len(kiosk.hardware.locker_bank.layout()) == 8
    finally:
        kiosk.stop()


def test_a_bundled_box_name_stays_a_name(tmp_path):
    path = config(tmp_path, locker_bank='driver = "simulated"\nbox = "demo"\n')
    assert load_settings(path, environ={}).hardware.locker_bank.options["box"] == "demo"


def test_a_board_that_does_not_answer_is_a_warning_not_an_error(tmp_path, capsys):
    """`kiosk run` starts and retries a missing serial port, so check-config only warns."""
    section = f'driver = "kerong"\nport = "{tmp_path}/no-such-tty"\nbox = "demo"\n'
    code, err = check(config(tmp_path, locker_bank=section), capsys)
    assert code == 0, err
    assert "warning: hardware.locker_bank:" in err and "no-such-tty" in err
