"""Languages over HTTP: Vietnamese by default, then the user's setting, then the ``lang`` cookie;
local times in Asia/Ho_Chi_Minh; localized error pages (403, 404, 422, 500, expired form).

Locale order (hpsmart.i18n.select_locale): the logged-in user's ``language``, else
the ``lang`` cookie, else ``BABEL_DEFAULT_LOCALE`` (vi).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from flask import abort

from hpsmart import create_app
from hpsmart.i18n import format_local_date, format_local_datetime, to_local

from .. import factories
from ..conftest import csrf_token, make_test_config


def html_lang(response) -> str:
    """The ``lang`` attribute of the page's ``<html>`` element."""
    marker = '<html lang="'
    start = response.text.index(marker) + len(marker)
    return response.text[start:response.text.index('"', start)]


def choose_language(client, lang: str, next_path: str = "/"):
    """Press the language button (POST /language/<lang> with the page's CSRF token)."""
    token = csrf_token(client, "/")
    return client.post(f"/language/{lang}", data={"csrf_token": token, "next": next_path})


# --- locale selection ---

def test_anonymous_visitor_gets_vietnamese(client):
    page = client.get("/")
    assert page.status_code == 200
    assert html_lang(page) == "vi"
    assert "Hải Phòng Smart" in page.text
    assert "Cán bộ đăng nhập" in page.text  # the staff login link
    assert "Staff login" not in page.text


def test_language_button_sets_cookie_and_pages_turn_english(client):
    response = choose_language(client, "en", "/login")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login")
    assert "lang=en" in response.headers["Set-Cookie"]

    page = client.get("/login")
    assert html_lang(page) == "en"
    assert "Staff login" in page.text
    assert "Keep me logged in on this device" in page.text

    choose_language(client, "vi")
    page = client.get("/login")
    assert html_lang(page) == "vi"
    assert "Duy trì đăng nhập trên thiết bị này" in page.text


def test_language_button_rejects_unknown_language_and_offsite_next(client):
    token = csrf_token(client, "/")
    response = client.post("/language/fr", data={"csrf_token": token})
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text
    assert "lang=" not in response.headers.get("Set-Cookie", "")

    response = client.post("/language/en", data={"csrf_token": token, "next": "//evil.example/"})
    assert response.status_code == 303
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_cookie_alone_is_used_when_it_names_a_known_language(client):
    client.set_cookie("lang", "en")
    assert html_lang(client.get("/")) == "en"
    client.set_cookie("lang", "fr")
    assert html_lang(client.get("/")) == "vi"


def test_user_setting_beats_the_cookie(client, users, login_as, db):
    users["ioc_operator"].language = "en"
    db.session.flush()
    client.set_cookie("lang", "vi")
    login_as("ioc_operator")
    page = client.get("/account/")
    assert page.status_code == 200
    assert html_lang(page) == "en"
    assert "<h1>Settings</h1>" in page.text
    assert "Log out" in page.text


def test_vietnamese_user_sees_vietnamese_despite_an_english_cookie(client, login_as):
    client.set_cookie("lang", "en")
    login_as("agency_staff")  # factories create users with the default language, vi
    page = client.get("/account/")
    assert html_lang(page) == "vi"
    assert "<h1>Cài đặt</h1>" in page.text
    assert "Đăng xuất" in page.text


def test_changing_the_account_setting_changes_the_language(client, login_as, db):
    user = login_as("agency_lead")
    assert user.language == "vi"
    token = csrf_token(client, "/account/")
    response = client.post("/account/", data={"csrf_token": token, "language": "en"})
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.language == "en"

    page = client.get(response.headers["Location"])
    assert html_lang(page) == "en"
    assert "Your settings were saved." in page.text  # flashed after the switch, in the new language

    token = csrf_token(client, "/account/")
    response = client.post("/account/", data={"csrf_token": token, "language": "fr"})
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.language == "en"

    token = csrf_token(client, "/account/")
    response = client.post("/account/", data={"csrf_token": token, "language": "vi"}, follow_redirects=True)
    assert html_lang(response) == "vi"
    assert "Đã lưu cài đặt." in response.text


def test_status_titles_and_roles_are_translated(client, users, login_as, db):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(f"/inbox/reports/{report.tracking_code}")
    assert page.status_code == 200
    assert "Mới" in page.text  # ReportStatus.NEW
    assert "Cán bộ Trung tâm IOC" in page.text  # the role in the header

    users["ioc_operator"].language = "en"
    db.session.flush()
    page = client.get(f"/inbox/reports/{report.tracking_code}")
    assert ">New<" in page.text
    assert "IOC operator" in page.text


# --- dates and times ---

def test_local_datetime_is_vietnamese_style_in_ho_chi_minh_time():
    assert format_local_datetime(datetime(2026, 11, 30, 7, 5, tzinfo=timezone.utc)) == "30/11/2026 14:05"
    assert format_local_datetime(None) == ""


