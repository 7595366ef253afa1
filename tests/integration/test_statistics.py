"""The statistics service on hand-built reports: exact counts, the time-zone
boundary, the 2022 successor agencies, working-day percentiles; SQLite and PostgreSQL."""
from __future__ import annotations

import os
import time as time_module
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from hpsmart.models import Agency, Channel, CitizenFeedback, ReportStatus
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


def verdict(report, satisfied: bool, at: datetime):
    """A citizen's verdict on ``report`` given at ``at`` (no answer row needed here)."""
    feedback = CitizenFeedback(report=report, satisfied=satisfied, comment="" if satisfied else "Chưa xong",
                               created_at=at)
    factories.db.session.add(feedback)
    factories.db.session.flush()
    return feedback


@pytest.fixture()
def verdicts(november):
    """Citizens' verdicts on November's answered reports, and one on an October report."""
    verdict(november[7], True, utc(2026, 11, 7))  # Sở KHCN, app, week 45: satisfied
    verdict(november[9], False, utc(2026, 11, 26))  # Sở GTVT (→ Sở Xây dựng), week 47:
    verdict(november[9], True, utc(2026, 12, 2))  # ... not satisfied, answered again, satisfied
    verdict(november[10], True, utc(2026, 11, 13))  # Sở Xây dựng, week 46: satisfied,
    verdict(november[10], False, utc(2026, 11, 20))  # ... then not satisfied
    tie = utc(2026, 11, 24)  # two verdicts at the same instant: the later row wins
    verdict(november[8], True, tie)
    verdict(november[8], False, tie)
    verdict(november[12], True, utc(2026, 11, 3))  # received in October
    return november


def test_satisfaction_counts_each_report_once_with_its_latest_verdict(verdicts):
    stats = st.compute(*NOVEMBER, now=NOW)
    t = stats.totals
    assert (t.satisfied, t.not_satisfied, t.verdicts) == (2, 2, 4)
    assert t.satisfaction_rate == 0.5 and t.satisfaction_percent == 50
    by_agency = {row.label: row.counts for row in stats.by_agency}
    khcn_counts = by_agency["Sở Khoa học và Công nghệ"]
    assert (khcn_counts.satisfied, khcn_counts.not_satisfied) == (1, 0)
    # Sở Xây dựng: report 9 (routed to the former Sở GTVT) satisfied; 8 and 10 not satisfied.
    assert (by_agency["Sở Xây dựng"].satisfied, by_agency["Sở Xây dựng"].not_satisfied) == (1, 2)
    assert by_agency["Sở Xây dựng"].satisfaction_rate == pytest.approx(1 / 3)
    assert by_agency["Sở Y tế"].satisfaction_rate is None
    assert [(r.key, r.counts.satisfied, r.counts.not_satisfied) for r in stats.by_channel] == [
        (Channel.WEB, 1, 2), (Channel.APP, 1, 0)]
    assert [(r.label, r.counts.satisfied, r.counts.not_satisfied) for r in stats.by_unit] == [
        ("Phường Hồng Bàng", 2, 2), ("Phường Lê Chân", 0, 0)]
    assert [(r.counts.satisfied, r.counts.not_satisfied) for r in stats.by_category] == [(2, 2), (0, 0)]
    assert [(r.key, r.counts.satisfied, r.counts.not_satisfied) for r in stats.by_week if r.counts.verdicts] == [
        ("2026-W45", 1, 0), ("2026-W46", 0, 2), ("2026-W47", 1, 0)]
    for rows in (stats.by_unit, stats.by_category, stats.by_channel, stats.by_agency, stats.by_week):
        assert sum((r.counts for r in rows), st.Counts()) == t
    # Filters apply to verdicts as to everything else; other periods have their own.
    khcn = st.compute(*NOVEMBER, st.StatFilters(agency_id=factories.agency("Sở Khoa học và Công nghệ").id), now=NOW)
    assert (khcn.totals.satisfied, khcn.totals.not_satisfied) == (1, 0)
    october = st.compute(date(2026, 10, 1), date(2026, 10, 31), now=NOW)
    assert (october.totals.satisfied, october.totals.not_satisfied) == (1, 0)


def latest_verdicts_in_database(reports) -> list:
    """``report.satisfied`` of each report as stored (not as the session holds it)."""
    rows = dict(factories.db.session.execute(
        text("SELECT id, satisfied FROM report WHERE id IN (%s)" % ", ".join(str(r.id) for r in reports))).all())
    return [None if rows[r.id] is None else bool(rows[r.id]) for r in reports]


def test_each_report_keeps_its_latest_verdict(verdicts):
    """``Report.satisfied`` follows the rule of the statistics: newest ``created_at``, then
    ``id``, whatever order the verdicts were stored in; None without a verdict."""
    judged = [verdicts[i] for i in (7, 8, 9, 10, 12)]
    expected = [True, False, True, False, True]
    assert [r.satisfied for r in judged] == expected
    assert latest_verdicts_in_database(judged) == expected
    assert verdicts[1].satisfied is None and latest_verdicts_in_database([verdicts[1]]) == [None]
    # A verdict stored now but dated before the latest one does not replace it.
    verdict(verdicts[7], False, utc(2026, 11, 5))
    verdict(verdicts[9], False, utc(2026, 12, 1))
    assert latest_verdicts_in_database([verdicts[7], verdicts[9]]) == [True, True]
    assert (verdicts[7].satisfied, verdicts[9].satisfied) == (True, True)
    # Deleting the latest verdict brings back the one before it.
    newest = factories.db.session.scalar(select(CitizenFeedback).where(
        CitizenFeedback.report_id == verdicts[9].id).order_by(CitizenFeedback.created_at.desc()).limit(1))
    factories.db.session.delete(newest)
    factories.db.session.flush()
    assert latest_verdicts_in_database([verdicts[9]]) == [False] and verdicts[9].satisfied is False
    stats = st.compute(*NOVEMBER, now=NOW)
    assert (stats.totals.satisfied, stats.totals.not_satisfied) == (1, 3)


