"""Arabic on a renderer that only knows left to right.

Kivy's text provider draws code points one after another, left to right,
with no shaping. Arabic needs two things it does not do:

1. Shaping: each letter takes its isolated, initial, medial or final form,
   and lam + alef become one ligature. `arabic_reshaper` replaces the letters
   with those presentation forms (U+FE70-FEFF), which any font with the
   forms draws as is.
2. Reordering: the Unicode bidi algorithm turns the logical order (as
   typed, as spoken) into visual order, right to left, while digits and Latin
   runs such as a compartment number or a pickup code keep reading left to
   right, and a bracket in a right-to-left run is drawn as its mirror, so
   "(3)" still opens on the right. `kiosk.ui.bidi_order` does that (it says
   why not python-bidi, which the kiosk used before: that one drew such
   brackets the wrong way round).

Line breaking must happen before reordering: reordering a two-line
paragraph as one line would put its end on the first line. So `wrap` breaks
in logical order and shapes each line on its own.

Text for speech stays in logical order: never pass shaped text to
`kiosk.ui.speech`.
"""

from __future__ import annotations

from collections.abc import Callable

from arabic_reshaper import ArabicReshaper

from kiosk.ui.bidi_order import display

RTL_LANGUAGES = frozenset({"ar"})

# Only the lam-alef ligatures, which Arabic requires. The reshaper's default
# also turns the word "الله" into U+FDF2, a glyph the bundled font may lack;
# harakat are dropped because Kivy cannot place marks above a letter.
_reshaper = ArabicReshaper(configuration={
    "delete_harakat": True,
    "support_ligatures": True,
    "ARABIC LIGATURE ALLAH": False,
})


def is_rtl(lang: str) -> bool:
    """True for languages written right to left (align their text right)."""
    return lang in RTL_LANGUAGES


def shape_line(text: str, lang: str) -> str:
    """One line of text in display order, ready for a left-to-right renderer.

    Identity for left-to-right languages. For Arabic the paragraph direction
    is right to left even when the line starts with a digit or Latin word.
    """
    if not is_rtl(lang) or not text:
        return text
    return display(_reshaper.reshape(text), base=1)


ISOLATE_START, ISOLATE_END = "\u2068", "\u2069"


def words(paragraph: str) -> list[str]:
    """The paragraph split at spaces, except inside a bidi isolate (FSI ... PDI):
    a phone number such as "0800 123 456" stays on one line, so its isolate is
    never cut in two (a cut isolate reads "456 123 0800" in Arabic)."""
    result: list[str] = []
    current, depth = "", 0
    for char in paragraph:
        if char == ISOLATE_START:
            depth += 1
        elif char == ISOLATE_END:
            depth = max(0, depth - 1)
        if char.isspace() and depth == 0:
            if current:
                result.append(current)
            current = ""
        else:
            current += char
    if current:
        result.append(current)
    return result


def wrap(text: str, lang: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """Breaks `text` into lines no wider than `max_width`, each shaped.

    `measure` returns the rendered width of a shaped line (for Kivy, the
    width of a CoreLabel with the screen's font and size). Lines break at
    spaces and at every "\\n", never inside a word or an isolate; a single word
    wider than `max_width` gets a line of its own rather than being cut (see
    `fit_scale`: the label shrinks its font instead).
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in words(paragraph):
            candidate = f"{line} {word}" if line else word
            if line and measure(shape_line(candidate, lang)) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return [shape_line(line, lang) for line in lines]


def fit_scale(text: str, lang: str, max_width: float, measure: Callable[[str], float]) -> float:
    """How much the font must shrink (1.0: not at all) so that the widest single
    word fits `max_width`. Long German compounds ("Barrierefreiheit" in large
    text) are shrunk, never broken mid-syllable."""
    widest = max((measure(shape_line(word, lang)) for word in words(text.replace("\n", " "))), default=0.0)
    if widest <= max_width or widest <= 0:
        return 1.0
    return max_width / widest
