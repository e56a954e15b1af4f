"""SMS through an HTTP gateway, the request described by configuration.

Most German gateways take one HTTP request per message; they differ in URL,
method, how the key is sent and how the body looks. All of that is set in
the ``[sms]`` section, e.g.::

    [sms]
    url = "https://gateway.example/api/sms"
    method = "POST"
    content_type = "application/json"
    body = '{"to": "{to}", "text": "{text}", "from": "{sender}"}'
    headers = { Authorization = "Bearer {secret}" }
    secret_file = "/etc/pickupbox/sms.key"
    success_status = [200, 201, 202]
    success_pattern = '"status"\\s*:\\s*"ok"'
    id_pattern = '"id"\\s*:\\s*"([^"]+)"'

Placeholders in ``body`` and ``url`` are ``{to}``, ``{text}``, ``{sender}``,
``{reference}``; each value is escaped for where it goes (JSON string, form
field, URL query). ``{secret}`` is only filled into headers. A 2xx answer
that does not match ``success_pattern`` is garbage and counts as a failure;
the answer is logged with the text, code and number blanked out.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field

from registry.messages.alarms import ALL_CLEAR, STAFF_KINDS, render_staff
from registry.messages.channels import DeliveryError
from registry.messages.queue import Message
from registry.messages.segments import count_segments
from registry.messages.templates import Catalogs, render_sms

log = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_LOGGED_ANSWER = 300


@dataclass(frozen=True)
class SmsConfig:
    url: str
    body: str = ""
    method: str = "POST"
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    secret: str = ""
    sender: str = ""
    success_status: tuple[int, ...] = (200, 201, 202, 204)
    success_pattern: str = ""
    id_pattern: str = ""
    timeout: float = 15.0
    max_segments: int = 2
    max_attempts: int = 10

    def __repr__(self) -> str:  # keeps the secret out of logs
        return f"SmsConfig(url={self.url!r}, method={self.method!r})"


def _escape(value: str, content_type: str) -> str:
    if content_type == JSON:
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if content_type == FORM:
        return urllib.parse.quote_plus(value)
    return value


def _fill(template: str, values: dict[str, str]) -> str:
    # str.format would choke on the braces of a JSON body, so only the known
    # placeholders are replaced.
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def build_request(config: SmsConfig, to: str, text: str, reference: str):
    """(method, url, headers, body bytes) for one SMS (pure: no network)."""
    raw = {"to": to, "text": text, "sender": config.sender, "reference": reference}
    body = _fill(config.body, {k: _escape(v, config.content_type) for k, v in raw.items()})
    url = _fill(config.url, {k: urllib.parse.quote(v, safe="") for k, v in raw.items()})
    headers = {
        name: _fill(value, {"secret": config.secret}) for name, value in config.headers.items()
    }
    data = body.encode("utf-8")
    if data:
        headers.setdefault("Content-Type", f"{config.content_type}; charset=utf-8")
    return config.method.upper(), url, headers, data


def redact(answer: str, *secrets: str) -> str:
    """The gateway's answer, shortened, with message text, code and number removed."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        answer = answer.replace(secret, "[…]")
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
        answer = answer.replace(escaped, "[…]")
    answer = answer.replace("\n", " ").replace("\r", " ")
    return answer[:MAX_LOGGED_ANSWER]


class HttpSmsChannel:
    def __init__(self, config: SmsConfig, catalogs: Catalogs) -> None:
        self.config = config
        self.max_attempts: int | None = config.max_attempts
        self._catalogs = catalogs
        parts = urllib.parse.urlsplit(config.url.split("{", 1)[0])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"sms url {config.url!r} must be an http:// or https:// URL")
        self._success = re.compile(config.success_pattern) if config.success_pattern else None
        self._id = re.compile(config.id_pattern) if config.id_pattern else None

    def text_for(self, message: Message) -> str:
        if message.kind in STAFF_KINDS:
            subject, body = render_staff(message.kind, message.values)
            text = subject if message.kind == ALL_CLEAR else body.split("\n\n")[0]
        else:
            text = render_sms(self._catalogs, message.kind, message.language, message.values)
        count = count_segments(text)
        if count.segments > self.config.max_segments:
            raise DeliveryError(
                f"the {message.kind} text in {message.language} needs {count.segments} SMS"
                f" segments ({count.encoding}, {count.units} units); at most"
                f" {self.config.max_segments} are allowed: shorten the template",
                permanent=True,
            )
        return text

    def send(self, message: Message) -> str:
        text = self.text_for(message)
        method, url, headers, body = build_request(
            self.config, message.recipient, text, message.order_reference
        )
        parts = urllib.parse.urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection = connection_class(parts.hostname, parts.port, timeout=self.config.timeout)
        try:
            connection.request(method, target, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read(64 * 1024).decode("utf-8", "replace")
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryError(f"gateway unreachable or too slow: {error!r}") from None
        finally:
            connection.close()
        secrets = (text, message.values.get("code", ""), message.recipient)
        if status not in self.config.success_status:
            raise DeliveryError(
                f"gateway answered HTTP {status}: {redact(answer, *secrets)}",
                # 4xx: this request will never work; 429 and 5xx: try later.
                permanent=400 <= status < 500 and status not in (408, 429),
            )
        if self._success is not None and not self._success.search(answer):
            log.warning("SMS gateway answered garbage for order %s: %s",
                        message.order_reference, redact(answer, *secrets))
            raise DeliveryError(f"gateway answer not recognised: {redact(answer, *secrets)}")
        if self._id is not None:
            found = self._id.search(answer)
            if found:
                return found.group(1)[:200]
        return ""

    def close(self) -> None:
        pass
