"""The citizen's follow-up on the tracking page (issue 5, item 5), through HTTP.

After the phone check, the reporter of a report whose answer is published says whether
it solved the problem: "satisfied" is recorded; "not satisfied" (with a comment)
reopens the report to the IOC with the comment. One opinion per published answer; the
proof of the phone check travels as a signed, short-lived token; nothing typed is
lost on an error; the phone is never echoed.
"""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from hpsmart.extensions import db as _db
from hpsmart.models import CitizenFeedback, ReportEvent, ReportStatus
from hpsmart.services import public, workflow

from .. import factories
from .test_public_pages import publish, text_of

PHONE = "0912345678"
PRIVATE_EMAIL = "nguoi.bao@example.invalid"


def csrf(client, path="/track") -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).text).group(1)


def track_with_phone(client, code, phone=PHONE):
    return client.post("/track", data={"csrf_token": csrf(client), "code": code, "phone": phone})


def form_fields(response) -> dict:
    """The hidden fields of the feedback form on the page."""
    text = response.get_data(as_text=True)
    form = text[text.index('action="/track/feedback"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'name="(csrf_token|code|token)" type="hidden" value="([^"]*)"', form))


def send(client, fields, **data):
    return client.post("/track/feedback", data={**fields, **data})


def feedback_count(report) -> int:
    return _db.session.scalar(select(func.count(CitizenFeedback.id)).where(CitizenFeedback.report_id == report.id))


@pytest.fixture()
def answered(db, users):
    report = factories.report(reporter_phone=PHONE, reporter_email=PRIVATE_EMAIL, reporter_name="Lê Thị Mai")
    response = publish(report, users)
    db.session.commit()
    return report, response


def test_the_form_appears_only_for_the_reporter_of_a_published_answer(client, answered, users, db):
    report, _ = answered
    assert 'action="/track/feedback"' not in client.get("/track", query_string={"code": report.tracking_code}).text
    assert 'action="/track/feedback"' not in track_with_phone(client, report.tracking_code, "0987654321").text
    page = track_with_phone(client, report.tracking_code, "0912 345 678")
    assert page.status_code == 200 and 'action="/track/feedback"' in page.text
    assert "Did the answer solve the problem?" in text_of(page) or "Câu trả lời đã giải quyết" in text_of(page)
    assert PHONE not in page.text and "0912 345 678" not in page.text and PRIVATE_EMAIL not in page.text

    pending = factories.report(reporter_phone=PHONE)
    db.session.commit()
    assert 'action="/track/feedback"' not in track_with_phone(client, pending.tracking_code).text


def test_satisfied_is_recorded_once_and_thanked(client, answered):
    report, response = answered
    fields = form_fields(track_with_phone(client, report.tracking_code))
    sent = send(client, fields, satisfied="yes", comment="Đã sửa rất nhanh, cảm ơn.")
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/track?code={report.tracking_code}")
    feedback = _db.session.scalar(select(CitizenFeedback).where(CitizenFeedback.report_id == report.id))
    assert feedback.satisfied is True and feedback.response_id == response.id
    assert feedback.comment == "Đã sửa rất nhanh, cảm ơn."
    _db.session.refresh(report)
    assert report.status == ReportStatus.PUBLISHED
    event = report.events[-1]
    assert (event.action, event.new_value, event.public, event.actor_id) == ("feedback", "satisfied", False, None)

    thanked = client.get(sent.headers["Location"])
    assert "cảm ơn" in text_of(thanked).lower() or "thank you" in text_of(thanked).lower()
    again = track_with_phone(client, report.tracking_code)
    assert 'action="/track/feedback"' not in again.text and 'id="feedback"' in again.text

    # The same form sent again (double click, second tab): nothing more is stored.
    repeat = send(client, fields, satisfied="no", comment="Thử lại")
    assert repeat.status_code == 303
    assert feedback_count(report) == 1
    _db.session.refresh(report)
    assert report.status == ReportStatus.PUBLISHED