def migration(revision_file: str):
    """A migration module of migrations/versions, loaded from its file."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / revision_file
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_0009_back_fills_the_latest_verdicts(verdicts):
    """The back-fill of migration 0009, run on reports whose column is empty, gives what the
    model keeps (and the statistics count) and leaves reports without a verdict NULL."""
    from hpsmart.models.response import refresh_latest_verdicts

    module = migration("0009_report_latest_verdict.py")
    assert (module.revision, module.down_revision) == ("0009", "0008")
    reports = list(verdicts.values())
    kept = latest_verdicts_in_database(reports)
    assert kept.count(None) == len(reports) - 5
    session = factories.db.session
    session.execute(text("UPDATE report SET satisfied = NULL"))
    session.execute(text(module.BACKFILL))
    assert latest_verdicts_in_database(reports) == kept
    session.execute(text("UPDATE report SET satisfied = NULL"))
    refresh_latest_verdicts(session.connection())  # every judged report, as the benchmarks do
    assert latest_verdicts_in_database(reports) == kept
    session.expire_all()
    stats = st.compute(*NOVEMBER, now=NOW)
    assert (stats.totals.satisfied, stats.totals.not_satisfied) == (2, 2)


def test_week_labels_are_readable_in_both_languages(november):
    from flask_babel import force_locale

    with force_locale("vi"):
        weeks = st.compute(*NOVEMBER, now=NOW, locale="vi").by_week
    assert [w.label for w in weeks[:2]] == ["Tuần 44 (01/11)", "Tuần 45 (02/11–08/11)"]
    with force_locale("en"):
        weeks = st.compute(*NOVEMBER, now=NOW, locale="en").by_week
        assert st.week_label(44, date(2026, 10, 27), date(2026, 11, 2), "en") == "Week 44 (27 Oct–2 Nov)"
    assert [w.label for w in weeks[:2]] == ["Week 44 (1 Nov)", "Week 45 (2 Nov–8 Nov)"]
    assert st.week_days(date(2026, 10, 27), date(2026, 11, 2), "vi") == "27/10–02/11"


def test_unit_positions_are_the_median_of_the_reports_points(db):
    le_chan, hong_bang = factories.unit("Phường Lê Chân"), factories.unit("Phường Hồng Bàng")
    # Cells of 0.001°, counted at their centres: medians of 20.8565, 20.8575, 20.8585, 20.9995 and of
    # 106.6825, 106.6835, 106.6845, 106.9995 (one far pin).
    points = [(20.8561, 106.6822), (20.8571, 106.6832), (20.8581, 106.6842), (20.9999, 106.9999)]
    for lat, lon in points:
        factories.report(created_at=utc(2026, 11, 5, 3), admin_unit=le_chan, latitude=lat, longitude=lon)
    factories.report(created_at=utc(2026, 11, 5, 3), admin_unit=le_chan)  # no location
    factories.report(created_at=utc(2026, 11, 6, 3), admin_unit=hong_bang, latitude=20.8651, longitude=106.6781)
    factories.report(created_at=utc(2026, 11, 6, 3), admin_unit=hong_bang, latitude=20.8671, longitude=106.6801,
                     channel=Channel.APP)
    factories.report(created_at=utc(2026, 12, 6, 3), admin_unit=hong_bang, latitude=21.5, longitude=107.5)
    factories.report(created_at=utc(2026, 11, 6, 3), admin_unit=None, latitude=20.8, longitude=106.7)

    positions = st.unit_positions(*NOVEMBER)
    assert set(positions) == {le_chan.id, hong_bang.id}
    assert positions[le_chan.id] == st.UnitPosition(pytest.approx(20.858), pytest.approx(106.684), 4)
    assert positions[hong_bang.id] == st.UnitPosition(pytest.approx(20.8665), pytest.approx(106.6795), 2)
    only_app = st.unit_positions(*NOVEMBER, st.StatFilters(channel=Channel.APP))
    assert only_app == {hong_bang.id: st.UnitPosition(pytest.approx(20.8675), pytest.approx(106.6805), 1)}


def test_degree_cells_are_the_same_floor_on_both_databases(db):
    from sqlalchemy import Float, literal

    values = [20.8561, 106.6801, 21.0, -1.5004, -0.0004, 0.0]
    cells = db.session.execute(select(*(st.degree_cell(literal(v, Float)) for v in values))).one()
    assert [int(c) for c in cells] == [20856, 106680, 21000, -1501, -1, 0]


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


def test_totals_only_gives_the_same_totals_from_one_scan(verdicts):
    full = st.compute(*NOVEMBER, now=NOW)
    totals = st.compute(*NOVEMBER, now=NOW, totals_only=True)
    assert totals.totals == full.totals and totals.totals.received == 13
    assert totals.totals.satisfied + totals.totals.not_satisfied > 0
    assert totals.by_status == full.by_status
    assert (totals.timed_answers, totals.median_days, totals.p90_days) == (
        full.timed_answers, full.median_days, full.p90_days)
    assert totals.by_agency == totals.by_week == totals.by_unit == []
    empty = st.compute(date(2020, 1, 1), date(2020, 1, 31), now=NOW, totals_only=True)
    assert empty.totals == st.Counts() and empty.median_days is None


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
