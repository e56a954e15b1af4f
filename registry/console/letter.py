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

Texts are in the citizen's language where the letter has it (German and
English), else English. The letter is built in memory and never stored.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import segno

FONTS = Path(__file__).resolve().parents[2] / "kiosk" / "ui" / "fonts"
LETTER_LANGUAGES = ("de", "en")

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


_KINDS = {
    "de": {"id_card": "Personalausweis", "passport": "Reisepass",
           "child_passport": "Kinderreisepass", "residence_permit": "Aufenthaltstitel",
           "other": "Dokument"},
    "en": {"id_card": "identity card", "passport": "passport",
           "child_passport": "child's passport", "residence_permit": "residence permit",
           "other": "document"},
}

_TEXT = {
    "de": {
        "subject": "Ihr {kind} liegt zur Abholung bereit",
        "reference": "Vorgang",
        "date": "Datum",
        "salutation": "Guten Tag,",
        "intro": ("Ihr {kind} kann an unserer Abholstation abgeholt werden. Halten Sie dort"
                  " den QR-Code unten vor den Scanner oder tippen Sie den Abholcode ein, und"
                  " geben Sie dann Ihre PIN ein. Die PIN erhalten Sie getrennt von diesem Brief."),
        "code": "Abholcode",
        "deadline": "Abholen bis",
        "deadline_unknown": ("14 Tage ab Einlage des Dokuments; wir benachrichtigen Sie, sobald"
                             " es in der Station liegt."),
        "where": "Abholstation",
        "where_unknown": "Bitte erfragen Sie den Standort im Bürgerbüro.",
        "hours": "Geöffnet",
        "hours_unknown": "rund um die Uhr",
        "bring": "Bitte mitbringen",
        "bring_text": ("diesen Brief (oder den Abholcode) und Ihre PIN; Ihren bisherigen Ausweis"
                       " oder Pass, falls Sie einen haben"),
        "pin_letter": ("Bei der Abholung bestätigen Sie an der Station, dass Sie den PIN-Brief"
                       " zu Ihrem Ausweis erhalten haben."),
        "late": ("Wird das Dokument nicht rechtzeitig abgeholt, geht es an den Schalter des"
                 " Bürgerbüros zurück; dort können Sie es zu den Öffnungszeiten abholen."),
        "closing": "Mit freundlichen Grüßen\nIhr Bürgerbüro",
        "qr_caption": "QR-Code zum Abholen",
    },
    "en": {
        "subject": "Your {kind} is ready for collection",
        "reference": "Reference",
        "date": "Date",
        "salutation": "Hello,",
        "intro": ("Your {kind} can be collected at our pickup box. Hold the QR code below in"
                  " front of the scanner or type the pickup code, then enter your PIN. You"
                  " receive the PIN separately from this letter."),
        "code": "Pickup code",
        "deadline": "Collect by",
        "deadline_unknown": ("14 days after the document is placed in the box; we will tell you"
                             " as soon as it is there."),
        "where": "Pickup box",
        "where_unknown": "Please ask the citizens' office where the box is.",
        "hours": "Open",
        "hours_unknown": "around the clock",
        "bring": "Please bring",
        "bring_text": ("this letter (or the pickup code) and your PIN; your current identity"
                       " card or passport, if you have one"),
        "pin_letter": ("When collecting, you confirm at the box that you have received the PIN"
                       " letter for your identity card."),
        "late": ("If the document is not collected in time, it goes back to the counter of the"
                 " citizens' office, where you can collect it during opening hours."),
        "closing": "Kind regards\nYour citizens' office",
        "qr_caption": "QR code for collection",
    },
}


def letter_language(language: str) -> str:
    return language if language in LETTER_LANGUAGES else "en"


def _date(value: datetime, language: str) -> str:
    return value.strftime("%d.%m.%Y" if language == "de" else "%d %B %Y")


def qr_png(payload: str) -> bytes:
    """The QR as a PNG with a quiet zone, large enough for the kiosk's camera."""
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def render_letter(content: LetterContent, settings: LetterSettings) -> bytes:
    """The letter as PDF bytes."""
    from fpdf import FPDF  # here: importing fpdf2 (and fontTools) slows the registry's start

    language = letter_language(content.language)
    text = _TEXT[language]
    kind = _KINDS[language].get(content.kind, _KINDS[language]["other"])
    site = settings.site(content.kiosk_id)

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(text["subject"].format(kind=kind))
    pdf.set_author(settings.office.splitlines()[0] if settings.office else "")
    pdf.set_lang(language)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
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

    # Information block.
    pdf.set_xy(INFO_LEFT, INFO_TOP)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(INFO_WIDTH, 4.2, settings.office)
    pdf.set_x(INFO_LEFT)
    pdf.ln(2)
    pdf.set_x(INFO_LEFT)
    pdf.cell(INFO_WIDTH, 4.2, f"{text['reference']}: {content.reference}", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_x(INFO_LEFT)
    pdf.cell(INFO_WIDTH, 4.2, f"{text['date']}: {_date(content.date or datetime.now(), language)}")

    # Body.
    width = 210 - LEFT_MARGIN - RIGHT_MARGIN
    pdf.set_xy(LEFT_MARGIN, BODY_TOP)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(width, 6, text["subject"].format(kind=kind))
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 10.5)
    pdf.multi_cell(width, 5.2, text["salutation"])
    pdf.ln(2)
    pdf.multi_cell(width, 5.2, text["intro"].format(kind=kind))
    pdf.ln(3)

    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(content.qr_payload)), x=LEFT_MARGIN, y=top, w=QR_SIZE,
              h=QR_SIZE, alt_text=text["qr_caption"])
    pdf.set_xy(LEFT_MARGIN + QR_SIZE + 6, top + 4)
    pdf.set_font("DejaVu", "", 10.5)
    pdf.cell(0, 6, text["code"] + ":", new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(LEFT_MARGIN + QR_SIZE + 6, top + 11)
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 9, content.pickup_code)
    pdf.set_xy(LEFT_MARGIN, top + QR_SIZE + 4)

    deadline = (_date(content.deadline, language) if content.deadline
                else text["deadline_unknown"])
    facts = [
        (text["deadline"], deadline),
        (text["where"], site.address or text["where_unknown"]),
        (text["hours"], site.opening_hours.get(language) or text["hours_unknown"]),
        (text["bring"], text["bring_text"]),
    ]
    for label, value in facts:
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.set_x(LEFT_MARGIN)
        pdf.cell(38, 5.2, label + ":")
        pdf.set_font("DejaVu", "", 10.5)
        pdf.multi_cell(width - 38, 5.2, value)
        pdf.ln(1)
    pdf.ln(2)
    if content.requires_pin_letter:
        pdf.multi_cell(width, 5.2, text["pin_letter"])
        pdf.ln(2)
    pdf.multi_cell(width, 5.2, text["late"])
    pdf.ln(5)
    pdf.multi_cell(width, 5.2, text["closing"])
    return bytes(pdf.output())
