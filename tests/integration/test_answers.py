"""Answers over HTTP (issue 5, items 1-3): the answer form and its drafts, sending for
approval, the lead's approval, editing and sending back, the agency without approval,
outcome and document rules, personal-data warnings, blurring and hiding photos, the
expired session, canned answers, settings and who may do what."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from PIL import Image, ImageStat
from sqlalchemy import select

from hpsmart.models import (Attachment, CannedAnswer, OutboxMessage, Outcome, ReportEvent, ReportStatus as S,
                            Response, ResponseState)
from hpsmart.services import answers, workflow
from hpsmart.services.answers import local_today

from .. import factories
from ..conftest import AuthActions
from ..html_forms import form_data, page_forms

HX = {"HX-Request": "true"}
NAME, PHONE, EMAIL = "Trần Thị Bình", "0900000001", "binh@example.invalid"
ANSWER = "Đã vá ổ gà trên đường Lạch Tray ngày hôm qua; mặt đường đã êm thuận trở lại."


class SeparateBrowser(FlaskClient):
    """A test client whose requests start with an empty ``g`` (two people need two browsers:
    the ``db`` fixture keeps one app context for the whole test)."""

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(vars(g)):
                g.pop(key)
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _separate_browsers(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", SeparateBrowser)


@pytest.fixture(autouse=True)
def _english(db, users):
    """Messages are asserted in English: every user of the fixture reads English."""
    for user in users.values():
        user.language = "en"
    db.session.flush()


# --- helpers ---

def textarea_value(page_html: str, name: str) -> str | None:
    for _action, fields in page_forms(page_html):
        for field_name, value in fields:
            if field_name == name:
                return value
    return None


def jpeg(seed: int = 1, size=(640, 480)) -> bytes:
    """A JPEG with sharp detail (a checkerboard), so that blurring it visibly changes it."""
    img = Image.new("RGB", size, (255, 255, 255))
    pixels = img.load()
    for x in range(size[0]):
        for y in range(size[1]):
            if ((x // 8) + (y // 8) + seed) % 2:
                pixels[x, y] = (20, 20 + seed, 20)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def panel_url(report, suffix: str = "") -> str:
    return f"/inbox/reports/{report.tracking_code}/answer{suffix}"


def answer_form(client, report) -> dict:
    page = client.get(panel_url(report))
    assert page.status_code == 200, page.text
    return form_data(page.text, panel_url(report))


def post_answer(client, report, action="draft", photos=(), documents=(), **fields):
    """Send the answer form as shown, with ``fields`` changed, ``action`` pressed and files chosen."""
    data = answer_form(client, report)
    data.update(fields)
    data["action"] = action
    if photos:
        data["photos"] = [(io.BytesIO(b), name) for name, b in photos]
    if documents:
        data["documents"] = [(io.BytesIO(b), name) for name, b in documents]
    return client.post(panel_url(report), data=data, content_type="multipart/form-data")


def reload(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def current(db, report) -> Response | None:
    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.report_id == report.id).order_by(Response.id.desc()))


def events(db, report) -> list[ReportEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                   .order_by(ReportEvent.id)))


def status(client, url: str) -> int:
    """The status of GET ``url``, the response closed (a file response holds its file open)."""
    with client.get(url) as response:
        return response.status_code


def login_client(app, user):
    other = app.test_client()
    assert AuthActions(other).login(user.email).status_code == 303
    return other


@pytest.fixture()
def construction(db):
    agency = factories.agency("Sở Xây dựng")
    agency.requires_approval = True
    db.session.flush()
    return agency


@pytest.fixture()
def routed(db, construction):
    """A report routed to Sở Xây dựng, from Trần Thị Bình (name not to be shown)."""
    report = factories.report(agency=construction, status=S.ROUTED, reporter_name=NAME, reporter_phone=PHONE,
                              reporter_email=EMAIL, reporter_name_public=False)
    return report


def upload_root(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


# --- the full flow ---

def test_draft_submit_approve_publishes_with_photos(app, client, db, users, login_as, routed):
    staff = login_as("agency_staff")
    assert post_answer(client, routed, body=ANSWER, outcome="resolved",
                       photos=[("sau.jpg", jpeg(1)), ("sau2.jpg", jpeg(2))]).status_code == 303
    draft = current(db, routed)
    assert draft.state == ResponseState.DRAFT and draft.body == ANSWER and draft.outcome == Outcome.RESOLVED
    photos = [a for a in draft.attachments if a.kind == "photo"]
    assert len(photos) == 2 and all(a.purpose == "answer" and a.response_id == draft.id for a in photos)
    assert all((upload_root(app) / a.public_path).is_file() for a in photos)
    assert reload(db, routed).status == S.ROUTED  # a draft changes nothing about the report

    # The draft is kept: the page shows it again.
    page = client.get(panel_url(routed)).text
    assert textarea_value(page, "body") == ANSWER

    response = post_answer(client, routed, action="submit")
    assert response.status_code == 303
    draft = current(db, routed)
    assert draft.state == ResponseState.SUBMITTED and draft.submitted_at is not None and draft.author_id == staff.id
    assert reload(db, routed).status == S.ANSWERED
    lead_mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.report_id == routed.id,
                                                               OutboxMessage.template == "answer_submitted")).all()
    assert users["agency_lead"].email in {m.recipient for m in lead_mail}

    # Staff cannot change or approve it any more.
    page = client.get(panel_url(routed)).text
    assert 'id="answer-form"' not in page and panel_url(routed, "/approve") not in page
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    refused = client.post(panel_url(routed), data={"csrf_token": token, "body": "đổi", "action": "draft"})
    assert refused.status_code == 422 and current(db, routed).body == ANSWER
    AuthActions(client).logout()

    lead = login_as("agency_lead")
    listing = client.get("/inbox/approvals")
    assert listing.status_code == 200 and routed.tracking_code in listing.text and ANSWER in unescape(listing.text)
    data = form_data(listing.text, panel_url(routed, "/approve"))
    response = client.post(panel_url(routed, "/approve"), data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/inbox/approvals"

    report = reload(db, routed)
    draft = current(db, routed)
    assert report.status == S.PUBLISHED and report.published_at is not None
    assert draft.state == ResponseState.PUBLISHED and draft.published_at is not None
    assert draft.reviewed_by_id == lead.id and draft.body == ANSWER
    steps = [(e.action, e.new_value, e.actor_id) for e in events(db, routed) if e.action in ("status", "answer")]
    assert steps[-3:] == [("status", "answered", staff.id), ("answer", "submitted", staff.id),
                          ("status", "published", lead.id)]
    publish = [e for e in events(db, routed) if e.new_value == "published"][0]
    assert publish.public and publish.note == ANSWER
    citizen_mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "answer_published",
                                                                  OutboxMessage.report_id == routed.id)).all()
    assert [m.recipient for m in citizen_mail] == [EMAIL]
    assert "No answers are waiting" in client.get("/inbox/approvals").text

    # The tracking page shows the published answer and its after-photos, never the reporter.
    AuthActions(client).logout()
    track = client.get(f"/track?code={routed.tracking_code}")
    assert track.status_code == 200
    text = unescape(track.text)
    assert ANSWER in text
    for photo in photos:
        assert f"/media/t/{photo.thumb_path.split('/', 1)[1]}" in text
        assert f"/media/p/{photo.public_path.split('/', 1)[1]}" in text
    for secret in (NAME, PHONE, EMAIL):
        assert secret not in text


def test_agency_without_approval_publishes_on_submit(client, db, login_as, routed, construction):
    construction.requires_approval = False
    db.session.flush()
    staff = login_as("agency_staff")
    assert post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved").status_code == 303
    report = reload(db, routed)
    assert report.status == S.PUBLISHED
    response = current(db, routed)
    assert response.state == ResponseState.PUBLISHED and response.published_at is not None
    statuses = [(e.new_value, e.actor_id) for e in events(db, routed) if e.action == "status"]
    assert statuses[-2:] == [("answered", staff.id), ("published", staff.id)]


def test_workflow_lets_answering_staff_publish_only_without_approval(db, users, routed, construction):
    staff = users["agency_staff"]
    routed.status = S.ANSWERED
    db.session.flush()
    assert not workflow.can(staff, routed, "publish")
    construction.requires_approval = False
    assert workflow.can(staff, routed, "publish")
    assert not workflow.can(users["ioc_operator"], routed, "publish")
    other = factories.user("agency_staff", agency_obj=factories.agency("Sở Y tế"))
    assert not workflow.can(other, routed, "publish")


def test_send_back_edit_and_approve_history_shows_three_steps(app, client, db, users, login_as, routed):
    staff = login_as("agency_staff")
    assert post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved").status_code == 303
    lead_client = login_client(app, users["agency_lead"])
    lead = users["agency_lead"]

    # Sending back needs a comment: 422, nothing changes.
    page = lead_client.get(panel_url(routed)).text
    data = form_data(page, panel_url(routed, "/send-back"))
    assert lead_client.post(panel_url(routed, "/send-back"), data=data).status_code == 422
    assert reload(db, routed).status == S.ANSWERED

    comment = "Ghi rõ ngày hoàn thành và đính kèm ảnh sau khi sửa."
    data = {k: (comment if k.endswith("-comment") else v) for k, v in data.items()}
    response = lead_client.post(panel_url(routed, "/send-back"), data=data)
    assert response.status_code == 303
    draft = current(db, routed)
    assert draft.state == ResponseState.SENT_BACK and draft.review_comment == comment
    assert reload(db, routed).status == S.IN_PROGRESS

    # Staff sees the comment and the text, edits, sends again.
    page = unescape(client.get(panel_url(routed)).text)
    assert comment in page and textarea_value(page, "body") == ANSWER
    edited = ANSWER + " Hoàn thành ngày 12/11."
    assert post_answer(client, routed, action="submit", body=edited).status_code == 303
    assert current(db, routed).state == ResponseState.SUBMITTED

    # The lead corrects the text and approves.
    final = edited.replace("êm thuận", "bằng phẳng")
    page = lead_client.get(panel_url(routed)).text
    data = form_data(page, panel_url(routed, "/approve"))
    data = {k: (final if k.endswith("-body") else v) for k, v in data.items()}
    assert lead_client.post(panel_url(routed, "/approve"), data=data).status_code == 303
    assert current(db, routed).body == final and reload(db, routed).status == S.PUBLISHED

    steps = [(e.action, e.new_value, e.actor_id, e.note) for e in events(db, routed)
             if e.action in ("status", "answer") and e.new_value != "routed"]
    assert steps == [
        ("status", "answered", staff.id, None), ("answer", "submitted", staff.id, ANSWER),
        ("status", "in_progress", lead.id, comment),
        ("status", "answered", staff.id, None), ("answer", "submitted", staff.id, edited),
        ("answer", "edited", lead.id, final), ("status", "published", lead.id, final),
    ]
    times = [e.created_at for e in events(db, routed)]
    assert times == sorted(times) and all(t is not None for t in times)
    # The report view's history names every step's author.
    history = unescape(lead_client.get(f"/inbox/reports/{routed.tracking_code}").text)
    assert staff.name in history and lead.name in history and comment in history


def test_stale_approval_is_a_conflict(app, client, db, users, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved")
    lead_client = login_client(app, users["agency_lead"])
    page = lead_client.get("/inbox/approvals").text
    stale = form_data(page, panel_url(routed, "/approve"))
    # Meanwhile another lead sends it back and the staff sends it again.
    response = current(db, routed)
    answers.send_back(reload(db, routed), users["agency_lead"], response, "Sửa lại.")
    answers.submit(reload(db, routed), users["agency_staff"], current(db, routed))
    db.session.commit()
    result = lead_client.post(panel_url(routed, "/approve"), data=stale)
    assert result.status_code == 409
    assert reload(db, routed).status == S.ANSWERED


# --- rules ---

@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"body": "", "outcome": "resolved"}, "body", "Write the answer"),
    ({"body": "x" * 5001, "outcome": "resolved"}, "body", "at most 5000 characters"),
    ({"body": ANSWER, "outcome": ""}, "outcome", "Choose the outcome"),
    ({"body": ANSWER, "outcome": "scheduled", "scheduled_for": ""}, "scheduled_for", "Give the date"),
    ({"body": ANSWER, "outcome": "scheduled", "scheduled_for": "past"}, "scheduled_for", "after today"),
    ({"body": ANSWER, "outcome": "scheduled", "scheduled_for": "31/02/2027"}, "scheduled_for", "dd/mm/yyyy"),
    ({"body": ANSWER, "outcome": "not_in_remit", "responsible_party": ""}, "responsible_party",
     "who is responsible"),
    ({"body": "Không thể.", "outcome": "cannot_resolve"}, "body", "Explain why"),
])
def test_outcome_rules_refuse_with_422_and_keep_everything(client, db, login_as, routed, fields, field, message):
    login_as("agency_staff")
    if fields.get("scheduled_for") == "past":
        fields = {**fields, "scheduled_for": (local_today() - timedelta(days=1)).isoformat()}
    response = post_answer(client, routed, action="submit", **fields)
    assert response.status_code == 422
    text = unescape(response.text)
    assert message.lower() in text.lower(), text[:3000]
    if fields["body"]:
        assert textarea_value(response.text, "body") == fields["body"]
    assert reload(db, routed).status == S.ROUTED


def test_valid_outcomes_are_accepted(client, db, login_as, routed):
    login_as("agency_staff")
    later = (local_today() + timedelta(days=7)).strftime("%d/%m/%Y")
    assert post_answer(client, routed, action="submit", body=ANSWER, outcome="scheduled",
                       scheduled_for=later).status_code == 303
    response = current(db, routed)
    assert response.outcome == Outcome.SCHEDULED and response.scheduled_for == local_today() + timedelta(days=7)


def test_text_is_nfc_normalised(client, db, login_as, routed):
    import unicodedata

    login_as("agency_staff")
    nfd = unicodedata.normalize("NFD", ANSWER)
    assert post_answer(client, routed, body=nfd, outcome="resolved").status_code == 303
    assert current(db, routed).body == ANSWER


def test_documents_must_be_pdf_and_are_private_until_published(app, client, db, login_as, routed,
                                                               monkeypatch):
    login_as("agency_staff")
    fake = post_answer(client, routed, body=ANSWER, outcome="resolved",
                       documents=[("bien-ban.pdf", b"<html><script>alert(1)</script></html>")])
    assert fake.status_code == 422
    assert "bien-ban.pdf" in unescape(fake.text) and textarea_value(fake.text, "body") == ANSWER
    assert current(db, routed) is None  # nothing kept from a refused form (autosave keeps drafts)

    # The limit (10 MB) made small here: the test client spools large bodies to unclosed temp files.
    monkeypatch.setattr(answers, "MAX_DOCUMENT_BYTES", 200_000)
    too_big = post_answer(client, routed, body=ANSWER, outcome="resolved",
                          documents=[("lon.pdf", b"%PDF-1.4" + b"0" * 200_000)])
    assert too_big.status_code == 422 and "lon.pdf: the document is larger than" in unescape(too_big.text)

    assert post_answer(client, routed, body=ANSWER, outcome="resolved",
                       documents=[("bien-ban.pdf", PDF)]).status_code == 303
    doc = [a for a in current(db, routed).attachments if a.kind == "document"][0]
    path = upload_root(app) / doc.original_path
    assert doc.original_path.startswith("document/") and path.read_bytes() == PDF
    assert doc.public_path is None and oct(path.stat().st_mode & 0o777) == "0o600"
    assert "bien-ban" not in doc.original_path

    url = f"/documents/{doc.id}.pdf"
    with client.get(url) as staff_copy:
        assert staff_copy.status_code == 200 and staff_copy.data == PDF
        assert staff_copy.headers["X-Content-Type-Options"] == "nosniff"
        assert staff_copy.headers["Content-Disposition"].startswith("attachment;")
        assert "no-store" in staff_copy.headers["Cache-Control"]
    AuthActions(client).logout()
    assert status(client, url) == 404  # not public before publication

    answers.submit(reload(db, routed), factories.user("agency_lead"), current(db, routed))
    lead = db.session.scalar(select(factories.User).where(factories.User.id == current(db, routed).author_id))
    answers.approve(reload(db, routed), lead, current(db, routed))
    db.session.commit()
    with client.get(url) as public:
        assert public.status_code == 200 and public.data == PDF and "public" in public.headers["Cache-Control"]
    assert f'href="{url}"' in client.get(f"/track?code={routed.tracking_code}").text


def test_at_most_ten_photos(client, db, login_as, routed):
    login_as("agency_staff")
    many = [(f"p{i}.jpg", jpeg(i % 3, (64, 48))) for i in range(11)]
    response = post_answer(client, routed, body=ANSWER, outcome="resolved", photos=many)
    assert response.status_code == 422 and textarea_value(response.text, "body") == ANSWER
    assert post_answer(client, routed, body=ANSWER, photos=many[:10]).status_code == 303
    assert len(current(db, routed).attachments) == 10
    assert post_answer(client, routed, photos=many[:1]).status_code == 422


def test_a_refused_photo_keeps_the_text(client, db, login_as, routed):
    login_as("agency_staff")
    response = post_answer(client, routed, body=ANSWER, outcome="resolved",
                           photos=[("anh.jpg", b"this is not a photo")])
    assert response.status_code == 422
    assert "anh.jpg" in unescape(response.text) and textarea_value(response.text, "body") == ANSWER


# --- personal data ---

@pytest.mark.parametrize("text", [
    "Đã liên hệ bà Trần Thị Bình để xác nhận.",
    "Đã liên hệ bà TRẦN THỊ BÌNH để xác nhận.",
    "Đã liên hệ bà Tran Thi Binh để xác nhận.",
    "Đã liên hệ bà Tra\u0300n Thi\u0323 Bi\u0300nh để xác nhận.",  # NFD
    "Đã liên hệ bà Trần  Bình.",
])
def test_name_is_found_in_any_form(db, routed, text):
    codes = [w.code for w in answers.check_personal_data(routed, text) if w.blocking]
    assert codes == ["name"]


@pytest.mark.parametrize("text", [
    "Gọi 0900 000 001 để biết thêm.", "Gọi 0900000001.", "Gọi +84900000001.", "Gọi 0900.000.001.",
    "Gọi +84 900 000 001.", "Gọi (+84) 900-000-001.", "Gọi 84900000001.",
])
def test_phone_is_found_in_any_format(db, routed, text):
    assert [w.code for w in answers.check_personal_data(routed, text) if w.blocking] == ["phone"]


@pytest.mark.parametrize("text", ["Gửi về BINH@Example.Invalid.", "Gửi về binh @ example.invalid"])
def test_email_is_found(db, routed, text):
    assert [w.code for w in answers.check_personal_data(routed, text) if w.blocking] == ["email"]


@pytest.mark.parametrize("text", [
    ANSWER, "Gọi đường dây nóng 0900 000 002.", "Phường Bình Dương, Trần Phú.", "Liên hệ binh@example.org.",
])
def test_no_warning_without_personal_data(db, routed, text):
    assert answers.check_personal_data(routed, text) == []


def test_name_allowed_publicly_is_not_a_warning(db, routed):
    routed.reporter_name_public = True
    assert answers.check_personal_data(routed, "Cảm ơn bà Trần Thị Bình.") == []


def test_file_names_and_photos(db, routed):
    found = answers.check_personal_data(routed, ANSWER, ["tran-thi-binh.jpg"])
    assert [w.code for w in found] == ["file_name"]
    photo = Attachment(report=routed, kind="photo", purpose="answer", original_path="x", content_type="image/jpeg")
    reminder = answers.check_personal_data(routed, ANSWER, [photo])
    assert [(w.code, w.blocking) for w in reminder] == [("photos", False)]


def test_personal_data_needs_confirmation_before_sending(client, db, login_as, routed):
    login_as("agency_staff")
    text = "Đã gọi cho chị Tran Thi Binh theo số 0900.000.001 để xác nhận ổ gà đã được vá."
    response = post_answer(client, routed, action="submit", body=text, outcome="resolved")
    assert response.status_code == 422
    assert 'name="confirm_personal_data"' in response.text
    assert textarea_value(response.text, "body") == text
    assert current(db, routed).state == ResponseState.DRAFT and current(db, routed).body == text  # kept
    assert reload(db, routed).status == S.ROUTED

    assert post_answer(client, routed, action="submit", confirm_personal_data="y").status_code == 303
    assert current(db, routed).state == ResponseState.SUBMITTED


def test_lead_approval_checks_personal_data_in_the_edited_text(app, client, db, users, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved")
    lead_client = login_client(app, users["agency_lead"])
    page = lead_client.get("/inbox/approvals").text
    data = form_data(page, panel_url(routed, "/approve"))
    edited = ANSWER + " Liên hệ: binh@example.invalid"
    data = {k: (edited if k.endswith("-body") else v) for k, v in data.items()}
    refused = lead_client.post(panel_url(routed, "/approve"), data=data)
    assert refused.status_code == 422 and textarea_value(refused.text, next(k for k in data if k.endswith("-body"))) == edited
    assert reload(db, routed).status == S.ANSWERED
    confirm = next(k for k in form_data(refused.text, panel_url(routed, "/approve")) if k.endswith("-version"))
    data[confirm.replace("-version", "-confirm_personal_data")] = "y"
    assert lead_client.post(panel_url(routed, "/approve"), data=data).status_code == 303
    assert reload(db, routed).status == S.PUBLISHED


# --- photos: blur, hide, remove ---

def test_blur_replaces_the_public_files_and_keeps_the_original(app, client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, body=ANSWER, outcome="resolved", photos=[("sau.jpg", jpeg(1))])
    photo = [a for a in current(db, routed).attachments if a.kind == "photo"][0]
    root = upload_root(app)
    old_public, old_thumb, original = photo.public_path, photo.thumb_path, photo.original_path
    original_bytes = (root / original).read_bytes()
    with Image.open(root / old_public) as img:
        sharp = ImageStat.Stat(img.convert("L")).stddev[0]
    version = reload(db, routed).version

    response = client.post(panel_url(routed, "").replace("/answer", f"/files/{photo.id}/blur"),
                           data=answer_form(client, routed))
    assert response.status_code == 303
    photo = reload(db, photo)
    assert photo.public_path != old_public and photo.thumb_path != old_thumb
    assert not (root / old_public).exists() and not (root / old_thumb).exists()
    assert (root / photo.public_path).is_file() and (root / photo.thumb_path).is_file()
    assert (root / original).read_bytes() == original_bytes and photo.original_path == original
    with Image.open(root / photo.public_path) as img:
        assert img.getexif() == {} or len(img.getexif()) == 0
        assert ImageStat.Stat(img.convert("L")).stddev[0] < sharp / 3
    assert status(client, f"/media/p/{old_public.split('/', 1)[1]}") == 404
    assert status(client, f"/media/p/{photo.public_path.split('/', 1)[1]}") == 200
    assert reload(db, routed).version == version + 1  # public pages' ETag follows
    assert [e.new_value for e in events(db, routed) if e.action == "photo"] == ["blurred"]
    assert textarea_value(client.get(panel_url(routed)).text, "body") == ANSWER


def test_hide_renames_public_files_and_keeps_photo_off_public_pages(app, client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved",
                photos=[("sau.jpg", jpeg(1)), ("mat.jpg", jpeg(2))])
    lead = factories.user("agency_lead")
    answers.approve(reload(db, routed), lead, current(db, routed))
    db.session.commit()
    shown, hidden = [a for a in current(db, routed).attachments if a.kind == "photo"]
    old_thumb = hidden.thumb_path
    url = panel_url(routed, "").replace("/answer", f"/files/{hidden.id}/hide")
    page = client.get(panel_url(routed)).text
    assert client.post(url, data=form_data(page, url)).status_code == 303
    hidden = reload(db, hidden)
    assert hidden.hidden and hidden.thumb_path != old_thumb
    assert not (upload_root(app) / old_thumb).exists()
    AuthActions(client).logout()
    track = client.get(f"/track?code={routed.tracking_code}").text
    assert shown.thumb_path.split("/", 1)[1] in track
    assert hidden.thumb_path.split("/", 1)[1] not in track and old_thumb.split("/", 1)[1] not in track


def test_citizen_photo_can_be_blurred_by_agency_staff(app, client, db, login_as, routed):
    from hpsmart.services.photos import store_photo
    import dataclasses

    stored = store_photo(jpeg(3), upload_root(app))
    photo = Attachment(report=routed, purpose="report", kind="photo", **dataclasses.asdict(stored))
    db.session.add(photo)
    db.session.flush()
    login_as("agency_staff")
    url = panel_url(routed, "").replace("/answer", f"/files/{photo.id}/blur")
    page = client.get(panel_url(routed)).text
    assert url in page
    assert client.post(url, data={**form_data(page, panel_url(routed))}).status_code == 303
    assert reload(db, photo).public_path != stored.public_path


def test_remove_a_draft_photo(app, client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, body=ANSWER, photos=[("sau.jpg", jpeg(1))])
    photo = current(db, routed).attachments[0]
    files = [photo.original_path, photo.public_path, photo.thumb_path]
    url = panel_url(routed, "").replace("/answer", f"/files/{photo.id}/remove")
    assert client.post(url, data=answer_form(client, routed)).status_code == 303
    assert current(db, routed).attachments == []
    assert not any((upload_root(app) / f).exists() for f in files)


# --- nothing typed is lost ---

def test_autosave_keeps_the_draft(client, db, login_as, routed):
    login_as("agency_staff")
    page = client.get(panel_url(routed)).text
    assert 'hx-trigger="keyup changed delay:2s"' in page and f'hx-post="{panel_url(routed, "/draft")}"' in page
    data = form_data(page, panel_url(routed))
    data.update(body="Đang xử lý", outcome="")
    response = client.post(panel_url(routed, "/draft"), data=data, headers=HX)
    assert response.status_code == 200 and 'id="draft-status"' in response.text
    assert "<html" not in response.text
    assert current(db, routed).body == "Đang xử lý"


def test_answer_typed_while_the_session_expired_is_there_after_logging_in(client, db, users, login_as, routed):
    login_as("agency_staff")
    data = answer_form(client, routed)
    # The session expires (the cookie is gone) while the answer is being typed.
    client.delete_cookie("session")
    typed = "Đã cử đội duy tu đến vá ổ gà, dự kiến hoàn thành trong tuần."
    data.update(body=typed, outcome="scheduled", action="submit")
    response = client.post(panel_url(routed), data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    assert current(db, routed).body == typed and current(db, routed).state == ResponseState.DRAFT
    assert reload(db, routed).status == S.ROUTED  # kept, not sent

    login = client.get(response.headers["Location"])
    assert login.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login.text).group(1)
    next_url = re.search(r'name="next" type="hidden" value="([^"]+)"', login.text).group(1)
    again = client.post("/login", data={"csrf_token": token, "email": users["agency_staff"].email,
                                        "password": factories.PASSWORD, "next": unescape(next_url)})
    assert again.status_code == 303 and again.headers["Location"] == panel_url(routed)
    page = client.get(again.headers["Location"]).text
    assert textarea_value(page, "body") == typed


def test_expired_session_with_a_forged_or_missing_token_keeps_nothing(client, db, users, login_as, routed):
    login_as("agency_staff")
    data = answer_form(client, routed)
    client.delete_cookie("session")
    data.update(body="Ghi đè", draft_token="forged")
    response = client.post(panel_url(routed), data=data)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert current(db, routed) is None


def test_expired_autosave_keeps_the_draft_and_says_so(client, db, login_as, routed):
    login_as("agency_staff")
    data = answer_form(client, routed)
    client.delete_cookie("session")
    data.update(body="Nháp khi phiên hết hạn")
    response = client.post(panel_url(routed, "/draft"), data=data, headers=HX)
    assert response.status_code == 200 and 'id="draft-status"' in response.text and "/login" in response.text
    assert current(db, routed).body == "Nháp khi phiên hết hạn"


def test_stale_csrf_token_keeps_the_text(client, db, login_as, routed):
    login_as("agency_staff")
    data = answer_form(client, routed)
    data.update(csrf_token="stale", draft_token="", body="Văn bản đã gõ", action="submit")
    response = client.post(panel_url(routed), data=data)
    assert response.status_code == 422 and textarea_value(response.text, "body") == "Văn bản đã gõ"
    assert current(db, routed) is None


# --- canned answers and settings ---

def test_canned_answers_agency_version_first_and_placeholders_filled(client, db, login_as, routed, construction):
    category = routed.category
    db.session.add_all([
        CannedAnswer(category=category, agency=None, title="Đã sửa", body="Chung: {tracking_code}", active=True),
        CannedAnswer(category=category, agency=construction, title="Đã sửa",
                     body="{agency} đã sửa chữa tại {address} (mã {tracking_code}).", outcome=Outcome.RESOLVED),
        CannedAnswer(category=category, agency=None, title="Chuyển đơn vị khác", body="Không thuộc thẩm quyền."),
        CannedAnswer(category=category, agency=factories.agency("Sở Y tế"), title="Khác", body="Của sở khác"),
    ])
    db.session.flush()
    listed = answers.canned_answers(routed)
    assert [(c.title, c.agency_id) for c in listed] == [("Đã sửa", construction.id), ("Chuyển đơn vị khác", None)]

    login_as("agency_staff")
    page = client.get(panel_url(routed)).text
    own = listed[0]
    assert f'value="{own.id}"' in page
    response = post_answer(client, routed, action="canned", canned=str(own.id), body="")
    assert response.status_code == 303
    draft = current(db, routed)
    assert draft.body == f"Sở Xây dựng đã sửa chữa tại 123 Lạch Tray, Phường Hồng Bàng (mã {routed.tracking_code})."
    assert draft.outcome == Outcome.RESOLVED
    # Inserting again appends after the text already there.
    post_answer(client, routed, action="canned", canned=str(listed[1].id))
    assert current(db, routed).body.endswith("\n\nKhông thuộc thẩm quyền.")


def test_lead_manages_own_canned_answers_and_approval_setting(client, db, users, login_as, construction):
    login_as("agency_lead")
    page = client.get("/inbox/answer-settings/canned/new")
    assert page.status_code == 200
    data = form_data(page.text, "")
    data.update(title="", body="")
    assert client.post("/inbox/answer-settings/canned/new", data=data).status_code == 422
    data.update(title="Đã khắc phục", body="Đã khắc phục tại {address}.", outcome="resolved")
    assert client.post("/inbox/answer-settings/canned/new", data=data).status_code == 303
    canned = db.session.scalar(select(CannedAnswer).where(CannedAnswer.title == "Đã khắc phục"))
    assert canned.agency_id == construction.id

    city_wide = CannedAnswer(title="Chung", body="Chung")
    other = CannedAnswer(title="Khác", body="Khác", agency=factories.agency("Sở Y tế"))
    db.session.add_all([city_wide, other])
    db.session.flush()
    assert client.get(f"/inbox/answer-settings/canned/{canned.id}").status_code == 200
    assert client.get(f"/inbox/answer-settings/canned/{city_wide.id}").status_code == 403
    assert client.get(f"/inbox/answer-settings/canned/{other.id}").status_code == 403
    assert client.get("/inbox/answer-settings/canned/999999").status_code == 404

    settings = client.get("/inbox/answer-settings").text
    data = form_data(settings, "/inbox/answer-settings/approval")
    data.pop("requires_approval", None)
    assert client.post("/inbox/answer-settings/approval", data=data).status_code == 303
    assert reload(db, construction).requires_approval is False
    health = factories.agency("Sở Y tế")
    health.requires_approval = False
    db.session.flush()
    data.update(agency=str(health.id), requires_approval="y")
    assert client.post("/inbox/answer-settings/approval", data=data).status_code == 403
    assert reload(db, health).requires_approval is False and reload(db, construction).requires_approval is False


def test_admin_edits_city_wide_canned_answers(client, db, login_as):
    login_as("admin")
    canned = CannedAnswer(title="Chung", body="Chung")
    db.session.add(canned)
    db.session.flush()
    page = client.get(f"/inbox/answer-settings/canned/{canned.id}")
    assert page.status_code == 200
    data = form_data(page.text, "")
    data.update(body="Chung: {tracking_code}")
    assert client.post(f"/inbox/answer-settings/canned/{canned.id}", data=data).status_code == 303
    assert reload(db, canned).body == "Chung: {tracking_code}" and reload(db, canned).agency_id is None


# --- who may do what ---

def test_staff_of_another_agency_cannot_answer(app, client, db, routed):
    other = factories.user("agency_staff", agency_obj=factories.agency("Sở Y tế"))
    assert AuthActions(client).login(other.email).status_code == 303
    assert client.get(panel_url(routed)).status_code == 404
    token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/inbox/").text).group(1)
    assert client.post(panel_url(routed), data={"csrf_token": token, "body": "x", "action": "draft"}).status_code == 404
    assert current(db, routed) is None


def test_ioc_sees_the_answer_but_cannot_write_it(client, db, login_as, routed):
    login_as("ioc_operator")
    page = client.get(panel_url(routed))
    assert page.status_code == 200 and 'id="answer-form"' not in page.text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.text).group(1)
    assert client.post(panel_url(routed), data={"csrf_token": token, "body": "x"}).status_code == 403


def test_staff_cannot_approve_or_send_back(client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved")
    page = client.get(panel_url(routed)).text
    assert panel_url(routed, "/approve") not in page
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    assert client.post(panel_url(routed, "/approve"), data={"csrf_token": token}).status_code == 403
    assert client.post(panel_url(routed, "/send-back"), data={"csrf_token": token}).status_code == 403
    assert client.get("/inbox/approvals").status_code == 403
    assert reload(db, routed).status == S.ANSWERED


def test_lead_of_another_agency_does_not_see_the_approval(app, client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, action="submit", body=ANSWER, outcome="resolved")
    other = factories.user("agency_lead", agency_obj=factories.agency("Sở Y tế"))
    other_client = login_client(app, other)
    assert routed.tracking_code not in other_client.get("/inbox/approvals").text
    assert other_client.get(panel_url(routed)).status_code == 404


def test_community_member_gets_nothing(client, db, login_as, routed):
    login_as("community_member")
    assert client.get(panel_url(routed)).status_code == 403
    assert client.get("/inbox/approvals").status_code == 403
    token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/account/").text).group(1)
    assert client.post(panel_url(routed), data={"csrf_token": token, "body": "x"}).status_code == 403


def test_answer_panel_is_a_fragment_for_htmx_and_included_in_the_report_view(client, db, login_as, routed):
    login_as("agency_staff")
    fragment = client.get(panel_url(routed) + "?embed=report", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section class="answer-panel"')
    assert 'name="return_to" type="hidden" value="report"' in fragment.text
    view = client.get(f"/inbox/reports/{routed.tracking_code}").text
    assert f'hx-get="{panel_url(routed)}?embed=report"' in view and f'href="{panel_url(routed)}"' in view
    # A form sent from the report view comes back to it.
    data = form_data(fragment.text, panel_url(routed))
    data.update(body=ANSWER)
    response = client.post(panel_url(routed), data=data)
    assert response.status_code == 303 and response.headers["Location"] == f"/inbox/reports/{routed.tracking_code}"


def test_file_action_with_a_stale_csrf_token_changes_no_file_but_keeps_the_text(client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, body=ANSWER, photos=[("sau.jpg", jpeg(1))])
    photo = current(db, routed).attachments[0]
    data = answer_form(client, routed)
    data.update(csrf_token="stale", body=ANSWER + " Đã kiểm tra lại.")
    url = panel_url(routed, "").replace("/answer", f"/files/{photo.id}/hide")
    response = client.post(url, data=data)
    assert response.status_code == 422 and textarea_value(response.text, "body") == ANSWER + " Đã kiểm tra lại."
    assert reload(db, photo).hidden is False
    assert current(db, routed).body == ANSWER + " Đã kiểm tra lại."  # kept by the draft token


def test_unpublished_document_is_not_found_for_another_agency(app, client, db, login_as, routed):
    login_as("agency_staff")
    post_answer(client, routed, body=ANSWER, documents=[("a.pdf", PDF)])
    doc = current(db, routed).attachments[0]
    other = login_client(app, factories.user("agency_staff", agency_obj=factories.agency("Sở Y tế")))
    assert status(other, f"/documents/{doc.id}.pdf") == 404
    assert status(other, "/documents/999999.pdf") == 404
