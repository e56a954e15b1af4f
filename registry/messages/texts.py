"""The English source texts (gettext msgids) of every message kind.

English is the source language: ``en`` needs no catalog. Placeholders use
``str.format`` names; a translation must use exactly the placeholders of its
msgid (checked when the catalogs are loaded). A language whose grammar
declines nouns puts ``{document}`` in parentheses after its own word for
"document", so no case ending is needed.
"""

from __future__ import annotations

# Message kinds, as stored in the queue and named in the idempotency key.
READY = "ready"
REMINDER = "reminder"
LAST_DAY = "last_day"
RETURNED = "returned"
COLLECTED = "collected"
CODE_REISSUED = "code_reissued"
CANCELLED = "cancelled"
KINDS = (READY, REMINDER, LAST_DAY, RETURNED, COLLECTED, CODE_REISSUED, CANCELLED)

DOCUMENT_NAMES = {
    "id_card": "identity card",
    "passport": "passport",
    "child_passport": "child passport",
    "residence_permit": "residence permit",
    "other": "document",
}

SUBJECTS = {
    READY: "Your document is ready for pickup ({reference})",
    REMINDER: "Reminder: please collect your document by {deadline}",
    LAST_DAY: "Last day: please collect your document today by {deadline}",
    RETURNED: "Your document is back at the counter ({reference})",
    COLLECTED: "Receipt: your document was collected ({reference})",
    CODE_REISSUED: "Your new pickup code ({reference})",
    CANCELLED: "Pickup cancelled ({reference})",
}

P_READY = "Your {document} is ready for pickup at the pickup terminal of {office_name}."
P_CODE = "Pickup code: {code}"
P_QR = "You can also show the QR code in this message at the terminal."
P_PIN = "You will also need your 6-digit PIN."
P_PIN_LETTER = "When collecting, you confirm that you have received your PIN letter."
P_DEADLINE = "Please collect it by {deadline}."
P_REMINDER = (
    "Your {document} is still waiting for you at the pickup terminal of {office_name}."
    " Please bring the pickup code from our first message and your PIN."
)
P_LAST_DAY = "Today is the last day: after {deadline} your {document} goes back to the counter."
P_RETURNED = (
    "Your {document} was not collected in time and is now at the counter of {office_name}."
)
P_RETURNED_WHAT = (
    "Please collect the document there during opening hours and bring an identity document."
    " The pickup code no longer works."
)
P_COLLECTED = "Your {document} was collected from the pickup terminal."
P_RECEIPT_REF = "Reference: {reference}"
P_RECEIPT_TIME = "Collected: {time}"
P_RECEIPT_BOX = "Pickup terminal: {kiosk}, compartment {compartment}"
P_NOT_YOU = "If this was not you, call us at once: {office_phone}."
P_REISSUED = (
    "A new pickup code was issued for your {document}. The previous code no longer works."
)
P_CANCELLED = "The pickup of your {document} at the pickup terminal was cancelled."
P_CANCELLED_WHAT = "Please contact {office_name} to arrange how you will receive it."
FOOTER_ADDRESS = "{office_name}, {office_address}"
FOOTER_HOURS = "Opening hours: {office_hours}"
FOOTER_PHONE = "Phone: {office_phone}"
AUTOMATIC = "This message was sent automatically; replies are not read."

# The paragraphs of each e-mail, in order. P_CODE and P_QR are only in
# messages that carry a code; P_PIN_LETTER only for documents that need it.
BODIES = {
    READY: (P_READY, P_CODE, P_QR, P_PIN, P_PIN_LETTER, P_DEADLINE),
    REMINDER: (P_REMINDER, P_DEADLINE),
    LAST_DAY: (P_LAST_DAY, P_PIN),
    RETURNED: (P_RETURNED, P_RETURNED_WHAT),
    COLLECTED: (P_COLLECTED, P_RECEIPT_REF, P_RECEIPT_TIME, P_RECEIPT_BOX, P_NOT_YOU),
    CODE_REISSUED: (P_REISSUED, P_CODE, P_QR, P_PIN, P_DEADLINE),
    CANCELLED: (P_CANCELLED, P_CANCELLED_WHAT),
}
FOOTER = (FOOTER_ADDRESS, FOOTER_HOURS, FOOTER_PHONE, AUTOMATIC)

# SMS: one text per kind, short enough for two segments in UCS-2 (134
# characters) with realistic values; tests/messages/test_templates.py checks it.
SMS = {
    READY: "Your {document} is ready at the pickup terminal. Code: {code}. Bring your PIN."
    " Collect by {deadline}.",
    REMINDER: "Reminder: your {document} is waiting at the pickup terminal until {deadline}.",
    LAST_DAY: "Last day: your {document} is at the pickup terminal only until {deadline}.",
    RETURNED: "Your {document} is back at the counter of {office_name}. Phone {office_phone}.",
    COLLECTED: "Receipt: {document} {reference} collected {time}, compartment {compartment}.",
    CODE_REISSUED: "New pickup code for your {document}: {code}. The old code no longer works.",
    CANCELLED: "The pickup of your {document} was cancelled. Please call {office_phone}.",
}

# Kinds whose message carries the pickup code (and the QR code).
WITH_CODE = frozenset({READY, CODE_REISSUED})


def all_msgids() -> list[str]:
    """Every text a catalog must translate, in a stable order."""
    seen: dict[str, None] = {}
    for text in [
        *DOCUMENT_NAMES.values(),
        *SUBJECTS.values(),
        *(p for body in BODIES.values() for p in body),
        *FOOTER,
        *SMS.values(),
    ]:
        seen.setdefault(text, None)
    return list(seen)
