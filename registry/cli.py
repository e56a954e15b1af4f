"""`kiosk-registry`: run the reference registry and administer it.

    kiosk-registry serve [--db PATH|URL] [--listen HOST:PORT] ...
    kiosk-registry db check | upgrade [--db PATH|URL]
    kiosk-registry order create --kind id_card
    kiosk-registry order list | get REF | cancel REF
    kiosk-registry kiosk list [--json [--no-compartments]] | command KIOSK open 12
    kiosk-registry kiosk events KIOSK [--type TYPE ...] [--alarms] [--json]
    kiosk-registry kiosk inspections [KIOSK] [--json]
    kiosk-registry staff add ID --card-uid HEX | list | deactivate ID
    kiosk-registry order reissue REF
    kiosk-registry user add NAME --roles clerk --office O | list | revoke NAME
    kiosk-registry apikey create NAME --roles integration --office O | list | revoke ID
    kiosk-registry office add ID | list
    kiosk-registry kiosk enrol KIOSK [--office O] [--certificate-name CN] [--output DIR]
    kiosk-registry audit verify | export [--order REF] [--staff ID] [--since T]
    kiosk-registry alarm list [--all] | ack ID --comment TEXT
    kiosk-registry purge [--record-days 90] [--contact-grace-days 0]

Client commands talk to a running registry (``--registry``/``--address``,
else $KIOSK_REGISTRY_ADDRESS, else the kiosk config named by
``--kiosk-config``, else 127.0.0.1:50051: see registry/ops_cli.py) and
authenticate with, in this
order: ``--user`` (password from PICKUPBOX_PASSWORD or a prompt), an API key
in PICKUPBOX_API_KEY, ``--credential FILE`` (or PICKUPBOX_CREDENTIAL), or
the local admin credential the registry created beside its database
(./var/admin.credential). Local commands (user, apikey, office, kiosk enrol,
audit, alarm) open the database (``--db``) on the registry's machine. Exit status:
0 success, 1 error, 2 usage error, 3 audit log broken.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from kiosk.domain.pickup_order import DocumentKind, OrderStatus
from common.convert import (
    document_kind_from_proto,
    document_kind_to_proto,
    from_timestamp,
    order_status_from_proto,
    order_status_to_proto,
    size_from_proto,
)
from common.auth import (
    ADMIN_CREDENTIAL_FILE,
    CredentialFileError,
    authenticated_channel,
    basic,
    bearer,
    read_secret_file,
)
from registry import admin_cli, ops_cli, permissions
from registry.errors import error_reason
from registry.storage import StorageError
from registry.storage import admin as storage_admin
from registry.notifier import DEFAULT_NOTIFIER, load_notifier, save_qr_png
from registry.messages.status import message_to_dict, summary as message_summary
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc

DEFAULT_ADDRESS = ops_cli.DEFAULT_ADDRESS
DEFAULT_DB = "./var/registry.sqlite3"
DEFAULT_NOTIFY_DIR = "./var/notifications"
# Where a registry on this machine leaves its first admin credential: the
# embedded/tools/run one, and the one deploy/pickupbox-registry.service runs.
LOCAL_ADMIN_CREDENTIALS = (
    Path(DEFAULT_DB).parent / ADMIN_CREDENTIAL_FILE,
    Path("/var/lib/pickupbox-registry") / ADMIN_CREDENTIAL_FILE,
)
CALL_TIMEOUT_SECONDS = 10.0

COMMANDS = {
    "open": pb.COMMAND_TYPE_OPEN_COMPARTMENT,
    "out-of-service": pb.COMMAND_TYPE_SET_OUT_OF_SERVICE,
    "in-service": pb.COMMAND_TYPE_SET_IN_SERVICE,
    "resync": pb.COMMAND_TYPE_RESYNC,
}
SIZES = {"S": pb.COMPARTMENT_SIZE_S, "M": pb.COMPARTMENT_SIZE_M, "L": pb.COMPARTMENT_SIZE_L}


class CliError(Exception):
    """An error for the person at the terminal; printed as one line."""


# ------------------------------------------------------------------- server

def _serve(args: argparse.Namespace) -> int:
    from common.credentials import KdfParams
    from registry.server import create_server

    kdf_params = None
    if args.kdf_n is not None:
        if args.kdf_n < 2 or args.kdf_n & (args.kdf_n - 1):
            raise CliError(f"--kdf-n must be a power of two of at least 2, not {args.kdf_n}")
        kdf_params = KdfParams(n=args.kdf_n)
    from common.logsetup import setup_logging
    from common.metrics_http import parse_listen

    setup_logging(logging.INFO)  # fleetops: one structured line per record
    try:  # fleetops: a bad metrics address stops us before anything starts
        parse_listen(args.metrics_listen)
    except ValueError as error:
        raise CliError(f"--metrics-listen: {error}") from None
    if args.messages_config:  # messages hook: read by registry.messages.notifier
        os.environ["PICKUPBOX_MESSAGES_CONFIG"] = args.messages_config
    try:
        notifier = load_notifier(args.notifier, directory=Path(args.notify_dir))
    except LookupError as error:
        raise CliError(str(error)) from None
    kwargs: dict[str, Any] = {}
    if args.office_contact:
        kwargs["office_contact"] = args.office_contact
    if args.tls_cert or args.tls_key or args.tls_client_ca:
        from common.tls import TlsConfigError, server_credentials

        if not (args.tls_cert and args.tls_key):
            raise CliError("TLS needs both --tls-cert and --tls-key")
        try:
            kwargs["server_credentials"] = server_credentials(args.tls_cert, args.tls_key, args.tls_client_ca)
        except TlsConfigError as error:
            raise CliError(str(error)) from None
    try:
        retention = admin_cli.retention_policy(args)
    except admin_cli.AdminError as error:
        raise CliError(str(error)) from None
    if args.state_dir:
        kwargs["state_dir"] = args.state_dir
    # storage: an unreachable database or a schema that does not fit stops
    # us here, in one line, before anything listens.
    storage_admin.preflight(args.db)
    try:
        server = create_server(
            args.listen, args.db, notifier=notifier, kdf_params=kdf_params, retention=retention,
            **kwargs,
        )
    except OSError as error:
        raise CliError(str(error)) from None
    server.notifier_for_web = notifier  # as built here, before metrics wrapped it

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    # console: the office web console (and the HTTP API) on one port, up
    # before systemd hears READY, so "ready" means every front door is.
    try:
        web = _start_web(server, args)
    except (OSError, ValueError, CliError) as error:
        server.stop(grace=0)
        raise CliError(str(error)) from None
    try:  # fleetops: /metrics and systemd READY/WATCHDOG/STOPPING
        from registry.metrics import Operations

        operations = Operations(server, args.listen, args.metrics_listen, tls_cert=args.tls_cert)
    except (OSError, ValueError) as error:
        if web is not None:
            web.stop()
        server.stop(grace=0)
        raise CliError(str(error)) from None
    host = args.listen.rsplit(":", 1)[0]
    logging.getLogger("registry").info(
        "registry listening on %s:%d (database %s)", host, server.port, server.db.location.display
    )
    settle_heap()
    # Event.wait with a timeout keeps the main thread responsive to signals.
    while not stop.wait(1.0):
        pass
    logging.getLogger("registry").info("stopping")
    if web is not None:
        web.stop()
    operations.stop()
    server.stop(grace=5)
    return 0


def settle_heap() -> None:
    """Puts what the start built out of the cyclic garbage collector's reach.

    Modules, protobuf descriptors, routes and servicers (about 120,000 objects)
    live as long as the process, yet every full collection walked them all:
    35-160 ms pauses, every few requests, on the console's page of 1,000
    orders (tests/benchmarks/bench_console.py), 2 ms once frozen. Objects made
    later are collected as before."""
    gc.collect()
    gc.freeze()


def _start_web(server, args: argparse.Namespace):
    """The web front door at --web-address, or None when it is "off"."""
    if args.web_address == "off":
        return None
    from registry.console import build_console
    from registry.web import DEFAULT_WEB_ADDRESS, WebServer, build_app, split_address

    address = args.web_address or DEFAULT_WEB_ADDRESS
    host, _port = split_address(address)
    if not args.tls_cert and not (host.startswith("127.") or host in ("::1", "localhost")):
        raise CliError(
            f"--web-address {address}: the console carries passwords; serve it over"
            f" TLS (--tls-cert/--tls-key) or on loopback (e.g. {DEFAULT_WEB_ADDRESS})"
        )
    from registry.console.letter import LetterSettings

    from registry.http_api import api_routes
    from registry.reports import DEFAULT_OPENING_HOURS, DEFAULT_TIMEZONE, OpeningHours, ReportConfig

    letter = LetterSettings.load(args.console_letter) if args.console_letter else None
    try:
        reports = ReportConfig(timezone=args.timezone or DEFAULT_TIMEZONE, opening_hours=(
            OpeningHours.parse(args.opening_hours or DEFAULT_OPENING_HOURS)))
        reports.zone  # noqa: B018 - an unknown zone fails here, before anything listens
    except ValueError as error:
        raise CliError(f"--opening-hours/--timezone: {error}") from None
    oidc = []
    if args.oidc_config:
        from registry.oidc import OidcProvider, load_configs

        try:
            oidc = [OidcProvider(server.db, config) for config in load_configs(args.oidc_config)]
        except (OSError, ValueError) as error:  # tomllib's errors are ValueErrors
            raise CliError(f"--oidc-config {args.oidc_config}: {error}") from None
    # One port, three parts: the HTTP/JSON API first (its mount answers every
    # path below /api/v1), the notifiers' endpoints (SMS delivery reports),
    # then the console at /.
    routes = [
        *api_routes(server, report_config=reports),
        *_notifier_routes(server.notifier_for_web),
        *build_console(server, idle_minutes=args.console_idle_minutes, letter=letter,
                       report_config=reports, oidc=oidc),
    ]
    try:
        web = WebServer(build_app(routes), address,
                        ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    except OSError as error:
        if args.web_address:  # asked for: fail loudly
            raise
        # The default port taken (a second registry on this machine, e.g. in
        # tests): the registry itself still serves; say how to get a console.
        logging.getLogger("registry").warning(
            "%s; the office console is not started: pass --web-address HOST:PORT (or off)", error)
        return None
    web.start()
    logging.getLogger("registry").info("office console on %s/", web.url)
    return web


def _notifier_routes(notifier) -> list:
    """Web endpoints a notifier (or each one of a fan-out) brings, e.g. SMS delivery reports."""
    routes = []
    for member in getattr(notifier, "notifiers", [notifier]):
        web_routes = getattr(type(member), "web_routes", None)
        if web_routes is not None:
            routes.extend(web_routes(member))
    return routes


# ------------------------------------------------------------------ clients

class Client:
    """The stubs plus the error translation every client command needs."""

    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None,
                 metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self.address = address
        if credentials is None:
            self._channel = grpc.insecure_channel(address)
        else:
            self._channel = grpc.secure_channel(address, credentials)
        channel = authenticated_channel(self._channel, metadata) if metadata else self._channel
        self.office = registry_pb2_grpc.OfficeServiceStub(channel)

    def call(self, method: Callable, request) -> Any:
        try:
            return method(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CliError(
                    f"cannot reach the registry at {self.address}:"
                    " is `kiosk-registry serve` running?"
                ) from None
            details = error.details()  # type: ignore[attr-defined]
            if code is grpc.StatusCode.UNAUTHENTICATED and (
                    error_reason(error) == permissions.PASSWORD_CHANGE_REQUIRED):
                raise CliError(f"not signed in: {details}") from None  # the right user
            if code is grpc.StatusCode.UNAUTHENTICATED:
                raise CliError(
                    f"not signed in: {details}. Use --user NAME, PICKUPBOX_API_KEY or"
                    " --credential FILE"
                ) from None
            raise CliError(details or code.name.lower()) from None

    def close(self) -> None:
        self._channel.close()


def _caller_metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The credential this command presents (see the module docstring)."""
    if args.user:
        password = os.environ.get("PICKUPBOX_PASSWORD") or getpass.getpass(
            f"Password for {args.user}: "
        )
        return basic(args.user, password)
    if os.environ.get("PICKUPBOX_API_KEY"):
        return bearer(os.environ["PICKUPBOX_API_KEY"].strip())
    path = args.credential or os.environ.get("PICKUPBOX_CREDENTIAL")
    if path is None:
        found = [p for p in LOCAL_ADMIN_CREDENTIALS if p.exists()]
        if not found:
            return ()  # the registry will say what is missing
        path = found[0]
    try:
        return bearer(read_secret_file(Path(path)))
    except CredentialFileError as error:
        raise CliError(str(error)) from None


