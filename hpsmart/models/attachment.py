"""Files attached to a report: citizens' photos, answer photos and documents."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Attachment(db.Model):
    """A photo or document.

    Paths are relative to ``UPLOAD_FOLDER``. For a photo, ``original_path`` is the
    file as received (staff only); ``public_path`` a re-encoded JPEG without any
    metadata; ``thumb_path`` a small JPEG of it. ``purpose`` is ``report`` (the
    citizen's "before" photos) or ``answer`` (the agency's "after" photos and
    documents). ``size_bytes`` is the original's size; width/height in pixels.
    """

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10), default="report")
    kind: Mapped[str] = mapped_column(String(10), default="photo")  # photo | document
    original_path: Mapped[str] = mapped_column(String(255))
    public_path: Mapped[str | None] = mapped_column(String(255))
    thumb_path: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report = relationship("Report", back_populates="attachments")
