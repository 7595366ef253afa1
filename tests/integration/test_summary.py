"""The statistics dashboard: citizen satisfaction, the map of reports by ward, numbers and
weeks in the reader's language, and who sees which agency's figures; SQLite and PostgreSQL."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, select

from hpsmart.extensions import db as _db
from hpsmart.models import Agency, CitizenFeedback, ReportStatus
from hpsmart.services import statistics as st

from .. import factories
from .test_pdf import flat, read

S = ReportStatus
SEPTEMBER = "from=2026-09-01&to=2026-09-30"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def old_agency(name: str) -> Agency:
    return _db.session.scalar(select(Agency).where(Agency.name == name, Agency.valid_to.is_not(None)))


@pytest.fixture()
def september(db):
    """Six reports of September 2026: three for Sở Xây dựng (one routed to the former Sở Giao
    thông vận tải), two for Sở Y tế, one not routed; four located in two wards; three verdicts."""
    xd, yte = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
    gtvt = old_agency("Sở Giao thông vận tải")
    le_chan, hong_bang, ngo_quyen = (factories.unit(n) for n in ("Phường Lê Chân", "Phường Hồng Bàng",
                                                                 "Phường Ngô Quyền"))
    answered = dict(status=S.PUBLISHED, accepted_at=utc(2026, 9, 3, 2), answered_at=utc(2026, 9, 7, 3),
                    published_at=utc(2026, 9, 7, 4), deadline=utc(2026, 9, 17, 16, 59, 59))
    late = dict(status=S.ROUTED, accepted_at=utc(2026, 9, 3, 2), deadline=utc(2026, 9, 10, 16, 59, 59))
    r = {
        "xd": factories.report(created_at=utc(2026, 9, 3, 1), agency=xd, admin_unit=le_chan, latitude=20.8561,
                               longitude=106.6822, **answered),
        "gtvt": factories.report(created_at=utc(2026, 9, 3, 1), agency=gtvt, admin_unit=le_chan, latitude=20.8581,
                                 longitude=106.6842, **answered),
        "xd_late": factories.report(created_at=utc(2026, 9, 8, 1), agency=xd, admin_unit=hong_bang, latitude=20.8651,
                                    longitude=106.6781, title="Nắp cống vỡ ở Hồng Bàng", **late),
        "yte_late": factories.report(created_at=utc(2026, 9, 8, 1), agency=yte, admin_unit=hong_bang,
                                     title="Rác y tế bỏ bên đường", **late),
        "yte": factories.report(created_at=utc(2026, 9, 9, 1), agency=yte, admin_unit=ngo_quyen, **answered),
        "new": factories.report(created_at=utc(2026, 9, 9, 2), admin_unit=hong_bang, latitude=20.8671,
                                longitude=106.6801),
    }
    for key, satisfied in (("xd", True), ("gtvt", False), ("yte", True)):
        _db.session.add(CitizenFeedback(report=r[key], satisfied=satisfied, created_at=utc(2026, 9, 12)))
    _db.session.flush()
    return r


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def key_figure(page: str, label: str) -> str:
    """The value of the key figure labelled ``label``, as displayed."""
    item = re.search(r'<span class="label">' + re.escape(label) + r'</span><span class="value">(.*?)</span>', page)
    assert item, label
    return re.sub(r"<[^>]+>", "", item.group(1)).strip()


def table_row(page: str, table_id: str | None, first_cell: str) -> list[str]:
    """The cells (text) of the row starting with ``first_cell`` in a breakdown table."""
    if table_id:
        page = page[page.index(f'id="{table_id}"'):]
    row = re.search(r"<tr>\s*<td>" + re.escape(first_cell) + r"(.*?)</tr>", page, re.S)
    assert row, first_cell
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


# --- citizen satisfaction ---------------------------------------------------------------------

def test_dashboard_shows_satisfaction_against_the_previous_period_and_per_row(client, login_as, september):
    login_as("ioc_operator")
    page = text_of(client.get(f"/summary/?{SEPTEMBER}"))
    assert key_figure(page, "Mức độ hài lòng của người dân") == "66,7%"
    assert "2 hài lòng, 1 không hài lòng" in page
    # columns: received, in progress, answered, on time, late, overdue, on-time rate, verdicts, satisfaction rate
    assert table_row(page, None, "Sở Xây dựng")[-2:] == ["1 / 1", "50,0%"]
    assert table_row(page, None, "Sở Y tế")[-2:] == ["1 / 0", "100,0%"]
    assert table_row(page, "by-unit", "Phường Hồng Bàng")[-2:] == ["—", "—"]
    assert "mỗi phản ánh tính một lần theo đánh giá gần nhất của người dân" in page  # the definition


# --- numbers and weeks in the reader's language -----------------------------------------------

@pytest.mark.parametrize(("language", "rate", "week", "chart_week", "median", "decimal"), [
    ("vi", "66,7%", "Tuần 37 (07/09–13/09)", "Tuần 37", "Thời gian trả lời, trung vị (ngày làm việc)", ","),
    ("en", "66.7%", "Week 37 (7 Sep–13 Sep)", "Week 37", "Median time to answer (working days)", "."),
])
def test_numbers_and_weeks_in_the_readers_language(client, users, login_as, september, language, rate, week,
                                                   chart_week, median, decimal):
    users["ioc_operator"].language = language
    _db.session.flush()
    login_as("ioc_operator")
    page = text_of(client.get(f"/summary/?{SEPTEMBER}"))
    assert rate in page and week in page
    assert "W37" not in page
    weekly = page[page.index('id="d-weekly-t"'):]
    weekly = weekly[:weekly.index("</svg>")]
    assert f">{chart_week}</tspan>" in weekly
    assert re.fullmatch(r"\d+" + re.escape(decimal) + r"\d", key_figure(page, median))


def test_number_formats_follow_the_locale():
    from hpsmart.i18n import format_change, format_number, format_rate

    assert (format_number(1234, locale="vi"), format_number(1234, locale="en")) == ("1.234", "1,234")
    assert (format_number(5.25, 1, "vi"), format_number(5.25, 1, "en")) == ("5,2", "5.2")
    assert (format_rate(0.799, locale="vi"), format_rate(0.799, locale="en")) == ("79,9%", "79.9%")
    assert format_rate(None) == "—" and format_number(None) == "—"
    assert (format_change(0.25, locale="vi"), format_change(-0.1, 1, "vi"), format_change(0.0001, locale="en")) == (
        "+25%", "−10,0%", "±0%")


# --- the map ----------------------------------------------------------------------------------

def test_map_places_each_ward_at_its_reports_and_links_to_the_inbox(client, login_as, september):
    login_as("ioc_operator")
    page = text_of(client.get(f"/summary/?{SEPTEMBER}"))
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart map"'):]
    svg = svg[:svg.index("</svg>")]
    links = {}
    for href, label in re.findall(r'<a href="([^"]+)" aria-label="([^"]+)">', svg):
        query = parse_qs(urlsplit(href).query)
        assert urlsplit(href).path == "/inbox/"
        assert query["date_from"] == ["2026-09-01"] and query["date_to"] == ["2026-09-30"]
        links[label] = query["unit"]
    le_chan, hong_bang = factories.unit("Phường Lê Chân"), factories.unit("Phường Hồng Bàng")
    assert links == {"Phường Hồng Bàng: tiếp nhận 3 phản ánh": [hong_bang.code],
                     "Phường Lê Chân: tiếp nhận 2 phản ánh": [le_chan.code]}
    # Ngô Quyền has a report but no location: not drawn, and said so; its row is in the table.
    assert "1 phường, xã có phản ánh nhưng không phản ánh nào có vị trí nên không được vẽ." in page
    assert table_row(page, "by-unit", "Phường Ngô Quyền")[0] == "1"
    # Circle areas are proportional to the counts: radius ratio sqrt(2/3).
    radii = [float(r) for r in re.findall(r'<circle cx="[^"]+" cy="[^"]+" r="([^"]+)"', svg)[:2]]
    assert radii[1] / radii[0] == pytest.approx((2 / 3) ** 0.5, rel=0.01)


def test_map_positions_take_one_query(app, september):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        positions = st.unit_positions(date(2026, 9, 1), date(2026, 9, 30))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert positions[factories.unit("Phường Lê Chân").id].located == 2


def test_map_without_located_reports_says_so(client, login_as, db):
    factories.report(created_at=utc(2026, 9, 3, 1))
    login_as("ioc_operator")
    page = text_of(client.get(f"/summary/?{SEPTEMBER}"))
    assert "Không có phản ánh nào trong kỳ có vị trí: không có gì để vẽ." in page
    assert 'class="chart map"' not in page


# --- who sees what ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["ioc_operator", "admin"])
def test_ioc_and_admins_see_the_whole_city_and_any_agency(client, login_as, september, role):
    login_as(role)
    page = text_of(client.get(f"/summary/?{SEPTEMBER}"))
    assert key_figure(page, "Số phản ánh tiếp nhận") == "6"
    assert "Rác y tế bỏ bên đường" in page and "Nắp cống vỡ ở Hồng Bàng" in page
    yte = factories.agency("Sở Y tế")
    filtered = client.get(f"/summary/?{SEPTEMBER}&agency={yte.id}")
    assert filtered.status_code == 200
    assert key_figure(text_of(filtered), "Số phản ánh tiếp nhận") == "2"


def test_a_lead_sees_their_own_agency_with_its_former_agencies_only(client, login_as, september):
    lead = login_as("agency_lead")
    assert lead.agency.name == "Sở Xây dựng"
    response = client.get(f"/summary/?{SEPTEMBER}")
    assert response.status_code == 200
    page = text_of(response)
    assert key_figure(page, "Số phản ánh tiếp nhận") == "3"  # two for Sở Xây dựng, one for the former Sở GTVT
    assert key_figure(page, "Mức độ hài lòng của người dân") == "50,0%"
    assert "Chỉ thống kê của Sở Xây dựng" in page
    assert "Nắp cống vỡ ở Hồng Bàng" in page and "Rác y tế bỏ bên đường" not in page  # the overdue list
    assert "Sở Y tế" not in page
    options = re.findall(r'<option[^>]*value="([^"]*)"', page[page.index('name="agency"'):].split("</select>")[0])
    assert options == [str(lead.agency_id)]
    received_link = re.search(r'<span class="value"><a href="([^"]+)"', page).group(1)
    assert parse_qs(urlsplit(received_link).query)["agency"] == ["mine"]
    for same in ("agency=mine", f"agency={lead.agency_id}", "agency="):
        again = client.get(f"/summary/?{SEPTEMBER}&{same}")
        assert again.status_code == 200 and key_figure(text_of(again), "Số phản ánh tiếp nhận") == "3", same


def test_a_lead_asking_for_another_agency_gets_422_with_their_own_figures(client, login_as, september):
    login_as("agency_lead")
    yte = factories.agency("Sở Y tế")
    response = client.get(f"/summary/?{SEPTEMBER}&agency={yte.id}")
    assert response.status_code == 422
    page = text_of(response)
    assert "Tài khoản của bạn chỉ xem được thống kê của đơn vị mình" in page
    assert "Rác y tế bỏ bên đường" not in page and "Chỉ thống kê của Sở Xây dựng" in page
    pdf = client.get(f"/reports/summary.pdf?{SEPTEMBER}&agency={yte.id}")
    assert pdf.status_code == 422 and pdf.mimetype == "text/html"
    assert "Tài khoản của bạn chỉ xem được thống kê của đơn vị mình" in text_of(pdf)


def test_a_leads_pdf_report_covers_their_agency_only(client, login_as, september):
    login_as("agency_lead")
    response = client.get(f"/reports/summary.pdf?{SEPTEMBER}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = flat(" ".join(p.text for p in read(response.data)))
    assert "Phạm vi: Đơn vị xử lý: Sở Xây dựng." in text
    assert "tiếp nhận 3 phản ánh" in text
    assert "Nắp cống vỡ ở Hồng Bàng" in text and "Rác y tế bỏ bên đường" not in text and "Sở Y tế" not in text


def test_a_lead_without_an_agency_gets_403(client, auth, db):
    lead = factories.user("agency_lead", agency_obj=None)
    lead.agency = None
    lead.agency_id = None
    _db.session.flush()
    assert auth.login(lead.email).status_code == 303
    assert client.get(f"/summary/?{SEPTEMBER}").status_code == 403
    assert client.get(f"/reports/summary.pdf?{SEPTEMBER}").status_code == 403
