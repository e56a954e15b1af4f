"""SMS segment counting: GSM-7 where possible, UCS-2 otherwise."""

from __future__ import annotations

from registry.messages.segments import GSM7, UCS2, count_segments


def test_german_with_umlauts_stays_gsm7():
    text = "Ihr Personalausweis liegt im Ausgabeterminal bereit. Abholung bis 31.12.2026. Grüße"
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (GSM7, len(text), 1)


def test_gsm7_boundaries_and_extension_characters():
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    # '€' is an escape pair: two septets.
    assert count_segments("€" * 80).units == 160
    assert count_segments("€" * 80).segments == 1
    assert count_segments("€" * 81).segments == 2
    # An escape pair is never split across segments: 152 + '€' needs a second one.
    assert count_segments("a" * 152 + "€" + "a" * 153).segments == 3


def test_turkish_letters_force_ucs2():
    text = "Belgeniz teslim terminalinde hazır. Kod: K7M2-9QXD-45. Son tarih: 31.12.2026."
    count = count_segments(text)
    assert count.encoding == UCS2 and count.units == len(text) and count.segments == 2
    assert count_segments("ş" * 70).segments == 1
    assert count_segments("ş" * 71).segments == 2


def test_cyrillic_and_arabic_are_ucs2():
    assert count_segments("Ваш документ готов").encoding == UCS2
    arabic = "مستندك جاهز في جهاز التسليم"
    assert count_segments(arabic) .encoding == UCS2
    assert count_segments("ж" * 134).segments == 2
    assert count_segments("ж" * 135).segments == 3


def test_emoji_count_two_units_and_are_not_split():
    assert count_segments("😀").units == 2
    assert count_segments("a" * 66 + "😀" + "a" * 5).segments == 2
    assert count_segments("a" * 68 + "😀").segments == 1
    assert count_segments("").segments == 0