def test_not_satisfied_needs_a_comment_then_reopens_the_report_to_the_ioc(client, answered, users):
    report, response = answered
    fields = form_fields(track_with_phone(client, report.tracking_code))
    refused = send(client, fields, satisfied="no", comment="   ")
    assert refused.status_code == 422
    assert 'id="comment-err"' in refused.text
    assert re.search(r'value="no"[^>]*checked|checked[^>]*value="no"', refused.text)
    assert feedback_count(report) == 0

    nothing = send(client, fields, comment="Chưa chọn")
    assert nothing.status_code == 422 and 'id="satisfied-err"' in nothing.text and "Chưa chọn" in nothing.text

    fields = form_fields(refused)  # the page sent back carries a fresh proof
    sent = send(client, fields, satisfied="no", comment="Ổ gà vẫn còn, nước đọng sâu hơn.")
    assert sent.status_code == 303
    _db.session.refresh(report)
    assert report.status == ReportStatus.REOPENED
    status_event = [e for e in report.events if e.action == "status"][-1]
    assert status_event.new_value == "reopened" and status_event.actor_id is None
    assert status_event.note == "Ổ gà vẫn còn, nước đọng sâu hơn."
    feedback = _db.session.scalar(select(CitizenFeedback).where(CitizenFeedback.report_id == report.id))
    assert (feedback.satisfied, feedback.response_id) == (False, response.id)
    # The IOC has it in its queue (triage sources include reopened) and the comment is not public.
    assert workflow.can(users["ioc_operator"], report, "route")
    public_page = client.get(f"/reports/{report.tracking_code}")
    assert public_page.status_code == 200 and "nước đọng sâu hơn" not in text_of(public_page)
    assert "nước đọng sâu hơn" not in text_of(client.get("/track", query_string={"code": report.tracking_code}))


def test_a_new_answer_after_reopening_can_be_judged_again(client, answered, users, db):
    report, first = answered
    assert report.satisfied is None
    public.give_feedback(report, first.id, False, "Chưa xong")
    assert report.satisfied is False  # the report keeps its latest verdict (statistics read it)
    second = publish(report, users, body="Đã làm lại lớp nhựa.")
    db.session.commit()
    assert public.feedback_state(report).open and public.feedback_state(report).response.id == second.id
    sent = send(client, form_fields(track_with_phone(client, report.tracking_code)), satisfied="yes")
    assert sent.status_code == 303
    assert {(f.response_id, f.satisfied) for f in db.session.scalars(select(CitizenFeedback))} == {
        (first.id, False), (second.id, True)}
    db.session.expire_all()
    assert db.session.get(type(report), report.id).satisfied is True


def test_a_form_for_an_older_answer_is_refused(client, answered, users, db):
    report, first = answered
    fields = form_fields(track_with_phone(client, report.tracking_code))
    public.give_feedback(report, first.id, False, "Chưa xong")
    publish(report, users, body="Câu trả lời mới")
    db.session.commit()
    stale = send(client, fields, satisfied="yes")
    assert stale.status_code == 303
    assert feedback_count(report) == 1  # the first one only
    followed = client.get(stale.headers["Location"])
    assert "new answer" in text_of(followed) or "câu trả lời mới" in text_of(followed).lower()


def test_without_a_valid_proof_the_phone_is_asked_again_and_nothing_typed_is_lost(client, answered, app):
    report, _ = answered
    fields = form_fields(track_with_phone(client, report.tracking_code))
    forged = send(client, {**fields, "token": fields["token"][:-2] + "xx"}, satisfied="no",
                  comment="Vẫn còn ổ gà lớn")
    assert forged.status_code == 422
    assert 'name="phone"' in forged.text and 'id="phone-err"' in forged.text
    assert "Vẫn còn ổ gà lớn" in text_of(forged)
    assert form_fields(forged)["token"] == ""  # no proof handed out without the phone
    assert feedback_count(report) == 0

    wrong = send(client, form_fields(forged), satisfied="no", comment="Vẫn còn ổ gà lớn", phone="0987 654 321")
    assert wrong.status_code == 422 and feedback_count(report) == 0
    assert "0987 654 321" not in wrong.text and "0987654321" not in wrong.text

    right = send(client, form_fields(forged), satisfied="no", comment="Vẫn còn ổ gà lớn", phone="+84 912 345 678")
    assert right.status_code == 303 and feedback_count(report) == 1


