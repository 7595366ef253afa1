"""The answer panel, the lead's approvals, answer documents and the answer settings.

Pages:

* ``GET /inbox/reports/<code>/answer``: the answer panel as a full page, or, for an
  htmx request, only its block ``answer_panel`` (the report view loads it with
  ``hx-get ... hx-trigger="load"``; ``?embed=report`` makes its forms come back to the
  report view). Everyone who may see the report sees the answers; the agency's staff
  and lead write, send, approve or send back there.
* ``GET /inbox/approvals``: the answers awaiting the lead's approval (their agency's;
  an admin's: all).
* ``GET /inbox/answer-settings`` (+ canned answer pages): the agency's canned answers
  and whether its answers need approval (leads: their agency; admins: any).
* ``GET /documents/<id>.pdf``: a PDF of an answer: to staff who may see the report, and
  to anyone once the answer is published (and the document not hidden).

Every change is a ``<form method="post">`` with its CSRF token that works without
JavaScript: 303 on success, 422 with everything typed on a refused input, 409 when the
report changed since the page was loaded, or the answer draft did (two staff writing the
same draft: the form carries ``draft_seen``; the 409 shows the other text beside what was
typed, and the form moves on to the current version, so saving again is a choice).

Nothing typed is lost (issue 5, item 1):

* drafts are kept on the server: the text autosaves (htmx, ``keyup changed delay:2s``,
  ``POST .../answer/draft``), and without JavaScript "Save draft" posts the whole form;
* the answer form's views check the CSRF token themselves: when the session has expired,
  a POST still carries the form's ``draft_token`` (signed with the app's secret: user id
  and report id, valid :data:`DRAFT_TOKEN_MAX_AGE` seconds), which proves the form was
  rendered for that user, so the typed answer is saved as their draft before the login
  page; after logging in they come back to the panel and find it there. Files chosen
  in that POST are not kept (the page says so). In the browser, ``static/js/drafts.js``
  also keeps the typed fields in ``sessionStorage`` and restores them when the server's
  draft is older;
* a validation error answers 422 with the form as it was sent (only chosen files must
  be chosen again; browsers cannot keep them).
"""
from __future__ import annotations

from functools import wraps

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice, ValidationError

from ..extensions import csrf, db, login_manager
from ..forms import select_choices
from ..i18n import format_local_datetime
from ..models import (Agency, Attachment, CannedAnswer, Category, Report, Response, ResponseState,
                      Role, User, utcnow)
from ..permissions import Permission, is_htmx, requires
from ..report.forms import agency_choices
from ..services import answers
from ..services.answers import AnswerError, DraftConflictError, FileChanges, PersonalDataError, Upload
from ..services.tracking import normalise_tracking_code
from ..services.visibility import visible_reports
from ..services.workflow import ConflictError, WorkflowError
from .forms import (AnswerForm, ApprovalSettingForm, ApproveForm, CannedForm, SendBackForm, outcome_choices,
                    parse_local_date)

bp = Blueprint("answers", __name__)

TEMPLATE = "answers/panel.html"
PANEL_BLOCK = "answer_panel"
STATUS_BLOCK = "draft_status"
DRAFT_TOKEN_SALT = "hpsmart.answers.draft"
DRAFT_TOKEN_MAX_AGE = 12 * 3600  # seconds: a working day with an open tab
RETURN_ENDPOINTS = {"panel": "answers.panel", "report": "report.view"}
PHOTO_OPERATIONS = ("hide", "show", "blur", "remove")
ANSWER_FIELDS = ("body", "outcome", "scheduled_for", "responsible_party")


# --- helpers ---

def _user() -> User:
    return current_user._get_current_object()


def _normal_code(tracking_code: str) -> str:
    return normalise_tracking_code(tracking_code) or tracking_code.strip().upper()


def _load(tracking_code: str, user: User | None = None) -> Report:
    """The report with this code if ``user`` (default: the current user) may see it, else 404."""
    report = db.session.scalar(
        visible_reports(select(Report), user or _user()).where(Report.tracking_code == _normal_code(tracking_code))
        .options(selectinload(Report.category), selectinload(Report.admin_unit), selectinload(Report.agency),
                 selectinload(Report.attachments), selectinload(Report.responses)))
    if report is None:
        abort(404)
    return report


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=DRAFT_TOKEN_SALT)


def draft_token(user: User, report: Report) -> str:
    """The signed token a rendered answer form carries: ``{"u": user id, "r": report id}``."""
    return _serializer().dumps({"u": user.id, "r": report.id})


