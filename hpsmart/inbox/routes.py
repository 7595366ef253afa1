"""The shared inbox list: filters, search, pages, saved views and bulk actions.

``GET /inbox/`` serves the whole page, or, for an htmx request that is not a
history restore, only the block ``report_list`` of the same template (the filter
form swaps the list; the URL carries filters, sort and page). The POSTs carry a
CSRF token and work without JavaScript: saving or deleting a view answers 303 to
the list (422 with the message when the name is taken); a bulk action answers
303 back to the same filtered list with the outcome as flash messages, or, for
htmx, the re-rendered list with the outcome in a panel. The rules live in
:mod:`hpsmart.services.inbox`; one report's page is the ``report`` blueprint.
"""
from __future__ import annotations

import json

from flask import (Blueprint, abort, flash, get_template_attribute, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import get_locale, gettext as _, ngettext
from flask_login import current_user
from jinja2_fragments.flask import render_block

from ..extensions import db
from ..forms import EmptyForm
from ..models import Agency, ReportStatus
from ..permissions import Permission, is_htmx, requires
from ..services import inbox as service
from ..services.workflow import REJECT_REASONS
from .forms import SavedViewForm, bulk_form

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

TEMPLATE = "inbox/index.html"
LIST_BLOCK = "report_list"


def _user():
    return current_user._get_current_object()


def _list_url(filters: service.InboxFilters, page: int | None = None) -> str:
    query = filters.query_string(page)
    return url_for("inbox.index") + (f"?{query}" if query else "")


#: The session key of the list the person last looked at (its query string).
LAST_LIST_KEY = "inbox_list"


def last_list_url() -> str:
    """The inbox list this person last looked at, with its filters, sort and page (the
    report page's "← Inbox" link, which after an action there no longer follows a
    Referer); the plain list when none is remembered. A path on this site, never a
    value to redirect elsewhere: the query string is one ``InboxFilters`` wrote."""
    query = session.get(LAST_LIST_KEY) or ""
    return url_for("inbox.index") + (f"?{query}" if query else "")


def _render(filters: service.InboxFilters, *, status: int = 200, view_form: SavedViewForm | None = None,
            form=None, selected: set[int] | None = None, bulk_result: service.BulkResult | None = None,
            selection_error: str | None = None):
    """The list page (or its ``report_list`` block for htmx) for ``filters``."""
    user = _user()
    fragment = is_htmx()
    locale = str(get_locale() or "vi")
    page = service.search_reports(filters, user, locale=locale)
    # The filter form and the saved views are outside the list: an htmx request (most
    # list requests) skips them.
    agencies = service.current_agency_choices()
    options = None if fragment else service.filter_options(user, locale, agencies)
    views = [] if fragment else service.saved_views(user)
    if form is None:
        form = _bulk_form(user, agencies)
    form.query.data = filters.query_string(filters.page)
    if view_form is None:
        view_form = SavedViewForm(formdata=None)
    view_form.query.data = filters.query_string()
    context = {
        "filters": filters, "page": page, "options": options, "views": views,
        "suggestions": [] if fragment else service.suggested_views(user, views), "view_form": view_form,
        "delete_form": EmptyForm(formdata=None), "bulk_form": form, "selected": selected or set(),
        "bulk_result": bulk_result, "bulk_messages": bulk_messages(bulk_result) if bulk_result else [],
        "selection_error": selection_error, "list_url": _list_url, "fragment": fragment,
        "badges": _status_badges(), "deadline_text": _deadline_texts(),
    }
    if fragment:
        body = render_block(TEMPLATE, LIST_BLOCK, **context)
    else:
        body = render_template(TEMPLATE, **context)
    return make_response(body, status)


def _status_badges() -> dict:
    """Each status's badge (the ``status_badge`` macro), rendered once per request rather
    than once per row."""
    badge = get_template_attribute("_macros/forms.html", "status_badge")
    return {status: badge(status) for status in ReportStatus}


def _deadline_texts():
    """A function ``DeadlineFlag -> str`` for the list's deadline column ("Overdue: 3
    working days late", "Due today", "5 working days left"; "" for other states), each
    distinct flag translated once per request."""
    memo: dict[service.DeadlineFlag, str] = {}

    def text(flag: service.DeadlineFlag) -> str:
        if flag not in memo:
            days = flag.working_days_left
            if flag.state == "overdue":
                memo[flag] = _("Overdue") if days is None or days >= 0 else ": ".join(
                    [_("Overdue"), ngettext("%(num)d working day late", "%(num)d working days late", -days)])
            elif flag.state == "due_soon":
                memo[flag] = _("Due today") if days == 0 else ngettext(
                    "Due soon: %(num)d working day left", "Due soon: %(num)d working days left", days)
            elif flag.state == "on_time":
                memo[flag] = ngettext("%(num)d working day left", "%(num)d working days left", days)
            else:
                memo[flag] = ""
        return memo[flag]

    return text


def _bulk_form(user, agencies: list[tuple[str, str]] | None = None, **kwargs):
    """The bulk actions' form for ``user``; ``agencies``: ``current_agency_choices()`` if
    the caller has read it already."""
    return bulk_form(service.bulk_actions_for(user),
                     agencies if agencies is not None else service.current_agency_choices(),
                     [(code, str(text)) for code, text in REJECT_REASONS.items()], **kwargs)


@bp.get("/")
@requires(Permission.VIEW_INBOX)
def index():
    """The reports the user may see, filtered, searched, sorted, 50 a page (query arguments:
    see ``InboxFilters.from_args``). Bad values are ignored with a notice, never an error."""
    filters = service.InboxFilters.from_args(request.args)
    response = _render(filters)
    query = filters.query_string(filters.page)
    if session.get(LAST_LIST_KEY, "") != query:
        session[LAST_LIST_KEY] = query
    return response


@bp.post("/views")
@requires(Permission.VIEW_INBOX)
def save_view():
    """Save the list's current filters (hidden ``query``) under ``name``: 303 to the saved
    view; 422 with the page and the message when the name is missing, too long or taken."""
    form = SavedViewForm()
    filters = service.filters_from_query_string(form.query.data or "")
    if form.validate_on_submit():
        try:
            view = service.save_view(_user(), form.name.data, form.query.data or "")
        except service.SavedViewError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("View “%(name)s” saved.", name=view.name), "success")
            return redirect(url_for("inbox.index") + (f"?{view.query_string}" if view.query_string else ""), 303)
    elif form.errors.get("csrf_token"):
        abort(400)
    return _render(filters, status=422, view_form=form)


