"""Who sees which reports: one place, applied in the query."""
from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select

from ..models import Report, Role, User, report_co_agency


def visible_reports(query: Select, user: User) -> Select:
    """Restrict a ``select(Report)`` to the reports ``user`` may see.

    IOC operators and admins: all. Agency staff and leads: reports whose handling
    or co-handling agency is theirs. Digital Community members: reports they
    helped submit. Anyone else: none.
    """
    if user.role in (Role.ADMIN, Role.IOC_OPERATOR):
        return query
    if user.role in (Role.AGENCY_STAFF, Role.AGENCY_LEAD):
        if user.agency_id is None:
            return query.where(false())
        co = (report_co_agency.c.report_id == Report.id) & (report_co_agency.c.agency_id == user.agency_id)
        return query.where(or_(Report.agency_id == user.agency_id,
                               exists(select(report_co_agency.c.report_id).where(co))))
    if user.role == Role.COMMUNITY_MEMBER:
        return query.where(Report.assisted_by_id == user.id)
    return query.where(false())
