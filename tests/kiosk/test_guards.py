"""Guards that survive restarts, remote command rules, staff card locks and pruning.

Real store files, the real core (inline) with the simulated bank; a restart
is a new store and core over the same file, as after a kill.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from common import credentials
from hardware.box import load_box
from hardware.simulated import SimulatedLockerBank
from kiosk.core import CREDENTIAL_POLICY_KEY, CredentialContext, KioskCore
from kiosk.domain.compartment import Compartment, CompartmentState, HeightClass, Size
from kiosk.domain.effects import ReportEvent, UnlockCompartment
from kiosk.domain.events import EventType
from kiosk.domain.staff import StaffRecord
from kiosk.domain.throttle import AttemptThrottle
from kiosk.guards import GuardTick, StaffCardGuard
from kiosk.remote_commands import OPEN, RemoteCommand, command_effects, command_refusal
from kiosk.store import KioskStore
from kiosk.store.guard_tables import GuardTables
from kiosk.store.retention import Retention, prune

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PARAMS = credentials.KdfParams(n=2**4, r=1, p=1)
SALT = b"guard-tests"
CARD = "04A1B2C3D4E5F6"
PIN = "246810"


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def open_kiosk(path, clock):
    store = KioskStore(path)
    core = KioskCore(store, SimulatedLockerBank(load_box("demo")), clock=clock)
    tables = GuardTables(store)
    core.pickup.throttle = tables.throttle("pickup", core.pickup.throttle)
    core.staff.throttle = tables.throttle("staff", core.staff.throttle)
    core.staff_cards = StaffCardGuard(tables, 5)
    with store.transaction() as tx:
        store.set_meta(tx, CREDENTIAL_POLICY_KEY, CredentialContext(SALT, PARAMS).to_json())
        store.save_staff(tx, staff_record("anna", PIN))
    return store, core, tables


def staff_record(staff_id: str, pin: str) -> StaffRecord:
    return StaffRecord(
        staff_id,
        credentials.lookup_key(CARD, SALT, PARAMS),
        credentials.make_verifier(CARD, pin, params=PARAMS),
    )


# ------------------------------------------------------------ throttles


def test_the_kiosk_backoff_survives_a_restart(tmp_path):
    clock = Clock()
    store, core, _ = open_kiosk(tmp_path / "k.sqlite3", clock)
    for _ in range(6):
        core.submit_code(credentials.generate_code())
    wait = core.pickup.throttle.wait_time(clock())
    assert wait > timedelta(0)
    store.close()
    store, core, _ = open_kiosk(tmp_path / "k.sqlite3", clock)  # restart
    assert core.pickup.throttle.wait_time(clock()) == wait
    assert core.pickup.throttle.recent_failures == 6
    store.close()


def test_the_alarm_is_not_raised_again_after_a_restart(tmp_path):
    clock = Clock()
    store, core, tables = open_kiosk(tmp_path / "k.sqlite3", clock)
    throttle = core.pickup.throttle
    alarms = [throttle.record_failure(clock()) for _ in range(throttle.alarm_after)]
    assert alarms.count(True) == 1
    store.close()
    store, core, _ = open_kiosk(tmp_path / "k.sqlite3", clock)
    assert (
        core.pickup.throttle.record_failure(clock()) is False
    )  # still alarmed, not a second alarm
    store.close()


# ---------------------------------------------------- staff card locks


def test_a_staff_card_locks_after_five_wrong_pins_even_across_restarts(tmp_path):
    clock = Clock()
    path = tmp_path / "k.sqlite3"
    locked_events = []
    for attempt in range(5):
        store, core, _ = open_kiosk(path, clock)
        clock.now += timedelta(minutes=20)  # outside the per-kiosk window: only the card counts
        core.present_staff_card(CARD)
        core.staff_pin("000000")
        locked_events += [
            e for e in store.journal_entries("event") if e[2]["type"] == "staff_card_locked"
        ]
        store.close()
    assert len(locked_events) == 1
    store, core, tables = open_kiosk(path, clock)
    clock.now += timedelta(minutes=20)
    core.present_staff_card(CARD)
    view = core.staff_pin(PIN)  # the right PIN: still no login
    assert view.staff_state.value != "menu"
    # Every try is in the kiosk's audit log: five wrong PINs, then the locked card.
    tries = [(e.actor, e.outcome) for e in store.audit_entries()
             if e.action == "staff.login_failed"]
    assert tries == [("staff:anna", "denied")] * 5 + [("locked card", "denied")]
    # The office issues a new PIN (the old record deactivated, a new one for
    # the card); the sync brings both and unlocks.
    renewed = staff_record("anna-2", "135790")
    with store.transaction() as tx:
        store.save_staff(tx, StaffRecord("anna", b"", "", False))
        store.save_staff(tx, renewed)
    assert tables.unlock_renewed_cards([renewed], clock()) == [renewed.card_lookup]
    core.present_staff_card(CARD)
    assert core.staff_pin("135790").staff_state.value == "menu"
    store.close()


def test_a_right_pin_resets_the_card_count(tmp_path):
    clock = Clock()
    store, core, tables = open_kiosk(tmp_path / "k.sqlite3", clock)
    for _ in range(4):
        clock.now += timedelta(minutes=20)
        core.present_staff_card(CARD)
        core.staff_pin("000000")
    clock.now += timedelta(minutes=20)
    core.present_staff_card(CARD)
    assert core.staff_pin(PIN).staff_state.value == "menu"
    assert not tables.card_locked(credentials.lookup_key(CARD, SALT, PARAMS))
    store.close()


# ---------------------------------------------------- remote commands


def compartment(order: str | None = None) -> Compartment:
    state = CompartmentState.OCCUPIED if order else CompartmentState.FREE
    return Compartment(5, Size.M, 1, 1, HeightClass.STANDARD, state, order)


def open_command(**kw) -> RemoteCommand:
    values = dict(
        command_id="c1",
        kind=OPEN,
        compartment=5,
        reason="check lock",
        requested_by="alice@office",
        create_time=T0 + timedelta(minutes=1),
    )
    values.update(kw)
    return RemoteCommand(**values)


def test_an_expired_command_is_refused():
    why = command_refusal(open_command(), T0 + timedelta(minutes=7), T0, compartment())
    assert why and "expired" in why
    why = command_refusal(
        open_command(expire_time=T0 + timedelta(minutes=2)),
        T0 + timedelta(minutes=3),
        T0,
        compartment(),
    )
    assert why and "expired" in why


def test_an_open_sent_before_the_kiosk_started_is_refused():
    why = command_refusal(
        open_command(create_time=T0 - timedelta(seconds=30)),
        T0 + timedelta(seconds=1),
        T0,
        compartment(),
    )
    assert why and "before this kiosk started" in why
    assert command_refusal(
        open_command(create_time=None), T0 + timedelta(minutes=2), T0, compartment()
    )


def test_an_open_of_a_compartment_with_a_document_needs_a_service_opening_with_a_reason():
    now = T0 + timedelta(minutes=2)
    assert "holds a document" in command_refusal(open_command(), now, T0, compartment("PO-1"))
    assert command_refusal(
        open_command(service_opening=True, reason=""), now, T0, compartment("PO-1")
    )
    assert command_refusal(open_command(service_opening=True), now, T0, compartment("PO-1")) is None
    assert command_refusal(open_command(), now, T0, compartment()) is None


def test_a_remote_open_is_recorded_like_a_service_opening_with_the_principal_not_as_staff():
    effects = command_effects(open_command(), T0 + timedelta(minutes=2), T0, compartment())
    event, unlock = effects
    assert isinstance(event, ReportEvent) and event.type is EventType.COMPARTMENT_SERVICE_OPENED
    assert "alice@office" in event.detail and event.staff_ids == ()
    assert isinstance(unlock, UnlockCompartment) and unlock.staff_ids == ()
    refused = command_effects(open_command(), T0 + timedelta(minutes=2), T0, compartment("PO-1"))
    assert [e.type for e in refused] == [EventType.COMMAND_REFUSED]


def test_the_core_refuses_a_stale_open_and_reports_it(tmp_path):
    clock = Clock()
    store, core, _ = open_kiosk(tmp_path / "k.sqlite3", clock)
    bank = core.bank
    before = len(bank.unlock_log)
    core.remote_command(open_command(create_time=T0 - timedelta(minutes=1)), started_at=T0)
    assert len(bank.unlock_log) == before
    events = [d for _, _, d in store.journal_entries("event")]
    assert events[-1]["type"] == "command_refused"
    clock.now = T0 + timedelta(minutes=2)
    core.remote_command(open_command(command_id="c2"), started_at=T0)
    assert len(bank.unlock_log) == before + 1
    store.close()


# ------------------------------------------------------------ pruning


def test_old_journal_and_command_rows_are_pruned_and_new_ones_kept(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    tables = GuardTables(store)
    with store.transaction() as tx:
        store.journal(tx, T0 - timedelta(days=100), "old")
        store.journal(tx, T0 - timedelta(days=1), "new")
        store.set_meta(tx, "command/legacy", (T0 - timedelta(days=40)).isoformat())
    tables.mark_command("old-cmd", T0 - timedelta(days=40), "open")
    tables.mark_command("new-cmd", T0 - timedelta(days=1), "open")
    pruned = prune(store, Retention(journal=timedelta(days=90), commands=timedelta(days=30)), T0)
    assert (pruned.journal, pruned.commands) == (1, 2)
    assert [k for _, k, _ in store.journal_entries()] == ["new", "pruned"]
    assert tables.command_handled("new-cmd") and not tables.command_handled("old-cmd")
    assert not tables.command_handled("legacy")
    store.close()


def test_the_guard_tick_prunes_hourly_and_stores_the_trusted_time(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    tables = GuardTables(store)
    tick = GuardTick(tables, None, Retention())
    with store.transaction() as tx:
        store.journal(tx, T0 - timedelta(days=200), "old")
    assert tick(T0) == []
    assert store.journal_entries("old") == []
    store.close()


def test_a_template_throttle_keeps_its_policy(tmp_path):
    store = KioskStore(tmp_path / "k.sqlite3")
    throttle = GuardTables(store).throttle("staff", AttemptThrottle(free_failures=3, alarm_after=5))
    assert (throttle.free_failures, throttle.alarm_after) == (3, 5)
    store.close()


def test_restarting_every_minute_gives_an_attacker_no_more_guesses(tmp_path):
    """The guessing benchmark's attacker (simulated time): restarts must not raise the rate."""
    from tests.benchmarks.bench_guessing import attack_codes, attack_staff_card

    minute = timedelta(minutes=1)
    steady = attack_codes(tmp_path, "steady", 30, None, True)
    restarted = attack_codes(tmp_path, "restarted", 30, minute, True)
    assert restarted["restarts"] >= 25
    assert restarted["looked_up_per_hour"] <= steady["looked_up_per_hour"]
    old = attack_codes(tmp_path, "in-memory", 30, minute, False)
    assert (
        old["looked_up_per_hour"] > 2 * steady["looked_up_per_hour"]
    )  # what the persistence prevents
    assert attack_staff_card(tmp_path, "card", 30, minute)["pin_checks_per_hour"] <= 2 * 5


