"""Issue 5, item 6: the notification outbox and its worker, against a real SMTP server.

The SMTP server is aiosmtpd, started in this process on 127.0.0.1 and a free port; it
keeps every message it accepts (and can be told to answer 451 or 550 instead).
Most tests run in the usual rolled-back transaction (the worker's commits release
savepoints); the tests with two workers and with the worker as a separate process use
a database of their own that really commits: a new SQLite file, or the PostgreSQL test
database when ``TEST_DATABASE_URL`` is set (their rows are deleted afterwards).
"""
from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select

from hpsmart import create_app
from hpsmart.extensions import db as _db
from hpsmart.i18n import to_local
from hpsmart.models import (OutboxMessage, OutboxState, Outcome, ReportStatus, Response, ResponseState, Role,
                            Urgency, utcnow)
from hpsmart.services import notifications, workflow

from .. import factories
from ..conftest import TEST_DATABASE_URL, csrf_token

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://phananh.haiphong.example"
# The reporter of issue 5's personal-data case.
BINH = {"reporter_name": "Trần Thị Bình", "reporter_phone": "0900000001", "reporter_email": "binh@example.invalid"}
WAIT_SECONDS = 30  # longest wait for a separate worker process (a limit, not a measured time)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """aiosmtpd handler: keeps each accepted message, parsed, or answers ``reply``."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply = "250 OK"
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if not self.reply.startswith("250"):
            return self.reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture()
def sink():
    """A running SMTP server; ``sink.port`` is where it listens."""
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture()
def mail_settings(app, sink, monkeypatch):
    """Point the app at the sink; links start with BASE_URL."""
    for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "MAIL_FROM": "phananh@haiphong.example",
                       "PUBLIC_BASE_URL": BASE_URL, "SMTP_STARTTLS": False, "SMTP_USER": ""}.items():
        monkeypatch.setitem(app.config, key, value)
    return app.config


@pytest.fixture()
def construction(db):
    """Sở Xây dựng with a shared mailbox."""
    agency = factories.agency("Sở Xây dựng")
    agency.email = "soxaydung@haiphong.example"
    db.session.flush()
    return agency


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def outbox(db, **where) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def accepted_report(**kw):
    """A report the IOC has accepted (routing it sets its deadline)."""
    return factories.report(status=ReportStatus.ACCEPTED, **kw)


# --- Queueing ----------------------------------------------------------------------------


def test_routing_queues_one_message_per_recipient_in_the_same_transaction(db, users, construction):
    staff, lead = users["agency_staff"], users["agency_lead"]
    staff.language = "en"
    factories.user(Role.AGENCY_STAFF, agency_obj=construction, active=False)  # left the agency
    factories.user(Role.AGENCY_STAFF, agency_obj=factories.agency("Sở Y tế"))  # another agency
    report = accepted_report()

    savepoint = db.session.begin_nested()
    workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    assert len(outbox(db, report_id=report.id)) == 3
    savepoint.rollback()  # the event is rolled back: so are its messages
    assert outbox(db, report_id=report.id) == []

    event = workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    rows = outbox(db, report_id=report.id)
    assert {(r.recipient, r.language) for r in rows} == {
        (staff.email, "en"), (lead.email, "vi"), ("soxaydung@haiphong.example", "vi")}
    assert all(r.state == OutboxState.PENDING and r.template == "routed" and r.attempts == 0 for r in rows)
    assert len({r.dedup_key for r in rows}) == 3
    assert all(r.dedup_key.startswith(f"routed:event-{event.id}:") for r in rows)
    assert all(re.fullmatch(rf"<outbox-{r.id}\.[0-9a-f]{{12}}@[\w.-]+>", r.message_id) for r in rows)
    # The same event never queues twice.
    assert notifications.notify(report, "routed", event=event) == []
    assert len(outbox(db, report_id=report.id)) == 3


def test_routing_through_the_report_page_queues_the_mails(client, db, users, login_as, construction):
    from .test_report_view import act

    report = accepted_report()
    login_as("ioc_operator")
    assert act(client, report, "route", agency=str(construction.id)).status_code == 303
    rows = outbox(db, report_id=report.id)
    assert {r.recipient for r in rows} == {users["agency_staff"].email, users["agency_lead"].email,
                                           "soxaydung@haiphong.example"}


