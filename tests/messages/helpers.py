"""Building blocks shared by the message tests."""

from __future__ import annotations

from registry.messages.queue import MessageQueue

ORDER_VALUES = {
    "reference": "PO-TEST0001",
    "document_kind": "id_card",
    "deadline": "31.12.2026 18:00",
    "office_name": "Bürgerbüro Musterstadt",
    "office_address": "Rathausplatz 1, 12345 Musterstadt",
    "office_hours": "Mo–Fr 8–18 Uhr",
    "office_phone": "0123 456789",
    "kiosk": "rathaus-1",
    "compartment": "3",
    "time": "",
    "code": "K7M2-9QXD-45",
    "qr_payload": "PBX1:K7M29QXD45",
    "pin_letter": "1",
}


def enqueue(queue: MessageQueue, *, channel: str, recipient: str, kind: str = "ready",
            language: str = "de", reference: str = "PO-TEST0001", sequence: int = 0,
            values: dict | None = None) -> str:
    queue.enqueue(order_reference=reference, kind=kind, channel=channel, recipient=recipient,
                  language=language, values={**ORDER_VALUES, "reference": reference,
                                             **(values or {})}, sequence=sequence)
    return f"{reference}:{kind}:{channel}:{sequence}"
