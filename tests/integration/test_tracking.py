"""The public tracking page: what anyone with the code sees, what the phone unlocks, and what
is never shown (the reporter's phone and e-mail; the name unless allowed)."""
from __future__ import annotations

import html
import re

import pytest

from hpsmart.models import ReportEvent, ReportStatus

from .. import factories
from .test_intake import EMAIL, jpeg_bytes, limited_client, submit  # noqa: F401 - fixture

PRIVATE_EMAIL = "secret.reporter@example.com"


def token(client) -> str:
    page = client.get("/track")
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)


def look_up(client, code, phone=None):
    if phone is None:
        return client.get("/track", query_string={"code": code})
    return client.post("/track", data={"csrf_token": token(client), "code": code, "phone": phone})


def body_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_no_contact_data(response, phone_digits="0912345678"):
    """Neither the phone (in any usual spelling) nor the e-mail appears in the bytes."""
    raw = response.get_data()
    text = body_of(response)
    for needle in (phone_digits, phone_digits[1:], f"{phone_digits[:4]} {phone_digits[4:7]} {phone_digits[7:]}",
                   "+84" + phone_digits[1:], PRIVATE_EMAIL, EMAIL):
        assert needle.encode() not in raw and needle not in text, needle


@pytest.fixture()
def report(db):
    return factories.report(reporter_name="Lê Thị Mai", reporter_phone="0912345678",
                            reporter_email=PRIVATE_EMAIL, description="Mô tả chi tiết riêng tư",
                            address="99 Điện Biên Phủ")


def test_form_alone(client):
    response = client.get("/track")
    assert response.status_code == 200
    assert 'name="code"' in response.text and 'name="phone"' in response.text


def test_summary_without_phone_hides_details_and_contact(client, report):
    response = look_up(client, report.tracking_code.lower().replace("-", " "))
    assert response.status_code == 200
    text = body_of(response)
    assert report.tracking_code in text
    assert "Giao thông" in text and "Phường Hồng Bàng" in text
    assert ReportStatus.NEW.title in text or "Mới" in text
    assert "Mô tả chi tiết riêng tư" not in text and "99 Điện Biên Phủ" not in text
    assert report.title not in text
    assert "Lê Thị Mai" not in text  # the name is not public by default
    assert_no_contact_data(response)


def test_name_is_shown_only_when_allowed(client, db, report):
    report.reporter_name_public = True
    db.session.flush()
    response = look_up(client, report.tracking_code)
    assert "Lê Thị Mai" in body_of(response)
    assert_no_contact_data(response)


def test_matching_phone_shows_details_and_public_photos_only(app, client):
    submitted = submit(client, photos=[("a.jpg", jpeg_bytes())], reporter_email=PRIVATE_EMAIL,
                       reporter_phone="0912 345 678")
    photo = submitted.attachments[0]
    response = look_up(client, submitted.tracking_code, phone="+84 912 345 678")
    assert response.status_code == 200
    text = body_of(response)
    assert submitted.description in text and submitted.address in text and submitted.title in text
    thumb = "/media/t/" + photo.thumb_path.split("/", 1)[1]
    assert thumb in text and "/media/p/" + photo.public_path.split("/", 1)[1] in text
    assert photo.original_path not in text and "/media/o/" not in text
    assert_no_contact_data(response)  # the typed phone is not echoed back either
    served = client.get(thumb)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    served.close()


def test_wrong_phone_shows_no_details(client, report):
    response = look_up(client, report.tracking_code, phone="0987 654 321")
    assert response.status_code == 200
    text = body_of(response)
    assert "Mô tả chi tiết riêng tư" not in text
    assert 'id="phone-err"' in text
    assert_no_contact_data(response)
    assert_no_contact_data(response, "0987654321")


def test_malformed_phone_is_a_422_without_details(client, report):
    response = look_up(client, report.tracking_code, phone="12")
    assert response.status_code == 422
    assert "Mô tả chi tiết riêng tư" not in body_of(response)


def test_unknown_code_is_404_with_the_form(client):
    response = look_up(client, "HP-2026-999999")
    assert response.status_code == 404
    assert 'name="code"' in response.text and 'id="code-err"' in response.text
    assert "HP-2026-999999" in response.text


def test_not_a_code_is_422(client):
    response = look_up(client, "hello")
    assert response.status_code == 422
    assert 'id="code-err"' in response.text


def test_history_shows_public_events_only_and_the_published_answer(client, db, report):
    db.session.add(ReportEvent(report=report, action="note", note="Ghi chú nội bộ: gọi lại sau",
                               public=False))
    db.session.add(ReportEvent(report=report, action="status", old_value="new", new_value="accepted",
                               note="ghi chú tiếp nhận nội bộ", public=True))
    db.session.add(ReportEvent(report=report, action="status", old_value="in_progress", new_value="answered",
                               note="Bản nháp trả lời", public=False))
    db.session.add(ReportEvent(report=report, action="status", old_value="answered", new_value="published",
                               note="Đã vá ổ gà ngày 12/3.", public=True))
    report.status = ReportStatus.PUBLISHED
    db.session.flush()
    response = look_up(client, report.tracking_code)
    text = body_of(response)
    assert "Ghi chú nội bộ" not in text
    assert "ghi chú tiếp nhận nội bộ" not in text  # notes of intermediate steps stay internal
    assert ReportStatus.ANSWERED.title not in text and "Bản nháp trả lời" not in text
    assert ReportStatus.ACCEPTED.title in text or "Đã tiếp nhận" in text
    # The answer in its own section (hpsmart/services/public.present), not repeated in the history.
    assert re.search(r'id="answer">\s*<p class="prewrap">Đã vá ổ gà ngày 12/3\.</p>', text)
    assert text.count("Đã vá ổ gà ngày 12/3.") == 1
    assert_no_contact_data(response)


def test_lookup_rate_limit_answers_429(limited_client):  # noqa: F811 - fixture
    for _ in range(30):
        assert limited_client.get("/track", query_string={"code": "HP-2026-999999"}).status_code == 404
    response = limited_client.get("/track", query_string={"code": "HP-2026-999999"})
    assert response.status_code == 429
    assert "<h1>" in response.text
