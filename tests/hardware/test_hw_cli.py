"""kiosk-hw, run in-process against the simulated bank."""

import pytest

from hardware.box import BOXES_DIR, DEMO_BOX
from hardware.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def unknown_doors(out):
    return sum(line.endswith("unknown") for line in out.splitlines())


def test_list_shows_drivers_and_health(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for group in ("locker_bank", "card_reader", "code_scanner", "indicator"):
        assert group in out
    assert "lock board A" in out and "ok" in out


def test_doors_table(capsys):
    code, out, _ = run(capsys, "doors")
    assert code == 0
    lines = out.splitlines()
    assert "door sensors: yes" in lines[0]
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 20
    assert rows[0] == ["1", "M", "1", "5", "high", "closed"]


def test_doors_of_a_box_without_sensors(capsys):
    code, out, _ = run(capsys, "doors", "--box", "relay8")
    assert code == 0
    assert "door sensors: no" in out
    assert unknown_doors(out) == 8


def test_open(capsys):
    code, out, _ = run(capsys, "open", "7")
    assert code == 0
    assert "compartment 7: unlock acknowledged" in out
    assert "compartment 7: opened" in out


def test_open_jammed_fails(tmp_path, capsys):
    box = tmp_path / "jam.toml"
    box.write_text(DEMO_BOX.read_text().replace("jammed = []", "jammed = [7]"))
    code, out, _ = run(capsys, "open", "7", "--box", str(box), "--wait", "0.2")
    assert code == 1
    assert "still reads closed" in out


def test_open_unacknowledged_fails(tmp_path, capsys):
    box = tmp_path / "noack.toml"
    box.write_text(DEMO_BOX.read_text().replace("no_ack = []", "no_ack = [3]"))
    code, out, _ = run(capsys, "open", "3", "--box", str(box))
    assert code == 1
    assert "NOT acknowledged" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("open", "99"), "compartment 99"),
        (("doors", "--driver", "nope"), "'nope'"),
        (("doors", "--box", "no/such/box.toml"), "no/such/box.toml"),
    ],
)
def test_errors_exit_1_with_a_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("kiosk-hw: error:") and message in err


def test_config_file_picks_driver_and_box(tmp_path, capsys):
    (tmp_path / "cabinet.toml").write_text((BOXES_DIR / "relay8.toml").read_text())
    config = tmp_path / "kiosk.toml"
    config.write_text('[hardware.locker_bank]\ndriver = "simulated"\nbox = "cabinet.toml"\n')
    code, out, _ = run(capsys, "doors", "--config", str(config))
    assert code == 0
    assert unknown_doors(out) == 8, "the box path is relative to the config file"


def test_config_with_bad_option(tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text("[hardware.locker_bank]\nunlock_window = 0\n")
    code, _, err = run(capsys, "doors", "--config", str(config))
    assert code == 1 and "unlock_window" in err


def test_missing_config(tmp_path, capsys):
    code, _, err = run(capsys, "doors", "--config", str(tmp_path / "none.toml"))
    assert code == 1 and "none.toml" in err


def test_conformance_writes_a_passing_report(capsys, tmp_path):
    report = tmp_path / "report.md"
    code, out, _ = run(capsys, "conformance", "--group", "locker_bank", "--report", str(report))
    assert code == 0, out
    text = report.read_text()
    assert "driver `simulated`" in text and "**PASS**" in text
    assert "| locker_bank | unlock_is_acknowledged | passed |" in text
    assert '"failed": 0' in report.with_suffix(".json").read_text()


def test_conformance_fails_a_bank_that_never_acknowledges(capsys, tmp_path):
    from hardware import drivers
    from hardware.interfaces import UnlockResult
    from hardware.simulated import SimulatedLockerBank

    class Deaf(SimulatedLockerBank):
        def unlock(self, compartment):
            super().unlock(compartment)
            return UnlockResult(compartment, False, "no answer")

    drivers.register("locker_bank", "deaf", Deaf)
    try:
        report = tmp_path / "deaf.md"
        code, out, _ = run(capsys, "conformance", "--driver", "deaf", "--group", "locker_bank",
                           "--report", str(report))
    finally:
        drivers.unregister("locker_bank", "deaf")
    assert code == 1
    assert "FAIL unlock_is_acknowledged" in out
    assert "| locker_bank | unlock_is_acknowledged | failed |" in report.read_text()


def test_doors_exits_1_with_a_health_line_when_the_board_cannot_be_reached(tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[hardware.locker_bank]\ndriver = "kerong"\nport = "{tmp_path}/ttyNONE"\n'
                      'box = "demo"\ntimeout = 0.05\n')
    code, out, _ = run(capsys, "doors", "--config", str(config))
    assert code == 1
    assert "lock board A: failed" in out and "ttyNONE: not found" in out


def test_open_waits_for_the_door_event(tmp_path, capsys):
    """The opening arrives after unlock() returns, at the next poll; kiosk-hw waits for it."""
    from hardware.devicesim.kerong_bus import KerongBus

    with KerongBus([1, 2], silent_unlocks=True) as bus:
        config = tmp_path / "kiosk.toml"
        # unlock_reply = false: unlock() returns at once, the next poll (0.5 s on) sees the door
        config.write_text(f'[hardware.locker_bank]\ndriver = "kerong"\nport = "{bus.port}"\n'
                          'unlock_reply = false\npoll_interval = 0.5\ntimeout = 0.05\n')
        code, out, _ = run(capsys, "open", "5", "--config", str(config))
    assert code == 0, out
    assert out.splitlines()[-1] == "compartment 5: opened"
