"""Report categories (lĩnh vực): Open311 services."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Category(db.Model):
    """An Open311 *service*: ``code`` is its ``service_code``, ``group`` its ``group``.

    ``deadline_days`` and ``urgent_deadline_days`` are working days (ngày làm việc)
    counted from acceptance, weekends and public holidays excluded.
    """

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    group: Mapped[str] = mapped_column(String(80))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(255), default="")
    default_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    # Route to the People's Committee of the report's ward/commune when it has one.
    route_to_ward: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline_days: Mapped[int] = mapped_column(Integer, default=10)
    urgent_deadline_days: Mapped[int] = mapped_column(Integer, default=3)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    default_agency = relationship("Agency")

    def name(self, locale: str) -> str:
        """The category name in ``locale`` ('vi' or 'en'; anything else gives Vietnamese)."""
        return self.name_en if locale == "en" else self.name_vi

    def __repr__(self) -> str:
        return f"<Category {self.code}>"