def _client_credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    if not (args.tls_ca or args.tls_cert or args.tls_key):
        return None
    from common.tls import TlsConfigError, channel_credentials

    if not args.tls_ca:
        raise CliError("TLS needs --tls-ca (the CA that signed the registry's certificate)")
    try:
        return channel_credentials(args.tls_ca, args.tls_cert, args.tls_key)
    except TlsConfigError as error:
        raise CliError(str(error)) from None


def _timestamp_text(ts) -> str | None:
    moment = from_timestamp(ts)
    return None if moment is None else moment.isoformat()


def order_to_dict(order: pb.PickupOrder) -> dict[str, Any]:
    """Plain JSON-friendly view using the domain's names (e.g. "id_card")."""
    return {
        "reference": order.reference,
        "kind": document_kind_from_proto(order.kind).value,
        "status": order_status_from_proto(order.status).value,
        "size": size_from_proto(order.size).value,
        "needs_low_compartment": order.needs_low_compartment,
        "requires_pin_letter_confirmation": order.requires_pin_letter_confirmation,
        "kiosk_id": order.kiosk_id,
        "compartment_number": order.compartment_number or None,
        "create_time": _timestamp_text(order.create_time),
        "deposit_time": _timestamp_text(order.deposit_time),
        "pickup_deadline": _timestamp_text(order.pickup_deadline),
        "collect_time": _timestamp_text(order.collect_time),
        "old_document_return_time": _timestamp_text(order.old_document_return_time),
        "locked": order.locked,
    }


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _order_line(order: dict[str, Any]) -> str:
    where = f"compartment {order['compartment_number']}" if order["compartment_number"] else "-"
    locked = "  LOCKED" if order["locked"] else ""
    return (
        f"{order['reference']:<16} {order['status']:<10} {order['kind']:<17}"
        f" {order['size']}  {order['kiosk_id']:<12} {where}{locked}"
    )


