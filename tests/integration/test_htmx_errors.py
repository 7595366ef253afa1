"""htmx requests that fail: an expired session goes to the login page (``HX-Redirect``, back to
the page the person was on); an expired form with a live session is marked for app.js to say
"reload", in the user's language, from messages the page carries; CSRF tokens live as long as
the session, not an hour."""
from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import flask_wtf.csrf
from itsdangerous import URLSafeTimedSerializer

from hpsmart.models import ReportStatus as S

from .. import factories
from ..conftest import csrf_token
from ..html_forms import form_data
from .test_report_view import HX, header_token, reload, url

APP_JS = Path(__file__).resolve().parents[2] / "hpsmart" / "static" / "js" / "app.js"


def login(client, user, remember: bool = False):
    data = {"csrf_token": csrf_token(client), "email": user.email, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 303


def test_expired_session_on_an_htmx_post_redirects_to_the_login_page_and_back_to_the_page(client, db, users):
    report = factories.report()
    login(client, users["ioc_operator"])
    page = client.get(url(report)).text
    client.delete_cookie("session")  # the session is gone; the page still holds its old token
    data = form_data(page, url(report, "/actions/accept"))
    response = client.post(url(report, "/actions/accept"), data=data,
                           headers={**HX, "X-CSRFToken": header_token(page),
                                    "HX-Current-URL": f"http://localhost/inbox/?status=new&q=c%E1%BB%91ng"})
    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/inbox/?status=new&q=c%E1%BB%91ng"]  # the page, not the POST URL
    assert reload(db, report).status == S.NEW


def test_expired_session_on_an_htmx_get_redirects_to_the_login_page(client, db, users):
    login(client, users["ioc_operator"])
    client.delete_cookie("session")
    response = client.get("/inbox/?status=new", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/inbox/?status%3Dnew"
    assert "<form" not in response.text  # never a login form inside the list


def test_a_page_of_another_site_is_never_the_way_back(client, db, users):
    report = factories.report()
    login(client, users["ioc_operator"])
    page = client.get(url(report)).text
    client.delete_cookie("session")
    response = client.post(url(report, "/notes"), headers={**HX, "X-CSRFToken": header_token(page),
                                                           "HX-Current-URL": "https://evil.example/inbox/"})
    assert response.status_code == 401
    assert parse_qs(urlsplit(response.headers["HX-Redirect"]).query)["next"] == [url(report, "/notes")]


def test_the_heartbeat_of_an_ended_session_says_so_in_place_and_stops(client, db, users):
    """Nobody clicked: the page (and what is typed in it) is not taken away; the presence
    line says the session has ended, with the login link, and htmx stops polling (286)."""
    report = factories.report()
    login(client, users["ioc_operator"])
    page = client.get(url(report)).text
    client.delete_cookie("session")
    response = client.post(url(report, "/presence"),
                           headers={**HX, "X-CSRFToken": header_token(page),
                                    "HX-Current-URL": f"http://localhost{url(report)}"})
    assert response.status_code == 286 and "HX-Redirect" not in response.headers
    assert response.text.lstrip().startswith('<p class="session-ended')
    assert 'role="alert"' in response.text
    assert f'href="/login?next={url(report)}"' in response.text
    assert "Phiên đăng nhập đã kết thúc" in unescape(response.text)


def test_an_old_page_with_a_live_session_is_marked_for_reloading(client, db, users):
    """"Keep me logged in": the browser restarts, the remember cookie logs the person in
    again with a new session, and a tab restored from before sends its old token."""
    report = factories.report()
    login(client, users["ioc_operator"], remember=True)
    page = client.get(url(report)).text
    client.delete_cookie("session")
    data = form_data(page, url(report, "/actions/reject"))
    data.update({"reject-reason": "not_a_report", "reject-note": "Quảng cáo"})

    response = client.post(url(report, "/actions/reject"), data=data,
                           headers={**HX, "X-CSRFToken": header_token(page)})
    assert response.status_code == 400
    assert response.headers["X-Error-Kind"] == "expired"
    assert "HX-Redirect" not in response.headers
    assert reload(db, report).status == S.NEW

    plain = client.post(url(report, "/actions/reject"), data=data)  # JavaScript off: the error page
    assert plain.status_code == 400 and "X-Error-Kind" not in plain.headers
    assert "Biểu mẫu đã hết hiệu lực" in unescape(plain.text)
    # a reload gives a page whose token works: the session is alive
    fresh = client.get(url(report)).text
    data = form_data(fresh, url(report, "/actions/reject"))
    data.update({"reject-reason": "not_a_report", "reject-note": "Quảng cáo"})
    assert client.post(url(report, "/actions/reject"), data=data, headers={**HX, "X-CSRFToken": header_token(fresh)}
                       ).status_code == 200
    assert reload(db, report).status == S.REJECTED


def test_csrf_tokens_do_not_expire_after_an_hour_while_the_session_lives(app, client, db, users, monkeypatch):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    report = factories.report()
    login(client, users["ioc_operator"])
    morning = int(time.time()) - 13 * 3600

    class SignedThisMorning(URLSafeTimedSerializer):
        def make_signer(self, salt=None):
            signer = super().make_signer(salt)
            signer.get_timestamp = lambda: morning
            return signer

    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", SignedThisMorning)
    page = client.get(url(report)).text  # the page was loaded at 7 in the morning...
    monkeypatch.undo()
    data = form_data(page, url(report, "/actions/accept"))
    # ... and the token it carries is still good at 8 in the evening, with or without htmx
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    assert client.post(url(report, "/actions/accept"), data=data).status_code == 400  # what a 1-hour limit does
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", None)
    assert client.post(url(report, "/actions/accept"), data=data, headers={**HX, "X-CSRFToken": header_token(page)}
                       ).status_code == 200
    assert reload(db, report).status == S.ACCEPTED


@pytest.mark.parametrize("language, expected", [
    ("vi", "Không kết nối được với máy chủ"),
    ("en", "The server could not be reached"),
])
def test_pages_carry_the_error_messages_in_the_users_language(client, db, users, language, expected):
    user = users["agency_staff"]
    user.language = language
    db.session.flush()
    login(client, user)
    page = unescape(client.get("/account/").text)
    box = re.search(r'<div id="request-error"[^>]*>', page, re.S).group(0)
    for kind in ("expired", "400", "401", "403", "404", "409", "413", "429", "5xx", "network", "other"):
        assert re.search(rf'data-msg-{kind}="[^"]+"', box), kind
    assert expected in box
    assert "hidden" in box.split(">")[0]


def test_app_js_holds_no_message_of_its_own():
    """The messages come from the page (in the user's language), never from app.js."""
    script = APP_JS.read_text(encoding="utf-8")
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    literals = re.findall(r'"([^"\n]*)"|\'([^\'\n]*)\'', code)
    words_for_people = re.compile(r"\b(the|you|your|please|could|not|page|try|again|reload)\b", re.I)
    sentences = [text for pair in literals for text in pair
                 if " " in text and not re.search(r"[#\[(]", text) and words_for_people.search(text)]  # not selectors
    assert literals and not sentences, sentences  # words for people are in the page, not here
