"""`python -m registry.messages`: the clerk's and the on-call staff's view.

    python -m registry.messages alarms [--all] [--queue PATH]
    python -m registry.messages alarms ack ID [--queue PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from registry.messages.alarms import acknowledge
from registry.messages.queue import MessageQueue
from registry.messages.status import QUEUE_ENV

DEFAULT_QUEUE = os.environ.get(QUEUE_ENV, "var/messages.sqlite3")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m registry.messages")
    parser.add_argument("--queue", default=DEFAULT_QUEUE, help="messages.sqlite3 of the registry")
    sub = parser.add_subparsers(dest="command", required=True)
    alarms = sub.add_parser("alarms", help="list open alarms, or acknowledge one")
    alarms.add_argument("action", nargs="?", choices=["ack"])
    alarms.add_argument("alarm_id", nargs="?", type=int)
    alarms.add_argument("--all", action="store_true", help="also acknowledged and cleared ones")
    args = parser.parse_args(argv)
    if not Path(args.queue).exists():
        print(f"no message queue at {args.queue}: pass --queue", file=sys.stderr)
        return 1
    queue = MessageQueue(args.queue)
    try:
        if args.action == "ack":
            if args.alarm_id is None:
                parser.error("alarms ack needs the alarm's number")
            alarm = acknowledge(queue, args.alarm_id)
            if alarm is None:
                print(f"Alarm {args.alarm_id} ist nicht offen / is not open", file=sys.stderr)
                return 1
            print(f"Alarm {alarm.id} bestätigt / acknowledged")
            return 0
        listed = queue.alarms(open_only=not args.all)
        if not listed:
            print("keine offenen Alarme / no open alarms")
        for alarm in listed:
            state = "offen"
            if alarm.cleared_at:
                state = "behoben"
            elif alarm.acknowledged_at:
                state = "bestätigt"
            where = alarm.scope or alarm.order_reference
            print(f"{alarm.id:>5}  {alarm.raised_at:%Y-%m-%d %H:%M}  {state:<9}  {alarm.kind}"
                  f"  {where}  {alarm.text}")
        return 0
    finally:
        queue.close()


if __name__ == "__main__":
    sys.exit(main())
