"""`tools/run` with no arguments: the kiosk as a newcomer first meets it.

A window (not full screen, cursor shown, closable), simulated hardware, the
embedded registry, and a demo staff account whose card and PIN are printed
at start and shown in the simulator panel (F12), so whoever starts it can log
in as staff and get out again without a second terminal. The office phone
in the footer is a demo number. Everything lives under var/first-run/ and
survives a restart (the staff record is created with a fixed request id, so
a second start does not add it twice).

A real kiosk runs `kiosk run --config FILE` with ui.fullscreen = true: full
screen, borderless, no cursor, no exit without a staff login. Nothing here
changes that path.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

import grpc

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.demo import STAFF_CARD, STAFF_PIN

DATA = Path("var/first-run")
DEMO_CARD_PRESET = "staff-1"  # the card preset in hardware/boxes/demo.toml with STAFF_CARD's UID
DEMO_STAFF_ID = "demo-staff"
DEMO_CONSOLE_USER = "demo"
CONSOLE_PASSWORD_FILE = "console.password"


def demo_environment(base: Path) -> dict[str, str]:
    return {
        "PICKUPBOX_KIOSK__ID": "first-run-demo",
        "PICKUPBOX_KIOSK__DATA_DIR": str(base / "kiosk"),
        "PICKUPBOX_REGISTRY__EMBEDDED_LISTEN": "127.0.0.1:0",
        "PICKUPBOX_REGISTRY__EMBEDDED_DB": str(base / "registry.sqlite3"),
        "PICKUPBOX_REGISTRY__NOTIFY_DIR": str(base / "notifications"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "2",
        "PICKUPBOX_OFFICE__NAME": "Bürgerbüro (Demo)",
        "PICKUPBOX_OFFICE__PHONE": "0800 000 0000 (Demo)",
        "PICKUPBOX_OFFICE__OPENING_HOURS": "Mo-Fr 8-16",
        "PICKUPBOX_UI__FULLSCREEN": "false",
        # The demo box has a (simulated) help-call button, so the help page offers it.
        "PICKUPBOX_HARDWARE__HELP_CALL__DRIVER": "simulated",
    }


def demo_login_hint() -> str:
    """What the simulator panel and the start banner say about the demo login."""
    return (f"Demo staff login: card {DEMO_CARD_PRESET} (UID {STAFF_CARD}, F5 presents it), "
            f"PIN {STAFF_PIN}. Staff menu -> Exit app closes the demo; Ctrl-C in the terminal too.")


def create_demo_staff(port: int, registry_db: Path) -> None:
    """Adds the demo staff member as the office would: signed in with the admin
    credential the embedded registry wrote beside its database (no anonymous calls)."""
    from common.auth import ADMIN_CREDENTIAL_FILE, authenticated_channel, bearer, read_secret_file
    from pickupbox.registry.v1 import registry_pb2 as pb
    from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc

    admin = bearer(read_secret_file(Path(registry_db).parent / ADMIN_CREDENTIAL_FILE))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        office = pb_grpc.OfficeServiceStub(authenticated_channel(channel, admin))
        office.CreateStaffMember(pb.CreateStaffMemberRequest(
            request_id="first-run-demo-staff", staff_id=DEMO_STAFF_ID, card_uid=STAFF_CARD,
            pin=STAFF_PIN), timeout=10)


def start_demo_console(server, data: Path):
    """The office console (and HTTP API) of the embedded registry, with a demo
    supervisor account whose password is kept in DATA/console.password (0600)
    and printed at start. Returns (web server, URL, password)."""
    from registry import identity
    from registry.console import build_console
    from registry.database import DEFAULT_OFFICE
    from registry.http_api import api_routes
    from registry.permissions import Role
    from registry.web import DEFAULT_WEB_ADDRESS, WebServer, build_app

    path = data / CONSOLE_PASSWORD_FILE
    if path.exists():
        password = path.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        data.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
    with server.db.transaction() as tx:
        if tx.user_by_name(DEMO_CONSOLE_USER) is None:
            identity.create_user(tx, DEMO_CONSOLE_USER, password, DEFAULT_OFFICE,
                                 frozenset({Role.CLERK, Role.SUPERVISOR}))
    app = build_app([*api_routes(server), *build_console(server)])
    try:
        web = WebServer(app, DEFAULT_WEB_ADDRESS)
    except OSError:  # the usual port taken (another registry): any free loopback port
        web = WebServer(app, "127.0.0.1:0")
    web.start()
    return web, web.url + "/", password


def main() -> int:
    import os

    own = {k: v for k, v in os.environ.items() if k.startswith("PICKUPBOX_")}  # the caller's win
    settings = load_settings(None, environ={**demo_environment(DATA), **own})
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kiosk = build_kiosk(settings)
    kiosk.start()
    web = None
    try:
        office = ""
        if kiosk.registry is not None:  # embedded, unless the environment points elsewhere
            create_demo_staff(kiosk.registry.port, settings.registry.embedded_db)
            web, url, password = start_demo_console(kiosk.registry, DATA)
            credential = Path(settings.registry.embedded_db).parent / "admin.credential"
            office = (f"  Office console: {url} (user {DEMO_CONSOLE_USER}, password {password})\n"
                      f"  Office command: .venv/bin/kiosk-registry order list --address "
                      f"127.0.0.1:{kiosk.registry.port} --credential {credential}")
        banner = "\n".join((
            "",
            "  pickupbox demo: simulated hardware, embedded registry, data in " + str(DATA),
            "  " + demo_login_hint(),
            office,
            "  F12 shows the simulator panel (doors, card reader, camera). A real kiosk runs",
            "  `kiosk run --config FILE` (ui.fullscreen = true keeps it locked down).",
            "",
        ))
        print(banner, flush=True)
        from kiosk.ui.launch import run_app

        run_app(kiosk, windowed=True, demo_hint=demo_login_hint())
    finally:
        if web is not None:
            web.stop()
        kiosk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
