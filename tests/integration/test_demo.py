"""``flask load-demo``: a realistic month of reports and the contract's demo logins."""
from __future__ import annotations

import os
import re
import stat
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hpsmart.extensions import db as _db
from hpsmart.models import (AgencyKind, Attachment, Category, Channel, Report,
                            ReportEvent, ReportStatus, Role, Urgency, User, utcnow)
from hpsmart.services import demo

CONTRACT = {
    "admin@example.com": Role.ADMIN,
    "ioc@example.com": Role.IOC_OPERATOR,
    "staff@example.com": Role.AGENCY_STAFF,
    "lead@example.com": Role.AGENCY_LEAD,
    "community@example.com": Role.COMMUNITY_MEMBER,
}
OPEN_AFTER_ROUTING = {ReportStatus.ROUTED, ReportStatus.IN_PROGRESS, ReportStatus.ANSWERED,
                      ReportStatus.PUBLISHED, ReportStatus.REOPENED, ReportStatus.RETURNED}


@pytest.fixture(autouse=True)
def password_file(app, tmp_path, monkeypatch):
    """Keep the generated password out of the instance folder and ignore the caller's environment."""
    path = tmp_path / "demo-password.txt"
    monkeypatch.setitem(app.config, "DEMO_PASSWORD_FILE", str(path))
    monkeypatch.delenv(demo.PASSWORD_ENV, raising=False)
    return path


def load(runner, *args: str) -> tuple[str, str]:
    """Run ``flask load-demo``; return its output and the password it printed."""
    result = runner.invoke(args=["load-demo", *args])
    assert result.exit_code == 0, result.output
    lines = [line.split(None, 2) for line in result.output.splitlines() if "@example.com" in line]
    assert [line[0] for line in lines] == list(CONTRACT)
    passwords = {line[2] for line in lines}
    assert len(passwords) == 1
    return result.output, passwords.pop()


def newest_id() -> int:
    """Highest report id so far (reports made by other tests may be present)."""
    return _db.session.scalar(select(func.coalesce(func.max(Report.id), 0)))


