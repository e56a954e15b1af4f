"""kiosk-hw: look at and operate the box's hardware from a shell.

    kiosk-hw list                 drivers installed per group, and the bank's health
    kiosk-hw doors                compartments with size, place and door state (exit 1 if a
                                  board cannot be reached)
    kiosk-hw open 7               unlock compartment 7 and wait for its door to open
    kiosk-hw scan-image FILE...   QR codes in photos (see hardware.scan_commands)
    kiosk-hw scan-camera          QR codes as the camera decodes them
    kiosk-hw conformance          run the vendor conformance kit, write a report
    kiosk-hw cards [--watch]      card readers and the card on them; --watch prints card events

Every command works on the configured locker bank: ``--config FILE`` reads
the ``[hardware.locker_bank]`` table of a kiosk config (``driver = "..."``
plus that driver's options), and ``--driver`` / ``--box`` / ``--port``
override it. With neither, it is the simulated demo cabinet. ``cards`` works the same way on
the ``[hardware.card_reader]`` table (``kiosk-hw cards --driver pcsc``).
"""

from __future__ import annotations

import argparse
import importlib
import queue
import sys
import time
import tomllib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hardware import conformance, drivers, scan_commands
from hardware.box import box_relative_to
from hardware.door_watch import DEFAULT_UNLOCK_WINDOW
from hardware.errors import DriverConfigError, HardwareError
from hardware.interfaces import (
    CardEvent,
    CardReader,
    DoorEvent,
    DoorEventKind,
    DoorState,
    HealthStatus,
    LockerBank,
)

DEFAULT_DRIVER = "simulated"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "cards":
        return _cards(args)
    bank: LockerBank | None = None
    try:
        if args.command in scan_commands.COMMANDS:
            return scan_commands.run(args)
        driver, options = _bank_settings(args)
        if args.command == "conformance":
            return _conformance(args)
        if args.command == "list":
            return _list(driver, options)
        bank = drivers.create("locker_bank", driver, options)
        if args.command == "doors":
            return _doors(bank, driver)
        wait = args.wait if args.wait is not None else options.get(
            "unlock_window", DEFAULT_UNLOCK_WINDOW)
        return _open(bank, args.compartment, wait)
    except HardwareError as exc:
        print(f"kiosk-hw: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if bank is not None:
            bank.close()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="kiosk config (TOML) with a [hardware.locker_bank] table"
    )
    common.add_argument("--driver", help=f"locker bank driver (default: {DEFAULT_DRIVER})")
    common.add_argument("--box", help="box description: a TOML file or a bundled name (demo)")
    common.add_argument("--port", help="serial drivers: the port, instead of the config's `port`")

    parser = argparse.ArgumentParser(prog="kiosk-hw", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[common], help="installed drivers and the bank's health")
    commands.add_parser("doors", parents=[common], help="compartments and their doors")
    opener = commands.add_parser("open", parents=[common], help="unlock one compartment")
    opener.add_argument("compartment", type=int, help="compartment number")
    opener.add_argument("--wait", type=float,
                        help="seconds to wait for the door to open (default: the driver's "
                        f"unlock_window, else {DEFAULT_UNLOCK_WINDOW:g})")
    kit = commands.add_parser(
        "conformance", parents=[common],
        help="run the conformance checks against a driver and write a report",
        description="Runs hardware.conformance's checks against the driver named by --driver "
        "(or each [hardware.<group>] table of --config) and writes a Markdown and a JSON report.",
    )
    kit.add_argument("--group", action="append", choices=list(drivers.GROUPS),
                     help="check only this device group (repeatable; default: every group "
                     "the driver serves)")
    kit.add_argument("--report", type=Path, default=Path("conformance-report.md"),
                     help="where to write the report (a .json twin is written beside it)")
    kit.add_argument("--compartment", type=int,
                     help="the compartment the checks may unlock (default: the first)")
    kit.add_argument("--interactive", action="store_true",
                     help="ask a person at the terminal to act (open a door, lay a card on "
                     "the reader)")
    kit.add_argument("--operator", metavar="MODULE:FACTORY",
                     help="a program that acts instead of a person, e.g. a simulator's "
                     "(hardware.devicesim.kerong_bus:operator); FACTORY(options) gets the "
                     "group's driver options. Default: [conformance] operator in --config")
    kit.add_argument("--timeout", type=float, default=5.0,
                     help="seconds to wait for a device's events")
    scan_commands.add_parsers(commands)
    _add_cards_parser(commands, common)
    return parser


