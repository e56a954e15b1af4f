"""Message texts from gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``).

The catalogs are read as .po text, not compiled .mo: that keeps line numbers
for error messages, and an office can edit its copy with any text editor or
PO tool and restart. A catalog is refused at load, naming file and line,
when a translation has a broken placeholder (an unclosed brace, a format
spec) or does not use exactly the placeholders of its msgid: a message
without the ``{code}`` it promised would strand the citizen.

An office overrides texts with its own folder of the same layout
(``templates_dir`` in the configuration); entries it does not define come
from the bundled catalogs.
"""

from __future__ import annotations

import ast
import html
import logging
import string
from dataclasses import dataclass
from pathlib import Path

from registry.messages import texts
from registry.messages.contacts import DEFAULT_LANGUAGE, LANGUAGES

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).with_name("locale")
DOMAIN = "messages"
RTL_LANGUAGES = frozenset({"ar"})


class TemplateError(ValueError):
    """A catalog that cannot be used; the text names file and line."""


@dataclass(frozen=True)
class Entry:
    msgstr: str
    path: Path
    line: int
    fuzzy: bool = False


def placeholders(text: str, where: str = "") -> set[str]:
    """The ``{name}`` fields of a format string; TemplateError if it is broken."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"{where}broken placeholder in {text!r}: {error}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(
                f"{where}placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {text!r} must be a plain name like {{code}}"
            )
        names.add(name)
    return names


def read_po(path: Path) -> dict[str, Entry]:
    """msgid -> Entry. Understands what tools/i18n and PO editors write:
    comments, ``#, fuzzy``, multi-line strings; no plurals or contexts."""
    entries: dict[str, Entry] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None
    fuzzy = False
    start = 0

    def finish() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None and msgstr is not None:
            key = "".join(msgid)
            if key:
                entries[key] = Entry("".join(msgstr), path, start, fuzzy)
        msgid = msgstr = None
        fuzzy = False

    lines = path.read_text(encoding="utf-8").splitlines()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            finish()
            current = None
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise TemplateError(f"{path}:{number}: plural forms and contexts are not supported")
        elif line.startswith("msgid "):
            finish()
            msgid, start = [_po_string(line[6:], path, number)], number
            current = msgid
        elif line.startswith("msgstr "):
            if msgid is None:
                raise TemplateError(f"{path}:{number}: msgstr without a msgid before it")
            msgstr = [_po_string(line[7:], path, number)]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_po_string(line, path, number))
        else:
            raise TemplateError(f"{path}:{number}: cannot read {raw!r}")
    finish()
    return entries


def _po_string(token: str, path: Path, number: int) -> str:
    token = token.strip()
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise TemplateError(f"{path}:{number}: expected a quoted string, found {token!r}")
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        raise TemplateError(f"{path}:{number}: bad escape in {token}") from None


def check_entries(entries: dict[str, Entry]) -> None:
    """Refuses translations whose placeholders differ from their msgid's."""
    for msgid, entry in entries.items():
        if not entry.msgstr:
            continue
        where = f"{entry.path}:{entry.line}: "
        wanted = placeholders(msgid, where)
        found = placeholders(entry.msgstr, where)
        if found != wanted:
            missing, extra = sorted(wanted - found), sorted(found - wanted)
            parts = []
            if missing:
                parts.append("missing " + ", ".join("{" + m + "}" for m in missing))
            if extra:
                parts.append("unknown " + ", ".join("{" + e + "}" for e in extra))
            raise TemplateError(
                f"{where}the translation of {msgid!r} has {' and '.join(parts)}:"
                " use exactly the placeholders of the msgid"
            )


