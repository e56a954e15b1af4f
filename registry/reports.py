"""The office's report figures, computed from the registry's own data.

Loading is one step (:func:`load_report`: the database counts the period's
orders in three portable GROUP BY queries, :func:`load_counts`, and the
period's alarm events are read); everything after it is pure functions over
plain counts and facts, which tests call directly with built data
(:func:`build_report` counts built orders as the database would):

* pickups per day and per hour of day (local time of the office),
* the share collected outside the counter's opening hours (the reason a
  24/7 box exists; the hours are configuration, :class:`OpeningHours`),
* days from deposit to pickup (calendar days in local time, as the office
  counts them: deposited on Monday and collected on Tuesday is one day),
* returns to the counter (orders whose document staff took back out of the
  box: uncollected by the deadline, or cancelled after the deposit; and
  orders the office marked as returned to the counter, e.g. never deposited),
* alarms by kind (the kiosks' alarm events, at the time they occurred).

:func:`report_csv` exports a report; :func:`open_data` makes the anonymous
export a municipality can publish (see docs/http-api.md, "Open data"):
monthly and hourly counts only, no references, no days, small counts
suppressed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.domain.pickup_order import OrderStatus
from registry.events import ALARM_EVENTS, event_type_name
from registry.database import Transaction, stored_moment
from pickupbox.registry.v1 import registry_pb2 as pb

DEFAULT_TIMEZONE = "Europe/Berlin"
# A common Bürgerbüro week: mornings on weekdays, two long afternoons.
DEFAULT_OPENING_HOURS = "mon-fri 08:00-12:00; tue,thu 14:00-18:00"
# Days from deposit to pickup: 0 .. 13 one bucket each, then "14+".
DAYS_CAP = 14
# Open data: counts from 1 to SUPPRESS_BELOW - 1 are withheld.
SUPPRESS_BELOW = 5

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---------------------------------------------------------------- opening hours


@dataclass(frozen=True)
class OpeningHours:
    """The counter's weekly opening hours: per weekday (0 = Monday) intervals [start, end)."""

    intervals: tuple[tuple[int, time, time], ...]

    @classmethod
    def parse(cls, text: str) -> "OpeningHours":
        """``"mon-fri 08:00-12:00; tue,thu 14:00-18:00"``: days, then one or more
        ``HH:MM-HH:MM`` ranges, groups separated by ``;``. Empty: never open."""
        intervals: list[tuple[int, time, time]] = []
        for group in filter(None, (g.strip() for g in text.split(";"))):
            days_text, _, ranges_text = group.partition(" ")
            days = _parse_days(days_text, group)
            ranges = ranges_text.replace(",", " ").split()
            if not ranges:
                raise ValueError(f"opening hours {group!r}: give times, e.g. 'mon-fri 08:00-12:00'")
            for span in ranges:
                match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", span)
                if match is None:
                    raise ValueError(f"opening hours {group!r}: {span!r} is not HH:MM-HH:MM")
                h1, m1, h2, m2 = (int(v) for v in match.groups())
                if h2 == 24 and m2 == 0:
                    h2, m2 = 23, 59  # "until midnight"
                try:
                    start, end = time(h1, m1), time(h2, m2)
                except ValueError:
                    raise ValueError(f"opening hours {group!r}: {span!r} is not a time of day") from None
                if end <= start:
                    raise ValueError(f"opening hours {group!r}: {span!r} ends before it starts")
                intervals.extend((day, start, end) for day in days)
        return cls(tuple(intervals))

    def is_open(self, moment: datetime) -> bool:
        """Is the counter open at ``moment`` (a local time)?"""
        weekday, clock = moment.weekday(), moment.time()
        return any(day == weekday and start <= clock < end for day, start, end in self.intervals)


def _parse_days(text: str, group: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"opening hours {group!r}: days are mon..sun, e.g. 'mon-fri' or 'tue,thu'")
        a, b = _DAYS.index(first), _DAYS.index(last or first)
        if b < a:
            raise ValueError(f"opening hours {group!r}: {part!r} runs backwards")
        days.extend(range(a, b + 1))
    return days


