"""A working day in the inbox, in chromium: the issue's case from filter to Back (IOC and the
agency's staff member in two browsers), failed htmx requests said out loud, the keyboard, and
the inbox and the report view on a 375 px phone screen."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from hpsmart.models import Report, ReportStatus

from .. import factories

pytestmark = pytest.mark.browser

# A category and a special zone no other browser test files reports under, so that the
# filtered list holds only this module's reports (the live database is shared by the run).
CATEGORY = "cay_xanh"
ZONE = "Đặc khu Bạch Long Vĩ"


def vi(app, msgid: str, **values) -> str:
    """``msgid`` as the live app shows it in Vietnamese."""
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **values)


def status_title(app, status: ReportStatus) -> str:
    with app.test_request_context(), force_locale("vi"):
        return status.title


def make_reports(live_data, *specs) -> tuple[list[str], str]:
    """Commit reports in ``CATEGORY`` and ``ZONE`` (``specs``: factories.report keywords);
    returns their tracking codes and the zone's code."""
    with live_data():
        zone = factories.unit(ZONE)
        codes = [factories.report(category=factories.category(CATEGORY), admin_unit=zone, **spec).tracking_code
                 for spec in specs]
        return codes, zone.code


def stored_status(live_data, code: str) -> ReportStatus:
    with live_data() as db:
        return db.session.scalar(select(Report.status).where(Report.tracking_code == code))


def rows(page):
    return page.locator("#report-list tbody tr")


def row(page, code: str):
    return rows(page).filter(has_text=code)


def mark_document(page) -> None:
    """Tag the loaded document: a full page load drops the tag."""
    page.evaluate("window.__workdayMarker = 'kept'")


def document_kept(page) -> bool:
    return page.evaluate("window.__workdayMarker === 'kept'")


