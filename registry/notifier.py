"""Telling the citizen that their document is ready for pickup.

A notifier receives one :class:`ReadyNotice` per deposited order. The default
:class:`DirectoryNotifier` writes the message and its QR code to files, which
is enough to run the system on one machine; a municipality plugs in its own
mail or SMS gateway through the ``pickupbox.notifier`` entry-point group::

    [project.entry-points."pickupbox.notifier"]
    smtp = "my_package.notify:SmtpNotifier"

The entry point is called with keyword options (the CLI passes
``directory=``); a plugin reads the rest of its settings from its own
configuration. The notice carries the plaintext code, because the citizen
needs it; it must never reach a log. The PIN is not in the notice at all: the
citizen chose it, or received it separately.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import segno

from common.faults import fault_point

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "pickupbox.notifier"
DEFAULT_NOTIFIER = "directory"


@dataclass(frozen=True)
class ReadyNotice:
    reference: str
    # Grouped for reading, e.g. "K7M2-9QXD-45".
    pickup_code: str
    # What the QR code encodes, e.g. "PBX1:K7M29QXD45".
    qr_payload: str
    pickup_deadline: datetime | None
    office_contact: str
    # Where the message goes (e-mail or phone) as the office entered it.
    contact: str = ""
    requires_pin_letter_confirmation: bool = False
    # For messages beyond the directory notifier's text (registry/messages).
    document_kind: str = ""
    kiosk_id: str = ""
    compartment_number: int = 0
    # The office (tenant) of the order: whose sender and texts to use.
    office_id: str = ""


@dataclass(frozen=True)
class OrderChange:
    """A later step of an order, for notifiers that tell more than "ready"
    (see registry/messages): collected, returned, cancelled, code_reissued.
    Carries a code only for code_reissued."""

    kind: str
    reference: str
    document_kind: str
    contact: str
    occurred: datetime
    kiosk_id: str = ""
    compartment_number: int = 0
    pin_letter_confirmed: bool = False
    pickup_deadline: datetime | None = None
    pickup_code: str = ""
    qr_payload: str = ""
    # Tells apart two changes of the same kind (e.g. a second reissue).
    sequence: int = 0
    office_id: str = ""


class Notifier(Protocol):
    def order_ready(self, notice: ReadyNotice) -> None:
        """Delivers the notice or raises; the registry retries on failure."""

    # Optional, looked up with getattr so a plugin need not define them:
    #   order_changed(change: OrderChange) -> None
    #   start() -> None   (the server started: begin sending)
    #   close() -> None   (the server stops)


def save_qr_png(payload: str, path: str | Path) -> Path:
    """A PNG that phone screens and cheap scanners read reliably.

    Error correction M survives smudged paper; 10 px modules and the
    standard four-module quiet zone keep it readable from a printout.
    """
    path = Path(path)
    segno.make(payload, error="m", micro=False).save(path, kind="png", scale=10, border=4)
    return path


def _deadline_texts(deadline: datetime | None) -> tuple[str, str]:
    if deadline is None:
        return "", ""
    local = deadline.astimezone()
    return (
        f"Abholung bis spätestens {local:%d.%m.%Y, %H:%M} Uhr.",
        f"Please collect it by {local:%Y-%m-%d %H:%M}.",
    )


def render_message(notice: ReadyNotice) -> str:
    """The German + English message text. Never contains the PIN."""
    de_deadline, en_deadline = _deadline_texts(notice.pickup_deadline)
    german = [
        "Ihr Dokument liegt zur Abholung im Ausgabeterminal bereit.",
        f"Abholcode: {notice.pickup_code}",
        "Sie können auch den beigefügten QR-Code am Terminal vorzeigen.",
        "Halten Sie außerdem Ihre 6-stellige PIN bereit.",
        de_deadline,
    ]
    english = [
        "Your document is ready for pickup at the pickup terminal.",
        f"Pickup code: {notice.pickup_code}",
        "You can also show the attached QR code at the terminal.",
        "You will also need your 6-digit PIN.",
        en_deadline,
    ]
    if notice.requires_pin_letter_confirmation:
        # PAuswV s.17: the citizen confirms the PIN letter at the terminal.
        german.append("Bei der Abholung bestätigen Sie, dass Sie Ihren PIN-Brief erhalten haben.")
        english.append("When collecting, you confirm that you have received your PIN letter.")
    german.append(f"Fragen? {notice.office_contact}")
    english.append(f"Questions? {notice.office_contact}")
    header = [f"An / To: {notice.contact}"] if notice.contact else []
    header.append(f"Vorgang / Reference: {notice.reference}")
    blocks = [header, german, english]
    return "\n\n".join("\n".join(line for line in block if line) for block in blocks) + "\n"


def _private_text(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


class DirectoryNotifier:
    """Writes ``<reference>.txt`` and ``<reference>.png`` into a directory.

    The files hold the citizen's code and contact, so the directory and the
    files are readable by the registry's user only, and :meth:`forget`
    removes them once the order has ended (the retention job calls it).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def forget(self, reference: str) -> bool:
        """Removes an order's notice files; True if there were any."""
        removed = False
        for suffix in (".txt", ".png", ".txt.tmp", ".png.tmp"):
            try:
                (self.directory / f"{reference}{suffix}").unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed

    def order_ready(self, notice: ReadyNotice) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        text_path = self.directory / f"{notice.reference}.txt"
        png_path = self.directory / f"{notice.reference}.png"
        message = render_message(notice)
        if text_path.exists() and text_path.read_text(encoding="utf-8") == message:
            # The same notice again: the registry died after writing it and
            # before recording that, so it retries. A folder robot must not mail it twice.
            return
        # Write to a temporary name first so a reader (or a mail robot
        # watching the folder) never sees half a message.
        tmp_png = png_path.with_suffix(".png.tmp")
        save_qr_png(notice.qr_payload, tmp_png)
        os.chmod(tmp_png, 0o600)
        os.replace(tmp_png, png_path)
        fault_point("notice:png")
        tmp_text = text_path.with_suffix(".txt.tmp")
        _private_text(tmp_text, message)
        os.replace(tmp_text, text_path)
        fault_point("notice:written")
        # The reference tells orders apart; no part of the code goes to a log.
        log.info("ready-for-pickup notice for order %s written to %s", notice.reference, text_path)


