"""Administration: users and reference data."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import AdministrativeUnit, Agency, Category, User
from ..permissions import Permission, requires
from ..text import vietnamese_sort_key

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@requires(Permission.MANAGE_REFERENCE)
def index():
    """Links to each list of reference data."""
    return render_template("admin/index.html")


@bp.get("/users")
@requires(Permission.MANAGE_USERS)
def users():
    """All accounts, sorted by name in Vietnamese order."""
    rows = db.session.scalars(select(User).options(selectinload(User.agency))).all()
    rows.sort(key=lambda u: vietnamese_sort_key(u.name))
    return render_template("admin/users.html", users=rows)


@bp.get("/agencies")
@requires(Permission.MANAGE_REFERENCE)
def agencies():
    """Agencies: current ones first (Vietnamese order), then the 2022 organisation in the letter's order."""
    rows = db.session.scalars(select(Agency).options(selectinload(Agency.successor))).all()
    current = sorted((a for a in rows if a.is_current and a.letter_order is None),
                     key=lambda a: vietnamese_sort_key(a.name))
    historic = sorted((a for a in rows if a.letter_order is not None),
                      key=lambda a: (a.kind.value, a.letter_order))
    return render_template("admin/agencies.html", current=current, historic=historic)


@bp.get("/units")
@requires(Permission.MANAGE_REFERENCE)
def units():
    """Administrative units of Hai Phong, in Vietnamese order by name."""
    rows = db.session.scalars(select(AdministrativeUnit)).all()
    rows.sort(key=lambda u: (u.level.value != "province", vietnamese_sort_key(u.name)))
    return render_template("admin/units.html", units=rows)


@bp.get("/categories")
@requires(Permission.MANAGE_REFERENCE)
def categories():
    """Categories (Open311 services) with their default agency and deadline."""
    rows = db.session.scalars(select(Category).order_by(Category.sort_order)).all()
    return render_template("admin/categories.html", categories=rows)