@bp.post("/views/<int:view_id>/delete")
@requires(Permission.VIEW_INBOX)
def delete_view(view_id: int):
    """Delete one of the user's saved views: 303 to the list; 404 when it is not theirs."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if not service.delete_view(_user(), view_id):
        abort(404)
    db.session.commit()
    flash(_("The saved view was deleted."), "success")
    return redirect(url_for("inbox.index"), 303)


@bp.post("/bulk")
@requires(Permission.VIEW_INBOX)
def bulk():
    """Apply one workflow action to the checked rows (``report`` = ``"id:version"``).

    Each report is done or skipped on its own (``services.inbox.bulk_apply``). Answer:
    303 to the same filtered list with "N done, M skipped" and the reasons as flash
    messages; for htmx, the list itself with the outcome in a panel. 422 with the list,
    the checked rows and a message when no row or no action is chosen, or route lacks
    its agency, or reject its reason; 403 for an action the role may never take
    (routing needs TRIAGE; the workflow guards each report further).
    """
    user = _user()
    form = _bulk_form(user)
    if not form.validate_on_submit():
        abort(400)  # only the CSRF token can fail: the selects do not validate their choices
    filters = service.filters_from_query_string(form.query.data or "")
    selection = service.parse_selection(request.form.getlist("report"))
    action = form.action.data or ""
    if action in service.BULK_ACTIONS and action not in {n for n, _t in service.bulk_actions_for(user)}:
        abort(403)
    agency = None
    if action not in service.BULK_ACTIONS:
        form.action.errors = [_("Choose an action.")]
    elif action == "route":
        agency_id = form.agency.data or ""
        agency = db.session.get(Agency, int(agency_id)) if agency_id.isdigit() else None
        if agency is None or not agency.is_current:
            form.agency.errors = [_("Choose the agency to route the reports to.")]
    elif action == "reject" and (form.reason.data or "") not in REJECT_REASONS:
        form.reason.errors = [_("Choose a reason for rejecting.")]
    selection_error = None if selection else _("Select at least one report.")
    if selection_error or form.action.errors or form.agency.errors or form.reason.errors:
        return _render(filters, status=422, form=form, selected={i for i, _v in selection},
                       selection_error=selection_error)
    result = service.bulk_apply(user, selection, action, agency=agency,
                                reason=form.reason.data if action == "reject" else None)
    db.session.commit()
    if is_htmx():
        response = _render(filters, bulk_result=result)
        # A report open beside the list that the action changed reads itself again
        # (report/view.html listens), instead of offering actions on its old version.
        response.headers["HX-Trigger"] = json.dumps({"reportsChanged": {"codes": result.done}})
        return response
    for category, message in bulk_messages(result):
        flash(message, category)
    return redirect(_list_url(filters, filters.page), 303)


def bulk_messages(result: service.BulkResult) -> list[tuple[str, str]]:
    """Messages for a bulk outcome: ``[(category, text), ...]``, the counts first
    ("N done, M skipped."), then one line per reason with the tracking codes."""
    summary = _("%(done)d done, %(skipped)d skipped.", done=len(result.done), skipped=len(result.skipped))
    messages = [("success" if not result.skipped else "warning", summary)]
    for reason, codes, count in result.skipped_by_reason():
        line = _("%(num)d skipped: %(reason)s", num=count, reason=reason)
        messages.append(("warning", f"{line} ({', '.join(codes)})" if codes else line))
    return messages
