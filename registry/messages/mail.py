"""E-mail to citizens over SMTP: STARTTLS or implicit TLS, AUTH, one
connection reused across a batch.

The message is multipart/alternative: plain text, and HTML with the QR code
as an inline image (multipart/related, ``cid:``). No remote images, no
tracking pixels, no links: the HTML shows nothing the text does not.

The Message-ID is derived from the queue key, so a message sent again after
a crash carries the same id and a receiving system can drop the duplicate.
"""

from __future__ import annotations

import hashlib
import io
import logging
import smtplib
import ssl
import struct
import threading
import zlib
from dataclasses import dataclass
from email._policybase import Compat32
from email.charset import BASE64, QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

import segno

from registry.messages.alarms import STAFF_KINDS, render_staff
from registry.messages.channels import DeliveryError
from registry.messages.queue import Message
from registry.messages.templates import Catalogs, render_email
from registry.messages.texts import WITH_CODE

log = logging.getLogger(__name__)

STARTTLS = "starttls"
IMPLICIT_TLS = "tls"
PLAIN = "none"  # loopback relays only; the config refuses it for other hosts
SECURITY_MODES = (STARTTLS, IMPLICIT_TLS, PLAIN)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    security: str = STARTTLS
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    # A CA bundle to verify the server against; empty: the system's.
    ca_file: str = ""
    max_attempts: int = 10
    # The envelope sender (MAIL FROM), where bounces go; empty: the sender.
    return_path: str = ""

    def __repr__(self) -> str:  # keeps the password out of logs and tracebacks
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r})"


def message_id(key: str, sender: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.rpartition('@')[2] or 'localhost'}>"


# A module is 8 pixels wide, which in a 1-bit PNG row is exactly one byte:
# white (light module) 0xFF, black (dark module) 0x00.
QR_SCALE = 8
_MODULE_BYTES = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def qr_png(payload: str, border: int = 4) -> bytes:
    """The QR code as a 1-bit greyscale PNG (8 px per module, four-module quiet zone).

    segno encodes and chooses the mask by the standard's penalty rules
    (kept: it is what makes a code read well on a phone screen). The PNG is
    written here, each module one byte of its row (``bytes.translate``):
    segno's pure-Python PNG writer took a third of the sender's CPU time per
    e-mail in the benchmark (tests/benchmarks/bench_messages.py).
    """
    qr = segno.make(payload, error="m", micro=False)
    quiet = b"\xff" * border
    blank = b"\x00" + b"\xff" * (len(qr.matrix[0]) + 2 * border)  # filter byte: none
    lines = [blank] * (border * QR_SCALE)
    for row in qr.matrix:
        line = b"\x00" + quiet + bytes(row).translate(_MODULE_BYTES) + quiet
        lines.extend([line] * QR_SCALE)
    lines.extend([blank] * (border * QR_SCALE))
    size = (len(qr.matrix) + 2 * border) * QR_SCALE
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", header),
        _png_chunk(b"IDAT", zlib.compress(b"".join(lines), 6)),
        _png_chunk(b"IEND", b""),
    ))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _utf8() -> Charset:
    charset = Charset("utf-8")
    charset.body_encoding = QP  # readable in any mail client's source view
    return charset


def _subject(text: str) -> Header:
    """The Subject as RFC 2047 "B" words. utf-8's default ("shortest") works
    out the Q encoding's length character by character to compare: that was
    most of the header cost per e-mail, and either encoding is as valid."""
    charset = Charset("utf-8")
    charset.header_encoding = BASE64
    return Header(text, charset)


class _ShortHeaders(Compat32):
    """compat32, minus the cost of folding headers that need no folding.

    compat32 runs every header through email.header.Header, even "To: a@b"
    and "Content-Transfer-Encoding: base64"; for ~20 headers per e-mail
    that was a sixth of the sender's CPU. A one-line ASCII header that fits
    78 characters comes out of Header unchanged, so it is written directly;
    everything else (the encoded Subject) still goes through Header.
    """

    def _fold(self, name: str, value, sanitize: bool) -> str:
        if (isinstance(value, str) and value.isascii() and len(name) + len(value) < 77
                and "\n" not in value and "\r" not in value):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


SMTP_POLICY = _ShortHeaders(linesep="\r\n")