def test_an_address_gets_one_message_even_if_it_is_also_the_agency_mailbox(db, construction):
    lead = factories.user(Role.AGENCY_LEAD, email="soxaydung@haiphong.example", agency_obj=construction,
                          language="en")
    report = accepted_report()
    workflow.apply(report, factories.user(Role.IOC_OPERATOR), "route", agency=construction)
    rows = outbox(db, report_id=report.id)
    assert [(r.recipient, r.language) for r in rows] == [(lead.email, "en")]


def test_changing_the_agency_tells_the_new_agency(db, users, construction):
    health = factories.agency("Sở Y tế")
    health_staff = factories.user(Role.AGENCY_STAFF, agency_obj=health)
    report = factories.report(status=ReportStatus.ROUTED, agency=construction, accepted_at=utcnow())
    events = workflow.update_fields(report, users["ioc_operator"], {"agency": health}, report.version)
    rows = outbox(db, report_id=report.id)
    assert [(r.recipient, r.template) for r in rows] == [(health_staff.email, "agency_changed")]
    agency_event = next(e for e in events if e.action == "agency")
    assert rows[0].dedup_key.startswith(f"agency_changed:event-{agency_event.id}:")
    # A change of something else tells nobody.
    workflow.update_fields(report, users["ioc_operator"], {"address": "5 Lạch Tray"}, report.version)
    assert len(outbox(db, report_id=report.id)) == 1


def _response(report, author, **kw) -> Response:
    values = dict(report=report, agency=report.agency, author=author, body="Đã vá ổ gà ngày 28/11.",
                  outcome=Outcome.RESOLVED, state=ResponseState.SUBMITTED, submitted_at=utcnow())
    values.update(kw)
    response = Response(**values)
    _db.session.add(response)
    _db.session.flush()
    return response


def test_an_answer_awaiting_approval_goes_to_the_active_leads(db, users, construction):
    second_lead = factories.user(Role.AGENCY_LEAD, agency_obj=construction, language="en")
    factories.user(Role.AGENCY_LEAD, agency_obj=construction, active=False)
    report = factories.report(status=ReportStatus.ANSWERED, agency=construction)
    response = _response(report, users["agency_staff"])
    rows = notifications.notify(report, "answer_submitted", response=response)
    assert {(r.recipient, r.language) for r in rows} == {(users["agency_lead"].email, "vi"), (second_lead.email, "en")}
    assert notifications.notify(report, "answer_submitted", response=response) == []
    # Sent back and submitted again: a new submission, new mails.
    response.submitted_at = response.submitted_at + timedelta(hours=2)
    assert len(notifications.notify(report, "answer_submitted", response=response)) == 2


def test_the_citizen_is_told_only_when_she_gave_an_email(db, users, construction):
    silent = factories.report(status=ReportStatus.PUBLISHED, agency=construction, reporter_email="")
    assert notifications.notify(silent, "answer_published",
                                response=_response(silent, users["agency_staff"])) == []
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    rows = notifications.notify(report, "answer_published", response=_response(report, users["agency_staff"]))
    assert [(r.recipient, r.language) for r in rows] == [("binh@example.invalid", "vi")]


def test_unknown_kind_or_missing_event_is_refused(db, users):
    report = factories.report()
    with pytest.raises(ValueError):
        notifications.notify(report, "birthday", event=report.events[0])
    with pytest.raises(ValueError):
        notifications.notify(report, "routed")


# --- Sending -----------------------------------------------------------------------------


