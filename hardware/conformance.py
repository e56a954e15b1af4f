"""The vendor conformance kit: the contract every driver must meet.

The same checks run in three places:

* the project's test suite, over every registered driver, real ones against
  their byte-level simulators (tests/hardware/test_driver_contract.py);
* a vendor's own test suite for a new driver (import `checks_for` and `run`);
* a real box, through ``kiosk-hw conformance --driver NAME --config FILE``,
  which writes a report a vendor can hand to a municipality.

A check is a small function that takes a freshly built device and a
`Context`. It passes by returning, fails by raising `CheckFailed` (through
`expect`; an AssertionError or any other exception fails it too: a driver
that crashes fails), and skips by raising `Skipped` with the reason (a bank
without door sensors sends no door events, say). Checks that need a person
to act (open a door by hand, present a card) ask the operator; without one
they are skipped, never silently passed.

Doors are brought back to a known state between checks: before every
locker-bank check that needs a shut door (``closed_door=True``), the kit
waits for the target door to read closed and, if it does not, asks the
operator to shut it (``act(..., compartment=N, shut=True)``) and waits
again. An operator may be a person at the terminal (``kiosk-hw conformance
--interactive``) or a program acting on a simulator (`CommandOperator`,
named with ``--operator module:factory`` or ``[conformance] operator`` in
the config), which is how a simulated bank gets a full PASS with nobody at
hand.

The checks unlock one compartment, by default the first one. On a loaded
box, choose an empty compartment with ``--compartment``.
"""

from __future__ import annotations

import json
import platform
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from hardware.errors import CardError, UnknownCompartment
from hardware.interfaces import (
    HEIGHT_CLASSES,
    SIGNALS,
    SIZES,
    CardEvent,
    CardEventKind,
    CardReader,
    CodeScanner,
    CompartmentSpec,
    DeviceHealth,
    DoorEvent,
    DoorEventKind,
    DoorState,
    HealthStatus,
    Indicator,
    LockerBank,
    ScanEvent,
    UnlockResult,
)

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


class Skipped(Exception):
    """The check does not apply to this device; the message says why."""


class CheckFailed(Exception):
    """The device broke the contract; the message says how."""


def expect(condition: object, message: str) -> None:
    """Fail the running check with `message` unless `condition` holds.

    A real exception, not ``assert``: ``python -O`` would strip asserts and
    pass every check.
    """
    if not condition:
        raise CheckFailed(message)


class Operator:
    """Someone (or something) who can act on the device between steps.

    `act(instruction, **details)` returns once the action is done. The
    details say what is asked, for operators that are programs:
    ``compartment=N`` with ``forced=True`` (open it without an unlock),
    ``shut=True`` (push it shut), or neither (pull an unlocked door open);
    ``card="staff"`` / ``card=None``; ``payload=b"..."`` (show a code). The
    default operator cannot act, so checks that need one are skipped. The
    CLI's interactive mode asks a person at the terminal; `CommandOperator`
    drives a simulator.
    """

    can_act = False

    def act(self, instruction: str, **details) -> None:
        raise Skipped(f"needs an operator to: {instruction}")


class CommandOperator(Operator):
    """An operator for a lock-board simulator: forces and shuts doors by program.

    Subclasses implement `force(compartment)` and `shut(compartment)`, and
    `pull(compartment)` if the simulated doors are not spring-loaded (they
    pop open on an unlock by themselves in the project's simulators).
    """

    can_act = True

    def act(self, instruction: str, **details) -> None:
        compartment = details.get("compartment")
        if compartment is None:
            raise Skipped(f"{type(self).__name__} cannot: {instruction}")
        if details.get("forced"):
            self.force(compartment)
        elif details.get("shut"):
            self.shut(compartment)
        else:
            self.pull(compartment)

    def force(self, compartment: int) -> None:
        raise NotImplementedError

    def shut(self, compartment: int) -> None:
        raise NotImplementedError

    def pull(self, compartment: int) -> None:
        pass  # spring-loaded: an unlocked door opens by itself


@dataclass
class Context:
    operator: Operator = field(default_factory=Operator)
    compartment: int | None = None  # the compartment checks may unlock
    timeout: float = 3.0  # how long to wait for a real device's events


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    summary: str
    run: Callable[[object, Context], None]
    closed_door: bool = False  # a locker-bank check that starts from a shut door