def test_late_evening_utc_is_the_next_day_locally():
    instant = datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc)
    assert format_local_datetime(instant) == "01/01/2027 00:30"
    assert format_local_date(instant) == "01/01/2027"
    assert to_local(instant).utcoffset().total_seconds() == 7 * 3600


def test_naive_datetimes_are_taken_as_utc():
    assert format_local_datetime(datetime(2026, 11, 30, 7, 5)) == "30/11/2026 14:05"


def test_server_time_zone_changes_nothing(monkeypatch):
    instant = datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc)
    for zone in ("America/New_York", "Pacific/Kiritimati", "UTC"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        assert format_local_datetime(instant) == "01/12/2026 06:59"
        assert format_local_datetime(datetime(2026, 11, 30, 7, 5)) == "30/11/2026 14:05"
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_report_page_shows_local_time_in_both_languages(client, users, login_as, db, language):
    report = factories.report(created_at=datetime(2026, 11, 30, 7, 5, tzinfo=timezone.utc))
    users["ioc_operator"].language = language
    db.session.flush()
    login_as("ioc_operator")
    page = client.get(f"/inbox/reports/{report.tracking_code}")
    assert page.status_code == 200
    assert "30/11/2026 14:05" in page.text


# --- localized error pages ---

def test_not_found_page_in_vietnamese_and_english(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert html_lang(response) == "vi"
    assert "<h1>Không tìm thấy trang</h1>" in response.text
    assert "Về trang chủ" in response.text

    client.set_cookie("lang", "en")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.text
    assert "Back to the home page" in response.text


def test_forbidden_page_is_localized(client, users, login_as, db):
    login_as("community_member")  # may not see the inbox
    response = client.get("/inbox/")
    assert response.status_code == 403
    assert "<h1>Không có quyền truy cập</h1>" in response.text

    users["community_member"].language = "en"
    db.session.flush()
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "<h1>Access denied</h1>" in response.text


def test_post_without_csrf_token_gets_the_expired_form_page(client):
    response = client.post("/language/en", data={"next": "/"})
    assert response.status_code == 400
    assert "<h1>Biểu mẫu đã hết hiệu lực</h1>" in response.text
    assert "lang=" not in response.headers.get("Set-Cookie", "")

    response = client.post("/login", data={"email": "ioc@example.com", "password": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hiệu lực" in response.text


def test_expired_form_page_in_english_for_an_english_user(client, users, login_as, db):
    users["agency_staff"].language = "en"
    db.session.flush()
    login_as("agency_staff")
    response = client.post("/account/", data={"language": "vi"})
    assert response.status_code == 400
    assert "<h1>The form has expired</h1>" in response.text
    db.session.refresh(users["agency_staff"])
    assert users["agency_staff"].language == "en"


@pytest.fixture()
def failing_app(tmp_path_factory):
    """A separate app with two routes that fail (422 and 500), errors not propagated to the test.

    Anonymous requests only: no database is touched.
    """
    config = make_test_config(tmp_path_factory)
    config["PROPAGATE_EXCEPTIONS"] = False
    application = create_app(config)

    @application.get("/_test/unprocessable")
    def unprocessable():
        abort(422)

    @application.get("/_test/crash")
    def crash():
        raise RuntimeError("boom")

    return application


@pytest.mark.parametrize(("language", "heading_422", "heading_500"), [
    ("vi", "Không xử lý được dữ liệu", "Đã xảy ra lỗi"),
    ("en", "Could not process the data", "Something went wrong"),
])
def test_unprocessable_and_server_error_pages_are_localized(failing_app, language, heading_422,
                                                            heading_500):
    client = failing_app.test_client()
    client.set_cookie("lang", language)
    response = client.get("/_test/unprocessable")
    assert response.status_code == 422
    assert f"<h1>{heading_422}</h1>" in response.text
    response = client.get("/_test/crash")
    assert response.status_code == 500
    assert f"<h1>{heading_500}</h1>" in response.text
    assert "boom" not in response.text


def test_lazy_messages_with_values_are_escaped_in_templates(app):
    """Flask-Babel's lazy strings declare themselves safe HTML; ours do not (a notice
    echoing a URL value ran as script in the inbox)."""
    from flask import render_template_string

    from hpsmart.i18n import lazy_gettext, lazy_ngettext

    payload = '<img src=x onerror="alert(1)">'
    with app.test_request_context():
        for message in (lazy_gettext("Unknown category “%(value)s” was ignored.", value=payload),
                        lazy_ngettext("%(num)d match of %(v)s", "%(num)d matches of %(v)s", 2, v=payload)):
            html = render_template_string("{{ m }}|{{ [m, m] | join(' ') }}", m=message)
            assert "<img" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
