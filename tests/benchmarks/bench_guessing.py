"""Guesses per hour an attacker gets at one kiosk, with and without a restart every minute.

The real core (inline) with its SQLite store on disk, wired as `kiosk run`
wires it (kiosk.app.add_guards: persisted throttles, staff card locks). The
attacker enters a made-up pickup code every 5 s; when the kiosk says
"wait N s" they wait exactly that long and go on. A restart (power cycle,
or kill) closes the store and builds a new core over the same file, as a
restarted kiosk process would; the restart itself is taken to cost no time.
Time is simulated (trusted time), so an hour runs in about a second.

Counted: codes the kiosk looked up (a guess that could have hit), per hour.
Variants: the persisted throttle without restarts, with a restart every
minute, and, for comparison, the old in-memory throttle with a restart
every minute. Then the same for staff PINs at one card: PIN checks per
hour until the card locks (`kiosk.staff_card_max_pin_attempts`).

    .venv/bin/python -m tests.benchmarks.bench_guessing [--minutes 60]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import credentials
from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.app import add_guards
from kiosk.config import load_settings
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from kiosk.domain.pickup_session import PickupState
from kiosk.domain.staff import StaffRecord
from kiosk.store import KioskStore
from kiosk.store.guard_tables import GuardTables
from tests.benchmarks.common import write_result

PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"bench-guessing"
CARD = "04A1B2C3D4E5F6"
TYPING = timedelta(seconds=5)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 22, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Kiosk:
    def __init__(self, path: Path, clock: Clock, persisted: bool):
        self.path, self.clock, self.persisted = path, clock, persisted
        self.store: KioskStore | None = None
        self.restarts = -1
        self.restart()

    def restart(self) -> None:
        if self.store is not None:
            self.store.close()
        self.restarts += 1
        self.store = KioskStore(self.path)
        self.core = KioskCore(self.store, SimulatedLockerBank(load_box("demo")), clock=self.clock)
        if self.persisted:
            add_guards(self.core, GuardTables(self.store), None, load_settings(None, environ={}))
        with self.store.transaction() as tx:
            self.store.set_meta(
                tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json()
            )
            self.store.save_staff(
                tx,
                StaffRecord(
                    "anna",
                    credentials.lookup_key(CARD, SALT, PARAMS),
                    credentials.make_verifier(CARD, "246810", params=PARAMS),
                ),
            )

    def close(self) -> None:
        self.store.close()


def wait_shown(detail: str) -> timedelta:
    """The wait the screen shows ("... wait 17 s")."""
    return timedelta(seconds=int(re.search(r"wait (\d+) s", detail).group(1)))


def attack_codes(
    folder: Path, name: str, minutes: int, restart_every: timedelta | None, persisted: bool
) -> dict:
    clock = Clock()
    kiosk = Kiosk(folder / f"{name}.sqlite3", clock, persisted)
    end = clock.now + timedelta(minutes=minutes)
    next_restart = clock.now + restart_every if restart_every else None
    looked_up = refused = 0
    while clock.now < end:
        if next_restart is not None and clock.now >= next_restart:
            kiosk.restart()
            next_restart += restart_every
        view = kiosk.core.submit_code(credentials.generate_code())
        if view.pickup_state is PickupState.THROTTLED:
            refused += 1
            clock.now += max(wait_shown(view.pickup_detail), timedelta(seconds=1))
        else:
            looked_up += 1
            clock.now += TYPING
    kiosk.close()
    return {
        "looked_up_per_hour": round(looked_up * 60 / minutes, 1),
        "refused": refused,
        "restarts": kiosk.restarts,
    }


def attack_staff_card(
    folder: Path, name: str, minutes: int, restart_every: timedelta | None
) -> dict:
    clock = Clock()
    kiosk = Kiosk(folder / f"{name}.sqlite3", clock, True)
    lookup = credentials.lookup_key(CARD, SALT, PARAMS)
    end = clock.now + timedelta(minutes=minutes)
    next_restart = clock.now + restart_every if restart_every else None
    checked = 0
    while clock.now < end:
        if next_restart is not None and clock.now >= next_restart:
            kiosk.restart()
            next_restart += restart_every
        kiosk.core.present_staff_card(CARD)
        locked = GuardTables(kiosk.store).card_locked(lookup)
        view = kiosk.core.staff_pin(f"{checked:06}")
        if view.staff_error_notice.code == "login_wait":
            clock.now += max(wait_shown(view.staff_error), timedelta(seconds=1))
            continue
        if not locked:
            checked += 1  # a PIN checked against the card's real verifier
        clock.now += TYPING
    kiosk.close()
    return {"pin_checks_per_hour": round(checked * 60 / minutes, 1), "restarts": kiosk.restarts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    minute = timedelta(minutes=1)
    with tempfile.TemporaryDirectory(prefix="bench-guessing-") as folder:
        d = Path(folder)
        codes = {
            "persisted_no_restarts": attack_codes(d, "a", args.minutes, None, True),
            "persisted_restart_every_minute": attack_codes(d, "b", args.minutes, minute, True),
            "in_memory_restart_every_minute": attack_codes(d, "c", args.minutes, minute, False),
        }
        staff = {
            "no_restarts": attack_staff_card(d, "d", args.minutes, None),
            "restart_every_minute": attack_staff_card(d, "e", args.minutes, minute),
        }
    path = write_result(
        "guessing",
        {
            "minutes": args.minutes,
            "typing_seconds": TYPING.seconds,
            "pickup_codes": codes,
            "staff_pins_one_card": staff,
        },
    )
    for variant, r in codes.items():
        print(
            f"codes  {variant:34} {r['looked_up_per_hour']:7.1f} looked up per hour "
            f"({r['restarts']} restarts)"
        )
    for variant, r in staff.items():
        print(
            f"staff  {variant:34} {r['pin_checks_per_hour']:7.1f} PIN checks per hour "
            f"({r['restarts']} restarts)"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