def test_the_worker_sends_each_message_once_in_the_recipients_language(runner, db, users, construction, sink,
                                                                       mail_settings):
    staff, lead = users["agency_staff"], users["agency_lead"]
    staff.language = "en"
    report = accepted_report(urgency=Urgency.URGENT)
    workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    db.session.commit()
    deadline = to_local(report.deadline)

    result = runner.invoke(args=["send-notifications", "--once"])
    assert result.exit_code == 0, result.output
    assert "3 sent" in result.output
    assert len(sink.messages) == 3
    link = f"{BASE_URL}/inbox/reports/{report.tracking_code}"

    [english] = sink.to(staff.email)
    assert english["Subject"] == f"[Hải Phòng Smart] Report {report.tracking_code} for your agency: {report.title}"
    text = body(english)
    for expected in (report.tracking_code, report.title, "Traffic and roads", "Phường Hồng Bàng", "Urgency: Urgent",
                     f"Deadline: {deadline:%d/%m/%Y %H:%M}", link, "Sở Xây dựng"):
        assert expected in text, expected
    assert english["Content-Language"] == "en"
    assert english["From"] == "phananh@haiphong.example"

    [vietnamese] = sink.to(lead.email)
    assert vietnamese["Subject"] == (f"[Hải Phòng Smart] Phản ánh {report.tracking_code} chuyển đến đơn vị: "
                                     f"{report.title}")
    text = body(vietnamese)
    for expected in (report.tracking_code, "Lĩnh vực: Giao thông", "Mức độ khẩn: Khẩn",
                     f"Thời hạn xử lý: {deadline:%d/%m/%Y %H:%M} (giờ Việt Nam)", link):
        assert expected in text, expected
    assert "Deadline" not in text and vietnamese["Content-Language"] == "vi"
    assert sink.envelopes[0][0] == "phananh@haiphong.example"

    rows = outbox(db, report_id=report.id)
    assert {m["Message-ID"] for m in sink.messages} == {r.message_id for r in rows}
    assert all(r.state == OutboxState.SENT and r.attempts == 1 and r.sent_at is not None for r in rows)

    # A second run sends nothing more.
    result = runner.invoke(args=["send-notifications", "--once"])
    assert (result.exit_code, result.output) == (0, "")  # nothing due, nothing said (cron mails output)
    assert len(sink.messages) == 3


def test_the_citizen_gets_the_answer_and_the_public_tracking_link(db, users, construction, sink, mail_settings):
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    response = _response(report, users["agency_lead"], outcome=Outcome.SCHEDULED, scheduled_for=date(2026, 12, 15),
                         state=ResponseState.PUBLISHED, published_at=utcnow())
    notifications.notify(report, "answer_published", response=response)
    db.session.commit()
    assert notifications.send_all_due().sent == 1
    [message] = sink.messages
    assert message["To"] == "binh@example.invalid"
    assert message["Subject"] == f"[Hải Phòng Smart] Phản ánh {report.tracking_code} của bạn đã được trả lời"
    text = body(message)
    for expected in ("Đã vá ổ gà ngày 28/11.", "15/12/2026", f"{BASE_URL}/track?code={report.tracking_code}",
                     "Sở Xây dựng"):
        assert expected in text, expected
    assert "/inbox/" not in text


def test_mail_to_anyone_but_the_reporter_has_none_of_her_personal_data(db, users, construction, sink,
                                                                       mail_settings, caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py, run by the app fixture) disables existing loggers.
    monkeypatch.setattr(notifications.log, "disabled", False)
    caplog.set_level(logging.DEBUG, logger="hpsmart")
    # She even typed her name and phone into the title.
    report = accepted_report(title="Ổ gà trước nhà Trần Thị Bình, gọi 0900 000 001", **BINH)
    ioc = users["ioc_operator"]
    workflow.apply(report, ioc, "route", agency=construction)
    health = factories.agency("Sở Y tế")
    factories.user(Role.AGENCY_LEAD, agency_obj=health)
    workflow.update_fields(report, ioc, {"agency": health}, report.version)
    workflow.update_fields(report, ioc, {"agency": construction}, report.version)
    report.status = ReportStatus.ANSWERED
    response = _response(report, users["agency_staff"], body="Đã liên hệ chị Trần Thị Bình (0900000001).")
    notifications.notify(report, "answer_submitted", response=response)
    notifications.notify(report, "answer_published", response=response)
    db.session.commit()
    notifications.send_all_due()

    staff_mail = [m for m in sink.messages if m["To"] != "binh@example.invalid"]
    assert len(staff_mail) >= 6 and len(sink.to("binh@example.invalid")) == 1
    kinds = {r.template for r in outbox(db, report_id=report.id) if r.recipient != "binh@example.invalid"}
    assert kinds == {"routed", "agency_changed", "answer_submitted"}
    for message in staff_mail:
        text = f"{message['Subject']}\n{body(message)}\n{message.as_string()}"
        folded = re.sub(r"\D", "", text)
        for secret in ("Trần Thị Bình", "Bình", "binh@example.invalid", "0900 000 001"):
            assert secret.casefold() not in text.casefold(), (secret, message["To"])
        assert "0900000001" not in folded
    # Log lines carry ids, never an address, a name or a phone.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hpsmart"))
    assert "outbox" in logged
    for secret in ("Bình", "binh@", "0900000001", "0900 000 001", users["agency_lead"].email, "soxaydung@"):
        assert secret not in logged, secret


