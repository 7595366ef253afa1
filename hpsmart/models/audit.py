"""The report history (nhật ký): an append-only list of events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a history event."""


class ReportEvent(db.Model):
    """One change to a report: who (``actor``; None for the citizen or the system),
    when (UTC), what (``action``, e.g. ``created``, ``status``, ``category``), from
    ``old_value`` to ``new_value`` (display strings), with an optional ``note``.
    ``public`` events are shown, in plain words, on the tracking page.

    Rows are never updated or deleted through the ORM: ``AppendOnlyError``.
    """

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The report's version after this change: lets a stale page show what changed since.
    report_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report = relationship("Report", back_populates="events")
    actor = relationship("User")


@event.listens_for(ReportEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise AppendOnlyError("report history is append-only")


@event.listens_for(ReportEvent, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise AppendOnlyError("report history is append-only")
