"""Factories for users and reports, writing through the same models the app uses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from hpsmart.extensions import db
from hpsmart.models import (AdministrativeUnit, Agency, Category, Channel, Report, ReportEvent,
                            ReportStatus, Role, User, utcnow)
from hpsmart.services.tracking import next_tracking_code

PASSWORD = "correct horse 42"
# A cheap hash keeps the suite fast; the app itself hashes with werkzeug's default (scrypt).
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

_counter = iter(range(1, 10**9))


def agency(name: str = "Sở Xây dựng") -> Agency:
    """The current agency with this exact name (reference data must be loaded)."""
    return db.session.scalar(select(Agency).where(Agency.name == name, Agency.valid_to.is_(None)))


def unit(name: str = "Phường Hồng Bàng") -> AdministrativeUnit:
    """The current administrative unit with this exact name."""
    return db.session.scalar(select(AdministrativeUnit).where(AdministrativeUnit.name == name))


def category(code: str = "giao_thong") -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


def user(role: Role | str, email: str | None = None, agency_obj: Agency | None = None, **kw) -> User:
    """Create and flush a user with password ``PASSWORD``."""
    role = Role(role)
    n = next(_counter)
    if agency_obj is None and role in (Role.AGENCY_STAFF, Role.AGENCY_LEAD):
        agency_obj = agency()
    obj = User(email=email or f"{role.value}{n}@test.example.com", name=kw.pop("name", f"Test {role.value} {n}"),
               role=role, agency=agency_obj, password_hash=_HASH, **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def users_per_role() -> dict[str, User]:
    """One user for each role; the staff member and lead belong to Sở Xây dựng."""
    return {role.value: user(role) for role in Role}


def report(**kw) -> Report:
    """Create and flush a report with sensible defaults and its ``created`` event."""
    received: datetime = kw.pop("created_at", None) or utcnow()
    values = dict(
        title="Ổ gà lớn trên đường Lạch Tray", description="Ổ gà sâu gây nguy hiểm cho xe máy.",
        category=category(), address="123 Lạch Tray", admin_unit=unit(), channel=Channel.WEB,
        status=ReportStatus.NEW, reporter_name="Nguyễn Văn Bình", reporter_phone="0900000009",
        reporter_email="", created_at=received,
    )
    values.update(kw)
    obj = Report(tracking_code=next_tracking_code(received), **values)
    db.session.add(obj)
    db.session.flush()
    db.session.add(ReportEvent(report=obj, action="created", new_value=obj.status.value, created_at=received))
    db.session.flush()
    return obj
