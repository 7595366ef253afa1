"""The statistics dashboard in chromium: figures that follow the filters and the period, a
number and a map circle that open the inbox filtered to them, an agency lead's own figures
and the PDF download, the same page with JavaScript off, and a 375 px wide phone screen."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from hpsmart.models import Channel, ReportStatus

from .. import factories

pytestmark = pytest.mark.browser

# Months no other test writes to (the live database is shared by the whole run).
MARCH = "from=2031-03-01&to=2031-03-31"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def received(page):
    """The "reports received" key figure (the first one)."""
    return page.locator("ul.figures li").nth(0).locator(".value")


def test_ioc_operator_filters_the_dashboard_and_opens_the_inbox_from_a_number(page, login, live_data):
    with live_data():
        le_chan = factories.unit("Phường Lê Chân")
        codes = [factories.report(created_at=at(2031, 3, 10 + i, 3), title=f"Vỉa hè bị lấn chiếm số {i}",
                                  channel=Channel.APP, admin_unit=le_chan, latitude=20.856 + i / 1000,
                                  longitude=106.682).tracking_code
                 for i in range(3)]
        factories.report(created_at=at(2031, 3, 12, 4), status=ReportStatus.REJECTED)
        le_chan_code = le_chan.code
    login(page, "ioc_operator")

    page.goto(f"/summary/?{MARCH}")
    expect(received(page)).to_have_text("4")
    expect(page.locator("ul.figures li", has_text="Từ chối").locator(".value a")).to_have_text("1")
    expect(page.locator("section.charts svg")).to_have_count(4)
    expect(page.locator("form.period-form input[name=from]")).to_have_value("2031-03-01")

    # A filter, then the period: the figures follow.
    page.select_option("select[name=channel]", "app")
    page.locator("form.period-form button[type=submit]").click()
    page.wait_for_url("**channel=app**")
    expect(received(page)).to_have_text("3")
    page.fill("form.period-form input[name=from]", "2031-03-11")
    page.locator("form.period-form button[type=submit]").click()
    page.wait_for_url("**from=2031-03-11**")
    expect(received(page)).to_have_text("2")
    expect(page.locator("form.period-form select[name=channel]")).to_have_value("app")

    received(page).locator("a").click()
    page.wait_for_url("**/inbox/**")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"date_from": ["2031-03-11"], "date_to": ["2031-03-31"], "channel": ["app"]}
    for code in codes[1:]:
        expect(page.locator("#report-list tbody tr", has_text=code)).to_have_count(1)
    expect(page.locator("#report-list tbody tr", has_text=codes[0])).to_have_count(0)

    # The map: one circle (the rejected report has no location); it opens that ward's reports.
    page.goto(f"/summary/?{MARCH}")
    circles = page.locator("svg.map a")
    expect(circles).to_have_count(1)
    expect(circles.first).to_have_attribute("aria-label", "Phường Lê Chân: tiếp nhận 3 phản ánh")
    circles.first.locator("circle").click()
    page.wait_for_url("**/inbox/**")
    assert parse_qs(urlsplit(page.url).query) == {"date_from": ["2031-03-01"], "date_to": ["2031-03-31"],
                                                  "unit": [le_chan_code]}
    expect(page.locator("#report-list tbody tr")).to_have_count(3)


def test_a_lead_sees_their_agency_and_downloads_its_pdf(page, login, live_data):
    with live_data():
        mine, other = factories.agency("Sở Xây dựng"), factories.agency("Sở Y tế")
        factories.report(created_at=at(2031, 4, 5, 3), channel=Channel.APP, agency=mine, status=ReportStatus.ROUTED)
        factories.report(created_at=at(2031, 4, 6, 3), channel=Channel.WEB, agency=mine, status=ReportStatus.ROUTED)
        factories.report(created_at=at(2031, 4, 6, 4), channel=Channel.APP, agency=other, status=ReportStatus.ROUTED)
        other_id = other.id
    login(page, "agency_lead")

    page.goto("/summary/?from=2031-04-01&to=2031-04-30")
    expect(received(page)).to_have_text("2")
    expect(page.locator("p.scope")).to_contain_text("Sở Xây dựng")
    expect(page.locator("form.period-form select[name=agency] option")).to_have_count(1)
    page.select_option("select[name=channel]", "app")
    page.locator("form.period-form button[type=submit]").click()
    page.wait_for_url("**channel=app**")
    expect(page.locator("form.period-form input[name=to]")).to_have_value("2031-04-30")
    expect(received(page)).to_have_text("1")

    response = page.goto(f"/summary/?from=2031-04-01&to=2031-04-30&agency={other_id}")
    assert response.status == 422
    expect(page.locator("form.period-form .error")).to_contain_text("chỉ xem được thống kê của đơn vị mình")
    expect(received(page)).not_to_have_text("3")

    page.goto("/summary/?from=2031-04-01&to=2031-04-30")
    page.locator("details.pdf summary").click()
    page.fill("input[name=signer_name]", "Lê Thị Lan")
    with page.expect_download() as info:
        page.locator("details.pdf button[type=submit]").click()
    download = info.value
    assert download.suggested_filename == "bao-cao-phan-anh-thang-04-2031.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_the_dashboard_works_with_javascript_off(new_context, login, live_data):
    with live_data():
        for day, channel in ((3, Channel.APP), (4, Channel.WEB), (5, Channel.WEB)):
            factories.report(created_at=at(2031, 5, day, 3), channel=channel)
    page = new_context(java_script_enabled=False).new_page()
    login(page, "ioc_operator")

    page.goto("/summary/?from=2031-05-01&to=2031-05-31")
    expect(received(page)).to_have_text("3")
    page.select_option("select[name=channel]", "web")
    page.fill("form.period-form input[name=from]", "2031-05-04")
    with page.expect_navigation():
        page.locator("form.period-form button[type=submit]").click()
    expect(received(page)).to_have_text("2")
    with page.expect_navigation():
        received(page).locator("a").click()
    assert parse_qs(urlsplit(page.url).query) == {"date_from": ["2031-05-04"], "date_to": ["2031-05-31"],
                                                  "channel": ["web"]}
    expect(page.locator("#report-list tbody tr")).to_have_count(2)


def test_a_375_px_screen_scrolls_charts_and_tables_inside_themselves(new_context, login, live_data):
    with live_data():
        for i, name in enumerate(("Phường Lê Chân", "Phường Hồng Bàng", "Phường Ngô Quyền", "Phường Hải An")):
            for j in range(i + 1):
                factories.report(created_at=at(2031, 6, 2 + i, 3), admin_unit=factories.unit(name),
                                 latitude=20.84 + i / 100, longitude=106.68 + j / 1000,
                                 agency=factories.agency("Sở Xây dựng"), status=ReportStatus.ROUTED)
    page = new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True).new_page()
    login(page, "ioc_operator")
    page.goto("/summary/?from=2031-06-01&to=2031-06-30")
    expect(received(page)).to_have_text("10")
    expect(page.locator("svg.map a")).to_have_count(4)

    width = page.evaluate("document.documentElement.clientWidth")
    assert width <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page is wider than the screen"
    boxes = page.evaluate("""() => [...document.querySelectorAll('.summary .table-wrap, .summary figure.chart')]
        .map(e => ({right: e.getBoundingClientRect().right, client: e.clientWidth, scroll: e.scrollWidth,
                    overflow: getComputedStyle(e).overflowX}))""")
    assert len(boxes) >= 8
    for box in boxes:
        assert box["right"] <= width + 0.5, box
        assert box["scroll"] <= box["client"] or box["overflow"] == "auto", box
    assert any(box["scroll"] > box["client"] for box in boxes), "the wide tables should scroll inside"
    # The column headers stay above their numbers on a phone.
    expect(page.locator("#by-unit thead th").first).to_be_visible()