def _order_create(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.CreatePickupOrder,
        pb.CreatePickupOrderRequest(
            request_id=str(uuid.uuid4()),
            reference=args.reference or "",
            kind=document_kind_to_proto(DocumentKind(args.kind)),
            size=SIZES[args.size],
            needs_low_compartment=args.low,
            kiosk_id=args.kiosk or "",
            pin=args.pin or "",
            contact=args.contact or "",
        ),
    )
    return _show_secret(response, Path(args.qr_png) if args.qr_png else None, args.json)


def _show_secret(response, qr_path: Path | None, as_json: bool) -> int:
    """Prints a new code (and PIN) with its QR image; the registry shows them only once."""
    reference = response.order.reference
    qr_path = qr_path or Path(f"{reference}-qr.png")
    # The registry hands out the code only once, so print it even when the
    # image cannot be written.
    try:
        save_qr_png(response.qr_payload, qr_path)
        qr_error = None
    except OSError as error:
        qr_error = f"could not write the QR image {qr_path}: {error.strerror or error}"
    if as_json:
        _print_json(
            {
                "order": order_to_dict(response.order),
                "pickup_code": response.pickup_code,
                "qr_payload": response.qr_payload,
                "pin": response.pin or None,
                "qr_png": None if qr_error else str(qr_path),
            }
        )
    else:
        print(f"order       {reference} for kiosk {response.order.kiosk_id}")
        print(f"pickup code {response.pickup_code}")
        print(f"QR payload  {response.qr_payload}")
        if response.pin:
            print(f"PIN         {response.pin}  (generated; shown only now)")
        if not qr_error:
            print(f"QR image    {qr_path}")
    if qr_error:
        raise CliError(f"{qr_error} (the order and the code above are valid)")
    return 0


