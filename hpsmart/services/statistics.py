"""Statistics of reports for a period: one place for the dashboard, the PDF report and exports.

Definitions (they are also shown, translated, under each table: ``DEFINITIONS``):

* **Period.** Two local calendar dates (Asia/Ho_Chi_Minh), both included. They
  become the UTC bounds ``[start 00:00 local, day after end 00:00 local)``: a
  report received at 23:30 on 31/03 Hanoi time (16:30 UTC) belongs to March, one
  received at 00:30 on 01/04 Hanoi time (17:30 UTC on 31/03) to April. The
  server's own time zone plays no part.
* **Cohort.** Every figure is about the reports *received* in the period
  (``Report.created_at`` within the bounds), classified by their state at the
  time of computing (``now``). A report received in March and answered in April
  counts as answered in March's figures once April has come.
* **Received**: all of them. **Awaiting triage**: status ``new``.
  **Accepted**: taken into handling by the IOC (``accepted_at`` set), whatever
  happened afterwards. **Rejected** / **Duplicate**: those statuses.
  **In progress**: accepted, routed, in progress, returned to the IOC or
  reopened (handled but not answered now). **Answered**: status ``answered``
  (awaiting the lead's approval) or ``published``; **Published**: ``published``.
  ``awaiting triage + rejected + duplicate + in progress + answered = received``.
* **On time**: answered, with ``answered_at <= deadline`` (the deadline is the end
  of the last working day allowed, see :mod:`hpsmart.services.deadlines`);
  **Late**: answered with ``answered_at > deadline``. Answered reports without a
  deadline (no category when accepted) are neither. **On-time rate** =
  on time / (on time + late).
* **Overdue now**: not answered, rejected or duplicate (awaiting triage or in
  progress) and ``deadline < now``.
* **Time to answer**: working days from acceptance to the answer,
  ``deadlines.working_days_between(accepted_at, answered_at)``, over answered
  reports that have both times. Median and 90th percentile by linear
  interpolation between the closest ranks (the rule of PostgreSQL's
  ``percentile_cont`` and of spreadsheet ``PERCENTILE.INC``), computed here in
  Python from counts grouped by the database, so SQLite and PostgreSQL give the
  same result.
* **Per agency**: the handling agency (``Report.agency``; co-handling agencies
  are not counted). A 2022 agency that has a successor (the 2025
  restructuring) is counted under ``Agency.current_successor()``; the row names
  the former agencies and how many of its reports were routed to each.
* **Per ward/commune**, **per category**, **per channel**: the report's
  ``admin_unit``, ``category`` and ``channel`` today.
* **Per week**: ISO 8601 weeks (Monday to Sunday) of the local date of receipt,
  cut to the period.
* **Citizen satisfaction.** A citizen judges each published answer once
  (``CitizenFeedback``: satisfied or not; "not satisfied" reopens the report).
  Counted here: the reports *received in the period* (the cohort rule) that have
  a verdict, each once, with its **latest** verdict (greatest ``created_at``, then
  ``id``), whenever it was given. A report answered, judged "not satisfied",
  answered again and then judged "satisfied" counts once, as satisfied: the
  figure says how the citizens' problems ended, not how many answers were judged.
  Which verdict is the latest is decided when feedback is stored: it is kept on
  the report, ``Report.satisfied``
  (:func:`hpsmart.models.response.refresh_latest_verdicts`, run on every flush of
  feedback; migration 0009 filled it for older feedback), and counted from there.
  **Satisfied** / **Not satisfied**: reports whose latest verdict is that;
  **satisfaction rate** = satisfied / (satisfied + not satisfied), None without
  verdicts. Reports without a verdict (not answered yet, or the citizen did not
  answer) are in neither. Per agency, ward/commune, category, channel and week
  with the same keys as the other counts (a 2022 agency's verdicts under its
  successor). The public overview (:func:`hpsmart.services.public.overview`)
  takes these figures from ``compute``; this is the one place they are counted.

Aggregation happens in the database: three ``GROUP BY`` scans of the period's
reports — by (local day, channel), (agency, category) and ward — each also grouped
by the report's state (status, three flags and the latest verdict, see
``_state_columns``), plus one of answered reports by (local date accepted, local
date answered) for the working-day percentiles. No report row is loaded; the
grouped rows (a few thousand for a year) are turned into counts by ``_add``, the
same Python for SQLite and PostgreSQL. Figures for a year of 1,000,000 reports on
PostgreSQL, with and without the verdicts, are in bench/RESULTS.md
(bench/bench_statistics.py, bench/bench_dashboard.py).
"""
from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, timezone

from babel.dates import format_date
from sqlalchemy import Date, Integer, func, literal_column, select, text, union_all

from ..database import dialect_function
from ..extensions import db
from ..i18n import LOCAL_TZ
from ..i18n import lazy_gettext as _l
from ..models import AdministrativeUnit, Agency, Category, Channel, Report, ReportStatus, utcnow
from ..text import nfc, vietnamese_sort_key
from .deadlines import is_working_day, working_days_between

S = ReportStatus