def token_user(token: str | None, report_id: int) -> User | None:
    """The active user a valid, unexpired ``token`` was made for on report ``report_id``; else None."""
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=DRAFT_TOKEN_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("r") != report_id or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    return user if user is not None and user.active else None


def _csrf_valid() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
    except ValidationError:
        return False
    return True


def _return_url(report: Report, return_to: str | None) -> str:
    if return_to == "approvals":
        return url_for("answers.approvals")
    endpoint = RETURN_ENDPOINTS.get(return_to or "", "answers.panel")
    return url_for(endpoint, tracking_code=report.tracking_code)


def _commit(changes: FileChanges | None = None) -> None:
    """Commit; on failure delete the files written for it, on success the obsolete ones."""
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if changes is not None:
            changes.delete_written()
        raise
    if changes is not None:
        changes.delete_obsolete()


def _typed(form: AnswerForm) -> dict:
    """The answer fields as sent: ``{"body", "outcome", "scheduled_for", "responsible_party"}``;
    raises AnswerError for a date that cannot be read."""
    try:
        scheduled = parse_local_date(form.scheduled_for.data)
    except ValueError:
        raise AnswerError({"scheduled_for": [_("Enter the date as dd/mm/yyyy.")]}) from None
    return {"body": form.body.data or "", "outcome": form.outcome.data or None, "scheduled_for": scheduled,
            "responsible_party": form.responsible_party.data or ""}


def _uploads(name: str) -> list[Upload]:
    """The files chosen in input ``name`` (an input with nothing chosen is skipped)."""
    return [Upload(f.filename or "", f.read()) for f in request.files.getlist(name) if f and f.filename]


def _answer_form(report: Report, user: User, response: Response | None, formdata=None) -> AnswerForm:
    """The answer form, filled from ``formdata`` (what was sent) or from the current draft."""
    form = AnswerForm(formdata=formdata, meta={"csrf": False})
    form.outcome.choices = outcome_choices(_("— Choose the outcome —"))
    canned = answers.canned_answers(report)
    form.canned.choices = select_choices([("", _("— Choose a canned answer —"))] + [
        (str(c.id), c.title if c.agency_id is not None else _("%(title)s (city-wide)", title=c.title))
        for c in canned])
    if formdata is None:
        if response is not None:
            form.body.data = response.body
            form.outcome.data = response.outcome.value if response.outcome else ""
            form.scheduled_for.data = response.scheduled_for.isoformat() if response.scheduled_for else ""
            form.responsible_party.data = response.responsible_party
        form.return_to.data = "report" if request.args.get("embed") == "report" else "panel"
        form.draft_token.data = draft_token(user, report)
        form.draft_seen.data = answers.draft_version(response)
    autosave = {"hx-post": url_for("answers.autosave", tracking_code=report.tracking_code),
                "hx-target": "#draft-status", "hx-swap": "outerHTML", "hx-sync": "closest form:replace",
                "hx-params": "not photos,documents,action"}
    for name, trigger in (("body", "keyup changed delay:2s"), ("responsible_party", "keyup changed delay:2s"),
                          ("outcome", "change"), ("scheduled_for", "change")):
        form[name].render_kw = {**(form[name].render_kw or {}), **autosave, "hx-trigger": trigger}
    return form


def _review_forms(report: Report, response: Response, return_to: str) -> tuple[ApproveForm, SendBackForm]:
    approve = ApproveForm(formdata=None, prefix=f"approve-{response.id}-")
    approve.body.data = response.body
    send_back = SendBackForm(formdata=None, prefix=f"send_back-{response.id}-")
    for form in (approve, send_back):
        form.response_id.data = str(response.id)
        form.version.data = str(report.version)
        form.return_to.data = return_to
    return approve, send_back