class Catalogs:
    """The texts of every language, checked once at load."""

    def __init__(self, override_dir: str | Path | None = None) -> None:
        self._texts: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            if language == "en":
                continue  # the msgids are English
            merged: dict[str, Entry] = {}
            for folder in (BUNDLED, Path(override_dir) if override_dir else None):
                if folder is None:
                    continue
                path = folder / language / "LC_MESSAGES" / f"{DOMAIN}.po"
                if path.exists():
                    entries = read_po(path)
                    check_entries(entries)
                    merged.update({k: v for k, v in entries.items() if v.msgstr})
            usable = {k: e.msgstr for k, e in merged.items() if not e.fuzzy}
            missing = [m for m in texts.all_msgids() if m not in usable]
            if missing:
                # Not fatal: English is better than no message at all.
                log.warning(
                    "%d message texts untranslated in %s (English is used): %s",
                    len(missing), language, "; ".join(missing[:3]),
                )
            self._texts[language] = usable

    def gettext(self, language: str, msgid: str) -> str:
        return self._texts.get(language, {}).get(msgid, msgid)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _languages(language: str) -> list[str]:
    """The citizen's language first, German alongside when it is another."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return [language] if language == DEFAULT_LANGUAGE else [language, DEFAULT_LANGUAGE]


def _values(catalogs: Catalogs, language: str, values: dict[str, str]) -> dict[str, str]:
    localised = dict(values)
    document = texts.DOCUMENT_NAMES.get(values.get("document_kind", "other"), "document")
    localised["document"] = catalogs.gettext(language, document)
    return localised


def _paragraphs(kind: str, values: dict[str, str]) -> list[str]:
    wanted = []
    for msgid in texts.BODIES[kind]:
        if msgid == texts.P_PIN_LETTER and not values.get("pin_letter"):
            continue
        if msgid == texts.P_DEADLINE and not values.get("deadline"):
            continue
        wanted.append(msgid)
    return wanted


def render_email(
    catalogs: Catalogs, kind: str, language: str, values: dict[str, str], *, qr_cid: str = ""
) -> RenderedEmail:
    """Subject, plain text and HTML of one message. ``values`` holds every
    placeholder (see texts.py) as display text; ``qr_cid`` names the inline
    QR image for kinds that carry a code."""
    if kind not in texts.BODIES:
        raise ValueError(f"unknown message kind {kind!r}")
    languages = _languages(language)
    subjects, text_blocks, html_blocks = [], [], []
    for lang in languages:
        local = _values(catalogs, lang, values)
        subjects.append(catalogs.gettext(lang, texts.SUBJECTS[kind]).format(**local))
        body = [catalogs.gettext(lang, m).format(**local) for m in _paragraphs(kind, values)]
        footer = [catalogs.gettext(lang, m).format(**local) for m in texts.FOOTER]
        text_blocks.append("\n\n".join(body) + "\n\n-- \n" + "\n".join(footer))
        direction = "rtl" if lang in RTL_LANGUAGES else "ltr"
        parts = [f'<div lang="{lang}" dir="{direction}">']
        for msgid, paragraph in zip(_paragraphs(kind, values), body):
            if msgid == texts.P_CODE:
                # The code in a monospace box, so 0/O and 1/I are told apart.
                parts.append(
                    f'<p style="font-size:1.3em"><code>{html.escape(paragraph)}</code></p>'
                )
                if qr_cid and lang == languages[0]:
                    parts.append(
                        f'<p><img src="cid:{html.escape(qr_cid)}" width="240" height="240"'
                        ' alt="QR"></p>'
                    )
            else:
                parts.append(f"<p>{html.escape(paragraph)}</p>")
        parts.append('<p style="color:#555">' + "<br>".join(html.escape(f) for f in footer))
        parts.append("</p></div>")
        html_blocks.append("\n".join(parts))
    subject = subjects[0] if len(subjects) == 1 else f"{subjects[0]} / {subjects[1]}"
    text = "\n\n==========\n\n".join(text_blocks) + "\n"
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        + "\n<hr>\n".join(html_blocks)
        + "\n</body></html>\n"
    )
    return RenderedEmail(subject, text, page)


def render_sms(catalogs: Catalogs, kind: str, language: str, values: dict[str, str]) -> str:
    """The SMS text in the citizen's language only: German alongside would
    need four or more segments."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return catalogs.gettext(language, texts.SMS[kind]).format(
        **_values(catalogs, language, values)
    )
