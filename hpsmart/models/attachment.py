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
    # Set for the photos and documents of an answer (purpose "answer").
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"), index=True)
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
    response = relationship("Response", back_populates="attachments")

    @property
    def public_url(self) -> str | None:
        """URL of the public copy (``/media/p/...``, no login), None if there is none.
        Needs an app context (``url_for``)."""
        return _copy_url("media.public_copy", "public/", self.public_path)

    @property
    def thumb_url(self) -> str | None:
        """URL of the thumbnail (``/media/t/...``, no login), None if there is none."""
        return _copy_url("media.thumbnail", "thumb/", self.thumb_path)

    @property
    def original_url(self) -> str:
        """URL of the file as received (``/media/o/<id>``: staff who may see the report)."""
        from flask import url_for

        return url_for("media.original", attachment_id=self.id)


def _copy_url(endpoint: str, folder: str, path: str | None) -> str | None:
    """``url_for(endpoint)`` for a stored copy's path relative to the upload folder."""
    if not path or not path.startswith(folder):
        return None
    from flask import url_for

    return url_for(endpoint, name=path[len(folder):])
