"""The notification outbox: messages written in the same transaction as the event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..i18n import lazy_gettext as _l
from .base import TitledEnum, UTCDateTime, str_enum, utcnow


class OutboxState(TitledEnum):
    """pending → sending (claimed by a worker until ``locked_until``) → sent; or failed after retries."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @classmethod
    def _titles(cls) -> dict:
        return {cls.PENDING: _l("Pending"), cls.SENDING: _l("Sending"), cls.SENT: _l("Sent"),
                cls.FAILED: _l("Failed")}


class OutboxMessage(db.Model):
    """One e-mail to send.

    ``dedup_key`` is unique: the same event never queues the same message twice
    (e.g. ``"routed:<event id>:<recipient>"``). ``template`` names the mail
    template, ``context`` holds its JSON values, ``language`` is 'vi' or 'en'.
    Times are UTC.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    template: Mapped[str] = mapped_column(String(60))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState, "state"), default=OutboxState.PENDING,
                                               index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
