"""The inbox list in chromium: active search, filters in the URL, Back, bulk actions (with and without JavaScript)."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from hpsmart.models import ReportStatus, Urgency

from .. import factories

pytestmark = pytest.mark.browser


def token() -> str:
    """A word no other test's report contains (the live database is shared by the run)."""
    return "t" + uuid.uuid4().hex[:10]


def make_reports(live_data, *specs) -> list[str]:
    """Commit reports and return their tracking codes.

    Each spec is a ``dict`` of ``factories.report`` keywords; ``agency_name`` names
    the handling agency (looked up inside the live app).
    """
    codes = []
    with live_data():
        for spec in specs:
            spec = dict(spec)
            if "agency_name" in spec:
                spec["agency"] = factories.agency(spec.pop("agency_name"))
            codes.append(factories.report(**spec).tracking_code)
    return codes


def rows(page):
    return page.locator("#report-list tbody tr")


def query_of(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def mark_document(page) -> None:
    """Tag the loaded document: a full page load (navigation) drops the tag."""
    page.evaluate("window.__inboxMarker = 'kept'")


def document_kept(page) -> bool:
    return page.evaluate("window.__inboxMarker === 'kept'")


def test_active_search_updates_the_list_without_a_page_load(page, login, live_data):
    word = token()
    lamp, pothole = make_reports(
        live_data,
        {"title": f"Đèn đường hỏng ở ngõ {word}", "address": "Phường Đa Kao"},
        {"title": f"Ổ gà sâu trước nhà {word}"},
    )
    login(page, "ioc_operator")
    page.goto(f"/inbox/?q={word}")
    expect(rows(page)).to_have_count(2)
    mark_document(page)

    with page.expect_request(lambda r: r.headers.get("hx-request") == "true"):
        page.fill("#inbox-q", f"DEN DUONG {word}")  # no accents, upper case

    expect(rows(page).filter(has_text=lamp)).to_have_count(1)
    expect(rows(page).filter(has_text=pothole)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[?&]q=DEN(\+|%20)DUONG(\+|%20)" + word))
    assert document_kept(page), "the search reloaded the whole page"
    # the URL carries only what is set: no empty parameters
    assert set(query_of(page)) == {"q"}


def test_filter_change_updates_the_url_and_back_restores_the_full_page(page, login, live_data):
    word = token()
    new_normal, new_urgent, routed = make_reports(
        live_data,
        {"title": f"Rác thải ven đường {word}"},
        {"title": f"Cây đổ chắn đường {word}", "urgency": Urgency.URGENT},
        {"title": f"Nắp cống vỡ {word}", "status": ReportStatus.ROUTED, "agency_name": "Sở Xây dựng"},
    )
    login(page, "ioc_operator")
    page.goto(f"/inbox/?q={word}")
    expect(rows(page)).to_have_count(3)
    mark_document(page)

    # status: new
    page.locator("#inbox-filters .multi summary").click()
    page.locator("#inbox-filters input[name=status][value=new]").check()
    expect(page).to_have_url(re.compile(r"[?&]status=new"))
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text=routed)).to_have_count(0)
    filtered_url = page.url

    # then urgency: urgent
    page.select_option("#inbox-filters select[name=urgency]", "urgent")
    expect(page).to_have_url(re.compile(r"[?&]urgency=urgent"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).filter(has_text=new_urgent)).to_have_count(1)
    assert document_kept(page), "a filter change reloaded the whole page"
    assert query_of(page) == {"q": [word], "status": ["new"], "urgency": ["urgent"]}

    # Back: the previous filtered list, fetched from the server as a full page
    with page.expect_response(lambda r: r.request.headers.get("hx-history-restore-request") == "true") as info:
        page.go_back()
    restore = info.value
    assert "hx-request" not in restore.request.headers  # a history restore is not an htmx request
    assert "<html" in restore.text() and 'id="inbox-filters"' in restore.text()
    expect(page).to_have_url(filtered_url)
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text=new_normal)).to_have_count(1)
    # the page came back whole: its form shows that list's filters
    expect(page.locator("#inbox-filters select[name=urgency]")).to_have_value("")
    expect(page.locator("#inbox-filters input[name=status][value=new]")).to_be_checked()
    expect(page.locator("#inbox-q")).to_have_value(word)


