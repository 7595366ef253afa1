"""The report view in chromium: routing through the htmx panel, the agency taking it over,
a stale form answered with the conflict in the panel, and routing with JavaScript off."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from hpsmart.models import Report, ReportStatus

from .. import factories

pytestmark = pytest.mark.browser


def translated(app, msgid: str, **values) -> str:
    """``msgid`` as the live app shows it in Vietnamese."""
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **values)


def status_title(app, status: ReportStatus) -> str:
    with app.test_request_context(), force_locale("vi"):
        return status.title


def new_report(live_data, words: str) -> tuple[str, str]:
    """Commit a new report with a title no other test uses; returns (code, title)."""
    title = f"{words} {uuid.uuid4().hex[:8]}"
    with live_data():
        return factories.report(title=title).tracking_code, title


def stored(live_data, code: str) -> tuple[ReportStatus, str | None]:
    """The report's status and handling agency's name as committed."""
    with live_data() as db:
        report = db.session.scalar(select(Report).where(Report.tracking_code == code))
        return report.status, report.agency.name if report.agency else None


def mark_document(page) -> None:
    """Tag the loaded document: a full page load drops the tag."""
    page.evaluate("window.__reportMarker = 'kept'")


def document_kept(page) -> bool:
    return page.evaluate("window.__reportMarker === 'kept'")


def test_ioc_routes_in_the_panel_and_the_agency_starts_it(new_context, login, live_app, live_data):
    code, title = new_report(live_data, "Ổ gà sâu trước số 7 Lạch Tray")

    ioc = new_context().new_page()
    login(ioc, "ioc_operator")
    ioc.locator("#report-list tbody tr", has_text=code).get_by_role("link", name=code).click()
    assert urlsplit(ioc.url).path == f"/inbox/reports/{code}"
    panel = ioc.locator(".report-panel")
    expect(panel.locator("#report-title")).to_contain_text(title)
    mark_document(ioc)

    route = panel.locator("form.action-route")
    route.locator("select").select_option(label="Sở Xây dựng")
    route.locator("textarea").fill("Nhờ Sở kiểm tra và vá sớm")
    route.get_by_role("button", name=translated(live_app, "Route to agency")).click()

    routed = status_title(live_app, ReportStatus.ROUTED)
    expect(panel.locator(".rp-badges .badge").first).to_have_text(routed)
    expect(panel.locator(".flash-success")).to_contain_text(routed)
    expect(panel.locator("dl.report-facts")).to_contain_text("Sở Xây dựng")
    expect(panel.locator("ol.timeline")).to_contain_text("Nhờ Sở kiểm tra và vá sớm")
    assert document_kept(ioc), "the panel was swapped in place, without loading a new page"
    assert urlsplit(ioc.url).path == f"/inbox/reports/{code}"
    assert stored(live_data, code) == (ReportStatus.ROUTED, "Sở Xây dựng")

    staff = new_context().new_page()
    login(staff, "agency_staff")
    row = staff.locator("#report-list tbody tr", has_text=code)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=code).click()
    staff_panel = staff.locator(".report-panel")
    mark_document(staff)
    staff_panel.locator("form.action-start").get_by_role(
        "button", name=translated(live_app, "Start handling")).click()
    expect(staff_panel.locator(".rp-badges .badge").first).to_have_text(
        status_title(live_app, ReportStatus.IN_PROGRESS))
    assert document_kept(staff)
    assert stored(live_data, code) == (ReportStatus.IN_PROGRESS, "Sở Xây dựng")


def test_a_stale_form_shows_the_conflict_in_the_panel(new_context, login, live_app, live_data, live_users):
    code, _title = new_report(live_data, "Cống thoát nước tắc ở ngõ 3 Hàng Kênh")
    first = new_context().new_page()
    login(first, "ioc_operator")
    second = new_context().new_page()
    login(second, "admin")
    first.goto(f"/inbox/reports/{code}")
    second.goto(f"/inbox/reports/{code}")

    first.locator("form.action-accept button").click()
    expect(first.locator(".report-panel .rp-badges .badge").first).to_have_text(
        status_title(live_app, ReportStatus.ACCEPTED))

    mark_document(second)
    reject = second.locator("form.action-reject")
    reject.locator("select").select_option("insufficient_information")
    reject.locator("textarea").fill("Không rõ vị trí cống")
    reject.locator("button").click()

    conflict = second.locator(".report-panel .conflict")
    expect(conflict).to_contain_text(translated(
        live_app, "Someone else changed this report while you had it open. Check their changes below, then try again."))
    expect(conflict).to_contain_text(live_users["ioc_operator"].name)
    expect(conflict).to_contain_text("Không rõ vị trí cống")
    assert document_kept(second)
    assert stored(live_data, code)[0] == ReportStatus.ACCEPTED


def test_routing_works_with_javascript_off(new_context, login, live_app, live_data):
    code, title = new_report(live_data, "Cây đổ chắn đường Trần Phú")
    page = new_context(java_script_enabled=False).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/reports/{code}")

    route = page.locator("form.action-route")
    route.locator("select").select_option(label="Sở Xây dựng")
    with page.expect_navigation():
        route.locator("button").click()

    assert urlsplit(page.url).path == f"/inbox/reports/{code}"  # 303 back to the report's page
    routed = status_title(live_app, ReportStatus.ROUTED)
    expect(page.locator(".flashes .flash-success")).to_contain_text(routed)
    expect(page.locator(".report-panel .rp-badges .badge").first).to_have_text(routed)
    expect(page.locator("main h1")).to_contain_text(title)
    assert stored(live_data, code) == (ReportStatus.ROUTED, "Sở Xây dựng")