def test_a_realistic_month(runner, db, auth, app):
    before = newest_id()
    output, password = load(runner, "--reports", "320")
    assert "320 reports created" in output
    reports = db.session.scalars(select(Report).where(Report.id > before)).all()
    assert len(reports) >= 300
    now = utcnow()

    # Spread: every status, channel, urgency and category; many wards and communes.
    assert {r.status for r in reports} == set(ReportStatus)
    assert {r.channel for r in reports} == set(Channel)
    assert {r.urgency for r in reports} == set(Urgency)
    categories = db.session.scalars(select(Category)).all()
    assert len(categories) == 12 and {r.category_id for r in reports} == {c.id for c in categories}
    assert len({r.admin_unit_id for r in reports}) >= 20
    assert all(r.admin_unit.is_current for r in reports)
    # A month before now, mostly in the local daytime (Asia/Ho_Chi_Minh = UTC+7).
    assert all(now - timedelta(days=31) <= r.created_at <= now for r in reports)
    daytime = [r for r in reports if 6 <= (r.created_at + timedelta(hours=7)).hour < 22]
    assert len(daytime) > 0.85 * len(reports)
    assert len({r.tracking_code for r in reports}) == len(reports)

    # Reporters: fake contact data.
    assert all(re.fullmatch(r"09\d{8}", r.reporter_phone) for r in reports)
    assert all(r.reporter_email == "" or r.reporter_email.endswith("@example.invalid") for r in reports)
    assert any(r.reporter_name_public for r in reports) and not all(r.reporter_name_public for r in reports)

    # Text as citizens type it, stored NFC: some without diacritics, some in capitals.
    for r in reports:
        for text in (r.title, r.description, r.address, r.reporter_name):
            assert unicodedata.is_normalized("NFC", text), r.tracking_code
    assert any(r.title.isascii() and r.description.isascii() and " " in r.description for r in reports)
    assert any(r.title == r.title.upper() and not r.title.isascii() for r in reports)
    assert any("Lạch Tray" in r.description or "Tô Hiệu" in r.description for r in reports)

    # Routing and dates consistent with the status.
    for r in reports:
        assert r.deadline is not None, r.tracking_code
        if r.status in OPEN_AFTER_ROUTING:
            assert r.agency is not None and r.agency.is_current, r.tracking_code
            assert r.created_at < r.accepted_at <= now
            if r.category.route_to_ward:
                assert r.agency.kind == AgencyKind.WARD_COMMITTEE
                assert r.agency.admin_unit_id == r.admin_unit_id
            elif r.category.default_agency is not None:
                assert r.agency.id == r.category.default_agency_id
        if r.status in (ReportStatus.ANSWERED, ReportStatus.PUBLISHED, ReportStatus.REOPENED):
            assert r.accepted_at < r.answered_at <= now
            assert any(a.purpose == "answer" for a in r.attachments)
        else:
            assert r.answered_at is None
        if r.status in (ReportStatus.PUBLISHED, ReportStatus.REOPENED):
            assert r.answered_at < r.published_at <= now
        else:
            assert r.published_at is None
        if r.status == ReportStatus.NEW:
            assert r.agency is None and r.accepted_at is None and r.urgency == Urgency.NORMAL
        if r.status == ReportStatus.DUPLICATE:
            original = r.duplicate_of
            assert original is not None and original.created_at < r.created_at
            assert original.category_id == r.category_id and original.admin_unit_id == r.admin_unit_id
        else:
            assert r.duplicate_of is None
        if r.channel == Channel.ASSISTED:
            assert r.assisted_by is not None and r.assisted_by.role == Role.COMMUNITY_MEMBER
            assert r.consent_method in ("in_person", "phone")
        else:
            assert r.assisted_by is None
    open_statuses = {ReportStatus.ROUTED, ReportStatus.IN_PROGRESS, ReportStatus.REOPENED}
    assert any(r.status in open_statuses and r.deadline < now for r in reports), "some are overdue"
    assert any(r.status == ReportStatus.PUBLISHED and r.answered_at <= r.deadline for r in reports)
    assert any(r.co_agencies for r in reports)
    assert any(r.assisted_by is not None and r.assisted_by.email == "community@example.com" for r in reports)

    # History: every report starts with "created", times increase, the last status is the report's.
    events = db.session.scalars(select(ReportEvent).where(ReportEvent.report_id > before)
                                .order_by(ReportEvent.report_id, ReportEvent.id)).all()
    by_report: dict[int, list[ReportEvent]] = {}
    for event in events:
        by_report.setdefault(event.report_id, []).append(event)
    assert set(by_report) == {r.id for r in reports}
    for r in reports:
        history = by_report[r.id]
        assert history[0].action == "created" and history[0].created_at == r.created_at
        times = [e.created_at for e in history]
        assert times == sorted(times), r.tracking_code
        assert r.updated_at == times[-1] <= now
        statuses = [e for e in history if e.action == "status"]
        assert (statuses[-1].new_value if statuses else "new") == r.status.value
        for earlier, later in zip(statuses, statuses[1:]):
            assert earlier.new_value == later.old_value
        if r.status == ReportStatus.REJECTED:
            assert statuses[-1].note and statuses[-1].actor.role == Role.IOC_OPERATOR
        if r.status == ReportStatus.DUPLICATE:
            assert r.duplicate_of.tracking_code in statuses[-1].note
        if r.status == ReportStatus.PUBLISHED:
            publish = statuses[-1]
            assert publish.public and publish.note
            assert publish.actor.agency_id == r.agency_id
            assert publish.actor.role == (Role.AGENCY_LEAD if r.agency.requires_approval else Role.AGENCY_STAFF)
        for e in statuses:
            if e.new_value in ("in_progress", "answered"):
                assert e.actor.role == Role.AGENCY_STAFF and e.actor.agency_id == r.agency_id

    # Photos: about 40% of reports have the citizen's photos; every file exists.
    with_photos = [r for r in reports if any(a.purpose == "report" for a in r.attachments)]
    assert 0.25 * len(reports) <= len(with_photos) <= 0.6 * len(reports)
    assert all(1 <= len(r.photos) <= 3 for r in with_photos)
    root = Path(app.config["UPLOAD_FOLDER"])
    attachments = db.session.scalars(select(Attachment).where(Attachment.report_id > before)).all()
    for attachment in attachments:
        for path in (attachment.original_path, attachment.public_path, attachment.thumb_path):
            assert (root / path).is_file(), path
        assert attachment.content_type == "image/jpeg" and attachment.size_bytes > 0

    # The contract's logins work through the login form with the printed password.
    for email, role in CONTRACT.items():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == role and user.active
        response = auth.login(email, password)
        assert response.status_code == 303, email
        auth.logout()
    staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
    lead = db.session.scalar(select(User).where(User.email == "lead@example.com"))
    assert staff.agency.name == "Sở Xây dựng" and staff.agency.is_current and lead.agency_id == staff.agency_id
    assert any(r.agency_id == staff.agency_id for r in reports)
    community = db.session.scalar(select(User).where(User.email == "community@example.com"))
    assert community.admin_unit.name == "Phường Lê Chân"


