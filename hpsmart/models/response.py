"""Answers (trả lời, kết quả xử lý), canned answers, and citizens' feedback on them."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TitledEnum, UTCDateTime, str_enum, utcnow


class Outcome(TitledEnum):
    """What the agency did about the report: the answer's headline."""

    RESOLVED = "resolved"
    PARTLY_RESOLVED = "partly_resolved"
    SCHEDULED = "scheduled"  # with ``scheduled_for``
    NOT_IN_REMIT = "not_in_remit"  # with ``responsible_party``
    CANNOT_RESOLVE = "cannot_resolve"  # the body says why

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.RESOLVED: _l("Resolved"),
            cls.PARTLY_RESOLVED: _l("Partly resolved"),
            cls.SCHEDULED: _l("Scheduled"),
            cls.NOT_IN_REMIT: _l("Not in our remit"),
            cls.CANNOT_RESOLVE: _l("Cannot be resolved"),
        }


class ResponseState(TitledEnum):
    """Where an answer is: draft → submitted (awaiting the lead) → published; or sent back."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    SENT_BACK = "sent_back"
    PUBLISHED = "published"

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.DRAFT: _l("Draft"),
            cls.SUBMITTED: _l("Awaiting approval"),
            cls.SENT_BACK: _l("Sent back"),
            cls.PUBLISHED: _l("Published"),
        }


class Response(db.Model):
    """An agency's answer to a report: Open311 ``status_notes`` once published.

    Photos ("after" pictures) and PDF documents are ``Attachment`` rows with
    ``response_id`` set and ``purpose="answer"``. Times are UTC; ``scheduled_for``
    is a local calendar date.
    """

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"), nullable=True)
    scheduled_for: Mapped[date | None] = mapped_column(Date)
    responsible_party: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[ResponseState] = mapped_column(str_enum(ResponseState, "state"), default=ResponseState.DRAFT)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report = relationship("Report", back_populates="responses")
    agency = relationship("Agency")
    author = relationship("User", foreign_keys=[author_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])
    attachments = relationship("Attachment", back_populates="response", order_by="Attachment.id")


class CannedAnswer(db.Model):
    """A ready-made answer text for a category, optionally one agency's own version.

    ``body`` may contain the placeholders ``{tracking_code}``, ``{address}`` and
    ``{agency}``, filled in when it is used.
    """

    __tablename__ = "canned_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    category = relationship("Category")
    agency = relationship("Agency")


class CitizenFeedback(db.Model):
    """The citizen's verdict on a published answer: satisfied or not, with a comment.

    "Not satisfied" reopens the report to the IOC (workflow ``reopen``).
    """

    __tablename__ = "citizen_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"))
    satisfied: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report = relationship("Report")
    response = relationship("Response")

    __table_args__ = (db.UniqueConstraint("response_id", name="uq_citizen_feedback_response_id"),)
