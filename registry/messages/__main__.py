"""`python -m registry.messages`: the on-call staff's view of their alarms.

    python -m registry.messages [--db PATH|URL] alarms [--all]
    python -m registry.messages [--db PATH|URL] alarms ack ID [--comment TEXT]

The same as ``kiosk-registry alarm list | ack`` (registry/admin_cli.py): the
alarms are in the registry's database (``--db``, else $KIOSK_REGISTRY_DB,
else ./var/registry.sqlite3), and an acknowledgement is audited.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from registry import admin_cli
from registry.storage.admin import DB_ENV

DEFAULT_DB = "./var/registry.sqlite3"  # as kiosk-registry's


def main(argv: Sequence[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(prog="python -m registry.messages")
    parser.add_argument("--db", default=os.environ.get(DB_ENV, DEFAULT_DB),
                        metavar="PATH|URL", help="the registry database")
    parser.add_argument("--queue", help=argparse.SUPPRESS)  # before release 7
    sub = parser.add_subparsers(dest="command", required=True)
    alarms = sub.add_parser("alarms", help="list open alarms, or acknowledge one")
    alarms.add_argument("action", nargs="?", choices=["ack"])
    alarms.add_argument("alarm_id", nargs="?", type=int)
    alarms.add_argument("--all", action="store_true", help="also acknowledged and cleared ones")
    alarms.add_argument("--comment", default="",
                        help="what was done or found (into the audit log; needed for ack)")
    args = parser.parse_args(argv)
    if args.queue:
        print("the message queue is in the registry database now: pass --db (the database"
              " `kiosk-registry serve` uses) instead of --queue", file=sys.stderr)
        return 2
    if args.action == "ack":
        if args.alarm_id is None:
            parser.error("alarms ack needs the alarm's number")
        args.id = str(args.alarm_id)
        return admin_cli.run(admin_cli.alarm_ack, args)
    return admin_cli.run(admin_cli.alarm_list, args)


if __name__ == "__main__":
    sys.exit(main())
