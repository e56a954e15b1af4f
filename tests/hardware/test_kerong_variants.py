"""Kerong boards as they are sold: every variant on a pty, and what goes wrong.

Variants: KR-CU16 boards (sensors normal or inverted, answering unlocks or
not) and legacy KR-CU boards whose whole-board reply is 7, 8 or 11 bytes
long (24, 32 or 50 locks). Bad input (a reply length no variant has, the
other polarity, a board silent after an unlock) gets a health detail that
says what was seen and what to try, and never a false door event.
"""

from pathlib import Path

import pytest

from hardware import cli
from hardware.box import load_box
from hardware.devicesim.kerong_bus import KerongBus
from hardware.interfaces import DoorEventKind, DoorState, HealthStatus
from hardware.kerong import codec, legacy_codec
from hardware.kerong.bank import KerongLockerBank
from tests.hardware.test_kerong_bank import FAST, health, kinds, ok, wait_for

# --- Golden bytes of the whole-board replies


def test_the_7_byte_reply_captured_from_a_real_8_channel_board():
    # Open-Locker's capture: 80 01 00 00 00 33 B2 (three data bytes)
    frame = bytes.fromhex("80 01 00 00 00 33 b2")
    assert legacy_codec.find_board_reply(frame, expected=8).frame == frame
    status = legacy_codec.parse_board_reply(frame)
    assert (status.board, status.channels, status.closed) == (1, 24, 0)
    assert legacy_codec.board_reply(1, 0xFFFFFF, 7) == bytes.fromhex("80 01 ff ff ff 33 4d")


def test_the_8_byte_reply():
    assert legacy_codec.board_reply(1, 0xFFFFFFFF, 8) == bytes.fromhex("80 01 ff ff ff ff 33 b2")
    assert legacy_codec.parse_board_reply(bytes.fromhex("80 01 ff ff ff ff 33 b2")).channels == 32


def test_the_11_byte_reply_of_a_50_lock_board():
    frame = bytes.fromhex("80 01 03 ff ff ff ff ff ff 33 b1")
    assert legacy_codec.board_reply(1, (1 << 50) - 1, 11) == frame
    status = legacy_codec.parse_board_reply(frame)
    assert status.channels == 50 and status.door(50) is DoorState.CLOSED
    assert legacy_codec.find_board_reply(frame, expected=7).frame == frame


def test_groups_are_highest_first_a_documented_assumption():
    # Only lock 1 closed: the LAST data byte holds locks 1-8. A board that
    # ordered the groups lowest-first would mean lock 17 here.
    frame = bytes.fromhex("80 01 00 00 01 33 b3")
    status = legacy_codec.parse_board_reply(frame)
    assert status.door(1) is DoorState.CLOSED
    assert status.door(17) is DoorState.OPEN and status.door(9) is DoorState.OPEN


def test_a_length_no_variant_has_is_named_once_the_line_is_quiet():
    frame = legacy_codec.board_reply(1, 0xFF, 9)
    assert legacy_codec.find_board_reply(frame).frame is None
    assert legacy_codec.find_board_reply(frame).consumed == 0  # may be a longer frame arriving
    found = legacy_codec.find_board_reply(frame, final=True)
    assert found.frame is None and found.consumed == 9
    assert "9 bytes" in found.error and "fits no known variant" in found.error


def test_a_7_byte_reply_with_a_bad_xor_is_reported():
    bad = bytes.fromhex("80 01 00 00 00 33 00")
    found = legacy_codec.find_board_reply(bad, final=True)
    assert found.frame is None and "checksum" in found.error


# --- Bad input on the bus


def make(bus, box="demo", **options):
    return KerongLockerBank(load_box(box), bus.port, protocol=bus.protocol, **{**FAST, **options})


def test_a_reply_length_no_variant_has_degrades_the_board_and_names_it():
    with KerongBus([1, 2], protocol="legacy", reply_length=9) as bus:
        bank = make(bus)
        try:
            events = []
            bank.subscribe(events.append)
            board = health(bank)["lock board A"]
            assert board.status is HealthStatus.DEGRADED
            assert "fits no known variant" in board.detail and "9 bytes" in board.detail
            assert bank.door_state(1) is DoorState.UNKNOWN
            bus.open_door(1, 2)
            bus.close_door(1, 2)
            assert events == []
        finally:
            bank.close()


def test_inverted_sensors_are_reported_and_raise_no_alarm():
    with KerongBus([1, 2], inverted=True) as bus:
        bank = make(bus, unlock_window=0.2)
        try:
            events = []
            bank.subscribe(events.append)
            board = health(bank)["lock board A"]
            assert board.status is HealthStatus.DEGRADED
            assert "every door on board A reads open" in board.detail
            assert 'polarity = "inverted"' in board.detail
            bus.open_door(1, 5)  # reads "closed" on this board
            bus.close_door(1, 5)  # reads "open": would look forced
            assert bank.unlock(6).acknowledged  # opens, but reads "closed": would look jammed
            wait_for(lambda: False, 0.4)
            assert events == []
        finally:
            bank.close()


def test_the_polarity_option_and_the_box_file_read_inverted_boards():
    with KerongBus([1, 2], inverted=True) as bus:
        bank = make(bus, polarity="inverted")
        try:
            assert wait_for(lambda: ok(bank)), bank.health()
            assert bank.door_state(1) is DoorState.CLOSED
        finally:
            bank.close()