@dataclass(frozen=True)
class ReportConfig:
    timezone: str = DEFAULT_TIMEZONE
    opening_hours: OpeningHours = field(
        default_factory=lambda: OpeningHours.parse(DEFAULT_OPENING_HOURS))

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (e.g. Europe/Berlin)") from None


# ------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class OrderFacts:
    """What reports need of an order: no reference, no contact."""

    kind: str
    status: OrderStatus
    deposit_time: datetime | None = None
    collect_time: datetime | None = None
    end_time: datetime | None = None


@dataclass(frozen=True)
class AlarmFact:
    kind: str  # the event type's name, e.g. EVENT_TYPE_DOOR_FORCED
    time: datetime


def load_facts(tx: Transaction, office_id: str | None) -> tuple[list[OrderFacts], list[AlarmFact]]:
    """Every order and alarm event of ``office_id`` (None: every office), as
    facts. For tests and small registries: the report itself reads
    :func:`load_counts`, which the database aggregates."""
    where, params = ("", {}) if office_id is None else (" WHERE office_id = :office_id",
                                                        {"office_id": office_id})
    orders = [
        OrderFacts(kind=row["kind"], status=OrderStatus(row["status"]),
                   deposit_time=stored_moment(row["deposit_time"]),
                   collect_time=stored_moment(row["collect_time"]), end_time=stored_moment(row["end_time"]))
        for row in tx.query("SELECT kind, status, deposit_time, collect_time, end_time FROM orders"
                            + where, params)
    ]
    return orders, load_alarm_facts(tx, office_id)


def load_alarm_facts(tx: Transaction, office_id: str | None,
                     since: datetime | None = None) -> list[AlarmFact]:
    """The alarm events of ``office_id``; with ``since``, only those received
    after it (less a day for a kiosk clock running ahead): an event that
    occurred in a period is received in it or later."""
    names = sorted(event_type_name(t) for t in ALARM_EVENTS)
    types = {f"type{i}": name for i, name in enumerate(names)}
    params: dict = dict(types)
    sql = ("SELECT e.type, e.payload, e.received_at FROM events e"
           " JOIN kiosk_enrolments k ON k.kiosk_id = e.kiosk_id"
           f" WHERE e.type IN ({', '.join(':' + key for key in types)})")
    if office_id is not None:
        sql += " AND k.office_id = :office_id"
        params["office_id"] = office_id
    if since is not None:
        sql += " AND e.received_at >= :since"
        params["since"] = (since - CLOCK_AHEAD).astimezone(timezone.utc).isoformat()
    alarms = []
    for row in tx.query(sql, params):
        event = pb.KioskEvent.FromString(bytes(row["payload"]))
        # When it happened at the box, not when an offline kiosk got through.
        occurred = (event.occur_time.ToDatetime(tzinfo=timezone.utc)
                    if event.HasField("occur_time") else stored_moment(row["received_at"]))
        alarms.append(AlarmFact(kind=row["type"], time=occurred))
    return alarms


# A kiosk clock may run this much ahead of the registry's (load_alarm_facts).
CLOCK_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class OrderCounts:
    """The orders a report counts, already counted: what the database's
    aggregates (:func:`load_counts`) or :func:`count_orders` give.

    ``pickups``: collections per local time (naive, truncated to the hour or
    minute); ``waits``: collections per (local collect day, local deposit
    day), of those with a recorded deposit; ``returns``: counter returns per
    local day. Only moments within the report's period."""

    pickups: dict[datetime, int]
    waits: dict[tuple[date, date], int]
    returns: dict[date, int]


