"""The ``messages.toml`` configuration: office details, queue, channels.

One registry may serve several municipalities (offices as tenants, see
``kiosk-registry office add``). The top-level sections are the defaults;
``[offices.<office id>]`` holds what differs for one office, and everything
it does not name is inherited::

    [offices.nordstadt.office]     # merged key by key into [office]
    name = "Bürgerbüro Nordstadt"
    [offices.nordstadt.email]      # merged into [email]: same relay, own sender
    sender = "buergerbuero@nordstadt.de"
    [[offices.nordstadt.webhooks]] # an office's own list replaces the default list
    name = "register"
    ...

An order (and a kiosk's alarm) goes out with its office's settings; an
office without a section uses the defaults. The queue is one for all.

Secrets never sit in the file itself: ``password_file``/``secret_file`` name
a file (readable by the registry only), ``password_env``/``secret_env`` an
environment variable. Every error names the key and what to write instead.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry.messages.alarms import ALARM_KINDS
from registry.messages.bounces import AUTH_MODES, HMAC, ReportConfig
from registry.messages.contacts import ContactError, parse_contact
from registry.messages.mail import PLAIN, SECURITY_MODES, SmtpConfig
from registry.messages.sms import SmsConfig
from registry.messages.webhooks import EVENT_KINDS, WebhookConfig

CONFIG_ENV = "PICKUPBOX_MESSAGES_CONFIG"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Office:
    name: str = "Bürgerbüro"
    address: str = ""
    hours: str = ""
    phone: str = ""
    timezone: str = "Europe/Berlin"


@dataclass(frozen=True)
class MessagesConfig:
    office: Office = field(default_factory=Office)
    # Where a release before 7 kept its queue file ([queue] path): imported
    # once at the start (legacy.py); the queue itself is in the registry database.
    queue_path: Path | None = None
    batch_size: int = 20
    # How long an instance's claim on a batch holds (see queue.py).
    lease_seconds: float = 300.0
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    reminder_days: int = 3
    last_day_hour: int = 8
    templates_dir: Path | None = None
    email: SmtpConfig | None = None
    sms: SmsConfig | None = None
    webhooks: tuple[WebhookConfig, ...] = ()
    # Staff on call: addresses or numbers per alarm kind ("*": the rest).
    alarm_routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    alarm_reminder_minutes: float = 15
    # A kiosk without a heartbeat for this long raises kiosk_offline (0: never).
    offline_minutes: float = 10
    offline_check_seconds: float = 30
    # The sender threads of the worker (SMTP connections at once); one queue for all offices.
    senders: int = 4
    # The SMS gateway's delivery reports (bounces.py); None: not accepted.
    sms_reports: ReportConfig | None = None
    # The Maildir the bounce mailbox is delivered to; None: DSNs are not read.
    bounce_maildir: Path | None = None
    bounce_interval_seconds: float = 60
    # Offices with settings of their own, by office id (each complete, defaults filled in).
    offices: dict[str, MessagesConfig] = field(default_factory=dict)

    def for_office(self, office_id: str) -> MessagesConfig:
        """The settings an office's messages go out with."""
        return self.offices.get(office_id, self)

    def alarm_recipients(self, kind: str) -> tuple[str, ...]:
        return self.alarm_routes.get(kind, self.alarm_routes.get("*", ()))


def _secret(section: dict[str, Any], name: str, where: str, base: Path) -> str:
    if name in section:
        raise ConfigError(
            f"[{where}] {name}: do not write secrets into the file; use {name}_file or {name}_env"
        )
    if f"{name}_file" in section:
        path = base / section[f"{name}_file"]
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"[{where}] {name}_file: cannot read {path}: {error}") from None
    if f"{name}_env" in section:
        value = os.environ.get(section[f"{name}_env"])
        if value is None:
            raise ConfigError(f"[{where}] {name}_env: ${section[f'{name}_env']} is not set")
        return value
    return ""


