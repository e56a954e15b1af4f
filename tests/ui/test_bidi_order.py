"""The bidi algorithm of kiosk.ui.bidi_order against Unicode's own data.

BidiCharacterTest.txt gives, for 91,000 lines, each character's resolved
level and the display order; BidiMirroring.txt and BidiBrackets.txt the
mirror and bracket properties. Debian's unicode-data package installs them
(tools/setup --tests).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from kiosk.ui.bidi_order import MIRROR, REMOVED, bidi_class, display, paired_bracket, resolved_levels, visual_order

UNICODE_DATA = Path("/usr/share/unicode")


def unicode_file(name: str) -> list[list[str]]:
    """The data lines of one of Unicode's files, split at ";"."""
    path = UNICODE_DATA / name
    assert path.exists(), f"{path} is missing: install Debian's unicode-data (tools/setup --tests)"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            rows.append([field.strip() for field in line.split(";")])
    return rows


def char(hex_code: str) -> str:
    return chr(int(hex_code, 16))


def test_the_levels_and_order_of_unicodes_conformance_test() -> None:
    wrong = []
    for codes, direction, _, levels, order in unicode_file("BidiCharacterTest.txt"):
        text = "".join(char(code) for code in codes.split())
        base = {"0": 0, "1": 1, "2": None}[direction]
        got = resolved_levels(text, base)
        shown = ["x" if bidi_class(c) in REMOVED else str(level) for c, level in zip(text, got)]
        seen = [i for i in visual_order(got) if bidi_class(text[i]) not in REMOVED]
        if shown != levels.split() or seen != [int(i) for i in order.split()]:
            wrong.append(codes)
    assert len(wrong) == 0, wrong[:5]


def test_the_mirror_pairs_are_unicodes() -> None:
    expected = {char(a): char(b) for a, b in unicode_file("BidiMirroring.txt")}
    assert MIRROR == expected
    # Python's unicodedata (Unicode 14) agrees: each one has Bidi_Mirrored.
    assert all(unicodedata.mirrored(c) for c in MIRROR if unicodedata.category(c) != "Cn")


def test_the_paired_brackets_are_unicodes() -> None:
    brackets = {char(code): char(mate) for code, mate, kind in unicode_file("BidiBrackets.txt")}
    known = [chr(i) for i in range(0x110000) if unicodedata.category(chr(i)) != "Cn"]
    assert {c: paired_bracket(c) for c in known if paired_bracket(c)} == {
        c: mate for c, mate in brackets.items() if unicodedata.category(c) != "Cn"}


def test_mirroring_only_at_right_to_left_levels() -> None:
    assert display("a (b) c", base=0) == "a (b) c"
    assert display("a (b) c", base=1) == "a (b) c"  # all left to right inside an RTL line
    assert display("\u05d0 (\u05d1) <\u05d2>") == "<\u05d2> (\u05d1) \u05d0"
    assert display("\u05d0 (\u05d1", base=0) == "\u05d1) \u05d0"  # lone, at level 1: mirrored too


def test_a_separator_inside_starts_a_new_paragraph() -> None:
    # Each paragraph reversed on its own (its separator with it), never one
    # paragraph's letters after the next one's.
    assert display("\u05d0\u05d1\n\u05d2\u05d3", base=None) == "\n\u05d1\u05d0" + "\u05d3\u05d2"
    assert resolved_levels("\u05d0 a\nb \u05d1", base=None) == [1, 1, 2, 1, 0, 0, 1]
