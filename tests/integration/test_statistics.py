"""The statistics service on hand-built reports: exact counts, the time-zone
boundary, the 2022 successor agencies, working-day percentiles; SQLite and PostgreSQL."""
from __future__ import annotations

import os
import time as time_module
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from hpsmart.models import Agency, Channel, ReportStatus
from hpsmart.services import statistics as st
from hpsmart.services.deadlines import working_days_between

from .. import factories

S = ReportStatus
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=timezone.utc)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def old_agency(name: str) -> Agency:
    """A 2022 agency that was merged in 2025 (it has an end date and a successor)."""
    agency = factories.db.session.scalar(select(Agency).where(Agency.name == name, Agency.valid_to.is_not(None)))
    assert agency is not None and agency.successor is not None, name
    return agency


def end_of_day(y, m, d) -> datetime:
    """23:59:59 Hai Phong time on that date, in UTC (how deadlines are stored)."""
    return utc(y, m, d, 16, 59, 59)


@pytest.fixture()
def november(db):
    """Thirteen reports received in November 2026 (Hai Phong time) and two just outside it."""
    xd, khcn, yte = (factories.agency(n) for n in ("Sở Xây dựng", "Sở Khoa học và Công nghệ", "Sở Y tế"))
    ttt, gtvt = old_agency("Sở Thông tin và Truyền thông"), old_agency("Sở Giao thông vận tải")
    r = {}
    r[1] = factories.report(created_at=utc(2026, 11, 2, 1), status=S.NEW)
    r[2] = factories.report(created_at=utc(2026, 11, 3, 1), status=S.NEW, deadline=end_of_day(2026, 11, 5))
    r[3] = factories.report(created_at=utc(2026, 11, 3, 2), status=S.REJECTED)
    r[4] = factories.report(created_at=utc(2026, 11, 4, 1), status=S.DUPLICATE)
    r[5] = factories.report(created_at=utc(2026, 11, 4, 1), status=S.ROUTED, agency=ttt,
                            accepted_at=utc(2026, 11, 4, 2), deadline=end_of_day(2026, 11, 18))
    r[6] = factories.report(created_at=utc(2026, 11, 5, 1), status=S.IN_PROGRESS, agency=yte,
                            accepted_at=utc(2026, 11, 5, 2), deadline=end_of_day(2026, 12, 20),
                            category=factories.category("y_te"), admin_unit=factories.unit("Phường Lê Chân"))
    # Mon 2 -> Fri 6 November: 4 working days; answered before the deadline.
    r[7] = factories.report(created_at=utc(2026, 11, 2, 1, 30), status=S.PUBLISHED, agency=khcn,
                            channel=Channel.APP, accepted_at=utc(2026, 11, 2, 2), answered_at=utc(2026, 11, 6, 3),
                            published_at=utc(2026, 11, 6, 4), deadline=end_of_day(2026, 11, 16))
    # Mon 9 -> Mon 23 November: 10 working days; late (deadline Fri 20).
    r[8] = factories.report(created_at=utc(2026, 11, 9, 1), status=S.ANSWERED, agency=xd,
                            accepted_at=utc(2026, 11, 9, 2), answered_at=utc(2026, 11, 23, 5),
                            deadline=end_of_day(2026, 11, 20))
    # Thu 19 -> Wed 25 November: Fri 20, Mon 23, Wed 25 (Tue 24 is a public holiday): 3 working days.
    r[9] = factories.report(created_at=utc(2026, 11, 19, 1), status=S.PUBLISHED, agency=gtvt,
                            accepted_at=utc(2026, 11, 19, 2), answered_at=utc(2026, 11, 25, 3),
                            published_at=utc(2026, 11, 25, 4), deadline=end_of_day(2026, 12, 3))
    # No deadline: answered in 2 working days, neither on time nor late.
    r[10] = factories.report(created_at=utc(2026, 11, 10, 1), status=S.PUBLISHED, agency=xd,
                             accepted_at=utc(2026, 11, 10, 2), answered_at=utc(2026, 11, 12, 3),
                             published_at=utc(2026, 11, 12, 4), deadline=None)
    # Answered at the very instant of the deadline: on time. Mon 16 -> Fri 20: 4 working days.
    r[11] = factories.report(created_at=utc(2026, 11, 16, 1), status=S.ANSWERED, agency=xd,
                             accepted_at=utc(2026, 11, 16, 2), answered_at=end_of_day(2026, 11, 20),
                             deadline=end_of_day(2026, 11, 20))
    # 23:30 on 31/10 Hai Phong time: October. 00:30 on 01/11: November.
    r[12] = factories.report(created_at=utc(2026, 10, 31, 16, 30), status=S.NEW)
    r[13] = factories.report(created_at=utc(2026, 10, 31, 17, 30), status=S.NEW, channel=Channel.APP)
    # 23:59:59.9999 on 30/11 Hai Phong time: November. 00:00 on 01/12: December.
    r[14] = factories.report(created_at=utc(2026, 11, 30, 16, 59, 59, 999900), status=S.NEW)
    r[15] = factories.report(created_at=utc(2026, 11, 30, 17, 0), status=S.NEW)
    return r


