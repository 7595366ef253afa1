"""Digital Community team members (Tổ công nghệ số cộng đồng): reports they helped submit."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Report
from ..permissions import Permission, requires

bp = Blueprint("community", __name__, url_prefix="/community")


@bp.get("/")
@requires(Permission.ASSIST_INTAKE)
def index():
    """The reports this member helped submit, newest first, with their status."""
    reports = db.session.scalars(
        select(Report).where(Report.assisted_by_id == current_user.id)
        .order_by(Report.created_at.desc()).limit(200)
    ).all()
    return render_template("community/index.html", reports=reports)
