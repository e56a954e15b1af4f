"""Box descriptions: the bundled files load, and bad files say what is wrong."""

import textwrap

import pytest

from hardware.box import DEMO_BOX, bundled_boxes, load_box
from hardware.errors import BoxDescriptionError, DriverConfigError
from hardware.interfaces import HEIGHT_CLASSES, SIZES, CompartmentSpec

MINIMAL = """
format = 1
compartments = [
    { number = 1, size = "S", column = 1, row = 1, channel = 1 },
    { number = 2, size = "L", column = 1, row = 2, height_class = "high", channel = 2 },
]

[[boards]]
name = "A"
"""


def write(tmp_path, text):
    path = tmp_path / "box.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def broken(tmp_path, text) -> BoxDescriptionError:
    path = write(tmp_path, text)
    with pytest.raises(BoxDescriptionError) as info:
        load_box(path)
    assert str(path) in str(info.value), "the message names the file"
    return info.value


def test_demo_box_is_a_mixed_cabinet():
    box = load_box(DEMO_BOX)
    assert 16 <= len(box.compartments) <= 24
    assert {c.size for c in box.compartments} == set(SIZES)
    assert {c.height_class for c in box.compartments} == set(HEIGHT_CLASSES)
    assert len({c.column for c in box.compartments}) >= 3
    lowest = min(c.row for c in box.compartments)
    highest = max(c.row for c in box.compartments)
    assert all(c.height_class == "low" for c in box.compartments if c.row == lowest)
    assert all(c.height_class == "high" for c in box.compartments if c.row == highest)
    assert box.has_door_sensors
    assert box.faults.jammed == frozenset() and not box.faults.offline
    assert [c.number for c in box.compartments] == sorted(c.number for c in box.compartments)


def test_bundled_boxes_load_by_name():
    assert {"demo", "relay8"} <= set(bundled_boxes())
    for name in bundled_boxes():
        assert load_box(name).compartments


def test_relay_box_has_no_door_sensors():
    assert not load_box("relay8").has_door_sensors


def test_minimal_box_uses_defaults(tmp_path):
    box = load_box(write(tmp_path, MINIMAL))
    assert box.compartments[0].height_class == "standard"
    assert box.wiring[2].board == "A" and box.wiring[2].channel == 2
    assert box.boards[0].channels == 16 and box.boards[0].door_sensors


def test_compartments_as_array_of_tables(tmp_path):
    box = load_box(
        write(
            tmp_path,
            """
            format = 1
            [[boards]]
            name = "A"
            [[compartments]]
            number = 5
            size = "M"
            column = 2
            row = 1
            height_class = "low"
            board = "A"
            channel = 3
            """,
        )
    )
    (spec,) = box.compartments
    assert spec == CompartmentSpec(5, "M", 2, 1, "low")


def test_faults_and_cards(tmp_path):
    box = load_box(
        write(
            tmp_path,
            MINIMAL
            + """
            [faults]
            jammed = [1]
            no_ack = [2]
            offline = true

            [[cards]]
            name = "staff"
            uid = "04 A1 B2"
            apdu = { "00B0000002" = "ABCD9000" }
            """,
        )
    )
    assert box.faults.jammed == {1} and box.faults.no_ack == {2} and box.faults.offline
    (card,) = box.cards
    assert card.uid == bytes.fromhex("04A1B2") and card.atr is None
    assert card.apdus[bytes.fromhex("00B0000002")] == bytes.fromhex("ABCD9000")


@pytest.mark.parametrize(
    ("change", "key", "hint"),
    [
        (('size = "S"', 'size = "XL"'), "compartments[0].size", "'S', 'M' or 'L'"),
        (("row = 1,", 'row = "1",'), "compartments[0].row", "integer"),
        (("number = 2", "number = 1"), "compartments[1].number", "no other compartment"),
        (('height_class = "high"', 'height_class = "top"'), "compartments[1].height_class", "low"),
        (("channel = 2", "channel = 17"), "compartments[1].channel", "1 to 16"),
        (("channel = 2", "channel = 1"), "compartments[1].channel", "compartment 1 uses it"),
        (("row = 2,", "row = 1,"), "compartments[1].row", "column 1 row 1"),
        (("channel = 1 }", "channel = 1, colour = 3 }"), "compartments[0].colour", "a known key"),
        (("format = 1", "format = 2"), "format", "format 1"),
        (('name = "A"', 'name = "A"\ndoor_sensors = "yes"'), "boards[0].door_sensors", "boolean"),
    ],
)
def test_malformed_box_names_the_key(tmp_path, change, key, hint):
    old, new = change
    assert old in MINIMAL
    error = broken(tmp_path, MINIMAL.replace(old, new, 1))
    assert error.option == key
    assert key in str(error)
    assert hint in str(error)


def test_unknown_board(tmp_path):
    error = broken(tmp_path, MINIMAL.replace("channel = 1 }", 'board = "Z", channel = 1 }'))
    assert error.option == "compartments[0].board"
    assert "'Z'" in str(error) and "A" in error.expected


def test_board_required_with_several_boards(tmp_path):
    error = broken(tmp_path, MINIMAL + '\n[[boards]]\nname = "B"\n')
    assert error.option == "compartments[0].board"


def test_duplicate_board_name(tmp_path):
    error = broken(tmp_path, MINIMAL + '\n[[boards]]\nname = "A"\n')
    assert error.option == "boards[1].name"


def test_fault_for_missing_compartment(tmp_path):
    error = broken(tmp_path, MINIMAL + "\n[faults]\njammed = [99]\n")
    assert error.option == "faults.jammed[0]"
    assert "99" in str(error)


def test_bad_card_uid(tmp_path):
    error = broken(tmp_path, MINIMAL + '\n[[cards]]\nname = "x"\nuid = "zz"\n')
    assert error.option == "cards[0].uid"
    assert "hex" in str(error)


def test_missing_key(tmp_path):
    error = broken(tmp_path, MINIMAL.replace("format = 1", ""))
    assert error.option == "format"
    assert "required" in str(error)


def test_no_compartments(tmp_path):
    error = broken(tmp_path, 'format = 1\ncompartments = []\n[[boards]]\nname = "A"\n')
    assert error.option == "compartments"


def test_top_level_key_below_a_table_gets_a_hint(tmp_path):
    text = (
        'format = 1\n[[boards]]\nname = "A"\n'
        'compartments = [{ number = 1, size = "S", column = 1, row = 1, channel = 1 }]\n'
    )
    error = broken(tmp_path, text)
    assert error.option == "boards[0].compartments"
    assert "before the first [table] header" in str(error)
    assert len(str(error)) < 400, "a misplaced table is not dumped in full"


def test_not_toml(tmp_path):
    error = broken(tmp_path, "format = = 1\n")
    assert error.option is None
    assert "valid TOML" in str(error)


def test_missing_file_lists_bundled_boxes(tmp_path):
    with pytest.raises(DriverConfigError) as info:
        load_box(tmp_path / "nope.toml")
    assert info.value.option == "box"
    assert "demo" in str(info.value)