def test_november_counts_exactly(november):
    stats = st.compute(*NOVEMBER, now=NOW)
    assert stats.totals == st.Counts(received=13, awaiting_triage=4, accepted=7, rejected=1, duplicate=1,
                                      in_progress=2, answered=5, published=3, on_time=3, late=1, overdue=2)
    t = stats.totals
    assert t.awaiting_triage + t.rejected + t.duplicate + t.in_progress + t.answered == t.received
    assert t.awaiting_approval == 2
    assert t.on_time_rate == 0.75 and t.on_time_percent == 75
    assert stats.by_status[S.NEW] == 4 and stats.by_status[S.PUBLISHED] == 3
    assert stats.by_status[S.REOPENED] == 0
    assert sum(stats.by_status.values()) == 13


def test_time_to_answer_in_working_days(november):
    stats = st.compute(*NOVEMBER, now=NOW)
    # Answers took 4, 10, 3, 2 and 4 working days: sorted 2 3 4 4 10.
    assert stats.timed_answers == 5
    assert stats.median_days == 4
    assert stats.p90_days == pytest.approx(4 + (10 - 4) * 0.6)  # rank 3.6 of 0..4
    for report in november.values():
        if report.accepted_at and report.answered_at:
            assert working_days_between(report.accepted_at, report.answered_at) in (2, 3, 4, 10)