def test_generated_password_is_kept_private_and_reused(runner, db, auth, password_file):
    _output, first = load(runner, "--reports", "12")
    assert len(first) >= 12
    assert password_file.read_text(encoding="utf-8").strip() == first
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600
    _output, second = load(runner, "--reports", "1", "--if-empty")
    assert second == first
    assert auth.login("ioc@example.com", first).status_code == 303


def test_password_from_the_environment_is_honoured(runner, db, auth, monkeypatch, password_file):
    monkeypatch.setenv(demo.PASSWORD_ENV, "pilot password 2026")
    _output, password = load(runner, "--reports", "12")
    assert password == "pilot password 2026"
    assert not password_file.exists()
    assert auth.login("lead@example.com", "pilot password 2026").status_code == 303


def test_rerun_keeps_one_user_per_address_and_resets_the_password(runner, db, auth, monkeypatch):
    monkeypatch.setenv(demo.PASSWORD_ENV, "first password")
    load(runner, "--reports", "12")
    users_before = db.session.scalar(select(func.count(User.id)))
    reports_before = db.session.scalar(select(func.count(Report.id)))
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    admin.active = False
    admin.role = Role.COMMUNITY_MEMBER
    db.session.flush()

    monkeypatch.setenv(demo.PASSWORD_ENV, "second password")
    output, password = load(runner, "--reports", "12", "--if-empty")
    assert password == "second password" and "none added" in output
    assert db.session.scalar(select(func.count(User.id))) == users_before
    assert db.session.scalar(select(func.count(Report.id))) == reports_before
    for email in CONTRACT:
        assert db.session.scalar(select(func.count(User.id)).where(User.email == email)) == 1
    db.session.refresh(admin)
    assert admin.active and admin.role == Role.ADMIN
    assert auth.login("admin@example.com", "first password").status_code == 422
    assert auth.login("admin@example.com", "second password").status_code == 303

    # Without --if-empty more reports are added, with fresh tracking codes; still no new contract users.
    load(runner, "--reports", "12")
    assert db.session.scalar(select(func.count(Report.id))) == reports_before + 12
    codes = db.session.scalars(select(Report.tracking_code)).all()
    assert len(codes) == len(set(codes))


def test_text_typed_in_nfd_is_normalised_on_arrival(runner, db, monkeypatch):
    """The demo simulates macOS/iOS input (decomposed Unicode); like intake, it stores NFC."""
    seen: list[str] = []
    real_nfc = demo.nfc

    def spy(value):
        seen.append(value)
        return real_nfc(value)

    monkeypatch.setattr(demo, "nfc", spy)
    monkeypatch.setenv(demo.PASSWORD_ENV, "any password")
    before = newest_id()
    load(runner, "--reports", "60")
    decomposed = [v for v in seen if v and not unicodedata.is_normalized("NFC", v)]
    assert decomposed, "some input was typed in NFD"
    stored = {text for r in db.session.scalars(select(Report).where(Report.id > before))
              for text in (r.title, r.description, r.address)}
    assert {unicodedata.normalize("NFC", v).strip() for v in decomposed} & stored
    assert all(unicodedata.is_normalized("NFC", text) for text in stored)


def test_load_demo_needs_reference_data_message(app, db, runner, monkeypatch):
    """Without the demo agency the command stops with a clear message, not a traceback."""
    monkeypatch.setattr(demo, "DEMO_AGENCY_NAME", "No such agency")
    monkeypatch.setenv(demo.PASSWORD_ENV, "any password")
    before = newest_id()
    result = runner.invoke(args=["load-demo", "--reports", "5"])
    assert result.exit_code == 1 and result.exception is not None
    assert "Error: Reference data is missing" in result.output and "flask load-reference" in result.output
    assert newest_id() == before
    assert db.session.scalar(select(func.count(User.id)).where(User.email.in_(CONTRACT))) == 0


def test_demo_data_is_rolled_back_after_each_test(db):
    """Guards the module's ``db`` fixture: nothing from the tests above is left."""
    assert db.session.scalar(select(func.count(User.id)).where(User.email.in_(CONTRACT))) == 0
    assert db.session.scalar(select(func.count(User.id)).where(User.email.like("staff.%@example.com"))) == 0

