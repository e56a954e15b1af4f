"""Reports (supervisors, auditors): pickups per day and per hour of day, the
share collected outside the counter's opening hours, days from deposit to
pickup, returns to the counter and alarms, each as a chart with its numbers
in a table beside it; a CSV download; and the anonymous open-data export a
municipality can publish (aggregated counts only, small counts withheld).

The figures are registry/reports.py's, the same the HTTP API serves; this
page only chooses the period and draws them. Downloads are audited.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from starlette.responses import Response

from registry import reports
from registry.console import alarms, charts
from registry.console.app import Console, Page
from registry.console.history import TIME_ZONE
from registry.console.texts import ENGLISH, N_
from registry.permissions import Permission

DEFAULT_DAYS = 30
MAX_DAYS = 366


def parse_period(start: str, end: str, today: date,
                 _=ENGLISH) -> tuple[reports.Period, dict]:
    """The form's period (default: the last 30 days up to today); errors by field."""
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, text in (("start", start), ("end", end)):
        if not text:
            continue
        try:
            days[name] = date.fromisoformat(text)
        except ValueError:
            errors[name] = _("Please give a date as YYYY-MM-DD, e.g. 2026-11-01.")
    end_day = days.get("end", today)
    start_day = days.get("start", end_day - timedelta(days=DEFAULT_DAYS - 1))
    if not errors and end_day < start_day:
        errors["end"] = _("The end lies before the start.")
    elif not errors and (end_day - start_day).days >= MAX_DAYS:
        errors["end"] = _("A report covers at most {count} days.", count=MAX_DAYS)
    if errors:
        end_day, start_day = today, today - timedelta(days=DEFAULT_DAYS - 1)
    return reports.Period(start_day, end_day), errors


def _report(page: Page) -> tuple[reports.Report, dict]:
    query = page.request.query_params
    today = datetime.now(TIME_ZONE).date()
    period, errors = parse_period(query.get("start", ""), query.get("end", ""), today, page._)
    with page.console.db.transaction() as tx:
        report = reports.load_report(tx, page.principal.office_id, page.console.report_config,
                                     period)
    return report, errors


async def reports_page(page: Page) -> Response:
    report, errors = _report(page)
    share = report.outside_opening_hours_share
    hours = [(f"{hour:02d}", n) for hour, n in enumerate(report.pickups_per_hour)]
    return page.render(
        "reports.html", 422 if errors else 200, report=report, errors=errors,
        share=None if share is None else round(100 * share),
        per_day=charts.bars([(day[5:], n) for day, n in report.pickups_per_day.items()]),
        per_hour=charts.bars(hours),
        to_pickup=charts.bars(list(report.days_to_pickup.items())),
        query=page.request.url.query,
        alarm_label=lambda kind: page._(alarms.LABELS.get("EVENT_TYPE_" + kind, kind))
        if "EVENT_TYPE_" + kind in alarms.LABELS else kind,
        values={"start": report.period.start.isoformat(), "end": report.period.end.isoformat()},
    )


def _download(page: Page, body: str, name: str, media_type: str, what: str) -> Response:
    with page.console.db.transaction() as tx:
        tx.audit(page.principal.label, "report.exported", office_id=page.principal.office_id or "",
                 export=what, period=name)
    return Response(body, media_type=media_type,
                    headers={"content-disposition": f'attachment; filename="{name}"'})


async def report_csv(page: Page) -> Response:
    report, _errors = _report(page)
    name = f"report-{report.period.start}-{report.period.end}.csv"
    return _download(page, reports.report_csv(report), name, "text/csv; charset=utf-8", "report")


async def open_data_csv(page: Page) -> Response:
    report, _errors = _report(page)
    name = f"open-data-{report.period.start}-{report.period.end}.csv"
    return _download(page, reports.open_data_csv(reports.open_data(report)), name,
                     "text/csv; charset=utf-8", "open_data")


async def open_data_json(page: Page) -> Response:
    report, _errors = _report(page)
    name = f"open-data-{report.period.start}-{report.period.end}.json"
    body = json.dumps(reports.open_data(report), ensure_ascii=False, indent=2)
    return _download(page, body, name, "application/json", "open_data")


def register(console: Console) -> None:
    console.add("/reports", reports_page, needs=Permission.REPORTS_READ)
    console.add("/reports/report.csv", report_csv, needs=Permission.REPORTS_READ)
    console.add("/reports/open-data.csv", open_data_csv, needs=Permission.REPORTS_READ)
    console.add("/reports/open-data.json", open_data_json, needs=Permission.REPORTS_READ)
    console.nav("/reports", N_("Reports"), needs=Permission.REPORTS_READ,
                description=N_("Pickups per day and hour, outside opening hours, returns, alarms;"
                               " CSV and open data."))
