"""Issue 5, done when: agency staff answer a routed report with an "after" photo, the lead
approves it, and the public tracking page shows the answer with the after-photo. Also the
issue's case "an answer typed while the session expired: after logging in again, the text
is still there", in a real browser."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from hpsmart.models import Report, ReportStatus, Response, ResponseState

from .. import factories

pytestmark = pytest.mark.browser

ANSWER = "Đội duy tu đã vá ổ gà trước số 12 Hoàng Văn Thụ; mặt đường đã bằng phẳng."


def after_photo(path) -> str:
    """A JPEG of a repaired road, written to ``path``; returns the path as text."""
    picture = Image.new("RGB", (1200, 900), (120, 120, 125))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((300, 350, 900, 600), fill=(60, 60, 62))  # fresh asphalt
    picture.save(path, "JPEG", quality=85)
    return str(path)


def routed_report(live_data, title: str) -> str:
    """A report routed to Sở Xây dựng (the live staff's and lead's agency), needing approval."""
    with live_data() as db:
        agency = factories.agency("Sở Xây dựng")
        agency.requires_approval = True
        report = factories.report(title=title, agency=agency, status=ReportStatus.ROUTED,
                                  reporter_name="Trần Thị Bình", reporter_phone="0900000001",
                                  reporter_email="binh@example.invalid")
        return report.tracking_code


def test_staff_answers_with_photo_lead_approves_public_sees_it(new_context, login, live_app, live_data,
                                                                tmp_path):
    code = routed_report(live_data, "Ổ gà trước số 12 Hoàng Văn Thụ (trả lời)")

    # Staff: the answer panel inside the report view (loaded by htmx).
    staff = login(new_context().new_page(), "agency_staff")
    staff.goto(f"/inbox/reports/{code}")
    form = staff.locator("#answer-form")
    expect(form).to_be_visible()
    staff.select_option("#answer-form select[name=outcome]", "resolved")
    body = staff.locator("#answer-form textarea[name=body]")
    body.fill(ANSWER[:-1])
    body.press_sequentially(ANSWER[-1])  # a key press: the draft autosaves
    expect(staff.locator("#draft-status")).not_to_be_empty()
    staff.set_input_files("#answer-form input[name=photos]", after_photo(tmp_path / "sau.jpg"))
    with staff.expect_navigation():
        staff.click("#answer-form button[name=action][value=submit]")
    assert urlsplit(staff.url).path == f"/inbox/reports/{code}"  # back to the report view
    with live_data() as db:
        response = db.session.query(Response).filter(Response.state == ResponseState.SUBMITTED).join(
            Response.report).filter_by(tracking_code=code).one()
        assert response.body == ANSWER
        assert len(response.attachments) == 1 and response.attachments[0].purpose == "answer"

    # Lead: the approvals list, approve as it is.
    lead = login(new_context().new_page(), "agency_lead")
    lead.goto("/inbox/approvals")
    item = lead.locator(".approval", has_text=code)
    expect(item).to_be_visible()
    with lead.expect_navigation():
        item.locator(".approve-form button[type=submit]").click()
    expect(lead.locator(".approval", has_text=code)).to_have_count(0)

    # Anyone: the tracking page shows the answer and the after-photo, not the reporter.
    public = new_context().new_page()
    public.goto(f"/track?code={code}")
    answer = public.locator("#answer")
    expect(answer).to_contain_text(ANSWER)
    photo = answer.locator(".after-photos img")
    expect(photo).to_have_count(1)
    photo.scroll_into_view_if_needed()
    public.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    html = public.content()
    for secret in ("Trần Thị Bình", "0900000001", "binh@example.invalid"):
        assert secret not in html
    with live_data() as db:
        report = db.session.query(Report).filter_by(tracking_code=code).one()
        assert report.status == ReportStatus.PUBLISHED


def test_answer_typed_while_the_session_expired_is_there_after_logging_in(new_context, login, live_data,
                                                                          live_users):
    code = routed_report(live_data, "Đèn đường hỏng (phiên hết hạn)")
    context = new_context()
    page = login(context.new_page(), "agency_staff")
    page.goto(f"/inbox/reports/{code}/answer")
    typed = "Đã cử đội điện chiếu sáng kiểm tra; sẽ thay bóng đèn trong tuần này."
    page.fill("#answer-form textarea[name=body]", typed)  # no key press: no autosave

    context.clear_cookies()  # the session expires
    with page.expect_navigation():
        page.click("#answer-form button[name=action][value=submit]")
    assert urlsplit(page.url).path == "/login"

    page.fill("input[name=email]", live_users["agency_staff"].email)
    page.fill("input[name=password]", factories.PASSWORD)
    with page.expect_navigation():
        page.click("form[action$='/login'] button[type=submit]")
    assert urlsplit(page.url).path == f"/inbox/reports/{code}/answer"
    expect(page.locator("#answer-form textarea[name=body]")).to_have_value(typed)
    with live_data() as db:
        report = db.session.query(Report).filter_by(tracking_code=code).one()
        assert report.status == ReportStatus.ROUTED  # kept as a draft, not sent


def test_internal_note_typed_while_the_session_expired_is_there_after_logging_in(new_context, login, live_data,
                                                                                 live_users):
    """The note is kept in the tab (drafts.js), put back after logging in, and forgotten
    once the server has it."""
    code = routed_report(live_data, "Cột điện nghiêng (ghi chú, phiên hết hạn)")
    context = new_context()
    page = login(context.new_page(), "ioc_operator")
    page.goto(f"/inbox/reports/{code}")
    typed = "Đã gọi điện cho tổ trưởng dân phố; chiều nay có người ra xem."
    page.fill("form.note-form textarea", typed)

    context.clear_cookies()  # the session expires
    with page.expect_navigation():
        page.click("form.note-form button")
    assert urlsplit(page.url).path == "/login"
    page.fill("input[name=email]", live_users["ioc_operator"].email)
    page.fill("input[name=password]", factories.PASSWORD)
    with page.expect_navigation():
        page.click("form[action$='/login'] button[type=submit]")
    assert urlsplit(page.url).path == f"/inbox/reports/{code}"
    expect(page.locator("form.note-form textarea")).to_have_value(typed)

    page.click("form.note-form button")
    expect(page.locator(".report-panel")).to_contain_text(typed)
    expect(page.locator("form.note-form textarea")).to_have_value("")
    page.reload()
    expect(page.locator("form.note-form textarea")).to_have_value("")