def page_width(page) -> int:
    """The document's width in CSS pixels: wider than the screen means sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth")


def unique(words: str) -> str:
    return f"{words} {uuid.uuid4().hex[:8]}"


# --- the case ---

def test_ioc_filters_opens_and_routes_the_agency_starts_and_back_returns_the_filtered_list(
        new_context, login, live_app, live_data):
    """IOC: filter (status + category + ward), open a report beside the list (htmx), route it;
    the agency's staff member (another browser) sees it in their inbox and starts it; the IOC
    opens the report's own page, then Back: the filtered list again, as a full page."""
    title = unique("Cây đổ chắn ngang đường ra cảng")
    (target, other_new, accepted), zone = make_reports(
        live_data, {"title": title}, {"title": unique("Cành cây gãy treo trên dây điện")},
        {"title": unique("Cây xanh che đèn tín hiệu"), "status": ReportStatus.ACCEPTED})

    ioc = new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(ioc, "ioc_operator")
    assert urlsplit(ioc.url).path == "/inbox/"
    mark_document(ioc)

    ioc.locator("#inbox-filters .multi summary").click()
    ioc.locator("#inbox-filters input[name=status][value=new]").check()
    expect(ioc).to_have_url(re.compile(r"[?&]status=new"))
    ioc.select_option("#inbox-filters select[name=category]", CATEGORY)
    expect(ioc).to_have_url(re.compile(rf"[?&]category={CATEGORY}"))
    ioc.select_option("#inbox-filters select[name=unit]", zone)
    expect(ioc).to_have_url(re.compile(rf"[?&]unit={zone}"))
    expect(rows(ioc)).to_have_count(2)
    expect(row(ioc, target)).to_have_count(1)
    expect(row(ioc, other_new)).to_have_count(1)
    expect(row(ioc, accepted)).to_have_count(0)
    assert document_kept(ioc), "the filters reloaded the whole page"
    filtered_url = ioc.url
    assert parse_qs(urlsplit(filtered_url).query) == {"status": ["new"], "category": [CATEGORY], "unit": [zone]}

    row(ioc, target).locator("button.preview").click()
    panel = ioc.locator("#inbox-side .report-panel")
    expect(panel.locator("#report-title")).to_contain_text(title)
    assert ioc.url == filtered_url and document_kept(ioc)
    panel.locator("select[name='route-agency']").select_option(label="Sở Xây dựng")
    panel.locator("form.action-route").get_by_role("button", name=vi(live_app, "Route to agency")).click()
    expect(ioc.locator("#inbox-side .report-panel .rp-badges .badge").first).to_have_text(
        status_title(live_app, ReportStatus.ROUTED))
    assert ioc.url == filtered_url and document_kept(ioc)
    assert stored_status(live_data, target) == ReportStatus.ROUTED

    staff = new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(staff, "agency_staff")
    expect(row(staff, target)).to_have_count(1)  # routed to their agency: in their inbox
    row(staff, target).locator("button.preview").click()
    staff_panel = staff.locator("#inbox-side .report-panel")
    expect(staff_panel.locator("#report-title")).to_contain_text(title)
    staff_panel.locator("form.action-start").get_by_role("button", name=vi(live_app, "Start handling")).click()
    in_progress = status_title(live_app, ReportStatus.IN_PROGRESS)
    expect(staff.locator("#inbox-side .report-panel .rp-badges .badge").first).to_have_text(in_progress)
    assert stored_status(live_data, target) == ReportStatus.IN_PROGRESS

    # Back at the IOC's desk: the report's own page shows the agency's change...
    with ioc.expect_navigation():
        ioc.locator("#inbox-side .report-panel a.rp-open").click()
    assert urlsplit(ioc.url).path == f"/inbox/reports/{target}"
    expect(ioc.locator(".report-panel .rp-badges .badge").first).to_have_text(in_progress)

    # ... and Back returns to the filtered list: a full document from the server.
    with ioc.expect_response(lambda r: urlsplit(r.url).path == "/inbox/" and r.request.method == "GET") as info:
        ioc.go_back()
    restored = info.value
    assert "hx-request" not in restored.request.headers
    html = restored.text()
    assert html.lstrip().lower().startswith("<!doctype html>") and 'id="inbox-filters"' in html
    expect(ioc).to_have_url(filtered_url)
    assert ioc.evaluate("document.doctype !== null && document.querySelectorAll('header.topbar, #inbox-filters,"
                        " #report-list, footer.footer').length === 4")
    assert not document_kept(ioc)  # a new document, not a fragment swapped into the old one
    expect(ioc.locator("#inbox-filters input[name=status][value=new]")).to_be_checked()
    expect(ioc.locator("#inbox-filters select[name=category]")).to_have_value(CATEGORY)
    expect(ioc.locator("#inbox-filters select[name=unit]")).to_have_value(zone)
    expect(row(ioc, other_new)).to_have_count(1)
    expect(row(ioc, target)).to_have_count(0)  # in progress now: no longer "new"


def test_routing_and_filtering_work_with_javascript_off(new_context, login, live_app, live_data):
    """The same desk with JavaScript off: the filter form is a GET, the report its own page,
    routing a form post answered 303, and the list link goes back to the inbox."""
    title = unique("Cây bật gốc trước trường học")
    (code,), zone = make_reports(live_data, {"title": title})
    page = new_context(java_script_enabled=False).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/?status=new&category={CATEGORY}&unit={zone}")
    expect(row(page, code)).to_have_count(1)
    expect(page.locator("#report-list button.preview")).to_have_count(rows(page).count())
    expect(page.locator("#report-list button.preview").first).to_be_hidden()  # js-only
    with page.expect_navigation():
        row(page, code).get_by_role("link", name=code).click()
    route = page.locator("form.action-route")
    route.locator("select").select_option(label="Sở Xây dựng")
    with page.expect_navigation():
        route.get_by_role("button", name=vi(live_app, "Route to agency")).click()
    assert urlsplit(page.url).path == f"/inbox/reports/{code}"
    expect(page.locator(".flashes .flash-success")).to_contain_text(status_title(live_app, ReportStatus.ROUTED))
    assert stored_status(live_data, code) == ReportStatus.ROUTED
    # the keyboard help needs JavaScript: without it, nothing of it shows
    expect(page.locator(".shortcuts-open")).to_be_hidden()
    expect(page.locator("#request-error")).to_be_hidden()