def _order_reissue(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.ReissuePickupCode,
        pb.ReissuePickupCodeRequest(
            request_id=str(uuid.uuid4()), reference=args.reference, reason=args.reason,
            pin=args.pin or "",
        ),
    )
    print("the old code and PIN no longer work", file=sys.stderr)
    return _show_secret(response, None, args.json)


def _order_list(client: Client, args: argparse.Namespace) -> int:
    statuses = [order_status_to_proto(OrderStatus(s)) for s in args.status or []]
    orders: list[dict[str, Any]] = []
    token = ""
    while True:
        response = client.call(
            client.office.ListPickupOrders,
            pb.ListPickupOrdersRequest(
                statuses=statuses, kiosk_id=args.kiosk or "", page_size=500, page_token=token
            ),
        )
        orders.extend(order_to_dict(o) for o in response.orders)
        token = response.next_page_token
        if not token:
            break
    if args.json:
        _print_json(orders)
    elif not orders:
        print("no orders")
    else:
        for order in orders:
            print(_order_line(order))
    return 0


def _order_get(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.GetPickupOrder, pb.GetPickupOrderRequest(reference=args.reference)
    )
    order = order_to_dict(response.order)
    listed = client.call(  # messages hook: the delivery status
        client.office.ListOrderMessages, pb.ListOrderMessagesRequest(reference=args.reference)
    )
    if args.json:
        if listed.messages_enabled:
            order["messages"] = [message_to_dict(m) for m in listed.messages]
        _print_json(order)
    else:
        for key, value in order.items():
            if value is not None:
                print(f"{key:<33} {value}")
        for message in listed.messages:
            print(f"{'message':<33} {message_summary(message)}")
    return 0


