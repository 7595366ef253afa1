"""Deadlines in working days (ngày làm việc), Asia/Ho_Chi_Minh.

Rules, in one place:

* A **working day** is a local calendar date (Asia/Ho_Chi_Minh) that is neither a
  Saturday or Sunday nor a public holiday of Viet Nam. Public holidays come from the
  ``holidays`` package (country ``VN``): the days of Bộ luật Lao động 2019 (Labour
  Code 45/2019/QH14), Điều 112 — Tết Dương lịch, Tết Âm lịch (5 days), Giỗ Tổ Hùng
  Vương, 30/4, 1/5, Quốc khánh 2/9 and the day before or after it — their
  compensatory days off (nghỉ bù) and the days the Government swaps each year.
  A Saturday the Government declares a working day in exchange (e.g. 26/4/2025,
  22/8/2026) counts as a working day. Years the package marks as estimated (lunar
  dates not yet announced) are used as estimated.
* **Counting starts the day after**: day 1 is the first working day *after* the
  local date of the start instant, whatever the hour of the start (a report
  accepted at 16:59 on a Monday and one accepted at 08:00 have the same deadline).
* **The deadline is the end of the N-th working day**: 23:59:59 local time on that
  date, returned as an aware UTC ``datetime`` (16:59:59 UTC). ``Report.deadline``
  stores that instant; a report is overdue when now is later than it.

Nothing here depends on the process time zone (``TZ``): every conversion goes
through ``zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")`` and aware datetimes.
"""
from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays

from ..i18n import LOCAL_TZ
from ..models import Category, Urgency

# Local time of day at which the last working day ends.
END_OF_DAY = time(23, 59, 59)

_calendar_lock = threading.Lock()
_calendar = holidays.country_holidays("VN")  # years are filled in lazily, under the lock


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    """True when the local calendar date ``day`` is a working day in Viet Nam.

    :param day: a ``date`` (local calendar date, Asia/Ho_Chi_Minh).
    :returns: False on Saturdays and Sundays (unless the Government made that
        Saturday a working day in exchange) and on public holidays (Bộ luật Lao
        động 2019, Điều 112, as the ``holidays`` package lists them for ``VN``).
    """
    with _calendar_lock:
        return bool(_calendar.is_working_day(day))


def _local_date(value: datetime) -> date:
    if not isinstance(value, datetime):
        raise TypeError("expected a datetime")
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return value.astimezone(LOCAL_TZ).date()


def end_of_local_day(day: date) -> datetime:
    """The instant 23:59:59 Asia/Ho_Chi_Minh on ``day``, as an aware UTC datetime."""
    return datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def nth_working_day_after(day: date, days: int) -> date:
    """The local date of the ``days``-th working day after ``day``.

    :param day: local calendar date the count starts from (not itself counted).
    :param days: number of working days, >= 0. With 0 the result is ``day`` when
        it is a working day, else the next working day.
    :raises ValueError: when ``days`` is negative.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    current = day
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def add_working_days(start_utc: datetime, days: int) -> datetime:
    """The deadline ``days`` working days after ``start_utc``.

    :param start_utc: an aware datetime (any offset; normally UTC), the start
        instant (receipt or acceptance).
    :param days: working days allowed, >= 0 (0: the end of the start day if it is a
        working day, else of the next working day).
    :returns: aware UTC datetime: 23:59:59 Asia/Ho_Chi_Minh at the end of the
        ``days``-th working day after the start instant's local date (see the
        module docstring for the rule).
    :raises ValueError: a naive datetime or a negative ``days``.
    """
    return end_of_local_day(nth_working_day_after(_local_date(start_utc), days))


def working_days_between(a: datetime, b: datetime) -> int:
    """Working days from instant ``a`` to instant ``b``, counted on local dates.

    Counts the working days in the local dates after ``a``'s date up to and
    including ``b``'s date; negative (the same count, negated) when ``b``'s date is
    before ``a``'s. So ``working_days_between(start, add_working_days(start, n)) == n``
    for n >= 1, and ``working_days_between(now, report.deadline)`` is the number of
    working days left (0 on the last day, negative once overdue).

    Constant time whatever the distance: the difference of two running counts of
    working days (``_working_days_up_to``), each a per-year table built once. The
    inbox asks this for every row of every page, including deadlines years back.

    :param a: aware datetime.
    :param b: aware datetime.
    :returns: an ``int``.
    :raises ValueError: on a naive datetime.
    """
    return _working_days_up_to(_local_date(b)) - _working_days_up_to(_local_date(a))


# Running counts are kept relative to 1 January of this year (any year works).
_BASE_YEAR = 2000


@lru_cache(maxsize=256)
def _year_table(year: int) -> tuple[int, ...]:
    """``table[i]``: working days from 1 January of ``year`` to its ``i``-th day
    (``i`` from 1, 1 January included); ``table[0] == 0``."""
    table = [0]
    day = date(year, 1, 1)
    while day.year == year:
        table.append(table[-1] + is_working_day(day))
        day += timedelta(days=1)
    return tuple(table)


@lru_cache(maxsize=256)
def _working_days_before_year(year: int) -> int:
    """Working days from 1 January ``_BASE_YEAR`` up to 31 December ``year - 1``
    (negative for years before the base)."""
    if year == _BASE_YEAR:
        return 0
    if year > _BASE_YEAR:
        return _working_days_before_year(year - 1) + _year_table(year - 1)[-1]
    return _working_days_before_year(year + 1) - _year_table(year)[-1]


def _working_days_up_to(day: date) -> int:
    """Working days from 1 January ``_BASE_YEAR`` up to ``day`` included (a running
    count: only differences between two days mean anything)."""
    return _working_days_before_year(day.year) + _year_table(day.year)[day.timetuple().tm_yday]


def allowed_working_days(category: Category, urgency: Urgency | str) -> int:
    """Working days allowed for a report of ``category`` with ``urgency``.

    :returns: ``category.urgent_deadline_days`` for urgent reports, else
        ``category.deadline_days`` (the city's targets, editable by an admin).
    """
    if Urgency(urgency) == Urgency.URGENT:
        return int(category.urgent_deadline_days)
    return int(category.deadline_days)


def deadline_for(category: Category, urgency: Urgency | str, accepted_at_utc: datetime) -> datetime:
    """The handling deadline of a report.

    :param category: the report's category (its ``deadline_days`` /
        ``urgent_deadline_days``, in working days).
    :param urgency: ``Urgency`` or its value (``normal`` / ``urgent``).
    :param accepted_at_utc: aware datetime the count starts from: acceptance by the
        IOC; intake passes the time of receipt for a provisional deadline.
    :returns: aware UTC datetime, see ``add_working_days``.
    :raises ValueError: unknown urgency or a naive datetime.
    """
    return add_working_days(accepted_at_utc, allowed_working_days(category, urgency))
