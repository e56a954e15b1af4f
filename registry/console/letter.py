"""The printable pickup letter: A4, DIN 5008 form B, for a window envelope.

It carries what the citizen needs at the box: the QR code and the typed
code, until when to collect, where the box is and when it opens, and what
to bring. It never carries the PIN: the PIN reaches the citizen separately
(PIN letter or chosen at application), so a lost letter alone opens nothing.

Geometry of DIN 5008 form B (millimetres from the top-left corner of the
sheet): address field 20 left, 45 down, 85 x 45 (the first 17.7 are the
return-address and note zone); information block 125 left, 50 down; fold
marks at 105 and 210, the hole mark at 148.5; text from about 98.5 down,
left margin 25, right margin 20.

Languages: the citizen's, one of the seven the kiosk and the messages speak
(texts in ``letter_texts``). What the office needs stays German on every
letter: the letterhead, the address field and the information block
(Vorgang, Datum), and under a translated heading the German heading in
smaller type, so a clerk at the counter sees at once what the letter is and
finds its reference. Arabic is laid out right to left (text right-aligned,
the QR code on the right, labels right of their values), shaped by the
kiosk's own ``kiosk.ui.shaping``; the address field and the information
block keep their DIN 5008 places. DejaVu Sans, the kiosk's bundled font,
has the Latin, Cyrillic and Arabic presentation-form glyphs all seven need.
The letter is built in memory and never stored.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import segno

from kiosk.ui.fonts import font_for
from kiosk.ui.shaping import is_rtl, shape_line, wrap
from registry.console.letter_texts import KINDS, TEXTS
from registry.messages.contacts import LANGUAGES

LETTER_LANGUAGES = LANGUAGES  # every language a citizen can choose for an order

# Form B.
ADDRESS_LEFT, ADDRESS_TOP, ADDRESS_WIDTH, ADDRESS_HEIGHT = 20.0, 45.0, 85.0, 45.0
RETURN_ZONE = 5.0  # the return-address line at the top of the window
NOTE_ZONE = 12.7  # return line plus the zone for postal notes
INFO_LEFT, INFO_TOP, INFO_WIDTH = 125.0, 50.0, 75.0
BODY_TOP = 98.5
LEFT_MARGIN, RIGHT_MARGIN = 25.0, 20.0
FOLD_MARKS = (105.0, 210.0)
HOLE_MARK = 148.5
QR_SIZE = 40.0


@dataclass(frozen=True)
class BoxSite:
    """Where a kiosk stands and when it can be reached, for the letter."""

    address: str = ""
    opening_hours: dict[str, str] = field(default_factory=dict)  # language -> text


@dataclass(frozen=True)
class LetterSettings:
    """The office's letterhead and its boxes (``--console-letter FILE``, TOML).

    ::

        sender = "Stadt Musterstadt · Bürgerbüro · Markt 1 · 12345 Musterstadt"
        office = "Bürgerbüro Musterstadt\\nMarkt 1\\n12345 Musterstadt\\nTel. 0123 456789"
        [kiosks.kiosk-1]
        address = "Rathaus, Markt 1, 12345 Musterstadt (Eingang links)"
        opening_hours.de = "rund um die Uhr, jeden Tag"
        opening_hours.en = "around the clock, every day"
        opening_hours.tr = "her gün, günün her saati"

    A letter in a language without its own ``opening_hours`` shows the
    German text (the office's own words), not a made-up default.
    """

    sender: str = "Ihr Bürgerbüro"
    office: str = "Ihr Bürgerbüro"
    kiosks: dict[str, BoxSite] = field(default_factory=dict)

    def site(self, kiosk_id: str) -> BoxSite:
        return self.kiosks.get(kiosk_id, BoxSite())

    @classmethod
    def load(cls, path: str | Path) -> LetterSettings:
        try:
            return cls.load_text(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read the letter settings {path}: {error}") from None

    @classmethod
    def load_text(cls, text: str) -> LetterSettings:
        data = tomllib.loads(text)  # TOMLDecodeError is a ValueError
        kiosks = {}
        for kiosk_id, site in (data.get("kiosks") or {}).items():
            hours = site.get("opening_hours", {})
            if isinstance(hours, str):
                hours = {language: hours for language in LETTER_LANGUAGES}
            kiosks[kiosk_id] = BoxSite(str(site.get("address", "")), dict(hours))
        defaults = cls()
        return cls(str(data.get("sender", defaults.sender)),
                   str(data.get("office", defaults.office)), kiosks)


@dataclass(frozen=True)
class LetterContent:
    """One order's letter: everything but the letterhead."""

    reference: str
    kind: str  # a DocumentKind value, e.g. "id_card"
    pickup_code: str  # grouped, e.g. "K7M2-9QXD-45"
    qr_payload: str
    kiosk_id: str
    language: str
    recipient: str = ""  # name and address lines for the window ("" leaves it empty)
    deadline: datetime | None = None
    requires_pin_letter: bool = False
    date: datetime | None = None


def letter_language(language: str) -> str:
    """The letter's language: the citizen's, English for a code it does not know."""
    return language if language in TEXTS else "en"


def _date(value: datetime, language: str) -> str:
    # English spells the month; the others use the numeric form read in Germany.
    return value.strftime("%d %B %Y" if language == "en" else "%d.%m.%Y")


def qr_png(payload: str) -> bytes:
    """The QR as a PNG with a quiet zone, large enough for the kiosk's camera."""
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


class _Writer:
    """Paragraphs and label/value rows in the letter's direction.

    Left to right, fpdf2 wraps and places the text. Right to left, fpdf2
    (without HarfBuzz) would draw the letters in logical order and unjoined,
    so lines are broken in logical order and each is shaped and reordered by
    kiosk.ui.shaping, then drawn right-aligned."""

    def __init__(self, pdf, language: str) -> None:
        self.pdf, self.language, self.rtl = pdf, language, is_rtl(language)

    def line(self, x: float, width: float, height: float, text: str) -> None:
        self.pdf.set_x(x)
        self.pdf.cell(width, height, shape_line(text, self.language),
                      align="R" if self.rtl else "L", new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, x: float, width: float, height: float, text: str) -> None:
        if not self.rtl:
            self.pdf.set_x(x)
            self.pdf.multi_cell(width, height, text, align="L", new_x="LMARGIN", new_y="NEXT")
            return
        for shaped in wrap(text, self.language, width - 1, self.pdf.get_string_width):
            self.pdf.set_x(x)
            self.pdf.cell(width, height, shaped, align="R", new_x="LMARGIN", new_y="NEXT")

    def label_width(self, labels: list[str], least: float) -> float:
        """The width of the label column: `least`, or the widest bold label."""
        self.pdf.set_font(style="B")
        widest = max(self.pdf.get_string_width(shape_line(label + ":", self.language))
                     for label in labels)
        self.pdf.set_font(style="")
        return max(least, widest + 3)

    def row(self, x: float, width: float, label_width: float, height: float, label: str,
            value: str) -> None:
        """A bold label and its value beside it (the label on the reading side)."""
        pdf, top = self.pdf, self.pdf.get_y()
        label_x = x + width - label_width if self.rtl else x
        value_x = x if self.rtl else x + label_width
        pdf.set_font(style="B")
        pdf.set_xy(label_x, top)
        self.line(label_x, label_width, height, label + ":")
        pdf.set_font(style="")
        pdf.set_y(top)
        self.paragraph(value_x, width - label_width, height, value)


def render_letter(content: LetterContent, settings: LetterSettings) -> bytes:
    """The letter as PDF bytes."""
    from fpdf import FPDF  # here: importing fpdf2 (and fontTools) slows the registry's start

    language = letter_language(content.language)
    text, german = TEXTS[language], TEXTS["de"]
    kind = KINDS[language].get(content.kind, KINDS[language]["other"])
    german_kind = KINDS["de"].get(content.kind, KINDS["de"]["other"])
    subject = text["subject"].format(kind=kind)
    site = settings.site(content.kiosk_id)

    pdf = FPDF(format="A4", unit="mm")
    writer = _Writer(pdf, language)
    pdf.set_title(subject)
    pdf.set_author(settings.office.splitlines()[0] if settings.office else "")
    pdf.set_lang(language)
    pdf.add_font("DejaVu", "", font_for(language))
    pdf.add_font("DejaVu", "B", font_for(language, bold=True))
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_margins(LEFT_MARGIN, 20, RIGHT_MARGIN)
    pdf.add_page()

    # Fold and hole marks in the left margin.
    pdf.set_line_width(0.2)
    for y in (*FOLD_MARKS, HOLE_MARK):
        pdf.line(3, y, 8 if y != HOLE_MARK else 10, y)

    # Address field: the sender's line in small print, then the recipient.
    pdf.set_font("DejaVu", "", 7)
    pdf.set_xy(ADDRESS_LEFT + 5, ADDRESS_TOP + RETURN_ZONE - 3.5)
    pdf.cell(ADDRESS_WIDTH - 5, 3.5, settings.sender[:90])
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(ADDRESS_LEFT + 5, ADDRESS_TOP + NOTE_ZONE)
    pdf.multi_cell(ADDRESS_WIDTH - 5, 4.6, content.recipient.strip()[:400])

    # Information block: the office's, in German on every letter.
    pdf.set_xy(INFO_LEFT, INFO_TOP)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(INFO_WIDTH, 4.2, settings.office)
    pdf.set_x(INFO_LEFT)
    pdf.ln(2)
    pdf.set_x(INFO_LEFT)
    pdf.cell(INFO_WIDTH, 4.2, f"{german['reference']}: {content.reference}", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_x(INFO_LEFT)
    pdf.cell(INFO_WIDTH, 4.2, f"{german['date']}: {_date(content.date or datetime.now(), 'de')}")

    # Body.
    width = 210 - LEFT_MARGIN - RIGHT_MARGIN
    pdf.set_xy(LEFT_MARGIN, BODY_TOP)
    pdf.set_font("DejaVu", "B", 12)
    writer.paragraph(LEFT_MARGIN, width, 6, subject)
    if language != "de":
        pdf.set_font("DejaVu", "", 9)
        pdf.set_x(LEFT_MARGIN)
        pdf.multi_cell(width, 4.5, german["subject"].format(kind=german_kind),
                       align="R" if writer.rtl else "L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 10.5)
    writer.paragraph(LEFT_MARGIN, width, 5.2, text["salutation"])
    pdf.ln(2)
    writer.paragraph(LEFT_MARGIN, width, 5.2, text["intro"].format(kind=kind))
    pdf.ln(3)

    # The QR code on the reading side, the typed code beside it (always left
    # to right: it is typed on the kiosk's keypad as printed).
    top = pdf.get_y()
    qr_x = LEFT_MARGIN + width - QR_SIZE if writer.rtl else LEFT_MARGIN
    code_x = LEFT_MARGIN if writer.rtl else LEFT_MARGIN + QR_SIZE + 6
    code_width = width - QR_SIZE - 6
    pdf.image(io.BytesIO(qr_png(content.qr_payload)), x=qr_x, y=top, w=QR_SIZE,
              h=QR_SIZE, alt_text=text["qr_caption"])
    pdf.set_y(top + 4)
    pdf.set_font("DejaVu", "", 10.5)
    writer.line(code_x, code_width, 6, text["code"] + ":")
    pdf.set_xy(code_x, top + 11)
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(code_width, 9, content.pickup_code, align="R" if writer.rtl else "L")
    pdf.set_xy(LEFT_MARGIN, top + QR_SIZE + 4)

    deadline = (_date(content.deadline, language) if content.deadline
                else text["deadline_unknown"])
    hours = (site.opening_hours.get(language) or site.opening_hours.get("de")
             or text["hours_unknown"])
    facts = [
        (text["deadline"], deadline),
        (text["where"], site.address or text["where_unknown"]),
        (text["hours"], hours),
        (text["bring"], text["bring_text"]),
    ]
    pdf.set_font("DejaVu", "", 10.5)
    label_width = writer.label_width([label for label, _ in facts], 38)
    for label, value in facts:
        writer.row(LEFT_MARGIN, width, label_width, 5.2, label, value)
        pdf.ln(1)
    pdf.ln(2)
    if content.requires_pin_letter:
        writer.paragraph(LEFT_MARGIN, width, 5.2, text["pin_letter"])
        pdf.ln(2)
    writer.paragraph(LEFT_MARGIN, width, 5.2, text["late"])
    pdf.ln(5)
    writer.paragraph(LEFT_MARGIN, width, 5.2, text["closing"])
    return bytes(pdf.output())