# --- failed htmx requests ---

def test_a_failed_htmx_request_says_so_in_the_users_language(new_context, login, live_app, live_data):
    (code,), _zone = make_reports(live_data, {"title": unique("Cây chết khô cần chặt")})
    page = new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/reports/{code}")
    mark_document(page)
    alert = page.locator("#request-error [role=alert]")
    expect(page.locator("#request-error")).to_be_hidden()

    # A server error: the message of the 5xx kind, the form and its text stay.
    note = page.locator("form.action-reject textarea")
    note.fill("Cây đã được chặt hôm qua")
    page.route(f"**/inbox/reports/{code}/actions/reject", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    page.locator("form.action-reject select").select_option("not_a_report")
    page.locator("form.action-reject button").click()
    expect(alert).to_have_text(vi(live_app, "An error occurred on our side; it may not have been saved. "
                                            "Try again in a moment."))
    expect(note).to_have_value("Cây đã được chặt hôm qua")
    expect(page.locator("form.action-reject button")).to_be_enabled()
    page.locator("#request-error .request-error-close").click()
    expect(page.locator("#request-error")).to_be_hidden()

    # The network is down.
    page.unroute(f"**/inbox/reports/{code}/actions/reject")
    page.route(f"**/inbox/reports/{code}/actions/reject", lambda route: route.abort("internetdisconnected"))
    page.locator("form.action-reject button").click()
    expect(alert).to_contain_text(vi(live_app, "The server could not be reached. Check the connection and try "
                                               "again; what you typed is still on the page."))
    page.unroute(f"**/inbox/reports/{code}/actions/reject")

    # The page is older than the session (the CSRF secret changed): "reload", nothing lost.
    page.evaluate("""() => {
        const body = document.body;
        body.setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': 'expired'}));
        document.querySelectorAll('input[name$=csrf_token]').forEach(i => { i.value = 'expired'; });
    }""")
    with page.expect_response(lambda r: r.url.endswith("/actions/reject")) as info:
        page.locator("form.action-reject button").click()
    assert info.value.status == 400 and info.value.headers["x-error-kind"] == "expired"
    expect(alert).to_contain_text(vi(live_app, "This page is older than your session, so it cannot send "
                                               "anything. What you typed is still here: copy it if you need it, "
                                               "then reload the page."))
    expect(page.locator("#request-error .request-error-reload")).to_be_visible()
    expect(note).to_have_value("Cây đã được chặt hôm qua")
    assert document_kept(page)
    assert stored_status(live_data, code) == ReportStatus.NEW


def test_an_expired_session_on_an_htmx_request_goes_to_the_login_page(new_context, login, live_app, live_data):
    (code,), _zone = make_reports(live_data, {"title": unique("Cây nghiêng sắp đổ")})
    context = new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/reports/{code}")
    context.clear_cookies()  # the session is gone
    with page.expect_navigation(url=re.compile(r"/login\?next=")):
        page.locator("form.action-accept button").click()
    assert parse_qs(urlsplit(page.url).query)["next"] == [f"/inbox/reports/{code}"]  # the page, not the POST URL
    expect(page.locator("form[action$='/login']")).to_be_visible()
    assert stored_status(live_data, code) == ReportStatus.NEW


# --- keyboard ---

def test_keyboard_moves_opens_and_reaches_the_actions(new_context, login, live_app, live_data):
    (first, second), zone = make_reports(live_data, {"title": unique("Cây đổ đè lên mái nhà")},
                                         {"title": unique("Cây mục rỗng thân")})
    page = new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/?status=new&category={CATEGORY}&unit={zone}&sort=received&order=asc")
    codes = [c for c in rows(page).locator("td.code a").all_inner_texts() if c in (first, second)]
    assert len(codes) == 2
    mark_document(page)

    page.keyboard.press("j")
    chosen = rows(page).nth(0)
    expect(chosen).to_have_class(re.compile(r"\bkb-current\b"))
    page.keyboard.press("j")
    expect(rows(page).nth(1)).to_have_class(re.compile(r"\bkb-current\b"))
    expect(rows(page).nth(0)).not_to_have_class(re.compile(r"\bkb-current\b"))
    page.keyboard.press("k")
    expect(rows(page).nth(0)).to_have_class(re.compile(r"\bkb-current\b"))
    chosen_code = rows(page).nth(0).locator("td.code a").inner_text()

    page.keyboard.press("Enter")  # opens beside the list
    panel = page.locator("#inbox-side .report-panel")
    expect(panel.locator("#report-title")).to_contain_text(chosen_code)
    assert document_kept(page)

    page.keyboard.press("r")  # the route form's first field
    expect(panel.locator("form.action-route select")).to_be_focused()
    page.keyboard.press("a")  # typing in a select is not a shortcut: the focus stays
    expect(panel.locator("form.action-route select")).to_be_focused()
    panel.locator("form.action-route select").evaluate("el => el.blur()")
    page.keyboard.press("a")  # Accept has no field: its button, Enter confirms
    accept = panel.locator("form.action-accept button")
    expect(accept).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#inbox-side .report-panel .rp-badges .badge").first).to_have_text(
        status_title(live_app, ReportStatus.ACCEPTED))
    assert stored_status(live_data, chosen_code) == ReportStatus.ACCEPTED

    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("n")
    expect(page.locator("#inbox-side .report-panel form.note-form textarea")).to_be_focused()
    page.keyboard.type("?j")  # typed into the note, not taken as shortcuts
    expect(page.locator("#shortcuts")).not_to_be_visible()
    expect(page.locator("#inbox-side .report-panel form.note-form textarea")).to_have_value("?j")

    page.locator("#inbox-side .report-panel form.note-form textarea").evaluate("el => el.blur()")
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(vi(live_app, "Keyboard shortcuts"))
    expect(dialog).to_contain_text(vi(live_app, "Route to agency"))
    expect(dialog.locator("kbd", has_text="j")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    expect(page.locator(".shortcuts-open")).to_be_visible()
    page.locator(".shortcuts-open").click()
    expect(dialog).to_be_visible()


# --- a phone: 375 px wide ---

PHONE = {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_inbox_with_the_bulk_bar_fits_a_375_px_screen(new_context, login, live_data):
    (code, _other), zone = make_reports(
        live_data, {"title": unique("Cây_đổ_chắn_ngang_đường_" + "x" * 60)},
        {"title": unique("Cây xanh"), "address": "Số " + "9" * 80})
    page = new_context(**PHONE).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/?status=new&category={CATEGORY}&unit={zone}")
    expect(page.locator("#bulk-form .bulk-bar")).to_be_visible()
    assert page_width(page) <= 375, page_width(page)
    row(page, code).locator("input[name=report]").check()
    page.select_option("#bulk-form select[name=action]", "route")
    assert page_width(page) <= 375, page_width(page)
    page.locator("#inbox-filters .multi summary").click()  # the status list opened
    assert page_width(page) <= 375, page_width(page)


def test_report_view_with_a_long_email_and_unbroken_text_fits_a_375_px_screen(new_context, login, live_data):
    email = "nguyen.van.binh.phan.anh.hien.truong.rat.dai." + "x" * 40 + "@mot-ten-mien-rat-dai.example.org"
    unbroken = "ÔGàSâuTrướcSốBảyLạchTray" * 8
    (code,), _zone = make_reports(live_data, {"title": unbroken[:150], "description": f"{unbroken}\n{email}",
                                              "reporter_email": email, "address": unbroken[:200]})
    page = new_context(**PHONE).new_page()
    login(page, "ioc_operator")
    page.goto(f"/inbox/reports/{code}")
    expect(page.locator(f"a[href='mailto:{email}']")).to_be_visible()
    assert page_width(page) <= 375, page_width(page)
    page.locator("details.edit-fields summary").click()
    assert page_width(page) <= 375, page_width(page)
    page.goto(f"/inbox/reports/{code}/answer")
    assert page_width(page) <= 375, page_width(page)
