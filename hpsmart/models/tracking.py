"""Per-year counter behind tracking codes (HP-2026-000123)."""
from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class TrackingCounter(db.Model):
    """The last sequence number issued for a year (local year, Asia/Ho_Chi_Minh)."""

    __tablename__ = "tracking_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