def _context(report: Report, *, form: AnswerForm | None = None, warnings=None, error: str | None = None,
             review: dict | None = None, notice: str | None = None, draft_conflict: dict | None = None) -> dict:
    """Everything the panel template needs.

    :param form: the answer form as sent (refused), else a fresh one from the draft.
    :param draft_conflict: see :func:`_draft_conflict` (the form then holds what was typed
        and the current draft's version).
    :param warnings: blocking personal-data warnings of a refused send.
    :param review: ``{"approve": form, "send_back": form, "error": str, "warnings": [...]}``
        of a refused approval or sending back.
    """
    user = _user()
    response = answers.current_response(report)
    published = answers.published_response(report)
    editable = answers.can_answer(user, report) and (response is None or response.state in answers.EDITABLE_STATES)
    reviewing = response is not None and response.state == ResponseState.SUBMITTED and answers.can_review(user, report)
    embedded = request.args.get("embed") == "report" or (form is not None and form.return_to.data == "report")
    if editable and form is None:
        form = _answer_form(report, user, response)
    elif not editable:
        form = None
    if form is not None:
        form.draft_token.data = draft_token(user, report)
    review_forms = None
    if reviewing:
        return_to = "report" if embedded else "panel"
        approve_form, send_back_form = _review_forms(report, response, return_to)
        if review:
            approve_form = review.get("approve") or approve_form
            send_back_form = review.get("send_back") or send_back_form
        review_forms = {"approve": approve_form, "send_back": send_back_form,
                        "error": (review or {}).get("error"), "warnings": (review or {}).get("warnings") or [],
                        "checks": answers.check_personal_data(
                            report, "\n".join([response.body, response.responsible_party]),
                            answers.answer_photos(response))}
    checks = []
    if form is not None:
        checks = answers.check_personal_data(report, "\n".join([form.body.data or "",
                                                                  form.responsible_party.data or ""]),
                                             answers.answer_photos(response))
    return {
        "report": report, "response": response, "published": published, "editable": editable,
        "form": form, "warnings": warnings or [], "checks": checks, "error": error, "notice": notice,
        "review": review_forms, "fragment": is_htmx(), "embedded": embedded,
        "can_manage_photos": answers.can_manage_photos(user, report),
        "answer_photos": answers.answer_photos(response), "answer_documents": answers.answer_documents(response),
        "published_photos": answers.answer_photos(published),
        "published_documents": answers.answer_documents(published),
        "max_photos": answers.MAX_PHOTOS, "body_max": answers.BODY_MAX,
        "draft_updated_ms": int(response.updated_at.timestamp() * 1000) if response is not None else 0,
        "draft_seen": (form.draft_seen.data or "") if form is not None else "",
        "draft_conflict": draft_conflict,
        "expired_session_hint": False,
    }


def _render(report: Report, status: int = 200, **extra):
    """The full page, or the ``answer_panel`` block for an htmx request, with ``status``."""
    context = _context(report, **extra)
    if context["fragment"]:
        body = render_block(TEMPLATE, PANEL_BLOCK, **context)
    else:
        body = render_template(TEMPLATE, **context)
    return make_response(body, status)