def test_polarity_per_board_in_the_box_file(tmp_path):
    text = Path(load_box("demo").source).read_text()
    box = tmp_path / "box.toml"
    box.write_text(text.replace('address = 2\n', 'address = 2\npolarity = "inverted"\n'))
    with KerongBus([1, 2]) as bus:
        bank = make(bus, box=str(box))
        try:
            assert health(bank)["lock board A"].status is HealthStatus.OK
            assert "polarity" in health(bank)["lock board B"].detail
            assert bank.door_state(17) is DoorState.OPEN
        finally:
            bank.close()


def test_a_board_silent_after_an_unlock_is_pulsed_once_and_named():
    with KerongBus([1, 2], silent_unlocks=True) as bus:
        bank = make(bus)
        try:
            events = []
            bank.subscribe(events.append)
            result = bank.unlock(3)
            assert not result.acknowledged
            assert "unlock_reply = false" in result.detail
            assert len(bus.requests(codec.CMD_UNLOCK)) == 1
            board = health(bank)["lock board A"]
            assert board.status is HealthStatus.DEGRADED and "unlock_reply = false" in board.detail
            # The lock did open, and that is what the door watch reports.
            assert wait_for(lambda: kinds(events, 3) == [DoorEventKind.OPENED])
        finally:
            bank.close()


def test_unlock_reply_false_confirms_by_the_next_poll():
    with KerongBus([1, 2], silent_unlocks=True) as bus:
        bus.jam(1, 4)
        bank = make(bus, unlock_reply=False, unlock_window=0.3)
        try:
            events = []
            bank.subscribe(events.append)
            assert bank.unlock(3).acknowledged
            assert wait_for(lambda: kinds(events, 3) == [DoorEventKind.OPENED])
            assert len(bus.requests(codec.CMD_UNLOCK)) == 1
            assert ok(bank)
            assert bank.unlock(4).acknowledged  # sent; the jammed door stays shut
            assert wait_for(lambda: kinds(events, 4) == [DoorEventKind.UNLOCK_FAILED])
        finally:
            bank.close()


def test_a_box_wired_beyond_what_the_reply_carries_is_named(tmp_path):
    text = Path(load_box("demo").source).read_text()
    box = tmp_path / "box.toml"
    box.write_text(text.replace("channels = 16", "channels = 32", 1)
                   .replace("board = \"A\", channel = 16", "board = \"A\", channel = 30"))
    with KerongBus([1, 2], protocol="legacy", reply_length=7) as bus:
        bank = make(bus, box=str(box))
        try:
            detail = health(bank)["lock board A"].detail
            assert "channels 1-24 only" in detail and "30" in detail
        finally:
            bank.close()


# --- The check of issue 14: kiosk-hw reads and opens every door of every variant


def fifty_lock_box(tmp_path):
    rows = "\n".join(
        f'  {{ number = {n}, size = "M", column = {(n - 1) // 10 + 1}, row = {(n - 1) % 10 + 1}, '
        f'channel = {n} }},' for n in range(1, 51))
    box = tmp_path / "fifty.toml"
    box.write_text(f'format = 1\ncompartments = [\n{rows}\n]\n\n[[boards]]\nname = "A"\n'
                   'channels = 50\naddress = 1\n')
    return box


VARIANTS = {
    "cu16": ({}, {}),
    "cu16-inverted": ({"inverted": True}, {"polarity": "inverted"}),
    "cu16-silent-unlocks": ({"silent_unlocks": True}, {"unlock_reply": False}),
    "legacy-7": ({"protocol": "legacy", "reply_length": 7}, {"protocol": "legacy"}),
    "legacy-8": ({"protocol": "legacy", "reply_length": 8}, {"protocol": "legacy"}),
    "legacy-11": ({"protocol": "legacy", "reply_length": 11}, {"protocol": "legacy"}),
    "legacy-inverted": ({"protocol": "legacy", "reply_length": 7, "inverted": True},
                        {"protocol": "legacy", "polarity": "inverted"}),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_kiosk_hw_reads_and_opens_every_door(variant, tmp_path, capsys):
    simulated, options = VARIANTS[variant]
    box = fifty_lock_box(tmp_path) if simulated.get("reply_length") == 11 else "demo"
    addresses = [1] if box != "demo" else [1, 2]
    with KerongBus(addresses, **simulated) as bus:
        settings = {"driver": "kerong", "port": bus.port, "box": str(box), "timeout": 0.05,
                    "poll_interval": 0.02, **options}
        config = tmp_path / "kiosk.toml"
        config.write_text("[hardware.locker_bank]\n" + "".join(
            f"{key} = {_toml(value)}\n" for key, value in settings.items()))
        assert cli.main(["doors", "--config", str(config)]) == 0
        rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
        count = 50 if box != "demo" else 20
        assert len(rows) == count and all(row[-1] == "closed" for row in rows), rows
        for number in range(1, count + 1):
            code = cli.main(["open", str(number), "--config", str(config), "--wait", "3"])
            out = capsys.readouterr().out
            assert code == 0 and f"compartment {number}: opened" in out, out
        assert all(bus.door_open(a, c) for a, c in _locks(box, addresses))


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def _locks(box, addresses):
    described = load_box(box)
    by_name = {b.name: b.address for b in described.boards}
    return [(by_name[w.board], w.channel) for w in described.wiring.values()]
