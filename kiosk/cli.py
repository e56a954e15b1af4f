"""`kiosk`: the kiosk service (`kiosk run`) and the end-to-end demo (`kiosk demo`)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from kiosk.config import ConfigError, load_settings, reference_table, simulated_devices


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk", description="24/7 ID-document pickup box controller")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the kiosk service (simulated hardware + embedded registry by default)")
    run.add_argument("--config", help="TOML config file (see the README's configuration reference)")
    screen = run.add_mutually_exclusive_group()
    screen.add_argument("--windowed", action="store_true", help="touchscreen app in a window (development)")
    screen.add_argument("--headless", action="store_true", help="no touchscreen app: core, hardware and uplink only")
    run.add_argument("--metrics-listen", metavar="HOST:PORT|off", default="127.0.0.1:9466",
                     help="Prometheus /metrics address (default 127.0.0.1:9466; 'off' disables it)")
    demo = sub.add_parser("demo", help="walk through deposit and pickup on one machine, verifying each step")
    demo.add_argument("--keep", metavar="DIR", help="keep the demo's databases and notifications in DIR")
    check = sub.add_parser("check-config", help="validate a config file and print the effective settings")
    check.add_argument("config", nargs="?")
    sub.add_parser("config-reference", help="print the configuration reference (Markdown)")
    audit = sub.add_parser("audit", help="the kiosk's tamper-evident audit log").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    verify = audit.add_parser("verify", help="check the hash chain; names the first broken entry"
                                            " (exit status 3 when broken)")
    where = verify.add_mutually_exclusive_group()
    where.add_argument("--config", help="the kiosk's TOML config (its kiosk.data_dir holds the store)")
    where.add_argument("--db", metavar="PATH", help="the kiosk store (kiosk.sqlite3) itself")
    args = parser.parse_args(argv)

    try:
        if args.command == "run":
            return _run(args.config, windowed=args.windowed, headless=args.headless,
                        metrics_listen=args.metrics_listen)
        if args.command == "demo":
            from common.logsetup import setup_logging

            setup_logging(logging.WARNING)
            from pathlib import Path

            from kiosk.demo import run_demo

            return run_demo(Path(args.keep) if args.keep else None)
        if args.command == "check-config":
            return _check_config(args.config)
        if args.command == "audit":
            return _audit_verify(args.db, args.config)
        if args.command == "config-reference":
            print(reference_table())
            return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


def _audit_verify(db: str | None, config: str | None) -> int:
    """Reads the store read-only, so it also works while the kiosk runs."""
    import sqlite3
    from pathlib import Path

    from kiosk.store import audit_log

    path = Path(db) if db else Path(load_settings(config).kiosk.data_dir) / "kiosk.sqlite3"
    key_file = audit_log.key_path(path)
    if not path.exists() or not key_file.exists():
        missing = path if not path.exists() else key_file
        print(f"error: {missing} does not exist; name the kiosk's store with --db PATH"
              " or its config with --config FILE", file=sys.stderr)
        return 1
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = audit_log.verify(conn, audit_log.load_or_create_key(key_file))
            checkpoints = len(audit_log.checkpoints(conn))
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, OSError) as exc:
        print(f"error: cannot read the audit log in {path}: {exc}", file=sys.stderr)
        return 1
    if result.ok:
        print(f"kiosk audit log intact: {result.entries} entries, {checkpoints} checkpoints")
        return 0
    print(f"kiosk audit log BROKEN at entry {result.broken_seq}: {result.problem}", file=sys.stderr)
    return 3


def _check_config(config: str | None) -> int:
    from kiosk.config_check import check_settings

    settings = load_settings(config)
    warnings: list[str] = []
    problems = check_settings(settings, warnings)
    print(settings.model_dump_json(indent=2))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    simulated = simulated_devices(settings)
    if simulated:
        print(f"note: SIMULATED devices (nothing real opens): {', '.join(simulated)}",
              file=sys.stderr)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        print(f"error: the kiosk would not start:\n{listed}", file=sys.stderr)
        return 2
    print("configuration OK", file=sys.stderr)
    return 0


def _run(config: str | None, *, windowed: bool = False, headless: bool = False,
         metrics_listen: str = "off") -> int:
    from common.logsetup import setup_logging
    from common.metrics_http import parse_listen
    from hardware.errors import HardwareError
    from kiosk.app import build_kiosk
    from kiosk.metrics import KioskOperations
    from kiosk.store import StoreError
    from common.tls import TlsConfigError

    settings = load_settings(config)
    # One line per record; also keeps Kivy from adding its own copy (fleetops).
    setup_logging(settings.log_level)
    try:
        parse_listen(metrics_listen)
    except ValueError as exc:
        print(f"error: --metrics-listen: {exc}", file=sys.stderr)
        return 2
    simulated = simulated_devices(settings)
    if simulated:
        why = "demo without a config file" if config is None else f"named in {config}"
        print(f"SIMULATED hardware ({why}): {', '.join(simulated)}; no real door opens",
              file=sys.stderr)
    try:
        kiosk = build_kiosk(settings)
        operations = KioskOperations(kiosk, metrics_listen)
    except (HardwareError, StoreError, TlsConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # Unwritable directories were checked before (kiosk.config_check), so
        # what is left here is the embedded registry's port.
        hint = ""
        if settings.registry.address == "embedded":
            hint = (f" Is another kiosk running on {settings.registry.embedded_listen}? "
                    "Set registry.embedded_listen to a free port.")
        print(f"error: cannot start the kiosk: {exc}.{hint}", file=sys.stderr)
        return 1
    kiosk.start()
    try:
        operations.ready(f"kiosk {settings.kiosk.id} running")
    except OSError as exc:
        kiosk.stop()
        print(f"error: {exc}. Set --metrics-listen to a free port or 'off'.", file=sys.stderr)
        return 1
    where = f"embedded registry on 127.0.0.1:{kiosk.registry.port}" if kiosk.registry else settings.registry.address
    logging.getLogger("kiosk").info(
        "kiosk %s running with %s; %d compartments.", settings.kiosk.id, where, len(kiosk.store.compartments()),
    )
    try:
        if headless:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            logging.getLogger("kiosk").info("headless: stop with Ctrl-C")
            stop.wait()
        else:
            from kiosk.ui.launch import run_app

            run_app(kiosk, windowed=windowed)  # returns when staff choose "Exit app"
    finally:
        operations.stop()
        kiosk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