def wire_bytes(email: MIMEMultipart) -> bytes:
    """The message as it goes to the server (CRLF line ends, like smtplib's send_message)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=SMTP_POLICY).flatten(email, linesep="\r\n")
    return out.getvalue()


def build_email(catalogs: Catalogs, message: Message, sender: str) -> MIMEMultipart:
    """The complete e-mail for one queued message (pure: no network).

    Built with the classic MIME classes: about four times faster than
    EmailMessage with the default policy (see tests/benchmarks/bench_messages.py),
    and the same bytes on the wire.
    """
    values = message.values
    if message.kind in STAFF_KINDS:
        return _staff_email(message, sender)
    with_qr = message.kind in WITH_CODE and bool(values.get("qr_payload"))
    cid = message_id(message.key + ":qr", sender)
    rendered = render_email(
        catalogs, message.kind, message.language, values, qr_cid=cid[1:-1] if with_qr else ""
    )
    # Boundaries of our own: "=_" never occurs in quoted-printable or base64
    # parts, so the generator need not search the body for a collision
    # (a fresh regular expression per e-mail, 7 % of the sender's CPU).
    boundary = "=_" + hashlib.sha256(message.key.encode()).hexdigest()[:32]
    email = MIMEMultipart("alternative", boundary=boundary + "_a")
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = _subject(rendered.subject)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id(message.key, sender)
    email["Content-Language"] = message.language
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    email.attach(MIMEText(rendered.text, "plain", _utf8()))
    html = MIMEText(rendered.html, "html", _utf8())
    if with_qr:
        related = MIMEMultipart("related", boundary=boundary + "_r")
        related.attach(html)
        image = MIMEImage(qr_png(values["qr_payload"]), "png")
        image["Content-ID"] = cid
        image.add_header("Content-Disposition", "inline", filename="qr.png")
        related.attach(image)
        email.attach(related)
    else:
        email.attach(html)
    return email


def _staff_email(message: Message, sender: str) -> MIMEMultipart:
    subject, text = render_staff(message.kind, message.values)
    email = MIMEMultipart("alternative")
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = _subject(subject)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = message_id(message.key, sender)
    email["Auto-Submitted"] = "auto-generated"
    email.attach(MIMEText(text, "plain", _utf8()))
    return email


class SmtpChannel:
    """Sends over a small pool of SMTP connections.

    The worker hands a batch to several sender threads at once (``[queue]
    senders``); each takes an idle connection or opens one, so a burst is
    not held up by one connection's round trips (MAIL, RCPT, DATA and the
    end of data each wait for the server). A connection that failed in any
    way is dropped, never reused: its state on the server is unknown.
    """

    def __init__(self, config: SmtpConfig, catalogs: Catalogs) -> None:
        self.config = config
        self.max_attempts: int | None = config.max_attempts
        self._catalogs = catalogs
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.config.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == IMPLICIT_TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                c.host, c.port, timeout=c.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            smtp.ehlo()
            if c.security == STARTTLS:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if c.username:
                smtp.login(c.username, c.password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def send(self, message: Message) -> str:
        email = build_email(self._catalogs, message, self.config.sender)
        with self._lock:
            smtp = self._idle.pop() if self._idle else None
        try:
            if smtp is None:
                smtp = self._connect()
            smtp.sendmail(
                self.config.return_path or self.config.sender, [message.recipient],
                wire_bytes(email),
            )
        except smtplib.SMTPRecipientsRefused as error:
            _drop(smtp)
            code, text = next(iter(error.recipients.values()))
            raise DeliveryError(
                f"recipient refused: {code} {_decode(text)}",
                bounced=code >= 500, permanent=code >= 500,
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            _drop(smtp)
            # The office's credentials, not this message: retried, and loud.
            log.error("SMTP server %s refused the login: %s", self.config.host, error.smtp_code)
            raise DeliveryError(f"login refused: {error.smtp_code}") from None
        except smtplib.SMTPResponseException as error:
            _drop(smtp)
            raise DeliveryError(
                f"server answered {error.smtp_code} {_decode(error.smtp_error)}",
                permanent=error.smtp_code >= 500,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            _drop(smtp)
            raise DeliveryError(f"connection to {self.config.host} failed: {error}") from None
        except BaseException:
            _drop(smtp)
            raise
        with self._lock:
            self._idle.append(smtp)
        return email["Message-ID"]

    def close(self) -> None:
        """Closes the idle connections (the worker calls it when the queue is idle)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            _quietly_close(smtp)


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        _quietly_close(smtp)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
