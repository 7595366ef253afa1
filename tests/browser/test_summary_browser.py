"""The statistics dashboard in chromium: figures, charts, a number that opens the inbox
filtered to it, and the PDF download."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from hpsmart.models import Channel, ReportStatus

from .. import factories

pytestmark = pytest.mark.browser

# A month no other test writes to (the live database is shared by the whole run).
PERIOD = "from=2031-03-01&to=2031-03-31"


def test_ioc_operator_reads_the_dashboard_and_opens_the_inbox_from_a_number(page, login, live_data):
    with live_data():
        codes = [factories.report(created_at=datetime(2031, 3, 10 + i, 3, tzinfo=timezone.utc),
                                  title=f"Vỉa hè bị lấn chiếm số {i}", channel=Channel.APP).tracking_code
                 for i in range(3)]
        factories.report(created_at=datetime(2031, 3, 12, 4, tzinfo=timezone.utc), status=ReportStatus.REJECTED)
    login(page, "ioc_operator")

    page.goto(f"/summary/?{PERIOD}")
    figures = page.locator("ul.figures li")
    received = figures.nth(0).locator(".value a")
    expect(received).to_have_text("4")
    expect(figures.nth(7).locator(".value a")).to_have_text("1")  # rejected
    expect(page.locator("section.charts svg")).to_have_count(4)
    expect(page.locator("form.period-form input[name=from]")).to_have_value("2031-03-01")

    received.click()
    page.wait_for_url("**/inbox/**")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"date_from": ["2031-03-01"], "date_to": ["2031-03-31"]}
    for code in codes:
        expect(page.locator("#report-list tbody tr", has_text=code)).to_have_count(1)


def test_filters_and_pdf_download(page, login, live_data):
    with live_data():
        factories.report(created_at=datetime(2031, 4, 5, 3, tzinfo=timezone.utc), channel=Channel.APP)
        factories.report(created_at=datetime(2031, 4, 6, 3, tzinfo=timezone.utc), channel=Channel.WEB)
    login(page, "agency_lead")

    page.goto("/summary/?from=2031-04-01&to=2031-04-30")
    page.select_option("select[name=channel]", "app")
    page.locator("form.period-form button[type=submit]").click()
    page.wait_for_url("**channel=app**")
    expect(page.locator("form.period-form input[name=to]")).to_have_value("2031-04-30")
    expect(page.locator("ul.figures li").nth(0).locator(".value a")).to_have_text("1")

    page.locator("details.pdf summary").click()
    page.fill("input[name=signer_name]", "Lê Thị Lan")
    with page.expect_download() as info:
        page.locator("details.pdf button[type=submit]").click()
    download = info.value
    assert download.suggested_filename == "bao-cao-phan-anh-thang-04-2031.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
