"""Which agency a report goes to: the suggestion shown pre-selected in the "route" form."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Agency, AgencyKind, Category, Report


def suggested_agency(report: Report) -> Agency | None:
    """The agency the IOC most likely routes ``report`` to, or None.

    Rule (the categories' reference data): a category marked ``route_to_ward`` goes to
    the current People's Committee of the report's ward/commune when there is one;
    otherwise to the category's ``default_agency`` (followed to its current successor
    when it was merged in the 2025 restructuring). The IOC can always choose another.
    """
    category = report.category
    if category is None:
        return None
    committee = None
    if category.route_to_ward and report.admin_unit_id is not None:
        committee = db.session.scalar(select(Agency).where(
            Agency.admin_unit_id == report.admin_unit_id, Agency.kind == AgencyKind.WARD_COMMITTEE,
            Agency.valid_to.is_(None)).limit(1))
    return agency_by_rule(category, committee)


def agency_by_rule(category: Category, ward_committee: Agency | None) -> Agency | None:
    """The routing rule itself, for callers that already know the ward's committee.

    :param category: the report's category.
    :param ward_committee: the current People's Committee of the report's ward/commune, or None.
    :returns: the committee for ``route_to_ward`` categories when given; else the
        category's default agency followed to its current successor; else None.
    """
    if category.route_to_ward and ward_committee is not None:
        return ward_committee
    if category.default_agency is not None:
        agency = category.default_agency.current_successor()
        return agency if agency.is_current else None
    return None
