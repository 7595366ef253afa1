"""Reports (phản ánh, kiến nghị): Open311 service requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..text import search_document
from .base import TitledEnum, UTCDateTime, dialect_index, str_enum, utcnow


class ReportStatus(TitledEnum):
    """Workflow state of a report.

    new → accepted (classified by the IOC) → routed (to an agency) → in_progress →
    answered (awaiting the lead's approval) → published; or rejected, duplicate,
    returned (by an agency to the IOC), reopened (citizen not satisfied).
    The transitions themselves live in the workflow service.
    """

    NEW = "new"
    ACCEPTED = "accepted"
    ROUTED = "routed"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    PUBLISHED = "published"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    RETURNED = "returned"
    REOPENED = "reopened"

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.NEW: _l("New"),
            cls.ACCEPTED: _l("Accepted"),
            cls.ROUTED: _l("Routed to agency"),
            cls.IN_PROGRESS: _l("In progress"),
            cls.ANSWERED: _l("Answered, awaiting approval"),
            cls.PUBLISHED: _l("Answer published"),
            cls.REJECTED: _l("Rejected"),
            cls.DUPLICATE: _l("Duplicate"),
            cls.RETURNED: _l("Returned to IOC"),
            cls.REOPENED: _l("Reopened"),
        }

    @property
    def is_closed(self) -> bool:
        """Open311 ``closed``: nothing more will happen unless it is reopened."""
        return self in (ReportStatus.PUBLISHED, ReportStatus.REJECTED, ReportStatus.DUPLICATE)

    @property
    def awaits_answer(self) -> bool:
        """True while nobody has answered: the deadline clock runs and the report can be overdue."""
        return self in AWAITING_ANSWER


# Statuses in which the report waits for an answer (one home for "can be overdue"):
# once the agency has sent its answer, or the report is closed, the clock stops.
AWAITING_ANSWER = (ReportStatus.NEW, ReportStatus.ACCEPTED, ReportStatus.ROUTED, ReportStatus.IN_PROGRESS,
                   ReportStatus.RETURNED, ReportStatus.REOPENED)


class Channel(TitledEnum):
    """How a report reached us."""

    APP = "app"
    WEB = "web"
    ASSISTED = "assisted"  # a Digital Community team member helped the citizen
    API = "api"  # another Open311 client

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.APP: _l("Mobile app"),
            cls.WEB: _l("Website"),
            cls.ASSISTED: _l("Assisted by Digital Community team"),
            cls.API: _l("Open311 API"),
        }


class Urgency(TitledEnum):
    """Normal or urgent (khẩn): urgent reports have a shorter deadline."""

    NORMAL = "normal"
    URGENT = "urgent"

    @classmethod
    def _titles(cls) -> dict:
        return {cls.NORMAL: _l("Normal"), cls.URGENT: _l("Urgent")}


report_co_agency = Table(
    "report_co_agency",
    db.Model.metadata,
    Column("report_id", ForeignKey("report.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agency.id"), primary_key=True),
    # "co-handled by agency X": the agency filter and agency staff's scope (migration 0007).
    Index("ix_report_co_agency_agency_id", "agency_id"),
)


class Report(db.Model):
    """A citizen's report.

    Times are UTC. ``deadline`` is the end of the last working day allowed
    (UTC instant). ``latitude``/``longitude`` are WGS84 degrees. Reporter name,
    phone and e-mail are personal data (Nghị định 13/2023/NĐ-CP): never shown on
    public pages, the public API or PDFs; the name only when ``reporter_name_public``.
    ``search_text`` is the accent- and case-folded text that search matches against,
    kept in step by a model event. ``version`` guards against lost updates.
    ``satisfied`` is the citizen's latest verdict on the report's answers (True:
    satisfied, False: not satisfied, None: no verdict): a copy of
    ``CitizenFeedback.satisfied`` of its newest feedback (greatest ``created_at``, then
    ``id``), kept in step whenever feedback is flushed through the ORM (see
    :func:`hpsmart.models.response.refresh_latest_verdicts`; rows inserted around the
    ORM must call it), so statistics count satisfaction from the report row alone.
    """

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)

    address: Mapped[str] = mapped_column(String(255), default="")
    admin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("administrative_unit.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    reporter_name: Mapped[str] = mapped_column(String(120), default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), default="")
    reporter_email: Mapped[str] = mapped_column(String(254), default="")
    reporter_name_public: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_method: Mapped[str] = mapped_column(String(20), default="online")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"), index=True)
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "status"), default=ReportStatus.NEW, index=True
    )
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, "urgency"), default=Urgency.NORMAL)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    # Idempotency key of the form or API call that created it (one report per key).
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Chosen by staff for the "notable reports" section of the summary report.
    notable: Mapped[bool] = mapped_column(Boolean, default=False)
    # The citizen's latest verdict (None: none yet); see the class docstring (migration 0009).
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    category = relationship("Category")
    admin_unit = relationship("AdministrativeUnit")
    agency = relationship("Agency", foreign_keys=[agency_id])
    co_agencies = relationship("Agency", secondary=report_co_agency)
    assisted_by = relationship("User", foreign_keys=[assisted_by_id])
    duplicate_of: Mapped[Report | None] = relationship(remote_side=[id])
    attachments = relationship(
        "Attachment", back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    events = relationship(
        "ReportEvent", back_populates="report", order_by="ReportEvent.id", cascade="all, delete-orphan"
    )
    responses = relationship(
        "Response", back_populates="report", order_by="Response.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    # The inbox list's filters and sorts (migrations 0003, 0007, 0010, 0011). Search
    # (hpsmart.services.search) matches ``search_text LIKE '% word%'``: PostgreSQL answers
    # that from a pg_trgm GIN index, SQLite from the FTS5 table ``report_fts``. Made by
    # migration 0007 and not declared here: PostgreSQL's ``ix_report_deadline_desc``
    # (deadline DESC NULLS LAST, id DESC) and the FTS5 table.
    __table_args__ = (
        Index("ix_report_status_created_at", "status", "created_at"),
        Index("ix_report_agency_id_created_at", "agency_id", "created_at"),
        Index("ix_report_status_deadline", "status", "deadline"),
        Index("ix_report_updated_at", "updated_at"),
        Index("ix_report_urgency_created_at", "urgency", "created_at"),
        Index("ix_report_category_id_created_at", "category_id", "created_at"),
        Index("ix_report_admin_unit_id_created_at", "admin_unit_id", "created_at"),
        # An agency's list by deadline, and its overdue / due soon reports (migration 0010).
        Index("ix_report_agency_id_deadline", "agency_id", "deadline"),
        Index("ix_report_agency_id_status_deadline", "agency_id", "status", "deadline"),
        # A ward/commune's reports of one category, by state (migration 0011).
        Index("ix_report_admin_unit_id_category_id_status", "admin_unit_id", "category_id", "status"),
        dialect_index("ix_report_search_text_trgm", "search_text", dialect="postgresql",
                      postgresql_using="gin", postgresql_ops={"search_text": "gin_trgm_ops"}),
    )

    @property
    def photos(self) -> list:
        """The citizen's photos (attachments of purpose ``report``), oldest first."""
        return [a for a in self.attachments if a.purpose == "report"]

    def compute_search_text(self) -> str:
        """``hpsmart.text.search_document`` of tracking code, title, description, address
        and ward name (folded tokens, each after a space)."""
        unit = self.admin_unit.name if self.admin_unit is not None else ""
        return search_document(self.tracking_code, self.title, self.description, self.address, unit)

    def __repr__(self) -> str:
        return f"<Report {self.tracking_code} {self.status.value if self.status else ''}>"


@event.listens_for(Report, "before_insert")
@event.listens_for(Report, "before_update")
def _refresh_search_text(mapper, connection, target: Report) -> None:
    target.search_text = target.compute_search_text()
