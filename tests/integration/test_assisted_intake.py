"""The Digital Community team's assisted report form and list, through HTTP (issue 3, item 3),
the point picker on both forms (item 4), and each photo decoded once by the intake (item 5).

The assisted form is the public form plus how the citizen consented and came; the report
records the member (``assisted_by``, the ``created`` event's actor) and the member's ward
(the event's staff-only note). Idempotency uses the same per-form key as the public form.
"""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from PIL import Image
from sqlalchemy import select

from hpsmart.extensions import db as _db
from hpsmart.models import Channel, Report, ReportStatus
from hpsmart.services import intake
from hpsmart.services.intake import HAI_PHONG_POLYGON, IntakeError, ReportSubmission, submit_report

from .. import factories
from .test_intake import (HONG_BANG, PHONE, form_data, jpeg_bytes, post_report, report_count, stored_files,
                          unescaped)

MEMBER_WARD = "Phường An Biên"
NEW = "/community/report/new"


def open_assisted(client) -> dict:
    """GET the assisted form; its CSRF token and idempotency key."""
    page = client.get(NEW)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page.text).group(1)
    return {"csrf_token": token, "submission_key": key}


def assisted_data(client, photos=(), **overrides) -> dict:
    """A complete, valid assisted submission (fresh key) with ``overrides`` (None drops a field)."""
    data = {
        **open_assisted(client),
        "category_code": "ve_sinh_moi_truong",
        "title": "Rác thải ùn ứ đầu ngõ 45",
        "description": "Rác để ba ngày chưa thu gom, bốc mùi.",
        "admin_unit_code": factories.unit(HONG_BANG).code,
        "address": "Ngõ 45 Điện Biên Phủ",
        "latitude": "20.8610",
        "longitude": "106.6830",
        "reporter_name": "Phạm Thị Lan",
        "reporter_phone": PHONE,
        "reporter_email": "",
        "consent": "y",
        "consent_method": "phone",
        "citizen_channel": "ward_office",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return data


def post_assisted(client, data):
    return client.post(NEW, data=data, content_type="multipart/form-data")


def code_from(response) -> str:
    match = re.fullmatch(r"/community/report/(HP-\d{4}-\d{6})/submitted", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def by_code(code: str) -> Report:
    return _db.session.scalar(select(Report).where(Report.tracking_code == code))


@pytest.fixture()
def member(db, users):
    """The community member of ``users``, in the team of ``MEMBER_WARD``, logged in."""
    user = users["community_member"]
    user.admin_unit = factories.unit(MEMBER_WARD)
    db.session.flush()
    return user


@pytest.fixture()
def as_member(member, login_as):
    login_as("community_member")
    return member


def html_attr(tag: str, name: str) -> str:
    """The unescaped value of attribute ``name`` in the HTML ``tag``."""
    return html.unescape(re.search(rf'{name}="([^"]*)"', tag).group(1))


def expected_note(app, citizen_channel: str, consent_method: str, unit: str | None = None) -> str:
    """The ``created`` event's note of an assisted report, in Vietnamese (the default locale)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("vi"):
        parts = [gettext("Helped from: %(unit)s", unit=unit)] if unit else []
        parts.append(gettext("How the citizen came: %(how)s", how=intake.CITIZEN_CHANNELS[citizen_channel]))
        parts.append(gettext("Consent: %(method)s", method=intake.CONSENT_METHOD_TITLES[consent_method]))
    return " · ".join(parts)


def damaged_after_header(size=(800, 600)) -> bytes:
    """A JPEG whose header is intact (type and pixel count readable) but whose pixel data
    stops half way: only a full decode finds it."""
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


# --- the form -----------------------------------------------------------------------------

def test_assisted_form_is_the_public_form_plus_consent_method_and_channel(client, as_member):
    public = unescaped(client.get("/report/new"))
    body = unescaped(client.get(NEW))
    public_fields = set(re.findall(r'name="([a-z_]+)"', public)) - {"website"}
    assisted_fields = set(re.findall(r'name="([a-z_]+)"', body))
    assert assisted_fields == public_fields | {"consent_method", "citizen_channel"}
    assert 'class="hp-trap"' not in body and 'name="website"' not in body
    consent = re.search(r'<select[^>]*name="consent_method".*?</select>', body, re.S).group(0)
    assert re.findall(r'value="([^"]*)"', consent) == ["", "in_person", "phone"]  # never "online"
    channel = re.search(r'<select[^>]*name="citizen_channel".*?</select>', body, re.S).group(0)
    assert re.findall(r'value="([^"]*)"', channel) == ["", *intake.CITIZEN_CHANNELS]
    assert "13/2023/NĐ-CP" in body  # the consent text, read to the citizen
    assert len(re.findall(r'<option value="\d{5}">', body)) == 114  # the same ward list


def test_both_forms_have_the_point_picker_without_inline_script(client, as_member, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "")
    for url in ("/report/new", NEW):
        page = client.get(url)
        body = page.get_data(as_text=True)
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body) is None, url  # CSP-friendly
        assert "/static/vendor/leaflet/leaflet.js" in body and "/static/js/map.js" in body
        picker = re.search(r"<div class=\"point-picker\"[^>]*>", body, re.S).group(0)
        assert 'data-tile-url=""' in picker
        outline = json.loads(html_attr(picker, "data-outline"))
        assert outline[0] == [list(p) for p in HAI_PHONG_POLYGON]
        # With JavaScript off the map and the location button stay hidden; the inputs are plain.
        assert re.search(r'<div class="map" data-map-canvas hidden', body)
        assert re.search(r"<button type=\"button\" data-map-locate hidden>", body)
        assert re.search(r'<input[^>]*id="latitude"[^>]*name="latitude"[^>]*type="text"', body)
        assert re.search(r'<input[^>]*id="longitude"[^>]*name="longitude"[^>]*type="text"', body)

    monkeypatch.setitem(app.config, "MAP_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    monkeypatch.setitem(app.config, "MAP_TILE_ATTRIBUTION", "© Example & contributors")
    body = client.get(NEW).get_data(as_text=True)
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in body
    assert 'data-attribution="© Example &amp; contributors"' in body


def test_vendored_leaflet_and_map_script_are_served(client):
    for path, kind in (("/static/vendor/leaflet/leaflet.js", "javascript"),
                       ("/static/vendor/leaflet/leaflet.css", "css"),
                       ("/static/vendor/leaflet/images/marker-icon.png", "png"),
                       ("/static/js/map.js", "javascript")):
        response = client.get(path)
        assert response.status_code == 200 and kind in response.content_type, path
        response.close()
    version = client.get("/static/vendor/leaflet/VERSION")
    assert "Leaflet 1.9.4" in version.get_data(as_text=True)
    version.close()


# --- submitting ---------------------------------------------------------------------------

def test_assisted_report_records_the_member_their_ward_and_how_the_citizen_came(app, client, as_member):
    response = post_assisted(client, assisted_data(client, photos=[("rác.jpg", jpeg_bytes())]))
    assert response.status_code == 303, response.text
    report = by_code(code_from(response))
    assert report.channel == Channel.ASSISTED and report.status == ReportStatus.NEW
    assert report.assisted_by_id == as_member.id
    assert report.consent_method == "phone" and report.consent_at is not None
    assert report.reporter_name == "Phạm Thị Lan" and report.reporter_phone == "0912345678"
    assert (report.latitude, report.longitude) == (20.861, 106.683)
    assert len(report.photos) == 1
    [event] = report.events
    assert event.action == "created" and event.actor_id == as_member.id
    # Written in the default locale (Vietnamese): the member's ward, the way in, the consent.
    assert event.note == expected_note(app, "ward_office", "phone", unit=MEMBER_WARD)
    assert MEMBER_WARD in event.note

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    body = unescaped(page)
    assert report.tracking_code in body and 'id="deadline"' in body
    assert f'href="/track?code={report.tracking_code}"' in body
    assert 'href="/community/report/new"' in body
    for private in ("Phạm Thị Lan", "0912345678", PHONE):
        assert private not in body
    # The public tracking page never shows the staff note.
    tracking = unescaped(client.get("/track", query_string={"code": report.tracking_code}))
    assert MEMBER_WARD not in tracking.split('id="report"')[1]


def test_an_ioc_operator_without_a_ward_can_assist(client, users, login_as):
    login_as("ioc_operator")
    response = post_assisted(client, assisted_data(client, consent_method="in_person",
                                                   citizen_channel="street"))
    assert response.status_code == 303, response.text
    report = by_code(code_from(response))
    assert report.assisted_by_id == users["ioc_operator"].id and report.consent_method == "in_person"
    assert report.events[0].note == expected_note(client.application, "street", "in_person")


def test_consent_method_and_channel_are_required_and_typed_values_stay(client, as_member):
    before = report_count()
    response = post_assisted(client, assisted_data(client, consent_method="", citizen_channel="",
                                                   title="Giữ nguyên tiêu đề này"))
    assert response.status_code == 422
    body = unescaped(response)
    assert 'id="consent_method-err"' in body and 'id="citizen_channel-err"' in body
    assert "Giữ nguyên tiêu đề này" in body and "Phạm Thị Lan" in body
    # A forged "online" consent is refused at its field too.
    response = post_assisted(client, assisted_data(client, consent_method="online"))
    assert response.status_code == 422 and 'id="consent_method-err"' in response.text
    assert report_count() == before


def test_the_chosen_consent_method_and_channel_stay_selected(client, as_member):
    response = post_assisted(client, assisted_data(client, title="", consent_method="in_person",
                                                   citizen_channel="home"))
    assert response.status_code == 422
    assert re.search(r'<option selected value="in_person">|<option value="in_person" selected', response.text)
    assert re.search(r'<option selected value="home">|<option value="home" selected', response.text)


@pytest.mark.parametrize(("lat", "lon", "needle"), [("21.0285", "105.8542", "outside"),   # Hà Nội
                                                    ("106.683", "20.861", "swapped")])
def test_a_point_outside_hai_phong_is_refused_at_the_latitude_field(client, as_member, app, lat, lon, needle):
    before = report_count()
    response = post_assisted(client, assisted_data(client, latitude=lat, longitude=lon))
    assert response.status_code == 422
    body = unescaped(response)
    message = re.search(r'id="latitude-err">([^<]+)<', body).group(1)
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("vi"):
            _lat, _lon, errors = intake.check_location(lat, lon)
    assert message == errors["latitude"][0]
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            assert needle in intake.check_location(lat, lon)[2]["latitude"][0]
    assert f'value="{lat}"' in body and f'value="{lon}"' in body
    assert report_count() == before


def test_the_same_key_twice_through_the_assisted_form_gives_one_report(app, client, as_member):
    data = assisted_data(client, photos=[("a.jpg", jpeg_bytes())])
    before, files_before = report_count(), len(stored_files(app))
    first = post_assisted(client, data)
    data["photos"] = [(io.BytesIO(jpeg_bytes()), "a.jpg")]  # the browser sends the file again
    second = post_assisted(client, data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert report_count() == before + 1
    assert len(stored_files(app)) == files_before + 3  # one photo: original, public copy, thumbnail
    report = by_code(code_from(first))
    assert report.submission_key == data["submission_key"] and len(report.photos) == 1


@pytest.fixture()
def fresh_csrf_state(app, client):
    """Forget Flask-WTF's "token already checked" flag (``g.csrf_valid``) at each request: the
    ``db`` fixture keeps one app context, hence one ``g``, for the whole test, so the login
    POST's valid token would otherwise excuse every later form."""
    from flask import g, request_started

    def reset(sender, **extra):
        g.pop("csrf_valid", None)

    request_started.connect(reset, app)
    yield
    request_started.disconnect(reset, app)


def test_expired_token_keeps_everything_typed(client, as_member, fresh_csrf_state):
    data = assisted_data(client, title="Không mất gì cả")
    data["csrf_token"] = "stale"
    before = report_count()
    response = post_assisted(client, data)
    assert response.status_code == 422
    assert "Không mất gì cả" in unescaped(response)
    assert report_count() == before


def test_only_members_who_may_assist_can_post(client, users, login_as):
    data = {"title": "x", "csrf_token": "x"}
    anonymous = client.post(NEW, data=data)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?next=")
    login_as("agency_staff")
    assert client.post(NEW, data=data).status_code == 403


def test_service_refuses_an_assisted_report_without_a_member_who_may_assist(app, db, users):
    base = dict(category_code="giao_thong", title="Đèn hỏng", description="Đèn đường hỏng",
                admin_unit_code=factories.unit(HONG_BANG).code, reporter_name="An", reporter_phone=PHONE,
                consent=True, channel=Channel.ASSISTED, consent_method="in_person", citizen_channel="street")
    with app.test_request_context():
        for member_id in (None, users["agency_staff"].id, 10**9):
            with pytest.raises(IntakeError) as caught:
                submit_report(ReportSubmission(**base, assisted_by_id=member_id), app.config["UPLOAD_FOLDER"])
            assert set(caught.value.errors) == {"assisted_by_id"}, member_id
        with pytest.raises(IntakeError) as caught:
            submit_report(ReportSubmission(**{**base, "citizen_channel": "carrier pigeon"},
                                           assisted_by_id=users["community_member"].id),
                          app.config["UPLOAD_FOLDER"])
        assert set(caught.value.errors) == {"citizen_channel"}


# --- photos: decoded once -----------------------------------------------------------------

def test_a_photo_damaged_after_its_header_is_caught_when_stored_and_nothing_is_left(
        app, client, as_member, monkeypatch):
    """Validation reads only the headers (the 2nd photo passes it); ``store_photo`` decodes and
    refuses it after the 1st was written: those files are removed, the 3rd photo is still
    checked, the message names the 2nd file, and every typed value comes back."""
    inspected, stored_calls = [], []
    real_inspect, real_store = intake.inspect_photo, intake.store_photo

    def spy_inspect(data, **kw):
        inspected.append(kw.get("decode", True))
        return real_inspect(data, **kw)

    def spy_store(data, root, **kw):
        stored_calls.append(len(data))
        return real_store(data, root, **kw)

    monkeypatch.setattr(intake, "inspect_photo", spy_inspect)
    monkeypatch.setattr(intake, "store_photo", spy_store)
    damaged = damaged_after_header()
    assert real_inspect(damaged, decode=False).format == "JPEG"  # the header alone looks fine
    before, files_before = report_count(), len(stored_files(app))
    typed = dict(title="Ba ảnh, ảnh thứ hai hỏng", address="7 Tô Hiệu", reporter_name="Vũ Minh Tuấn",
                 latitude="20.8500", longitude="106.6700", citizen_channel="street")
    response = post_assisted(client, assisted_data(
        client, photos=[("1.jpg", jpeg_bytes()), ("2 hỏng.jpg", damaged), ("3.jpg", jpeg_bytes(color="blue"))],
        **typed))

    assert response.status_code == 422
    body = unescaped(response)
    assert re.findall(r"<li>([^<:]+): [^<]+</li>", body) == ["2 hỏng.jpg"]
    for value in typed.values():
        if value != "street":
            assert value in body, value
    assert re.search(r'<option selected value="street">|<option value="street" selected', response.text)
    assert inspected == [False, False, False]  # header checks only
    assert len(stored_calls) == 3  # one decode each, in store_photo
    assert report_count() == before
    assert len(stored_files(app)) == files_before  # the 1st and 3rd photos' files were removed


def test_public_form_also_checks_headers_only_before_storing(client, monkeypatch):
    decodes = []
    real_inspect = intake.inspect_photo
    monkeypatch.setattr(intake, "inspect_photo",
                        lambda data, **kw: decodes.append(kw.get("decode", True)) or real_inspect(data, **kw))
    response = post_report(client, form_data(client, photos=[("a.jpg", jpeg_bytes()), ("b.jpg", jpeg_bytes())]))
    assert response.status_code == 303
    assert decodes == [False, False]


# --- the member's list --------------------------------------------------------------------

def test_list_shows_my_reports_with_tracking_link_deadline_and_counts(client, as_member, users):
    from datetime import timedelta

    from hpsmart.models import utcnow

    due = utcnow() + timedelta(days=10)
    new_one = factories.report(title="Báo cáo mới của tôi", assisted_by=as_member, channel=Channel.ASSISTED,
                               deadline=due)
    factories.report(title="Đang xử lý 1", assisted_by=as_member, status=ReportStatus.IN_PROGRESS, deadline=due)
    factories.report(title="Đang xử lý 2", assisted_by=as_member, status=ReportStatus.IN_PROGRESS, deadline=due)
    closed = factories.report(title="Đã trả lời", assisted_by=as_member, status=ReportStatus.PUBLISHED,
                              deadline=due)
    other = factories.report(title="Của người khác", assisted_by=users["ioc_operator"])

    page = client.get("/community/")
    assert page.status_code == 200
    body = unescaped(page)
    assert f'href="/track?code={new_one.tracking_code}"' in body
    assert other.tracking_code not in body and "Của người khác" not in body
    counts = dict(re.findall(r'data-status="([a-z_]+)">[^<]*<span class="num">(\d+)</span>', body))
    assert counts == {"new": "1", "in_progress": "2", "published": "1"}
    assert re.search(r'<span class="num">4</span>', body)  # all
    items = re.findall(r"<li class=\"card\">.*?</li>", body, re.S)
    assert len(items) == 4
    # The expected answer date of open reports; none for a closed one.
    [new_item] = [i for i in items if new_one.tracking_code in i]
    [closed_item] = [i for i in items if closed.tracking_code in i]
    assert 'class="meta deadline"' in new_item and 'class="meta deadline"' not in closed_item
    assert 'href="/community/report/new"' in body

    filtered = unescaped(client.get("/community/", query_string={"status": "in_progress"}))
    assert len(re.findall(r"<li class=\"card\">", filtered)) == 2
    assert new_one.tracking_code not in filtered
    assert len(re.findall(r"<li class=\"card\">", unescaped(
        client.get("/community/", query_string={"status": "bogus"})))) == 4


def test_list_is_empty_for_a_new_member(client, as_member):
    body = unescaped(client.get("/community/"))
    assert 'class="empty"' in body and 'class="status-counts"' not in body


