"""One report in the shared inbox: its page, the same page's panel for htmx, and its actions.

``GET /inbox/reports/<code>`` is the full page; an htmx request (not a history
restore) gets only the block ``report_panel`` of the same template, which the inbox
list shows beside or over itself. Every action is a ``<form method="post">`` with
its CSRF token and the report ``version`` it was rendered with; htmx posts the same
form and swaps the panel. Answers to a POST:

* done: 303 to the report's page (no JavaScript) or the re-rendered panel (htmx),
  with an ``HX-Trigger: reportChanged`` event the list can listen to;
* refused by the workflow (``WorkflowError``): 422, the form with its message and
  everything typed;
* the report changed since the page was loaded (``ConflictError``, or two saves
  racing past the version check: SQLAlchemy's ``StaleDataError``, or SQLite's
  "database is locked" on a stale snapshot): 409 with what changed since (who, which
  field, old → new) and the current state; nothing is overwritten. The forms come back
  with the current version: the action form keeps what was typed; the IOC's edit form
  shows the current value of every field someone else changed meanwhile, with the
  person's own value beside it, and keeps their values elsewhere (``_merge_fields``), so
  sending it again never undoes the other change silently.

Presence: showing the page or panel, and its heartbeat (``POST .../presence`` every
``HEARTBEAT_SECONDS``), upsert one ``ReportViewer`` row per (report, user).
Reporter contact details are shown to staff only on these pages and never logged.
"""
from __future__ import annotations

import json
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, ngettext
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..inbox.routes import last_list_url
from ..models import AdministrativeUnit, Agency, Category, Report, ReportEvent, ReportStatus, utcnow
from ..permissions import Permission, is_htmx, polled, requires
from ..database import writes_on_get
from ..services import notes, presence, workflow
from ..services.inbox import deadline_flag
from ..services.related import possible_duplicates, related_reports
from ..services.tracking import normalise_tracking_code
from ..services.visibility import visible_reports
from ..services.workflow import TRANSITIONS, ConflictError, WorkflowError
from .forms import NoteForm, fields_form, transition_form
from .history import describe, history

bp = Blueprint("report", __name__, url_prefix="/inbox/reports")

TEMPLATE = "report/view.html"
PANEL_BLOCK = "report_panel"  # the inbox list loads this block with hx-get
PRESENCE_BLOCK = "presence"
OSM_URL = "https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"


# --- loading and rendering ---

def _code(tracking_code: str) -> str:
    """The canonical form of a tracking code from the URL (``hp-2026-123`` works too)."""
    return normalise_tracking_code(tracking_code) or tracking_code.strip().upper()


def _load(tracking_code: str) -> Report:
    """The report with this code if the current user may see it, else 404."""
    report = db.session.scalar(
        visible_reports(select(Report), current_user).where(Report.tracking_code == _code(tracking_code))
        .options(selectinload(Report.category), selectinload(Report.admin_unit), selectinload(Report.agency),
                 selectinload(Report.co_agencies), selectinload(Report.attachments),
                 selectinload(Report.duplicate_of),
                 selectinload(Report.events).selectinload(ReportEvent.actor)))
    if report is None:
        abort(404)
    return report


def _user():
    return current_user._get_current_object()


