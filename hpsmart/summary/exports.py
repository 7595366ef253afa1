"""Exports of the statistics pages: the dashboard's tables as CSV and XLSX, and the PDF
report with a long appendix made by a background job.

Routes (blueprint ``summary``, permission ``VIEW_STATISTICS``, the same period,
filters and agency scope as the dashboard: ``routes._scope``, ``period_form`` and
``routes._parse``; bad input gives the dashboard with its messages, status 422):

* ``GET /reports/summary.xlsx?from=…&to=…``: every table, one sheet each, and an
  "About" sheet (:func:`hpsmart.services.exports.xlsx_bytes`);
* ``GET /reports/summary-<table>.csv?from=…&to=…``: one table (``figures``,
  ``agencies``, ``units``, ``categories``, ``channels``, ``weeks``, ``overdue``) as a
  CSV file for Excel (:func:`hpsmart.services.exports.csv_bytes`);
* ``GET /reports/summary.pdf?…&appendix=y`` whose appendix is longer than
  ``PDF_APPENDIX_DIRECT_ROWS`` answers a page that offers to prepare it in the
  background (:func:`long_appendix`, called by ``routes.pdf``); longer than
  ``PDF_APPENDIX_MAX_ROWS``: 422;
* ``POST /summary/jobs`` (the PDF form's fields, CSRF): queue the job, 303 to its page;
* ``GET /summary/jobs``: the person's documents (an admin's: everyone's);
* ``GET /summary/jobs/<id>``: progress (htmx polls it every 2 s; without
  JavaScript the page reloads itself every 5 s and has a reload link), then the
  download link; ``GET /summary/jobs/<id>/download``: the file. Both only for the
  person who asked and admins, 404 for anyone else (nothing says the job exists).
"""
from __future__ import annotations