def count_orders(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> OrderCounts:
    """Pure: ``orders`` counted as :func:`load_counts` counts them in SQL."""
    picked = collected(orders, zone, period)
    pickups: Counter[datetime] = Counter(
        _local(o.collect_time, zone).replace(second=0, microsecond=0, tzinfo=None) for o in picked)
    waits: Counter[tuple[date, date]] = Counter(
        (_local(o.collect_time, zone).date(), _local(o.deposit_time, zone).date())
        for o in picked if o.deposit_time is not None)
    return OrderCounts(dict(pickups), dict(waits),
                       dict(Counter(returns_to_counter(orders, zone, period))))


def by_hour_suffices(hours: OpeningHours, zone: ZoneInfo, first: datetime, last: datetime) -> bool:
    """Pure: may pickups be counted per local hour (fewer groups) rather than
    per minute? Yes if the opening hours start and end on whole hours and the
    zone's offsets between ``first`` and ``last`` are whole hours."""
    if any(t.minute or t.second for _day, start, end in hours.intervals for t in (start, end)):
        return False
    return all(offset % timedelta(hours=1) == timedelta(0)
               for _moment, offset in offsets(zone, first, last))


def offsets(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, timedelta]]:
    """Pure: the zone's UTC offset at ``first`` and from each change up to
    ``last`` on (to the minute): [(from when, offset), ...]."""
    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset() or timedelta(0)

    moment = first.astimezone(timezone.utc)
    changes = [(moment, offset(moment))]
    while moment < last:
        following = moment + timedelta(days=1)
        if offset(following) != changes[-1][1]:
            low, high = moment, following  # the change lies in (low, high]
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == changes[-1][1] else (low, middle)
            changes.append((high.replace(second=0, microsecond=0), offset(following)))
        moment = following
    return changes


def _local_sql(tx: Transaction, column: str, shape: str, zone_name: str,
               changes: list[tuple[datetime, timedelta]], params: dict) -> str:
    """SQL for ``column`` (stored ISO text, UTC) as local time text: 'YYYY-MM-DD',
    'YYYY-MM-DD HH' or 'YYYY-MM-DD HH:MI' for shape day, hour, minute.
    PostgreSQL knows the zones; SQLite adds the offset in force, from the
    changes in the report's range (moments before it take its first offset)."""
    if tx.postgresql:
        params["zone"] = zone_name
        pattern = {"day": "YYYY-MM-DD", "hour": "YYYY-MM-DD HH24",
                   "minute": "YYYY-MM-DD HH24:MI"}[shape]
        return f"to_char(CAST({column} AS timestamptz) AT TIME ZONE :zone, '{pattern}')"
    pattern = {"day": "%Y-%m-%d", "hour": "%Y-%m-%d %H", "minute": "%Y-%m-%d %H:%M"}[shape]
    branches = []
    for i, (moment, offset) in enumerate(changes):
        minutes = f"'{int(offset.total_seconds() // 60):+d} minutes'"
        if i + 1 < len(changes):
            params[f"change{i + 1}"] = changes[i + 1][0].isoformat()
            branches.append(f"WHEN {column} < :change{i + 1} THEN {minutes}")
        else:
            branches.append(f"ELSE {minutes}")
    shift = branches[0].removeprefix("ELSE ") if len(branches) == 1 else (
        "CASE " + " ".join(branches) + " END")
    # To the second: SQLite rounds a fraction (23:59:59.9995 would be the next day).
    return f"strftime('{pattern}', substr({column}, 1, 19), {shift})"


def _utc_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The period's first and after-last local midnight, in UTC."""
    def midnight(day: date, days: int = 0) -> datetime:
        # Far dates (the HTTP API takes any) as the edges: no stored time lies beyond.
        day = min(max(day, _FIRST_DAY), _LAST_DAY) + timedelta(days=days)
        return datetime.combine(day, time(0), zone).astimezone(timezone.utc)

    return (None if period.start is None else midnight(period.start),
            None if period.end is None else midnight(period.end, 1))


_FIRST_DAY, _LAST_DAY = date(1900, 1, 1), date(9000, 1, 1)
# The oldest and newest moment SQLite converts with the zone's own offsets
# in an open-ended report; before and after, the offsets at those ends.
_OPEN_START = datetime(2020, 1, 1, tzinfo=timezone.utc)
# A deposit this long before its pickup counts as DAYS_CAP+ whatever its offset.
_DEPOSIT_REACH = timedelta(days=DAYS_CAP + 2)