# What an [offices.<id>] section may hold, and how it inherits.
MERGED = ("office", "email", "sms", "alarms", "reminders", "bounces")  # key by key
REPLACED = ("webhooks", "templates_dir")                      # as a whole


def inherit(defaults: dict[str, Any], own: dict[str, Any], where: str) -> dict[str, Any]:
    """One office's sections: the defaults with the office's own keys over
    them (pure; the queue is shared, so [queue] is not the office's)."""
    unknown = set(own) - set(MERGED) - set(REPLACED)
    if unknown:
        raise ConfigError(
            f"[{where}] unknown {sorted(unknown)}; an office may set"
            f" {', '.join(MERGED + REPLACED)}"
        )
    merged = {k: v for k, v in defaults.items() if k not in ("offices", "queue")}
    for key, value in own.items():
        if key in MERGED:
            if not isinstance(value, dict):
                raise ConfigError(f"[{where}] {key} must be a table ([{where}.{key}])")
            merged[key] = _merge(merged.get(key, {}), value)
        else:
            merged[key] = value
    return merged


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and key != "headers":
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    # An office that brings its own secret must not keep the default's other form of it.
    for name in ("password", "secret"):
        if f"{name}_file" in over:
            result.pop(f"{name}_env", None)
        if f"{name}_env" in over:
            result.pop(f"{name}_file", None)
    return result


