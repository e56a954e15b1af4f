"""The operator's view in `kiosk-registry`: a kiosk's events and alarms, the
compartments waiting for inspection, and where the registry is.

    kiosk-registry kiosk events KIOSK [--type DOOR_FORCED ...] [--alarms] [--json]
    kiosk-registry kiosk inspections [KIOSK] [--json]

Which registry a client command talks to, first match wins: ``--registry``
(or ``--address``), ``$KIOSK_REGISTRY_ADDRESS`` (not a PICKUPBOX_* name: the
kiosk reads every PICKUPBOX_* variable as one of its config keys), the
``[registry]`` section of a kiosk config given with ``--kiosk-config``
(its ``embedded_listen`` when ``address = "embedded"``), else 127.0.0.1:50051.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.convert import from_timestamp
from registry.events import event_type_name, open_inspections
from pickupbox.registry.v1 import registry_pb2 as pb

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV = "KIOSK_REGISTRY_ADDRESS"
EVENT_PREFIX = "EVENT_TYPE_"
EVENT_TYPES = [
    name.removeprefix(EVENT_PREFIX) for name in pb.EventType.keys()
    if not name.endswith("UNSPECIFIED")
]
ADDRESS_HELP = (
    f"registry address; default ${ADDRESS_ENV}, else the [registry] section of"
    f" --kiosk-config (embedded_listen when address = \"embedded\"), else {DEFAULT_ADDRESS}"
)


class AddressError(Exception):
    """The address cannot be worked out; printed as one line."""


def registry_address(
    given: str | None, kiosk_config: str | None, environ: os._Environ | dict[str, str]
) -> str:
    """Where the client commands connect (order of precedence: module docstring)."""
    if given:
        return given
    if environ.get(ADDRESS_ENV, "").strip():
        return environ[ADDRESS_ENV].strip()
    if kiosk_config:
        return _address_in_kiosk_config(Path(kiosk_config))
    return DEFAULT_ADDRESS


def _address_in_kiosk_config(path: Path) -> str:
    # The kiosk's own model supplies the defaults, so both sides agree on them.
    from kiosk.config import RegistrySection

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AddressError(f"--kiosk-config {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AddressError(f"--kiosk-config {path} is not a TOML file: {error}") from None
    section = raw.get("registry", {})
    if not isinstance(section, dict):
        raise AddressError(f"--kiosk-config {path}: [registry] must be a table")
    try:
        registry = RegistrySection.model_validate(section)
    except ValidationError as error:
        problems = "; ".join(
            f"registry.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise AddressError(f"--kiosk-config {path}: {problems}") from None
    if registry.address == "embedded":
        return registry.embedded_listen
    return registry.address


# ------------------------------------------------------------------ kiosks

def compartment_counts(kiosk: pb.KioskStatus) -> dict[str, int]:
    """How many compartments are in each state, e.g. {"FREE": 20, "OCCUPIED": 3}."""
    counts: dict[str, int] = {}
    for compartment in kiosk.compartments:
        state = pb.CompartmentState.Name(compartment.state).removeprefix("COMPARTMENT_STATE_")
        counts[state] = counts.get(state, 0) + 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------ events

def event_type_value(name: str) -> int:
    """`DOOR_FORCED` or `door_forced` or `EVENT_TYPE_DOOR_FORCED` -> its number."""
    key = name.strip().upper()
    if not key.startswith(EVENT_PREFIX):
        key = EVENT_PREFIX + key
    if key not in pb.EventType.keys() or key.endswith("UNSPECIFIED"):
        raise argparse.ArgumentTypeError(
            f"{name!r} is not an event type; choose from {', '.join(EVENT_TYPES)}"
        )
    return pb.EventType.Value(key)


def _text_time(ts) -> str | None:
    moment = from_timestamp(ts)
    return None if moment is None else moment.isoformat()


def event_to_dict(stored: pb.StoredKioskEvent) -> dict[str, Any]:
    event = stored.event
    return {
        "event_id": event.event_id,
        "kiosk_id": stored.kiosk_id,
        "type": event_type_name(event.type).removeprefix(EVENT_PREFIX),
        "alarm": stored.alarm,
        "occur_time": _text_time(event.occur_time),
        "receive_time": _text_time(stored.receive_time),
        "compartment_number": event.compartment_number or None,
        "order_reference": event.order_reference or None,
        "detail": event.detail,
        "staff_ids": list(event.staff_ids),
    }


def _event_line(event: dict[str, Any]) -> str:
    when = event["occur_time"] or event["receive_time"] or "-"
    where = f"compartment {event['compartment_number']}" if event["compartment_number"] else "-"
    parts = [f"{when:<32}", f"{'ALARM' if event['alarm'] else '':<5}", f"{event['type']:<28}",
             f"{where:<15}", f"{event['order_reference'] or '-':<16}", event["detail"]]
    if event["staff_ids"]:
        parts.append(f"(staff {', '.join(event['staff_ids'])})")
    return " ".join(parts).rstrip()


def fetch_events(client, kiosk_id: str, types: list[int], alarms_only: bool
                 ) -> Iterator[pb.StoredKioskEvent]:
    """Every matching event, following the pages."""
    token = ""
    while True:
        page = client.call(
            client.office.ListKioskEvents,
            pb.ListKioskEventsRequest(
                kiosk_id=kiosk_id, types=types, alarms_only=alarms_only, page_token=token
            ),
        )
        yield from page.events
        token = page.next_page_token
        if not token:
            return


def kiosk_events(client, args: argparse.Namespace) -> int:
    from registry.cli import _print_json

    events = [event_to_dict(e) for e in
              fetch_events(client, args.kiosk_id, args.types or [], args.alarms)]
    if args.json:
        _print_json(events)
        return 0
    if not events:
        print(f"no {'alarms' if args.alarms else 'events'} from kiosk {args.kiosk_id}")
    for event in events:
        print(_event_line(event))
    return 0


def inspections_of(client, kiosk_id: str) -> list[dict[str, Any]]:
    stored = list(fetch_events(
        client, kiosk_id,
        [pb.EVENT_TYPE_COMPARTMENT_NEEDS_INSPECTION, pb.EVENT_TYPE_INSPECTION_RESOLVED], False,
    ))
    receive_times = {s.event.event_id: s.receive_time for s in stored}
    waiting = open_inspections([s.event for s in stored])
    return [
        {
            "kiosk_id": kiosk_id,
            "compartment_number": number,
            "order_reference": event.order_reference or None,
            "since": _text_time(event.occur_time) or _text_time(receive_times[event.event_id]),
            "reason": event.detail,
        }
        for number, event in sorted(waiting.items())
    ]


def kiosk_inspections(client, args: argparse.Namespace) -> int:
    from registry.cli import _print_json

    if args.kiosk_id:
        kiosks = [args.kiosk_id]
    else:
        listed = client.call(client.office.ListKiosks, pb.ListKiosksRequest())
        kiosks = [k.kiosk_id for k in listed.kiosks]
    waiting = [item for kiosk_id in kiosks for item in inspections_of(client, kiosk_id)]
    if args.json:
        _print_json(waiting)
        return 0
    if not waiting:
        print("no compartment needs inspection")
    for item in waiting:
        print(
            f"{item['kiosk_id']:<16} compartment {item['compartment_number']:<4}"
            f" {item['order_reference'] or '-':<16} since {item['since'] or '-'}"
            f"  {item['reason'] or '(no reason given)'}"
        )
    return 0


def add_parsers(kiosk_commands, client_parser) -> None:
    events = client_parser(kiosk_commands, "events",
                           help="a kiosk's reported events and alarms, oldest first")
    events.add_argument("kiosk_id", metavar="KIOSK")
    events.add_argument("--type", dest="types", action="append", type=event_type_value,
                        metavar="TYPE", help="only this type, e.g. DOOR_FORCED (repeatable)")
    events.add_argument("--alarms", action="store_true", help="only alarms")
    events.add_argument("--json", action="store_true")
    events.set_defaults(handler=kiosk_events)
    inspections = client_parser(
        kiosk_commands, "inspections",
        help="compartments waiting for staff to inspect them (all kiosks if none is named)",
    )
    inspections.add_argument("kiosk_id", metavar="KIOSK", nargs="?")
    inspections.add_argument("--json", action="store_true")
    inspections.set_defaults(handler=kiosk_inspections)
