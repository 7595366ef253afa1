"""Reference data: the letter's agencies, today's units, successors, categories."""
import csv
from collections import Counter
from importlib import resources

from sqlalchemy import func, select

from hpsmart.models import AdministrativeUnit, Agency, AgencyKind, Category, UnitLevel
from hpsmart.services.reference import DEFAULT_CATEGORIES, load_reference


def _csv(name):
    text = resources.files("hpsmart").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def test_every_agency_of_the_appendix_is_loaded_in_order(db):
    rows = _csv("agencies_2022.csv")
    assert len(rows) == 36
    for row in rows:
        agency = db.session.scalar(select(Agency).where(Agency.name == row["name"],
                                                        Agency.letter_order == int(row["order"])))
        assert agency is not None, row["name"]
        if row["group"] == "district_people_committee":
            assert agency.kind == AgencyKind.DISTRICT_COMMITTEE
            assert agency.successor is None and not agency.is_current
            assert agency.valid_to.isoformat() == "2025-06-30"
    kinds = Counter(a.kind for a in db.session.scalars(select(Agency).where(Agency.letter_order.is_not(None))))
    assert kinds[AgencyKind.DISTRICT_COMMITTEE] == 15
    assert kinds[AgencyKind.DEPARTMENT] + kinds[AgencyKind.CITY_BODY] == 21


def test_114_current_units_with_official_codes(db):
    units = db.session.scalars(select(AdministrativeUnit).where(AdministrativeUnit.level != UnitLevel.PROVINCE)).all()
    assert len(units) == 114
    levels = Counter(u.level for u in units)
    assert levels == {UnitLevel.WARD: 45, UnitLevel.COMMUNE: 67, UnitLevel.SPECIAL_ZONE: 2}
    by_name = {u.name: u for u in units}
    # Official codes (GSO), as published with the 2025 rearrangement.
    assert by_name["Đặc khu Cát Hải"].code == "11914"
    assert by_name["Đặc khu Bạch Long Vĩ"].code == "11948"
    assert by_name["Phường Thuỷ Nguyên"].code == "11560"
    assert all(len(u.code) == 5 and u.code.isdigit() for u in units)
    assert all(u.parent.code == "31" and u.valid_from.isoformat() == "2025-07-01" for u in units)


def test_every_2022_agency_with_a_successor_is_linked_to_it(db):
    for row in _csv("agency_successors_2025.csv"):
        old = db.session.scalar(select(Agency).where(Agency.name == row["agency_2022"],
                                                     Agency.letter_order.is_not(None)))
        assert old is not None, row["agency_2022"]
        assert old.successor_confidence == row["confidence"]
        new_name = row["successor_2025"]
        if not new_name:
            assert old.successor is None  # left to an admin (confidence low)
        elif new_name == old.name:
            assert old.is_current and old.successor is None
        else:
            assert old.successor is not None and old.successor.name == new_name
            assert old.successor.is_current and not old.is_current
            assert old.current_successor() is old.successor


def test_merged_departments_point_to_the_same_successor(db):
    names = ["Sở Tài nguyên và Môi trường", "Sở Nông nghiệp và Phát triển nông thôn"]
    successors = {db.session.scalar(select(Agency).where(Agency.name == n)).successor.id for n in names}
    assert len(successors) == 1


def test_each_ward_has_its_people_committee(db):
    count = db.session.scalar(select(func.count(Agency.id)).where(Agency.kind == AgencyKind.WARD_COMMITTEE,
                                                                 Agency.admin_unit_id.is_not(None)))
    assert count == 114


def test_default_categories_have_agency_and_deadline(db):
    categories = db.session.scalars(select(Category)).all()
    assert {c.code for c in categories} == {s.code for s in DEFAULT_CATEGORIES}
    assert len(categories) == 12
    for c in categories:
        assert c.deadline_days > c.urgent_deadline_days > 0
        assert c.default_agency is not None or c.route_to_ward
        if c.default_agency is not None:
            assert c.default_agency.is_current
    assert {c.name_vi for c in categories} >= {"Giao thông", "Điện chiếu sáng", "Cây xanh", "Khác"}


def test_loading_twice_changes_nothing(db):
    before = db.session.scalar(select(func.count(Agency.id))), db.session.scalar(
        select(func.count(AdministrativeUnit.id)))
    summary = load_reference()
    assert summary.created == 0
    after = db.session.scalar(select(func.count(Agency.id))), db.session.scalar(
        select(func.count(AdministrativeUnit.id)))
    assert before == after


def test_admin_edit_of_a_category_survives_a_reload(db):
    category = db.session.scalar(select(Category).where(Category.code == "cay_xanh"))
    category.deadline_days = 4
    db.session.flush()
    load_reference()
    assert category.deadline_days == 4


def test_cli_load_reference_is_idempotent(runner):
    result = runner.invoke(args=["load-reference"])
    assert result.exit_code == 0
    assert "115 administrative units" in result.output and "(0 rows created)" in result.output