def _context(report: Report, *, failed: tuple | None = None, error: str | None = None,
             conflict: dict | None = None, notice: str | None = None) -> dict:
    """Everything the template needs.

    :param failed: ``(key, form)`` of the form that was sent and refused: shown with its
        data (``key`` is a transition name, ``"fields"`` or ``"note"``).
    :param error: the message for that form. :param conflict: see ``_conflict_context``.
    :param notice: a success message shown in the panel (htmx answers; full pages use flash).
    """
    user = _user()
    now = utcnow()
    failed_key, failed_form = failed or (None, None)
    actions = []
    for transition in workflow.allowed_transitions(user, report):
        if transition.via_answer:
            continue  # the answer panel (hpsmart.answers) applies these
        form = failed_form if failed_key == transition.name else transition_form(transition, report)
        actions.append((transition, form))
    can_edit = user.can(Permission.TRIAGE) and not report.status.is_closed
    edit_form = None
    if can_edit:
        edit_form = failed_form if failed_key == "fields" else fields_form(report, str(get_locale() or "vi"))
    note_form = failed_form if failed_key == "note" else NoteForm(formdata=None, prefix="note-")
    for form in [f for _t, f in actions] + [edit_form, note_form]:
        if form is not None and "version" in form:
            form.version.data = str(report.version)
    shown = {t.name for t, _f in actions} | ({"fields"} if edit_form is not None else set()) | {"note"}
    map_url = None
    if report.latitude is not None and report.longitude is not None:
        map_url = OSM_URL.format(lat=report.latitude, lon=report.longitude)
    return {
        "report": report, "actions": actions, "edit_form": edit_form, "can_edit": can_edit,
        "agency_editable": report.status == ReportStatus.ROUTED, "note_form": note_form,
        "failed_key": failed_key, "error": error,
        "loose_error": error if failed_key is not None and failed_key not in shown else None,
        "loose_typed": (failed_form.note.data if failed_key not in shown and failed_form is not None
                        and "note" in failed_form else None),
        "conflict": conflict, "notice": notice,
        "history": history(report.events), "viewers": presence.other_viewers(report.id, user.id, now),
        "deadline": deadline_flag(report, now), "map_url": map_url,
        "candidates": possible_duplicates(report, user),
        "can_mark_duplicate": workflow.can(user, report, "mark_duplicate"),
        "related": related_reports(report, user), "heartbeat_seconds": presence.HEARTBEAT_SECONDS,
        "fragment": is_htmx(), "inbox_url": last_list_url(),
    }


def _render(report: Report, status: int = 200, **extra):
    """The full page, or the ``report_panel`` block for an htmx request, with ``status``."""
    context = _context(report, **extra)
    if context["fragment"]:
        body = render_block(TEMPLATE, PANEL_BLOCK, **context)
    else:
        body = render_template(TEMPLATE, **context)
    return make_response(body, status)


def _done(tracking_code: str, message: str):
    """After a committed change: 303 to the page, or the fresh panel for htmx."""
    tracking_code = _code(tracking_code)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("report.view", tracking_code=tracking_code), 303)
    report = db.session.scalar(visible_reports(select(Report.id), _user())
                               .where(Report.tracking_code == tracking_code))
    if report is None:  # the change took the report out of this user's view
        flash(message, "success")
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url_for("inbox.index")
        return response
    response = _render(_load(tracking_code), notice=message)
    response.headers["HX-Trigger"] = json.dumps({"reportChanged": {"code": tracking_code}})
    return response


def _conflict_context(error: ConflictError, tried: str, typed: str | None) -> dict:
    """What the 409 page shows: the changes since the person's version, in plain words
    (``[{"at", "actor", "text", "note"}]``), what they tried and what they typed."""
    changes = [{"at": e.created_at, "actor": e.actor.name if e.actor is not None else _("Citizen or system"),
                "text": describe(e), "note": e.note} for e in error.since]
    return {"message": str(error), "changes": changes, "tried": tried, "typed": typed}


def _seen_version(raw: str | None) -> int | None:
    try:
        return int(raw or "")
    except ValueError:
        return None


def _save(tracking_code: str, seen: int, work):
    """Run ``work()`` (a service call that flushes) and commit.

    Two saves that pass the version check at the same moment cannot both win: the
    second one's UPDATE ... WHERE version = seen matches no row (``StaleDataError``) or,
    on SQLite, its snapshot is older than the first one's commit ("database is locked").
    Either becomes a ``ConflictError`` on the freshly loaded report.
    """
    try:
        result = work()
        db.session.commit()
        return result
    except (StaleDataError, OperationalError) as exc:
        db.session.rollback()
        current = _load(tracking_code)
        if isinstance(exc, OperationalError) and current.version == seen:
            raise
        raise ConflictError(current, seen) from exc


