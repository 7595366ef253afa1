"""The shared inbox: the list of reports a user may see, and one report's page."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Report, ReportStatus
from ..permissions import Permission, requires
from ..services.visibility import visible_reports

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

PAGE_SIZE = 50


@bp.get("/")
@requires(Permission.VIEW_INBOX)
def index():
    """Reports visible to the user, newest first, 50 a page (``?page=N``, ``?status=``)."""
    page = request.args.get("page", 1, type=int)
    page = max(page or 1, 1)
    status = request.args.get("status", "")
    query = visible_reports(select(Report), current_user)
    if status:
        try:
            query = query.where(Report.status == ReportStatus(status))
        except ValueError:
            status = ""
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(selectinload(Report.category), selectinload(Report.admin_unit),
                      selectinload(Report.agency))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("inbox/index.html", reports=rows, total=total, page=page, pages=pages,
                           status=status, statuses=list(ReportStatus))


@bp.get("/reports/<tracking_code>")
@requires(Permission.VIEW_INBOX)
def report(tracking_code: str):
    """One report, all fields and its history; 404 when the user may not see it."""
    query = visible_reports(select(Report), current_user).where(
        Report.tracking_code == tracking_code.strip().upper())
    item = db.session.scalar(query)
    if item is None:
        abort(404)
    return render_template("inbox/report.html", report=item)