class FanOutNotifier:
    """Several notifiers at once (``--notifier directory,messages``)."""

    def __init__(self, notifiers: list[Any]) -> None:
        self.notifiers = notifiers

    def order_ready(self, notice: ReadyNotice) -> None:
        # Each is idempotent for the same notice, so a retry after one of
        # them raised repeats the others harmlessly.
        for notifier in self.notifiers:
            notifier.order_ready(notice)

    def forget(self, reference: str) -> bool:
        """Every notifier forgets the order (none is skipped); True if any held something."""
        results = [n.forget(reference) for n in self.notifiers if hasattr(n, "forget")]
        return any(results)

    def delivery_status(self, reference: str):
        """The order's messages from the first notifier that keeps them; None if none does."""
        for notifier in self.notifiers:
            if hasattr(notifier, "delivery_status"):
                return notifier.delivery_status(reference)
        return None

    def __getattr__(self, hook: str):
        # The optional hooks (order_changed, staff_alarm, all_clear, start,
        # close): called on every notifier that has them.
        if hook.startswith("_"):
            raise AttributeError(hook)
        targets = [getattr(n, hook) for n in self.notifiers if hasattr(n, hook)]

        def call(*args: Any) -> None:
            for target in targets:
                target(*args)

        return call


def load_notifier(name: str = DEFAULT_NOTIFIER, **options: Any) -> Notifier:
    """The notifier registered under ``name`` in the entry-point group.

    ``directory`` is built in, so it works even when the package metadata
    does not list it (e.g. running from a source checkout). Several names
    separated by commas give a :class:`FanOutNotifier`.
    """
    if "," in name:
        return FanOutNotifier([load_notifier(n.strip(), **options) for n in name.split(",")])
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            return entry_point.load()(**options)
    if name == DEFAULT_NOTIFIER:
        return DirectoryNotifier(**options)
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} | {DEFAULT_NOTIFIER}
    available = sorted(names)
    raise LookupError(f"no notifier named {name!r}; available: {', '.join(available)}")
