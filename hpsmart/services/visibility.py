"""Who sees which reports: one place, applied in the query."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select

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
        return query.where(handled_or_co_handled_by(user.agency_id))
    if user.role == Role.COMMUNITY_MEMBER:
        return query.where(Report.assisted_by_id == user.id)
    return query.where(false())


def agency_scope(user: User) -> int | None:
    """The agency whose reports are exactly what ``user`` may see (agency staff and leads
    with an agency: its id), or None when ``visible_reports`` restricts otherwise (or
    not at all). Lets a list split "handled by" and "co-handled by" into two indexed
    queries (``hpsmart.services.inbox``) while this module keeps the rule."""
    if user.role in (Role.AGENCY_STAFF, Role.AGENCY_LEAD) and user.agency_id is not None:
        return user.agency_id
    return None


def co_handled_by(agency_id: int) -> ColumnElement[bool]:
    """True for reports that ``agency_id`` co-handles (``report_co_agency``).

    Written as ``id IN (the agency's co-handled ids)`` rather than ``EXISTS``: both
    databases then start from ``ix_report_co_agency_agency_id`` (a few rows) instead of
    testing every report (SQLite read all 200,000 for it; bench/bench_inbox.py)."""
    return Report.id.in_(select(report_co_agency.c.report_id).where(report_co_agency.c.agency_id == agency_id))


def handled_or_co_handled_by(agency_id: int) -> ColumnElement[bool]:
    """True for reports whose handling or a co-handling agency is ``agency_id``."""
    return or_(Report.agency_id == agency_id, co_handled_by(agency_id))


class NoStatisticsScope(PermissionError):
    """The user may not see statistics of any agency (e.g. an agency lead without an agency)."""


def statistics_agency(user: User) -> int | None:
    """Whose statistics ``user`` may see (the dashboard, the PDF report, the exports).

    IOC operators and admins: the whole city (None: any agency filter they choose).
    Agency leads: their own agency only (its id); the statistics service counts the
    reports of the 2022 agencies it succeeded under it
    (:func:`hpsmart.services.statistics.agency_family`).

    :returns: an ``Agency.id``, or None for city-wide.
    :raises NoStatisticsScope: a lead without an agency, or a role without statistics.
    """
    if user.role in (Role.ADMIN, Role.IOC_OPERATOR):
        return None
    if user.role == Role.AGENCY_LEAD and user.agency_id is not None:
        return user.agency_id
    raise NoStatisticsScope("no statistics for this account")
