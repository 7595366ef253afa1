"""Client applications of the Open311 GeoReport v2 API (the mobile app and others)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .report import Channel


class ApiClient(db.Model):
    """An application allowed to POST service requests, with its own API key.

    Only the SHA-256 of the key is stored (``key_hash``, 64 hex digits) and its
    first characters (``key_prefix``) so an admin can tell keys apart; the key
    itself is shown once, when it is issued (``hpsmart.services.open311.issue_api_client``).
    ``rate_limit`` is a Flask-Limiter limit string for this key (e.g. ``60/minute``).
    ``jurisdiction`` is the Open311 ``jurisdiction_id`` the key was issued for.
    ``channel`` is what the reports it sends are recorded as: ``app`` for the city's
    own mobile app, ``api`` for any other Open311 client. A key with ``revoked_at``
    set (UTC) is refused.
    """

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    rate_limit: Mapped[str] = mapped_column(String(60), default="60/minute")
    jurisdiction: Mapped[str] = mapped_column(String(120))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"), default=Channel.API)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    @property
    def is_active(self) -> bool:
        """True while the key has not been revoked."""
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiClient {self.name} {self.key_prefix}…>"
