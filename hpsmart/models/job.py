"""Background jobs: documents too long to make while the browser waits (hpsmart/services/jobs.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import lazy_gettext as _l
from .base import TitledEnum, UTCDateTime, str_enum, utcnow


class JobState(TitledEnum):
    """queued → running (claimed by a worker until ``locked_until``) → done, or failed;
    a done job whose file was deleted after the retention period is expired."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"

    @classmethod
    def _titles(cls) -> dict:
        return {cls.QUEUED: _l("Waiting"), cls.RUNNING: _l("Being prepared"), cls.DONE: _l("Ready"),
                cls.FAILED: _l("Failed"), cls.EXPIRED: _l("Deleted")}


class JobStage(TitledEnum):
    """What a running job is doing (``hpsmart.pdf.summary.Progress.stage``)."""

    QUEUED = "queued"
    FIGURES = "figures"
    COLLECTING = "collecting"
    LAYOUT = "layout"
    WRITING = "writing"
    DONE = "done"

    @classmethod
    def _titles(cls) -> dict:
        return {cls.QUEUED: _l("Waiting for a worker"), cls.FIGURES: _l("Computing the figures"),
                cls.COLLECTING: _l("Collecting the rows of the list"),
                cls.LAYOUT: _l("Laying out the pages"), cls.WRITING: _l("Writing the file"),
                cls.DONE: _l("Finished")}


class ExportJob(db.Model):
    """One document made in the background for one person.

    ``kind`` names what is made (``summary_pdf``); ``params`` holds its JSON
    parameters (period, filters resolved for the person who asked, options), so the
    worker makes exactly what was asked, whoever runs it. The file lives under the
    upload folder (``stored_name``, a random name) and only ``user`` or an admin may
    download it, until ``expires_at``. Times are UTC.
    """

    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # sha256 of kind and params: the same request while one is waiting reuses it.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[JobState] = mapped_column(str_enum(JobState, "state"), default=JobState.QUEUED, index=True)
    stage: Mapped[JobStage] = mapped_column(str_enum(JobStage, "stage"), default=JobStage.QUEUED)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why it failed, as a code the page translates ("worker_stopped", "too_long", "error").
    error: Mapped[str] = mapped_column(String(40), default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    stored_name: Mapped[str] = mapped_column(String(100), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