def load_counts(tx: Transaction, office_id: str | None, config: ReportConfig,
                period: Period) -> OrderCounts:
    """The orders of ``office_id`` (None: every office) in ``period``, counted
    by the database: three GROUP BY queries over the period's orders, so a
    report over millions of orders reads a few thousand rows."""
    zone = config.zone
    lo, hi = _utc_bounds(period, zone)
    now = datetime.now(timezone.utc)
    # The zone's offset changes are looked up for the stored times' range only:
    # from 2020 (or the period's start) to now (no pickup lies in the future).
    last = min(hi or now, now) + timedelta(days=2)
    first = min(max(lo or _OPEN_START, _OPEN_START), last) - _DEPOSIT_REACH
    changes = offsets(zone, first, last)
    shape = "hour" if by_hour_suffices(config.opening_hours, zone, first, last) else "minute"

    def where(column: str, params: dict) -> str:
        clause = f" WHERE {column} IS NOT NULL"
        if office_id is not None:
            clause += " AND office_id = :office_id"
            params["office_id"] = office_id
        if lo is not None:
            clause += f" AND {column} >= :lo"
            params["lo"] = lo.isoformat()
        if hi is not None:
            clause += f" AND {column} < :hi"
            params["hi"] = hi.isoformat()
        return clause

    params: dict = {}
    moment = _local_sql(tx, "collect_time", shape, config.timezone, changes, params)
    rows = tx.query(f"SELECT {moment} AS moment, COUNT(*) AS n FROM orders"
                    + where("collect_time", params) + " GROUP BY 1", params)
    pickups = {datetime.strptime(row["moment"], "%Y-%m-%d %H" if shape == "hour"
                                 else "%Y-%m-%d %H:%M"): int(row["n"]) for row in rows}
    params = {}
    collect = _local_sql(tx, "collect_time", "day", config.timezone, changes, params)
    deposit = _local_sql(tx, "deposit_time", "day", config.timezone, changes, params)
    rows = tx.query(f"SELECT {collect} AS collected, {deposit} AS deposited, COUNT(*) AS n"
                    " FROM orders" + where("collect_time", params)
                    + " AND deposit_time IS NOT NULL GROUP BY 1, 2", params)
    waits = {(date.fromisoformat(row["collected"]), date.fromisoformat(row["deposited"])):
             int(row["n"]) for row in rows}
    params = {f"status{i}": status.value for i, status in enumerate(COUNTER_RETURNS)}
    ended = _local_sql(tx, "end_time", "day", config.timezone, changes, params)
    statuses = ", ".join(f":status{i}" for i in range(len(COUNTER_RETURNS)))
    rows = tx.query(f"SELECT {ended} AS ended, COUNT(*) AS n FROM orders"
                    + where("end_time", params) + f" AND status IN ({statuses}) GROUP BY 1", params)
    returns = {date.fromisoformat(row["ended"]): int(row["n"]) for row in rows}
    return OrderCounts(pickups, waits, returns)


def load_report(tx: Transaction, office_id: str | None, config: ReportConfig,
                period: Period | None = None) -> Report:
    """The report of ``office_id`` (None: every office) for ``period``: the
    orders counted by the database, the period's alarm events read."""
    period = period or Period()
    lo, _hi = _utc_bounds(period, config.zone)
    return report_from_counts(load_counts(tx, office_id, config, period),
                              load_alarm_facts(tx, office_id, lo), config, period)


# ---------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` .. ``end`` (inclusive); None: open-ended."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Report:
    period: Period
    timezone: str
    pickups_total: int
    pickups_per_day: dict[str, int]  # ISO day -> count, every day of the period
    pickups_per_hour: list[int]  # 24 counts, hour of day in local time
    outside_opening_hours: int
    days_to_pickup: dict[str, int]  # "0" .. "13", "14+"
    returns_to_counter: int
    returns_per_day: dict[str, int]
    alarms_by_kind: dict[str, int]

    @property
    def outside_opening_hours_share(self) -> float | None:
        return None if not self.pickups_total else self.outside_opening_hours / self.pickups_total

    @property
    def median_days_to_pickup(self) -> float | None:
        values = [int(k.rstrip("+")) for k, n in self.days_to_pickup.items() for _ in range(n)]
        if not values:
            return None
        middle = len(values) // 2
        return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    def as_dict(self) -> dict:
        return {
            "period": {"start": _iso(self.period.start), "end": _iso(self.period.end)},
            "timezone": self.timezone,
            "pickups_total": self.pickups_total,
            "pickups_per_day": self.pickups_per_day,
            "pickups_per_hour": self.pickups_per_hour,
            "outside_opening_hours": self.outside_opening_hours,
            "outside_opening_hours_share": self.outside_opening_hours_share,
            "days_to_pickup": self.days_to_pickup,
            "median_days_to_pickup": self.median_days_to_pickup,
            "returns_to_counter": self.returns_to_counter,
            "returns_per_day": self.returns_per_day,
            "alarms_by_kind": self.alarms_by_kind,
        }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _per_day(days: list[date], period: Period) -> dict[str, int]:
    """Counts per day, with the days between that had none (a chart needs them)."""
    return _counted_per_day(Counter(days), period)


