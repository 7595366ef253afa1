"""Reference data: the 2022 organisation, today's agencies, Hai Phong's units, categories.

``load_reference()`` is idempotent: run it again and nothing is duplicated; rows
are matched by their natural key (unit code, agency name and start date,
category code) and brought up to date.

Sources:
* 2022 agencies: the appendix of the Department of Information and
  Communications' letter of July 2022 (``data/agencies_2022.csv``).
* 2025 successors: ``data/agency_successors_2025.csv`` (Nghị định 45/2025/NĐ-CP
  on provincial departments; editable, with a confidence per line).
* Administrative units since 1 July 2025: the ``vietnam-provinces`` package
  (Nghị quyết 1669/NQ-UBTVQH15 of 2025 on Hai Phong's wards and communes, after
  Nghị quyết 202/2025/QH15 merged Hải Dương into Hai Phong).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlalchemy import func, select
from vietnam_provinces import Province, Ward, VietNamDivisionType

from ..extensions import db
from ..models import AdministrativeUnit, Agency, AgencyKind, Category, UnitLevel
from ..text import nfc

HAI_PHONG_PROVINCE_CODE = 31
# The 2022 organisation is dated from the letter; the law changes end it.
LETTER_DATE = date(2022, 7, 1)
DEPARTMENTS_RESTRUCTURED = date(2025, 3, 1)  # Nghị định 45/2025/NĐ-CP in force
MERGED_DEPARTMENTS_END = date(2025, 2, 28)
DISTRICTS_ABOLISHED = date(2025, 7, 1)  # two-level local government (Luật 72/2025/QH15)
DISTRICTS_END = date(2025, 6, 30)

_LEVEL_BY_DIVISION = {
    VietNamDivisionType.PHUONG: UnitLevel.WARD,
    VietNamDivisionType.XA: UnitLevel.COMMUNE,
    VietNamDivisionType.DAC_KHU: UnitLevel.SPECIAL_ZONE,
}

# Agencies of today's city that the letter did not list but categories route to.
EXTRA_CURRENT_AGENCIES = [
    ("Công an thành phố Hải Phòng", AgencyKind.CITY_BODY),
]


@dataclass(frozen=True)
class CategorySeed:
    """One default category: Open311 service code, names, group, routing, deadlines (working days)."""

    code: str
    name_vi: str
    name_en: str
    group: str
    agency: str | None
    route_to_ward: bool
    deadline_days: int
    urgent_deadline_days: int
    keywords: str


# Default deadlines are the city's operating targets (editable by an admin); they
# are counted in working days from acceptance.
DEFAULT_CATEGORIES = [
    CategorySeed("giao_thong", "Giao thông", "Traffic and roads", "Hạ tầng",
                 "Sở Xây dựng", False, 10, 2, "ổ gà, đường hỏng, biển báo, đèn tín hiệu, vỉa hè"),
    CategorySeed("trat_tu_do_thi", "Trật tự đô thị", "Urban order", "Đô thị",
                 None, True, 7, 2, "lấn chiếm vỉa hè, quảng cáo, xe đỗ sai"),
    CategorySeed("ve_sinh_moi_truong", "Vệ sinh môi trường", "Environmental sanitation", "Môi trường",
                 "Sở Nông nghiệp và Môi trường", True, 5, 1, "rác thải, ô nhiễm, mùi hôi, xả thải"),
    CategorySeed("dien_chieu_sang", "Điện chiếu sáng", "Street lighting", "Hạ tầng",
                 "Sở Xây dựng", False, 5, 1, "đèn đường, chiếu sáng công cộng"),
    CategorySeed("cap_thoat_nuoc", "Cấp thoát nước và ngập úng", "Water supply, drainage and flooding",
                 "Hạ tầng", "Sở Xây dựng", False, 5, 1, "ngập, cống, nắp cống, mất nước"),
    CategorySeed("cay_xanh", "Cây xanh", "Trees and green spaces", "Môi trường",
                 "Sở Xây dựng", False, 7, 1, "cây đổ, cắt tỉa, công viên"),
    CategorySeed("xay_dung", "Xây dựng", "Construction", "Đô thị",
                 "Sở Xây dựng", True, 10, 3, "xây dựng trái phép, công trình, giấy phép"),
    CategorySeed("an_ninh_trat_tu", "An ninh trật tự", "Public security and order", "An ninh",
                 "Công an thành phố Hải Phòng", False, 5, 1, "gây rối, trộm cắp, tiếng ồn"),
    CategorySeed("y_te", "Y tế", "Health", "Xã hội", "Sở Y tế", False, 10, 2,
                 "bệnh viện, an toàn thực phẩm, dịch bệnh"),
    CategorySeed("giao_duc", "Giáo dục", "Education", "Xã hội", "Sở Giáo dục và Đào tạo", False, 10, 3,
                 "trường học, học phí"),
    CategorySeed("dich_vu_cong", "Dịch vụ công", "Public services", "Hành chính",
                 "Văn phòng Ủy ban nhân dân thành phố", False, 10, 3, "thủ tục hành chính, cổng dịch vụ công"),
    CategorySeed("khac", "Khác", "Other", "Khác", "Văn phòng Ủy ban nhân dân thành phố", False, 10, 3, ""),
]


@dataclass
class LoadSummary:
    """Counts of what ``load_reference`` found in place or created: units, agencies, categories."""

    units: int = 0
    agencies: int = 0
    categories: int = 0
    created: int = 0


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("hpsmart").joinpath("data", name).read_text(encoding="utf-8")
    return [{k: nfc(v) for k, v in row.items()} for row in csv.DictReader(text.splitlines())]


def _get_or_create(model, lookup: dict, values: dict, summary: LoadSummary):
    row = db.session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup)
        db.session.add(row)
        summary.created += 1
    for key, value in values.items():
        setattr(row, key, value)
    return row


def hai_phong_wards() -> list[Ward]:
    """Hai Phong's wards, communes and special zones since 1 July 2025 (114 expected)."""
    return list(Ward.iter_by_province(Province.from_code(HAI_PHONG_PROVINCE_CODE).code))