def test_a_worker_that_died_after_claiming_is_replaced_once_the_lease_runs_out(db, users, construction, sink,
                                                                               mail_settings):
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    [row] = notifications.notify(report, "answer_published", response=_response(report, users["agency_lead"]))
    db.session.commit()
    t0 = utcnow()
    assert notifications.claim(row.id, t0)  # ... and the worker is killed here
    assert outbox(db)[-1].state == OutboxState.SENDING

    lease = timedelta(seconds=mail_settings["OUTBOX_LEASE_SECONDS"])
    assert notifications.send_all_due(now=t0 + lease - timedelta(seconds=1)).claimed == 0  # still held
    assert sink.messages == []
    assert notifications.send_all_due(now=t0 + lease + timedelta(seconds=1)).sent == 1
    assert notifications.send_all_due(now=t0 + 2 * lease).claimed == 0
    [message] = sink.messages
    row = outbox(db, id=row.id)[0]
    assert message["Message-ID"] == row.message_id
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)


class Killed(BaseException):
    """The worker process dying (not an ``Exception``: nothing in the worker catches it)."""


def test_killed_between_smtp_accept_and_commit_the_resend_has_the_same_message_id(db, users, construction, sink,
                                                                                   mail_settings):
    """The window that remains: the server accepted the message, the ``sent`` commit never
    happened. After the lease the row is sent again with the same Message-ID, so her mail
    system can drop the copy; she sees one message."""
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    [row] = notifications.notify(report, "answer_published", response=_response(report, users["agency_lead"]))
    db.session.commit()

    class DiesAfterSending(notifications.SMTPTransport):
        def send(self, message):
            super().send(message)
            raise Killed

    t0 = utcnow()
    with pytest.raises(Killed):
        notifications.send_due(now=t0, transport_factory=lambda: DiesAfterSending(mail_settings))
    assert outbox(db, id=row.id)[0].state == OutboxState.SENDING
    later = t0 + timedelta(seconds=mail_settings["OUTBOX_LEASE_SECONDS"] + 1)
    assert notifications.send_all_due(now=later).sent == 1
    assert notifications.send_all_due(now=later + timedelta(hours=1)).claimed == 0
    assert len(sink.messages) == 2
    assert sink.messages[0]["Message-ID"] == sink.messages[1]["Message-ID"] == row.message_id
    assert len({m["Message-ID"] for m in sink.to("binh@example.invalid")}) == 1  # one message for her mailbox


def test_smtp_down_is_retried_later_not_lost(db, users, construction, sink, mail_settings, monkeypatch):
    report = accepted_report()
    workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    db.session.commit()
    monkeypatch.setitem(mail_settings, "SMTP_PORT", free_port())  # nobody listens there
    t0 = utcnow()
    summary = notifications.send_all_due(now=t0)
    assert (summary.sent, summary.retrying, summary.stopped) == (0, 1, True)
    rows = outbox(db, report_id=report.id)
    # The first message was tried; the others were left alone for the next run.
    assert sorted(r.attempts for r in rows) == [0, 0, 1]
    tried = next(r for r in rows if r.attempts == 1)
    assert tried.state == OutboxState.PENDING and "ConnectionRefusedError" in tried.last_error
    assert tried.locked_until == t0 + timedelta(seconds=mail_settings["OUTBOX_RETRY_SECONDS"])

    monkeypatch.setitem(mail_settings, "SMTP_PORT", sink.port)  # the server is back
    assert notifications.send_all_due(now=t0 + timedelta(seconds=1)).sent == 2  # the tried one waits
    assert notifications.send_all_due(now=t0 + timedelta(minutes=2)).sent == 1
    assert len(sink.messages) == 3
    assert all(r.state == OutboxState.SENT for r in outbox(db, report_id=report.id))
    assert len({m["Message-ID"] for m in sink.messages}) == 3


