"""Two people writing the same answer draft, in chromium: each one's own autosaves go through
(the status line carries the new draft version into the form), the other one's stale
autosave and save are refused with the first one's text shown, and saving again from there is
a deliberate choice."""
from __future__ import annotations

import re
import uuid

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from hpsmart.models import Report, ReportStatus, Response

from .. import factories

pytestmark = pytest.mark.browser

FIRST = "Đội duy tu đã kiểm tra, sẽ vá ổ gà trong tuần."
SECOND = "Đã vá xong ổ gà, mặt đường êm thuận."


def vi(app, msgid: str, **values) -> str:
    with app.test_request_context(), force_locale("vi"):
        return gettext(msgid, **values)


def draft_body(live_data, code: str) -> str | None:
    with live_data() as db:
        report = db.session.scalar(select(Report).where(Report.tracking_code == code))
        response = db.session.scalar(select(Response).where(Response.report_id == report.id)
                                     .order_by(Response.id.desc()))
        return response.body if response is not None else None


def test_a_stale_draft_is_refused_with_the_other_text_then_saved_deliberately(new_context, login, live_app,
                                                                               live_data, live_users):
    with live_data():
        code = factories.report(title=f"Ổ gà trước chợ Sắt {uuid.uuid4().hex[:8]}", status=ReportStatus.ROUTED,
                                agency=factories.agency("Sở Xây dựng")).tracking_code
    staff = login(new_context().new_page(), "agency_staff")
    lead = login(new_context().new_page(), "agency_lead")  # leads answer too
    for page in (staff, lead):
        page.goto(f"/inbox/reports/{code}/answer")

    body = staff.locator("#answer-form textarea[name=body]")
    body.fill(FIRST[:-1])
    with staff.expect_response(lambda r: r.url.endswith("/answer/draft")) as first:
        body.press_sequentially(FIRST[-1])  # a key press: the draft autosaves
    assert first.value.status == 200
    expect(staff.locator("#draft-status")).to_contain_text(re.compile(r"\d\d:\d\d"))
    with staff.expect_response(lambda r: r.url.endswith("/answer/draft")) as again:
        body.press_sequentially(" Xong trước thứ Sáu.")
    assert again.value.status == 200  # one's own autosaves never conflict
    first_text = FIRST + " Xong trước thứ Sáu."
    assert draft_body(live_data, code) == first_text

    lead_body = lead.locator("#answer-form textarea[name=body]")
    lead_body.fill(SECOND[:-1])
    with lead.expect_response(lambda r: r.url.endswith("/answer/draft")) as stale:
        lead_body.press_sequentially(SECOND[-1])
    assert stale.value.status == 409
    expect(lead.locator("#draft-status")).to_contain_text(live_users["agency_staff"].name)
    assert draft_body(live_data, code) == first_text

    with lead.expect_navigation():
        lead.click("#answer-form button[name=action][value=draft]:not(.visually-hidden)")
    conflict = lead.locator("#answer-form .draft-conflict")
    expect(conflict).to_contain_text(vi(live_app, "Someone else saved this answer while you were editing it. "
                                                  "Their text is shown above yours: combine them if needed, "
                                                  "then save again."))
    expect(conflict.locator(".other-text")).to_have_text(first_text)
    expect(lead_body).to_have_value(SECOND)
    assert draft_body(live_data, code) == first_text

    lead_body.fill(f"{first_text}\n{SECOND}")
    with lead.expect_navigation():
        lead.click("#answer-form button[name=action][value=draft]:not(.visually-hidden)")
    expect(lead.locator("#answer-form .draft-conflict")).to_have_count(0)
    assert draft_body(live_data, code).replace("\r\n", "\n") == f"{first_text}\n{SECOND}"  # the browser sends CRLF


def test_text_put_back_after_a_reload_keeps_the_version_it_was_typed_on(new_context, login, live_app, live_data):
    """drafts.js puts back what was typed in the tab after a reload; if someone else saved the
    draft meanwhile, saving it is refused with their text shown, not a silent overwrite."""
    with live_data():
        code = factories.report(title=f"Đèn đường tắt ngõ 5 {uuid.uuid4().hex[:8]}", status=ReportStatus.ROUTED,
                                agency=factories.agency("Sở Xây dựng")).tracking_code
    staff = login(new_context().new_page(), "agency_staff")
    lead = login(new_context().new_page(), "agency_lead")
    staff.goto(f"/inbox/reports/{code}/answer")
    staff.locator("#answer-form textarea[name=body]").fill(SECOND)  # no key press: no autosave
    lead.goto(f"/inbox/reports/{code}/answer")
    lead.locator("#answer-form textarea[name=body]").fill(FIRST)
    with lead.expect_navigation():
        lead.click("#answer-form button[name=action][value=draft]:not(.visually-hidden)")
    assert draft_body(live_data, code) == FIRST

    staff.evaluate("""() => {  // typed after the lead's save (the tab's clock), then the page reloads
        const key = Object.keys(sessionStorage).find(k => k.includes('answer:'));
        const entry = JSON.parse(sessionStorage.getItem(key));
        entry.at = Date.now() + 1000;
        sessionStorage.setItem(key, JSON.stringify(entry));
    }""")
    staff.reload()
    body = staff.locator("#answer-form textarea[name=body]")
    expect(body).to_have_value(SECOND)  # put back from the tab
    expect(staff.locator("#answer-form .draft-restored")).to_be_visible()
    with staff.expect_navigation():
        staff.click("#answer-form button[name=action][value=draft]:not(.visually-hidden)")
    expect(staff.locator("#answer-form .draft-conflict .other-text")).to_have_text(FIRST)
    expect(body).to_have_value(SECOND)
    assert draft_body(live_data, code) == FIRST