def parse(data: dict[str, Any], base: Path, prefix: str = "") -> MessagesConfig:
    p = prefix
    try:
        office = Office(**data.get("office", {}))
    except TypeError as error:  # an unknown key in [office]
        raise ConfigError(f"[{p}office] {error}") from None
    try:
        ZoneInfo(office.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[{p}office] timezone {office.timezone!r} is not a known time zone")
    queue = data.get("queue", {})
    reminders = data.get("reminders", {})
    email = None
    if "email" in data:
        section = dict(data["email"])
        security = section.get("security", "starttls")
        if security not in SECURITY_MODES:
            raise ConfigError(
                f"[{p}email] security must be one of {', '.join(SECURITY_MODES)}"
            )
        if security == PLAIN and section.get("host") not in LOOPBACK:
            raise ConfigError(
                f"[{p}email] security = 'none' is only allowed for a loopback relay"
            )
        if "sender" not in section or "host" not in section:
            raise ConfigError(f"[{p}email] needs host and sender")
        email = SmtpConfig(
            host=section["host"],
            port=int(section.get("port", 465 if security == "tls" else 587)),
            sender=section["sender"],
            security=security,
            username=section.get("username", ""),
            password=_secret(section, "password", f"{p}email", base),
            timeout=float(section.get("timeout", 30)),
            ca_file=str(base / section["ca_file"]) if "ca_file" in section else "",
            max_attempts=int(section.get("max_attempts", 10)),
            return_path=section.get("return_path", ""),
        )
    sms = None
    sms_reports = None
    if "sms" in data:
        section = dict(data["sms"])
        if "url" not in section:
            raise ConfigError(f"[{p}sms] needs url")
        sms = SmsConfig(
            url=section["url"],
            body=section.get("body", ""),
            method=section.get("method", "POST"),
            content_type=section.get("content_type", "application/json"),
            headers=dict(section.get("headers", {})),
            secret=_secret(section, "secret", f"{p}sms", base),
            sender=section.get("sender", ""),
            success_status=tuple(section.get("success_status", (200, 201, 202, 204))),
            success_pattern=section.get("success_pattern", ""),
            id_pattern=section.get("id_pattern", ""),
            timeout=float(section.get("timeout", 15)),
            max_segments=int(section.get("max_segments", 2)),
            max_attempts=int(section.get("max_attempts", 10)),
        )
        if "delivery_reports" in section:
            sms_reports = _reports(dict(section["delivery_reports"]), f"{p}sms.delivery_reports",
                                   base)
    bounces = data.get("bounces", {})
    webhooks = []
    for i, section in enumerate(data.get("webhooks", [])):
        where = f"{p}webhooks[{i}]"
        if "name" not in section or "url" not in section:
            raise ConfigError(f"[{where}] needs name and url")
        events = frozenset(section.get("events", EVENT_KINDS))
        unknown = events - set(EVENT_KINDS)
        if unknown:
            raise ConfigError(
                f"[{where}] unknown events {sorted(unknown)}; known: {', '.join(EVENT_KINDS)}"
            )
        secret = _secret(section, "secret", where, base)
        if len(secret) < 16:
            raise ConfigError(f"[{where}] needs a secret of at least 16 characters")
        webhooks.append(WebhookConfig(
            section["name"], section["url"], events, secret, float(section.get("timeout", 15))
        ))
    offices: dict[str, MessagesConfig] = {}
    if not prefix:
        sections = data.get("offices", {})
        if not isinstance(sections, dict):
            raise ConfigError("[offices] must be tables: [offices.<office id>]")
        for office_id, own in sections.items():
            where = f"offices.{office_id}"
            if not isinstance(own, dict):
                raise ConfigError(f"[{where}] must be a table")
            offices[office_id] = parse(inherit(data, own, where), base, f"{where}.")
    return MessagesConfig(
        offices=offices,
        senders=int(queue.get("senders", 4)),
        office=office,
        queue_path=base / queue["path"] if "path" in queue else None,
        batch_size=int(queue.get("batch_size", 20)),
        lease_seconds=float(queue.get("lease_seconds", 300)),
        retry_base_seconds=float(queue.get("retry_base_seconds", 30)),
        retry_max_seconds=float(queue.get("retry_max_seconds", 3600)),
        reminder_days=int(reminders.get("days_before", 3)),
        last_day_hour=int(reminders.get("last_day_hour", 8)),
        templates_dir=base / data["templates_dir"] if "templates_dir" in data else None,
        email=email,
        sms=sms,
        webhooks=tuple(webhooks),
        alarm_routes=_alarm_routes(data.get("alarms", {}), p),
        alarm_reminder_minutes=float(data.get("alarms", {}).get("reminder_minutes", 15)),
        offline_minutes=float(data.get("alarms", {}).get("offline_minutes", 10)),
        sms_reports=sms_reports,
        bounce_maildir=base / bounces["maildir"] if "maildir" in bounces else None,
        bounce_interval_seconds=float(bounces.get("interval_seconds", 60)),
    )


def _reports(section: dict[str, Any], where: str, base: Path) -> ReportConfig:
    auth = section.get("auth", HMAC)
    if auth not in AUTH_MODES:
        raise ConfigError(f"[{where}] auth must be one of {', '.join(AUTH_MODES)}")
    secret = _secret(section, "secret", where, base)
    if len(secret) < 16:
        raise ConfigError(f"[{where}] needs a secret of at least 16 characters"
                          " (secret_file or secret_env), shared with the gateway")
    defaults = ReportConfig(secret)
    return ReportConfig(
        secret=secret,
        auth=auth,
        header=section.get("header", defaults.header),
        id_field=section.get("id_field", defaults.id_field),
        status_field=section.get("status_field", defaults.status_field),
        reason_field=section.get("reason_field", defaults.reason_field),
        failed=frozenset(s.lower() for s in section.get("failed", defaults.failed)),
    )


def _alarm_routes(section: dict[str, Any], p: str = "") -> dict[str, tuple[str, ...]]:
    routes = {"*": tuple(section.get("recipients", ()))}
    kinds = section.get("kinds", {})
    unknown = set(kinds) - set(ALARM_KINDS)
    if unknown:
        raise ConfigError(
            f"[{p}alarms.kinds] unknown {sorted(unknown)}; known: {', '.join(ALARM_KINDS)}"
        )
    routes.update({kind: tuple(recipients) for kind, recipients in kinds.items()})
    for kind, recipients in routes.items():
        for recipient in recipients:
            try:
                parse_contact(recipient)
            except ContactError as error:
                raise ConfigError(f"[{p}alarms] {kind}: {recipient!r}: {error}") from None
    return routes


def load(path: str | Path) -> MessagesConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    try:
        return parse(data, path.parent)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
