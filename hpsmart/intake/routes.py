"""Public intake pages (no login): the report form, its confirmation and the tracking page.

Routes are thin: they turn the request into a ``ReportSubmission`` and let
:mod:`hpsmart.services.intake` decide. Abuse limits per client IP (Flask-Limiter):
``INTAKE_RATE_LIMIT`` on POST /report/new, ``TRACK_RATE_LIMIT`` on /track; the 429
page is the app's localized error page. Behind a reverse proxy, the proxy must
pass the client address (werkzeug ``ProxyFix``) or every visitor shares one limit.

The report and tracking forms are exempt from the app-wide CSRF check and check
their token themselves (FlaskForm), so that an expired token re-renders the form
with everything the person typed instead of an error page.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from sqlalchemy import select

from ..extensions import csrf, db, limiter
from ..models import Channel, Report, ReportStatus
from ..public_reports.feedback import feedback_panel
from ..services.intake import IntakeError, normalise_phone, submit_report
from ..services.tracking import normalise_tracking_code
from .forms import HONEYPOT_FIELD, ReportForm, TrackForm, category_choices, unit_choices

bp = Blueprint("intake", __name__)

# Endpoints of hpsmart.media that serve a photo's public copy and thumbnail by the
# file name under public/ or thumb/ (``<endpoint>(name="ab/cd/<hex>.jpg")``).
PUBLIC_PHOTO_ENDPOINT = "media.public_copy"
THUMB_PHOTO_ENDPOINT = "media.thumbnail"

def _intake_limit() -> str:
    return current_app.config.get("INTAKE_RATE_LIMIT", "10/minute;50/day")


def _track_limit() -> str:
    return current_app.config.get("TRACK_RATE_LIMIT", "30/minute")


def _locale() -> str:
    return str(get_locale() or "vi")


def _report_form() -> ReportForm:
    form = ReportForm()
    form.category_code.choices = category_choices(_locale())
    form.admin_unit_code.choices = unit_choices()
    return form


@bp.route("/report/new", methods=["GET", "POST"])
@limiter.limit(_intake_limit, methods=["POST"])
@csrf.exempt
def new_report():
    """GET: the empty form with a fresh idempotency key.

    POST (multipart; fields of ``ReportForm``, files ``photos``): 303 to the
    confirmation page of the new report (or of the first report sent with the same
    ``submission_key``); 422 with the form, every typed value kept and a message at
    each field, when something is wrong. A filled honeypot gets a thank-you page and
    nothing is stored.
    """
    form = _report_form()
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        return render_template("intake/new.html", form=form, form_errors=[], photos_sent=0)

    if request.form.get(HONEYPOT_FIELD, "").strip():
        return render_template("intake/received.html")
    if not form.submission_key.data:
        form.submission_key.data = secrets.token_urlsafe(24)
    photos = form.uploads()
    form_errors: list[str] = []
    if not form.validate():  # the CSRF token only: the rules are the service's
        form_errors.append(_("For your security the form had expired. Check what you entered and "
                             "send it again."))
        form.csrf_token.errors = []
    else:
        try:
            result = submit_report(form.to_submission(photos, channel=Channel.WEB, consent_method="online"),
                                   current_app.config["UPLOAD_FOLDER"])
        except IntakeError as error:
            form_errors.extend(form.show_errors(error.errors))
        else:
            return redirect(url_for("intake.submitted", code=result.report.tracking_code), code=303)
    return render_template("intake/new.html", form=form, form_errors=form_errors,
                           photos_sent=len(photos)), 422


def _report_by_code(code: str | None) -> Report | None:
    return db.session.scalar(select(Report).where(Report.tracking_code == code)) if code else None


@bp.get("/report/<code>/submitted")
def submitted(code: str):
    """The confirmation page: tracking code, what happens next, the (provisional) deadline.

    Shows nothing personal; 404 for an unknown code.
    """
    report = _report_by_code(normalise_tracking_code(code))
    if report is None:
        abort(404)
    return render_template("intake/submitted.html", report=report, locale=_locale())


def _photo_links(report: Report) -> list[dict]:
    """Thumbnail and public-copy URLs of the report's visible photos (never the originals)."""
    links = []
    for photo in report.photos:
        if photo.hidden or not photo.public_path or not photo.thumb_path:
            continue
        links.append({"thumb": url_for(THUMB_PHOTO_ENDPOINT, name=photo.thumb_path.split("/", 1)[1]),
                      "full": url_for(PUBLIC_PHOTO_ENDPOINT, name=photo.public_path.split("/", 1)[1])})
    return links