@dataclass
class CheckResult:
    group: str
    name: str
    summary: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0


_CHECKS: list[Check] = []


def check(group: str, *, closed_door: bool = False):
    """Registers a check; its docstring's first line is its summary.

    `closed_door`: the kit makes sure the target door reads closed before
    the check starts (asking the operator to shut it if need be).
    """

    def register(fn: Callable[[object, Context], None]):
        summary = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
        name = fn.__name__.removeprefix("check_")
        _CHECKS.append(Check(group, name, summary, fn, closed_door))
        return fn

    return register


def checks_for(group: str) -> list[Check]:
    return [c for c in _CHECKS if c.group == group]


def run_check(chk: Check, device: object, context: Context | None = None) -> CheckResult:
    context = context or Context()
    started = time.monotonic()
    try:
        if chk.closed_door and getattr(device, "has_door_sensors", False):
            shut_the_door(device, context)
        chk.run(device, context)
        outcome, detail = PASSED, ""
    except Skipped as exc:
        outcome, detail = SKIPPED, str(exc)
    except CheckFailed as exc:
        outcome, detail = FAILED, str(exc)
    except AssertionError as exc:
        outcome, detail = FAILED, str(exc) or _last_line(traceback.format_exc())
    except Exception as exc:  # a crashing driver fails the check, it does not stop the kit
        outcome, detail = FAILED, f"{type(exc).__name__}: {exc}"
    seconds = time.monotonic() - started
    return CheckResult(chk.group, chk.name, chk.summary, outcome, detail, seconds)


def shut_the_door(bank, context: Context) -> None:
    """Wait for the target door to read closed; ask the operator to shut it if not.

    Raises Skipped when nobody can shut it, CheckFailed when it stays open.
    """
    number = _target(bank, context)
    if wait_for(lambda: bank.door_state(number) is DoorState.CLOSED, min(context.timeout, 1.0)):
        return
    state = bank.door_state(number).value
    context.operator.act(f"shut compartment {number} (it reads {state})", compartment=number,
                         shut=True)
    expect(wait_for(lambda: bank.door_state(number) is DoorState.CLOSED, context.timeout),
           f"compartment {number} reads closed before the check starts "
           f"(it reads {bank.door_state(number).value})")


