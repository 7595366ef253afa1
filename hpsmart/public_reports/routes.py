"""Public pages of answered reports (no login) and the citizen's follow-up on the tracking page.

``/reports``: the list with filters and search; ``/reports/<code>``: one report with its
published answer; ``/reports/overview``: this month in figures; ``POST /track/feedback``:
the reporter's opinion on the answer. The rules (what is public, what is scrubbed,
what counts) live in :mod:`hpsmart.services.public`.

Caching: for an anonymous visitor with no message waiting, the pages carry nothing of
theirs (``public_cache`` tells base.html to leave out the CSRF token; the language
button proves its origin instead), so they are sent with ``Cache-Control: public,
max-age=60``, a weak ETag and Last-Modified, and a matching ``If-None-Match`` (or,
without it, ``If-Modified-Since``) gets 304 after one query; the pages rendered for them
are also kept in memory (``PageCache``) and reused while their ETag holds. Logged-in
users get ``private, no-cache`` pages without validators (the page shows their name).
"""
from __future__ import annotations

import hmac
import threading
from collections import OrderedDict

from flask import (Blueprint, Response, abort, current_app, flash, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from werkzeug.http import is_resource_modified

from ..extensions import csrf, db, limiter
from ..intake.routes import _history as public_history, _report_by_code, _track_limit
from ..services import answers, public
from ..services.intake import normalise_phone
from ..services.tracking import normalise_tracking_code
from .feedback import feedback_panel
from .forms import FeedbackForm

bp = Blueprint("public_reports", __name__)

MAX_AGE = 60  # seconds a browser or shared cache may reuse a public page without asking


def _locale() -> str:
    return str(get_locale() or "vi")


def _page_size() -> int:
    return int(current_app.config.get("PUBLIC_PAGE_SIZE", public.PAGE_SIZE))


def absolute_url(path: str) -> str:
    """``path`` (site-relative) under the setting ``PUBLIC_BASE_URL``, for link previews."""
    return current_app.config.get("PUBLIC_BASE_URL", request.host_url).rstrip("/") + path


def _shareable() -> bool:
    """True when the page may be cached publicly: an anonymous visitor with no flashed
    message waiting (the page then holds nothing of theirs)."""
    return not current_user.is_authenticated and not session.get("_flashes")


class PageCache:
    """The last pages rendered for anonymous visitors, in memory, per process (LRU).

    Key: the page's ETag (which covers the data it shows, its parameters, the locale and
    the deployed templates: ``services.public.Validators``) and the request's path and
    query, so a page is only reused while a 304 would be correct too. At most
    ``PUBLIC_PAGE_CACHE_ENTRIES`` pages (setting; 0 turns the cache off) of at most
    ``MAX_BYTES`` each.
    """

    MAX_BYTES = 512 * 1024

    def __init__(self):
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        """The page stored under ``key`` (and mark it recently used), or None."""
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes, entries: int) -> None:
        """Store ``body`` under ``key``, dropping the least recently used beyond ``entries``."""
        if entries <= 0 or len(body) > self.MAX_BYTES:
            return
        with self._lock:
            self._pages[key] = body
            self._pages.move_to_end(key)
            while len(self._pages) > entries:
                self._pages.popitem(last=False)


def _page_cache() -> PageCache:
    return current_app.extensions.setdefault("hpsmart_public_pages", PageCache())


def _conditional(validators: public.Validators, render) -> Response:
    """Answer 304 when the request's validators match, else the page (from the page cache
    for an anonymous visitor, else ``render(public_cache)``), with the caching headers
    described in the module docstring."""
    shareable = _shareable()
    if shareable and not is_resource_modified(request.environ, etag=validators.etag,
                                              last_modified=validators.last_modified):
        response = Response(status=304)
    elif shareable:
        key = (validators.etag, request.full_path)
        entries = int(current_app.config.get("PUBLIC_PAGE_CACHE_ENTRIES", 128))
        body = _page_cache().get(key) if entries > 0 else None
        if body is None:
            body = render(True).encode()
            _page_cache().put(key, body, entries)
        response = make_response(body)
        response.mimetype = "text/html"
    else:
        response = make_response(render(False))
    if shareable:
        response.set_etag(validators.etag, weak=True)
        response.last_modified = validators.last_modified
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE
    else:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    response.vary.add("Cookie")
    response.vary.add("HX-Request")
    return response