from flask import (Response, abort, current_app, make_response, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import ExportJob, JobState, Role
from ..pdf.summary import AppendixLimits, SummaryOptions, filter_description
from ..permissions import Permission, is_htmx, requires
from ..services import exports as ex
from ..services import jobs
from ..services import statistics as st
from ..services.inbox import filter_options
from .forms import PdfOptionsForm, period_form
from .routes import _dashboard, _locale, _notable, _parse, _scope, bp

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOB_TEMPLATE = "summary/job.html"
#: Seconds between two looks at a running job: htmx polling, and the page's reload without JavaScript.
POLL_SECONDS = 2
RELOAD_SECONDS = 5
#: Jobs listed on the documents page.
JOBS_LISTED = 50


def _refused(form, pdf_form, scope):
    """The dashboard with the forms' messages, status 422 (what every bad input here gets)."""
    return _dashboard(form, pdf_form, scope, 422)


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export_query():
    """``(query, None)`` for valid arguments, else ``(None, 422 response)``."""
    scope = _scope()
    options = filter_options(current_user, _locale())
    form = period_form(request.args, options, scope=scope)
    if not form.validate():
        return None, _refused(form, period_form(request.args, options, PdfOptionsForm, scope=scope), scope)
    return _parse(form), None


def _overdue(query) -> list[st.ReportLine]:
    limit = int(current_app.config.get("EXPORT_MAX_ROWS", 50_000))
    return st.overdue_reports(query.start, query.end, query.filters, limit=limit, locale=_locale())


@bp.get("/reports/summary.xlsx")
@requires(Permission.VIEW_STATISTICS)
def export_xlsx():
    """Every table of the dashboard for the period and filters as one workbook (XLSX)."""
    query, refused = _export_query()
    if refused is not None:
        return refused
    locale = _locale()
    current = st.compute(query.start, query.end, query.filters, locale=locale)
    previous = st.compute(*st.previous_period(query.start, query.end), query.filters, locale=locale,
                              totals_only=True)
    overdue = _overdue(query)
    about = ex.about_lines(current, previous, filter_description(query.filters, locale),
                           overdue_shown=len(overdue), overdue_total=current.totals.overdue)
    body = ex.xlsx_bytes(ex.summary_tables(current, previous, overdue), about, about_title=str(_l("About")),
                         title=str(_l("Statistics of citizens' field reports")))
    return _download(body, XLSX_MIMETYPE, ex.file_name(None, query.start, query.end, "xlsx"))


@bp.get("/reports/summary-<any(figures, agencies, units, categories, channels, weeks, overdue):table>.csv")
@requires(Permission.VIEW_STATISTICS)
def export_csv(table: str):
    """One table of the dashboard for the period and filters as a CSV file for Excel."""
    query, refused = _export_query()
    if refused is not None:
        return refused
    locale = _locale()
    if table == "overdue":
        result = ex.overdue_table(_overdue(query))
    else:
        current = st.compute(query.start, query.end, query.filters, locale=locale)
        if table == "figures":
            previous = st.compute(*st.previous_period(query.start, query.end), query.filters, locale=locale,
                              totals_only=True)
            result = ex.figures_table(current, previous)
        else:
            rows = {"agencies": current.by_agency, "units": current.by_unit, "categories": current.by_category,
                    "channels": current.by_channel, "weeks": current.by_week}[table]
            codes = ex.unit_codes(rows) if table == "units" else None
            result = ex.breakdown_table(table, rows, unit_codes=codes)
    return _download(ex.csv_bytes(result), "text/csv", ex.file_name(table, query.start, query.end, "csv"))


# --- the PDF report with a long appendix: a background job ----------------------------------

def _too_long_message(rows: int, limit: int) -> str:
    return str(_l("The appendix would list %(rows)s reports; at most %(max)s fit in one document. Choose a "
                  "shorter period or filters.", rows=rows, max=limit))


def long_appendix(form: PdfOptionsForm, rows: int, scope):
    """What ``GET /reports/summary.pdf`` answers when the appendix is too long to make
    while the browser waits: a page offering to prepare it in the background (200),
    or, beyond ``PDF_APPENDIX_MAX_ROWS``, the dashboard with the message (422)."""
    limits = AppendixLimits.from_config(current_app.config)
    options = filter_options(current_user, _locale())
    if rows > limits.max_rows:
        form.appendix.errors = [_too_long_message(rows, limits.max_rows)]
        return _refused(period_form(request.args, options, scope=scope), form, scope)
    return render_template("summary/job_confirm.html", rows=rows, limits=limits,
                           fields=list(request.args.items(multi=True)), back=url_for("summary.index", **{
                               k: v for k, v in request.args.items() if k in ("from", "to", "agency", "unit",
                                                                                "category", "channel")}))


@bp.post("/summary/jobs")
@requires(Permission.VIEW_STATISTICS)
def queue_job():
    """Queue the PDF report with its appendix (the PDF form's fields) and go to its page (303).
    Bad input, an appendix over the limit, or too many jobs at once: the dashboard, 422."""
    scope = _scope()
    options = filter_options(current_user, _locale())
    form = period_form(request.form, options, PdfOptionsForm, scope=scope)
    if not form.validate():
        return _refused(period_form(request.form, options, scope=scope), form, scope)
    query = _parse(form)
    notable_ids, unknown = _notable(form.notable.data or "")
    if unknown:
        form.notable.errors = [str(_l("Unknown tracking codes: %(codes)s", codes=", ".join(unknown)))]
        return _refused(period_form(request.form, options, scope=scope), form, scope)
    recipients = tuple(line for line in (form.recipients.data or "").splitlines() if line.strip()) or None
    choices = SummaryOptions(
        number=form.number.data or "", notable_ids=tuple(notable_ids) if notable_ids else None, appendix=True,
        signer_authority=form.signer_authority.data or None, signer_title=form.signer_title.data or None,
        signer_name=form.signer_name.data or None, recipients=recipients)
    try:
        job, _ = jobs.queue_summary_pdf(current_user, jobs.SummaryRequest(query.start, query.end, query.filters,
                                                                          choices))
    except jobs.JobRefused as refusal:
        if refusal.reason == "too_long":
            form.appendix.errors = [_too_long_message(refusal.rows, refusal.limit)]
        else:
            form.appendix.errors = [str(_l("You already have %(num)s documents being prepared; wait until one "
                                           "is ready.", num=refusal.limit))]
        return _refused(period_form(request.form, options, scope=scope), form, scope)
    db.session.commit()
    jobs.start_worker_thread(current_app._get_current_object())
    return redirect(url_for("summary.job", job_id=job.id), 303)


def _job_or_404(job_id: int) -> ExportJob:
    job = db.session.get(ExportJob, job_id)
    if job is None or not jobs.can_see(job, current_user):
        abort(404)
    return job


ERRORS = {
    "worker_stopped": _l("The worker preparing the document stopped several times. Ask for it again; if it "
                         "fails again, tell the administrator."),
    "too_long": _l("The list has grown beyond what one document may hold. Choose a shorter period or filters."),
    "error": _l("The document could not be made. Ask for it again; if it fails again, tell the administrator."),
}


@bp.get("/summary/jobs/<int:job_id>")
@requires(Permission.VIEW_STATISTICS)
def job(job_id: int):
    """A job's progress and, when done, its download link; for htmx, the status block only."""
    job = _job_or_404(job_id)
    if jobs.is_due(job):  # waiting, or its worker died: make sure a worker of this process looks
        jobs.start_worker_thread(current_app._get_current_object())
    request_ = jobs.summary_request(job)
    context = {
        "job": job, "percent": jobs.percent(job), "active": job.state in jobs.ACTIVE, "request_": request_,
        "filters": filter_description(request_.filters, _locale()), "errors": ERRORS,
        "poll_seconds": POLL_SECONDS, "reload_seconds": RELOAD_SECONDS,
        "file_available": jobs.file_path(job) is not None,
    }
    if is_htmx():
        response = make_response(render_block(JOB_TEMPLATE, "status", **context))
    else:
        response = make_response(render_template(JOB_TEMPLATE, **context))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/summary/jobs/<int:job_id>/download")
@requires(Permission.VIEW_STATISTICS)
def job_download(job_id: int):
    """The finished document (PDF, attachment); 404 when not finished or already deleted."""
    job = _job_or_404(job_id)
    path = jobs.file_path(job)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True, download_name=job.file_name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/summary/jobs")
@requires(Permission.VIEW_STATISTICS)
def jobs_list():
    """The documents the person asked for (an admin: everyone's), newest first."""
    query = select(ExportJob).order_by(ExportJob.id.desc()).limit(JOBS_LISTED)
    if current_user.role != Role.ADMIN:
        query = query.where(ExportJob.user_id == current_user.id)
    rows = [(j, jobs.summary_request(j)) for j in db.session.scalars(query)]
    return render_template("summary/jobs.html", rows=rows, JobState=JobState, percent=jobs.percent)