def run(
    group: str,
    make_device: Callable[[], object],
    context: Context | None = None,
    *,
    on_start: Callable[[Check], None] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Runs every check of `group`, each on a freshly made device.

    `on_start` hears of each check before it runs (so a person knows which
    check asks for what), `on_result` of its result as soon as it ends.
    """
    results = []
    for chk in checks_for(group):
        if on_start is not None:
            on_start(chk)
        try:
            device = make_device()
        except Exception as exc:
            result = CheckResult(group, chk.name, chk.summary, FAILED,
                                 f"could not build the device: {exc}")
        else:
            try:
                result = run_check(chk, device, context)
            finally:
                try:
                    device.close()
                except Exception:
                    pass  # close_is_idempotent reports this
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def wait_for(condition: Callable[[], object], timeout: float = 3.0) -> object:
    """Real drivers call back from their own thread; simulated ones at once."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return result


def _check_health(device) -> None:
    health = device.health()
    expect(isinstance(health, list) and health, "health() returns a non-empty list")
    for entry in health:
        expect(isinstance(entry, DeviceHealth), f"health entry {entry!r} is a DeviceHealth")
        expect(isinstance(entry.status, HealthStatus), f"{entry.device}: status is a HealthStatus")
        expect(entry.device, "every health entry names its device")


def _target(bank: LockerBank, context: Context) -> int:
    numbers = [spec.number for spec in bank.layout()]
    if context.compartment is None:
        return numbers[0]
    if context.compartment not in numbers:
        raise CheckFailed(
            f"compartment {context.compartment} is not in the bank's layout {numbers}")
    return context.compartment


# --- Locker bank -------------------------------------------------------------


@check("locker_bank")
def check_is_a_locker_bank(bank, context):
    """Implements the LockerBank protocol and says whether it has door sensors."""
    expect(isinstance(bank, LockerBank), "implements hardware.interfaces.LockerBank")
    expect(isinstance(bank.has_door_sensors, bool), "has_door_sensors is a bool")


@check("locker_bank")
def check_layout(bank, context):
    """Lists every compartment once, ordered, with size, place and height class."""
    layout = bank.layout()
    expect(layout, "the layout is not empty")
    expect(all(isinstance(spec, CompartmentSpec) for spec in layout), "entries are CompartmentSpec")
    numbers = [spec.number for spec in layout]
    expect(numbers == sorted(set(numbers)), f"ordered by number, no duplicates: {numbers}")
    for spec in layout:
        expect(spec.size in SIZES,
               f"compartment {spec.number}: size {spec.size!r} is one of {SIZES}")
        expect(spec.height_class in HEIGHT_CLASSES, f"compartment {spec.number}: height class")
        expect(spec.column >= 1 and spec.row >= 1, f"compartment {spec.number}: column/row from 1")


@check("locker_bank")
def check_door_states(bank, context):
    """Reads every door; UNKNOWN for every door of a bank without sensors."""
    states = []
    for spec in bank.layout():
        state = bank.door_state(spec.number)
        expect(isinstance(state, DoorState),
               f"compartment {spec.number}: door_state is a DoorState")
        if not bank.has_door_sensors:
            expect(state is DoorState.UNKNOWN,
                   f"compartment {spec.number}: no sensor reads UNKNOWN")
        states.append(state)
    # Nothing was unlocked yet: every door open means the sensors read inverted.
    expect(not bank.has_door_sensors or len(states) < 2
           or any(s is not DoorState.OPEN for s in states),
           f"every one of the {len(states)} doors reads open and nothing was unlocked: the "
           "door sensors probably read the other way round; set polarity = \"inverted\" "
           "(the board's entry in the box file, or the driver option) and run again")


@check("locker_bank")
def check_unlock_is_acknowledged(bank, context):
    """Unlocking answers with an acknowledged UnlockResult for that compartment."""
    number = _target(bank, context)
    result = bank.unlock(number)
    expect(isinstance(result, UnlockResult), "unlock() returns an UnlockResult")
    expect(result.compartment == number, "the result names the unlocked compartment")
    expect(result.acknowledged, f"the board acknowledged the unlock ({result.detail})")


@check("locker_bank", closed_door=True)
def check_unlock_reports_the_opening(bank, context):
    """A door that opens after an unlock is reported as OPENED, separate from the ack."""
    events: list[DoorEvent] = []
    bank.subscribe(events.append)
    number = _target(bank, context)
    expect(bank.unlock(number).acknowledged, "unlock acknowledged")
    if not bank.has_door_sensors:
        time.sleep(min(context.timeout, 0.2))
        expect(events == [], "a bank without sensors sends no door events")
        expect(bank.door_state(number) is DoorState.UNKNOWN, "a door without sensor reads UNKNOWN")
        return
    if context.operator.can_act:
        context.operator.act(f"pull compartment {number} open", compartment=number)
    expect(wait_for(lambda: any(e.kind is DoorEventKind.OPENED and e.compartment == number
                                for e in events),
                    context.timeout), f"an OPENED event for compartment {number} (got {events})")
    expect(all(isinstance(e, DoorEvent) for e in events), "events are DoorEvents")
    expect(wait_for(lambda: bank.door_state(number) is DoorState.OPEN, context.timeout),
           "the door reads OPEN")


@check("locker_bank", closed_door=True)
def check_unlock_pulse_even_when_open(bank, context):
    """The unlock pulse goes out even when the sensor already reads open."""
    if not bank.has_door_sensors:
        raise Skipped("no door sensors: every unlock is sent blind anyway")
    number = _target(bank, context)
    expect(bank.unlock(number).acknowledged, "first unlock acknowledged")
    if context.operator.can_act:
        context.operator.act(f"pull compartment {number} open and leave it open",
                             compartment=number)
    expect(wait_for(lambda: bank.door_state(number) is DoorState.OPEN, context.timeout),
           "the door reads OPEN")
    expect(bank.unlock(number).acknowledged,
           "a second unlock of an open door is sent and acknowledged")


@check("locker_bank", closed_door=True)
def check_forced_door_alarm(bank, context):
    """A door that opens with no unlock command is reported as FORCED_OPEN."""
    if not bank.has_door_sensors:
        raise Skipped("no door sensors: a forced door cannot be seen")
    number = _target(bank, context)
    events: list[DoorEvent] = []
    bank.subscribe(events.append)
    context.operator.act(f"force compartment {number} open without unlocking it",
                         compartment=number, forced=True)
    expect(wait_for(lambda: any(e.kind is DoorEventKind.FORCED_OPEN and e.compartment == number
                                for e in events), context.timeout),
           f"FORCED_OPEN for {number} (got {events})")


@check("locker_bank", closed_door=True)
def check_unsubscribe_stops_events(bank, context):
    """An unsubscribed callback hears nothing more; unsubscribing twice is harmless."""
    if not bank.has_door_sensors:
        raise Skipped("no door sensors, no door events")
    gone: list[DoorEvent] = []
    heard: list[DoorEvent] = []
    unsubscribe = bank.subscribe(gone.append)
    unsubscribe()
    unsubscribe()
    bank.subscribe(heard.append)
    number = _target(bank, context)
    bank.unlock(number)
    if context.operator.can_act:
        context.operator.act(f"pull compartment {number} open", compartment=number)
    expect(wait_for(lambda: heard, context.timeout), "the still-subscribed callback heard the door")
    expect(gone == [], "the unsubscribed callback heard nothing")


@check("locker_bank")
def check_rejects_unknown_compartment(bank, context):
    """Unlocking a number not in the layout raises UnknownCompartment."""
    missing = max(spec.number for spec in bank.layout()) + 1
    try:
        bank.unlock(missing)
    except UnknownCompartment:
        return
    raise CheckFailed(f"unlock({missing}) raised nothing")


@check("locker_bank")
def check_bank_health(bank, context):
    """Reports health for each lock board."""
    _check_health(bank)


# --- Card reader -------------------------------------------------------------


@check("card_reader")
def check_reader_contract(reader, context):
    """Implements CardReader; subscribe/unsubscribe work; reports health."""
    expect(isinstance(reader, CardReader), "implements hardware.interfaces.CardReader")
    unsubscribe = reader.subscribe(lambda event: None)
    expect(callable(unsubscribe), "subscribe() returns the unsubscribe function")
    unsubscribe()
    unsubscribe()
    _check_health(reader)


@check("card_reader")
def check_transmit_without_card(reader, context):
    """Sending an APDU with no card on the reader raises CardError."""
    try:
        reader.transmit(bytes.fromhex("FFCA000000"))
    except CardError:
        return
    raise CheckFailed("transmit() without a card raised nothing")


@check("card_reader")
def check_card_presented_and_removed(reader, context):
    """A card laid on the reader and taken away gives PRESENTED, then REMOVED."""
    events: list[CardEvent] = []
    reader.subscribe(events.append)
    context.operator.act("lay a staff card on the reader", card="staff")
    expect(wait_for(lambda: any(e.kind is CardEventKind.PRESENTED for e in events),
                    context.timeout), "a PRESENTED event")
    presented = next(e for e in events if e.kind is CardEventKind.PRESENTED)
    expect(presented.uid, "the staff card's UID was read (FF CA 00 00 00)")
    expect(presented.atr, "the ATR was read")
    context.operator.act("take the card away", card=None)
    expect(wait_for(lambda: any(e.kind is CardEventKind.REMOVED for e in events),
                    context.timeout), "a REMOVED event")
    removed = next(e for e in events if e.kind is CardEventKind.REMOVED)
    expect(removed.uid == presented.uid, "REMOVED repeats the UID of the card that left")


# --- Code scanner ------------------------------------------------------------


@check("code_scanner")
def check_scanner_contract(scanner, context):
    """Implements CodeScanner; start/stop and unsubscribe are idempotent; health."""
    expect(isinstance(scanner, CodeScanner), "implements hardware.interfaces.CodeScanner")
    unsubscribe = scanner.subscribe(lambda event: None)
    scanner.start()
    scanner.start()
    scanner.stop()
    scanner.stop()
    unsubscribe()
    unsubscribe()
    _check_health(scanner)


@check("code_scanner")
def check_scan_delivered_once(scanner, context):
    """A code held in view while scanning is delivered exactly once."""
    events: list[ScanEvent] = []
    scanner.subscribe(events.append)
    scanner.start()
    try:
        context.operator.act("hold the test code PBX1:CONFORM42 in front of the scanner",
                             payload=b"PBX1:CONFORM42")
        expect(wait_for(lambda: events, context.timeout), "a ScanEvent arrived")
        time.sleep(min(context.timeout, 0.3))
        payloads = [e.payload for e in events]
        times = payloads.count(payloads[0])
        expect(times == 1, f"delivered once, not {times} times")
        expect(all(isinstance(e, ScanEvent) and e.source for e in events),
               "events name their source")
    finally:
        scanner.stop()


@check("code_scanner")
def check_nothing_delivered_while_stopped(scanner, context):
    """A stopped scanner delivers nothing (the camera runs only on scan screens)."""
    events: list[ScanEvent] = []
    scanner.subscribe(events.append)
    scanner.start()
    scanner.stop()
    events.clear()  # a code read between start and stop was fair; after stop() returns nothing is
    context.operator.act("hold the test code PBX1:CONFORM42 in front of the scanner",
                         payload=b"PBX1:CONFORM42", expect_ignored=True)
    time.sleep(min(context.timeout, 0.3))
    expect(events == [], f"nothing delivered while stopped (got {events})")


# --- Indicator ---------------------------------------------------------------


@check("indicator")
def check_indicator_contract(indicator, context):
    """Implements Indicator, shows every signal, reports health."""
    expect(isinstance(indicator, Indicator), "implements hardware.interfaces.Indicator")
    for signal in sorted(SIGNALS):
        indicator.show(signal)
    _check_health(indicator)


@check("indicator")
def check_indicator_rejects_unknown_signal(indicator, context):
    """An unknown signal raises ValueError."""
    try:
        indicator.show("no-such-signal")
    except ValueError:
        return
    raise CheckFailed("show('no-such-signal') raised nothing")


@check("help_call")
def check_help_call_contract(device, context):
    """Implements HelpCall: a call is placed and can be hung up; reports health."""
    from hardware.help_call import CallState, HelpCall

    assert isinstance(device, HelpCall), "implements hardware.help_call.HelpCall"
    device.call("conformance")
    assert device.state() in (CallState.CALLING, CallState.CONNECTED), "a placed call is under way"
    device.hang_up()
    assert device.state() is CallState.IDLE, "hang_up() ends the call"
    _check_health(device)


# --- Every group ------------------------------------------------------------


def check_close_is_idempotent(device, context):
    """close() may be called twice."""
    device.close()
    device.close()


for _group in ("locker_bank", "card_reader", "code_scanner", "indicator"):
    check(_group)(check_close_is_idempotent)


# --- Report ------------------------------------------------------------------


@dataclass
class Report:
    driver: str
    groups: list[str]
    results: list[CheckResult]
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    host: str = field(default_factory=platform.node)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome == FAILED]

    def counts(self) -> dict[str, int]:
        return {o: sum(r.outcome == o for r in self.results) for o in (PASSED, FAILED, SKIPPED)}

    def to_json(self) -> str:
        data = asdict(self)
        data["summary"] = self.counts()
        return json.dumps(data, indent=2, default=str)

    def to_markdown(self) -> str:
        c = self.counts()
        lines = [
            f"# Conformance report: driver `{self.driver}`",
            "",
            f"- created: {self.created} on `{self.host}`",
            f"- groups: {', '.join(self.groups)}",
            f"- result: **{'PASS' if not self.failed else 'FAIL'}** — "
            f"{c[PASSED]} passed, {c[FAILED]} failed, {c[SKIPPED]} skipped",
            "",
            "| group | check | outcome | detail |",
            "|---|---|---|---|",
        ]
        for r in self.results:
            detail = (r.detail or r.summary).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.group} | {r.name} | {r.outcome} | {detail} |")
        return "\n".join(lines) + "\n"


def groups_with(names: Iterable[str]) -> list[str]:
    return [g for g in ("locker_bank", "card_reader", "code_scanner", "indicator") if g in names]
