"""The database's report aggregates (registry/reports.py load_counts) against
the same report computed in Python from every order (build_report), on
SQLite and PostgreSQL: local days and hours across midnight and the daylight
saving changes, a zone with a half-hour offset (counted per minute), the
office filter, the period's edges, counter returns and days to pickup."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.domain.pickup_order import OrderStatus
from registry.reports import (
    OpeningHours, OrderFacts, Period, ReportConfig, build_report, by_hour_suffices, load_counts,
    load_report, report_from_counts,
)

UTC = timezone.utc


def moments() -> list[datetime]:
    """Collection times around the edges that matter: local midnights, both
    2026 daylight saving changes in Berlin, the opening hours' edges."""
    edges = [datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
             datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
             datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
             datetime(2026, 3, 29, 21, 59, 59, 999999, tzinfo=UTC),
             datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
             datetime(2026, 10, 25, 22, 59, tzinfo=UTC), datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
             datetime(2026, 11, 2, 6, 59, tzinfo=UTC), datetime(2026, 11, 2, 7, 0, tzinfo=UTC),
             datetime(2026, 11, 3, 18, 29, tzinfo=UTC), datetime(2026, 11, 3, 18, 30, tzinfo=UTC)]
    spread = [datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=257 * i) for i in range(1500)]
    return edges + spread


def orders() -> list[tuple[str, OrderFacts]]:
    made = []
    for i, collect in enumerate(moments()):
        office = "north" if i % 3 == 0 else "default"
        deposit = None if i % 11 == 0 else collect - timedelta(hours=(i * 7) % (24 * 20))
        made.append((office, OrderFacts(kind="id_card", status=OrderStatus.COLLECTED,
                                        deposit_time=deposit, collect_time=collect,
                                        end_time=collect)))
        if i % 5 == 0 or i < 13:  # a return to the counter (every edge), one not counted
            status = OrderStatus.REMOVED if i % 2 else OrderStatus.RETURNED_TO_COUNTER
            made.append((office, OrderFacts(kind="passport", status=status,
                                            deposit_time=collect, end_time=collect)))
            made.append((office, OrderFacts(kind="passport", status=OrderStatus.EXPIRED,
                                            end_time=collect)))
    return made


def text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


@pytest.fixture
def filled(open_database):
    db = open_database()
    made = orders()
    with db.transaction() as tx:
        tx._run(
            "INSERT INTO orders (reference, kind, status, size, needs_low,"
            " requires_pin_letter_confirmation, kiosk_id, create_time, code_lookup,"
            " pin_verifier, change_seq, office_id, deposit_time, collect_time, end_time)"
            " VALUES (:reference, :kind, :status, 'S', 0, 0, 'kiosk-1', :created, :lookup, 'v',"
            " :seq, :office, :deposit, :collect, :ended)",
            [{"reference": f"PO-{i:06d}", "kind": o.kind, "status": o.status.value,
              "created": "2026-01-01T00:00:00+00:00", "lookup": secrets.token_bytes(16),
              "seq": i + 1, "office": office, "deposit": text(o.deposit_time),
              "collect": text(o.collect_time), "ended": text(o.end_time)}
             for i, (office, o) in enumerate(made)])
    return db, made


CASES = [
    (ReportConfig(), Period(date(2026, 3, 28), date(2026, 4, 5))),
    (ReportConfig(), Period(date(2026, 10, 20), date(2026, 11, 4))),
    (ReportConfig(), Period()),
    (ReportConfig(timezone="UTC"), Period(date(2026, 3, 29), date(2026, 3, 29))),
    # Half-hour offset and opening hours ending on the half hour: counted per minute.
    (ReportConfig(timezone="Asia/Kolkata",
                  opening_hours=OpeningHours.parse("mon-fri 09:30-13:15")),
     Period(date(2026, 3, 1), date(2026, 6, 30))),
    (ReportConfig(timezone="America/New_York"), Period(date(2026, 3, 1), date(2026, 11, 30))),
]


@pytest.mark.parametrize("config, period", CASES)
@pytest.mark.parametrize("office", [None, "north"])
def test_the_database_counts_as_the_report_rules_do(filled, config, period, office):
    db, made = filled
    facts = [o for owner, o in made if office is None or owner == office]
    expected = build_report(facts, [], config, period)
    with db.transaction() as tx:
        counted = report_from_counts(load_counts(tx, office, config, period), [], config, period)
    assert counted == expected
    assert expected.pickups_total and expected.returns_to_counter  # the case counts something


def test_a_report_reads_the_alarms_of_its_period_and_office(filled):
    db, _made = filled
    with db.transaction() as tx:
        report = load_report(tx, "north", ReportConfig(),
                             Period(date(2026, 3, 28), date(2026, 4, 5)))
    assert report.pickups_total > 0 and report.alarms_by_kind == {}


def test_whole_hours_suffice_only_for_whole_hour_opening_hours_and_offsets():
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    berlin = ReportConfig().zone
    assert by_hour_suffices(OpeningHours.parse("mon-fri 08:00-12:00"), berlin, start, end)
    assert not by_hour_suffices(OpeningHours.parse("mon-fri 08:30-12:00"), berlin, start, end)
    assert not by_hour_suffices(OpeningHours.parse("mon-fri 08:00-12:00"),
                                ReportConfig(timezone="Asia/Kolkata").zone, start, end)
