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
from ..services.intake import (IntakeError, PhotoUpload, ReportSubmission, normalise_phone,
                               submit_report)
from ..services.tracking import normalise_tracking_code
from .forms import HONEYPOT_FIELD, ReportForm, TrackForm, category_choices, unit_choices

bp = Blueprint("intake", __name__)

# Endpoints of hpsmart.media that serve a photo's public copy and thumbnail by the
# file name under public/ or thumb/ (``<endpoint>(name="ab/cd/<hex>.jpg")``).
PUBLIC_PHOTO_ENDPOINT = "media.public_copy"
THUMB_PHOTO_ENDPOINT = "media.thumbnail"

# Service field -> form field for errors that have no input of their own: shown on top.
_FORM_LEVEL_FIELDS = ("channel", "consent_method", "submission_key", "category_id")


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


def _uploads() -> list[PhotoUpload]:
    """The chosen files, read into memory; an empty file input (nothing chosen) is skipped,
    a chosen 0-byte file is kept so that it gets its own message."""
    uploads = []
    for storage in request.files.getlist("photos"):
        data = storage.read()
        if not data and not storage.filename:
            continue
        uploads.append(PhotoUpload(data, storage.filename or ""))
    return uploads


def _submission(form: ReportForm, photos: list[PhotoUpload]) -> ReportSubmission:
    return ReportSubmission(
        category_code=form.category_code.data, title=form.title.data or "",
        description=form.description.data or "", admin_unit_code=form.admin_unit_code.data,
        address=form.address.data or "", latitude=form.latitude.data, longitude=form.longitude.data,
        reporter_name=form.reporter_name.data or "", reporter_phone=form.reporter_phone.data or "",
        reporter_email=form.reporter_email.data or "",
        reporter_name_public=bool(form.reporter_name_public.data), consent=bool(form.consent.data),
        consent_method="online", channel=Channel.WEB, submission_key=form.submission_key.data or None,
        photos=photos)


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
    photos = _uploads()
    form_errors: list[str] = []
    if not form.validate():  # the CSRF token only: the rules are the service's
        form_errors.append(_("For your security the form had expired. Check what you entered and "
                             "send it again."))
        form.csrf_token.errors = []
    else:
        try:
            result = submit_report(_submission(form, photos), current_app.config["UPLOAD_FOLDER"])
        except IntakeError as error:
            for name, messages in error.errors.items():
                if name in _FORM_LEVEL_FIELDS or name not in form:
                    form_errors.extend(messages)
                else:
                    form[name].errors = list(messages)
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
# original of a duplicate, the published answer); other notes stay internal.
_PUBLIC_NOTE_STATUSES = {ReportStatus.REJECTED.value, ReportStatus.DUPLICATE.value,
                         ReportStatus.PUBLISHED.value}


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


def _public_answer(report: Report) -> str | None:
    """The published answer: the note of the latest public ``answer`` event or of the public
    status event that published the report (until issue 5 gives answers their own model)."""
    if report.status != ReportStatus.PUBLISHED:
        return None
    for event in reversed(report.events):
        if not event.public or not event.note:
            continue
        if event.action == "answer" or (event.action == "status"
                                        and event.new_value == ReportStatus.PUBLISHED.value):
            return event.note
    return None


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
        photos=_photo_links(report) if details else []), status
