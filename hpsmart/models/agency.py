"""Handling agencies (đơn vị xử lý): departments, city bodies, ward/commune People's Committees."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import lazy_gettext as _l
from .base import TitledEnum, str_enum


class AgencyKind(TitledEnum):
    """What kind of body an agency is."""

    DEPARTMENT = "department"  # Sở
    CITY_BODY = "city_body"  # other city-level bodies: Ban, Thanh tra, Văn phòng, Thành đoàn
    WARD_COMMITTEE = "ward_committee"  # UBND phường / xã / đặc khu
    DISTRICT_COMMITTEE = "district_committee"  # UBND quận / huyện, abolished 1 July 2025

    @classmethod
    def _titles(cls) -> dict:
        return {
            cls.DEPARTMENT: _l("Department"),
            cls.CITY_BODY: _l("City body"),
            cls.WARD_COMMITTEE: _l("Ward/commune People's Committee"),
            cls.DISTRICT_COMMITTEE: _l("Former district People's Committee"),
        }


class Agency(db.Model):
    """A body that handles reports.

    Validity dates are local calendar dates. A 2022 agency that was merged in the
    2025 restructuring has ``valid_to`` set and ``successor`` pointing at the
    agency that took over its work; ``successor_confidence`` (high / medium / low)
    and ``successor_basis`` come from the editable successor table and say how
    sure that link is.
    """

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, "kind"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    successor_confidence: Mapped[str | None] = mapped_column(String(10))
    successor_basis: Mapped[str | None] = mapped_column(Text)
    admin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("administrative_unit.id"))
    # Position in the 2022 letter's appendix (None for agencies not in it).
    letter_order: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str | None] = mapped_column(String(254))
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)

    successor: Mapped[Agency | None] = relationship(remote_side=[id], foreign_keys=[successor_id])
    admin_unit = relationship("AdministrativeUnit")

    __table_args__ = (db.UniqueConstraint("name", "valid_from", name="uq_agency_name_valid_from"),)

    @property
    def is_current(self) -> bool:
        """True when the agency has no end date."""
        return self.valid_to is None

    def current_successor(self) -> Agency:
        """Follow the successor chain to the agency that answers for this one today.

        :returns: the last agency in the chain (``self`` when there is none).
        """
        seen = {self.id}
        agency = self
        while agency.successor is not None and agency.successor.id not in seen:
            agency = agency.successor
            seen.add(agency.id)
        return agency

    def __repr__(self) -> str:
        return f"<Agency {self.name}>"
