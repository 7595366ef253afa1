"""Working-day deadlines: weekends, Vietnamese public holidays, Asia/Ho_Chi_Minh dates.

Holiday dates are those of the ``holidays`` package for VN (Bộ luật Lao động 2019,
Điều 112, and the Government's yearly swaps); the expected values below were read
from the official calendars: 2 September 2025 (Mon 1 + Tue 2), 2026 (Mon 31 Aug
swapped with Sat 22 Aug, Tue 1 + Wed 2 Sep), Tết Đinh Mùi 2027 (Thu 4 – Wed 10 Feb,
the package's estimate until the Government announces it).
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from hpsmart.models import Urgency
from hpsmart.services import deadlines
from hpsmart.services.deadlines import (add_working_days, deadline_for, is_working_day,
                                        working_days_between)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def local(y, m, d, hh=10, mm=0) -> datetime:
    """An aware UTC datetime for a local Hai Phong wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL).astimezone(timezone.utc)


def end_of(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=LOCAL).astimezone(timezone.utc)


def test_result_is_aware_utc_end_of_local_day():
    result = add_working_days(local(2026, 3, 2), 1)  # Monday
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    assert result == end_of(2026, 3, 3)
    assert result == datetime(2026, 3, 3, 16, 59, 59, tzinfo=timezone.utc)


def test_weekends_are_skipped_and_counting_starts_the_next_day():
    friday = local(2026, 3, 6, 16, 30)
    assert add_working_days(friday, 1) == end_of(2026, 3, 9)  # Monday
    assert add_working_days(friday, 5) == end_of(2026, 3, 13)
    saturday = local(2026, 3, 7)
    assert add_working_days(saturday, 1) == end_of(2026, 3, 9)
    assert add_working_days(saturday, 0) == end_of(2026, 3, 9)  # 0: next working day's end
    assert add_working_days(friday, 0) == end_of(2026, 3, 6)


def test_across_tet_2027():
    for day in range(4, 11):  # 29 Tết (Thu 4 Feb) to mùng 5 (Wed 10 Feb)
        assert not is_working_day(date(2027, 2, day)), day
    assert is_working_day(date(2027, 2, 3)) and is_working_day(date(2027, 2, 11))
    wednesday_before = local(2027, 2, 3, 9)
    assert add_working_days(wednesday_before, 1) == end_of(2027, 2, 11)
    assert add_working_days(wednesday_before, 3) == end_of(2027, 2, 15)  # Thu 11, Fri 12, Mon 15
    assert working_days_between(wednesday_before, end_of(2027, 2, 15)) == 3


def test_across_national_day_2_september():
    # 2025: Monday 1 and Tuesday 2 September are holidays.
    assert add_working_days(local(2025, 8, 29), 1) == end_of(2025, 9, 3)
    # 2026: Monday 31 August is a day off swapped with Saturday 22 August (a working day).
    assert not is_working_day(date(2026, 8, 31))
    assert is_working_day(date(2026, 8, 22))
    assert add_working_days(local(2026, 8, 28, 15), 2) == end_of(2026, 9, 4)
    assert add_working_days(local(2026, 8, 21), 1) == end_of(2026, 8, 22)  # the swapped Saturday
    # 2027: Thursday 2 and Friday 3 September.
    assert add_working_days(local(2027, 9, 1), 1) == end_of(2027, 9, 6)


def test_local_date_decides_not_utc_date():
    # Sunday 23:30 UTC is Monday 06:30 in Hai Phong: the start day is Monday.
    start = datetime(2026, 3, 8, 23, 30, tzinfo=timezone.utc)
    assert add_working_days(start, 1) == end_of(2026, 3, 10)
    # Any offset is accepted and means the same instant.
    same = start.astimezone(ZoneInfo("America/New_York"))
    assert add_working_days(same, 1) == end_of(2026, 3, 10)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Pacific/Kiritimati", "UTC", "Asia/Ho_Chi_Minh"])
def test_process_time_zone_does_not_matter(monkeypatch, zone):
    start = datetime(2026, 8, 28, 20, 0, tzinfo=timezone.utc)  # Saturday 03:00 local
    deadlines.is_working_day.cache_clear()
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert add_working_days(start, 2) == end_of(2026, 9, 4)
        assert working_days_between(start, end_of(2026, 9, 4)) == 2
    finally:
        monkeypatch.undo()
        time.tzset()
        deadlines.is_working_day.cache_clear()


def test_working_days_between_inverts_add_and_is_signed():
    start = local(2026, 12, 28, 11)
    for n in range(1, 40):
        assert working_days_between(start, add_working_days(start, n)) == n
    assert working_days_between(start, start) == 0
    assert working_days_between(end_of(2027, 1, 5), start) == -working_days_between(start, end_of(2027, 1, 5))
    # New Year's Day 2027 (Friday) is not counted: Tue 29, Wed 30, Thu 31, Mon 4.
    assert working_days_between(start, end_of(2027, 1, 4)) == 4


def test_naive_and_negative_are_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 3, 2, 10, 0), 1)
    with pytest.raises(ValueError):
        add_working_days(local(2026, 3, 2), -1)
    with pytest.raises(ValueError):
        working_days_between(datetime(2026, 3, 2), local(2026, 3, 2))


def test_deadline_for_uses_the_category_days_by_urgency():
    category = SimpleNamespace(deadline_days=10, urgent_deadline_days=2)
    accepted = local(2026, 3, 2, 9)  # Monday
    assert deadline_for(category, Urgency.NORMAL, accepted) == end_of(2026, 3, 16)
    assert deadline_for(category, "urgent", accepted) == end_of(2026, 3, 4)
    with pytest.raises(ValueError):
        deadline_for(category, "whenever", accepted)


def test_working_days_between_agrees_with_counting_day_by_day():
    """The constant-time count equals walking the calendar, across years, holidays and
    both directions (pairs from 1999 to 2031, up to three years apart)."""
    import random

    rng = random.Random(4)
    start = datetime(1999, 1, 1, tzinfo=timezone.utc)
    for _ in range(400):
        a = start + timedelta(seconds=rng.randrange(0, 30 * 365 * 86400))
        b = a + timedelta(seconds=rng.randrange(-3 * 365 * 86400, 3 * 365 * 86400))
        day_a, day_b = (x.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date() for x in (a, b))
        low, high = sorted((day_a, day_b))
        walked = sum(is_working_day(low + timedelta(days=i)) for i in range(1, (high - low).days + 1))
        assert working_days_between(a, b) == (walked if day_b >= day_a else -walked)