def test_an_expired_proof_is_refused(app, answered, monkeypatch):
    report, response = answered
    token = public.feedback_token(report, response, app.secret_key)
    assert public.read_feedback_token(token, app.secret_key) == (report.id, response.id)
    later = time.time() + public.FEEDBACK_TOKEN_MAX_AGE + 5
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: later))
    assert public.read_feedback_token(token, app.secret_key) is None
    assert public.read_feedback_token(token, "another key") is None
    assert public.read_feedback_token(None, app.secret_key) is None


def test_a_proof_for_another_report_does_not_count(client, answered, users, db):
    report, _ = answered
    other = factories.report(reporter_phone="0933333333")
    publish(other, users)
    db.session.commit()
    fields = form_fields(track_with_phone(client, report.tracking_code))
    sent = send(client, {**fields, "code": other.tracking_code}, satisfied="no", comment="Không phải của tôi")
    assert sent.status_code == 422 and 'id="phone-err"' in sent.text
    assert feedback_count(other) == 0


def test_an_expired_form_keeps_the_comment(client, answered):
    report, _ = answered
    fields = form_fields(track_with_phone(client, report.tracking_code))
    expired = send(client, {**fields, "csrf_token": "expired"}, satisfied="yes", comment="Rất tốt")
    assert expired.status_code == 422
    assert "Rất tốt" in text_of(expired) and feedback_count(report) == 0
    assert send(client, form_fields(expired), satisfied="yes", comment="Rất tốt").status_code == 303


def test_unknown_code_is_404(client):
    assert client.post("/track/feedback", data={"code": "HP-2026-999999"}).status_code == 404
    assert client.post("/track/feedback", data={}).status_code == 404


def test_service_rules(answered, db):
    report, response = answered
    with pytest.raises(public.FeedbackError) as error:
        public.give_feedback(report, response.id, None, "")
    assert set(error.value.errors) == {"satisfied"} and not error.value.closed
    with pytest.raises(public.FeedbackError) as error:
        public.give_feedback(report, response.id, True, "x" * (public.FEEDBACK_COMMENT_MAX + 1))
    assert set(error.value.errors) == {"comment"}
    public.give_feedback(report, response.id, True, "")
    with pytest.raises(public.FeedbackError) as error:
        public.give_feedback(report, response.id, False, "Lần hai")
    assert error.value.closed
    assert feedback_count(report) == 1


def test_one_opinion_per_answer_is_enforced_by_the_database(answered, db):
    report, response = answered
    db.session.add(CitizenFeedback(report=report, response=response, satisfied=True))
    db.session.flush()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(CitizenFeedback(report=report, response=response, satisfied=False))
            db.session.flush()


def test_reports_published_before_answers_had_rows_can_be_judged_once(client, users, db):
    report = factories.report(reporter_phone=PHONE)
    workflow.apply(report, users["ioc_operator"], "accept")
    workflow.apply(report, users["ioc_operator"], "route", agency=factories.agency("Sở Xây dựng"))
    workflow.apply(report, users["agency_staff"], "answer")
    workflow.apply(report, users["agency_lead"], "publish", note="Đã xử lý.")
    db.session.commit()
    sent = send(client, form_fields(track_with_phone(client, report.tracking_code)), satisfied="yes")
    assert sent.status_code == 303
    feedback = db.session.scalar(select(CitizenFeedback).where(CitizenFeedback.report_id == report.id))
    assert feedback.response_id is None and feedback.satisfied
    assert not public.feedback_state(report).open


def test_opinions_count_in_the_overview(client, answered):
    report, _ = answered
    send(client, form_fields(track_with_phone(client, report.tracking_code)), satisfied="no", comment="Chưa ổn")
    text = text_of(client.get("/reports/overview"))
    nums = [int(n) for n in re.findall(r'<span class="num">(\d+)</span>', text)]
    assert nums[4:6] == [0, 1]
    assert db_events(report)[-1].new_value == "reopened"


def db_events(report):
    return list(_db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                    .order_by(ReportEvent.id)))
