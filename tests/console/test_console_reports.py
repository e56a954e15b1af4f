"""The reports page: the period form's rules, the charts' geometry, and the
page, CSV and open-data downloads against a real registry with collected orders."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date

import pytest

from registry.console import charts
from registry.console.reports import parse_period
from tests.console.test_console_fleet import _alarm, _deposit, _register
from pickupbox.registry.v1 import registry_pb2 as pb

TODAY = date(2026, 12, 2)


def test_the_period_defaults_to_the_last_30_days_and_bad_dates_are_named():
    period, errors = parse_period("", "", TODAY)
    assert (period.start, period.end, errors) == (date(2026, 11, 3), TODAY, {})
    period, errors = parse_period("2026-11-01", "2026-11-30", TODAY)
    assert (period.start, period.end, errors) == (date(2026, 11, 1), date(2026, 11, 30), {})
    assert set(parse_period("1.11.2026", "", TODAY)[1]) == {"start"}
    assert set(parse_period("2026-11-30", "2026-11-01", TODAY)[1]) == {"end"}
    assert set(parse_period("2025-01-01", "2026-11-01", TODAY)[1]) == {"end"}
    # A refused period falls back to the default, so the page still shows figures.
    assert parse_period("x", "", TODAY)[0].end == TODAY


def test_bars_are_scaled_to_the_largest_and_an_empty_chart_is_flat():
    chart = charts.bars([("a", 2), ("b", 4), ("c", 0)], height=100)
    assert [(b.label, b.height, b.y) for b in chart.bars] == [("a", 50, 50), ("b", 100, 0),
                                                              ("c", 0, 100)]
    assert chart.bars[1].x - chart.bars[0].x == charts.BAR_WIDTH + charts.GAP
    assert chart.maximum == 4
    assert all(b.height == 0 for b in charts.bars([("a", 0)]).bars)


def _collect(console, reference: str) -> None:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_COLLECTED,
                          order_reference=reference, compartment_number=2,
                          pin_letter_confirmed=True)
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)


@pytest.mark.integration
def test_a_supervisor_sees_the_figures_and_downloads_them_and_a_clerk_is_refused(console):
    _register(console)
    _deposit(console, "BB-REPORT-1")
    _collect(console, "BB-REPORT-1")
    _alarm(console)
    sven = console.client("sven")
    page = sven.get("/reports")
    assert page.status_code == 200
    assert '<dd id="pickups-total">1</dd>' in page.text
    assert "Tür aufgebrochen" in page.text  # the alarm, by its name
    assert "BB-REPORT-1" not in page.text  # figures, never references
    rows = list(csv.reader(io.StringIO(sven.get("/reports/report.csv").text)))
    assert ["pickups_total", "", "1"] in rows
    data = json.loads(sven.get("/reports/open-data.json").text)
    assert data["suppressed_below"] == 5
    assert "BB-REPORT-1" not in json.dumps(data)
    # One pickup is below the threshold: withheld in the published counts.
    assert all(v is None or v == 0 for v in data["pickups_per_hour"].values())
    assert "BB-REPORT-1" not in sven.get("/reports/open-data.csv").text
    assert [e["actor"] for e in console.audit("report.exported")] == ["user:sven"] * 3
    bad = sven.get("/reports?start=gestern")
    assert bad.status_code == 422 and 'id="error-start"' in bad.text
    assert console.client("clara").get("/reports").status_code == 403
    assert console.client("clara").get("/reports/open-data.csv").status_code == 403