#: Statuses that count as "in progress": handled, not answered now.
IN_PROGRESS_STATUSES = (S.ACCEPTED, S.ROUTED, S.IN_PROGRESS, S.RETURNED, S.REOPENED)
#: Statuses that count as "answered" (published included).
ANSWERED_STATUSES = (S.ANSWERED, S.PUBLISHED)
#: Statuses in which a report can be overdue: nobody has answered it yet.
UNANSWERED_STATUSES = (S.NEW, *IN_PROGRESS_STATUSES)

#: Shown under each table (translated at display time).
DEFINITIONS = {
    "period": _l("Figures are about the reports received in the period (local dates in Hai Phong, both "
                 "included), in the state they are in at the time of the report."),
    "summary": _l("In progress: accepted, routed, in progress, returned to the IOC or reopened. Answered: "
                  "answer sent (awaiting approval or published). On time: answered no later than the "
                  "deadline (end of the last working day allowed, counted in working days from "
                  "acceptance, weekends and public holidays excluded). Overdue: not answered and past "
                  "the deadline now. On-time rate: on time / (on time + late)."),
    "time_to_answer": _l("Time to answer: working days from acceptance to the answer; the median and the "
                         "90th percentile interpolate between the closest reports."),
    "agency": _l("Handling agency of each report (co-handling agencies are not counted). Reports routed to "
                 "an agency that was merged in 2025 count under the agency that took over its work; the "
                 "former agency is named under it."),
    "unit": _l("Ward, commune or special zone where the problem is."),
    "map": _l("Each circle is a ward, commune or special zone; its area is proportional to the reports "
              "received there. The data hold no ward boundaries: a circle is placed at the median point of "
              "its reports that have a location. Wards without located reports are not drawn; the table by "
              "ward or commune lists every one."),
    "category": _l("Category of the report today."),
    "channel": _l("How the report reached the city."),
    "week": _l("ISO weeks, Monday to Sunday, of the date of receipt (Hai Phong time), cut to the period."),
    "overdue": _l("Reports received in the period, not answered and past their deadline now; days late are "
                  "working days."),
    "satisfaction": _l("Citizen satisfaction: reports received in the period whose answer the citizen judged, "
                       "each counted once with the citizen's latest verdict (a report reopened because the "
                       "citizen was not satisfied and answered again counts with the new verdict). Satisfaction "
                       "rate: satisfied / (satisfied + not satisfied); reports without a verdict are not counted."),
}


# --- period ---------------------------------------------------------------------------------

