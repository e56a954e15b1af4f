"""A real kiosk process for the crash tests (tests/integration/test_crash.py).

``python -m tests.integration.crash_kiosk CONFIG`` builds the kiosk exactly as
``kiosk run`` does (Kerong driver on the simulator's pty, the registry in its
own process), starts it, and then takes one JSON request a line on stdin and
answers one JSON line on stdout: the people in front of it (citizens, staff)
are played by the test through these requests. The test kills this process
with SIGKILL, either from outside or through the store's fault-injection
points (kiosk/store/faults.py), and starts a new one on the same store.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.store import faults


def summary(view) -> dict[str, Any]:
    return {
        "pickup": view.pickup_state.value,
        "pickup_detail": view.pickup_detail,
        "pickup_compartment": view.pickup_compartment,
        "staff": view.staff_state.value,
        "staff_compartment": view.staff_compartment,
        "staff_order": view.staff_order,
        "staff_error": view.staff_error_notice.code,
        "return": view.return_state.value,
        "return_compartment": view.return_compartment,
        "inspections": [[i.compartment, i.order_reference, i.uncertain] for i in view.inspections],
    }


def records(kiosk) -> dict[str, Any]:
    store = kiosk.store
    return {
        "compartments": {
            c.number: [c.state.value, c.order_reference] for c in store.compartments()
        },
        "orders": {
            o.reference: [o.status.value, o.compartment_number, o.uncertain.value]
            for o in store.orders()
        },
        "events": [
            [e[2]["event_id"], e[2]["type"], e[2]["order_reference"]]
            for e in store.journal_entries("event")
        ],
        "backlog": store.outbox_backlog(),
        "intents": [
            [i.compartment, i.purpose.value, i.order_reference] for i in store.open_intents()
        ],
    }


def main() -> int:
    settings = load_settings(sys.argv[1])
    kiosk = build_kiosk(settings)
    kiosk.start()
    core, hw = kiosk.core, kiosk.hardware
    deadline = time.monotonic() + 20
    while (
        not (kiosk.uplink.registered and kiosk.store.staff_count()) and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    print(json.dumps({"ready": kiosk.uplink.registered}), flush=True)

    def wait(condition, timeout: float = 8.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.02)
        return False

    for line in sys.stdin:
        request = json.loads(line)
        op, args = request["op"], request.get("args", [])
        result: Any = None
        if op == "arm":
            faults.arm(kill_at=args[0])
        elif op == "arm_trace":
            faults.arm(trace=args[0])
        elif op == "card":
            hw.card_reader.present_card(
                bytes.fromhex(args[0]), german_eid=args[1] if len(args) > 1 else None
            )
            hw.card_reader.remove_card()
        elif op == "scan":
            core.scan_screen(True)
            hw.code_scanner.show(args[0].encode())
        elif op == "sync":
            kiosk.uplink.request_sync()
            result = wait(lambda: all(kiosk.store.order(r) is not None for r in args))
        elif op == "synced_status":  # wait until the kiosk saw the office's change
            reference, status = args
            kiosk.uplink.request_sync()
            result = wait(
                lambda: (o := kiosk.store.order(reference)) is not None and o.status.value == status
            )
        elif op == "wait":  # until a view field has a value (doors are polled)
            key, value = args
            result = wait(lambda: summary(core.view())[key] == value)
        elif op == "door_closed":  # until the board's reading reached the kiosk
            number = args[0]
            result = wait(lambda: hw.locker_bank.door_state(number).value == "closed")
            core.view()  # and the core handled the event it caused
        elif op == "drain":
            kiosk.uplink.wake()
            result = wait(lambda: kiosk.store.outbox_backlog() == 0, timeout=15)
        elif op == "records":
            result = records(kiosk)
        elif op == "quit":
            break
        else:
            getattr(core, op)(*args)
        print(json.dumps({"view": summary(core.view()), "result": result}), flush=True)
    kiosk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