def load_units(summary: LoadSummary) -> dict[str, AdministrativeUnit]:
    """Create or update the province and its 114 units; returns ``{code: unit}``."""
    province = Province.from_code(HAI_PHONG_PROVINCE_CODE)
    city = _get_or_create(AdministrativeUnit, {"code": f"{int(province.code):02d}"},
                          {"name": nfc(province.name), "level": UnitLevel.PROVINCE,
                           "valid_from": DISTRICTS_ABOLISHED, "valid_to": None}, summary)
    db.session.flush()
    units = {city.code: city}
    for ward in hai_phong_wards():
        unit = _get_or_create(AdministrativeUnit, {"code": f"{int(ward.code):05d}"},
                              {"name": nfc(ward.name), "level": _LEVEL_BY_DIVISION[ward.division_type],
                               "parent_id": city.id, "valid_from": DISTRICTS_ABOLISHED, "valid_to": None},
                              summary)
        units[unit.code] = unit
    summary.units = len(units)
    return units


def load_agencies(units: dict[str, AdministrativeUnit], summary: LoadSummary) -> dict[str, Agency]:
    """Create or update the 2022 agencies, their 2025 successors and the ward committees.

    A 2022 agency whose successor has the same name continues as one row (no end
    date). One that was merged ends on ``DEPARTMENTS_RESTRUCTURED`` and points at
    its successor. A 2022 agency with no successor in the table (confidence low)
    stays open for an admin to decide. District committees end on
    ``DISTRICTS_ABOLISHED`` with no successor.

    :returns: ``{name: agency}`` of current agencies (ward committees included).
    """
    successors = {row["agency_2022"]: row for row in _read_csv("agency_successors_2025.csv")}
    old_rows = _read_csv("agencies_2022.csv")
    by_name: dict[str, Agency] = {}
    for row in old_rows:
        name = row["name"]
        is_district = row["group"] == "district_people_committee"
        kind = AgencyKind.DISTRICT_COMMITTEE if is_district else (
            AgencyKind.DEPARTMENT if name.startswith("Sở ") else AgencyKind.CITY_BODY)
        agency = _get_or_create(Agency, {"name": name, "valid_from": LETTER_DATE},
                                {"kind": kind, "letter_order": int(row["order"])}, summary)
        by_name[name] = agency
        if is_district:
            agency.valid_to = DISTRICTS_END
            agency.successor = None
    db.session.flush()

    current: dict[str, Agency] = {n: a for n, a in by_name.items() if a.kind != AgencyKind.DISTRICT_COMMITTEE}
    for old_name, row in successors.items():
        old = by_name.get(old_name)
        if old is None:
            continue
        new_name = row["successor_2025"]
        old.successor_confidence = row["confidence"] or None
        old.successor_basis = row["basis"] or None
        if not new_name or new_name == old_name:
            old.valid_to = None
            old.successor = None
            continue
        successor = by_name.get(new_name)
        if successor is None:
            successor = _get_or_create(
                Agency, {"name": new_name, "valid_from": DEPARTMENTS_RESTRUCTURED},
                {"kind": AgencyKind.DEPARTMENT if new_name.startswith("Sở ") else AgencyKind.CITY_BODY,
                 "valid_to": None}, summary)
            by_name[new_name] = successor
        old.successor = successor
        old.valid_to = MERGED_DEPARTMENTS_END
        current.pop(old_name, None)
        current[new_name] = successor
    for name, kind in EXTRA_CURRENT_AGENCIES:
        current[name] = _get_or_create(Agency, {"name": name, "valid_from": LETTER_DATE},
                                       {"kind": kind, "valid_to": None}, summary)
    for unit in units.values():
        if unit.level == UnitLevel.PROVINCE:
            continue
        name = f"Ủy ban nhân dân {unit.name}"
        current[name] = _get_or_create(Agency, {"name": name, "valid_from": DISTRICTS_ABOLISHED},
                                       {"kind": AgencyKind.WARD_COMMITTEE, "admin_unit_id": unit.id,
                                        "valid_to": None}, summary)
    db.session.flush()
    summary.agencies = db.session.scalar(select(func.count(Agency.id)))
    return current


