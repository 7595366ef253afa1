"""The dashboard's tables as CSV and XLSX: read back with the csv module and openpyxl and
compared with the statistics service's figures; headers in the reader's language,
numbers as numbers, dates as dates, Vietnamese NFC, no formula ever run, no personal data,
the dashboard's filters and agency scope; SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import fields
from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from hpsmart.models import Agency, Channel, CitizenFeedback, ReportStatus
from hpsmart.services import exports as ex
from hpsmart.services import statistics as st

from .. import factories

S = ReportStatus
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
QUERY = "from=2026-10-01&to=2026-10-31"
NFD_TITLE = unicodedata.normalize("NFD", "Cống thoát nước bị tắc ở phố Lạch Tray, nước tràn lên vỉa hè")
FORMULAS = ("=HYPERLINK(\"http://evil.example\",\"bấm\")", "+1+2", "-3+4", "@SUM(1,2)")
REPORTER = ("Quách Thị Zuyên", "0987654321", "zuyen.quach@test.example.com")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture()
def october(db):
    """October 2026: answered, late, overdue (one titled in NFD, some like formulas), a report
    of a 2022 agency, a citizen's verdict, reporters' personal data; one report in September."""
    xd, khcn = factories.agency("Sở Xây dựng"), factories.agency("Sở Khoa học và Công nghệ")
    ttt = db.session.scalar(select(Agency).where(Agency.name == "Sở Thông tin và Truyền thông",
                                                 Agency.valid_to.is_not(None)))
    name, phone, email = REPORTER
    personal = dict(reporter_name=name, reporter_phone=phone, reporter_email=email)
    reports = [
        factories.report(created_at=utc(2026, 10, 2, 1), status=S.NEW, **personal),
        factories.report(created_at=utc(2026, 10, 5, 2), status=S.PUBLISHED, agency=khcn, channel=Channel.APP,
                         accepted_at=utc(2026, 10, 5, 3), answered_at=utc(2026, 10, 8, 3),
                         published_at=utc(2026, 10, 8, 4), deadline=utc(2026, 10, 19, 16, 59, 59), **personal),
        factories.report(created_at=utc(2026, 10, 6, 1), status=S.ANSWERED, agency=xd,
                         accepted_at=utc(2026, 10, 6, 2), answered_at=utc(2026, 10, 27, 5),
                         deadline=utc(2026, 10, 20, 16, 59, 59)),
        factories.report(created_at=utc(2026, 10, 7, 1), status=S.ROUTED, agency=ttt, title=NFD_TITLE,
                         accepted_at=utc(2026, 10, 7, 2), deadline=utc(2026, 10, 21, 16, 59, 59),
                         admin_unit=factories.unit("Phường Lê Chân"), **personal),
    ]
    for i, title in enumerate(FORMULAS):
        reports.append(factories.report(
            created_at=utc(2026, 10, 12 + i, 1), status=S.IN_PROGRESS, agency=xd, title=title,
            accepted_at=utc(2026, 10, 12 + i, 2), deadline=utc(2026, 10, 26 + i, 16, 59, 59)))
    factories.report(created_at=utc(2026, 9, 20, 1), status=S.PUBLISHED, agency=xd, accepted_at=utc(2026, 9, 20, 2),
                     answered_at=utc(2026, 9, 22, 3), published_at=utc(2026, 9, 22, 4),
                     deadline=utc(2026, 9, 30, 16, 59, 59))
    db.session.add(CitizenFeedback(report=reports[1], satisfied=True, created_at=utc(2026, 10, 9)))
    db.session.flush()
    return reports


def service(locale: str = "vi", filters: st.StatFilters | None = None):
    with force_locale(locale):
        current = st.compute(*OCTOBER, filters, locale=locale)
        previous = st.compute(*st.previous_period(*OCTOBER), filters, locale=locale)
        overdue = st.overdue_reports(*OCTOBER, filters, locale=locale)
    return current, previous, overdue


def measures() -> list[tuple[str, str]]:
    """Every figure of a Counts the exports must carry: its fields and rate/sum properties."""
    names = [(f.name, ex.INT) for f in fields(st.Counts)]
    names += [(n, ex.RATE) for n in ("on_time_rate", "satisfaction_rate")]
    return names


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads UTF-8
    text = response.data.decode("utf-8")[1:]
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline="")))


def workbook(response):
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data))


def sheet_rows(sheet) -> list[tuple]:
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


def by_label(rows: list, label: str):
    matches = [r for r in rows if r[0] == label]
    assert len(matches) == 1, (label, [r[0] for r in rows])
    return matches[0]


# --- XLSX -------------------------------------------------------------------------------------

def test_xlsx_holds_every_table_with_the_service_figures(client, users, login_as, october):
    login_as("ioc_operator")
    response = client.get(f"/reports/summary.xlsx?{QUERY}")
    assert response.headers["Content-Disposition"] == 'attachment; filename="thong-ke-2026-10-01-2026-10-31.xlsx"'
    book = workbook(response)
    assert book.sheetnames == ["Tổng hợp", "Theo đơn vị xử lý", "Theo phường, xã", "Theo lĩnh vực",
                               "Theo kênh tiếp nhận", "Theo tuần", "Phản ánh quá hạn", "Thông tin"]
    current, previous, overdue = service()
    assert current.totals.received == 8 and previous.totals.received == 1

    # Breakdowns: one row per service row, every figure of its Counts under its header.
    for sheet, rows in zip(book.worksheets[1:6], (current.by_agency, current.by_unit, current.by_category,
                                                   current.by_channel, current.by_week)):
        table = sheet_rows(sheet)
        header, body = table[0], table[1:]
        with force_locale("vi"):
            columns = {name: header.index(ex.label(name, kind)) for name, kind in measures()}
        assert len(body) == len(rows), sheet.title
        assert [line[0] for line in body] == [str(r.key) if sheet.title == "Theo tuần" else r.label for r in rows]
        for row, line in zip(rows, body):
            for name, kind in measures():
                expected = getattr(row.counts, name)
                assert line[columns[name]] == expected, (sheet.title, row.label, name)
    agencies = sheet_rows(book.worksheets[1])
    khcn = by_label(agencies, "Sở Khoa học và Công nghệ")
    assert khcn[1] == "Sở Thông tin và Truyền thông (1)"  # the 2022 agency, counted under its successor

    # Numbers are numbers, rates fractions shown as percentages, dates dates.
    sheet = book.worksheets[1]
    header = [c.value for c in sheet[1]]
    received = sheet.cell(row=2, column=header.index("Số phản ánh tiếp nhận") + 1)
    assert isinstance(received.value, int) and received.number_format == "#,##0"
    rate_column = header.index("Tỷ lệ đúng hạn (%)") + 1
    rates = [sheet.cell(row=r, column=rate_column) for r in range(2, sheet.max_row + 1)]
    assert {c.value for c in rates} == {1, 0, None}  # 100 %, 0 %, nothing answered with a deadline
    assert all(c.number_format == "0.0%" for c in rates if c.value is not None)
    weeks = book.worksheets[5]
    first = [c for c in weeks[2]]
    assert first[0].value == "2026-W40" and first[1].value == datetime(2026, 10, 1) and first[1].is_date
    assert first[2].value == datetime(2026, 10, 4) and first[1].number_format == "DD/MM/YYYY"

    # Key figures against the previous period.
    figures = sheet_rows(book.worksheets[0])
    assert figures[0] == ("Chỉ tiêu", "Kỳ này", "Kỳ trước", "Chênh lệch", "Tăng, giảm (%)")
    assert by_label(figures, "Số phản ánh tiếp nhận")[1:] == (8, 1, 7, 7.0)
    assert by_label(figures, "Tỷ lệ đúng hạn (%)")[1:] == (current.totals.on_time_rate, 1.0,
                                                           current.totals.on_time_rate - 1.0, None)
    assert by_label(figures, "Trả lời đúng hạn")[1] == current.totals.on_time == 1
    assert by_label(figures, "Người dân hài lòng")[1] == 1
    median = by_label(figures, "Thời gian trả lời, trung vị (ngày làm việc)")
    assert median[1] == pytest.approx(current.median_days) and median[2] == pytest.approx(previous.median_days)

    # The overdue reports: all of them, dates as dates.
    listed = sheet_rows(book.worksheets[6])
    assert [r[0] for r in listed[1:]] == [line.tracking_code for line in overdue]
    assert len(overdue) == current.totals.overdue == 5
    first = book.worksheets[6][2]
    assert first[7].is_date and first[7].number_format == "DD/MM/YYYY HH:MM"
    assert first[8].value == datetime(2026, 10, 21) and isinstance(first[9].value, int)

    about = sheet_rows(book.worksheets[7])
    assert ("Từ ngày", datetime(2026, 10, 1)) in about and ("Đến ngày", datetime(2026, 10, 31)) in about


def test_xlsx_headers_follow_the_readers_language(client, users, login_as, october):
    user = login_as("ioc_operator")
    user.language = "en"
    factories.db.session.flush()
    book = workbook(client.get(f"/reports/summary.xlsx?{QUERY}"))
    assert book.sheetnames[:3] == ["Key figures", "By agency", "By ward or commune"]
    assert book.sheetnames[-1] == "About"
    header = [c.value for c in book.worksheets[1][1]]
    assert header[:3] == ["Agency", "Former agencies (2022)", "Reports received"]
    assert "On-time rate (%)" in header and "Satisfaction rate (%)" in header
    figures = sheet_rows(book.worksheets[0])
    assert by_label(figures, "Reports received")[1:3] == (8, 1)


# --- CSV --------------------------------------------------------------------------------------

def test_each_table_as_csv_for_excel_with_the_service_figures(client, users, login_as, october):
    login_as("agency_lead")  # a lead: the same tables, their own agency only
    current, previous, overdue = service(filters=st.StatFilters(agency_id=factories.agency("Sở Xây dựng").id))
    response = client.get(f"/reports/summary-agencies.csv?{QUERY}")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="thong-ke-theo-don-vi-2026-10-01-2026-10-31.csv"')
    rows = read_csv(response)
    header = rows[0]
    assert header[0] == "Đơn vị" and header[2] == "Số phản ánh tiếp nhận"
    assert [r[0] for r in rows[1:]] == [r.label for r in current.by_agency] == ["Sở Xây dựng"]
    with force_locale("vi"):
        for name, kind in measures():
            value = rows[1][header.index(ex.label(name, kind))]
            expected = getattr(current.by_agency[0].counts, name)
            if kind == ex.RATE:
                assert value == ("" if expected is None else f"{expected * 100:.2f}".rstrip("0").rstrip(".")), name
            else:
                assert int(value) == expected, name

    figures = read_csv(client.get(f"/reports/summary-figures.csv?{QUERY}"))
    assert figures[0] == ["Chỉ tiêu", "Kỳ này", "Kỳ trước", "Chênh lệch", "Tăng, giảm (%)"]
    received = by_label(figures, "Số phản ánh tiếp nhận")
    assert received[1:3] == [str(current.totals.received), str(previous.totals.received)]
    assert by_label(figures, "Tỷ lệ đúng hạn (%)")[1] == "0"  # 0 of 1 answered on time

    weeks = read_csv(client.get(f"/reports/summary-weeks.csv?{QUERY}"))
    assert weeks[1][:3] == ["2026-W40", "2026-10-01", "2026-10-04"]
    assert sum(int(r[3]) for r in weeks[1:]) == current.totals.received

    listed = read_csv(client.get(f"/reports/summary-overdue.csv?{QUERY}"))
    assert [r[0] for r in listed[1:]] == [line.tracking_code for line in overdue]
    assert listed[1][7] == "2026-10-12 08:00"  # received, Hai Phong time
    assert listed[1][8] == "2026-10-26"

    # Asking for another agency is refused, as on the dashboard.
    other = factories.agency("Sở Y tế").id
    refused = client.get(f"/reports/summary-agencies.csv?{QUERY}&agency={other}")
    assert refused.status_code == 422 and refused.mimetype == "text/html"


def test_csv_units_carry_the_official_code_and_filters_apply(client, users, login_as, october):
    login_as("admin")
    rows = read_csv(client.get(f"/reports/summary-units.csv?{QUERY}&channel=app"))
    current, _, _ = service(filters=st.StatFilters(channel=Channel.APP))
    assert current.totals.received == 1
    assert [r[0] for r in rows[1:]] == [r.label for r in current.by_unit]
    unit = factories.unit()
    assert rows[1][1] == unit.code and rows[1][2] == "1"


# --- text, formulas, personal data, bad input -------------------------------------------------

def test_vietnamese_comes_back_nfc_and_no_cell_is_a_formula(client, users, login_as, october):
    login_as("ioc_operator")
    nfc_title = unicodedata.normalize("NFC", NFD_TITLE)
    rows = read_csv(client.get(f"/reports/summary-overdue.csv?{QUERY}"))
    text = "\n".join(",".join(r) for r in rows)
    assert unicodedata.is_normalized("NFC", text)
    titles = [r[1] for r in rows[1:]]
    assert nfc_title in titles
    for formula in FORMULAS:
        assert "'" + formula in titles and formula not in titles, formula
    assert "Sở Thông tin và Truyền thông" in [r[5] for r in rows[1:]]

    book = workbook(client.get(f"/reports/summary.xlsx?{QUERY}"))
    sheet = book.worksheets[6]
    cells = {c.value: c for c in sheet["B"][1:]}
    assert nfc_title in cells
    for formula in FORMULAS:
        assert cells[formula].data_type == "s", formula  # stored as text, never as a formula
    with zipfile.ZipFile(io.BytesIO(client.get(f"/reports/summary.xlsx?{QUERY}").data)) as archive:
        xml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
    assert "<f>" not in xml and "<f " not in xml


def test_no_personal_data_of_reporters(client, users, login_as, october):
    login_as("ioc_operator")
    name, phone, email = REPORTER
    texts = [client.get(f"/reports/summary-{t}.csv?{QUERY}").data.decode("utf-8") for t in ex.TABLES]
    with zipfile.ZipFile(io.BytesIO(client.get(f"/reports/summary.xlsx?{QUERY}").data)) as archive:
        texts += [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml")]
    for text in texts:
        folded = text.casefold()
        for secret in (name, "Zuyên", email):
            assert secret.casefold() not in folded
        assert phone not in re.sub(r"\D", "", text)


@pytest.mark.parametrize("url", ["/reports/summary.xlsx?from=nonsense", "/reports/summary-figures.csv?from=2026-10-31&to=2026-10-01",
                                 "/reports/summary-units.csv?from=2026-10-01&channel=pigeon"])
def test_bad_input_gives_the_dashboard_with_422(client, users, login_as, url):
    login_as("ioc_operator")
    response = client.get(url)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert 'class="error"' in response.text


def test_an_unknown_table_is_404(client, users, login_as):
    login_as("ioc_operator")
    assert client.get(f"/reports/summary-people.csv?{QUERY}").status_code == 404


def test_agency_staff_are_refused(client, users, login_as):
    login_as("agency_staff")
    assert client.get(f"/reports/summary.xlsx?{QUERY}").status_code == 403
    assert client.get(f"/reports/summary-figures.csv?{QUERY}").status_code == 403


def test_the_dashboard_links_the_exports(client, users, login_as, october):
    login_as("ioc_operator")
    page = client.get(f"/summary/?{QUERY}&channel=app").text
    assert "/reports/summary.xlsx?from=2026-10-01&amp;to=2026-10-31&amp;channel=app" in page
    for table in ex.TABLES:
        assert f"/reports/summary-{table}.csv?from=2026-10-01&amp;to=2026-10-31&amp;channel=app" in page
