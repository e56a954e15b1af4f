"""`kiosk-hw cards` against the real pcscd with a virtual card."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from hardware import cli
from hardware.devicesim.vpcd_card import VirtualCard
from tests.hardware.pcscd import pcscd  # noqa: F401 (fixture)
from tests.hardware.pcscd import READER, wait_for, wait_until_empty, wait_until_present


@pytest.fixture
def card():
    staff = VirtualCard("staff", uid=bytes.fromhex("04A1B2C3"))
    yield staff
    staff.remove()
    wait_until_empty()


def test_cards_lists_readers_and_the_card(pcscd, card, capsys):
    card.insert()
    wait_until_present()
    assert cli.main(["cards", "--driver", "pcsc", "--reader", READER]) == 0
    out = capsys.readouterr().out
    assert "readers: Virtual PCD 00 00, Virtual PCD 00 01" in out
    assert "card reader Virtual PCD 00 00: ok" in out
    assert "card: 04A1B2C3" in out  # the driver returns after its first look at the reader


def test_cards_watch_prints_events_until_ctrl_c(pcscd, card):
    process = subprocess.Popen(
        [sys.executable, "-m", "hardware.cli", "cards", "--watch", "--driver", "pcsc",
         "--reader", READER],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    def printed(word: str) -> bool:
        return any(word in line for line in lines)

    try:
        assert wait_for(lambda: printed("watching"), timeout=10), lines
        card.insert()
        assert wait_for(lambda: printed("presented")), lines
        card.remove()
        assert wait_for(lambda: printed("removed")), lines
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        reader.join(timeout=5)
    events = [line.split() for line in lines if "presented" in line or "removed" in line]
    assert [fields[-2:] for fields in events] == [["presented", "04A1B2C3"],
                                                  ["removed", "04A1B2C3"]], lines
    assert all("Virtual PCD 00 00" in line for line in lines if "presented" in line)


def test_cards_without_pcscd_says_how_to_fix_it(pcscd, capsys):
    pcscd.stop()
    try:
        assert cli.main(["cards", "--driver", "pcsc"]) == 1
        err = capsys.readouterr().err
        assert "pcscd is not running: start it with systemctl start pcscd" in err
    finally:
        pcscd.start()


def test_cards_reads_the_card_reader_table_of_a_config(pcscd, tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text('[hardware.card_reader]\ndriver = "pcsc"\nreader = "00 01"\n')
    assert cli.main(["cards", "--config", str(config)]) == 0
    assert "card reader 00 01: ok  Virtual PCD 00 01" in capsys.readouterr().out
