"""Bounces that arrive after "sent": the citizen could not be reached after all.

An SMTP server that accepted a message may still fail to deliver it; the
answer comes later as a delivery status notification (RFC 3464) to the
envelope sender. An SMS gateway that accepted a message reports later
whether the phone got it. Either way the message becomes ``bounced`` with
the reason, and the clerk gets "citizen could not be reached: print the
letter" (``MessagesNotifier.bounced_later``).

E-mail
    The MTA (Postfix, Dovecot, ...) delivers the bounce mailbox (the
    envelope sender, ``[email] return_path``, default the sender) into a
    Maildir; the notifier reads its ``new/`` folder every ``interval_seconds``::

        [bounces]
        maildir = "/var/mail/pickupbox-bounces"
        interval_seconds = 60

    A DSN names the failed message by its Message-ID (in the returned
    headers), which the queue keeps as the provider id. A processed DSN is
    deleted (it quotes the citizen's address); other mail is left, marked seen.

SMS
    The gateway POSTs its delivery report to the registry's web port,
    ``/messages/sms-reports`` (``/messages/sms-reports/<office id>`` for an
    office with its own gateway), signed with a shared secret::

        [sms.delivery_reports]
        secret_file = "sms-reports.key"
        auth = "hmac"                 # X-Signature: hex HMAC-SHA256(secret, body);
                                      # "token": the header carries the secret itself
        header = "X-Signature"
        id_field = "id"               # the id the gateway answered the send with
        status_field = "status"
        reason_field = "error"
        failed = ["failed", "undeliverable", "rejected", "expired"]

    A report with a wrong or missing signature is refused (401) and logged;
    a report about an unknown id, or one delivered twice, changes nothing.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import mailbox
import threading
import urllib.parse
from dataclasses import dataclass
from email.message import Message as EmailMessage
from pathlib import Path

log = logging.getLogger(__name__)

MAX_REPORT_BYTES = 64 * 1024
HMAC = "hmac"
TOKEN = "token"
AUTH_MODES = (HMAC, TOKEN)


# ------------------------------------------------------------------ e-mail


@dataclass(frozen=True)
class Bounce:
    """One failed delivery: which message (its Message-ID) and why."""

    message_id: str
    reason: str


def parse_dsn(raw: bytes) -> Bounce | None:
    """The failure a delivery status notification (RFC 3464) reports, or None
    when the mail is no DSN, reports no failure (delayed, delivered, relayed)
    or does not name the original Message-ID. Pure: tests call it directly."""
    mail = email.message_from_bytes(raw, policy=email.policy.compat32)
    if mail.get_content_type() != "multipart/report":
        return None
    if (mail.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status_part = original = None
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and status_part is None:
            status_part = part
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            original = original or part
    if status_part is None or original is None:
        return None
    failures = [f for f in _status_fields(status_part)
                if f.get("action", "").lower() == "failed"]
    if not failures:
        return None
    message_id = _original_message_id(original)
    if not message_id:
        return None
    first = failures[0]
    reason = " ".join(filter(None, (
        first.get("status", ""), _diagnostic(first.get("diagnostic-code", "")),
    )))
    return Bounce(message_id, reason or "delivery failed")


def _status_fields(part: EmailMessage) -> list[dict[str, str]]:
    """The per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses it into blocks
        blocks = [dict((k.lower(), str(v)) for k, v in block.items()) for block in payload]
        return blocks[1:] if len(blocks) > 1 else blocks
    text = payload if isinstance(payload, str) else ""
    groups = [email.message_from_string(g) for g in text.replace("\r\n", "\n").split("\n\n")]
    blocks = [dict((k.lower(), str(v)) for k, v in g.items()) for g in groups if g.keys()]
    return blocks[1:] if len(blocks) > 1 else blocks


def _original_message_id(part: EmailMessage) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        headers = payload[0]
    else:
        text = payload if isinstance(payload, str) else ""
        headers = email.message_from_string(text)
    return str(headers.get("Message-ID", "")).strip()


def _diagnostic(code: str) -> str:
    # "smtp; 550 5.1.1 <anna@example.org>: user unknown" -> the server's words.
    kind, sep, text = code.partition(";")
    return " ".join((text if sep else kind).split())


def read_maildir(path: str | Path, on_bounce) -> int:
    """Processes the new mail of a Maildir: each DSN's bounce goes to
    ``on_bounce(Bounce)`` and the DSN is deleted; other mail is marked seen
    and left. Returns how many bounces were found."""
    box = mailbox.Maildir(path, factory=None, create=False)
    found = 0
    for key in list(box.iterkeys()):
        message = box.get_message(key)
        if message.get_subdir() != "new":
            continue
        raw = box.get_bytes(key)
        bounce = parse_dsn(raw)
        if bounce is None:
            message.set_subdir("cur")
            message.add_flag("S")
            box[key] = message
            continue
        on_bounce(bounce)  # raises on failure: the DSN stays for the next round
        box.remove(key)
        found += 1
    return found


class MaildirWatcher:
    """A thread that reads the bounce Maildir every ``interval`` seconds."""

    def __init__(self, path: str | Path, interval: float, on_bounce) -> None:
        self.path = Path(path)
        self.interval = interval
        self._on_bounce = on_bounce
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        return read_maildir(self.path, self._on_bounce)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="bounce-maildir", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # a mailbox the MTA is rotating, a bug: next round
                log.exception("reading the bounce mailbox %s failed", self.path)
            if self._stop.wait(self.interval):
                return


# --------------------------------------------------------------------- SMS


@dataclass(frozen=True)
class ReportConfig:
    """How an SMS gateway's delivery reports look and are signed."""

    secret: str
    auth: str = HMAC
    header: str = "X-Signature"
    id_field: str = "id"
    status_field: str = "status"
    reason_field: str = "error"
    failed: frozenset[str] = frozenset({"failed", "undeliverable", "rejected", "expired"})

    def __repr__(self) -> str:  # keeps the secret out of logs
        return f"ReportConfig(auth={self.auth!r}, header={self.header!r})"


class ReportError(ValueError):
    """A report that is refused; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign_report(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_report(config: ReportConfig, header_value: str, body: bytes) -> None:
    """Raises ReportError(401) unless the report carries the shared secret
    (``token``) or its HMAC over the body (``hmac``); constant-time compare."""
    given = header_value.strip()
    if config.auth == HMAC:
        given = given.removeprefix("sha256=")
        expected = sign_report(config.secret, body)
    else:
        given = given.removeprefix("Bearer ").strip()
        expected = config.secret
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ReportError(401, f"the {config.header} header does not match the shared secret")


def parse_report(config: ReportConfig, body: bytes, content_type: str
                 ) -> tuple[str, str, bool, str]:
    """(gateway id, status, failed?, reason) of a JSON or form-encoded report."""
    try:
        if "json" in content_type:
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        else:
            data = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8")).items()}
    except (UnicodeDecodeError, ValueError) as error:
        raise ReportError(400, f"the report is neither a JSON object nor a form: {error}") from None
    message_id = str(data.get(config.id_field, "")).strip()
    status = str(data.get(config.status_field, "")).strip()
    if not message_id or not status:
        raise ReportError(
            400, f"the report needs {config.id_field!r} and {config.status_field!r}"
            " (set id_field/status_field in [sms.delivery_reports])",
        )
    failed = status.lower() in config.failed
    reason = str(data.get(config.reason_field, "") or "").strip()
    return message_id, status, failed, f"gateway reports {status}" + (f": {reason}" if reason else "")
