"""Malformed and hostile input through the real input paths opens no door."""

from __future__ import annotations

import random
import string

from common import credentials
from kiosk.domain.pickup_session import PickupState
from tests.integration.conftest import wait_for


def _payloads(rng: random.Random, valid_code: str, n: int):
    alphabet = credentials.ALPHABET
    for i in range(n):
        kind = i % 8
        if kind == 0:
            yield bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        elif kind == 1:
            yield "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 40)))
        elif kind == 2:  # right alphabet and length, random content (mostly fails the check symbol)
            yield "PBX1:" + "".join(rng.choice(alphabet) for _ in range(10))
        elif kind == 3:  # the real code with one symbol changed
            pos = rng.randrange(10)
            other = rng.choice(alphabet.replace(valid_code[pos], ""))
            yield "PBX1:" + valid_code[:pos] + other + valid_code[pos + 1:]
        elif kind == 4:  # well-formed codes that exist nowhere
            yield credentials.qr_payload(credentials.generate_code())
        elif kind == 5:
            yield "PBX1:" + "A" * rng.randrange(60, 5000)
        elif kind == 6:
            yield rng.choice(["PBX2:", "pbx1:", "PBX1", "PBX1:: ", "http://", "\x00PBX1:", "PBX1:\u0130"]) + valid_code
        else:
            yield "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(1, 30)))


def test_ten_thousand_malformed_payloads_open_no_door(registry, make_kiosk):
    k = make_kiosk()
    created = registry.create_order()
    k.deposit(created.order.reference)
    valid_code = created.qr_payload.removeprefix("PBX1:")
    unlocks = len(k.bank.unlock_log)

    rng = random.Random(20261121)
    states = set()
    k.core.scan_screen(True)
    for payload in _payloads(rng, valid_code, 10_000):
        k.scanner.show(payload)
        view = k.core.submit_pin("482915")  # even with the right PIN at hand
        states.add(view.pickup_state)
        k.core.cancel()
    assert len(k.bank.unlock_log) == unlocks
    assert PickupState.DOOR_OPENING not in states and PickupState.DOOR_OPEN not in states
    # The guesses were noticed: the kiosk throttled and alarmed.
    assert PickupState.THROTTLED in states
    wait_for(lambda: any(e[1] == "EVENT_TYPE_ATTEMPTS_THROTTLED" for e in registry.events()))
    # The kiosk is still fully working for the real citizen afterwards.
    k.clock.advance(__import__("datetime").timedelta(hours=1))
    view = k.pickup(created.qr_payload, "482915")
    assert view.pickup_state is PickupState.DOOR_OPEN
