"""Presence: who else has a report open (issue 4, item 8: "two people, one report").

One ``ReportViewer`` row per (report, user), upserted with the time the report's page
(or panel) was last shown or its heartbeat last arrived. Rows are never deleted by the
request path: the table holds at most one row per report a user has ever opened, and
a row only counts while it is fresher than ``PRESENCE_WINDOW``.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import ReportViewer, User, utcnow

# How often an open report page sends its heartbeat (seconds; the template's hx-trigger).
HEARTBEAT_SECONDS = 30
# A viewer counts as "has it open" while their last heartbeat is younger than this.
PRESENCE_WINDOW = timedelta(seconds=60)


def touch(report_id: int, user_id: int, now: datetime | None = None) -> None:
    """Record that ``user_id`` has report ``report_id`` open at ``now`` (aware UTC; default now).

    One INSERT ... ON CONFLICT (report_id, user_id) DO UPDATE statement on both SQLite
    and PostgreSQL, so two tabs of the same person never collide. Does not commit.
    """
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ReportViewer).values(report_id=report_id, user_id=user_id, last_seen_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[ReportViewer.report_id, ReportViewer.user_id],
        set_={"last_seen_at": statement.excluded.last_seen_at})
    db.session.execute(statement)


def other_viewers(report_id: int, user_id: int, now: datetime | None = None) -> list[User]:
    """The users other than ``user_id`` who had report ``report_id`` open within
    ``PRESENCE_WINDOW`` before ``now`` (aware UTC; default now), by name."""
    since = (now or utcnow()) - PRESENCE_WINDOW
    return list(db.session.scalars(
        select(User).join(ReportViewer, ReportViewer.user_id == User.id)
        .where(ReportViewer.report_id == report_id, ReportViewer.user_id != user_id,
               ReportViewer.last_seen_at >= since, User.active.is_(True))
        .order_by(User.name, User.id)))
