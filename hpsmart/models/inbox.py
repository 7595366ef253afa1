"""Inbox helpers kept per user: saved views, and who has a report open."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class SavedView(db.Model):
    """A named inbox filter of one user, e.g. "my agency's overdue".

    ``query_string`` is the inbox URL's query string (filters, sort), without the page.
    """

    __tablename__ = "saved_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    query_string: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")

    __table_args__ = (db.UniqueConstraint("user_id", "name", name="uq_saved_view_user_id_name"),)


class ReportViewer(db.Model):
    """Presence: ``user`` had ``report`` open at ``last_seen_at`` (UTC), refreshed by a heartbeat."""

    __tablename__ = "report_viewer"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user = relationship("User")