def test_period_bounds_follow_hai_phong_time(november):
    october = st.compute(date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    december = st.compute(date(2026, 12, 1), date(2026, 12, 31), now=NOW)
    assert october.totals.received == 1
    assert december.totals.received == 1
    assert st.period_bounds(*NOVEMBER) == (utc(2026, 10, 31, 17), utc(2026, 11, 30, 17))


def test_march_april_boundary_whatever_the_server_time_zone(db):
    march_report = factories.report(created_at=utc(2026, 3, 31, 16, 30))  # 23:30 on 31/03 in Hanoi
    april_report = factories.report(created_at=utc(2026, 3, 31, 17, 30))  # 00:30 on 01/04 in Hanoi
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
    saved = os.environ.get("TZ")
    results = []
    try:
        for tz in ("UTC", "America/Los_Angeles", "Pacific/Kiritimati"):
            os.environ["TZ"] = tz
            time_module.tzset()
            march = st.compute(date(2026, 3, 1), date(2026, 3, 31), now=NOW)
            april = st.compute(date(2026, 4, 1), date(2026, 4, 30), now=NOW)
            march_codes = [line.tracking_code for line in st.report_lines(date(2026, 3, 1), date(2026, 3, 31))]
            results.append((march.totals.received, april.totals.received, march_codes,
                            [w.counts.received for w in april.by_week]))
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time_module.tzset()
    assert results[0] == (1, 1, [march_report.tracking_code], [1, 0, 0, 0, 0])
    assert results[1] == results[0] and results[2] == results[0]
    assert april_report.tracking_code not in results[0][2]


def test_weeks_are_iso_weeks_cut_to_the_period(november):
    weeks = st.compute(*NOVEMBER, now=NOW).by_week
    assert [w.key for w in weeks] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert (weeks[0].first_day, weeks[0].last_day) == (date(2026, 11, 1), date(2026, 11, 1))
    assert (weeks[-1].first_day, weeks[-1].last_day) == (date(2026, 11, 30), date(2026, 11, 30))
    assert [w.counts.received for w in weeks] == [1, 7, 2, 2, 0, 1]
    assert sum((w.counts for w in weeks), st.Counts()) == st.compute(*NOVEMBER, now=NOW).totals


def test_local_date_of_the_last_instant_of_a_day(db):
    factories.report(created_at=utc(2026, 11, 8, 16, 59, 59, 999999))  # Sunday 23:59:59.999999 local
    factories.report(created_at=utc(2026, 11, 8, 17, 0, 0))  # Monday 00:00 local
    weeks = st.compute(date(2026, 11, 2), date(2026, 11, 15), now=NOW).by_week
    assert [(w.key, w.counts.received) for w in weeks] == [("2026-W45", 1), ("2026-W46", 1)]


def test_reports_of_a_2022_agency_count_under_its_successor(november):
    rows = st.compute(*NOVEMBER, now=NOW).by_agency
    labels = [(row.label, row.counts.received) for row in rows[:-1]]
    assert labels == [("Sở Xây dựng", 4), ("Sở Khoa học và Công nghệ", 2), ("Sở Y tế", 1)]
    by_name = {row.label: row for row in rows}
    assert "Sở Thông tin và Truyền thông" not in by_name
    assert "Sở Giao thông vận tải" not in by_name
    khcn = by_name["Sở Khoa học và Công nghệ"]
    assert khcn.former == (st.FormerAgency("Sở Thông tin và Truyền thông", 1),)
    assert khcn.counts.overdue == 1 and khcn.counts.on_time == 1
    xd = by_name["Sở Xây dựng"]
    assert xd.former == (st.FormerAgency("Sở Giao thông vận tải", 1),)
    assert (xd.counts.on_time, xd.counts.late, xd.counts.answered) == (2, 1, 4)
    assert rows[-1].key is None and rows[-1].counts.received == 6


def test_filters(november):
    khcn = factories.agency("Sở Khoa học và Công nghệ")
    by_agency = st.compute(*NOVEMBER, st.StatFilters(agency_id=khcn.id), now=NOW)
    assert by_agency.totals.received == 2 and by_agency.totals.overdue == 1
    only_old = st.compute(*NOVEMBER, st.StatFilters(agency_id=old_agency("Sở Thông tin và Truyền thông").id), now=NOW)
    assert only_old.totals.received == 1
    by_channel = st.compute(*NOVEMBER, st.StatFilters(channel=Channel.APP), now=NOW)
    assert by_channel.totals.received == 2
    by_category = st.compute(*NOVEMBER, st.StatFilters(category_id=factories.category("y_te").id), now=NOW)
    assert by_category.totals.received == 1 and by_category.totals.in_progress == 1
    by_unit = st.compute(*NOVEMBER, st.StatFilters(admin_unit_id=factories.unit("Phường Hồng Bàng").id), now=NOW)
    assert by_unit.totals.received == 12


def test_breakdowns_by_unit_category_channel(november):
    stats = st.compute(*NOVEMBER, now=NOW)
    assert [(r.label, r.counts.received) for r in stats.by_unit] == [("Phường Hồng Bàng", 12), ("Phường Lê Chân", 1)]
    assert [(r.label, r.counts.received) for r in stats.by_category] == [("Giao thông", 12), ("Y tế", 1)]
    assert [(r.key, r.counts.received) for r in stats.by_channel] == [(Channel.WEB, 11), (Channel.APP, 2)]
    for rows in (stats.by_unit, stats.by_category, stats.by_channel, stats.by_agency):
        assert sum((r.counts for r in rows), st.Counts()) == stats.totals


def test_overdue_list_and_lines(november):
    overdue = st.overdue_reports(*NOVEMBER, now=NOW)
    assert [line.tracking_code for line in overdue] == [november[2].tracking_code, november[5].tracking_code]
    line = overdue[1]
    assert line.agency == "Sở Khoa học và Công nghệ" and line.former_agency == "Sở Thông tin và Truyền thông"
    assert line.working_days_late == working_days_between(end_of_day(2026, 11, 18), NOW) == 15
    assert st.count_overdue(now=NOW) == 2
    lines = st.report_lines(*NOVEMBER, now=NOW)
    assert len(lines) == st.count_received(*NOVEMBER) == 13
    assert lines[0].tracking_code == november[13].tracking_code
    picked = st.reports_by_id([november[9].id, november[1].id, 10**9], now=NOW)
    assert [p.tracking_code for p in picked] == [november[9].tracking_code, november[1].tracking_code]


def test_notable_reports_are_those_staff_marked(november):
    november[9].notable = True
    november[12].notable = True  # received in October
    factories.db.session.flush()
    assert [line.tracking_code for line in st.notable_reports(*NOVEMBER, now=NOW)] == [november[9].tracking_code]


def test_titles_in_lists_are_redacted_of_the_reporter(db):
    report = factories.report(created_at=utc(2026, 11, 3, 1), title="Nhà bà Lê Thị Hoa 0912 345 678 bị ngập",
                              reporter_name="Lê Thị Hoa", reporter_phone="0912345678")
    [line] = st.report_lines(*NOVEMBER, now=NOW)
    assert line.title == "Nhà bà […] […] bị ngập"
    assert not hasattr(line, "reporter_name")
    assert report.title.startswith("Nhà bà Lê")


def test_nothing_in_the_period(db):
    stats = st.compute(*NOVEMBER, now=NOW)
    assert stats.totals == st.Counts()
    assert stats.median_days is None and stats.p90_days is None and stats.totals.on_time_rate is None
    assert stats.by_agency == [] and len(stats.by_week) == 6


def test_working_day_counter_agrees_with_the_deadlines_service():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(0, 75, 3)]  # across Tết 2026
    between = st._working_day_counter(days)
    for a in days:
        for b in days:
            noon_a = datetime(a.year, a.month, a.day, 5, tzinfo=timezone.utc)
            noon_b = datetime(b.year, b.month, b.day, 5, tzinfo=timezone.utc)
            assert between(a, b) == working_days_between(noon_a, noon_b), (a, b)


