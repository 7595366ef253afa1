"""The report view over HTTP: full page and htmx panel, every workflow action for the right
role and refused for the others, stale forms (409), 422 keeping what was typed, CSRF with and
without JavaScript, presence, notes, duplicates, deadline, history in plain Vietnamese."""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import select, text

from hpsmart.extensions import db as _db
from hpsmart.models import (Attachment, Report, ReportEvent, ReportStatus as S, ReportViewer, TrackingCounter,
                            Urgency, utcnow)
from hpsmart.report.forms import TRANSITION_FIELDS
from hpsmart.services import deadlines, workflow
from hpsmart.services.related import possible_duplicates

from .. import factories
from ..conftest import AuthActions
from ..html_forms import form_data, has_form

HX = {"HX-Request": "true"}


class SeparateBrowser(FlaskClient):
    """A test client whose requests start with an empty ``g``.

    The ``db`` fixture keeps one app context open for the whole test, and a request
    reuses it, so ``g`` (Flask-Login's current user, Flask-WTF's CSRF token) would
    carry over from one client's request to another's. Two people need two browsers.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(vars(g)):
                g.pop(key)
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _separate_browsers(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", SeparateBrowser)


# --- helpers: read the page like a browser does ---

def header_token(page_html: str) -> str:
    """The CSRF token htmx sends in ``X-CSRFToken`` (from base.html's hx-headers)."""
    return re.search(r'"X-CSRFToken": "([^"]+)"', page_html).group(1)


def url(report, suffix: str = "") -> str:
    return f"/inbox/reports/{report.tracking_code}{suffix}"


def login_client(app, user):
    """A second browser: a new test client logged in as ``user``."""
    other = app.test_client()
    assert AuthActions(other).login(user.email).status_code == 303
    return other


def act(client, report, name: str, **fields):
    """Send transition ``name``'s form as shown on the report's page, with ``fields`` changed."""
    page = client.get(url(report)).text
    action = url(report, f"/actions/{name}")
    data = form_data(page, action)
    data.update({f"{name}-{key}": value for key, value in fields.items()})
    return client.post(action, data=data)


def reload(db, report) -> Report:
    db.session.expire_all()
    return db.session.get(Report, report.id)


def text_of(response) -> str:
    return unescape(response.text)


@pytest.fixture()
def construction(db):
    return factories.agency("Sở Xây dựng")


# --- page and fragment ---

def test_full_page_and_htmx_panel_come_from_the_same_template(client, login_as, construction):
    report = factories.report(agency=construction)
    login_as("ioc_operator")

    page = client.get(url(report))
    assert page.status_code == 200
    assert "<html" in page.text and 'id="report-panel"' in page.text
    assert f"<h1 id=\"report-title\">{report.tracking_code}" in page.text
    assert "HX-Request" in page.headers["Vary"]

    panel = client.get(url(report), headers=HX)
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith('<section class="report-panel" id="report-panel"')
    assert "<html" not in panel.text and "<footer" not in panel.text
    assert f"<h2 id=\"report-title\">{report.tracking_code}" in panel.text
    assert "HX-Request" in panel.headers["Vary"]

    restore = client.get(url(report), headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_page_shows_every_field_photos_map_and_reporter(app, client, db, login_as, construction):
    report = factories.report(agency=construction, latitude=20.844912, longitude=106.688084,
                              reporter_email="binh@test.example.com", address="45 Điện Biên Phủ")
    db.session.add(Attachment(report=report, purpose="report", kind="photo", original_path="originals/aa/bb/x.heic",
                              public_path="public/aa/bb/" + "1" * 32 + ".jpg",
                              thumb_path="thumb/aa/bb/" + "2" * 32 + ".jpg", content_type="image/heic"))
    db.session.flush()
    photo = report.photos[0]
    login_as("agency_staff")

    body = text_of(client.get(url(report)))
    for value in (report.title, report.description, "Giao thông", "Phường Hồng Bàng", "45 Điện Biên Phủ",
                  "Sở Xây dựng", "20.844912, 106.688084", "Nguyễn Văn Bình", "0900000009",
                  "binh@test.example.com"):
        assert value in body, value
    assert "https://www.openstreetmap.org/?mlat=20.844912&mlon=106.688084#map=18/20.844912/106.688084" in body
    assert f'src="/media/t/aa/bb/{"2" * 32}.jpg"' in body
    assert f'href="/media/p/aa/bb/{"1" * 32}.jpg"' in body
    assert f'href="/media/o/{photo.id}"' in body  # staff get the original


def test_report_of_another_agency_is_404_and_community_members_403(client, users, login_as):
    other = factories.report(agency=factories.agency("Sở Y tế"))
    login_as("agency_staff")
    assert client.get(url(other)).status_code == 404
    assert client.get(url(other), headers=HX).status_code == 404


def test_unknown_report_is_404(client, login_as):
    login_as("ioc_operator")
    assert client.get("/inbox/reports/HP-1999-000001").status_code == 404


def test_lower_case_code_finds_the_report(client, login_as):
    report = factories.report()
    login_as("ioc_operator")
    assert client.get(f"/inbox/reports/{report.tracking_code.lower()}").status_code == 200


# --- deadline ---

def test_deadline_with_working_days_left(client, login_as, construction):
    now = utcnow()
    report = factories.report(status=S.ROUTED, agency=construction, accepted_at=now,
                              deadline=deadlines.add_working_days(now, 4))
    left = deadlines.working_days_between(now, report.deadline)
    login_as("agency_staff")
    body = text_of(client.get(url(report)))
    assert f"{left} ngày làm việc" in body
    assert "Quá hạn" not in body


def test_overdue_report_is_flagged(client, login_as, construction):
    past = utcnow() - timedelta(days=30)
    report = factories.report(status=S.IN_PROGRESS, agency=construction, accepted_at=past,
                              deadline=deadlines.add_working_days(past, 2))
    late = -deadlines.working_days_between(utcnow(), report.deadline)
    login_as("agency_staff")
    body = text_of(client.get(url(report)))
    assert 'class="badge flag-overdue"' in body
    assert f"Quá hạn: trễ {late} ngày làm việc" in body


def test_an_answered_report_is_not_overdue(client, login_as, construction):
    past = utcnow() - timedelta(days=30)
    report = factories.report(status=S.ANSWERED, agency=construction, accepted_at=past,
                              deadline=deadlines.add_working_days(past, 2))
    login_as("agency_staff")
    assert "flag-overdue" not in client.get(url(report)).text


# --- every action through HTTP, for the right role ---

ALLOWED = [
    # (role, status before, transition, fields, status after)
    ("ioc_operator", S.NEW, "accept", {}, S.ACCEPTED),
    ("ioc_operator", S.NEW, "route", {"agency": "Sở Xây dựng"}, S.ROUTED),
    ("ioc_operator", S.RETURNED, "route", {"agency": "Sở Y tế"}, S.ROUTED),
    ("ioc_operator", S.NEW, "reject", {"reason": "out_of_scope", "note": "Thuộc Điện lực"}, S.REJECTED),
    ("ioc_operator", S.ACCEPTED, "mark_duplicate", {"original": "ORIGINAL"}, S.DUPLICATE),
    ("admin", S.NEW, "accept", {}, S.ACCEPTED),
    ("admin", S.PUBLISHED, "reopen", {"note": "Người dân chưa hài lòng"}, S.REOPENED),
    ("agency_staff", S.ROUTED, "start", {}, S.IN_PROGRESS),
    ("agency_staff", S.IN_PROGRESS, "return_to_ioc", {"reason": "wrong_agency", "note": "Việc của phường"},
     S.RETURNED),
]


@pytest.mark.parametrize(("role", "before", "name", "fields", "after"), ALLOWED,
                         ids=[f"{r}-{n}-{b.value}" for r, b, n, _f, _a in ALLOWED])
def test_action_for_the_right_role(client, db, login_as, construction, role, before, name, fields, after):
    report = factories.report(status=before, agency=construction)
    fields = dict(fields)
    if fields.get("agency"):
        fields["agency"] = str(factories.agency(fields["agency"]).id)
    if fields.get("original"):
        fields["original"] = factories.report().tracking_code
    login_as(role)

    response = act(client, report, name, **fields)

    assert response.status_code == 303, text_of(response)
    assert response.headers["Location"] == url(report)
    report = reload(db, report)
    assert report.status == after
    event = [e for e in report.events if e.action == "status"][-1]
    assert (event.old_value, event.new_value) == (before.value, after.value)
    assert event.actor.role.value == role
    if name == "route":
        assert report.agency_id == int(fields["agency"])
    if name == "mark_duplicate":
        assert report.duplicate_of.tracking_code == fields["original"]
    page = text_of(client.get(url(report)))
    assert "flash-success" in page  # the flash after the redirect


REFUSED = [
    ("agency_staff", S.NEW, "accept"),
    ("agency_lead", S.NEW, "reject"),
    ("ioc_operator", S.ROUTED, "start"),
    ("agency_staff", S.PUBLISHED, "reopen"),
    ("ioc_operator", S.PUBLISHED, "accept"),
]


@pytest.mark.parametrize(("role", "before", "name"), REFUSED, ids=[f"{r}-{n}-{b.value}" for r, b, n in REFUSED])
def test_action_refused_for_other_roles(client, db, login_as, construction, role, before, name):
    report = factories.report(status=before, agency=construction)
    login_as(role)
    page = client.get(url(report)).text
    action = url(report, f"/actions/{name}")
    assert not has_form(page, action)  # not offered...
    response = client.post(action, data={"csrf_token": header_token(page), f"{name}-version": str(report.version),
                                         f"{name}-reason": "abusive", f"{name}-note": "x"})
    assert response.status_code == 422  # ...and refused when forged
    assert "Không thể thực hiện" in text_of(response)
    if "note" in TRANSITION_FIELDS[name]:
        assert '<q class="prewrap">x</q>' in response.text  # what was typed is shown back
    assert reload(db, report).status == before


@pytest.mark.parametrize("name", ["answer", "publish", "send_back"])
def test_answer_transitions_are_only_in_the_answer_panel(client, db, login_as, construction, name):
    """Answering, approving and sending back go through the answer panel, which keeps the
    answer itself in step: the report view neither offers nor accepts them."""
    before = S.IN_PROGRESS if name == "answer" else S.ANSWERED
    report = factories.report(status=before, agency=construction)
    login_as("agency_lead")
    page = client.get(url(report)).text
    action = url(report, f"/actions/{name}")
    assert not has_form(page, action)
    response = client.post(action, data={"csrf_token": header_token(page), f"{name}-version": str(report.version),
                                         f"{name}-note": "x"})
    assert response.status_code == 404
    assert reload(db, report).status == before


def test_staff_of_another_agency_get_404_on_actions(client, db, login_as):
    report = factories.report(status=S.ROUTED, agency=factories.agency("Sở Y tế"))
    login_as("agency_staff")
    response = client.post(url(report, "/actions/start"),
                           data={"csrf_token": header_token(client.get("/account/").text),
                                 "start-version": str(report.version)})
    assert response.status_code == 404
    assert reload(db, report).status == S.ROUTED


def test_unknown_action_is_404(client, login_as):
    report = factories.report()
    login_as("ioc_operator")
    token = header_token(client.get(url(report)).text)
    assert client.post(url(report, "/actions/explode"), data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("suffix", ["/actions/accept", "/fields", "/notes", "/presence"])
def test_post_endpoints_guarded(app, client, users, login_as, suffix):
    report = factories.report(agency=factories.agency("Sở Y tế"))
    anonymous_token = header_token(client.get("/login").text)
    response = client.post(url(report, suffix), data={"csrf_token": anonymous_token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")

    login_as("community_member")
    token = header_token(client.get("/account/").text)
    assert client.post(url(report, suffix), data={"csrf_token": token}).status_code == 403

    staff = login_client(app, users["agency_staff"])
    token = header_token(staff.get("/account/").text)
    expected = 403 if suffix == "/fields" else 404  # fields need TRIAGE; the rest: not visible
    assert staff.post(url(report, suffix), data={"csrf_token": token}).status_code == expected


# --- errors keep what was typed ---

def test_workflow_error_is_422_and_keeps_the_typed_note(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    note = "Chuyển gấp, dân phản ánh nhiều lần"
    response = act(client, report, "route", agency="", note=note)
    assert response.status_code == 422
    body = text_of(response)
    assert "Vui lòng chọn một đơn vị đang hoạt động." in body
    assert form_data(response.text, url(report, "/actions/route"))["route-note"] == note
    assert reload(db, report).status == S.NEW


def test_unknown_original_is_422_with_code_and_note_kept(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    response = act(client, report, "mark_duplicate", original="HP-1999-000777", note="Trùng với phản ánh cũ")
    assert response.status_code == 422
    body = text_of(response)
    typed = form_data(response.text, url(report, "/actions/mark_duplicate"))
    assert typed["mark_duplicate-original"] == "HP-1999-000777"
    assert typed["mark_duplicate-note"] == "Trùng với phản ánh cũ"
    assert "HP-1999-000777" in body
    assert reload(db, report).status == S.NEW


def test_htmx_422_answers_the_panel_with_the_message(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    data = form_data(page, url(report, "/actions/reject"))
    data["reject-note"] = ""
    response = client.post(url(report, "/actions/reject"), data=data,
                           headers={**HX, "X-CSRFToken": header_token(page)})
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<section class="report-panel"')
    assert 'role="alert"' in response.text


# --- two people, one report ---

def test_stale_status_change_is_a_conflict_and_the_first_change_stands(app, client, db, users, login_as):
    """Staff A and B open the same report; A changes the category and saves; B saves a
    status change from the stale page: B gets a conflict, A's change stands."""
    report = factories.report()
    a = login_client(app, users["ioc_operator"])
    b_user = factories.user("ioc_operator", name="Trần Thị Bích")
    b = login_client(app, b_user)
    page_a = a.get(url(report)).text
    page_b = b.get(url(report)).text

    fields = form_data(page_a, url(report, "/fields"))
    fields["fields-category"] = "ve_sinh_moi_truong"
    assert a.post(url(report, "/fields"), data=fields).status_code == 303

    stale = form_data(page_b, url(report, "/actions/reject"))
    stale.update({"reject-reason": "insufficient_information", "reject-note": "Không rõ vị trí"})
    response = b.post(url(report, "/actions/reject"), data=stale)

    assert response.status_code == 409
    body = text_of(response)
    assert "Phản ánh này vừa được người khác thay đổi" in body
    assert "Lĩnh vực: Giao thông → Vệ sinh môi trường" in body  # what changed since, in plain words
    assert users["ioc_operator"].name in body
    assert "Không rõ vị trí" in body  # what B typed is not lost
    report = reload(db, report)
    assert report.status == S.NEW and report.category.code == "ve_sinh_moi_truong"

    # The conflict page carries the current version: B can decide again and send.
    retry = form_data(response.text, url(report, "/actions/reject"))
    assert retry["reject-note"] == "Không rõ vị trí"
    retry["reject-reason"] = "insufficient_information"
    assert b.post(url(report, "/actions/reject"), data=retry).status_code == 303
    assert reload(db, report).status == S.REJECTED


def test_stale_htmx_post_gets_409_panel(app, client, db, users, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    workflow.apply(report, users["admin"], "accept")
    db.session.commit()  # someone else's change, committed
    data = form_data(page, url(report, "/actions/reject"))
    data["reject-reason"] = "abusive"
    response = client.post(url(report, "/actions/reject"), data=data, headers={**HX, "X-CSRFToken": header_token(page)})
    assert response.status_code == 409
    assert response.text.lstrip().startswith('<section class="report-panel"')
    assert "Chuyển trạng thái: Mới → Đã tiếp nhận" in text_of(response)


def test_stale_edit_is_a_conflict_too(app, client, db, users, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    workflow.apply(report, users["admin"], "accept")
    db.session.commit()
    data = form_data(page, url(report, "/fields"))
    data["fields-urgency"] = "urgent"
    response = client.post(url(report, "/fields"), data=data)
    assert response.status_code == 409
    assert reload(db, report).urgency == Urgency.NORMAL


def test_the_same_form_sent_twice_is_done_once(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    data = form_data(page, url(report, "/actions/accept"))
    assert client.post(url(report, "/actions/accept"), data=data).status_code == 303
    again = client.post(url(report, "/actions/accept"), data=data)  # a double click, JavaScript off
    assert again.status_code == 303
    assert [e.new_value for e in reload(db, report).events if e.action == "status"] == ["accepted"]


def test_racing_saves_past_the_version_check_become_a_conflict(client, db, login_as, monkeypatch):
    """The version check passed, but another transaction moved the row on before the UPDATE:
    SQLAlchemy's version counter raises StaleDataError, answered as 409, nothing overwritten."""
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    real_check = workflow.check_version

    def check_then_race(target, seen):
        real_check(target, seen)
        db.session.execute(text("UPDATE report SET version = version + 1 WHERE id = :id"), {"id": target.id})

    monkeypatch.setattr(workflow, "check_version", check_then_race)
    response = client.post(url(report, "/actions/accept"), data=form_data(page, url(report, "/actions/accept")))
    assert response.status_code == 409
    assert "Phản ánh này vừa được người khác thay đổi" in text_of(response)
    assert reload(db, report).status == S.NEW


def test_a_real_race_between_two_transactions_is_a_conflict(app, monkeypatch):
    """Without the rolled-back ``db`` fixture: each request has its own app context and
    transaction, as in production. Between the version check and the UPDATE another
    transaction tries to commit a change.

    PostgreSQL: it commits; the request's UPDATE matches no row (StaleDataError) and the
    answer is 409 with the other change listed; nothing is overwritten.
    SQLite: a write request holds the write lock from its first statement (BEGIN
    IMMEDIATE, hpsmart.database), so the other writer cannot commit in between: it
    waits (here: gives up after 0.2 s) and the request's change goes through.
    The rows are removed at the end."""
    with app.app_context():
        counters = {c.year: c.last_value for c in _db.session.scalars(select(TrackingCounter))}
        user = factories.user("ioc_operator", name="Hoàng Văn Đua")
        report = factories.report(title="Đua nhau lưu cùng lúc")
        _db.session.commit()
        user_id, report_id, code, email = user.id, report.id, report.tracking_code, user.email
        sqlite, database_file = _db.engine.dialect.name == "sqlite", _db.engine.url.database
        _db.session.remove()
    try:
        browser = app.test_client()
        assert AuthActions(browser).login(email).status_code == 303
        page = browser.get(f"/inbox/reports/{code}").text
        real_check = workflow.check_version

        other_writer = {}

        def check_then_someone_else_commits(target, seen):
            real_check(target, seen)
            if sqlite:
                import sqlite3

                other = sqlite3.connect(database_file, timeout=0.2, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other_writer["result"] = "committed"
                    other.execute("ROLLBACK")
                except sqlite3.OperationalError as error:
                    other_writer["result"] = str(error)
                finally:
                    other.close()
                return
            with _db.engine.begin() as other:
                other.execute(text("UPDATE report SET urgency = 'urgent', version = version + 1 WHERE id = :id"),
                              {"id": report_id})
                other.execute(ReportEvent.__table__.insert().values(
                    report_id=report_id, actor_id=user_id, action="urgency", old_value="normal",
                    new_value="urgent", public=False, report_version=seen + 1, created_at=utcnow()))

        monkeypatch.setattr(workflow, "check_version", check_then_someone_else_commits)
        action = f"/inbox/reports/{code}/actions/accept"
        response = browser.post(action, data=form_data(page, action))

        with app.app_context():
            row = _db.session.execute(text("SELECT status, urgency FROM report WHERE id = :id"),
                                      {"id": report_id}).one()
            _db.session.remove()
        if sqlite:
            assert other_writer["result"] == "database is locked"
            assert response.status_code == 303
            assert tuple(row) == ("accepted", "normal")
        else:
            assert response.status_code == 409
            assert "Mức độ khẩn: Bình thường → Khẩn" in text_of(response)
            assert tuple(row) == ("new", "urgent")
    finally:
        with app.app_context():
            for statement in ("DELETE FROM report_viewer WHERE report_id = :r",
                              "DELETE FROM report_event WHERE report_id = :r",
                              "DELETE FROM report WHERE id = :r",
                              "DELETE FROM user_account WHERE id = :u"):
                _db.session.execute(text(statement), {"r": report_id, "u": user_id})
            for counter in _db.session.scalars(select(TrackingCounter)):
                if counter.year in counters:
                    counter.last_value = counters[counter.year]
                else:
                    _db.session.delete(counter)
            _db.session.commit()
            _db.session.remove()


# --- CSRF with and without JavaScript ---

def test_htmx_post_needs_the_header_token_and_a_plain_form_post_works(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    data = form_data(page, url(report, "/actions/accept"))
    without_token = {k: v for k, v in data.items() if not k.endswith("csrf_token")}

    refused = client.post(url(report, "/actions/accept"), data=without_token, headers=HX)
    assert refused.status_code == 400
    assert reload(db, report).status == S.NEW

    done = client.post(url(report, "/actions/accept"), data=without_token,
                       headers={**HX, "X-CSRFToken": header_token(page)})
    assert done.status_code == 200
    assert done.text.lstrip().startswith('<section class="report-panel"')
    assert "Đã thực hiện" in text_of(done)  # the outcome, inside the panel
    assert "reportChanged" in done.headers["HX-Trigger"]
    assert reload(db, report).status == S.ACCEPTED

    page = client.get(url(report)).text
    plain = form_data(page, url(report, "/actions/reject"))  # exactly what the browser sends
    plain.update({"reject-reason": "not_a_report"})
    response = client.post(url(report, "/actions/reject"), data=plain)
    assert response.status_code == 303
    assert reload(db, report).status == S.REJECTED


def test_expired_session_on_htmx_post_gets_hx_redirect(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    token = header_token(client.get(url(report)).text)
    client.post("/logout", data={"csrf_token": token})
    token = header_token(client.get("/login").text)
    response = client.post(url(report, "/actions/accept"), headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    # the heartbeat, which nobody clicked, says so in place instead (tests/integration/test_htmx_errors.py)
    assert client.post(url(report, "/presence"), headers={**HX, "X-CSRFToken": token}).status_code == 286


# --- presence ---

def test_presence_shows_who_else_has_the_report_open(app, client, db, users, login_as):
    report = factories.report()
    first = users["ioc_operator"]
    second = factories.user("ioc_operator", name="Vũ Minh Châu")
    a = login_client(app, first)
    b = login_client(app, second)

    page_a = a.get(url(report)).text
    assert "Cũng đang mở" not in text_of(a.get(url(report)))  # only me so far
    page_b = text_of(b.get(url(report)))
    assert f"Cũng đang mở: {first.name}" in page_b

    beat = a.post(url(report, "/presence"), headers={**HX, "X-CSRFToken": header_token(page_a)})
    assert beat.status_code == 200
    assert beat.text.lstrip().startswith('<p class="presence"')
    assert f"Cũng đang mở: {second.name}" in text_of(beat)
    assert 'hx-trigger="every 30s"' in beat.text
    rows = db.session.scalars(select(ReportViewer).where(ReportViewer.report_id == report.id)).all()
    assert sorted(r.user_id for r in rows) == sorted([first.id, second.id])  # one row per (report, user)


def test_presence_older_than_a_minute_is_not_shown(app, client, db, users, login_as):
    report = factories.report()
    gone = factories.user("ioc_operator", name="Đặng Văn Đi")
    db.session.add(ReportViewer(report_id=report.id, user_id=gone.id, last_seen_at=utcnow() - timedelta(minutes=2)))
    db.session.flush()
    login_as("ioc_operator")
    assert gone.name not in text_of(client.get(url(report)))


def test_heartbeat_for_a_report_out_of_view_is_404(client, login_as):
    report = factories.report(agency=factories.agency("Sở Y tế"))
    login_as("agency_staff")
    token = header_token(client.get("/account/").text)
    assert client.post(url(report, "/presence"), headers={**HX, "X-CSRFToken": token}).status_code == 404


# --- history, notes ---

def test_history_in_plain_vietnamese(client, db, users, login_as, construction):
    report = factories.report()
    ioc = login_as("ioc_operator")
    assert act(client, report, "accept").status_code == 303
    page = client.get(url(report)).text
    fields = form_data(page, url(report, "/fields"))
    fields.update({"fields-urgency": "urgent", "fields-address": "12 Lạch Tray"})
    assert client.post(url(report, "/fields"), data=fields).status_code == 303
    assert act(client, report, "route", agency=str(construction.id)).status_code == 303

    body = text_of(client.get(url(report)))
    timeline = body[body.index('<ol class="timeline">'):]
    for line in ("Đã tiếp nhận phản ánh", "Chuyển trạng thái: Mới → Đã tiếp nhận",
                 "Mức độ khẩn: Bình thường → Khẩn", "Địa chỉ: 123 Lạch Tray → 12 Lạch Tray",
                 "Đơn vị xử lý: Sở Xây dựng", "Chuyển trạng thái: Đã tiếp nhận → Đã chuyển xử lý",
                 "Thời hạn xử lý:"):
        assert line in timeline, line
    assert timeline.count(ioc.name) >= 5
    assert "status" not in re.sub(r"<[^>]+>", "", timeline.split("</ol>")[0])  # no raw action codes


def test_internal_note_is_added_kept_once_and_never_public(client, db, login_as):
    report = factories.report(status=S.PUBLISHED)
    login_as("ioc_operator")
    page = client.get(url(report)).text
    data = form_data(page, url(report, "/notes"))
    data["note-text"] = "Đã gọi điện cho người dân, hẹn kiểm tra lại"
    assert client.post(url(report, "/notes"), data=data).status_code == 303
    assert client.post(url(report, "/notes"), data=data).status_code == 303  # sent twice
    notes = [e for e in reload(db, report).events if e.action == "note"]
    assert len(notes) == 1 and not notes[0].public
    assert reload(db, report).version == report.version  # a note is not a change
    body = text_of(client.get(url(report)))
    assert "Ghi chú nội bộ" in body and "Đã gọi điện cho người dân" in body

    client.post("/logout", data={"csrf_token": header_token(page)})
    public = text_of(client.get(f"/track?code={report.tracking_code}"))
    assert "Đã gọi điện" not in public


def test_empty_note_is_422(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    data = form_data(page, url(report, "/notes"))
    data["note-text"] = "   "
    response = client.post(url(report, "/notes"), data=data)
    assert response.status_code == 422
    assert not [e for e in reload(db, report).events if e.action == "note"]


def test_a_note_does_not_make_an_open_form_stale(app, client, db, users, login_as):
    report = factories.report()
    login_as("ioc_operator")
    page = client.get(url(report)).text
    other = login_client(app, users["admin"])
    other_page = other.get(url(report)).text
    note = form_data(other_page, url(report, "/notes"))
    note["note-text"] = "Xem giúp vị trí"
    assert other.post(url(report, "/notes"), data=note).status_code == 303
    assert client.post(url(report, "/actions/accept"),
                       data=form_data(page, url(report, "/actions/accept"))).status_code == 303


# --- IOC edits ---

def test_ioc_edit_recomputes_the_deadline(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    assert act(client, report, "accept").status_code == 303
    report = reload(db, report)
    before = report.deadline
    data = form_data(client.get(url(report)).text, url(report, "/fields"))
    data["fields-urgency"] = "urgent"
    response = client.post(url(report, "/fields"), data=data, follow_redirects=True)
    assert "Đã lưu 2 thay đổi." in text_of(response)  # urgency, and the deadline it moves
    report = reload(db, report)
    assert report.urgency == Urgency.URGENT and report.deadline < before
    assert report.deadline == deadlines.deadline_for(report.category, Urgency.URGENT, report.accepted_at)


def test_agency_is_editable_only_while_routed(client, db, login_as, construction):
    new = factories.report()
    routed = factories.report(status=S.ROUTED, agency=construction)
    login_as("ioc_operator")
    assert 'name="fields-agency"' not in client.get(url(new)).text
    page = client.get(url(routed)).text
    assert 'name="fields-agency"' in page
    data = form_data(page, url(routed, "/fields"))
    health = factories.agency("Sở Y tế")
    data["fields-agency"] = str(health.id)
    assert client.post(url(routed, "/fields"), data=data).status_code == 303
    routed = reload(db, routed)
    assert routed.agency == health
    event = [e for e in routed.events if e.action == "agency"][-1]
    assert (event.old_value, event.new_value) == ("Sở Xây dựng", "Sở Y tế")

    forged = form_data(client.get(url(new)).text, url(new, "/fields"))
    forged["fields-agency"] = str(health.id)
    response = client.post(url(new, "/fields"), data=forged)
    assert response.status_code == 422
    assert reload(db, new).agency is None


def test_nothing_changed_is_said_so(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    data = form_data(client.get(url(report)).text, url(report, "/fields"))
    response = client.post(url(report, "/fields"), data=data, headers={**HX, "X-CSRFToken": data["fields-csrf_token"]})
    assert response.status_code == 200
    assert reload(db, report).version == report.version


def test_agency_staff_get_no_edit_form(client, login_as, construction):
    report = factories.report(status=S.ROUTED, agency=construction)
    login_as("agency_staff")
    assert not has_form(client.get(url(report)).text, url(report, "/fields"))


# --- route form choices ---

def test_route_form_lists_current_agencies_grouped_and_suggests_one(client, login_as):
    report = factories.report(category=factories.category("giao_thong"))
    login_as("ioc_operator")
    page = client.get(url(report)).text
    select_html = page[page.index('name="route-agency"'):]
    select_html = select_html[:select_html.index("</select>")]
    groups = re.findall(r'<optgroup label="([^"]+)"', select_html)
    assert len(groups) == 2
    city, wards = select_html.split("<optgroup")[1:3]
    names = re.findall(r">([^<]+)</option>", city)
    assert "Sở Xây dựng" in names and not any(n.startswith("Ủy ban nhân dân") for n in names)
    assert "Ủy ban nhân dân Phường Hồng Bàng" in wards
    from hpsmart.text import vietnamese_sort_key
    assert names == sorted(names, key=vietnamese_sort_key)
    assert "Quận" not in select_html  # no abolished district committees


# --- related and possible duplicates ---

def test_possible_duplicates_nearby_or_similar_title(client, db, users, login_as):
    now = utcnow()
    report = factories.report(title="Ổ gà sâu trước cổng chợ Lạch Tray", latitude=20.8449, longitude=106.6881,
                              created_at=now)
    near = factories.report(title="Đường hỏng nặng", latitude=20.8460, longitude=106.6890,
                            created_at=now - timedelta(days=3))
    similar = factories.report(title="Ổ GÀ trước chợ LẠCH TRAY rất nguy hiểm", category=factories.category("khac"),
                               created_at=now - timedelta(days=1))
    far = factories.report(title="Đường hỏng", latitude=20.90, longitude=106.70, created_at=now)
    old = factories.report(title="Ổ gà chợ Lạch Tray", latitude=20.8449, longitude=106.6881,
                           created_at=now - timedelta(days=40))
    other_category = factories.report(title="Cây đổ", category=factories.category("cay_xanh"),
                                      latitude=20.8449, longitude=106.6881, created_at=now)

    found = [c.report for c in possible_duplicates(report, users["ioc_operator"])]
    assert near in found and similar in found
    assert far not in found and old not in found and other_category not in found
    assert found.index(near) < found.index(similar)  # nearby same category first

    login_as("ioc_operator")
    page = client.get(url(report)).text
    body = text_of(client.get(url(report)))
    assert near.tracking_code in body and similar.tracking_code in body and far.tracking_code not in body

    # "mark as duplicate of this" on the nearby candidate
    data = form_data(page, url(report, "/actions/mark_duplicate"), index=1)
    assert data["mark_duplicate-original"] in (near.tracking_code, similar.tracking_code)
    assert client.post(url(report, "/actions/mark_duplicate"), data=data).status_code == 303
    report = reload(db, report)
    assert report.status == S.DUPLICATE and report.duplicate_of.tracking_code == data["mark_duplicate-original"]
    original_page = text_of(client.get(f"/inbox/reports/{data['mark_duplicate-original']}"))
    assert report.tracking_code in original_page  # related: listed as its duplicate


def test_possible_duplicates_respect_visibility(db, users, construction):
    mine = factories.report(agency=construction, latitude=20.8449, longitude=106.6881)
    hidden = factories.report(agency=factories.agency("Sở Y tế"), latitude=20.8449, longitude=106.6881)
    found = [c.report for c in possible_duplicates(mine, users["agency_staff"])]
    assert hidden not in found


# --- personal data stays out of the logs ---

def test_reporter_contact_is_never_logged(client, db, login_as, caplog):
    report = factories.report(reporter_phone="0911222333", reporter_email="an.nguyen@test.example.com")
    caplog.set_level(logging.DEBUG)
    login_as("ioc_operator")
    page = client.get(url(report)).text
    client.get(url(report), headers=HX)
    act(client, report, "accept")
    client.post(url(report, "/presence"), headers={**HX, "X-CSRFToken": header_token(page)})
    assert "0911222333" in page  # staff see it...
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "0911222333" not in logged and "an.nguyen@test.example.com" not in logged  # ...nothing logs it


def test_no_other_events_written_by_viewing(client, db, login_as):
    report = factories.report()
    login_as("ioc_operator")
    client.get(url(report))
    client.get(url(report), headers=HX)
    assert db.session.scalar(select(ReportEvent.id).where(ReportEvent.report_id == report.id,
                                                         ReportEvent.action != "created")) is None
    assert reload(db, report).version == report.version



@pytest.mark.parametrize(("action", "old", "new", "sentence"), [
    ("feedback", None, "satisfied", "Người phản ánh hài lòng với kết quả trả lời"),
    ("feedback", None, "not_satisfied", "Người phản ánh chưa hài lòng với kết quả trả lời"),
    ("photo", None, "hidden", "Ảnh đã được ẩn khỏi trang công khai"),
    ("photo", None, "blurred", "Ảnh công khai đã được làm mờ"),
    ("answer", "draft", "submitted", "Đã gửi trả lời để lãnh đạo duyệt"),
    ("answer", "submitted", "edited", "Lãnh đạo đơn vị đã sửa nội dung trả lời trước khi duyệt"),
])
def test_answer_photo_and_feedback_events_read_as_sentences(app, action, old, new, sentence):
    """No raw codes in the history: every action the app writes has its own sentence."""
    from hpsmart.report.history import describe

    with app.test_request_context():
        assert describe(ReportEvent(action=action, old_value=old, new_value=new)) == sentence
