"""Staff and volunteer accounts."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..i18n import lazy_gettext as _l
from .base import TitledEnum, UTCDateTime, str_enum, utcnow


class Role(TitledEnum):
    """What a person does in hpsmart; ``hpsmart.permissions.ROLE_PERMISSIONS`` says what each may do."""

    ADMIN = "admin"
    IOC_OPERATOR = "ioc_operator"
    AGENCY_STAFF = "agency_staff"
    AGENCY_LEAD = "agency_lead"
    COMMUNITY_MEMBER = "community_member"

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.ADMIN: _l("Administrator"),
            cls.IOC_OPERATOR: _l("IOC operator"),
            cls.AGENCY_STAFF: _l("Agency staff"),
            cls.AGENCY_LEAD: _l("Agency lead"),
            cls.COMMUNITY_MEMBER: _l("Digital Community team member"),
        }


class User(UserMixin, db.Model):
    """A person who logs in: staff, leads, operators, admins, community volunteers.

    ``email`` is stored lower-cased and NFC-normalised; ``language`` is 'vi' or 'en'.
    Agency staff and leads belong to ``agency``; a community member to the ward
    or commune ``admin_unit`` whose team they are in.
    """

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    admin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("administrative_unit.id"))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency = relationship("Agency")
    admin_unit = relationship("AdministrativeUnit")

    def set_password(self, password: str) -> None:
        """Store a salted hash (werkzeug's scrypt) of ``password``; never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user cannot log in
        return bool(self.active)

    def can(self, permission) -> bool:
        """True when this user's role grants ``permission`` (a ``Permission``)."""
        from ..permissions import role_can

        return role_can(self.role, permission)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"