def _order_cancel(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.CancelPickupOrder,
        pb.CancelPickupOrderRequest(
            request_id=str(uuid.uuid4()), reference=args.reference, reason=args.reason or ""
        ),
    )
    order = response.order
    note = ""
    if order.compartment_number:
        note = (
            f"; the document is still in compartment {order.compartment_number}"
            " and must be removed"
        )
    print(f"order {order.reference} cancelled{note}")
    return 0


def _kiosk_list(client: Client, args: argparse.Namespace) -> int:
    response = client.call(client.office.ListKiosks, pb.ListKiosksRequest())
    if args.json:
        kiosks = []
        for kiosk in response.kiosks:
            shown = json_format.MessageToDict(kiosk, preserving_proto_field_name=True)
            if args.no_compartments:
                shown.pop("compartments", None)
                shown["compartment_states"] = ops_cli.compartment_counts(kiosk)
            kiosks.append(shown)
        _print_json(kiosks)
        return 0
    if not response.kiosks:
        print("no kiosks registered")
    for kiosk in response.kiosks:
        state = "online" if kiosk.online else "OFFLINE"
        seen = _timestamp_text(kiosk.last_seen_time) or "never"
        print(
            f"{kiosk.kiosk_id:<16} {state:<8} last seen {seen}  compartments:"
            f" {kiosk.compartments_occupied} occupied, {kiosk.compartments_free} free,"
            f" {kiosk.compartments_out_of_service} out of service, {kiosk.compartments_total} total"
            f"  outbox {kiosk.outbox_backlog}"
        )
        for device in kiosk.devices:
            if device.status != pb.DEVICE_STATUS_OK:
                status = pb.DeviceStatus.Name(device.status).removeprefix("DEVICE_STATUS_")
                print(f"    {device.device}: {status} {device.detail}")
    return 0


def _kiosk_command(client: Client, args: argparse.Namespace) -> int:
    command_type = COMMANDS[args.command]
    if command_type != pb.COMMAND_TYPE_RESYNC and not args.compartment:
        raise CliError(f"`{args.command}` needs a compartment number, e.g. `{args.command} 12`")
    response = client.call(
        client.office.SendKioskCommand,
        pb.SendKioskCommandRequest(
            request_id=str(uuid.uuid4()),
            kiosk_id=args.kiosk_id,
            command=pb.RemoteCommand(
                type=command_type,
                compartment_number=args.compartment or 0,
                reason=args.reason or "",
                requested_by=f"kiosk-registry cli ({getpass.getuser()})",
            ),
        ),
    )
    print(f"command {response.command_id} queued for kiosk {args.kiosk_id}")
    return 0