def test_temporary_refusals_back_off_then_fail_and_an_admin_can_retry(client, db, users, login_as, construction,
                                                                     sink, mail_settings, monkeypatch):
    monkeypatch.setitem(mail_settings, "OUTBOX_MAX_ATTEMPTS", 2)
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    [row] = notifications.notify(report, "answer_published", response=_response(report, users["agency_lead"]))
    db.session.commit()
    sink.reply = "451 4.3.0 Mailbox busy, try later"
    t0 = utcnow()
    assert notifications.send_all_due(now=t0).retrying == 1
    first = outbox(db, id=row.id)[0]
    assert (first.state, first.attempts) == (OutboxState.PENDING, 1) and "451" in first.last_error
    assert first.locked_until == t0 + timedelta(seconds=60)
    assert notifications.send_all_due(now=t0 + timedelta(seconds=61)).failed == 1  # second and last attempt
    failed = outbox(db, id=row.id)[0]
    assert (failed.state, failed.attempts) == (OutboxState.FAILED, 2)

    login_as("admin")
    page = client.get("/admin/outbox?state=failed")
    assert page.status_code == 200
    assert f'action="/admin/outbox/{row.id}/retry"' in page.text and "451 4.3.0 Mailbox busy" in page.text
    token = csrf_token(client, "/admin/outbox")
    assert client.post(f"/admin/outbox/{row.id}/retry").status_code == 400  # no CSRF token
    response = client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    retried = outbox(db, id=row.id)[0]
    assert (retried.state, retried.attempts) == (OutboxState.PENDING, 0)
    assert client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": token}).status_code == 303
    assert outbox(db, id=row.id)[0].state == OutboxState.PENDING  # not failed: nothing to retry

    sink.reply = "250 OK"
    assert notifications.send_all_due().sent == 1
    assert len(sink.messages) == 1


def test_a_permanent_refusal_fails_at_once(db, users, construction, sink, mail_settings):
    report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
    [row] = notifications.notify(report, "answer_published", response=_response(report, users["agency_lead"]))
    db.session.commit()
    sink.reply = "550 5.1.1 No such user"
    summary = notifications.send_all_due()
    assert (summary.sent, summary.retrying, summary.failed) == (0, 0, 1)
    failed = outbox(db, id=row.id)[0]
    assert (failed.state, failed.attempts) == (OutboxState.FAILED, 1) and "550 5.1.1" in failed.last_error


def test_the_outbox_page_and_retry_are_for_administrators_only(client, db, users, login_as):
    login_as("ioc_operator")
    token = csrf_token(client, "/account/")
    assert client.get("/admin/outbox").status_code == 403
    assert client.post("/admin/outbox/1/retry", data={"csrf_token": token}).status_code == 403


# --- Several workers, and the worker as a process -----------------------------------------


@pytest.fixture()
def committed_app(app, tmp_path):
    """An app whose database really commits: a migrated SQLite file of its own, or the
    PostgreSQL test database (outbox rows are deleted afterwards)."""
    from flask_migrate import upgrade

    if TEST_DATABASE_URL:
        worker_app, url = app, app.config["SQLALCHEMY_DATABASE_URI"]
    else:
        url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
        worker_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "outbox", "SERVER_NAME": None,
                                 "UPLOAD_FOLDER": str(tmp_path / "uploads"), "RATELIMIT_ENABLED": False})
        with worker_app.app_context():
            upgrade()
    worker_app.database_url = url
    with worker_app.app_context():
        _db.session.execute(delete(OutboxMessage))
        _db.session.commit()
    try:
        yield worker_app
    finally:
        with worker_app.app_context():
            _db.session.execute(delete(OutboxMessage))
            _db.session.commit()
            _db.session.remove()
            if worker_app is not app:
                _db.engine.dispose()


def queue_plain(count: int, start: int = 0) -> list[int]:
    """``count`` ready messages (no report), committed; returns their ids."""
    rows = []
    for n in range(start, start + count):
        row = OutboxMessage(dedup_key=f"routed:test-{n}:staff{n}@test.example.com",
                            recipient=f"staff{n}@test.example.com", language="vi" if n % 2 else "en",
                            template="routed", context={"tracking_code": f"HP-2026-{n:06d}", "title": f"Ổ gà số {n}",
                                                        "category": "Giao thông", "ward": "Phường Hồng Bàng",
                                                        "urgency": "normal", "deadline": None, "agency": "Sở Xây dựng",
                                                        "path": f"/inbox/reports/HP-2026-{n:06d}"})
        _db.session.add(row)
        rows.append(row)
    _db.session.flush()
    for row in rows:
        row.message_id = notifications.message_id_for(row)
    _db.session.commit()
    return [row.id for row in rows]


