"""Wiring: builds a running kiosk (store, drivers, core, uplink) from settings.

This is the only place that knows which concrete parts make up a kiosk.
The embedded registry is started here when the config says so, which makes
the whole system run on one machine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hardware.help_call import HelpCall
from hardware.interfaces import CardReader, CodeScanner, Indicator, LockerBank
from kiosk.config import NO_DRIVER, ConfigError, Settings, simulated_devices
from kiosk.config_check import OPTIONAL_DEVICES, create_device, data_dir_problems, tls_problems
from kiosk.clock import TrustedClock, utc_now
from kiosk.core import KioskCore
from kiosk.guards import GuardTick, StaffCardGuard
from kiosk.store.guard_tables import GuardTables
from kiosk.store.retention import Retention
from common.credentials import KdfParams
from kiosk.domain.document_return import ReturnPolicy
from kiosk.domain.pickup_session import PickupPolicy
from kiosk.domain.staff_session import StaffPolicy
from kiosk.indicator_feedback import indicator_listener
from kiosk.store import KioskStore
from common.auth import KIOSK_CREDENTIAL_FILE, CredentialFileError, read_secret_file
from common.tls import channel_credentials
from kiosk.uplink.client import RegistryClient
from kiosk.uplink.worker import Uplink

log = logging.getLogger(__name__)


@dataclass
class KioskHardware:
    locker_bank: LockerBank
    card_reader: CardReader
    code_scanner: CodeScanner
    indicator: Indicator
    barcode_scanner: CodeScanner | None = None  # optional second scanner (staff deposits)
    help_call: HelpCall | None = None  # optional call button / intercom (hardware.help_call)

    def close(self) -> None:
        devices = (self.help_call, self.code_scanner, self.barcode_scanner, self.card_reader, self.indicator,
                   self.locker_bank)
        for device in filter(None, devices):
            try:
                device.close()
            except Exception:
                log.exception("closing %s failed", type(device).__name__)


# The order of KioskHardware's fields.
DEVICE_ORDER = ("locker_bank", "card_reader", "code_scanner", "indicator", "barcode_scanner", "help_call")


def create_hardware(settings: Settings) -> KioskHardware:
    """Every configured driver; a bad one raises ConfigError naming its section."""
    simulated = simulated_devices(settings)
    if simulated:
        # Never silent: a kiosk on simulators hands out nothing real.
        log.warning("SIMULATED hardware (no real device) for: %s", ", ".join(simulated))
    created: list[Any] = []
    try:
        for section in DEVICE_ORDER:
            driver = getattr(settings.hardware, section).driver
            absent = section in OPTIONAL_DEVICES and driver == NO_DRIVER
            created.append(None if absent else create_device(settings, section))
    except BaseException:
        for device in filter(None, created):
            device.close()
        raise
    return KioskHardware(*created)


@dataclass
class Kiosk:
    settings: Settings
    hardware: KioskHardware
    store: KioskStore
    core: KioskCore
    uplink: Uplink
    registry: Any = None  # the embedded RegistryServer, if any
    _started: bool = field(default=False, repr=False)

    def start(self) -> None:
        self.core.start()
        self.uplink.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self.uplink.stop()
            self.core.stop()
        self.hardware.close()
        self.store.close()
        if self.registry is not None:
            self.registry.stop(grace=1)


def start_embedded_registry(settings: Settings, kdf_params: KdfParams | None = None):
    # Imported here: a kiosk that talks to a remote registry never loads the server.
    from registry.identity import enrol_local_kiosk
    from registry.notifier import DirectoryNotifier
    from registry.server import create_server

    reg = settings.registry
    office = settings.office
    contact = ", ".join(part for part in (office.name, office.phone, office.opening_hours) if part)
    server = create_server(
        reg.embedded_listen,
        reg.embedded_db,
        notifier=DirectoryNotifier(reg.notify_dir),
        kdf_params=kdf_params,
        office_contact=contact,
    )
    # The kiosk in this process is enrolled like any other, so its calls are
    # authenticated too; its credential stays in its data dir (mode 0600).
    credential = Path(settings.kiosk.data_dir) / KIOSK_CREDENTIAL_FILE
    enrol_local_kiosk(server.db, settings.kiosk.id, credential)
    server.start()
    log.info("embedded registry listening on 127.0.0.1:%s (notifications in %s)", server.port, reg.notify_dir)
    return server


def _kiosk_token(data_dir: Path) -> str | None:
    """The credential `kiosk-registry kiosk enrol --output` gave this kiosk, if any."""
    path = data_dir / KIOSK_CREDENTIAL_FILE
    if not path.exists():
        return None  # a kiosk with an enrolled client certificate needs none
    try:
        return read_secret_file(path)
    except CredentialFileError as exc:
        raise ConfigError(str(exc)) from None


def build_kiosk(settings: Settings, *, hardware: KioskHardware | None = None, registry_target: str | None = None,
                kdf_params: KdfParams | None = None, clock: Callable[[], datetime] | None = None,
                wall_clock: Callable[[], datetime] = utc_now,
                monotonic: Callable[[], float] = time.monotonic) -> Kiosk:
    """Builds, but does not start, a kiosk. `registry_target` overrides the config.

    Time: by default the kiosk reads `wall_clock` (the system clock) through a
    TrustedClock, which detects steps against `monotonic` and the registry's
    time (kiosk.clock). A test that must let days pass (pickup deadlines)
    passes `clock`, a time source the kiosk takes as trusted as it is.
    """
    k = settings.kiosk
    reg = settings.registry
    problems = data_dir_problems(settings)
    if reg.address != "embedded":  # the embedded registry is reached without TLS
        problems += tls_problems(settings)
    if problems:
        raise ConfigError("\n".join(problems))
    # The store first: its lock stops a second kiosk process before it can
    # touch the registry port or the hardware.
    store = KioskStore(Path(k.data_dir) / "kiosk.sqlite3")
    registry = None
    try:
        hardware = hardware or create_hardware(settings)
        target = registry_target
        if target is None:
            if reg.address == "embedded":
                registry = start_embedded_registry(settings, kdf_params)
                target = f"127.0.0.1:{registry.port}"
            else:
                target = reg.address
    except BaseException:
        store.close()
        raise
    guards = GuardTables(store)
    trusted = None
    if clock is None:
        trusted = TrustedClock(
            wall_clock, monotonic,
            tolerance=timedelta(seconds=k.clock_step_tolerance_seconds),
            large=timedelta(seconds=k.clock_large_step_seconds),
            last_trusted=guards.last_trusted_time(),
        )
        clock = trusted.now
    try:
        core = _build_core(settings, store, hardware, clock)
    except ValueError as exc:  # the config does not fit the cabinet
        hardware.close()
        store.close()
        if registry is not None:
            registry.stop(grace=0)
        raise ConfigError(f"kiosk.return_compartment: {exc}") from None
    credentials = None
    if reg.tls_ca_file is not None and registry is None:
        credentials = channel_credentials(reg.tls_ca_file, reg.tls_cert_file, reg.tls_key_file)
    add_guards(core, guards, trusted, settings)
    uplink = Uplink(
        core,
        RegistryClient(target, k.id, credentials=credentials, token=_kiosk_token(Path(k.data_dir))),
        sync_interval=reg.sync_interval_seconds,
        heartbeat_interval=reg.heartbeat_interval_seconds,
        retry_max=reg.retry_max_seconds,
        guards=guards,
        trusted_clock=trusted,
    )
    core.on_outbox = uplink.wake
    core.add_listener(indicator_listener(hardware.indicator))
    return Kiosk(settings, hardware, store, core, uplink, registry)


def add_guards(core: KioskCore, guards: GuardTables, trusted: TrustedClock | None,
               settings: Settings) -> None:
    """Guessing limits that survive restarts, staff card locks, clock steps, pruning."""
    k = settings.kiosk
    core.pickup.throttle = guards.throttle("pickup", replace(core.pickup.throttle,
                                                             free_failures=k.code_free_failures))
    core.staff.throttle = guards.throttle("staff", core.staff.throttle)
    core.staff_cards = StaffCardGuard(guards, k.staff_card_max_pin_attempts)
    core.trusted_clock = trusted
    retention = Retention(journal=timedelta(days=k.journal_retention_days),
                          commands=timedelta(days=k.command_retention_days))
    core.tick_hooks.append(GuardTick(guards, trusted, retention))


def _build_core(settings: Settings, store: KioskStore, hardware: KioskHardware,
                clock: Callable[[], datetime]) -> KioskCore:
    k = settings.kiosk
    return KioskCore(
        store,
        hardware.locker_bank,
        card_reader=hardware.card_reader,
        scanner=hardware.code_scanner,
        barcode_scanner=hardware.barcode_scanner,
        help_call=hardware.help_call,
        pickup_policy=PickupPolicy(
            max_pin_attempts=k.max_pin_attempts, input_timeout=timedelta(seconds=k.session_timeout_seconds)
        ),
        staff_policy=StaffPolicy(
            four_eyes_deposit=k.four_eyes_deposit,
            pickup_period=timedelta(days=k.pickup_days),
            inactivity_timeout=timedelta(seconds=k.staff_timeout_seconds),
        ),
        return_policy=ReturnPolicy(compartment=k.return_compartment),
        clock=clock,
    )
