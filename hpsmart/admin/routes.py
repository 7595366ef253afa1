"""Administration: users and reference data."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..api.forms import ApiClientForm
from ..extensions import db
from ..forms import EmptyForm
from ..models import AdministrativeUnit, Agency, ApiClient, Category, OutboxMessage, OutboxState, Report, User
from ..permissions import Permission, requires
from ..services import notifications
from ..services.open311 import ApiClientError, issue_api_client, revoke_api_client as revoke_key
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


# --- Open311 API clients (hpsmart.services.open311) -----------------------------------------


@bp.get("/api-clients")
@requires(Permission.MANAGE_REFERENCE)
def api_clients():
    """Client applications of the Open311 API: active keys first, newest first; a revoke button each."""
    rows = db.session.scalars(select(ApiClient).options(selectinload(ApiClient.created_by))
                              .order_by(ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc())).all()
    return render_template("admin/api_clients.html", clients=rows, form=EmptyForm())


@bp.route("/api-clients/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_REFERENCE)
def new_api_client():
    """GET: the form. POST: issue the key and show it once (never stored, never cached);
    422 with the form when something is wrong."""
    form = ApiClientForm(default_rate_limit=current_app.config.get("OPEN311_KEY_RATE_LIMIT", "60/minute"))
    if form.validate_on_submit():
        try:
            client, key = issue_api_client(form.name.data, rate_limit=form.rate_limit.data,
                                           channel=form.channel.data,
                                           created_by=current_user._get_current_object())
        except ApiClientError as error:
            db.session.rollback()
            target = form[error.field] if error.field in form else form.name
            target.errors = [*target.errors, str(error)]
        else:
            db.session.commit()
            response = make_response(render_template("admin/api_client_key.html", client=client, key=key))
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("admin/api_client_new.html", form=form), 422 if form.is_submitted() else 200


@bp.post("/api-clients/<int:client_id>/revoke")
@requires(Permission.MANAGE_REFERENCE)
def revoke_api_client(client_id: int):
    """Revoke a key (CSRF-checked POST), then back to the list (303)."""
    client = db.session.get(ApiClient, client_id)
    if client is None:
        abort(404)
    if revoke_key(client):
        db.session.commit()
        flash(_("The key of “%(name)s” is revoked: the application can no longer send reports.",
                name=client.name), "success")
    return redirect(url_for("admin.api_clients"), code=303)


# --- Notification outbox (hpsmart.services.notifications) ------------------------------------

OUTBOX_ROWS = 200  # rows shown, newest first


@bp.get("/outbox")
@requires(Permission.MANAGE_REFERENCE)
def outbox():
    """The e-mail outbox, newest first (at most ``OUTBOX_ROWS``); ``?state=`` shows one state.

    Each row: when queued, report, kind, recipient, language, state, attempts, last error,
    when sent; failed rows have a retry button.
    """
    state = request.args.get("state", "")
    query = (select(OutboxMessage, Report.tracking_code)
             .outerjoin(Report, Report.id == OutboxMessage.report_id)
             .order_by(OutboxMessage.id.desc()).limit(OUTBOX_ROWS))
    if state in {s.value for s in OutboxState}:
        query = query.where(OutboxMessage.state == OutboxState(state))
    else:
        state = ""
    counts = dict(db.session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    return render_template("admin/outbox.html", rows=db.session.execute(query).all(), state=state,
                           states=list(OutboxState), counts=counts, kinds=notifications.KIND_TITLES,
                           form=EmptyForm())


@bp.post("/outbox/<int:message_id>/retry")
@requires(Permission.MANAGE_REFERENCE)
def retry_outbox_message(message_id: int):
    """Queue a failed message again (CSRF-checked POST), then back to the list (303)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if notifications.retry(message):
        db.session.commit()
        flash(_("Message %(id)d is queued again; the worker sends it on its next run.", id=message.id), "success")
    else:
        flash(_("Only a failed message can be retried."), "error")
    return redirect(url_for("admin.outbox", state="failed"), code=303)