def test_bulk_accept_with_htmx_shows_the_outcome_in_the_list(page, login, live_data):
    word = token()
    first, second, closed = make_reports(
        live_data,
        {"title": f"Ngập nước sau mưa {word}"},
        {"title": f"Vỉa hè bị lấn chiếm {word}"},
        {"title": f"Đã xử lý xong {word}", "status": ReportStatus.PUBLISHED},
    )
    login(page, "ioc_operator")
    page.goto(f"/inbox/?q={word}")
    mark_document(page)
    for code in (first, second, closed):
        rows(page).filter(has_text=code).locator("input[name=report]").check()
    page.select_option("#bulk-form select[name=action]", "accept")
    page.click("#bulk-form button[type=submit]")

    result = page.locator("#report-list .bulk-result p")
    expect(result).to_have_count(2)  # the counts, then the reason for the skipped one
    expect(result.nth(1)).to_contain_text(closed)
    assert re.findall(r"\d+", result.nth(0).inner_text()) == ["2", "1"]
    assert document_kept(page)
    for code in (first, second):
        expect(rows(page).filter(has_text=code).locator(".badge")).to_have_class(re.compile("reportstatus-accepted"))


def test_filters_and_bulk_work_without_javascript(new_context, login, live_data):
    page = new_context(java_script_enabled=False).new_page()
    word = token()
    wanted, other = make_reports(
        live_data,
        {"title": f"Đèn tín hiệu giao thông tắt {word}"},
        {"title": f"Tiếng ồn công trình {word}", "status": ReportStatus.REJECTED},
    )
    login(page, "ioc_operator")
    page.goto("/inbox/")
    expect(page.locator("#report-list thead input.js-only")).to_be_hidden()
    page.fill("#inbox-q", word)
    page.locator("#inbox-filters .multi summary").click()  # <details> opens without JavaScript too
    page.locator("#inbox-filters input[name=status][value=new]").check()
    with page.expect_navigation():
        page.click("#inbox-filters button[type=submit]")
    assert query_of(page)["q"] == [word] and query_of(page)["status"] == ["new"]
    expect(rows(page)).to_have_count(1)
    expect(rows(page).filter(has_text=wanted)).to_have_count(1)
    filtered = page.url

    rows(page).filter(has_text=wanted).locator("input[name=report]").check()
    page.select_option("#bulk-form select[name=action]", "accept")
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert urlsplit(page.url).path == "/inbox/" and query_of(page) == parse_qs(urlsplit(filtered).query)
    expect(page.locator(".flashes .flash").first).to_contain_text("1")
    expect(rows(page).filter(has_text=wanted)).to_have_count(0)  # accepted: no longer "new"
    expect(page.locator("#report-list td.empty")).to_have_count(1)
    assert other  # the rejected one was never listed


def test_a_report_opens_beside_the_list_and_its_actions_work_there(page, login, live_data):
    """"Preview" on a row shows the report in the side panel (the list stays, the URL stays
    the list's; the tracking code itself opens the report's own page); routing it from the
    panel updates the panel in place."""
    word = token()
    (code,) = make_reports(live_data, {"title": f"Cống tràn nước {word}"})
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, "ioc_operator")
    page.goto(f"/inbox/?q={word}")
    list_url = page.url
    mark_document(page)

    page.locator("#report-list tbody tr", has_text=code).locator("button.preview").click()
    panel = page.locator("#inbox-side .report-panel")
    expect(panel.locator("#report-title")).to_contain_text(f"Cống tràn nước {word}")
    expect(rows(page)).to_have_count(1)  # the list is still there
    assert page.url == list_url and document_kept(page)
    box_list, box_panel = page.locator("#report-list").bounding_box(), panel.bounding_box()
    assert box_panel["x"] > box_list["x"] + box_list["width"] - 5  # beside the list

    panel.locator("select[name='route-agency']").select_option(label="Sở Xây dựng")
    panel.locator("form[action$='/actions/route'] button[type=submit]").click()
    expect(page.locator("#inbox-side .report-panel .rp-badges")).to_contain_text("Đã chuyển xử lý")
    assert document_kept(page)
    # The list beside it is read again (HX-Trigger "reportChanged"): the row says routed,
    # and its checkbox carries the new version (a bulk action would not skip it).
    row = page.locator("#report-list tbody tr", has_text=code)
    expect(row).to_contain_text("Đã chuyển xử lý")
    assert document_kept(page) and page.url == list_url
    # The report's facts keep a readable width beside the list (one column in the panel).
    assert page.locator("#inbox-side dl.facts dd").first.bounding_box()["width"] > 120
    # × closes the panel and gives the list its columns back.
    expect(page.locator("#report-list thead th").nth(4)).to_be_hidden()  # ward/commune, while open
    page.locator("#inbox-side .rp-close").click()
    expect(page.locator("#inbox-side .report-panel:not(.report-panel-empty)")).to_have_count(0)
    expect(page.locator("#report-list thead th").nth(4)).to_be_visible()
    expect(row.locator("button.preview")).to_be_focused()


