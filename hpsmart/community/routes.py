"""Digital Community team members (Tổ công nghệ số cộng đồng): the assisted report form and the
reports they helped submit.

The assisted form is the public report form (:class:`~hpsmart.intake.forms.ReportForm`,
subclassed) sent into the same intake service, as ``Channel.ASSISTED`` with the
member as ``assisted_by``; the service records the member's ward and how the citizen
came in the ``created`` history event. Like the public form it is exempt from the
app-wide CSRF check and checks its token itself, so that an expired token gives the
form back with everything typed instead of an error page.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import csrf, db
from ..intake.forms import category_choices, unit_choices
from ..models import Channel, Report, ReportStatus
from ..permissions import Permission, requires
from ..services.intake import IntakeError, submit_report
from ..services.tracking import normalise_tracking_code
from .forms import AssistedReportForm

bp = Blueprint("community", __name__, url_prefix="/community")

LIST_LIMIT = 200  # reports shown on the member's list, newest first


def _locale() -> str:
    return str(get_locale() or "vi")


@bp.get("/")
@requires(Permission.ASSIST_INTAKE)
def index():
    """The reports this member helped submit, newest first (at most ``LIST_LIMIT``), with
    their status and deadline, and how many are in each status.

    ``?status=<ReportStatus value>`` shows only those; an unknown value shows all.
    """
    mine = Report.assisted_by_id == current_user.id
    counts = dict(db.session.execute(
        select(Report.status, func.count(Report.id)).where(mine).group_by(Report.status)).all())
    status = None
    try:
        status = ReportStatus(request.args.get("status", ""))
    except ValueError:
        status = None
    query = select(Report).where(mine)
    if status is not None:
        query = query.where(Report.status == status)
    reports = db.session.scalars(
        query.options(selectinload(Report.admin_unit), selectinload(Report.category))
        .order_by(Report.created_at.desc(), Report.id.desc()).limit(LIST_LIMIT)
    ).all()
    return render_template(
        "community/index.html", reports=reports, status=status, total=sum(counts.values()),
        counts=[(s, counts[s]) for s in ReportStatus if counts.get(s)], locale=_locale())


def _assisted_form() -> AssistedReportForm:
    form = AssistedReportForm()
    form.category_code.choices = category_choices(_locale())
    form.admin_unit_code.choices = unit_choices()
    return form


@bp.route("/report/new", methods=["GET", "POST"])
@requires(Permission.ASSIST_INTAKE)
@csrf.exempt
def new_report():
    """The assisted report form.

    GET: the empty form with a fresh idempotency key. POST (multipart; the fields
    of ``AssistedReportForm``, files ``photos``): 303 to the confirmation page of the
    new report, or of the first report sent with the same ``submission_key`` (a double
    click or a resend after a timeout); 422 with the form, everything typed kept and
    a message at each field, when something is wrong.
    """
    form = _assisted_form()
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        return render_template("community/new.html", form=form, form_errors=[], photos_sent=0)

    if not form.submission_key.data:
        form.submission_key.data = secrets.token_urlsafe(24)
    photos = form.uploads()
    form_errors: list[str] = []
    if not form.validate():  # the CSRF token only: the rules are the service's
        form_errors.append(_("For your security the form had expired. Check what you entered and "
                             "send it again."))
        form.csrf_token.errors = []
    else:
        submission = form.to_submission(
            photos, channel=Channel.ASSISTED, assisted_by_id=current_user.id,
            consent_method=form.consent_method.data or "", citizen_channel=form.citizen_channel.data or "")
        try:
            result = submit_report(submission, current_app.config["UPLOAD_FOLDER"])
        except IntakeError as error:
            form_errors.extend(form.show_errors(error.errors))
        else:
            return redirect(url_for("community.submitted", code=result.report.tracking_code), code=303)
    return render_template("community/new.html", form=form, form_errors=form_errors,
                           photos_sent=len(photos)), 422


@bp.get("/report/<code>/submitted")
@requires(Permission.ASSIST_INTAKE)
def submitted(code: str):
    """After an assisted report: the tracking code to give the citizen, the expected date,
    and the way to the next report. Shows nothing personal (like the public
    confirmation page); 404 for an unknown code."""
    code = normalise_tracking_code(code)
    report = db.session.scalar(select(Report).where(Report.tracking_code == code)) if code else None
    if report is None:
        abort(404)
    return render_template("community/submitted.html", report=report, locale=_locale())
