"""Answers (trả lời, kết quả xử lý), canned answers, and citizens' feedback on them."""
from __future__ import annotations

from datetime import date, datetime

from collections.abc import Iterable

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, bindparam, event, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..extensions import db
from ..i18n import lazy_gettext as _l
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

    "Not satisfied" reopens the report to the IOC (workflow ``reopen``). The report's
    latest verdict is copied to ``Report.satisfied`` whenever feedback is flushed
    (``refresh_latest_verdicts``).
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


# --- the report's latest verdict (Report.satisfied) -------------------------------------------

#: The rule of ``Report.satisfied``, one statement for SQLite and PostgreSQL: the verdict of
#: the report's newest feedback, by ``created_at`` then ``id`` (two verdicts at the same
#: instant: the later row); NULL when the report has none. Migration 0009 back-fills the
#: column with a copy of it (migrations do not import the app).
_LATEST_VERDICT = (
    "UPDATE report SET satisfied = ("
    "SELECT citizen_feedback.satisfied FROM citizen_feedback "
    "WHERE citizen_feedback.report_id = report.id "
    "ORDER BY citizen_feedback.created_at DESC, citizen_feedback.id DESC LIMIT 1) "
    "WHERE report.id IN ")
_BY_IDS = text(_LATEST_VERDICT + ":ids").bindparams(bindparam("ids", expanding=True))
_ALL_JUDGED = text(_LATEST_VERDICT + "(SELECT report_id FROM citizen_feedback)")
#: Report ids per statement (SQLite allows 32,766 bound values; kept far below).
_IDS_PER_STATEMENT = 500


def refresh_latest_verdicts(connection, report_ids: Iterable[int] | None = None) -> None:
    """Set ``Report.satisfied`` from ``citizen_feedback`` in the database (``_LATEST_VERDICT``).

    Called for every ORM flush that adds, changes or deletes a ``CitizenFeedback``
    (session event below); call it yourself after writing feedback rows around the
    ORM (``insert(CitizenFeedback)``, raw SQL: the benchmarks' loaders). Neither
    ``Report.version`` nor ``updated_at`` changes. Report objects already loaded in a
    session are not updated by this function.

    :param connection: a SQLAlchemy ``Connection`` (or ``Session``) to execute on.
    :param report_ids: the reports to refresh (those without feedback get NULL);
        None: every report that has feedback.
    """
    if report_ids is None:
        connection.execute(_ALL_JUDGED)
        return
    ids = sorted(set(report_ids))
    for i in range(0, len(ids), _IDS_PER_STATEMENT):
        connection.execute(_BY_IDS, {"ids": ids[i:i + _IDS_PER_STATEMENT]})


_PENDING_KEY = "hpsmart.latest_verdicts"


@event.listens_for(Session, "after_flush")
def _note_judged_reports(session: Session, flush_context) -> None:
    """Remember the reports whose feedback this flush wrote (the old report too when
    feedback moved to another one)."""
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, CitizenFeedback):
            if obj.__dict__.get("report_id") is not None:
                ids.add(obj.__dict__["report_id"])
            ids.update(v for v in inspect(obj).attrs.report_id.history.deleted if v is not None)
    if ids:
        session.info.setdefault(_PENDING_KEY, set()).update(ids)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_judged_reports(session: Session, flush_context) -> None:
    """Bring ``Report.satisfied`` of the reports noted by ``_note_judged_reports`` up to date,
    in the database and on the report objects of this session."""
    ids = session.info.pop(_PENDING_KEY, None)
    if not ids:
        return
    from .report import Report

    connection = session.connection()
    refresh_latest_verdicts(connection, ids)
    loaded = {i: obj for i in ids if (obj := session.identity_map.get(identity_key(Report, i))) is not None}
    if loaded:
        rows = connection.execute(text("SELECT id, satisfied FROM report WHERE id IN :ids")
                                  .bindparams(bindparam("ids", expanding=True)), {"ids": sorted(loaded)})
        for report_id, satisfied in rows:
            set_committed_value(loaded[report_id], "satisfied", None if satisfied is None else bool(satisfied))