def _read_pin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("staff PIN (6 digits): ")
    return sys.stdin.readline().strip()


def _staff_add(client: Client, args: argparse.Namespace) -> int:
    pin = args.pin if args.pin is not None else _read_pin()
    response = client.call(
        client.office.CreateStaffMember,
        pb.CreateStaffMemberRequest(
            request_id=str(uuid.uuid4()), staff_id=args.staff_id, card_uid=args.card_uid, pin=pin
        ),
    )
    print(f"staff member {response.staff_member.staff_id} created")
    return 0


def _staff_list(client: Client, args: argparse.Namespace) -> int:
    response = client.call(client.office.ListStaffMembers, pb.ListStaffMembersRequest())
    members = [
        {
            "staff_id": m.staff_id,
            "active": m.active,
            "create_time": _timestamp_text(m.create_time),
        }
        for m in response.staff_members
    ]
    if args.json:
        _print_json(members)
    elif not members:
        print("no staff members")
    else:
        for m in members:
            state = "active" if m["active"] else "deactivated"
            print(f"{m['staff_id']:<20} {state:<12} {m['create_time']}")
    return 0


def _order_returned(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.MarkReturnedToCounter,
        pb.MarkReturnedToCounterRequest(
            request_id=str(uuid.uuid4()), reference=args.reference, reason=args.reason),
    )
    print(f"order {response.order.reference} returned to the counter; its code no longer works")
    return 0


def _order_remind(client: Client, args: argparse.Namespace) -> int:
    response = client.call(
        client.office.ResendPickupReminder,
        pb.ResendPickupReminderRequest(request_id=str(uuid.uuid4()), reference=args.reference),
    )
    print(f"the reminder of order {response.order.reference} goes out again"
          f" by {response.channel}")
    return 0


def _staff_unlock(client: Client, args: argparse.Namespace) -> int:
    client.call(
        client.office.UnlockStaffCard,
        pb.UnlockStaffCardRequest(request_id=str(uuid.uuid4()), staff_id=args.staff_id,
                                  reason=args.reason),
    )
    print(f"card of {args.staff_id} unlocked; the kiosks lift the lock at their next sync")
    return 0


def _staff_deactivate(client: Client, args: argparse.Namespace) -> int:
    client.call(
        client.office.DeactivateStaffMember,
        pb.DeactivateStaffMemberRequest(request_id=str(uuid.uuid4()), staff_id=args.staff_id),
    )
    print(f"staff member {args.staff_id} deactivated")
    return 0


