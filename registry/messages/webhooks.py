"""Events to the office's software: signed JSON POSTs, retried until a 2xx.

Each integration has a URL, the event kinds it wants and its own secret.
Every request carries::

    X-Pickupbox-Event:      order.collected
    X-Pickupbox-Delivery:   <the queue key: the same on every retry>
    X-Pickupbox-Timestamp:  <Unix seconds when this attempt was signed>
    X-Pickupbox-Signature:  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A receiver recomputes the signature over the raw body (see
:func:`verify_signature`), refuses timestamps older than a few minutes
(replay), and drops deliveries whose id it has already processed (the
queue's at-least-once bound). Events of one order arrive in order: the
next is held back until the previous one was answered with a 2xx.
The body never holds the pickup code, the PIN or the citizen's contact.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass

from registry.messages.channels import DeliveryError
from registry.messages.queue import Message

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
EVENT_KINDS = ("deposited", "collected", "returned", "cancelled", "code_reissued", "alarm")


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    url: str
    events: frozenset[str]
    secret: str
    timeout: float = 15.0

    def __repr__(self) -> str:
        return f"WebhookConfig(name={self.name!r}, url={self.url!r})"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def event_body(message: Message) -> bytes:
    """The JSON document of one event: stable across retries."""
    document = {
        "id": message.key,
        "type": "order." + message.kind if message.kind != "alarm" else "alarm",
        "occurred_at": message.values.get("occurred_at", ""),
        "order": message.values.get("order", {}),
    }
    if message.kind == "alarm":
        document["alarm"] = message.values.get("alarm", {})
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


class WebhookChannel:
    max_attempts: int | None = None  # until a 2xx

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        parts = urllib.parse.urlsplit(config.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook {config.name}: url {config.url!r} is not http(s)")
        self._parts = parts

    def send(self, message: Message) -> str:
        body = event_body(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Pickupbox-Event": json.loads(body)["type"],
            "X-Pickupbox-Delivery": message.key,
            "X-Pickupbox-Timestamp": str(timestamp),
            "X-Pickupbox-Signature": sign(self.config.secret, timestamp, body),
        }
        parts = self._parts
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = connection_class(parts.hostname, parts.port, timeout=self.config.timeout)
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(16 * 1024)
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryError(f"{self.config.name} unreachable or too slow: {error!r}") from None
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.config.name} answered HTTP {status}")
        return str(status)

    def close(self) -> None:
        pass