def period_bounds(start_local: date, end_local: date) -> tuple[datetime, datetime]:
    """UTC bounds of a period of local calendar dates.

    :param start_local: first day (Asia/Ho_Chi_Minh calendar date), included.
    :param end_local: last day, included.
    :returns: ``(start_utc, end_utc)``, aware UTC datetimes; a time ``t`` is in the
        period when ``start_utc <= t < end_utc``.
    :raises ValueError: when ``end_local`` is before ``start_local``.
    """
    if end_local < start_local:
        raise ValueError("the period ends before it starts")
    start = datetime.combine(start_local, time(0), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    end = datetime.combine(end_local + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    return start, end


def _is_whole_months(start: date, end: date) -> bool:
    return start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]


def previous_period(start_local: date, end_local: date) -> tuple[date, date]:
    """The period to compare with: the same number of whole calendar months before
    when the period is whole months (November → October; Q4 → Q3), else the same
    number of days immediately before.

    :returns: ``(start, end)`` local dates, both included.
    """
    if _is_whole_months(start_local, end_local):
        months = (end_local.year - start_local.year) * 12 + end_local.month - start_local.month + 1
        index = start_local.year * 12 + start_local.month - 1 - months
        prev_start = date(index // 12, index % 12 + 1, 1)
        prev_end = start_local - timedelta(days=1)
        return prev_start, prev_end
    length = (end_local - start_local).days + 1
    return start_local - timedelta(days=length), start_local - timedelta(days=1)


def month_period(day: date) -> tuple[date, date]:
    """The calendar month containing ``day``: ``(first day, last day)``."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def local_today(now: datetime | None = None) -> date:
    """Today's date in Hai Phong (Asia/Ho_Chi_Minh) at ``now`` (aware; default: now)."""
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


# --- SQL helpers ----------------------------------------------------------------------------

local_date = dialect_function(
    "local_date", Date(), """SQL expression: the Asia/Ho_Chi_Minh calendar date of a UTC timestamp column.

    Viet Nam has kept UTC+7 without daylight saving since 1975, so both databases
    add seven hours to the UTC time and take the date — the same rule, the same
    result. PostgreSQL: ``CAST((col AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)``
    (cheaper per row than ``timezone('Asia/Ho_Chi_Minh', col)``). SQLite
    (timestamps stored as naive UTC text): ``date(substr(col, 1, 19), '+7 hours')``;
    cutting the fraction of a second first keeps SQLite from rounding
    16:59:59.9999 up into the next day.
    """,
    postgresql=lambda column: f"CAST(({column} AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)",
    sqlite=lambda column: f"date(substr({column}, 1, 19), '+7 hours')")


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- results --------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatFilters:
    """Optional filters, all ANDed; None means "any".

    :ivar agency_id: a handling agency; its predecessors (agencies it succeeded,
        transitively) are included, so filtering on a 2025 department also finds
        the reports routed to the 2022 departments merged into it.
    :ivar admin_unit_id: ward / commune / special zone.
    :ivar category_id: category.
    :ivar channel: intake channel.
    """

    agency_id: int | None = None
    admin_unit_id: int | None = None
    category_id: int | None = None
    channel: Channel | None = None

    @property
    def is_empty(self) -> bool:
        """True when no filter is set."""
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class Counts:
    """Counts of reports (integers), with the definitions of the module docstring."""

    received: int = 0
    awaiting_triage: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0
    in_progress: int = 0
    answered: int = 0
    published: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    satisfied: int = 0
    not_satisfied: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def awaiting_approval(self) -> int:
        """Answered, not yet published (the lead has not approved)."""
        return self.answered - self.published

    @property
    def on_time_rate(self) -> float | None:
        """on time / (on time + late), 0..1; None when nothing was answered with a deadline."""
        timed = self.on_time + self.late
        return self.on_time / timed if timed else None

    @property
    def on_time_percent(self) -> int | None:
        """``on_time_rate`` as a whole percentage (half rounds up), or None."""
        rate = self.on_time_rate
        return None if rate is None else int(math.floor(rate * 100 + 0.5))

    @property
    def verdicts(self) -> int:
        """Reports with a citizen's verdict: satisfied + not satisfied."""
        return self.satisfied + self.not_satisfied

    @property
    def satisfaction_rate(self) -> float | None:
        """satisfied / (satisfied + not satisfied), 0..1; None when no citizen gave a verdict."""
        return self.satisfied / self.verdicts if self.verdicts else None

    @property
    def satisfaction_percent(self) -> int | None:
        """``satisfaction_rate`` as a whole percentage (half rounds up), or None."""
        rate = self.satisfaction_rate
        return None if rate is None else int(math.floor(rate * 100 + 0.5))


@dataclass(frozen=True)
class FormerAgency:
    """A 2022 agency whose reports are counted under its successor: its name and how many."""

    name: str
    received: int


@dataclass(frozen=True)
class BreakdownRow:
    """One row of a breakdown table.

    :ivar key: agency id / unit id / category id / ``Channel`` / ISO week string
        (``"2026-W45"``); None for "not set".
    :ivar label: display name (agency and unit names are proper names; category
        names in the requested locale; channel titles in the current locale).
    :ivar counts: the row's ``Counts``.
    :ivar former: for agencies, the 2022 agencies merged into this one that had
        reports in the period.
    :ivar first_day / last_day: for weeks, the local dates the row covers.
    """

    key: object
    label: str
    counts: Counts
    former: tuple[FormerAgency, ...] = ()
    first_day: date | None = None
    last_day: date | None = None


@dataclass(frozen=True)
class Statistics:
    """Everything ``compute`` returns.

    :ivar period_start / period_end: local dates, both included.
    :ivar start_utc / end_utc: the UTC bounds (see ``period_bounds``).
    :ivar now: aware UTC time "overdue now" was judged at.
    :ivar totals: ``Counts`` for the whole period.
    :ivar by_status: ``{ReportStatus: count}`` with every status (0 when none).
    :ivar timed_answers: how many answers the time-to-answer figures use.
    :ivar median_days / p90_days: working days (float, may end in .5 or other
        fractions from interpolation), None when no answer is timed.
    :ivar by_agency / by_unit / by_category / by_channel: rows sorted by received
        (descending), then name in Vietnamese order; a "not set" row last.
    :ivar by_week: rows in date order, every week of the period present.
    """

    period_start: date
    period_end: date
    start_utc: datetime
    end_utc: datetime
    now: datetime
    filters: StatFilters
    totals: Counts
    by_status: dict
    timed_answers: int
    median_days: float | None
    p90_days: float | None
    by_agency: list[BreakdownRow] = field(default_factory=list)
    by_unit: list[BreakdownRow] = field(default_factory=list)
    by_category: list[BreakdownRow] = field(default_factory=list)
    by_channel: list[BreakdownRow] = field(default_factory=list)
    by_week: list[BreakdownRow] = field(default_factory=list)


# --- the queries ----------------------------------------------------------------------------

_MEASURES = [f.name for f in fields(Counts)]
_INDEX = {name: i for i, name in enumerate(_MEASURES)}


def _state_columns(now: datetime) -> list:
    """What each grouped query returns after its keys: the status, three flags, the latest
    verdict and a count.

    ``in_time``: ``answered_at <= deadline`` (NULL when either is missing);
    ``past_deadline``: ``deadline < now`` (NULL without a deadline);
    ``was_accepted``: ``accepted_at IS NOT NULL``; ``satisfied``: ``Report.satisfied``
    (the citizen's latest verdict, NULL without one). The measures of ``Counts``
    follow from these in ``_add`` (one rule, whichever database): grouping by a
    few small values costs the database less than a dozen conditional sums.
    """
    return [Report.status, Report.answered_at <= Report.deadline, Report.deadline < now,
            Report.accepted_at.is_not(None), Report.satisfied, func.count(Report.id)]


def _add(acc: list[int], status, in_time, past_deadline, was_accepted, satisfied, n: int) -> None:
    """Add ``n`` reports in one state to the accumulator ``acc`` (one int per ``Counts`` field)."""
    status = ReportStatus(status)
    acc[_INDEX["received"]] += n
    if satisfied is not None:
        acc[_INDEX["satisfied" if satisfied else "not_satisfied"]] += n
    if was_accepted:
        acc[_INDEX["accepted"]] += n
    if status == S.NEW:
        acc[_INDEX["awaiting_triage"]] += n
    elif status == S.REJECTED:
        acc[_INDEX["rejected"]] += n
    elif status == S.DUPLICATE:
        acc[_INDEX["duplicate"]] += n
    elif status in IN_PROGRESS_STATUSES:
        acc[_INDEX["in_progress"]] += n
    elif status in ANSWERED_STATUSES:
        acc[_INDEX["answered"]] += n
        if status == S.PUBLISHED:
            acc[_INDEX["published"]] += n
        if in_time is not None:
            acc[_INDEX["on_time" if in_time else "late"]] += n
    if status in UNANSWERED_STATUSES and past_deadline:
        acc[_INDEX["overdue"]] += n


def _grouped_counts(keys: list, where: list, now: datetime,
                    statuses: dict | None = None) -> dict[tuple, list[int]]:
    """``{key values: accumulator}`` for reports matching ``where``, grouped by ``keys``.

    The query groups by the keys and ``_state_columns`` (by position, so the same
    SQL runs on SQLite and PostgreSQL). ``statuses``, when given
    (``{ReportStatus: int}``), is incremented with the count of each status.
    """
    columns = [*keys, *_state_columns(now)]
    positions = ", ".join(str(i) for i in range(1, len(columns)))
    query = select(*columns).where(*where).group_by(text(positions))
    result: dict[tuple, list[int]] = {}
    width = len(keys)
    for row in db.session.execute(query):
        key = tuple(row[:width])
        acc = result.get(key)
        if acc is None:
            acc = result[key] = [0] * len(_MEASURES)
        _add(acc, *row[width:])
        if statuses is not None:
            statuses[ReportStatus(row[width])] += int(row[-1])
    return result


def _tune_postgresql() -> None:
    """On PostgreSQL, for the rest of the transaction: no JIT compilation (it costs more
    than it saves on these short aggregate queries) and enough ``work_mem`` to group
    in memory rather than sort on disk. Nothing on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))


def _merge(groups: dict[tuple, list[int]], index: int) -> dict:
    """Sum accumulators over every key position but ``index``: ``{key[index]: accumulator}``."""
    merged: dict = {}
    for key, acc in groups.items():
        target = merged.get(key[index])
        if target is None:
            merged[key[index]] = list(acc)
        else:
            for i, value in enumerate(acc):
                target[i] += value
    return merged


def _counts(acc: list[int]) -> Counts:
    return Counts(*acc)


def agency_family(agency_id: int) -> list[int]:
    """Ids of ``agency_id`` and every agency whose successor chain passes through it.

    :returns: a list of agency ids (``agency_id`` first).
    """
    rows = db.session.execute(select(Agency.id, Agency.successor_id)).all()
    children: dict[int, list[int]] = {}
    for agency_id_, successor_id in rows:
        if successor_id is not None and successor_id != agency_id_:
            children.setdefault(successor_id, []).append(agency_id_)
    family, stack = [agency_id], [agency_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in family:
                family.append(child)
                stack.append(child)
    return family


def _conditions(start_utc: datetime, end_utc: datetime, filters: StatFilters) -> list:
    where = [Report.created_at >= start_utc, Report.created_at < end_utc]
    if filters.agency_id is not None:
        where.append(Report.agency_id.in_(agency_family(filters.agency_id)))
    if filters.admin_unit_id is not None:
        where.append(Report.admin_unit_id == filters.admin_unit_id)
    if filters.category_id is not None:
        where.append(Report.category_id == filters.category_id)
    if filters.channel is not None:
        where.append(Report.channel == Channel(filters.channel))
    return where


def _sorted_rows(rows: Iterable[BreakdownRow]) -> list[BreakdownRow]:
    rows = list(rows)
    known = [r for r in rows if r.key is not None]
    unknown = [r for r in rows if r.key is None]
    known.sort(key=lambda r: (-r.counts.received, vietnamese_sort_key(r.label)))
    return known + unknown


def percentile(distribution: dict[float, int], q: float) -> float | None:
    """The ``q``-quantile (0..1) of values given as ``{value: how many}``.

    Linear interpolation between closest ranks: position ``q * (n - 1)`` in the
    sorted values (as PostgreSQL ``percentile_cont`` and NumPy's default).

    :returns: a float, or None when the distribution is empty.
    :raises ValueError: when ``q`` is outside 0..1.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    items = sorted((v, c) for v, c in distribution.items() if c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        return None
    position = q * (n - 1)
    lower_rank, fraction = int(math.floor(position)), position - math.floor(position)

    def value_at(rank: int) -> float:
        seen = 0
        for value, count in items:
            seen += count
            if rank < seen:
                return float(value)
        return float(items[-1][0])

    low = value_at(lower_rank)
    if fraction == 0:
        return low
    high = value_at(lower_rank + 1)
    return low + (high - low) * fraction


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LOCAL_TZ)


def _working_day_counter(days: Iterable[date]):
    """A function ``(a, b) -> working days`` equal to ``deadlines.working_days_between`` on
    the local dates ``a`` and ``b``, computed from a running count of working days
    over the span of ``days`` (one ``is_working_day`` call per calendar date)."""
    days = list(days)
    if not days:
        return lambda a, b: 0
    first, last = min(days), max(days)
    running: dict[date, int] = {}
    count, current = 0, first
    while current <= last:
        if current != first and is_working_day(current):
            count += 1
        running[current] = count
        current += timedelta(days=1)
    return lambda a, b: running[b] - running[a]


def _time_to_answer(where: list) -> dict[int, int]:
    """``{working days: how many answers}`` from counts grouped by local dates."""
    accepted_day = local_date(Report.accepted_at)
    answered_day = local_date(Report.answered_at)
    query = (select(accepted_day, answered_day, func.count(Report.id))
             .where(*where, Report.status.in_(ANSWERED_STATUSES), Report.accepted_at.is_not(None),
                    Report.answered_at.is_not(None))
             .group_by(accepted_day, answered_day))
    rows = [(_as_date(a), _as_date(b), int(n)) for a, b, n in db.session.execute(query)]
    between = _working_day_counter([d for a, b, _ in rows for d in (a, b)])
    distribution: dict[int, int] = {}
    for accepted, answered, count in rows:
        days = between(accepted, answered)
        distribution[days] = distribution.get(days, 0) + count
    return distribution


#: How each locale writes the first and last day of a week row (CLDR patterns):
#: Vietnamese ``27/10``, English ``27 Oct``.
_WEEK_DAY_PATTERNS = {"vi": "dd/MM", "en": "d MMM"}


def week_days(first: date, last: date, locale: str = "vi") -> str:
    """The days a week row covers: ``27/10–02/11`` (vi), ``27 Oct–2 Nov`` (en); one day alone
    when ``first == last``."""
    pattern = _WEEK_DAY_PATTERNS.get(str(locale).split("_")[0], _WEEK_DAY_PATTERNS["vi"])
    start = format_date(first, pattern, locale=locale)
    return start if first == last else f"{start}–{format_date(last, pattern, locale=locale)}"


def week_label(week: int, first: date, last: date, locale: str = "vi") -> str:
    """A week row's label: ``Tuần 44 (27/10–02/11)`` / ``Week 44 (27 Oct–2 Nov)``.

    :param week: ISO 8601 week number.
    :param first / last: the local dates the row covers (a week cut to the period
        covers fewer than seven).
    :param locale: for the dates; the word "week" is in the current Flask-Babel locale.
    """
    return str(_l("Week %(week)d (%(days)s)", week=week, days=week_days(first, last, locale)))


def _weeks(start: date, end: date, per_day: dict[date, Counts], locale: str = "vi") -> list[BreakdownRow]:
    rows: list[BreakdownRow] = []
    day = start
    while day <= end:
        iso = day.isocalendar()
        last = min(day + timedelta(days=6 - day.weekday()), end)
        counts = Counts()
        current = day
        while current <= last:
            counts = counts + per_day.get(current, Counts())
            current += timedelta(days=1)
        key = f"{iso.year}-W{iso.week:02d}"
        rows.append(BreakdownRow(key=key, label=week_label(iso.week, day, last, locale), counts=counts,
                                 first_day=day, last_day=last))
        day = last + timedelta(days=1)
    return rows


def compute(period_start_local: date, period_end_local: date, filters: StatFilters | None = None, *,
            now: datetime | None = None, locale: str = "vi", totals_only: bool = False) -> Statistics:
    """Statistics of the reports received in a period (see the module docstring).

    :param period_start_local: first day, Asia/Ho_Chi_Minh calendar date, included.
    :param period_end_local: last day, included.
    :param filters: optional ``StatFilters``.
    :param now: aware UTC instant "overdue now" is judged at (default: now).
    :param locale: ``"vi"`` or ``"en"`` for category names and the dates in week labels.
    :param totals_only: only ``totals``, ``by_status`` and the time to answer, from one
        scan instead of three; the breakdowns are empty lists. For the previous period,
        which the dashboard, the PDF and the exports compare with only in totals.
    :returns: ``Statistics``.
    :raises ValueError: a period that ends before it starts, or a naive ``now``.
    """
    filters = filters or StatFilters()
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) now")
    start_utc, end_utc = period_bounds(period_start_local, period_end_local)
    where = _conditions(start_utc, end_utc, filters)

    _tune_postgresql()
    if totals_only:
        by_status = {status: 0 for status in ReportStatus}
        whole = _grouped_counts([], where, now, statuses=by_status).get(())
        distribution = _time_to_answer(where)
        return Statistics(
            period_start=period_start_local, period_end=period_end_local, start_utc=start_utc, end_utc=end_utc,
            now=now, filters=filters, totals=_counts(whole) if whole else Counts(), by_status=by_status,
            timed_answers=sum(distribution.values()),
            median_days=percentile(distribution, 0.5), p90_days=percentile(distribution, 0.9))
    # Three scans of the period's reports, grouped finely enough to give every breakdown.
    by_day_channel = _grouped_counts([local_date(Report.created_at), Report.channel], where, now)
    by_agency_category = _grouped_counts([Report.agency_id, Report.category_id], where, now)
    by_status = {status: 0 for status in ReportStatus}
    by_unit_state = _grouped_counts([Report.admin_unit_id], where, now, statuses=by_status)

    per_day = {_as_date(day): _counts(acc) for day, acc in _merge(by_day_channel, 0).items()}
    totals = sum(per_day.values(), Counts())
    by_channel = _sorted_rows(BreakdownRow(key=Channel(c), label=Channel(c).title, counts=_counts(acc))
                              for c, acc in _merge(by_day_channel, 1).items())
    by_agency = _agency_rows({a: _counts(acc) for a, acc in _merge(by_agency_category, 0).items()})

    unit_counts = _merge(by_unit_state, 0)
    unit_names = _names(AdministrativeUnit, list(unit_counts), lambda u: u.name)
    by_unit = _sorted_rows(BreakdownRow(key=k, label=unit_names.get(k, str(_l("No ward/commune"))),
                                        counts=_counts(acc)) for k, acc in unit_counts.items())

    category_counts = _merge(by_agency_category, 1)
    category_names = _names(Category, list(category_counts), lambda c: c.name(locale))
    by_category = _sorted_rows(
        BreakdownRow(key=k, label=category_names.get(k, str(_l("No category"))), counts=_counts(acc))
        for k, acc in category_counts.items())

    by_week = _weeks(period_start_local, period_end_local, per_day, locale)

    distribution = _time_to_answer(where)
    return Statistics(
        period_start=period_start_local, period_end=period_end_local, start_utc=start_utc, end_utc=end_utc,
        now=now, filters=filters, totals=totals, by_status=by_status,
        timed_answers=sum(distribution.values()),
        median_days=percentile(distribution, 0.5), p90_days=percentile(distribution, 0.9),
        by_agency=by_agency, by_unit=by_unit, by_category=by_category, by_channel=by_channel, by_week=by_week,
    )


# --- where the reports are (the dashboard's map) ---------------------------------------------

#: Cells a coordinate is counted in before the median: 1/1000 of a degree, about 110 m
#: north-south and 100 m east-west in Hai Phong, far below what a city map shows.
CELLS_PER_DEGREE = 1000


@dataclass(frozen=True)
class UnitPosition:
    """Where a ward/commune's reports of the period are: the median of their points.

    :ivar latitude / longitude: WGS84 degrees, the median (``percentile`` 0.5) of
        the reports' coordinates, each taken as the centre of its
        1/``CELLS_PER_DEGREE`` degree cell (so within 0.0005° of the exact median).
    :ivar located: how many of the unit's reports have coordinates.
    """

    latitude: float
    longitude: float
    located: int


def _degree_cell_sqlite(column: str) -> str:
    scaled = f"({column} * {CELLS_PER_DEGREE})"
    return f"(CAST({scaled} AS INTEGER) - ({scaled} < CAST({scaled} AS INTEGER)))"


degree_cell = dialect_function(
    "degree_cell", Integer(),
    """SQL expression: the cell of a coordinate, ``floor(degrees * CELLS_PER_DEGREE)``, an integer.

    PostgreSQL: ``floor(col * 1000)`` (double arithmetic; rounding a ``numeric`` cast
    costs twice as much per row). SQLite: the same floor from integer casts, which
    every SQLite has (``floor()`` needs a build with the math functions):
    ``CAST(x AS INTEGER)`` truncates toward zero, one is taken off below zero.
    """,
    postgresql=lambda column: f"floor({column} * {CELLS_PER_DEGREE})", sqlite=_degree_cell_sqlite)


def unit_positions(period_start_local: date, period_end_local: date,
                   filters: StatFilters | None = None) -> dict[int, UnitPosition]:
    """A point for each ward/commune with located reports in the period: the median
    latitude and the median longitude of those reports (the same cohort and filters
    as ``compute``).

    There are no ward boundaries in the data (units are codes and names), so a unit
    is placed where its reports are; the median keeps one misplaced pin from
    dragging the point away. One statement: the period's located reports counted by
    (unit, latitude cell) and, ``UNION ALL``, by (unit, longitude cell)
    (``degree_cell``), so the rows returned stay a few thousand however many reports
    there are (a ward spans a few dozen cells); the medians are taken here from those
    counts (``percentile``), the same on SQLite and PostgreSQL. Reports without a
    unit or without coordinates are left out.

    :returns: ``{AdministrativeUnit.id: UnitPosition}``.
    :raises ValueError: a period that ends before it starts.
    """
    filters = filters or StatFilters()
    where = [*_conditions(*period_bounds(period_start_local, period_end_local), filters),
             Report.admin_unit_id.is_not(None), Report.latitude.is_not(None), Report.longitude.is_not(None)]
    parts = [select(Report.admin_unit_id, literal_column(str(axis)), degree_cell(column), func.count(Report.id))
             .where(*where).group_by(text("1, 3"))
             for axis, column in enumerate((Report.latitude, Report.longitude))]
    axes: tuple[dict[int, dict[float, int]], dict[int, dict[float, int]]] = ({}, {})
    for unit_id, axis, cell, n in db.session.execute(union_all(*parts)):
        values = axes[int(axis)].setdefault(unit_id, {})
        centre = (int(cell) + 0.5) / CELLS_PER_DEGREE
        values[centre] = values.get(centre, 0) + int(n)
    latitudes, longitudes = axes
    return {unit_id: UnitPosition(latitude=percentile(latitudes[unit_id], 0.5),
                                  longitude=percentile(longitudes[unit_id], 0.5),
                                  located=sum(latitudes[unit_id].values()))
            for unit_id in latitudes}


def _names(model, ids: Sequence, label) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {obj.id: label(obj) for obj in db.session.scalars(select(model).where(model.id.in_(ids)))}


def _agency_rows(per_agency: dict) -> list[BreakdownRow]:
    """Merge ``{agency id: Counts}`` under each agency's current successor, naming the former ones."""
    agencies = {a.id: a for a in db.session.scalars(select(Agency))}
    merged: dict[int | None, Counts] = {}
    former: dict[int, list[FormerAgency]] = {}
    for key, counts in per_agency.items():
        if key is None or key not in agencies:
            merged[None] = merged.get(None, Counts()) + counts
            continue
        agency = agencies[key]
        successor = agency.current_successor()
        merged[successor.id] = merged.get(successor.id, Counts()) + counts
        if successor.id != agency.id:
            former.setdefault(successor.id, []).append(FormerAgency(agency.name, counts.received))
    result = []
    for key, counts in merged.items():
        label = agencies[key].name if key is not None else str(_l("Not routed to an agency"))
        olds = tuple(sorted(former.get(key, []), key=lambda f: vietnamese_sort_key(f.name)))
        result.append(BreakdownRow(key=key, label=label, counts=counts, former=olds))
    return _sorted_rows(result)


# --- report lists (overdue, notable, appendix) ----------------------------------------------

@dataclass(frozen=True)
class ReportLine:
    """One report in a list (overdue, notable, appendix). No personal data of the
    reporter: the title is redacted of the reporter's own name, phone and e-mail.

    :ivar received_at / deadline / answered_at: aware UTC datetimes (or None).
    :ivar agency: the current successor's name of the handling agency ("" if none);
        ``former_agency`` the 2022 name when the report was routed to one.
    :ivar working_days_late: for unanswered reports past the deadline, working days
        since the deadline (``working_days_between(deadline, now)``), else None.
    """

    id: int
    tracking_code: str
    title: str
    category: str
    unit: str
    agency: str
    former_agency: str
    status: ReportStatus
    received_at: datetime
    deadline: datetime | None
    answered_at: datetime | None
    working_days_late: int | None


REDACTED = "[…]"


def redact(text: str, *secrets: str) -> str:
    """``text`` (NFC) with every occurrence of each non-empty secret replaced by ``REDACTED``.

    Case-insensitive; a phone number is also matched with its digits spaced or
    dotted as people type them. Used to keep the reporter's own name, phone and
    e-mail out of titles printed in the PDF.
    """
    result = nfc(text)
    for secret in secrets:
        secret = nfc(secret)
        if len(secret) < 3:
            continue
        digits = re.sub(r"\D", "", secret)
        if len(digits) >= 6 and len(digits) >= len(secret) - 4:
            pattern = r"[\s.\-]?".join(re.escape(d) for d in digits)
        else:
            pattern = re.escape(secret)
        result = re.sub(pattern, REDACTED, result, flags=re.IGNORECASE)
    return result


def _line_query():
    return select(Report.id, Report.tracking_code, Report.title, Report.status, Report.created_at,
                  Report.deadline, Report.answered_at, Report.agency_id, Report.category_id, Report.admin_unit_id,
                  Report.reporter_name, Report.reporter_phone, Report.reporter_email)


def _lines(rows: Sequence, now: datetime, locale: str) -> list[ReportLine]:
    agencies = {a.id: a for a in db.session.scalars(select(Agency))}
    categories = _names(Category, list({r.category_id for r in rows}), lambda c: c.name(locale))
    units = _names(AdministrativeUnit, list({r.admin_unit_id for r in rows}), lambda u: u.name)
    lines = []
    for r in rows:
        agency = agencies.get(r.agency_id)
        successor = agency.current_successor() if agency is not None else None
        status = ReportStatus(r.status)
        late = None
        if status in UNANSWERED_STATUSES and r.deadline is not None and r.deadline < now:
            late = working_days_between(r.deadline, now)
        lines.append(ReportLine(
            id=r.id, tracking_code=r.tracking_code,
            title=redact(r.title, r.reporter_name, r.reporter_phone, r.reporter_email),
            category=categories.get(r.category_id, ""), unit=units.get(r.admin_unit_id, ""),
            agency=successor.name if successor else "",
            former_agency=agency.name if agency is not None and successor is not agency else "",
            status=status, received_at=r.created_at, deadline=r.deadline, answered_at=r.answered_at,
            working_days_late=late))
    return lines


def overdue_reports(period_start_local: date | None, period_end_local: date | None,
                    filters: StatFilters | None = None, *, now: datetime | None = None, limit: int | None = None,
                    locale: str = "vi") -> list[ReportLine]:
    """Reports overdue now (not answered, deadline < now), longest overdue first.

    :param period_start_local / period_end_local: restrict to reports received in
        that period (local dates, included); both None for every overdue report.
    :param limit: at most this many (None: all).
    :returns: ``ReportLine`` list ordered by deadline, then tracking code.
    """
    filters = filters or StatFilters()
    now = now or utcnow()
    query = _line_query().where(Report.status.in_(UNANSWERED_STATUSES), Report.deadline.is_not(None),
                                Report.deadline < now)
    if period_start_local is not None and period_end_local is not None:
        query = query.where(*_conditions(*period_bounds(period_start_local, period_end_local), filters))
    else:
        far = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9999, 1, 1, tzinfo=timezone.utc)
        query = query.where(*_conditions(*far, filters))
    query = query.order_by(Report.deadline, Report.tracking_code)
    if limit is not None:
        query = query.limit(limit)
    return _lines(db.session.execute(query).all(), now, locale)


def count_overdue(filters: StatFilters | None = None, *, now: datetime | None = None) -> int:
    """How many reports, received at any time, are overdue now (see ``overdue_reports``)."""
    filters = filters or StatFilters()
    now = now or utcnow()
    far = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9999, 1, 1, tzinfo=timezone.utc)
    return int(db.session.scalar(select(func.count(Report.id)).where(
        Report.status.in_(UNANSWERED_STATUSES), Report.deadline.is_not(None), Report.deadline < now,
        *_conditions(*far, filters))) or 0)