def _counted_per_day(counts: Counter[date], period: Period) -> dict[str, int]:
    days = [day for day, n in counts.items() if n]
    first = period.start or (min(days) if days else None)
    last = period.end or (max(days) if days else None)
    if first is None or last is None:
        return {}
    days_between = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return {day.isoformat(): counts.get(day, 0) for day in days_between}


def collected(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> list[OrderFacts]:
    """The orders collected within the period (local days)."""
    return [o for o in orders if o.collect_time is not None
            and period.contains(_local(o.collect_time, zone).date())]


def pickups_per_day(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> dict[str, int]:
    return _per_day([_local(o.collect_time, zone).date() for o in collected(orders, zone, period)],
                    period)


def pickups_per_hour(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> list[int]:
    hours = Counter(_local(o.collect_time, zone).hour for o in collected(orders, zone, period))
    return [hours.get(h, 0) for h in range(24)]


def outside_opening_hours(orders: list[OrderFacts], hours: OpeningHours, zone: ZoneInfo,
                          period: Period) -> int:
    return sum(1 for o in collected(orders, zone, period)
               if not hours.is_open(_local(o.collect_time, zone)))


def days_to_pickup(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> dict[str, int]:
    buckets = {str(d): 0 for d in range(DAYS_CAP)} | {f"{DAYS_CAP}+": 0}
    for order in collected(orders, zone, period):
        if order.deposit_time is None:  # collected without a recorded deposit: not counted
            continue
        days = (_local(order.collect_time, zone).date()
                - _local(order.deposit_time, zone).date()).days
        key = f"{DAYS_CAP}+" if days >= DAYS_CAP else str(max(days, 0))
        buckets[key] += 1
    return buckets


COUNTER_RETURNS = (OrderStatus.REMOVED, OrderStatus.RETURNED_TO_COUNTER)


def returns_to_counter(orders: list[OrderFacts], zone: ZoneInfo, period: Period) -> list[date]:
    """The local days on which an uncollected document went back to the counter:
    staff took it out of the box (REMOVED; the order's end), or the office marked
    the order returned (RETURNED_TO_COUNTER; a removed one keeps its removal day)."""
    return [_local(o.end_time, zone).date() for o in orders
            if o.status in COUNTER_RETURNS and o.end_time is not None
            and period.contains(_local(o.end_time, zone).date())]


def alarms_by_kind(alarms: list[AlarmFact], zone: ZoneInfo, period: Period) -> dict[str, int]:
    counts = Counter(a.kind for a in alarms if period.contains(_local(a.time, zone).date()))
    return {kind.removeprefix("EVENT_TYPE_"): counts[kind] for kind in sorted(counts)}


def build_report(orders: list[OrderFacts], alarms: list[AlarmFact], config: ReportConfig,
                 period: Period = Period()) -> Report:
    """Pure: the report of ``orders`` (facts) and ``alarms``."""
    return report_from_counts(count_orders(orders, config.zone, period), alarms, config, period)


def report_from_counts(counts: OrderCounts, alarms: list[AlarmFact], config: ReportConfig,
                       period: Period = Period()) -> Report:
    """Pure: the report of counted orders (count_orders, load_counts) and ``alarms``."""
    zone = config.zone
    per_day: Counter[date] = Counter()
    per_hour = [0] * 24
    outside = 0
    for moment, n in counts.pickups.items():
        per_day[moment.date()] += n
        per_hour[moment.hour] += n
        if not config.opening_hours.is_open(moment):
            outside += n
    waits = {str(d): 0 for d in range(DAYS_CAP)} | {f"{DAYS_CAP}+": 0}
    for (collect_day, deposit_day), n in counts.waits.items():
        days = (collect_day - deposit_day).days
        waits[f"{DAYS_CAP}+" if days >= DAYS_CAP else str(max(days, 0))] += n
    return Report(
        period=period,
        timezone=config.timezone,
        pickups_total=sum(per_day.values()),
        pickups_per_day=_counted_per_day(per_day, period),
        pickups_per_hour=per_hour,
        outside_opening_hours=outside,
        days_to_pickup=waits,
        returns_to_counter=sum(counts.returns.values()),
        returns_per_day=_counted_per_day(Counter(counts.returns), period),
        alarms_by_kind=alarms_by_kind(alarms, zone, period),
    )


# ---------------------------------------------------------------------- exports


def _csv(rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def report_csv(report: Report) -> str:
    """One table, ``figure,key,value``: every figure of the report, easy to pivot."""
    rows: list[tuple] = [("figure", "key", "value")]
    rows += [("pickups_per_day", day, n) for day, n in report.pickups_per_day.items()]
    rows += [("pickups_per_hour", f"{h:02d}", n) for h, n in enumerate(report.pickups_per_hour)]
    rows.append(("pickups_total", "", report.pickups_total))
    rows.append(("outside_opening_hours", "", report.outside_opening_hours))
    share = report.outside_opening_hours_share
    rows.append(("outside_opening_hours_share", "", "" if share is None else f"{share:.4f}"))
    rows += [("days_to_pickup", days, n) for days, n in report.days_to_pickup.items()]
    rows += [("returns_per_day", day, n) for day, n in report.returns_per_day.items()]
    rows.append(("returns_to_counter", "", report.returns_to_counter))
    rows += [("alarms_by_kind", kind, n) for kind, n in report.alarms_by_kind.items()]
    return _csv(rows)


def suppress(counts: dict[str, int], below: int = SUPPRESS_BELOW) -> dict[str, int | None]:
    """Counts from 1 to ``below - 1`` become None (primary suppression); if that
    hides a single cell, the smallest other non-zero cell goes too (secondary
    suppression), so a published sum cannot give the hidden one back."""
    hidden = {k for k, n in counts.items() if 0 < n < below}
    if len(hidden) == 1:
        others = sorted((n, k) for k, n in counts.items() if n and k not in hidden)
        if others:
            hidden.add(others[0][1])
    return {k: (None if k in hidden else n) for k, n in counts.items()}


def open_data(report: Report, below: int = SUPPRESS_BELOW) -> dict:
    """The anonymous export: aggregated counts only, no references, no single
    days (months and hours of day), no totals, counts below ``below`` withheld."""
    months: Counter[str] = Counter()
    for day, n in report.pickups_per_day.items():
        months[day[:7]] += n
    returns: Counter[str] = Counter()
    for day, n in report.returns_per_day.items():
        returns[day[:7]] += n
    total, outside = report.pickups_total, report.outside_opening_hours
    # The share only when both the part and the rest are large enough.
    share = (round(outside / total, 2)
             if total and min(outside, total - outside) >= below else None)
    hours = suppress({f"{h:02d}": n for h, n in enumerate(report.pickups_per_hour)}, below)
    return {
        "period": {"start": _iso(report.period.start), "end": _iso(report.period.end)},
        "timezone": report.timezone,
        "suppressed_below": below,
        "pickups_per_month": suppress(dict(sorted(months.items())), below),
        "pickups_per_hour": hours,
        "outside_opening_hours_share": share,
        "days_to_pickup": suppress(report.days_to_pickup, below),
        "returns_per_month": suppress(dict(sorted(returns.items())), below),
        "alarms_by_kind": suppress(report.alarms_by_kind, below),
    }


def open_data_csv(data: dict) -> str:
    """``figure,key,value``; a withheld count has an empty value."""
    rows: list[tuple] = [("figure", "key", "value")]
    for figure in ("pickups_per_month", "pickups_per_hour", "days_to_pickup",
                   "returns_per_month", "alarms_by_kind"):
        rows += [(figure, key, "" if n is None else n) for key, n in data[figure].items()]
    share = data["outside_opening_hours_share"]
    rows.append(("outside_opening_hours_share", "", "" if share is None else share))
    return _csv(rows)
