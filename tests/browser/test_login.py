"""Staff log in through the real form in chromium and land on their inbox."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from .. import factories

pytestmark = pytest.mark.browser


def translated(app, msgid: str, locale: str = "vi", **values) -> str:
    """``msgid`` as the live app shows it in ``locale`` (from the compiled catalogue, if any)."""
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **values)


def create_report(live_data, title: str) -> str:
    """Commit a new report to the live database and return its tracking code."""
    with live_data():
        return factories.report(title=title).tracking_code


def assert_on_inbox_with(page, app, user, code: str, title: str) -> None:
    assert urlsplit(page.url).path == "/inbox/"
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("main h1")).to_have_text(translated(app, "Inbox"))
    row = page.locator("#report-list tbody tr", has_text=code)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(title)
    expect(row.get_by_role("link", name=code)).to_have_attribute("href", f"/inbox/reports/{code}")
    expect(page.locator("header .user")).to_have_text(user.name)
    expect(page.locator("header .role")).to_contain_text(translated(app, "IOC operator"))


def test_ioc_operator_logs_in_and_sees_the_inbox(page, login, live_app, live_data, live_users):
    title = "Đèn đường hỏng ở ngõ 12 Lê Lợi, tối om cả tuần"
    code = create_report(live_data, title)

    login(page, "ioc_operator")

    user = live_users["ioc_operator"]
    assert_on_inbox_with(page, live_app, user, code, title)
    expect(page.locator(".flash")).to_have_text(translated(live_app, "Welcome, %(name)s.", name=user.name))


def test_login_works_with_javascript_off(new_context, login, live_app, live_data, live_users):
    page = new_context(java_script_enabled=False).new_page()
    title = "Cong thoat nuoc bi tac truoc so 5 Tran Phu"
    code = create_report(live_data, title)

    login(page, "ioc_operator")

    assert_on_inbox_with(page, live_app, live_users["ioc_operator"], code, title)


def test_wrong_password_keeps_the_email_and_says_why(page, login, live_app, live_users):
    login(page, "ioc_operator", password="not the password")

    assert urlsplit(page.url).path == "/login"
    expect(page.locator("input[name=email]")).to_have_value(live_users["ioc_operator"].email)
    expect(page.locator("input[name=password]")).to_have_value("")
    expect(page.locator(".field.has-error .error")).to_have_text(
        translated(live_app, "Incorrect e-mail or password."))
