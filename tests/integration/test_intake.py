"""The public report form and the intake service behind it, through HTTP.

Issue 3: NFC on arrival and limits counted after it, idempotency (sequential and
truly parallel), a bad photo keeps the rest of the form, the honeypot, the place
inside Hai Phong (swapped coordinates get a hint), the rate limit (429, not 500).
"""
from __future__ import annotations

import html
import io
import re
import threading
import unicodedata
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from hpsmart import create_app
from hpsmart.extensions import db as _db, limiter
from hpsmart.models import Attachment, Channel, Report, ReportEvent, ReportStatus, Urgency
from hpsmart.services import intake
from hpsmart.services.deadlines import deadline_for
from hpsmart.services.intake import IntakeError, ReportSubmission, normalise_phone, submit_report

from .. import factories
from ..conftest import TEST_DATABASE_URL

HONG_BANG = "Phường Hồng Bàng"
PHONE = "0912 345 678"
EMAIL = "hong.nguyen@example.com"


# --- helpers (also used by test_tracking) ------------------------------------------------

def jpeg_bytes(size=(400, 300), color="red") -> bytes:
    """A small valid JPEG."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def open_form(client) -> dict:
    """GET /report/new and return its CSRF token and idempotency key."""
    page = client.get("/report/new")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page.text).group(1)
    return {"csrf_token": token, "submission_key": key}


def form_data(client, photos=(), **overrides) -> dict:
    """A complete, valid submission of the public form (a fresh key), with ``overrides``."""
    data = {
        **open_form(client),
        "category_code": "giao_thong",
        "title": "Ổ gà lớn trước số 12",
        "description": "Ổ gà sâu khoảng 20 cm, xe máy dễ ngã.",
        "admin_unit_code": factories.unit(HONG_BANG).code,
        "address": "12 Lạch Tray",
        "latitude": "20.8449",
        "longitude": "106.6881",
        "reporter_name": "Nguyễn Thị Hồng",
        "reporter_phone": PHONE,
        "reporter_email": EMAIL,
        "consent": "y",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return data


def post_report(client, data):
    return client.post("/report/new", data=data, content_type="multipart/form-data")


def submit(client, photos=(), **overrides) -> Report:
    """Send a valid report through the form; return the stored report."""
    response = post_report(client, form_data(client, photos=photos, **overrides))
    assert response.status_code == 303, response.text
    code = response.headers["Location"].split("/")[2]
    return _db.session.scalar(select(Report).where(Report.tracking_code == code))


def report_count() -> int:
    return _db.session.scalar(select(func.count(Report.id)))


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def unescaped(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- the form ---------------------------------------------------------------------------

def test_form_lists_categories_and_current_units_and_explains_consent(client):
    page = client.get("/report/new")
    assert page.status_code == 200
    body = unescaped(page)
    assert "Giao thông" in body and "Cấp thoát nước và ngập úng" in body  # Vietnamese by default
    assert "13/2023/NĐ-CP" in body
    assert 'name="website"' in body and 'class="hp-trap"' in body  # the honeypot, hidden by CSS
    assert re.search(r'name="photos"[^>]*multiple', body) or re.search(r'multiple[^>]*name="photos"', body)
    names = re.findall(r'<option value="\d{5}">([^<]+)</option>', body)
    assert len(names) == 114 and HONG_BANG in names
    # Vietnamese order of the name after its type word (Phường / Xã / Đặc khu).
    order = [names.index(n) for n in ("Phường An Biên", "Xã An Hưng", "Phường Bạch Đằng",
                                      "Đặc khu Bạch Long Vĩ", "Xã Cẩm Giàng", "Phường Chí Linh")]
    assert order == sorted(order)
    # Each GET gets its own idempotency key.
    assert open_form(client)["submission_key"] != open_form(client)["submission_key"]


def test_a_valid_report_is_stored_with_photo_event_and_deadline(app, client):
    report = submit(client, photos=[("ổ gà.jpg", jpeg_bytes())])
    assert report.status == ReportStatus.NEW and report.channel == Channel.WEB
    assert report.tracking_code.startswith("HP-")
    assert report.reporter_phone == "0912345678" and report.reporter_email == EMAIL
    assert report.reporter_name_public is False and report.consent_method == "online"
    assert report.consent_at is not None
    assert report.admin_unit.name == HONG_BANG and report.category.code == "giao_thong"
    assert (report.latitude, report.longitude) == (20.8449, 106.6881)
    assert report.deadline == deadline_for(report.category, Urgency.NORMAL, report.created_at)
    [event] = report.events
    assert (event.action, event.new_value, event.public) == ("created", "new", True)
    [photo] = report.attachments
    assert photo.purpose == "report" and photo.kind == "photo" and photo.content_type == "image/jpeg"
    root = Path(app.config["UPLOAD_FOLDER"])
    for relative in (photo.original_path, photo.public_path, photo.thumb_path):
        assert (root / relative).is_file()

    page = client.get(f"/report/{report.tracking_code}/submitted")
    assert page.status_code == 200
    body = unescaped(page)
    assert report.tracking_code in body
    assert report.deadline.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y") in body
    for private in ("Nguyễn Thị Hồng", "0912345678", PHONE, EMAIL):
        assert private not in body


def test_unknown_confirmation_page_is_404(client):
    assert client.get("/report/HP-2026-999999/submitted").status_code == 404


def test_name_typed_in_nfc_and_nfd_is_stored_identically(client):
    name = "Nguyễn Thị Hồng"
    title = "Đèn đường hỏng ở ngõ Chợ Hàng"
    nfd = [unicodedata.normalize("NFD", value) for value in (name, title)]
    assert nfd[0] != name
    first = submit(client, reporter_name=name, title=title)
    second = submit(client, reporter_name=nfd[0], title=nfd[1])
    assert first.id != second.id
    assert first.reporter_name == second.reporter_name == name
    assert first.title == second.title == title
    assert unicodedata.is_normalized("NFC", second.description)


def test_same_key_twice_gives_one_report_and_the_first_page(client):
    data = form_data(client, photos=[("a.jpg", jpeg_bytes())])
    before = report_count()
    first = post_report(client, data)
    data["photos"] = [(io.BytesIO(jpeg_bytes()), "a.jpg")]
    second = post_report(client, data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert report_count() == before + 1
    report = _db.session.scalar(select(Report).where(Report.submission_key == data["submission_key"]))
    assert len(report.attachments) == 1


def test_description_limit_is_counted_after_nfc(client):
    # "ệ" is 1 character in NFC and 3 in NFD: 2000 of them are over 5000 only in NFD.
    description = "ệ" * 2000
    decomposed = unicodedata.normalize("NFD", description)
    assert len(decomposed) > intake.MAX_DESCRIPTION >= len(description)
    report = submit(client, description=decomposed)
    assert report.description == description

    too_long = "ệ" * (intake.MAX_DESCRIPTION + 1)
    response = post_report(client, form_data(client, description=too_long))
    assert response.status_code == 422
    assert "5001" in response.text and "5000" in response.text


def test_missing_fields_each_get_a_message_and_nothing_is_stored(client):
    before = report_count()
    response = post_report(client, form_data(client, category_code="", title="  ", description="",
                                             reporter_name="", reporter_phone="12345", consent=None,
                                             reporter_email="not-an-address"))
    assert response.status_code == 422
    body = unescaped(response)
    for field_id in ("category_code", "title", "description", "reporter_name", "reporter_phone",
                     "reporter_email", "consent"):
        assert f'id="{field_id}-err"' in body, field_id
    assert "not-an-address" in body  # what was typed stays
    assert report_count() == before


def test_bad_photo_keeps_every_typed_field(app, client):
    files_before = len(stored_files(app))
    typed = dict(title="Cống bị vỡ nắp", description="Nắp cống vỡ, rất nguy hiểm <b>ban đêm</b>.",
                 address="45 Trần Phú", latitude="20.86", longitude="106.68",
                 reporter_name="Trần Văn Bình", reporter_phone="0987 654 321",
                 reporter_email="binh@example.com", reporter_name_public="y",
                 category_code="cap_thoat_nuoc")
    truncated = jpeg_bytes((800, 600))[:600]
    response = post_report(client, form_data(client, photos=[("good.jpg", jpeg_bytes()),
                                                             ("hỏng.jpg", truncated)], **typed))
    assert response.status_code == 422
    body = unescaped(response)
    for value in typed.values():
        if value != "y":
            assert value in body, value
    assert '<b>ban' not in response.text  # user text is escaped
    assert re.search(r'<option selected value="cap_thoat_nuoc">|<option value="cap_thoat_nuoc" selected',
                     response.text)
    assert re.search(r'id="reporter_name_public" name="reporter_name_public" type="checkbox" value="y" checked'
                     r'|checked[^>]*id="reporter_name_public"', response.text)
    assert re.search(r'<li>hỏng\.jpg: [^<]+</li>', body)  # the bad file, by its name
    assert "good.jpg" not in body.split('id="photos-err"')[1].split("</ul>")[0]
    assert "choose your photos again" in body.lower() or "chọn lại" in body.lower()
    assert len(stored_files(app)) == files_before


@pytest.mark.parametrize(("name", "content"), [
    ("empty.jpg", b""),
    ("page.html", b"GIF89a<script>alert(1)</script>"),
    ("notes.jpg", b"just some text, not a photo"),
])
def test_refused_files_get_their_own_message(client, name, content):
    before = report_count()
    response = post_report(client, form_data(client, photos=[(name, content)], title="Giữ lại tiêu đề"))
    assert response.status_code == 422
    body = unescaped(response)
    assert re.search(rf"<li>{re.escape(name)}: [^<]+</li>", body)
    assert "Giữ lại tiêu đề" in body
    assert report_count() == before


def test_more_than_five_photos_are_refused(client):
    photos = [(f"{i}.jpg", jpeg_bytes()) for i in range(6)]
    response = post_report(client, form_data(client, photos=photos))
    assert response.status_code == 422
    assert 'id="photos-err"' in response.text


def test_honeypot_pretends_success_and_stores_nothing(app, client):
    before, files_before = report_count(), len(stored_files(app))
    response = post_report(client, form_data(client, photos=[("a.jpg", jpeg_bytes())], website="http://spam"))
    assert response.status_code == 200
    assert report_count() == before and len(stored_files(app)) == files_before


@pytest.mark.parametrize(("lat", "lon"), [("21.0285", "105.8542"),   # Hà Nội
                                          ("20.9517", "107.0800"),   # Hạ Long (Quảng Ninh)
                                          ("10.7769", "106.7009"),   # Ho Chi Minh City
                                          ("20.3000", "107.0000")])  # open sea
def test_point_outside_hai_phong_is_refused(client, lat, lon):
    before = report_count()
    response = post_report(client, form_data(client, latitude=lat, longitude=lon))
    assert response.status_code == 422
    body = unescaped(response)
    assert 'id="latitude-err"' in body
    assert lat in body and lon in body
    assert report_count() == before


def test_swapped_coordinates_get_a_hint(client):
    before = report_count()
    response = post_report(client, form_data(client, latitude="106.7", longitude="20.8"))
    assert response.status_code == 422
    body = unescaped(response)
    hint = re.search(r'id="latitude-err">([^<]+)<', body).group(1)
    with client.application.test_request_context():
        _lat, _lon, errors = _check("106.7", "20.8")
    assert "swapped" in errors["latitude"][0]
    assert "106.7" in body and "20.8" in body
    assert hint != re.search(r'id="latitude-err">([^<]+)<', unescaped(
        post_report(client, form_data(client, latitude="21.0285", longitude="105.8542")))).group(1)
    assert report_count() == before


def _check(lat, lon):
    from flask_babel import force_locale

    with force_locale("en"):
        return intake.check_location(lat, lon)


@pytest.mark.parametrize(("lat", "lon", "ok"), [
    ("20.13", "107.72", True),            # Bạch Long Vĩ special zone
    ("20.7265", "107.0487", True),        # Cát Bà
    ("20.9400", "106.3300", True),        # former Hải Dương city centre
    ("21.1100", "106.3900", True),        # Chí Linh
    ("20.8449", None, False),             # one without the other
    ("20,8449", "106,6881", False),       # comma decimals
    ("91", "106.7", False),
])
def test_location_rules(app, lat, lon, ok):
    with app.test_request_context():
        _lat, _lon, errors = _check(lat, lon)
    assert (not errors) is ok, errors
    if lat == "20,8449":
        assert "dot" in errors["latitude"][0]


def test_phone_numbers_are_normalised():
    assert normalise_phone("+84 912 345 678") == normalise_phone("0912.345.678") == "0912345678"
    assert normalise_phone("0225 3123 456") == "02253123456"
    for bad in ("12345", "0112345678", "+1 202 555 0100", "091234567"):
        with pytest.raises(ValueError):
            normalise_phone(bad)


def test_expired_csrf_token_keeps_what_was_typed(client):
    data = form_data(client, title="Không mất chữ")
    data["csrf_token"] = "stale"
    before = report_count()
    response = post_report(client, data)
    assert response.status_code == 422
    assert "Không mất chữ" in unescaped(response)
    assert report_count() == before


def test_service_refuses_inactive_category_and_old_unit(app, db):
    category = factories.category("khac")
    category.active = False
    db.session.flush()
    with app.test_request_context():
        with pytest.raises(IntakeError) as caught:
            submit_report(ReportSubmission(category_code="khac", title="x", description="y",
                                           admin_unit_code="99999", reporter_name="A",
                                           reporter_phone=PHONE, consent=True), app.config["UPLOAD_FOLDER"])
    assert set(caught.value.errors) == {"category_code", "admin_unit_code"}


def test_service_accepts_a_point_without_a_ward_and_bytes_photos(app, db):
    with app.test_request_context():
        result = submit_report(ReportSubmission(
            category_id=factories.category("cay_xanh").id, title="Cây đổ", description="Cây đổ chắn đường",
            latitude=20.85, longitude=106.69, reporter_name="An", reporter_phone="+84 912 000 111",
            consent=True, channel="api", submission_key="client-42", photos=[jpeg_bytes()]),
            app.config["UPLOAD_FOLDER"])
        assert result.created and result.report.channel == Channel.API
        assert result.report.admin_unit_id is None and len(result.report.photos) == 1
        again = submit_report(ReportSubmission(submission_key="client-42"), app.config["UPLOAD_FOLDER"])
        assert not again.created and again.report.id == result.report.id


# --- concurrency: a separate app on its own database -------------------------------------

@pytest.fixture()
def isolated_app(tmp_path):
    """An app with its own database (a SQLite file, or a fresh PostgreSQL database on the
    test server), migrated, with reference data; requests commit for real, so threads
    can race. The PostgreSQL database is dropped afterwards."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from hpsmart.services.reference import load_reference

    scratch = None
    config = {"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(tmp_path / "uploads"), "SERVER_NAME": None}
    if TEST_DATABASE_URL:
        base = make_url(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        scratch = f"{base.database}_race_{uuid.uuid4().hex[:8]}"
        server = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        config["SQLALCHEMY_DATABASE_URI"] = base.set(database=scratch).render_as_string(hide_password=False)
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    application = create_app(config)
    with application.app_context():
        upgrade()
        load_reference()
        _db.session.commit()
        _db.session.remove()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()
    if scratch:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{scratch}" WITH (FORCE)'))
        server.dispose()


def test_parallel_submissions_with_the_same_key_create_one_report(isolated_app, monkeypatch):
    """Both requests pass the "key already used?" check before either writes (the barrier
    holds them after their photo work), so the unique constraint decides."""
    barrier = threading.Barrier(2, timeout=60)
    real_store = intake.store_photo

    def store_then_wait(data, root, **kw):
        stored = real_store(data, root, **kw)
        barrier.wait()
        return stored

    monkeypatch.setattr(intake, "store_photo", store_then_wait)
    lookups = []
    real_find = intake.find_by_submission_key

    def counting_find(key):
        found = real_find(key)
        lookups.append(found is not None)
        return found

    monkeypatch.setattr(intake, "find_by_submission_key", counting_find)
    with isolated_app.app_context():
        unit_code = factories.unit(HONG_BANG).code
        _db.session.remove()
    fields = {"submission_key": "same-key-" + uuid.uuid4().hex, "category_code": "giao_thong",
              "title": "Hai lần bấm gửi", "description": "Mạng chậm, bấm hai lần.",
              "admin_unit_code": unit_code, "reporter_name": "Nguyễn Thị Hồng",
              "reporter_phone": PHONE, "consent": "y"}
    responses = []

    def send():
        client = isolated_app.test_client()
        data = {**fields, "photos": [(io.BytesIO(jpeg_bytes()), "a.jpg")]}
        responses.append(client.post("/report/new", data=data, content_type="multipart/form-data"))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status_code for r in responses] == [303, 303], [r.text[:500] for r in responses]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    # Both found no report at first; the loser hit the unique key and re-read the winner.
    assert lookups == [False, False, True]
    with isolated_app.app_context():
        assert _db.session.scalar(select(func.count(Report.id))) == 1
        assert _db.session.scalar(select(func.count(Attachment.id))) == 1
        assert _db.session.scalar(select(func.count(ReportEvent.id))) == 1
        report = _db.session.scalar(select(Report))
        assert report.tracking_code.endswith("-000001")  # the loser's counter step was rolled back
        _db.session.remove()
    # The loser's photo files were removed: one set of three remains.
    assert len(stored_files(isolated_app)) == 3


# --- abuse limits ----------------------------------------------------------------------

@pytest.fixture()
def limited_client(app):
    """A client of an app with rate limiting on (same database as ``app``, memory storage).

    Flask-Limiter keeps ``enabled`` on its one shared object: restored afterwards.
    """
    was_enabled = limiter.enabled
    limited = create_app({"TESTING": True, "SECRET_KEY": "test", "SERVER_NAME": None,
                          "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "RATELIMIT_ENABLED": True,
                          "RATELIMIT_STORAGE_URI": "memory://"})
    limiter.reset()
    try:
        yield limited.test_client()
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_submission_rate_limit_answers_429_page(limited_client):
    for _ in range(10):  # 10 per minute allowed (each refused for its stale token: nothing stored)
        response = limited_client.post("/report/new", data={"csrf_token": "x", "title": "t"})
        assert response.status_code == 422
    response = limited_client.post("/report/new", data={"csrf_token": "x", "title": "t"})
    assert response.status_code == 429
    assert "<h1>" in response.text and "Traceback" not in response.text
    assert limited_client.get("/report/new").status_code == 200  # reading the form is not limited


def test_title_keeps_one_line_and_description_keeps_its_lines(db, tmp_path):
    """A title with a line break (or a right-to-left override) is stored on one line; the
    description keeps its paragraphs."""
    from hpsmart.services.intake import ReportSubmission, submit_report

    result = submit_report(ReportSubmission(
        category_code="giao_thong", title="Ổ gà\nBcc: evil@example.com\u202e", description="Dòng 1\nDòng 2",
        admin_unit_code=factories.unit(HONG_BANG).code, reporter_name="Lê Văn\nAn", reporter_phone=PHONE,
        consent=True), str(tmp_path))
    assert result.report.title == "Ổ gà Bcc: evil@example.com"
    assert result.report.reporter_name == "Lê Văn An"
    assert result.report.description == "Dòng 1\nDòng 2"
