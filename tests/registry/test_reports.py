"""The office's report figures as pure functions over built facts, the
open-data export's suppression, and who may read reports (the run through
the HTTP API is tests/http_api/test_http_reports.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.pickup_order import OrderStatus
from registry import permissions
from registry.permissions import Permission, Principal, Role
from registry.reports import (
    AlarmFact,
    OpeningHours,
    OrderFacts,
    Period,
    ReportConfig,
    build_report,
    open_data,
    open_data_csv,
    report_csv,
    suppress,
)

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def picked(deposit: datetime, collect: datetime) -> OrderFacts:
    return OrderFacts(kind="id_card", status=OrderStatus.COLLECTED, deposit_time=deposit,
                      collect_time=collect, end_time=collect)


# Week of Monday 2026-11-02 (CET, UTC+1).
ORDERS = [
    picked(local(2026, 11, 2, 9), local(2026, 11, 2, 10, 30)),  # Mon, counter open
    picked(local(2026, 11, 2, 9), local(2026, 11, 2, 23, 10)),  # Mon night
    picked(local(2026, 11, 2, 23, 30), local(2026, 11, 3, 0, 10)),  # next calendar day
    picked(local(2026, 11, 2, 9), local(2026, 11, 3, 15, 0)),  # Tue afternoon: open
    picked(local(2026, 11, 2, 9), local(2026, 11, 7, 11, 0)),  # Sat
    picked(local(2026, 10, 1, 9), local(2026, 11, 4, 7, 59)),  # 34 days, before opening
    OrderFacts(kind="passport", status=OrderStatus.DEPOSITED, deposit_time=local(2026, 11, 3, 8)),
    OrderFacts(kind="id_card", status=OrderStatus.REMOVED, deposit_time=local(2026, 10, 1, 9),
               end_time=local(2026, 11, 5, 9)),
    OrderFacts(kind="id_card", status=OrderStatus.CANCELLED, end_time=local(2026, 11, 5, 9)),
]
ALARMS = [
    AlarmFact("EVENT_TYPE_DOOR_FORCED", local(2026, 11, 3, 2)),
    AlarmFact("EVENT_TYPE_DOOR_FORCED", local(2026, 11, 4, 2)),
    AlarmFact("EVENT_TYPE_ATTEMPTS_THROTTLED", local(2026, 11, 4, 3)),
    AlarmFact("EVENT_TYPE_DOOR_FORCED", local(2026, 12, 24, 2)),  # outside the period
]
WEEK = Period(date(2026, 11, 2), date(2026, 11, 8))


def test_opening_hours_are_parsed_and_bad_ones_named():
    hours = OpeningHours.parse("mon-fri 08:00-12:00; tue,thu 14:00-18:00")
    assert hours.is_open(local(2026, 11, 3, 15))  # Tuesday afternoon
    assert not hours.is_open(local(2026, 11, 4, 15))  # Wednesday afternoon
    assert not hours.is_open(local(2026, 11, 2, 12))  # the end is exclusive
    assert not hours.is_open(local(2026, 11, 7, 10))  # Saturday
    assert OpeningHours.parse("").intervals == ()
    for bad, named in (("mon-fri", "give times"), ("mo 08:00-12:00", "mon..sun"),
                       ("mon 8-12", "HH:MM-HH:MM"), ("mon 12:00-08:00", "ends before"),
                       ("fri-mon 08:00-09:00", "backwards"), ("mon 25:00-26:00", "time of day")):
        with pytest.raises(ValueError, match=named):
            OpeningHours.parse(bad)


def test_the_weeks_figures():
    report = build_report(ORDERS, ALARMS, ReportConfig(), WEEK)
    assert report.pickups_total == 6
    assert report.pickups_per_day == {
        "2026-11-02": 2, "2026-11-03": 2, "2026-11-04": 1, "2026-11-05": 0,
        "2026-11-06": 0, "2026-11-07": 1, "2026-11-08": 0,
    }
    assert {h: n for h, n in enumerate(report.pickups_per_hour) if n} == {
        0: 1, 7: 1, 10: 1, 11: 1, 15: 1, 23: 1}
    # Outside the counter's hours: Mon 23:10, Tue 00:10, Sat 11:00, Wed 07:59.
    assert report.outside_opening_hours == 4
    assert report.outside_opening_hours_share == pytest.approx(4 / 6)
    # The removed order went back to the counter; the cancelled one was never in the box.
    assert report.returns_to_counter == 1 and report.returns_per_day["2026-11-05"] == 1
    assert report.alarms_by_kind == {"ATTEMPTS_THROTTLED": 1, "DOOR_FORCED": 2}
    everything = build_report(ORDERS, ALARMS, ReportConfig())
    assert everything.pickups_total == 6 and everything.alarms_by_kind["DOOR_FORCED"] == 3


def test_days_from_deposit_to_pickup_are_local_calendar_days():
    report = build_report(ORDERS, [], ReportConfig(), WEEK)
    days = report.days_to_pickup
    # Same day twice, 23:30 -> 00:10 is one day, Mon -> Tue one, Mon -> Sat five, 34 days capped.
    assert (days["0"], days["1"], days["5"], days["14+"]) == (2, 2, 1, 1)
    assert sum(days.values()) == report.pickups_total == 6
    assert report.median_days_to_pickup == 1.0


def test_pickups_are_counted_in_the_offices_time_zone():
    # 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Berlin: a day and an hour later.
    order = picked(datetime(2026, 10, 31, 20, tzinfo=timezone.utc),
                   datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc))
    berlin = build_report([order], [], ReportConfig())
    assert berlin.pickups_per_day == {"2026-11-01": 1} and berlin.pickups_per_hour[0] == 1
    utc = build_report([order], [], ReportConfig(timezone="UTC"))
    assert utc.pickups_per_day == {"2026-10-31": 1} and utc.pickups_per_hour[23] == 1
    with pytest.raises(ValueError, match="unknown time zone"):
        build_report([order], [], ReportConfig(timezone="Mars/Olympus"))


def test_the_csv_has_every_figure():
    report = build_report(ORDERS, ALARMS, ReportConfig(), WEEK)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["figure", "key", "value"]
    table = {(f, k): v for f, k, v in rows[1:]}
    assert table[("pickups_per_day", "2026-11-02")] == "2"
    assert table[("pickups_per_hour", "23")] == "1"
    assert table[("outside_opening_hours", "")] == str(report.outside_opening_hours)
    assert table[("days_to_pickup", "14+")] == "1"
    assert table[("returns_to_counter", "")] == "1"
    assert table[("alarms_by_kind", "DOOR_FORCED")] == "2"
    assert {f for f, _ in table} == {
        "pickups_per_day", "pickups_per_hour", "pickups_total", "outside_opening_hours",
        "outside_opening_hours_share", "days_to_pickup", "returns_per_day",
        "returns_to_counter", "alarms_by_kind"}


def test_small_counts_are_suppressed_and_a_lone_one_is_not_recoverable():
    assert suppress({"a": 0, "b": 5, "c": 12}) == {"a": 0, "b": 5, "c": 12}
    # One small cell: the next smallest goes too, so a total cannot give it back.
    assert suppress({"a": 3, "b": 7, "c": 12}) == {"a": None, "b": None, "c": 12}
    assert suppress({"a": 3, "b": 1, "c": 12}) == {"a": None, "b": None, "c": 12}
    assert suppress({"a": 3}) == {"a": None}


def test_open_data_holds_aggregates_only():
    many = [picked(local(2026, 11, d, 9), local(2026, 11, d, h))
            for d in range(2, 7) for h in (10, 20)] * 3  # 30 more, 15 outside hours
    data = open_data(build_report(many + ORDERS, ALARMS, ReportConfig(), WEEK))
    assert data["suppressed_below"] == 5
    assert data["pickups_per_month"] == {"2026-11": 36}  # months, never single days
    assert data["pickups_per_hour"]["10"] == 16 and data["pickups_per_hour"]["20"] == 15
    assert data["pickups_per_hour"]["23"] is None and data["pickups_per_hour"]["03"] == 0
    assert data["outside_opening_hours_share"] == round(19 / 36, 2)
    assert data["returns_per_month"] == {"2026-11": None}
    assert data["alarms_by_kind"] == {"ATTEMPTS_THROTTLED": None, "DOOR_FORCED": None}
    assert "pickups_total" not in data and "pickups_per_day" not in data
    text = open_data_csv(data)
    assert "pickups_per_hour,23,\r\n" in text and "2026-11-02" not in text
    # Too few pickups: no share either.
    assert open_data(build_report(ORDERS, [], ReportConfig(), WEEK))[
        "outside_opening_hours_share"] is None


# ------------------------------------------------------------------ who may


@pytest.mark.parametrize("role, allowed", [
    (Role.AUDITOR, True), (Role.SUPERVISOR, True), (Role.CLERK, False),
    (Role.INTEGRATION, False), (Role.TECHNICIAN, False), (Role.ADMIN, False),
])
def test_reports_are_for_auditors_and_supervisors(role, allowed):
    principal = Principal(kind="api_key", name="k", office_id="default", roles=frozenset({role}))
    for method in permissions.REPORT_PERMISSIONS:
        decision = permissions.decide(method, principal)
        assert decision.allowed is allowed
        if not allowed:
            assert decision.reason == "ROLE_MISSING" and "reports.read" in decision.message
    assert (Permission.REPORTS_READ in principal.permissions) is allowed
    kiosk = Principal(kind="kiosk", name="kiosk-1", kiosk_id="kiosk-1")
    assert permissions.decide(permissions.REPORTS_SERVICE + "GetReport", kiosk).reason == (
        "OFFICE_ONLY")