def _bank_settings(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Driver name and options: the config's table, then the command line."""
    options: dict[str, Any] = {}
    if args.config is not None:
        options = _config_table(args.config)
    driver = options.pop("driver", DEFAULT_DRIVER)
    if args.driver:
        driver = args.driver
    if args.box:
        options["box"] = args.box
    if args.port:
        options["port"] = args.port
    return driver, options


def _config_table(path: Path, group: str = "locker_bank") -> dict[str, Any]:
    source = str(path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DriverConfigError(
            None, None, f"a readable config file ({exc})", source=source
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise DriverConfigError(None, None, f"valid TOML ({exc})", source=source) from None
    table = config.get("hardware", {}).get(group, {})
    if not isinstance(table, dict):
        raise DriverConfigError(
            f"hardware.{group}", table, "a table such as {driver = \"simulated\"}", source=source
        )
    table = dict(table)
    if isinstance(table.get("box"), str):
        table["box"] = box_relative_to(table["box"], path.resolve().parent)
    return table


def _list(driver: str, options: dict[str, Any]) -> int:
    for group in drivers.GROUPS:
        print(f"{group + ':':14}{', '.join(drivers.available(group)) or '-'}")
    bank = drivers.create("locker_bank", driver, options)
    try:
        print(f"\nlocker bank (driver {driver}):")
        for entry in bank.health():
            detail = f"  {entry.detail}" if entry.detail else ""
            print(f"  {entry.device:16}{entry.status.value}{detail}")
    finally:
        bank.close()
    return 0


def _doors(bank: LockerBank, driver: str) -> int:
    sensors = "yes" if bank.has_door_sensors else "no (doors read unknown)"
    print(f"driver {driver}, door sensors: {sensors}")
    print(f"{'no':>4}  {'size':4}  {'column':>6}  {'row':>3}  {'height':8}  door")
    for spec in bank.layout():
        state = bank.door_state(spec.number).value
        print(
            f"{spec.number:>4}  {spec.size:4}  {spec.column:>6}  {spec.row:>3}  "
            f"{spec.height_class:8}  {state}"
        )
    return _print_health(bank)


def _print_health(bank: LockerBank) -> int:
    """Health lines of every board not OK; 1 if one cannot be reached."""
    unreachable = False
    for entry in bank.health():
        if entry.status is not HealthStatus.OK:
            print(f"{entry.device}: {entry.status.value}  {entry.detail}".rstrip())
            unreachable = unreachable or entry.status is HealthStatus.FAILED
    return 1 if unreachable else 0


def _open(bank: LockerBank, compartment: int, wait: float) -> int:
    events: queue.Queue[DoorEvent] = queue.Queue()
    unsubscribe = bank.subscribe(events.put)  # called on the driver's thread: only hand over
    try:
        was_open = bank.has_door_sensors and bank.door_state(compartment) is DoorState.OPEN
        result = bank.unlock(compartment)
        if not result.acknowledged:
            print(f"compartment {compartment}: unlock NOT acknowledged {result.detail}".rstrip())
            return 1
        print(f"compartment {compartment}: unlock acknowledged {result.detail}".rstrip())
        if not bank.has_door_sensors:
            print(f"compartment {compartment}: no door sensor; check the door by eye")
            return 0
        if was_open:
            print(f"compartment {compartment}: the door already read open; pulse sent anyway")
            return 0
        # The opening arrives later, as a door event (hardware.interfaces):
        # wait for it within the unlock window, as the kiosk does.
        return _await_opening(bank, compartment, events, wait)
    finally:
        unsubscribe()


def _await_opening(bank: LockerBank, compartment: int, events: queue.Queue[DoorEvent],
                   wait: float) -> int:
    deadline = time.monotonic() + wait
    while True:
        try:
            event = events.get(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() >= deadline:
                print(f"compartment {compartment}: door still reads "
                      f"{bank.door_state(compartment).value} after {wait:g} s")
                _print_health(bank)
                return 1
            continue
        print(f"compartment {event.compartment}: {event.kind.value} {event.detail}".rstrip())
        if event.compartment != compartment:
            continue
        if event.kind is DoorEventKind.UNLOCK_FAILED:
            return 1
        if event.kind is DoorEventKind.OPENED:
            return 0


class _TerminalOperator(conformance.Operator):
    """Asks the person at the box to act, and waits for Enter."""

    can_act = True

    def act(self, instruction: str, **details) -> None:
        input(f"       >> {instruction}, then press Enter ")


def _load_operator(ref: str, options: dict[str, Any]) -> conformance.Operator:
    """`module:factory` -> factory(options), an Operator."""
    module_name, _, attr = ref.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr or "operator")
        made = factory(dict(options))
    except Exception as exc:  # a wrong name is a config problem, not a crash
        raise DriverConfigError("operator", ref, f"module:factory that makes an operator ({exc})",
                                source="kiosk-hw conformance") from None
    if not isinstance(made, conformance.Operator):
        raise DriverConfigError("operator", ref, "a factory returning a conformance.Operator",
                                source="kiosk-hw conformance")
    return made


def _operator_for(args: argparse.Namespace, config: dict[str, Any],
                  options: dict[str, Any]) -> conformance.Operator:
    ref = args.operator or config.get("conformance", {}).get("operator")
    if ref:
        return _load_operator(ref, options)
    return _TerminalOperator() if args.interactive else conformance.Operator()


def _conformance(args: argparse.Namespace) -> int:
    config: dict[str, Any] = {}
    if args.config is not None:
        config = tomllib.loads(args.config.read_text(encoding="utf-8"))
    groups = args.group
    if not groups:
        if args.config is not None:
            groups = conformance.groups_with(config.get("hardware", {}))
        else:
            name = args.driver or DEFAULT_DRIVER
            groups = [g for g in drivers.GROUPS if name in drivers.available(g)]
    if not groups:
        raise DriverConfigError("--driver", args.driver, "a driver of at least one device group",
                                source="kiosk-hw conformance")
    results: list[conformance.CheckResult] = []
    names = []
    for group in groups:
        options = _config_table(args.config, group) if args.config is not None else {}
        name = args.driver or options.pop("driver", DEFAULT_DRIVER)
        options.pop("driver", None)
        if group == "locker_bank":
            if args.box:
                options["box"] = args.box
            if args.port:
                options["port"] = args.port
        names.append(name)
        drivers.load(group, name)  # a bad name fails here, before any check runs
        context = conformance.Context(
            operator=_operator_for(args, config, options),
            compartment=args.compartment,
            timeout=args.timeout,
        )
        print(f"{group} (driver {name}):", flush=True)
        results += conformance.run(
            group, lambda: drivers.create(group, name, options), context,
            on_start=_print_start, on_result=_print_result,
        )
    report = conformance.Report(driver=", ".join(sorted(set(names))), groups=groups,
                                results=results)
    args.report.write_text(report.to_markdown(), encoding="utf-8")
    args.report.with_suffix(".json").write_text(report.to_json(), encoding="utf-8")
    counts = report.counts()
    print(f"\n{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
          f"report: {args.report}")
    return 1 if report.failed else 0


def _print_start(chk: conformance.Check) -> None:
    print(f"  .... {chk.name}: {chk.summary}", flush=True)


def _print_result(result: conformance.CheckResult) -> None:
    mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[result.outcome]
    print(f"  {mark} {result.name}" + (f": {result.detail}" if result.detail else ""), flush=True)


def _add_cards_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    cards = commands.add_parser(
        "cards", parents=[common],
        help="card readers and the card on them ([hardware.card_reader] of --config)",
    )
    cards.add_argument("--watch", action="store_true",
                       help="print every card put on or taken off the reader until Ctrl-C")
    cards.add_argument("--reader", help="pcsc driver: part of the reader's name")


def _cards(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    reader: CardReader | None = None
    try:
        if args.config is not None:
            options = _config_table(args.config, "card_reader")
        driver = options.pop("driver", DEFAULT_DRIVER)
        if args.driver:
            driver = args.driver
        if args.box:
            options["box"] = args.box
        if args.reader:
            options["reader"] = args.reader
        if driver == "pcsc":
            from hardware.pcsc.reader import list_readers

            print("readers: " + (", ".join(list_readers()) or "none"))
        reader = drivers.create("card_reader", driver, options)
        for entry in reader.health():
            detail = f"  {entry.detail}" if entry.detail else ""
            print(f"{entry.device}: {entry.status.value}{detail}")
        if not args.watch:
            current = getattr(reader, "current_card", None)
            print("card: " + (_card_text(current) if current is not None else "none"))
            return 0
        return _watch_cards(reader)
    except HardwareError as exc:
        print(f"kiosk-hw: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if reader is not None:
            reader.close()


def _watch_cards(reader: CardReader) -> int:
    events: queue.Queue[CardEvent] = queue.Queue()
    reader.subscribe(events.put)  # called on the driver's thread: only hand over
    print("watching; put a card on the reader (Ctrl-C to stop)", flush=True)
    try:
        while True:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                continue
            stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{stamp}  {event.reader}  {event.kind.value:9}  {_card_text(event)}", flush=True)
    except KeyboardInterrupt:
        return 0


def _card_text(event: CardEvent) -> str:
    uid = event.uid.hex().upper() if event.uid is not None else "no UID"
    return uid + ("  German eID" if event.german_eid else "")


if __name__ == "__main__":
    sys.exit(main())