# ------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-registry", description="The reference registry of the pickup box."
    )
    commands = parser.add_subparsers(dest="area", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the registry server")
    serve.add_argument(
        "--db", default=os.environ.get(storage_admin.DB_ENV, DEFAULT_DB), metavar="PATH|URL",
        help=f"SQLite path, sqlite:///PATH or postgresql://USER@HOST/DB (default "
        f"${storage_admin.DB_ENV} or {DEFAULT_DB}; a password is better in PGPASSWORD"
        " or ~/.pgpass)",
    )
    serve.add_argument(
        "--state-dir", metavar="DIR",
        help="the registry's files (audit key, admin credential) for a PostgreSQL database"
        " (default $KIOSK_REGISTRY_STATE_DIR or ./var; SQLite: the file's folder)",
    )
    serve.add_argument(
        "--listen", default=DEFAULT_ADDRESS, metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_ADDRESS}; port 0 picks a free one)",
    )
    serve.add_argument(
        "--notify-dir", default=DEFAULT_NOTIFY_DIR, metavar="DIR",
        help=f"where the directory notifier writes notices (default {DEFAULT_NOTIFY_DIR})",
    )
    serve.add_argument(
        "--notifier", default=DEFAULT_NOTIFIER,
        help="notifier(s) from the pickupbox.notifier entry points, comma-separated,"
        " e.g. directory,messages (default: directory)",
    )
    serve.add_argument(
        "--messages-config", metavar="FILE",
        help="messages.toml for the messages notifier (or $PICKUPBOX_MESSAGES_CONFIG)",
    )
    serve.add_argument(
        "--office-contact", metavar="TEXT",
        help="how citizens reach the office, printed in every notice",
    )
    serve.add_argument(
        "--kdf-n", type=int, metavar="N",
        help="scrypt cost for a NEW database (default 16384); lower values are for tests only",
    )
    serve.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate (PEM)")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--tls-client-ca", metavar="FILE",
        help="require client certificates signed by this CA (mTLS for kiosks)",
    )
    serve.add_argument(
        "--metrics-listen", metavar="HOST:PORT|off", default="127.0.0.1:9465",
        help="Prometheus /metrics address (default 127.0.0.1:9465; 'off' disables it)",
    )
    serve.add_argument(
        "--web-address", metavar="HOST:PORT|off", default=None,
        help="the office web console (default 127.0.0.1:8480; 'off' disables it;"
             " other than loopback only with --tls-cert/--tls-key)",
    )
    serve.add_argument(
        "--console-idle-minutes", metavar="MINUTES", type=float, default=15.0,
        help="sign console users out after this long without activity (default 15)",
    )
    serve.add_argument(
        "--console-letter", metavar="FILE",
        help="TOML with the office's letterhead and each box's address and opening hours"
             " for the pickup letter (see registry/console/letter.py)",
    )
    serve.add_argument(
        "--oidc-config", metavar="FILE",
        help="TOML with [[oidc]] tables (issuer, client_id, client_secret, redirect_uri ="
             " https://CONSOLE/signin/oidc/callback, ...): single sign-on for the console"
             " (see registry/oidc.py)",
    )
    serve.add_argument(
        "--opening-hours", metavar="HOURS",
        help="the counter's opening hours for the reports' 'collected outside opening hours',"
             ' e.g. "mon-fri 08:00-12:00; tue,thu 14:00-18:00" (the default)',
    )
    serve.add_argument(
        "--timezone", metavar="ZONE", help="the offices' time zone for reports (default Europe/Berlin)",
    )
    admin_cli.add_retention_options(serve)
    serve.set_defaults(handler=_serve, client=False)

    def client_parser(sub, name: str, **kwargs) -> argparse.ArgumentParser:
        p = sub.add_parser(name, **kwargs)
        p.add_argument("--registry", "--address", metavar="HOST:PORT",
                       help=ops_cli.ADDRESS_HELP)
        p.add_argument("--kiosk-config", metavar="FILE",
                       help="a kiosk's config file; its [registry] section gives the address")
        p.add_argument("--tls-ca", metavar="FILE", help="use TLS, trusting this CA (PEM)")
        p.add_argument("--tls-cert", metavar="FILE", help="client certificate for mTLS (PEM)")
        p.add_argument("--tls-key", metavar="FILE", help="key of the client certificate (PEM)")
        p.add_argument("--user", metavar="NAME", help="sign in as this local user")
        p.add_argument("--credential", metavar="FILE",
                       help="API key file (default $PICKUPBOX_CREDENTIAL or ./var/admin.credential)")
        p.set_defaults(client=True)
        return p

    order = commands.add_parser("order", help="pickup orders").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = client_parser(order, "create", help="announce a document for pickup")
    create.add_argument("--kind", required=True, choices=[k.value for k in DocumentKind])
    create.add_argument("--reference", help="the office's booking reference (generated if omitted)")
    create.add_argument("--size", default="S", choices=list(SIZES))
    create.add_argument(
        "--low", action="store_true", help="needs a compartment reachable from a wheelchair"
    )
    create.add_argument("--kiosk", metavar="ID", help="kiosk (default: the only registered one)")
    create.add_argument("--pin", help="the 6-digit PIN the citizen chose (generated if omitted)")
    create.add_argument("--contact", metavar="TEXT", help="where the ready-for-pickup notice goes")
    create.add_argument(
        "--qr-png", metavar="PATH", help="QR image file (default ./<reference>-qr.png)"
    )
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.set_defaults(handler=_order_create)

    listing = client_parser(order, "list", help="list orders")
    listing.add_argument("--status", action="append", choices=[s.value for s in OrderStatus],
                         help="only this status (repeatable)")
    listing.add_argument("--kiosk", metavar="ID", help="only orders of this kiosk")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_order_list)

    get = client_parser(order, "get", help="show one order")
    get.add_argument("reference")
    get.add_argument("--json", action="store_true")
    get.set_defaults(handler=_order_get)

    cancel = client_parser(order, "cancel", help="cancel an announced or deposited order")
    cancel.add_argument("reference")
    cancel.add_argument("--reason", default="")
    cancel.set_defaults(handler=_order_cancel)

    reissue = client_parser(order, "reissue", help="new code and PIN; the old ones stop working")
    reissue.add_argument("reference")
    reissue.add_argument("--reason", default="")
    reissue.add_argument("--pin", help="the citizen's new 6-digit PIN (generated if omitted)")
    reissue.add_argument("--json", action="store_true")
    reissue.set_defaults(handler=_order_reissue)

    returned = client_parser(order, "returned", help="the citizen gets the document at the"
                             " counter: end the order (not while it is in the box)")
    returned.add_argument("reference")
    returned.add_argument("--reason", default="")
    returned.set_defaults(handler=_order_returned)

    remind = client_parser(order, "remind", help="send the pickup reminder of a document in"
                           " the box again")
    remind.add_argument("reference")
    remind.set_defaults(handler=_order_remind)

    kiosk = commands.add_parser("kiosk", help="kiosks").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    kiosk_list = client_parser(kiosk, "list", help="status of every registered kiosk")
    kiosk_list.add_argument("--json", action="store_true")
    kiosk_list.add_argument(
        "--no-compartments", action="store_true",
        help="with --json: compartment counts by state instead of every compartment",
    )
    kiosk_list.set_defaults(handler=_kiosk_list)
    command = client_parser(kiosk, "command", help="send a remote command to a kiosk")
    command.add_argument("kiosk_id", metavar="KIOSK")
    command.add_argument("command", choices=list(COMMANDS))
    command.add_argument("compartment", nargs="?", type=int, metavar="N",
                         help="compartment number (not for resync)")
    command.add_argument("--reason", default="")
    command.set_defaults(handler=_kiosk_command)
    admin_cli.add_kiosk_enrol(kiosk, DEFAULT_DB)
    ops_cli.add_parsers(kiosk, client_parser)

    staff = commands.add_parser("staff", help="staff members").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    add = client_parser(staff, "add", help="register a staff card and PIN")
    add.add_argument("staff_id")
    add.add_argument(
        "--card-uid", required=True, metavar="HEX", help="card UID, e.g. 04A1B2C3D4E5F6"
    )
    add.add_argument(
        "--pin", help="6-digit PIN (read from stdin if omitted: keeps it out of shell history)"
    )
    add.set_defaults(handler=_staff_add)
    staff_list = client_parser(staff, "list", help="list staff members")
    staff_list.add_argument("--json", action="store_true")
    staff_list.set_defaults(handler=_staff_list)
    deactivate = client_parser(staff, "deactivate", help="stop a staff card from working")
    deactivate.add_argument("staff_id")
    deactivate.set_defaults(handler=_staff_deactivate)
    unlock = client_parser(staff, "unlock", help="unlock a card the kiosks locked after wrong"
                           " PINs (the PIN stays)")
    unlock.add_argument("staff_id")
    unlock.add_argument("--reason", default="")
    unlock.set_defaults(handler=_staff_unlock)
    admin_cli.add_parsers(commands, DEFAULT_DB, DEFAULT_NOTIFY_DIR)
    storage_admin.add_parsers(commands, DEFAULT_DB)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not args.client:
            return args.handler(args)
        address = ops_cli.registry_address(args.registry, args.kiosk_config, os.environ)
        client = Client(address, _client_credentials(args), _caller_metadata(args))
        try:
            return args.handler(client, args)
        finally:
            client.close()
    except (CliError, admin_cli.AdminError, ops_cli.AddressError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. the QR file cannot be written
        print(f"error: {error}", file=sys.stderr)
        return 1