def _already_done(error: ConflictError, check) -> bool:
    """True when the changes since the person's version are all their own and ``check``
    (a function of the current report) says what they sent is already the state: the
    same form sent twice (a double click), answered as done instead of as a conflict."""
    user_id = _user().id
    return bool(error.since) and all(e.actor_id == user_id for e in error.since) and check(error.report)


# --- pages ---

@bp.get("/<tracking_code>")
@writes_on_get
@requires(Permission.VIEW_INBOX)
def view(tracking_code: str):
    """The report: every field, photos, map point, deadline, history and notes, related
    reports and possible duplicates, reporter contact, the actions the user may take,
    who else has it open. Full page, or the ``report_panel`` block for htmx. 404 when
    the user may not see it. Records the user's presence (one small upsert)."""
    report = _load(tracking_code)
    response = _render(report)
    presence.touch(report.id, current_user.id)
    db.session.commit()
    return response


@bp.post("/<tracking_code>/presence")
@polled
@requires(Permission.VIEW_INBOX)
def heartbeat(tracking_code: str):
    """Presence heartbeat (htmx, every ``HEARTBEAT_SECONDS``): upsert the user's
    ``ReportViewer`` row and answer the "also open by" fragment (block ``presence``)."""
    row = db.session.execute(visible_reports(select(Report.id, Report.tracking_code), current_user)
                             .where(Report.tracking_code == _code(tracking_code))).first()
    if row is None:
        abort(404)
    now = utcnow()
    presence.touch(row.id, current_user.id, now)
    db.session.commit()
    # The block needs only the code (for its own URL): no need to load the whole report.
    return render_block(TEMPLATE, PRESENCE_BLOCK, report=row, heartbeat_seconds=presence.HEARTBEAT_SECONDS,
                        viewers=presence.other_viewers(row.id, current_user.id, now))


@bp.post("/<tracking_code>/actions/<name>")
@requires(Permission.VIEW_INBOX)
def act(tracking_code: str, name: str):
    """Apply workflow transition ``name`` (fields ``<name>-version``, and as the
    transition needs: ``-reason``, ``-note``, ``-agency`` (an agency id), ``-original``
    (a tracking code)). 404 for an unknown transition or a report the user may not see."""
    transition = TRANSITIONS.get(name)
    if transition is None or transition.via_answer:
        abort(404)
    report = _load(tracking_code)
    form = transition_form(transition, report, formdata=request.form)
    seen = _seen_version(form.version.data)
    if seen is None:
        return _render(report, 422, failed=(name, form),
                       error=_("This form is incomplete. Reload the page and try again."))
    agency = None
    if "agency" in form and (form.agency.data or "").isdigit():
        agency = db.session.get(Agency, int(form.agency.data))
    original = None
    if "original" in form and form.original.data:
        code = normalise_tracking_code(form.original.data)
        if code is not None:
            original = db.session.scalar(visible_reports(select(Report), current_user)
                                         .where(Report.tracking_code == code))
        if original is None:
            return _render(report, 422, failed=(name, form),
                           error=_("No report you can see has the tracking code %(code)s.",
                                   code=form.original.data))
    reason = form.reason.data if "reason" in form else None
    note = form.note.data if "note" in form else None
    try:
        _save(report.tracking_code, seen, lambda: workflow.apply(
            report, _user(), name, seen_version=seen, reason=reason or None, note=note or None,
            agency=agency, original=original))
    except ConflictError as error:
        done = _already_done(error, lambda current: current.status == transition.target)
        conflict = _conflict_context(error, str(transition.title), note)
        db.session.rollback()
        if done:
            return _done(report.tracking_code, _("Done: %(action)s.", action=transition.title))
        return _render(_load(tracking_code), 409, failed=(name, form), conflict=conflict)
    except WorkflowError as error:
        db.session.rollback()
        return _render(_load(tracking_code), 422, failed=(name, form), error=str(error))
    return _done(tracking_code, _("Done: %(action)s. The report is now “%(status)s”.",
                                 action=transition.title, status=transition.target.title))