def _form_errors(form: AnswerForm, error: AnswerError) -> None:
    for name, messages in error.errors.items():
        target = getattr(form, name, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [str(m) for m in messages]


def _draft_conflict(report: Report, form: AnswerForm, message: str) -> dict:
    """After a ``DraftConflictError``: what the panel shows of the draft as it is now
    (``{"message", "response"}``; ``response`` None when there is no open draft any more),
    and ``form`` (what the person typed) moved on to the draft's current version, so that
    saving it again is their choice, made with both texts in view."""
    response = answers.current_response(report)
    form.draft_seen.data = answers.draft_version(response)
    return {"message": message, "response": response}


def _keep_typing(permission: Permission):
    """Guard of the answer form's POST views (exempt from the app-wide CSRF check).

    Anonymous (the session expired): keep what was typed as the draft of the user named
    by a valid ``draft_token`` (:func:`_keep_expired`), then the login page (htmx: a
    status fragment, the page stays). Logged in without ``permission``: 403. Logged in:
    the view runs with ``csrf_ok`` telling whether the CSRF token was valid.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(tracking_code: str, **kwargs):
            if not current_user.is_authenticated:
                return _keep_expired(tracking_code)
            if not current_user.can(permission):
                abort(403)
            return view(tracking_code, csrf_ok=_csrf_valid(), **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def _keep_expired(tracking_code: str):
    """A POST of the answer form without a session: save the typed answer as the draft of
    the token's user (no files), then send the person to log in and come back to the panel."""
    report = db.session.scalar(select(Report).where(Report.tracking_code == _normal_code(tracking_code)))
    if report is None:
        return login_manager.unauthorized()
    user = token_user(request.form.get("draft_token"), report.id)
    saved = False
    if user is not None and "body" in request.form:
        visible = db.session.scalar(visible_reports(select(Report.id), user).where(Report.id == report.id))
        if visible is not None:
            try:
                scheduled = parse_local_date(request.form.get("scheduled_for"))
            except ValueError:
                scheduled = None
            try:
                answers.save_draft(report, user, request.form.get("body", ""), request.form.get("outcome") or None,
                                   scheduled, request.form.get("responsible_party", ""),
                                   seen_version=request.form.get("draft_seen", ""))
                _commit()
                saved = True
            except WorkflowError:  # DraftConflictError included: the text stays in the tab
                db.session.rollback()
    target = url_for("answers.panel", tracking_code=report.tracking_code)
    login = url_for("auth.login", next=target)
    if saved:
        message = _("Your session had expired. What you typed was kept as a draft: log in again to continue "
                    "(choose any photos or documents again).")
    else:
        message = _("Your session had expired. Log in again; what you typed is kept in this browser tab.")
    if is_htmx():  # the autosave: say so where "Draft saved" appears; the page stays
        seen = request.form.get("draft_seen", "")
        if saved:
            seen = answers.draft_version(answers.current_response(report))
        return make_response(render_block(TEMPLATE, STATUS_BLOCK, saved_at=None, status_message=message,
                                          login_url=login, draft_seen=seen), 200)
    flash(message, "info")
    return redirect(login, 303)


def _find_response(report: Report, raw_id: str | None) -> Response:
    response = db.session.get(Response, int(raw_id)) if (raw_id or "").isdigit() else None
    if response is None or response.report_id != report.id:
        abort(404)
    return response


def _seen_version(raw: str | None) -> int | None:
    try:
        return int(raw or "")
    except ValueError:
        return None


# --- the panel ---

@bp.get("/inbox/reports/<tracking_code>/answer")
@requires(Permission.VIEW_INBOX)
def panel(tracking_code: str):
    """The answer panel of a report (404 when the user may not see it): the published
    answer, the answer awaiting approval (with the lead's forms), the draft form for the
    agency's staff, the report's and the answer's photos with hide / blur buttons."""
    return _render(_load(tracking_code))


@bp.post("/inbox/reports/<tracking_code>/answer")
@csrf.exempt
@_keep_typing(Permission.ANSWER)
def save(tracking_code: str, csrf_ok: bool):
    """The answer form (multipart): fields of ``AnswerForm``; ``action`` = ``draft`` (keep it),
    ``canned`` (insert the chosen canned answer, filled in, after the text) or ``submit``
    (send for approval, or publish where no approval is needed). 303 to ``return_to``;
    422 with the form as sent on refused input or personal-data warnings (``submit``: the
    draft is still kept); 409 when someone else saved the draft after the form's
    ``draft_seen`` (nothing saved or sent; their text shown beside the form as sent);
    404 for a report the user may not see."""
    report = _load(tracking_code)
    user = _user()
    response = answers.current_response(report)
    form = _answer_form(report, user, response, formdata=request.form)
    action = request.form.get("action", "draft")
    if not (csrf_ok or _token_is_users(form, report, user)):
        return _render(report, 422, form=form, error=_(
            "For your security the form had expired. What you typed is below: check it and send it again."))
    try:
        typed = _typed(form)
        if action == "canned":
            typed = _insert_canned(report, form, typed)
        response, changes = answers.save_draft(report, user, photos=_uploads("photos"),
                                               documents=_uploads("documents"),
                                               seen_version=form.draft_seen.data or "", **typed)
    except AnswerError as error:
        db.session.rollback()
        _form_errors(form, error)
        return _render(_load(tracking_code), 422, form=form, error=str(error))
    except DraftConflictError as error:
        db.session.rollback()
        report = _load(tracking_code)
        return _render(report, 409, form=form, draft_conflict=_draft_conflict(report, form, str(error)))
    except WorkflowError as error:
        db.session.rollback()
        return _render(_load(tracking_code), 422, error=str(error))
    if action != "submit":
        _commit(changes)
        flash(_("Canned answer inserted: complete it and check it.") if action == "canned"
              else _("Draft saved."), "success")
        return redirect(_return_url(report, form.return_to.data), 303)
    if not csrf_ok:  # kept by its draft token; sending needs a fresh page
        _commit(changes)
        form.draft_seen.data = answers.draft_version(response)
        return _render(_load(tracking_code), 422, form=form, error=_(
            "For your security the form had expired. Your answer was kept as a draft: check it and send it again."))
    warnings, error_text = [], None
    try:
        with db.session.begin_nested():
            answers.submit(report, user, response, confirm_personal_data=bool(form.confirm_personal_data.data))
    except PersonalDataError as error:
        warnings, error_text = error.warnings, str(error)
    except AnswerError as error:
        _form_errors(form, error)
        error_text = str(error)
    except WorkflowError as error:
        error_text = str(error)
    _commit(changes)  # the draft and its new files are kept even when sending was refused
    if error_text is not None:
        form.draft_seen.data = answers.draft_version(response)
        return _render(_load(tracking_code), 422, form=form, warnings=warnings, error=error_text)
    if response.state == ResponseState.PUBLISHED:
        flash(_("The answer is published."), "success")
    else:
        flash(_("The answer was sent to the lead for approval."), "success")
    return redirect(_return_url(report, form.return_to.data), 303)


def _token_is_users(form: AnswerForm, report: Report, user: User) -> bool:
    """True when the form's draft token was made for ``user`` on ``report`` (and is valid)."""
    owner = token_user(form.draft_token.data, report.id)
    return owner is not None and owner.id == user.id


def _insert_canned(report: Report, form: AnswerForm, typed: dict) -> dict:
    """``typed`` with the chosen canned answer (filled in) after the text, and its outcome
    when none is chosen. :raises AnswerError: no or an unknown canned answer."""
    chosen = {str(c.id): c for c in answers.canned_answers(report)}.get(form.canned.data or "")
    if chosen is None:
        raise AnswerError({"canned": [_("Choose a canned answer from the list.")]})
    text = answers.fill_canned(chosen, report)
    typed = dict(typed)
    typed["body"] = f"{typed['body']}\n\n{text}" if typed["body"].strip() else text
    if not typed["outcome"] and chosen.outcome is not None:
        typed["outcome"] = chosen.outcome.value
    form.body.data = typed["body"]
    form.outcome.data = typed["outcome"] or ""
    return typed


@bp.post("/inbox/reports/<tracking_code>/answer/draft")
@csrf.exempt
@_keep_typing(Permission.ANSWER)
def autosave(tracking_code: str, csrf_ok: bool):
    """Autosave (htmx, ``keyup changed delay:2s``): the text fields of the answer form, no
    files. Answers the ``draft_status`` block, which holds the form's ``draft_seen``: 200
    saved (the new version), 409 someone else saved the draft since (nothing saved; the
    version the form had, so that every later save is refused too until the person has
    seen both texts by saving the form), 422 not saved (with why)."""
    report = _load(tracking_code)
    user = _user()
    form = AnswerForm(formdata=request.form, meta={"csrf": False})
    status, message, seen = 200, None, form.draft_seen.data or ""
    if not (csrf_ok or _token_is_users(form, report, user)):
        status, message = 422, _("Not saved: the page has expired. Reload it (what you typed is kept in this tab).")
    else:
        try:
            response, _changes = answers.save_draft(report, user, seen_version=seen, **_typed(form))
            _commit()
            seen = answers.draft_version(response)
        except DraftConflictError as error:
            db.session.rollback()
            other = error.response
            status = 409
            message = _("Not saved: someone else saved this answer since you opened it. Press “Save draft” to "
                        "see their text beside yours.")
            if other is not None and other.author is not None:
                message = _("Not saved: %(name)s saved this answer at %(time)s, after you opened it. Press "
                            "“Save draft” to see their text beside yours.", name=other.author.name,
                            time=format_local_datetime(other.updated_at))
        except WorkflowError as error:  # AnswerError included
            db.session.rollback()
            status, message = 422, _("Not saved: %(reason)s", reason=str(error))
    saved_at = utcnow() if status == 200 else None
    return make_response(render_block(TEMPLATE, STATUS_BLOCK, saved_at=saved_at, status_message=message,
                                      draft_seen=seen), status)


# --- photos and documents ---

@bp.post("/inbox/reports/<tracking_code>/files/<int:attachment_id>/<operation>")
@csrf.exempt
@_keep_typing(Permission.ANSWER)
def file_action(tracking_code: str, attachment_id: int, operation: str, csrf_ok: bool):
    """Hide, show, blur or remove a photo or document of the report (``operation``). Sent
    from the answer form (buttons with ``formaction``), the typed answer is saved as the
    draft first. 303 back; 422 with the message when refused; 409 when the draft changed
    since the form was rendered (nothing done); 404 for an unknown file."""
    if operation not in PHOTO_OPERATIONS:
        abort(404)
    report = _load(tracking_code)
    user = _user()
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.report_id != report.id:
        abort(404)
    form = None
    if "body" in request.form:
        form = _answer_form(report, user, answers.current_response(report), formdata=request.form)
    if not csrf_ok:  # the typed answer may still be kept (draft token), the file is left alone
        if form is not None and _token_is_users(form, report, user) and answers.can_answer(user, report):
            try:
                response, _changes = answers.save_draft(report, user, seen_version=form.draft_seen.data or "",
                                                        **_typed(form))
                _commit()
                form.draft_seen.data = answers.draft_version(response)
            except WorkflowError:  # DraftConflictError included: what was typed is shown again
                db.session.rollback()
        return _render(_load(tracking_code), 422, form=form, error=_(
            "For your security the form had expired. What you typed is below: check it and try again."))
    changes = FileChanges()
    try:
        if form is not None and answers.can_answer(user, report) and (
                answers.current_response(report) is None
                or answers.current_response(report).state in answers.EDITABLE_STATES):
            _response, changes = answers.save_draft(report, user, photos=_uploads("photos"),
                                                    documents=_uploads("documents"),
                                                    seen_version=form.draft_seen.data or "", **_typed(form))
        if operation in ("hide", "show"):
            more = answers.set_hidden(report, user, attachment, operation == "hide")
        elif operation == "blur":
            more = answers.blur_photo(report, user, attachment)
        else:
            more = answers.remove_attachment(report, user, attachment)
        changes.written += more.written
        changes.obsolete += more.obsolete
    except AnswerError as error:
        db.session.rollback()
        changes.delete_written()
        if form is not None:
            _form_errors(form, error)
        return _render(_load(tracking_code), 422, form=form, error=str(error))
    except DraftConflictError as error:  # the typed answer was not saved, and the file was left alone
        db.session.rollback()
        changes.delete_written()
        report = _load(tracking_code)
        return _render(report, 409, form=form, draft_conflict=_draft_conflict(report, form, str(error)))
    except WorkflowError as error:
        db.session.rollback()
        changes.delete_written()
        return _render(_load(tracking_code), 422, form=form, error=str(error))
    _commit(changes)
    messages = {"hide": _("The file is hidden from the public."), "show": _("The file is shown publicly again."),
                "blur": _("The photo is blurred on public pages; the original is kept for staff."),
                "remove": _("The file was removed from the draft.")}
    flash(messages[operation], "success")
    return redirect(_return_url(report, request.form.get("return_to")), 303)


@bp.get("/documents/<int:attachment_id>.pdf")
def document(attachment_id: int):
    """A PDF document of an answer, as a download (``Content-Disposition: attachment``,
    ``nosniff``). Public (cacheable for an hour) once its answer is published and it is
    not hidden; otherwise only to staff who may see the report (never cached); else 404."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.kind != "document":
        abort(404)
    report = db.session.get(Report, attachment.report_id)
    public = (not attachment.hidden and attachment.response is not None
              and attachment.response.state == ResponseState.PUBLISHED)
    if not public:
        if not current_user.is_authenticated or not current_user.can(Permission.VIEW_INBOX):
            abort(404)
        if db.session.scalar(visible_reports(select(Report.id), _user()).where(Report.id == report.id)) is None:
            abort(404)
    response = send_from_directory(answers.upload_root(), attachment.original_path, mimetype="application/pdf",
                                   as_attachment=True,
                                   download_name=f"{report.tracking_code}-{attachment.id}.pdf",
                                   max_age=3600 if public else 0, conditional=True)
    if public:
        response.cache_control.public = True
    else:
        response.cache_control.no_store = True
        response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the lead's review ---

def _review_failed(report: Report, response: Response, return_to: str, status: int, *, approve=None,
                   send_back=None, error: str, warnings=()):
    review = {"approve": approve, "send_back": send_back, "error": error, "warnings": list(warnings)}
    if return_to == "approvals":
        return _render_approvals(status, failed={response.id: review})
    return _render(_load(report.tracking_code), status, review=review)


@bp.post("/inbox/reports/<tracking_code>/answer/approve")
@requires(Permission.APPROVE)
def approve(tracking_code: str):
    """Approve the submitted answer (fields ``approve-<id>-response_id``, ``-version``,
    ``-body``: the text, possibly corrected; ``-confirm_personal_data``; ``-return_to``)
    and publish it. 303; 422 refused (warnings need confirming); 409 stale page."""
    report = _load(tracking_code)
    response = _find_response(report, _prefixed_value("approve", "response_id"))
    form = ApproveForm(formdata=request.form, prefix=f"approve-{response.id}-", meta={"csrf": False})
    return_to = form.return_to.data or "panel"
    try:
        answers.approve(report, _user(), response, edited_body=form.body.data,
                        confirm_personal_data=bool(form.confirm_personal_data.data),
                        seen_version=_seen_version(form.version.data))
        _commit()
    except ConflictError as error:
        db.session.rollback()
        return _review_failed(report, response, return_to, 409, approve=form, error=str(error))
    except PersonalDataError as error:
        db.session.rollback()
        return _review_failed(report, response, return_to, 422, approve=form, error=str(error),
                              warnings=error.warnings)
    except AnswerError as error:
        db.session.rollback()
        form.body.errors = [str(m) for name, ms in error.errors.items() for m in ms]
        return _review_failed(report, response, return_to, 422, approve=form, error=str(error))
    except WorkflowError as error:
        db.session.rollback()
        return _review_failed(report, response, return_to, 422, approve=form, error=str(error))
    flash(_("The answer to %(code)s is published.", code=report.tracking_code), "success")
    return redirect(_return_url(report, return_to), 303)


@bp.post("/inbox/reports/<tracking_code>/answer/send-back")
@requires(Permission.APPROVE)
def send_back(tracking_code: str):
    """Send the submitted answer back to the staff (fields ``send_back-<id>-response_id``,
    ``-version``, ``-comment``, ``-return_to``). 303; 422 without a comment; 409 stale page."""
    report = _load(tracking_code)
    response = _find_response(report, _prefixed_value("send_back", "response_id"))
    form = SendBackForm(formdata=request.form, prefix=f"send_back-{response.id}-", meta={"csrf": False})
    return_to = form.return_to.data or "panel"
    try:
        answers.send_back(report, _user(), response, form.comment.data,
                          seen_version=_seen_version(form.version.data))
        _commit()
    except ConflictError as error:
        db.session.rollback()
        return _review_failed(report, response, return_to, 409, send_back=form, error=str(error))
    except AnswerError as error:
        db.session.rollback()
        form.comment.errors = [str(m) for ms in error.errors.values() for m in ms]
        return _review_failed(report, response, return_to, 422, send_back=form, error=str(error))
    except WorkflowError as error:
        db.session.rollback()
        return _review_failed(report, response, return_to, 422, send_back=form, error=str(error))
    flash(_("The answer to %(code)s was sent back to the staff.", code=report.tracking_code), "success")
    return redirect(_return_url(report, return_to), 303)


def _prefixed_value(prefix: str, name: str) -> str | None:
    """The value of ``<prefix>-<id>-<name>`` in the posted form (the id is in the field names)."""
    for key, value in request.form.items():
        if key.startswith(f"{prefix}-") and key.endswith(f"-{name}"):
            return value
    return None


def _render_approvals(status: int = 200, failed: dict | None = None):
    user = _user()
    items = []
    for response in answers.awaiting_approval(user):
        report = response.report
        approve_form, send_back_form = _review_forms(report, response, "approvals")
        review = (failed or {}).get(response.id, {})
        items.append({
            "report": report, "response": response,
            "approve": review.get("approve") or approve_form, "send_back": review.get("send_back") or send_back_form,
            "error": review.get("error"), "warnings": review.get("warnings") or [],
            "checks": answers.check_personal_data(report, "\n".join([response.body, response.responsible_party]),
                                                  answers.answer_photos(response)),
            "photos": answers.answer_photos(response), "documents": answers.answer_documents(response),
        })
    return make_response(render_template("answers/approvals.html", items=items), status)


@bp.get("/inbox/approvals")
@requires(Permission.APPROVE)
def approvals():
    """The answers awaiting the user's approval (their agency's; an admin: all), oldest
    first, each with approve, edit-and-approve and send back."""
    return _render_approvals()


# --- settings: approval and canned answers ---

def _settings_agency(user: User, raw: str | None) -> Agency | None:
    """The agency the settings page is about: a lead's own; for an admin the one chosen
    (``raw``: its id), None for the city-wide canned answers."""
    if user.role != Role.ADMIN:
        return user.agency
    if raw and raw.isdigit():
        agency = db.session.get(Agency, int(raw))
        if agency is None:
            abort(404)
        return agency
    return None


def _agency_choices() -> list:
    """Select choices: city-wide (no agency), then the current agencies as the report view lists them."""
    return [SelectChoice("", _("City-wide (every agency)"))] + agency_choices(with_empty=False)


def _category_choices() -> list:
    locale = str(get_locale() or "vi")
    rows = db.session.scalars(select(Category).where(Category.active.is_(True))
                              .order_by(Category.sort_order, Category.id)).all()
    return select_choices([("", _("Any category"))] + [(str(c.id), c.name(locale)) for c in rows])


@bp.get("/inbox/answer-settings")
@requires(Permission.APPROVE)
def settings():
    """The agency's answer settings: whether answers need approval, and its canned answers
    with the city-wide ones. A lead sees their agency; an admin chooses one (``?agency=<id>``;
    without it, the city-wide canned answers)."""
    user = _user()
    agency = _settings_agency(user, request.args.get("agency"))
    return _render_settings(user, agency)


def _render_settings(user: User, agency: Agency | None, status: int = 200, setting_form=None):
    query = select(CannedAnswer).options(selectinload(CannedAnswer.category))
    if agency is None:
        query = query.where(CannedAnswer.agency_id.is_(None))
    else:
        query = query.where((CannedAnswer.agency_id == agency.id) | CannedAnswer.agency_id.is_(None))
    rows = sorted(db.session.scalars(query), key=lambda c: (c.agency_id is None, c.category_id or 0, c.sort_order,
                                                            c.title))
    if setting_form is None and agency is not None:
        setting_form = ApprovalSettingForm(formdata=None)
        setting_form.requires_approval.data = agency.requires_approval
        setting_form.agency.data = str(agency.id)
    agencies = _agency_choices() if user.role == Role.ADMIN else []
    return make_response(render_template("answers/settings.html", agency=agency, canned=rows,
                                         setting_form=setting_form, agencies=agencies,
                                         can_edit=lambda c: answers.can_manage_canned(user, c)), status)


@bp.post("/inbox/answer-settings/approval")
@requires(Permission.APPROVE)
def update_approval():
    """Set whether the agency's answers need approval (fields ``agency`` (id),
    ``requires_approval``). 303 back to the settings; 403 for another agency's lead."""
    user = _user()
    form = ApprovalSettingForm(formdata=request.form)
    agency = _settings_agency(user, form.agency.data) if user.role == Role.ADMIN else user.agency
    if agency is None or (user.role != Role.ADMIN and str(agency.id) != (form.agency.data or str(agency.id))):
        abort(403)
    try:
        answers.set_requires_approval(user, agency, bool(form.requires_approval.data))
        _commit()
    except WorkflowError:
        db.session.rollback()
        abort(403)
    flash(_("Answers of %(agency)s now need the lead's approval.", agency=agency.name) if agency.requires_approval
          else _("Answers of %(agency)s are now published without approval.", agency=agency.name), "success")
    return redirect(url_for("answers.settings", agency=agency.id if user.role == Role.ADMIN else None), 303)