# Status events whose note is written for the citizen (the reason of a rejection, the
# original of a duplicate); the published answer is shown on its own (``_public_answer``).
_PUBLIC_NOTE_STATUSES = {ReportStatus.REJECTED.value, ReportStatus.DUPLICATE.value}


def _history(report: Report) -> list[dict]:
    """The public events of ``report`` in plain words: ``[{"at", "text", "note"}]``, oldest first."""
    items = []
    for event in report.events:
        if not event.public:
            continue
        note = None
        if event.action == "created":
            text = _("Report received")
        elif event.action == "status":
            try:
                status = ReportStatus(event.new_value)
            except ValueError:
                continue
            text = _("Status: %(status)s", status=status.title)
            if status.value in _PUBLIC_NOTE_STATUSES:
                note = event.note
        elif event.action == "agency":
            text = _("Handled by: %(agency)s", agency=event.new_value or "")
        elif event.action == "answer":
            text, note = _("Answer"), event.note
        else:
            text = _("Report updated")
        items.append({"at": event.created_at, "text": text, "note": note})
    return items


def _public_answer(report: Report):
    """The answer the tracking page shows: the latest published answer as the public pages show
    it (:func:`hpsmart.services.public.present`: scrubbed text, outcome, agency, the "after"
    photos that are not hidden; for reports published before answers had their own model, the
    published note), or None. Its PDF documents (not hidden) are in ``documents``: URLs."""
    from ..services import answers, public

    shown = public.present([report], _locale())[0].answer
    if shown is None:
        return None
    documents = [url_for("answers.document", attachment_id=a.id)
                 for a in answers.public_documents(answers.published_response(report))]
    return {"answer": shown, "documents": documents}


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(_track_limit)
@csrf.exempt
def track():
    """Look a report up by its tracking code.

    GET ``?code=``: the summary (code, category, ward, status, dates, public history,
    public answer, the reporter's name only if they allowed it). POST (``code``,
    ``phone``): the same, plus the description, address and photos when the phone
    matches the one given with the report; the phone is sent in the body so that it
    never lands in a URL or an access log. The reporter's phone and e-mail are never
    shown. 404 with the form for an unknown code, 422 for input that is not a code.
    """
    form = TrackForm()
    if request.method == "GET":
        form.code.data = request.args.get("code", "")
        form.phone.data = ""
        if not form.code.data:
            return render_template("public/track.html", form=form, report=None)
    elif not form.validate():
        form.csrf_token.errors = []
        form.code.errors = [_("For your security the form had expired. Send it again.")]
        return render_template("public/track.html", form=form, report=None), 422

    code = normalise_tracking_code(form.code.data or "")
    if code is None:
        form.code.errors = [_("This is not a tracking code. It looks like HP-2026-000123.")]
        return render_template("public/track.html", form=form, report=None), 422
    report = _report_by_code(code)
    if report is None:
        form.code.errors = [_("No report has the tracking code %(code)s. Check the code and try again.",
                              code=code)]
        return render_template("public/track.html", form=form, report=None), 404
    form.code.data = code

    details = False
    status = 200
    typed_phone = (form.phone.data or "").strip() if request.method == "POST" else ""
    if typed_phone:
        try:
            phone = normalise_phone(typed_phone)
        except ValueError:
            form.phone.errors = [_("Enter a Vietnamese phone number, for example 0912 345 678.")]
            status = 422
        else:
            details = bool(report.reporter_phone) and hmac.compare_digest(phone, report.reporter_phone)
            if not details:
                form.phone.errors = [_("This is not the phone number given with the report, so its "
                                       "details are not shown.")]
    form.phone.data = ""  # never echo a phone number back into the page
    return render_template(
        "public/track.html", form=form, report=report, details=details, locale=_locale(),
        history=_history(report), answer=_public_answer(report),
        photos=_photo_links(report) if details else [],
        feedback=feedback_panel(report) if details else None), status