def test_the_status_filter_closes_like_a_select(page, login, live_data):
    make_reports(live_data, {"title": f"Cây đổ {token()}"})
    login(page, "ioc_operator")
    page.goto("/inbox/")
    menu = page.locator("#inbox-filters .multi details")
    page.locator("#inbox-filters .multi summary").click()
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(page.locator("#inbox-filters .multi summary")).to_be_focused()
    page.locator("#inbox-filters .multi summary").click()
    expect(menu).to_have_attribute("open", "")
    page.locator("h1").click()  # a click elsewhere
    expect(menu).not_to_have_attribute("open", "")


def test_the_filter_form_follows_an_htmx_filter(page, login, live_data):
    """The status drop-down says how many are ticked and "Clear filters" appears, though
    htmx replaces only the list (found by a newcomer's trial)."""
    make_reports(live_data, {"title": f"Cây đổ {token()}"})
    login(page, "ioc_operator")
    page.goto("/inbox/")
    mark_document(page)
    summary = page.locator("#status-filter-summary")
    all_statuses = summary.inner_text()
    page.locator("#inbox-filters .multi summary").click()
    with page.expect_response(lambda r: "status=new" in r.url):
        page.locator("#inbox-filters input[name=status][value=new]").check()
    with page.expect_response(lambda r: "status=accepted" in r.url):
        page.locator("#inbox-filters input[name=status][value=accepted]").check()
    expect(summary).not_to_have_text(all_statuses)
    expect(summary).to_contain_text("2")
    expect(page.locator("#filter-actions a")).to_be_visible()  # "Clear filters"
    assert document_kept(page)


def test_a_bulk_action_refreshes_the_report_open_beside_the_list(page, login, live_data):
    """The open report reads itself again when a bulk action changed it, and a list with
    overdue flags fits beside it at 1440 px without scrolling sideways."""
    from datetime import timedelta

    from hpsmart.models import utcnow

    word = token()
    code, late = make_reports(
        live_data, {"title": f"Nắp cống vỡ {word}"},
        {"title": f"Đèn hỏng lâu ngày {word}", "status": ReportStatus.ROUTED, "agency_name": "Sở Xây dựng",
         "deadline": utcnow() - timedelta(days=9)})
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "ioc_operator")
    page.goto(f"/inbox/?q={word}")
    rows(page).filter(has_text=code).locator("button.preview").click()
    panel = page.locator("#inbox-side .report-panel")
    expect(panel.locator(".rp-badges")).to_contain_text("Mới")
    expect(rows(page).filter(has_text=late).locator(".flag-overdue")).to_be_visible()
    widths = page.evaluate("(() => { const l = document.querySelector('#report-list');"
                           " return [l.querySelector('table').scrollWidth, l.clientWidth,"
                           " [...l.querySelectorAll('tbody tr:first-child td')].map(td => td.offsetWidth + ':' + getComputedStyle(td).display)]; })()")
    assert widths[0] <= widths[1] + 1, widths
    rows(page).filter(has_text=code).locator("input[name=report]").check()
    page.select_option("#bulk-form select[name=action]", "accept")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("#report-list .bulk-result")).to_be_visible()
    expect(panel.locator(".rp-badges")).to_contain_text("Đã tiếp nhận")