def _canned_form(user: User, canned: CannedAnswer | None, agency: Agency | None, formdata=None) -> CannedForm:
    form = CannedForm(formdata=formdata)
    form.category.choices = _category_choices()
    form.outcome.choices = outcome_choices(_("— No outcome —"))
    form.agency.choices = _agency_choices()
    if formdata is None:
        if canned is not None:
            form.title.data, form.body.data = canned.title, canned.body
            form.category.data = str(canned.category_id or "")
            form.outcome.data = canned.outcome.value if canned.outcome else ""
            form.agency.data = str(canned.agency_id or "")
            form.sort_order.data, form.active.data = canned.sort_order, canned.active
        else:
            form.agency.data = str(agency.id) if agency is not None else ""
            form.active.data = True
    if user.role != Role.ADMIN:
        del form.agency
    return form


def _save_canned(user: User, canned: CannedAnswer | None):
    agency = _settings_agency(user, request.args.get("agency"))
    form = _canned_form(user, canned, agency, formdata=request.form)
    if "agency" in form:
        agency = _settings_agency(user, form.agency.data)
    category = db.session.get(Category, int(form.category.data)) if (form.category.data or "").isdigit() else None
    try:
        answers.save_canned(user, canned, title=form.title.data or "", body=form.body.data or "",
                            category=category, outcome=form.outcome.data or None, agency=agency,
                            active=bool(form.active.data), sort_order=form.sort_order.data or 0)
        _commit()
    except AnswerError as error:
        db.session.rollback()
        for name, messages in error.errors.items():
            if name in form:
                form[name].errors = [str(m) for m in messages]
        return make_response(render_template("answers/canned_form.html", form=form, canned=canned,
                                              error=str(error)), 422)
    except WorkflowError:
        db.session.rollback()
        abort(403)
    flash(_("Canned answer saved."), "success")
    return redirect(url_for("answers.settings", agency=agency.id if user.role == Role.ADMIN and agency else None),
                    303)


@bp.route("/inbox/answer-settings/canned/new", methods=["GET", "POST"])
@requires(Permission.APPROVE)
def canned_new():
    """GET: an empty canned answer form (``?agency=<id>`` for an admin). POST: create it;
    303 to the settings, 422 with what was typed."""
    user = _user()
    if request.method == "POST":
        return _save_canned(user, None)
    agency = _settings_agency(user, request.args.get("agency"))
    return render_template("answers/canned_form.html", form=_canned_form(user, None, agency), canned=None, error=None)


@bp.route("/inbox/answer-settings/canned/<int:canned_id>", methods=["GET", "POST"])
@requires(Permission.APPROVE)
def canned_edit(canned_id: int):
    """GET: the canned answer's form; POST: save it (303, or 422 with what was typed).
    404 for an unknown one, 403 for one the user may not edit (another agency's or, for
    a lead, a city-wide one)."""
    user = _user()
    canned = db.session.get(CannedAnswer, canned_id)
    if canned is None:
        abort(404)
    if not answers.can_manage_canned(user, canned):
        abort(403)
    if request.method == "POST":
        return _save_canned(user, canned)
    return render_template("answers/canned_form.html", form=_canned_form(user, canned, canned.agency),
                           canned=canned, error=None)