@bp.post("/<tracking_code>/fields")
@requires(Permission.TRIAGE)
def update_fields(tracking_code: str):
    """The IOC's edit (fields ``fields-version``, ``-category`` (code), ``-admin_unit``
    (code), ``-address``, ``-urgency``, and ``-agency`` (an id) while the report is routed)."""
    report = _load(tracking_code)
    form = fields_form(report, str(get_locale() or "vi"), formdata=request.form)
    seen = _seen_version(form.version.data)
    if seen is None:
        return _render(report, 422, failed=("fields", form),
                       error=_("This form is incomplete. Reload the page and try again."))
    changes = {
        "category": db.session.scalar(select(Category).where(Category.code == (form.category.data or ""))),
        "admin_unit": db.session.scalar(select(AdministrativeUnit)
                                        .where(AdministrativeUnit.code == (form.admin_unit.data or ""))),
        "address": form.address.data or "",
        "urgency": form.urgency.data or "",
    }
    if f"{form.agency.name}" in request.form:
        agency_id = form.agency.data or ""
        changes["agency"] = db.session.get(Agency, int(agency_id)) if agency_id.isdigit() else None

    def wanted(current: Report) -> bool:
        return ((current.category.code if current.category else None) == form.category.data
                and (current.admin_unit.code if current.admin_unit else None) == form.admin_unit.data
                and (current.address or "") == (form.address.data or "")
                and current.urgency.value == form.urgency.data
                and ("agency" not in changes or str(current.agency_id) == form.agency.data))

    try:
        events = _save(report.tracking_code, seen, lambda: workflow.update_fields(report, _user(), changes, seen))
    except ConflictError as error:
        done = _already_done(error, wanted)
        conflict = _conflict_context(error, _("Change category, place, urgency or agency"), None)
        changed_since = {e.action for e in error.since} & set(workflow.EDITABLE_FIELDS)
        db.session.rollback()
        if done:
            return _done(report.tracking_code, _("Changes saved."))
        current = _load(tracking_code)
        merged, attempts = _merge_fields(current, form, changed_since)
        conflict["attempts"] = attempts
        return _render(current, 409, failed=("fields", merged), conflict=conflict)
    except WorkflowError as error:
        db.session.rollback()
        return _render(_load(tracking_code), 422, failed=("fields", form), error=str(error))
    if not events:
        return _done(tracking_code, _("Nothing was changed."))
    return _done(tracking_code, ngettext("%(num)d change saved.", "%(num)d changes saved.", len(events)))


def _merge_fields(current: Report, sent, changed_since: set[str]):
    """The edit form to show after a conflict on the IOC's edit, and what was not kept.

    Built from ``current`` (the report as it is now, its version included): a field that
    someone else changed since the person's version shows the current value, so that
    saving again never undoes that change silently; the other fields keep what the
    person sent (their own change, or the unchanged value). What they sent for a field
    changed meanwhile, when it differs from the current value, is returned to be shown
    beside the field.

    :param sent: the ``FieldsForm`` as posted. :param changed_since: names from
        ``workflow.EDITABLE_FIELDS`` changed by the events after the person's version.
    :returns: ``(form, {field name: the person's value as shown (a choice's label or the
        address)})``.
    """
    form = fields_form(current, str(get_locale() or "vi"))
    attempts = {}
    for name in workflow.EDITABLE_FIELDS:
        if name == "agency" and sent.agency.name not in request.form:
            continue  # the agency was not on the person's form
        field, typed = form[name], sent[name].data or ""
        if name not in changed_since:
            field.data = typed
        elif typed != (field.data or ""):
            labels = {choice.value: choice.label for choice in getattr(field, "choices", None) or []}
            attempts[name] = labels.get(typed, typed) if typed else "—"
    return form, attempts


@bp.post("/<tracking_code>/notes")
@requires(Permission.VIEW_INBOX)
def add_note(tracking_code: str):
    """Add an internal note (field ``note-text``). Notes never conflict: the report's
    version does not move, and the same note sent twice in a row is kept once."""
    report = _load(tracking_code)
    form = NoteForm(formdata=request.form, prefix="note-")
    try:
        notes.add_note(report, _user(), form.text.data or "")
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        return _render(_load(tracking_code), 422, failed=("note", form), error=str(error))
    return _done(tracking_code, _("Note added."))