def test_a_row_is_claimed_by_one_worker_only(committed_app):
    with committed_app.app_context():
        [message_id] = queue_plain(1)
        now = utcnow()
    with committed_app.app_context():
        first = notifications.claim(message_id, now)
    with committed_app.app_context():
        second = notifications.claim(message_id, now)
    assert first == now + timedelta(seconds=committed_app.config["OUTBOX_LEASE_SECONDS"])
    assert second is None


def test_two_workers_at_once_send_each_message_once(committed_app, sink, monkeypatch):
    monkeypatch.setitem(committed_app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(committed_app.config, "SMTP_PORT", sink.port)
    with committed_app.app_context():
        ids = queue_plain(40)
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with committed_app.app_context():
                start.wait()
                results.append(notifications.send_all_due(batch=10))
                _db.session.remove()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.sent for r in results) == 40
    assert sorted(i for r in results for i in r.claimed_ids) == ids  # each claimed by exactly one
    assert len(sink.messages) == 40
    assert len({m["Message-ID"] for m in sink.messages}) == 40
    with committed_app.app_context():
        rows = _db.session.scalars(select(OutboxMessage)).all()
        assert {(r.state, r.attempts) for r in rows} == {(OutboxState.SENT, 1)}


def _wait_for(condition, process) -> None:
    """Poll until ``condition()`` or the worker exits or WAIT_SECONDS pass (then fail)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the worker did not send in time"
        time.sleep(0.05)


def test_the_worker_service_keeps_sending_and_stops_cleanly_on_sigterm(committed_app, sink, tmp_path):
    with committed_app.app_context():
        queue_plain(2)
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": committed_app.database_url,
           "SECRET_KEY": "outbox", "UPLOAD_FOLDER": str(tmp_path / "uploads"), "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(sink.port), "PUBLIC_BASE_URL": BASE_URL}
    flask = Path(sys.executable).with_name("flask")
    process = subprocess.Popen([str(flask), "send-notifications", "--interval", "0.2"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: len(sink.messages) == 2, process)
        with committed_app.app_context():
            queue_plain(1, start=2)  # queued while the worker runs
        _wait_for(lambda: len(sink.messages) == 3, process)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Stopped." in output
    with committed_app.app_context():
        assert _db.session.scalar(select(func.count()).where(OutboxMessage.state == OutboxState.SENT)) == 3


def test_a_title_on_several_lines_gives_a_one_line_subject(db, users, construction, sink, mail_settings):
    report = accepted_report(title="Ổ gà lớn\r\ntrên đường  Lạch Tray")  # e.g. sent through the API
    workflow.apply(report, users["ioc_operator"], "route", agency=construction)
    db.session.commit()
    assert notifications.send_all_due().sent == 3
    assert {m["Subject"] for m in sink.messages} == {
        f"[Hải Phòng Smart] Phản ánh {report.tracking_code} chuyển đến đơn vị: Ổ gà lớn trên đường Lạch Tray"}


# The test server takes AUTH without TLS (aiosmtpd warns about that setup, rightly).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_the_worker_logs_in_when_a_user_is_set(db, users, construction, monkeypatch):
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        from flask import current_app

        for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_USER": "hpsmart",
                           "SMTP_PASSWORD": "wrong"}.items():
            monkeypatch.setitem(current_app.config, key, value)
        report = factories.report(status=ReportStatus.PUBLISHED, agency=construction, **BINH)
        [row] = notifications.notify(report, "answer_published", response=_response(report, users["agency_lead"]))
        db.session.commit()
        t0 = utcnow()
        summary = notifications.send_all_due(now=t0)
        assert (summary.retrying, summary.stopped) == (1, True)  # a refused login is the server's setup: retry
        assert "SMTPAuthenticationError" in outbox(db, id=row.id)[0].last_error
        monkeypatch.setitem(current_app.config, "SMTP_PASSWORD", "s3cret")
        assert notifications.send_all_due(now=t0 + timedelta(minutes=5)).sent == 1
    finally:
        controller.stop()
    # smtplib tries each mechanism the server offers before giving up on a password.
    assert set(logins) == {(b"hpsmart", b"wrong"), (b"hpsmart", b"s3cret")} and logins[-1][1] == b"s3cret"
    assert len(handler.messages) == 1