@bp.get("/reports")
def index():
    """The answered reports, newest answer first, with filters (``category``, ``unit``,
    ``status``, ``month``), search ``q`` and ``page`` (see ``PublicFilters``)."""
    filters = public.PublicFilters.from_args(request.args)
    locale = _locale()
    validators = public.list_validators(filters, locale)

    def render(public_cache: bool) -> str:
        options = public.filter_options(locale)
        public.unknown_code_notices(filters, options)
        page = public.list_page(filters, locale, total=validators.total, page_size=_page_size())
        return render_template("public/reports.html", page=page, filters=filters, options=options,
                               absolute_url=absolute_url, public_cache=public_cache,
                               list_photos=public.LIST_PHOTOS)

    return _conditional(validators, render)


@bp.get("/reports/overview")
def overview():
    """This month's figures: received, answered, on time, per agency, and satisfaction."""
    locale = _locale()
    validators = public.overview_validators(locale)

    def render(public_cache: bool) -> str:
        return render_template("public/reports_overview.html", overview=public.overview(locale),
                               absolute_url=absolute_url, public_cache=public_cache)

    return _conditional(validators, render)


@bp.get("/reports/<code>")
def detail(code: str):
    """One answered report: description, place, photos before and after, the published
    answers and the public history. 404 unless its answer has been published; a code
    written differently (lower case, spaces) redirects to the canonical address."""
    normalised = normalise_tracking_code(code)
    if normalised is None:
        abort(404)
    if normalised != code:
        return redirect(url_for("public_reports.detail", code=normalised), code=301)
    report = public.find_public_report(normalised)
    if report is None:
        abort(404)
    locale = _locale()
    validators = public.detail_validators(report, locale)

    def render(public_cache: bool) -> str:
        item = public.present([report], locale)[0]
        history = public.scrub_history(public_history(report), report)
        documents = [url_for("answers.document", attachment_id=a.id)
                     for a in answers.public_documents(answers.published_response(report))]
        return render_template("public/report.html", item=item, history=history, documents=documents,
                               absolute_url=absolute_url, public_cache=public_cache)

    return _conditional(validators, render)


@bp.post("/track/feedback")
@limiter.limit(_track_limit)
@csrf.exempt
def feedback():
    """The reporter's opinion on the published answer (form of the tracking page).

    Needs the proof of the phone check (the form's ``token``, valid
    ``services.public.FEEDBACK_TOKEN_MAX_AGE`` seconds) or, once it has expired, the
    phone again. 303 to the tracking page with a thank-you message; 422 with the form,
    everything typed kept (never the phone), for a missing choice or comment, an
    expired form or proof; 404 for an unknown code. When feedback is no longer
    possible (already given, a newer answer, the report moved on): 303 to the
    tracking page with the reason.
    """
    form = FeedbackForm()
    code = normalise_tracking_code(form.code.data or "")
    report = _report_by_code(code)
    if report is None:
        abort(404)
    typed_phone = (form.phone.data or "").strip()
    form.phone.data = ""  # never echo a phone number back into the page
    messages: list[str] = []
    fresh = form.validate()  # the CSRF token only: the rules are the service's (errors reset here)
    if not fresh:
        form.csrf_token.errors = []
        messages.append(_("For your security the form had expired. Check your answer and send it again."))

    proof = public.read_feedback_token(form.token.data, current_app.secret_key)
    proven = proof is not None and proof[0] == report.id
    response_id = proof[1] if proven else None
    if not proven and typed_phone:
        try:
            phone = normalise_phone(typed_phone)
        except ValueError:
            form.phone.errors = [_("Enter a Vietnamese phone number, for example 0912 345 678.")]
        else:
            if report.reporter_phone and hmac.compare_digest(phone, report.reporter_phone):
                proven = True
                state = public.feedback_state(report)
                response_id = state.response.id if state.response is not None else None
            else:
                form.phone.errors = [_("This is not the phone number given with the report.")]
    elif not proven:
        form.phone.errors = [_("For your security, enter the phone number given with the report again.")]

    if fresh and proven:
        try:
            public.give_feedback(report, response_id, form.verdict(), form.comment.data)
        except public.FeedbackError as error:
            if error.closed:
                db.session.rollback()
                flash(str(error.errors["form"]), "info")
                return redirect(url_for("intake.track", code=report.tracking_code), code=303)
            for name, message in error.errors.items():
                form[name].errors = [str(message)]
        else:
            satisfied = form.verdict()
            db.session.commit()
            flash(_("Thank you for telling us that the answer solved the problem.") if satisfied else
                  _("Thank you. Your report goes back to the city's operations centre with your comment."),
                  "success")
            return redirect(url_for("intake.track", code=report.tracking_code), code=303)

    panel = feedback_panel(report, form, proven=proven)
    if panel is None:  # no longer waiting for an opinion
        return redirect(url_for("intake.track", code=report.tracking_code), code=303)
    return render_template("public/feedback.html", report_code=report.tracking_code, feedback=panel,
                           messages=messages), 422