def load_categories(agencies: dict[str, Agency], summary: LoadSummary) -> None:
    """Create the default categories where missing; an admin's later edits to an
    existing category's agency or deadlines are kept (only names are refreshed)."""
    for order, seed in enumerate(DEFAULT_CATEGORIES, start=1):
        existing = db.session.scalar(select(Category).filter_by(code=seed.code))
        if existing is not None:
            existing.name_vi, existing.name_en = seed.name_vi, seed.name_en
            continue
        db.session.add(Category(
            code=seed.code, name_vi=seed.name_vi, name_en=seed.name_en, group=seed.group,
            keywords=seed.keywords, default_agency=agencies.get(seed.agency) if seed.agency else None,
            route_to_ward=seed.route_to_ward, deadline_days=seed.deadline_days,
            urgent_deadline_days=seed.urgent_deadline_days, sort_order=order))
        summary.created += 1
    summary.categories = len(DEFAULT_CATEGORIES)
    db.session.flush()


def load_reference() -> LoadSummary:
    """Load or refresh all reference data in the current session (flushes; the caller commits).

    :returns: a ``LoadSummary`` with the number of units, agencies and categories
        in place and how many rows were created by this call (0 on a re-run).
    """
    summary = LoadSummary()
    units = load_units(summary)
    agencies = load_agencies(units, summary)
    load_categories(agencies, summary)
    return summary