def reports_by_id(ids: Sequence[int], *, now: datetime | None = None, locale: str = "vi") -> list[ReportLine]:
    """The reports with these ids, in the order given (unknown ids are skipped).

    Used for the notable reports a member of staff picks for the PDF report.
    """
    ids = [int(i) for i in ids]
    if not ids:
        return []
    rows = {r.id: r for r in db.session.execute(_line_query().where(Report.id.in_(ids))).all()}
    ordered = [rows[i] for i in dict.fromkeys(ids) if i in rows]
    return _lines(ordered, now or utcnow(), locale)


def notable_reports(period_start_local: date, period_end_local: date, filters: StatFilters | None = None, *,
                    now: datetime | None = None, limit: int | None = 30, locale: str = "vi") -> list[ReportLine]:
    """Reports received in the period that staff marked notable (``Report.notable``), in order of receipt.

    :param limit: at most this many (None: all).
    """
    filters = filters or StatFilters()
    query = (_line_query().where(Report.notable.is_(True),
                                 *_conditions(*period_bounds(period_start_local, period_end_local), filters))
             .order_by(Report.created_at, Report.id))
    if limit is not None:
        query = query.limit(limit)
    return _lines(db.session.execute(query).all(), now or utcnow(), locale)


def report_lines(period_start_local: date, period_end_local: date, filters: StatFilters | None = None, *,
                 now: datetime | None = None, limit: int | None = None, locale: str = "vi") -> list[ReportLine]:
    """The reports received in the period, in order of receipt (the PDF's appendix).

    :param limit: at most this many (None: all).
    """
    filters = filters or StatFilters()
    query = (_line_query().where(*_conditions(*period_bounds(period_start_local, period_end_local), filters))
             .order_by(Report.created_at, Report.id))
    if limit is not None:
        query = query.limit(limit)
    return _lines(db.session.execute(query).all(), now or utcnow(), locale)


def count_received(period_start_local: date, period_end_local: date, filters: StatFilters | None = None) -> int:
    """How many reports were received in the period (the appendix's length)."""
    where = _conditions(*period_bounds(period_start_local, period_end_local), filters or StatFilters())
    return int(db.session.scalar(select(func.count(Report.id)).where(*where)) or 0)


def change(current: float | int | None, previous: float | int | None) -> float | None:
    """Relative change from ``previous`` to ``current`` (0.25 = +25 %); None when
    either is None or ``previous`` is 0."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


__all__ = [
    "BreakdownRow", "CELLS_PER_DEGREE", "Counts", "DEFINITIONS", "FormerAgency", "ReportLine", "StatFilters",
    "Statistics", "UnitPosition", "agency_family", "change", "compute", "count_overdue", "count_received",
    "degree_cell", "local_date", "local_today", "month_period", "notable_reports", "overdue_reports", "percentile",
    "period_bounds", "previous_period", "redact", "report_lines", "reports_by_id", "unit_positions", "week_days",
    "week_label",
]
