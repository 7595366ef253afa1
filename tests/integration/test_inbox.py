"""The inbox list through HTTP: search, filters, sorts, pages, htmx fragments, who sees what,
saved views and bulk actions. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""
from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from hpsmart.models import Channel, Report, ReportStatus as S, SavedView, Urgency, utcnow
from hpsmart.services import deadlines, workflow

from .. import factories
from ..conftest import csrf_token

HTMX = {"HX-Request": "true"}


def codes(response) -> list[str]:
    """Tracking codes of the rows, in order."""
    return re.findall(r'<td class="code"><a href="[^"]+">([^<]+)</a>', response.text)


def listing(client, **params) -> list[str]:
    response = client.get("/inbox/", query_string=params)
    assert response.status_code == 200, response.text
    return codes(response)


def notices(response) -> list[str]:
    """The notices about ignored query values."""
    if '<ul class="notices"' not in response.text:
        return []
    block = response.text.split('<ul class="notices"')[1].split("</ul>")[0]
    return re.findall(r"<li>(.*?)</li>", block, re.S)


def count_of(response) -> int:
    match = re.search(r'<p class="count">(\d+)', response.text)
    assert match, "no count on the page"
    return int(match.group(1))


@pytest.fixture()
def ioc(login_as):
    return login_as("ioc_operator")


# --- search ------------------------------------------------------------------------------

def test_search_da_kao_finds_phuong_da_kao(client, ioc):
    hit = factories.report(title="Cây đổ chắn lối đi", address="12 Đinh Tiên Hoàng, Phường Đa Kao")
    miss = factories.report(title="Cây đổ ở Phường Hồng Bàng", address="3 Lạch Tray")
    found = listing(client, q="da kao")
    assert hit.tracking_code in found and miss.tracking_code not in found


def test_search_street_without_accents(client, ioc):
    hit = factories.report(description="Vỉa hè trên đường Nguyễn Đình Chiểu bị lấn chiếm.")
    partial = factories.report(description="Đường Nguyễn Trãi ngập nước.")  # shares some words only
    found = listing(client, q="duong nguyen dinh chieu")
    assert found == [hit.tracking_code]
    assert partial.tracking_code in listing(client, q="duong nguyen")


def test_search_ignores_case_and_accents(client, ioc):
    a = factories.report(title="Đèn điện chiếu sáng hỏng")
    b = factories.report(title="Hệ thống ĐIỆN CHIẾU SÁNG công cộng tắt")
    factories.report(title="Đèn giao thông hỏng")
    upper, lower, plain = (listing(client, q=q) for q in ("ĐIỆN CHIẾU SÁNG", "điện chiếu sáng", "dien chieu sang"))
    assert upper == lower == plain
    assert set(upper) == {a.tracking_code, b.tracking_code}


def test_search_nfd_report_found_by_nfc_query_and_back(client, ioc):
    nfd_title = unicodedata.normalize("NFD", "Rác thải ùn ứ ở chợ Sắt")
    nfd_report = factories.report(title=nfd_title)
    nfc_report = factories.report(title="Nước thải tràn ra phố Điện Biên Phủ")
    assert nfd_report.tracking_code in listing(client, q="Rác thải ùn ứ")
    assert nfc_report.tracking_code in listing(client, q=unicodedata.normalize("NFD", "phố Điện Biên"))


def test_a_short_tracking_code_finds_its_report(client, ioc):
    """Found by a newcomer's trial: "HP-2026-21" found nothing, where the public tracking
    page reads it as HP-2026-000021."""
    from hpsmart.services import search

    report = factories.report(title="shortcode case")
    year, number = report.tracking_code.split("-")[1:]
    assert search.terms(f"hp-{year}-{int(number)}") == [f"hp {year} {number}"]
    for typed in (f"HP-{year}-{int(number)}", f"hp{year}{number}", report.tracking_code.lower()):
        assert listing(client, q=typed) == [report.tracking_code], typed


def test_search_by_tracking_code_and_ward(client, ioc):
    report = factories.report(title="Mất nắp cống", admin_unit=factories.unit("Phường Lê Chân"))
    assert listing(client, q=report.tracking_code.lower()) == [report.tracking_code]
    assert report.tracking_code in listing(client, q="le chan nap cong")


def test_search_wildcards_are_not_wildcards(client, ioc):
    """Punctuation separates words and is never a LIKE or FTS wildcard; a query of
    punctuation only searches nothing and says so."""
    pothole = factories.report(title="Ổ gà")
    percent = factories.report(title="Giảm 50% lưu lượng")
    assert listing(client, q="50%") == [percent.tracking_code]
    assert listing(client, q="50_1") == []
    assert listing(client, q='"50"*') == [percent.tracking_code]
    for query in ("%", "_", '"*'):
        response = client.get("/inbox/", query_string={"q": query})
        assert set(codes(response)) >= {pothole.tracking_code, percent.tracking_code}
        assert any("không có chữ cái hay chữ số" in n for n in notices(response))


def test_search_matches_the_start_of_words_not_the_middle(client, ioc):
    """"gà" finds "Ổ gà" and "gạch", not "ngập"; a tracking code is found by its number."""
    pothole = factories.report(title="Ổ gà giữa đường", description="Sâu, nguy hiểm.")
    bricks = factories.report(title="Gạch vỡ trên vỉa hè", description="Vỡ nhiều viên.")
    flood = factories.report(title="Ngập nước sau mưa", description="Nước sâu nửa mét.")
    assert set(listing(client, q="gà")) == {pothole.tracking_code, bricks.tracking_code}
    assert listing(client, q="ngap") == [flood.tracking_code]
    assert listing(client, q="gap") == []
    number = flood.tracking_code.rsplit("-", 1)[-1]
    assert listing(client, q=number) == [flood.tracking_code]
    assert listing(client, q=flood.tracking_code.lower()) == [flood.tracking_code]


# --- filters -----------------------------------------------------------------------------

def test_status_filter_takes_several_values(client, ioc):
    new = factories.report(status=S.NEW)
    routed = factories.report(status=S.ROUTED, agency=factories.agency())
    published = factories.report(status=S.PUBLISHED)
    found = client.get("/inbox/?status=new&status=routed")
    assert set(codes(found)) >= {new.tracking_code, routed.tracking_code}
    assert published.tracking_code not in codes(found)
    assert published.tracking_code in listing(client, status="published")


def test_category_unit_channel_urgency_filters(client, ioc):
    target = factories.report(category=factories.category("ve_sinh_moi_truong"),
                              admin_unit=factories.unit("Phường Lê Chân"), channel=Channel.APP, urgency=Urgency.URGENT)
    other = factories.report()
    unit_code = target.admin_unit.code
    for params in ({"category": "ve_sinh_moi_truong"}, {"unit": unit_code}, {"channel": "app"}, {"urgency": "urgent"}):
        found = listing(client, **params)
        assert target.tracking_code in found and other.tracking_code not in found, params
    assert listing(client, category="ve_sinh_moi_truong", unit=unit_code, channel="app", urgency="urgent") == [
        target.tracking_code]


def test_agency_filter_matches_handling_and_co_handling(client, ioc):
    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    handled = factories.report(agency=construction, status=S.ROUTED)
    co_handled = factories.report(agency=health, status=S.ROUTED)
    co_handled.co_agencies.append(construction)
    elsewhere = factories.report(agency=health, status=S.ROUTED)
    found = listing(client, agency=construction.id)
    assert set(found) >= {handled.tracking_code, co_handled.tracking_code}
    assert elsewhere.tracking_code not in found


def test_agency_mine_and_assigned_for_staff(client, users, login_as):
    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    handled = factories.report(agency=construction, status=S.ROUTED)
    co_handled = factories.report(agency=health, status=S.ROUTED)
    co_handled.co_agencies.append(construction)
    login_as("agency_staff")
    assert set(listing(client, agency="mine")) == {handled.tracking_code, co_handled.tracking_code}
    # "assigned to me": the handling agency is mine (co-handled ones are not)
    assert listing(client, assigned="me") == [handled.tracking_code]


def test_unassigned_and_mine_for_ioc(client, ioc):
    unassigned = factories.report()
    routed = factories.report(agency=factories.agency(), status=S.ROUTED)
    found = listing(client, assigned="unassigned")
    assert unassigned.tracking_code in found and routed.tracking_code not in found
    response = client.get("/inbox/?agency=mine&assigned=me")
    assert response.status_code == 200
    assert len(notices(response)) == 2  # IOC operators have no agency: both filters ignored, said so
    assert routed.tracking_code in codes(response)


def test_due_filters_and_flags(client, ioc):
    now = utcnow()
    agency = factories.agency()
    overdue = factories.report(status=S.IN_PROGRESS, agency=agency, deadline=now - timedelta(days=3))
    due_soon = factories.report(status=S.ROUTED, agency=agency, deadline=deadlines.add_working_days(now, 1))
    on_time = factories.report(status=S.ROUTED, agency=agency, deadline=deadlines.add_working_days(now, 8))
    answered_late = factories.report(status=S.ANSWERED, agency=agency, deadline=now - timedelta(days=3))
    closed_late = factories.report(status=S.PUBLISHED, agency=agency, deadline=now - timedelta(days=3))
    assert listing(client, due="overdue") == [overdue.tracking_code]
    assert listing(client, due="due_soon") == [due_soon.tracking_code]
    page = client.get("/inbox/").text
    rows = {code: row for code, row in re.findall(r'<tr class="[^"]*">\s*<td class="select">.*?'
                                                   r'<td class="code"><a [^>]+>([^<]+)</a>(.*?)</tr>', page, re.S)}
    assert "flag-overdue" in rows[overdue.tracking_code]
    assert "flag-due-soon" in rows[due_soon.tracking_code]
    for report in (on_time, answered_late, closed_late):
        assert "flag-overdue" not in rows[report.tracking_code] and "flag-due-soon" not in rows[report.tracking_code]
    assert re.search(r'class="deadline-overdue"', page)
    # the flag is words, not colour only
    assert re.search(r'flag-overdue">[^<]*\w', rows[overdue.tracking_code])


def test_date_range_uses_local_calendar_days(client, ioc):
    # 30/11/2026 23:30 in Hai Phong is 16:30 UTC; 01/12/2026 00:30 local is 17:30 UTC on 30/11.
    late_evening = factories.report(created_at=datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc))
    after_midnight = factories.report(created_at=datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc))
    earlier = factories.report(created_at=datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc))
    assert set(listing(client, date_from="2026-11-30", date_to="2026-11-30")) == {late_evening.tracking_code}
    assert set(listing(client, date_from="2026-12-01", date_to="2026-12-01")) == {after_midnight.tracking_code}
    found = listing(client, date_to="2026-11-29")
    assert earlier.tracking_code in found and late_evening.tracking_code not in found


# --- sort and pages ----------------------------------------------------------------------

def test_sorts(client, ioc):
    base = datetime(2026, 10, 1, 3, 0, tzinfo=timezone.utc)
    a = factories.report(title="sortcase a", created_at=base, deadline=base + timedelta(days=9))
    b = factories.report(title="sortcase b", created_at=base + timedelta(days=1), deadline=base + timedelta(days=2))
    c = factories.report(title="sortcase c", created_at=base + timedelta(days=2))  # no deadline
    for report, days in ((a, 5), (b, 3), (c, 4)):
        report.updated_at = base + timedelta(days=days)
    factories.db.session.flush()
    q = "sortcase"
    assert listing(client, q=q) == [c.tracking_code, b.tracking_code, a.tracking_code]  # newest first
    assert listing(client, q=q, order="asc") == [a.tracking_code, b.tracking_code, c.tracking_code]
    assert listing(client, q=q, sort="deadline") == [b.tracking_code, a.tracking_code, c.tracking_code]
    assert listing(client, q=q, sort="deadline", order="desc") == [a.tracking_code, b.tracking_code, c.tracking_code]
    assert listing(client, q=q, sort="updated") == [a.tracking_code, c.tracking_code, b.tracking_code]


def test_pages_of_fifty_with_the_total(client, ioc):
    made = [factories.report(title=f"pagecase {i}") for i in range(53)]
    first = client.get("/inbox/?q=pagecase")
    assert count_of(first) == 53 and len(codes(first)) == 50
    second = client.get("/inbox/?q=pagecase&page=2")
    assert count_of(second) == 53 and len(codes(second)) == 3
    assert set(codes(first)) | set(codes(second)) == {r.tracking_code for r in made}
    assert 'href="/inbox/?q=pagecase&amp;page=2"' in first.text  # the pager keeps the filters
    beyond = client.get("/inbox/?q=pagecase&page=40")
    assert beyond.status_code == 200 and codes(beyond) == codes(second)
    assert len(notices(beyond)) == 1


def test_total_is_counted_up_to_the_limit(client, ioc, monkeypatch):
    from hpsmart.services import search

    monkeypatch.setattr(search, "COUNT_LIMIT", 60)  # searches; lists count to inbox.COUNT_LIMIT
    made = [factories.report(title=f"capcase {i}") for i in range(61)]
    first = client.get("/inbox/?q=capcase")
    # "More than 60 reports" (translated): the count line starts with words, not the number.
    assert re.search(r'<p class="count">[^<\d]+60\D', first.text) and len(codes(first)) == 50
    second = client.get("/inbox/?q=capcase&page=2")
    assert set(codes(first)) | set(codes(second)) == {r.tracking_code for r in made}
    beyond = client.get("/inbox/?q=capcase&page=3")  # the pages stop at the limit: narrow the filters
    assert codes(beyond) == codes(second) and len(notices(beyond)) == 1
    factories.report(title="capother one")
    factories.report(title="capother two")
    exact = client.get("/inbox/?q=capother")
    assert count_of(exact) == 2


@pytest.mark.parametrize("query", [
    "status=bogus", "page=abc", "page=0", "page=-5", "page=99999999999999999999", "date_from=31/12/2026",
    "date_to=2026-13-45", "agency=x", "agency=999999", "category=nope", "unit=00000", "unit=abc",
    "sort=title&order=up", "due=someday&assigned=him", "q=" + "x" * 500, "q=%25%25%25", "q=%00",
    "channel=%F0%9F%92%A5", "status=", "agency=mine", "category=' OR 1=1 --", "page=%C2%B2", "agency=%D9%A3",
    "unit=%00", "status=%00new", "q=%FF%FE", "date_from=%EF%BC%92026-01-01",
])
def test_bad_query_values_never_fail(client, ioc, query):
    factories.report()
    response = client.get(f"/inbox/?{query}")
    assert response.status_code == 200
    assert "<html" in response.text


@pytest.mark.parametrize("name", ["category", "unit", "agency", "status", "channel", "sort", "q"])
def test_values_echoed_in_notices_are_escaped(client, ioc, name):
    """Found by a newcomer's trial: ``?category=<img src=x onerror=...>`` ran as script in
    the notice "Unknown category … was ignored"."""
    payload = "<img src=x onerror=alert(1)>"
    value = payload + "\u00ad" if name == "q" else payload  # q: a soft hyphen is dropped, with a notice
    response = client.get("/inbox/", query_string={name: value})
    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert name == "q" or "&lt;img src=x onerror=alert(1)&gt;" in " ".join(notices(response))


def test_bad_value_notice_is_shown_and_dropped_from_links(client, ioc):
    for i in range(51):
        factories.report(title=f"noticecase {i}")
    response = client.get("/inbox/?q=noticecase&status=bogus&category=nope")
    assert response.status_code == 200
    shown = notices(response)
    assert len(shown) == 2 and "bogus" in shown[0] and "nope" in shown[1]
    assert "status=bogus" not in response.text and "category=nope" not in response.text  # pager links


def test_rows_are_loaded_without_a_query_per_row(app, client, ioc, monkeypatch):
    from hpsmart.extensions import db
    from hpsmart.services import search

    monkeypatch.setattr(search, "DENSE_HITS", 10_000)  # both searches read the same way

    def queries_for(url):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    for i in range(3):
        factories.report(title=f"nplusone small {i}", agency=factories.agency())
    few = queries_for("/inbox/?q=nplusone+small")
    for i in range(40):
        factories.report(title=f"nplusone big {i}", agency=factories.agency("Sở Y tế"),
                         admin_unit=factories.unit("Phường Lê Chân"), category=factories.category("ve_sinh_moi_truong"))
    many = queries_for("/inbox/?q=nplusone+big")
    assert many == few


# --- htmx --------------------------------------------------------------------------------

def test_htmx_request_gets_only_the_list(client, ioc):
    report = factories.report(title="fragmentcase")
    response = client.get("/inbox/?q=fragmentcase", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text and "<form id=\"inbox-filters\"" not in response.text
    assert response.text.lstrip().startswith('<div id="report-list"')
    assert codes(response) == [report.tracking_code]
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true", "HX-History-Restore-Request": "true"},
                                     {"HX-History-Restore-Request": "true"}])
def test_normal_and_history_restore_requests_get_the_full_page(client, ioc, headers):
    report = factories.report(title="fullpagecase")
    response = client.get("/inbox/?q=fullpagecase&status=new", headers=headers)
    assert response.status_code == 200
    assert "<html" in response.text and 'id="inbox-filters"' in response.text
    assert codes(response) == [report.tracking_code]
    # the form shows the filters of the URL
    assert 'value="fullpagecase"' in response.text
    assert re.search(r'name="status" value="new" checked', response.text)
    assert "HX-Request" in response.headers.get("Vary", "")


def test_list_page_has_the_htmx_wiring(client, ioc):
    page = client.get("/inbox/").text
    form = page.split('<form id="inbox-filters"')[1].split(">")[0]
    assert 'method="get"' in form and 'hx-target="#report-list"' in form and 'hx-push-url="true"' in form
    search = page.split('id="inbox-q"')[1].split(">")[0]
    assert 'hx-trigger="input changed delay:300ms, search"' in search and 'form="inbox-filters"' in search
    assert 'hx-history="false"' in page
    assert re.search(r'<button type="submit"[^>]*>', page.split('<form id="inbox-filters"')[1].split("</form>")[0])


def test_rows_link_to_the_report_view(client, ioc):
    report = factories.report()
    page = client.get("/inbox/").text
    assert f'href="/inbox/reports/{report.tracking_code}"' in page


# --- who sees what -----------------------------------------------------------------------

def test_each_role_sees_its_reports(client, users, auth):
    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    own = factories.report(title="rolecase own", agency=construction, status=S.ROUTED)
    co = factories.report(title="rolecase co", agency=health, status=S.ROUTED)
    co.co_agencies.append(construction)
    other = factories.report(title="rolecase other", agency=health, status=S.ROUTED)
    assisted = factories.report(title="rolecase assisted", assisted_by=users["community_member"])
    everything = {own.tracking_code, co.tracking_code, other.tracking_code, assisted.tracking_code}
    for role, expected in [("ioc_operator", everything), ("admin", everything),
                           ("agency_staff", {own.tracking_code, co.tracking_code}),
                           ("agency_lead", {own.tracking_code, co.tracking_code})]:
        auth.login(users[role].email)
        response = client.get("/inbox/?q=rolecase")
        assert set(codes(response)) == expected, role
        assert count_of(response) == len(expected), role
        auth.logout()
    auth.login(users["community_member"].email)
    assert client.get("/inbox/?q=rolecase").status_code == 403


@pytest.mark.parametrize("sort", ["received", "deadline", "updated"])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("way", ["search", "search past the count limit", "list", "list, co-handled part counted"])
def test_handled_and_co_handled_pages_are_one_ordered_list(db, sort, order, way, monkeypatch):
    """The agency scope is read in two parts (handled; co-handled only); paging through
    them gives every report once, in the order one query would give: a search's matches
    sorted in Python, or (more than the count limit, not dense) sorted by the database
    from both parts' matches, a list's co-handled part merged in Python, or both parts
    paged by the database (co-handled part larger than IN_HAND_ROWS)."""
    from hpsmart.services import inbox, search
    from hpsmart.services.inbox import InboxFilters, _ordering, search_reports
    from hpsmart.services.visibility import handled_or_co_handled_by

    mine, other = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    start = utcnow() - timedelta(days=40)
    for i in range(13):
        handler = mine if i % 3 else other
        report = factories.report(title=f"pagecase {i}", agency=handler, status=S.ROUTED)
        report.created_at = start + timedelta(days=i % 7, hours=i)
        report.deadline = None if i % 5 == 0 else start + timedelta(days=20 - i % 4)
        if i % 3 == 0 or i == 4:  # co-handled; report 4 is handled and co-handled by mine
            report.co_agencies.append(mine)
    factories.report(title="pagecase unrelated", agency=other, status=S.ROUTED)
    db.session.flush()
    staff = factories.user("agency_staff", agency_obj=mine)
    ioc = factories.user("ioc_operator")
    searching = way.startswith("search")
    args = {"q": "pagecase", "sort": sort, "order": order} if searching else {"sort": sort, "order": order}
    if way == "list, co-handled part counted":
        monkeypatch.setattr(inbox, "IN_HAND_ROWS", 2)
    shown = 13
    if way == "search past the count limit":
        monkeypatch.setattr(search, "COUNT_LIMIT", 12)  # 13 matches: "more than 12", 4 pages of 3
        shown = 12
    filters = InboxFilters.from_args(args)
    expected = list(db.session.scalars(
        select(Report.id).where(Report.title.like("pagecase%"), handled_or_co_handled_by(mine.id))
        .order_by(*_ordering(filters))))
    assert len(expected) == 13
    for user, extra in ((staff, {}), (ioc, {"agency": str(mine.id)}), (staff, {"agency": "mine"})):
        seen = []
        for number in range(1, math.ceil(shown / 3) + 1):
            page = search_reports(InboxFilters.from_args({**args, **extra, "page": str(number)}), user, page_size=3)
            assert page.total == shown and page.pages == math.ceil(shown / 3) and page.capped == (shown < 13)
            seen += [r.id for r in page.items]
        assert seen == expected[:shown], (user.role, extra)


def test_co_handled_reports_are_listed_when_the_handled_part_nearly_fills_the_count(db, monkeypatch):
    """The count's limit reached by the handled part alone must not cut the co-handled
    part short: its reports keep their places in the pages (found by a newcomer's trial:
    9,999 handled and 4 co-handled reports, two of them never listed)."""
    from hpsmart.services import inbox
    from hpsmart.services.inbox import InboxFilters, _ordering, search_reports
    from hpsmart.services.visibility import handled_or_co_handled_by

    monkeypatch.setattr(inbox, "COUNT_LIMIT", 10)
    mine, other = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    start = utcnow() - timedelta(days=30)
    for i in range(13):
        co = i in (2, 6, 11)
        report = factories.report(title=f"nearly {i}", agency=other if co else mine, status=S.ROUTED)
        report.created_at = start + timedelta(hours=i)
        if co:
            report.co_agencies.append(mine)
    db.session.flush()
    staff = factories.user("agency_staff", agency_obj=mine)
    filters = InboxFilters.from_args({})
    expected = list(db.session.scalars(select(Report.id).where(handled_or_co_handled_by(mine.id))
                                       .order_by(*_ordering(filters))))[:12]
    seen = []
    for number in (1, 2, 3, 4):
        page = search_reports(InboxFilters.from_args({"page": str(number)}), staff, page_size=3)
        assert page.capped and page.total == 10 and page.pages == 4
        seen += [r.id for r in page.items]
    assert seen == expected


def test_staff_without_agency_see_nothing(client, auth):
    lone = factories.user("agency_staff")
    lone.agency = None
    factories.db.session.flush()
    factories.report(title="loneagency", agency=factories.agency(), status=S.ROUTED)
    auth.login(lone.email)
    assert listing(client, q="loneagency") == []


# --- saved views -------------------------------------------------------------------------

def save(client, name, query, token=None):
    token = token or csrf_token(client, "/inbox/")
    return client.post("/inbox/views", data={"csrf_token": token, "name": name, "query": query})


def test_save_list_and_delete_a_view(client, ioc, db):
    response = save(client, "  Quá hạn  giao thông ", "category=giao_thong&due=overdue&page=3&status=bogus")
    assert response.status_code == 303
    assert response.headers["Location"] == "/inbox/?category=giao_thong&due=overdue"
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == ioc.id))
    assert view.name == "Quá hạn giao thông" and view.query_string == "category=giao_thong&due=overdue"
    page = client.get("/inbox/").text
    assert 'href="/inbox/?category=giao_thong&amp;due=overdue">Quá hạn giao thông</a>' in page
    response = client.post(f"/inbox/views/{view.id}/delete", data={"csrf_token": csrf_token(client, "/inbox/")})
    assert response.status_code == 303
    assert db.session.scalar(select(SavedView).where(SavedView.id == view.id)) is None


def test_duplicate_view_name_is_refused_with_422(client, ioc):
    assert save(client, "Mới", "status=new").status_code == 303
    response = save(client, "Mới", "status=routed")
    assert response.status_code == 422
    assert "Mới" in response.text and 'class="error" id="view-name-err"' in response.text
    assert 'value="Mới"' in response.text  # what was typed is kept
    assert save(client, "", "status=new").status_code == 422


def test_another_user_cannot_delete_my_view(client, users, auth, db):
    view = SavedView(user_id=users["ioc_operator"].id, name="Của tôi", query_string="status=new")
    db.session.add(view)
    db.session.flush()
    auth.login(users["admin"].email)
    response = client.post(f"/inbox/views/{view.id}/delete", data={"csrf_token": csrf_token(client, "/inbox/")})
    assert response.status_code == 404
    assert "Của tôi" not in client.get("/inbox/").text  # nor sees it
    assert db.session.get(SavedView, view.id) is not None


def test_saved_view_posts_need_csrf(client, ioc, db):
    assert client.post("/inbox/views", data={"name": "x", "query": ""}).status_code == 400
    view = SavedView(user_id=ioc.id, name="Giữ", query_string="")
    db.session.add(view)
    db.session.flush()
    assert client.post(f"/inbox/views/{view.id}/delete").status_code == 400
    assert db.session.get(SavedView, view.id) is not None


def test_agency_users_get_the_suggested_overdue_view(client, login_as):
    login_as("agency_staff")
    page = client.get("/inbox/").text
    assert 'href="/inbox/?agency=mine&amp;due=overdue"' in page


def test_ioc_gets_no_agency_suggestion(client, ioc):
    assert "agency=mine&amp;due=overdue" not in client.get("/inbox/").text


# --- bulk actions ------------------------------------------------------------------------

def bulk(client, action, reports, headers=None, **extra):
    data = {"csrf_token": csrf_token(client, "/inbox/"), "action": action, "query": "status=new&q=bulkcase",
            "report": [r if isinstance(r, str) else f"{r.id}:{r.version}" for r in reports], **extra}
    return client.post("/inbox/bulk", data=data, headers=headers or {})


def test_bulk_accept_with_mixed_results(client, ioc, db):
    fresh = [factories.report(title=f"bulkcase {i}") for i in range(2)]
    published = factories.report(title="bulkcase published", status=S.PUBLISHED)
    changed = factories.report(title="bulkcase changed")
    seen = f"{changed.id}:{changed.version}"
    workflow.apply(changed, ioc, "reject", reason="abusive")  # someone else acted meanwhile
    response = bulk(client, "accept", [*fresh, published, seen, "999999:1"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/inbox/?status=new&q=bulkcase"
    page = client.get(response.headers["Location"]).text
    lines = re.findall(r'<p class="flash[^"]*">([^<]+)</p>', page)
    assert re.findall(r"\d+", lines[0]) == ["2", "3"]  # "2 done, 3 skipped."
    # then one line per reason: its state, changed meanwhile, not found (no code shown)
    assert len(lines) == 4
    assert any(published.tracking_code in line for line in lines[1:])
    assert any(changed.tracking_code in line for line in lines[1:])
    assert not any(re.search(r"HP-\d{4}-\d+", line) for line in lines[1:]
                   if published.tracking_code not in line and changed.tracking_code not in line)
    db.session.expire_all()
    assert [db.session.get(Report, r.id).status for r in fresh] == [S.ACCEPTED, S.ACCEPTED]
    assert db.session.get(Report, published.id).status == S.PUBLISHED
    assert db.session.get(Report, changed.id).status == S.REJECTED


def test_bulk_result_reasons_are_distinct(client, users, login_as, db):
    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    mine = factories.report(title="bulkcase mine", agency=construction, status=S.ROUTED)
    co_handled = factories.report(title="bulkcase co", agency=health, status=S.ROUTED)
    co_handled.co_agencies.append(construction)
    wrong_state = factories.report(title="bulkcase started", agency=construction, status=S.ANSWERED)
    hidden = factories.report(title="bulkcase hidden", agency=health, status=S.ROUTED)
    db.session.flush()
    login_as("agency_staff")
    response = bulk(client, "start", [mine, co_handled, wrong_state, hidden], headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text and 'class="bulk-result"' in response.text
    panel = response.text.split('class="bulk-result"')[1].split("</div>")[0]
    lines = re.findall(r"<p[^>]*>([^<]+)</p>", panel)
    assert len(lines) == 4  # the counts, then one line per reason
    assert re.findall(r"\d+", lines[0]) == ["1", "3"]
    assert any(co_handled.tracking_code in line for line in lines)
    assert any(wrong_state.tracking_code in line for line in lines)
    assert not any(hidden.tracking_code in line for line in lines)  # invisible: no code given away
    db.session.expire_all()
    assert db.session.get(Report, mine.id).status == S.IN_PROGRESS
    assert db.session.get(Report, co_handled.id).status == S.ROUTED


def test_bulk_route_to_an_agency(client, ioc, db):
    reports = [factories.report(title=f"bulkcase route {i}") for i in range(3)]
    health = factories.agency("Sở Y tế")
    response = bulk(client, "route", reports, agency=str(health.id))
    assert response.status_code == 303
    db.session.expire_all()
    for report in reports:
        fresh = db.session.get(Report, report.id)
        assert fresh.status == S.ROUTED and fresh.agency_id == health.id and fresh.deadline is not None
        assert [e.action for e in fresh.events].count("status") == 1


def test_bulk_input_errors_answer_422_and_keep_the_selection(client, ioc):
    report = factories.report(title="bulkcase keep")
    response = bulk(client, "route", [report])  # no agency
    assert response.status_code == 422
    assert re.search(rf'value="{report.id}:{report.version}" id="pick-{report.id}" checked', response.text)
    assert bulk(client, "", [report]).status_code == 422
    assert bulk(client, "reject", [report]).status_code == 422  # no reason
    assert bulk(client, "accept", []).status_code == 422
    assert bulk(client, "teleport", [report]).status_code == 422
    htmx = bulk(client, "accept", [], headers=HTMX)
    assert htmx.status_code == 422 and "<html" not in htmx.text


def test_bulk_reject_with_reason(client, ioc, db):
    report = factories.report(title="bulkcase spam")
    assert bulk(client, "reject", [report], reason="not_a_report").status_code == 303
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == S.REJECTED


def test_bulk_routing_needs_triage(client, login_as, db):
    report = factories.report(title="bulkcase staff", agency=factories.agency(), status=S.ROUTED)
    login_as("agency_staff")
    response = bulk(client, "route", [report], agency=str(factories.agency("Sở Y tế").id))
    assert response.status_code == 403
    page = client.get("/inbox/").text
    assert 'value="route"' not in page and 'value="start"' in page


def test_bulk_without_csrf_is_refused(client, ioc, db):
    report = factories.report(title="bulkcase csrf")
    response = client.post("/inbox/bulk", data={"action": "accept", "report": f"{report.id}:{report.version}"})
    assert response.status_code == 400
    response = client.post("/inbox/bulk", data={"action": "accept", "report": f"{report.id}:{report.version}"},
                           headers=HTMX)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == S.NEW


def test_bulk_with_the_csrf_header_works_for_htmx(client, ioc, db):
    report = factories.report(title="bulkcase header")
    token = csrf_token(client, "/inbox/")
    response = client.post("/inbox/bulk", data={"action": "accept", "report": f"{report.id}:{report.version}"},
                           headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == S.ACCEPTED
    # a report open beside the list reads itself again when the action changed it
    assert json.loads(response.headers["HX-Trigger"]) == {"reportsChanged": {"codes": [report.tracking_code]}}
    panel = client.get(f"/inbox/reports/{report.tracking_code}", headers=HTMX).text
    assert f"reportsChanged[detail.codes.includes('{report.tracking_code}')] from:body" in panel


def test_the_filter_form_says_what_is_set_after_an_htmx_list(client, ioc):
    """Found by a newcomer's trial: htmx replaces only the list, and the status drop-down
    went on saying "all statuses" (and "Clear filters" stayed away) after filtering."""
    fragment = client.get("/inbox/?status=new&status=accepted", headers=HTMX).text
    summary = re.search(r'<span id="status-filter-summary" hx-swap-oob="true">([^<]*)</span>', fragment)
    assert summary and "2" in summary.group(1)
    actions = fragment.split('<div class="filter-actions" id="filter-actions" hx-swap-oob="true">')[1].split("</div>")[0]
    assert 'href="/inbox/"' in actions  # "Clear filters"
    cleared = client.get("/inbox/", headers=HTMX).text
    assert 'href="/inbox/"' not in cleared.split('id="filter-actions"')[1].split("</div>")[0]
    page = client.get("/inbox/?status=new").text  # a full page: the form has them, once, in place
    assert page.count('id="status-filter-summary"') == 1 and "hx-swap-oob" not in page


def test_bulk_needs_inbox_permission(client, login_as):
    login_as("community_member")
    token = csrf_token(client, "/")
    assert client.post("/inbox/bulk", data={"csrf_token": token, "action": "accept"}).status_code == 403
    assert client.post("/inbox/views", data={"csrf_token": token, "name": "x"}).status_code == 403


def test_anonymous_posts_go_to_login(client):
    token = csrf_token(client)
    response = client.post("/inbox/bulk", data={"csrf_token": token, "action": "accept"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- the query itself --------------------------------------------------------------------

def test_visibility_in_the_query_per_role(db, users):
    """``visible_reports`` as the list uses it, for every role (community members have no list)."""
    from hpsmart.services.visibility import visible_reports

    construction, health = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    own = factories.report(title="vis own", agency=construction, status=S.ROUTED)
    co = factories.report(title="vis co", agency=health, status=S.ROUTED)
    co.co_agencies.append(construction)
    other = factories.report(title="vis other", agency=health, status=S.ROUTED)
    assisted = factories.report(title="vis assisted", assisted_by=users["community_member"])
    db.session.flush()
    ids = {own.id, co.id, other.id, assisted.id}

    def seen(role):
        query = visible_reports(select(Report.id), users[role]).where(Report.id.in_(ids))
        return set(db.session.scalars(query))

    assert seen("admin") == seen("ioc_operator") == ids
    assert seen("agency_staff") == seen("agency_lead") == {own.id, co.id}
    assert seen("community_member") == {assisted.id}


def test_search_reads_an_index_on_both_databases(db):
    """PostgreSQL: the trigram GIN index; SQLite: the FTS5 table (migration 0007)."""
    from sqlalchemy import inspect, text

    from hpsmart.services.inbox import InboxFilters, query_parts

    connection = db.session.connection()
    indexes = {ix["name"]: ix for ix in inspect(connection).get_indexes("report")}
    assert {"ix_report_status_created_at", "ix_report_agency_id_created_at", "ix_report_status_deadline",
            "ix_report_updated_at", "ix_report_urgency_created_at"} <= set(indexes)
    ioc = factories.user("ioc_operator")
    (query,) = query_parts(InboxFilters.from_args({"q": "nguyen dinh chieu"}), ioc)
    compiled = query.with_only_columns(Report.id).compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name != "postgresql":
        assert "ix_report_search_text_trgm" not in indexes
        plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "report_fts VIRTUAL TABLE INDEX" in plan, plan
        return
    assert indexes["ix_report_search_text_trgm"]["dialect_options"]["postgresql_using"] == "gin"
    # the search's LIKE can use it (sequential scans off, so that a tiny table still shows the plan)
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_report_search_text_trgm" in plan, plan


def test_search_follows_inserts_and_updates(db):
    """On SQLite the FTS5 table is kept in step by triggers: search finds what rows say now."""
    from sqlalchemy import select

    from hpsmart.services import search

    def found(q):
        return set(db.session.scalars(select(Report.id).where(*search.conditions(search.terms(q)))))

    report = factories.report(title="Cột điện nghiêng", description="Sắp đổ.")
    assert report.id in found("cot dien")
    report.title = "Cây đổ chắn đường"
    db.session.flush()
    assert report.id not in found("cot dien")
    assert report.id in found("cay do")


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_dates_out_of_range_are_ignored_with_a_notice(client, db, login_as, value):
    """A year like 0001 or 9999 would overflow as a UTC instant: refused, never a 500."""
    login_as("ioc_operator")
    for name in ("date_from", "date_to"):
        response = client.get("/inbox/", query_string={name: value})
        assert response.status_code == 200
        assert value in " ".join(notices(response))


def test_every_way_of_reading_a_search_gives_the_same_pages(client, ioc, monkeypatch):
    """A search is read through its index (sorted and counted by the database, also past
    the count limit), or, when dense, by checking rows (in page order past the limit);
    each way gives the same reports in the same order."""
    from hpsmart.services import search

    for i in range(7):
        factories.report(title=f"Đèn chiếu sáng hỏng, cột số {i}", description="Tối cả đoạn.")
    factories.report(title="Cây đổ", description="Chắn đường.")
    odd = factories.report(title="Đèn", description="Chiếu rọi vào nhà, sáng cả đêm.")  # no "cột"
    queries = [{"q": "den chieu"}, {"q": "den chieu", "order": "asc"}, {"q": "ĐÈN chiếu cot"},
               {"q": "den chieu", "sort": "deadline"}]
    monkeypatch.setattr(search, "DENSE_HITS", 10_000)  # never dense: through the index
    expected = [listing(client, **params) for params in queries]
    assert len(expected[0]) == 8 and expected[1] == list(reversed(expected[0]))
    assert odd.tracking_code not in expected[2] and len(expected[2]) == 7
    ways = {"dense": {"DENSE_HITS": 1}, "capped": {"COUNT_LIMIT": 3},
            "dense and capped": {"DENSE_HITS": 1, "COUNT_LIMIT": 3}}
    for way, settings in ways.items():
        with monkeypatch.context() as m:
            for name, value in settings.items():
                m.setattr(search, name, value)
            # with COUNT_LIMIT 3: "more than 3", one page of 50 holding the same reports
            assert [listing(client, **params) for params in queries] == expected, way


def test_a_search_whose_matches_are_older_than_the_newest_reports_reads_its_index(client, ioc, monkeypatch):
    """More matches than the count limit but none among the newest reports (a former
    ward's name, say): the page is sorted from the index's matches, not found by checking
    every newer report in the list's order (at a million reports that read the whole
    table: bench/RESULTS.md)."""
    from hpsmart.services import search

    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    monkeypatch.setattr(search, "PROBE_ROWS", 3)
    start = utcnow() - timedelta(days=400)
    old = [factories.report(title=f"Phường Máy Tơ: cống hỏng {i}", created_at=start + timedelta(days=i))
           for i in range(6)]
    for i in range(3):
        factories.report(title=f"Cây đổ {i}")  # the newest three: no match, so not dense
    read_in_order, read_index = [], []
    real, real_index = search.reading_rows, search.reading_index
    monkeypatch.setattr(search, "reading_rows", lambda **kw: read_in_order.append(kw) or real(**kw))
    monkeypatch.setattr(search, "reading_index", lambda: read_index.append(1) or real_index())
    response = client.get("/inbox/", query_string={"q": "may to cong"})
    assert codes(response) == [r.tracking_code for r in reversed(old)]
    assert re.search(r'<p class="count">[^<\d]+4\D', response.text)  # "more than 4 reports"
    assert listing(client, q="MÁY TƠ cống", order="asc") == [r.tracking_code for r in old]
    assert read_in_order == [] and len(read_index) == 2  # one statement (page and count) each time
    beyond = client.get("/inbox/", query_string={"q": "may to cong", "page": "3"})  # one page: the first
    assert codes(beyond) == codes(response) and len(notices(beyond)) == 1
    # Pages of 2: 6 matches counted as "more than 4", so 2 pages; page 3 is page 2.
    from hpsmart.services.inbox import InboxFilters, search_reports

    newest_first = [r.id for r in reversed(old)]
    for number, expected in ((1, newest_first[:2]), (2, newest_first[2:4]), (3, newest_first[2:4])):
        filters = InboxFilters.from_args({"q": "may to cong", "page": str(number)})
        page = search_reports(filters, ioc, page_size=2)
        assert [r.id for r in page.items] == expected and (page.total, page.pages, page.capped) == (4, 2, True)
        assert page.page == min(number, 2) and len(filters.notices) == (number > 2)


def test_reading_rows_sets_the_planner_for_its_statements_only(db):
    from sqlalchemy import text

    from hpsmart.services import search

    def settings():
        return [db.session.scalar(text(f"SELECT current_setting('{name}')"))
                for name in ("enable_bitmapscan", "enable_seqscan")]

    if db.session.get_bind().dialect.name != "postgresql":
        with search.reading_rows(in_order=True):  # nothing to set on SQLite
            assert db.session.scalar(text("SELECT 1")) == 1
        return
    with search.reading_rows():
        assert settings() == ["off", "on"]
    with search.reading_rows(in_order=True):
        assert settings() == ["off", "off"]
    with search.reading_index():  # a search that is not dense: through the trigram index only
        assert settings() == ["on", "off"]
    assert settings() == ["on", "on"]


def test_a_dense_search_is_found_by_its_probe(db):
    from hpsmart.services import search
    from hpsmart.services.inbox import InboxFilters, query_parts

    ioc = factories.user("ioc_operator")
    for i in range(search.DENSE_HITS):
        factories.report(title=f"Ngập nước số {i}")
    factories.report(title="Karaoke ồn ào")
    (unsearched,) = query_parts(InboxFilters.from_args({}), ioc, search_form=None)
    assert search.probe([unsearched], search.terms("ngap nuoc")).dense
    assert not search.probe([unsearched], search.terms("karaoke")).dense
    assert search.probe([unsearched], []) == search.Probe(False, [])
    # the terms come rarest first: "karaoke" matches 1 report of the newest, "ngap" 20
    assert search.probe([unsearched], search.terms("ngap karaoke")).terms == ["karaoke", "ngap"]


def test_the_list_reads_itself_again_when_a_report_changes_beside_it(client, ioc):
    for i in range(51):
        factories.report(title=f"refreshcase {i}")
    page = client.get("/inbox/?q=refreshcase&status=new&page=2", headers={"HX-Request": "true"}).text
    refresh = re.search(r'<span hidden class="list-refresh"([^>]*)>', page).group(1)
    assert 'hx-trigger="reportChanged from:body"' in refresh and 'hx-target="#report-list"' in refresh
    assert 'hx-get="/inbox/?status=new&amp;q=refreshcase&amp;page=2"' in refresh  # the same page of the same list


def test_the_report_page_links_back_to_the_last_list(client, ioc):
    report = factories.report(title="backcase")
    assert 'href="/inbox/">' in client.get(f"/inbox/reports/{report.tracking_code}").text
    client.get("/inbox/?status=new&sort=deadline&page=1")
    client.get("/inbox/?q=backcase", headers={"HX-Request": "true"})  # the list as htmx changes it
    page = client.get(f"/inbox/reports/{report.tracking_code}").text
    assert '<p class="backlink"><a href="/inbox/?q=backcase">' in page
    panel = client.get(f"/inbox/reports/{report.tracking_code}", headers={"HX-Request": "true"}).text
    assert 'class="link rp-close"' in panel and 'class="link rp-close"' not in page