def test_the_office_unlocks_a_locked_card_with_a_higher_unlock_generation(tmp_path):
    from kiosk.store.guard_tables import unlock_reason

    clock = Clock()
    store, core, tables = open_kiosk(tmp_path / "k.sqlite3", clock)
    for _ in range(5):
        clock.now += timedelta(minutes=20)
        core.present_staff_card(CARD)
        core.staff_pin("000000")
    clock.now += timedelta(minutes=20)
    core.present_staff_card(CARD)
    assert core.staff_pin(PIN).staff_state.value != "menu"  # locked
    same = store.staff_by_lookup(credentials.lookup_key(CARD, SALT, PARAMS))
    # A sync of the record as it was (e.g. a full sync) leaves the lock.
    assert tables.unlock_renewed_cards([same], clock()) == []
    unlocked = replace(same, unlock_generation=1)
    with store.transaction() as tx:
        store.save_staff(tx, unlocked)
    assert tables.unlock_renewed_cards([unlocked], clock()) == [same.card_lookup]
    core.logout()
    core.present_staff_card(CARD)
    assert core.staff_pin(PIN).staff_state.value == "menu"  # the same PIN works again
    audited = [(e.actor, e.action, e.target) for e in store.audit_entries()
               if e.action == "staff.card_unlocked"]
    assert audited == [("registry", "staff.card_unlocked", "anna")]
    core.logout()
    # Locked again under generation 1: only generation 2 lifts it.
    for _ in range(5):
        clock.now += timedelta(minutes=20)
        core.present_staff_card(CARD)
        core.staff_pin("000000")
    assert tables.unlock_renewed_cards([unlocked], clock()) == []
    assert tables.unlock_renewed_cards([replace(same, unlock_generation=2)], clock()) \
        == [same.card_lookup]
    store.close()
    assert unlock_reason("v", 0, replace(same, active=False, unlock_generation=9)) is None
