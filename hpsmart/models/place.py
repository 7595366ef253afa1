"""Administrative units (đơn vị hành chính): province, districts (until 2025), wards, communes."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import lazy_gettext as _l
from .base import TitledEnum, str_enum


class UnitLevel(TitledEnum):
    """Level of an administrative unit.

    Since 1 July 2025 (Nghị quyết 202/2025/QH15 and the resolutions of the
    National Assembly Standing Committee on ward/commune rearrangement) there are
    two levels: the province and its wards, communes and special zones.
    ``district`` remains for units valid before that date.
    """

    PROVINCE = "province"
    DISTRICT = "district"
    WARD = "ward"
    COMMUNE = "commune"
    SPECIAL_ZONE = "special_zone"

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.PROVINCE: _l("Province / city"),
            cls.DISTRICT: _l("District (before 1 July 2025)"),
            cls.WARD: _l("Ward"),
            cls.COMMUNE: _l("Commune"),
            cls.SPECIAL_ZONE: _l("Special zone"),
        }


class AdministrativeUnit(db.Model):
    """An administrative unit with its official code (mã đơn vị hành chính).

    ``code`` is the General Statistics Office code as a zero-padded string
    (2 digits for a province, 5 for a ward/commune). ``valid_from``/``valid_to``
    are local calendar dates (Asia/Ho_Chi_Minh); ``valid_to`` is None while current.
    """

    __tablename__ = "administrative_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[UnitLevel] = mapped_column(str_enum(UnitLevel, "level"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("administrative_unit.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    parent: Mapped[AdministrativeUnit | None] = relationship(remote_side=[id])

    @property
    def is_current(self) -> bool:
        """True when the unit has no end date."""
        return self.valid_to is None

    def __repr__(self) -> str:
        return f"<AdministrativeUnit {self.code} {self.name}>"