def test_percentile_interpolates_like_percentile_cont():
    assert st.percentile({}, 0.5) is None
    assert st.percentile({7: 1}, 0.9) == 7
    assert st.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2.5
    assert st.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.9) == pytest.approx(3.7)
    assert st.percentile({0: 3, 5: 1}, 0.5) == 0
    with pytest.raises(ValueError):
        st.percentile({1: 1}, 1.5)


def test_previous_period():
    assert st.previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (date(2026, 10, 1), date(2026, 10, 31))
    assert st.previous_period(date(2027, 1, 1), date(2027, 3, 31)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert st.previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert st.previous_period(date(2026, 11, 10), date(2026, 11, 16)) == (date(2026, 11, 3), date(2026, 11, 9))
    with pytest.raises(ValueError):
        st.period_bounds(date(2026, 11, 2), date(2026, 11, 1))


def test_change():
    assert st.change(15, 10) == 0.5
    assert st.change(5, 0) is None and st.change(None, 3) is None


@pytest.mark.parametrize("query", ["from=0001-01-01", "from=9999-12-31", "to=0001-01-01", "to=9999-12-31"])
def test_summary_periods_out_of_range_are_422_not_500(client, db, login_as, query):
    login_as("ioc_operator")
    for path in ("/summary/", "/summary/pdf"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query, response.status_code)
