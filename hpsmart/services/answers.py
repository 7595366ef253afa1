"""Answers (trả lời): drafts, sending for approval, the lead's approval, sending back,
publication checks, canned answers and the photos and documents of an answer.

Issue 5, items 1 to 3. An answer is a :class:`~hpsmart.models.Response` of the report's
handling agency:

* **draft** (``DRAFT``, or ``SENT_BACK`` after the lead sent it back): kept on the server,
  one current draft per report and agency (:func:`current_response`), edited by any
  staff member or lead of that agency while the report is routed or in progress;
* **submitted** (``SUBMITTED``): :func:`submit` applies the workflow transition ``answer``
  (report ``answered``) and waits for the lead, who :func:`approve`\\ s it (workflow
  ``publish``; the lead may edit the text first) or :func:`send_back`\\ s it with a comment
  (workflow ``send_back``: report ``in_progress`` again);
* **published** (``PUBLISHED``): the answer citizens and the public see. An agency whose
  ``requires_approval`` is false publishes on submit (the workflow lets its answering staff
  ``publish``: ``Transition.permission_without_approval``).

Every step is in the report's history: the workflow's status events (the ``publish`` event's
note is the published text, read by the Open311 ``status_notes``), plus internal ``answer``
events (``new_value`` ``submitted`` or ``edited``, the note the text at that step) and
``photo`` events (``hidden``, ``shown``, ``blurred``, ``removed``).

Photos ("after" pictures) go through :func:`hpsmart.services.photos.store_photo` and become
``Attachment(purpose="answer", kind="photo", response=...)``; documents are PDF files
(checked by their bytes) stored privately as ``Attachment(kind="document")``.

Files are written before the rows are flushed: every function that writes or replaces
files returns a :class:`FileChanges`; the caller deletes ``written`` if its commit fails
and ``obsolete`` once it has committed. Services flush; the request commits (STYLE.md).
Nothing here reads Flask's request.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import (Agency, Attachment, CannedAnswer, Category, Outcome, Report, ReportStatus, Response,
                      ResponseState, Role, User, utcnow)
from ..permissions import Permission
from ..text import fold, nfc
from . import photos as photo_files
from . import workflow
from .workflow import WorkflowError

# Limits (characters after NFC normalisation; bytes for files).
BODY_MAX = 5000  # the answer as published
DRAFT_BODY_MAX = 20000  # a draft may be longer while it is being written; submitting needs BODY_MAX
RESPONSIBLE_PARTY_MAX = 255
CANNOT_RESOLVE_MIN = 30  # "cannot be resolved" must say why: at least this many characters
COMMENT_MAX = 2000  # the lead's comment when sending back
MAX_PHOTOS = 10  # "after" photos per answer (issue 5, item 1)
MAX_DOCUMENTS = 5  # PDF documents per answer
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
SCHEDULE_MAX_DAYS = 3 * 366  # a scheduled date further away than this is taken for a typing mistake
CANNED_TITLE_MAX = 120

EDITABLE_STATES = frozenset({ResponseState.DRAFT, ResponseState.SENT_BACK})
OPEN_STATES = EDITABLE_STATES | {ResponseState.SUBMITTED}
PLACEHOLDERS = ("{tracking_code}", "{address}", "{agency}")
# The workflow transitions this module applies; the report view leaves them to the answer panel.
ANSWER_TRANSITIONS = frozenset(name for name, t in workflow.TRANSITIONS.items() if t.via_answer)


class AnswerError(WorkflowError):
    """Input that is refused.

    ``errors``: ``{field: [localized message, ...]}`` with fields ``body``, ``outcome``,
    ``scheduled_for``, ``responsible_party``, ``photos``, ``documents``, ``comment``,
    ``title``, ``category``, ``agency``; ``warnings``: :class:`PersonalDataWarning`\\ s
    that need the person's confirmation (see :class:`PersonalDataError`).
    ``str(error)`` is the first message.
    """

    def __init__(self, errors: dict | None = None, warnings=()):
        self.errors = {name: list(messages) for name, messages in (errors or {}).items() if messages}
        self.warnings = list(warnings)
        first = next(iter(self.errors.values()))[0] if self.errors else _l(
            "The answer may contain the reporter's personal data. Edit it, or confirm that it can be "
            "published as it is.")
        super().__init__(first)


class DraftConflictError(WorkflowError):
    """The draft changed since the person's form was rendered: someone else (or the same
    person in another tab) saved it. Nothing was changed.

    ``response``: the draft as it is now (its text, outcome, ``author``: who saved it last,
    ``updated_at``: when), None when there is no open draft any more; the person's form
    shows it beside what they typed. Rule: issue 4, item 8 ("two people, one report: ...
    never a silent overwrite"), applied to the answer being written.
    """

    def __init__(self, response: Response | None):
        super().__init__(_l("Someone else saved this answer while you were editing it. Their text is shown "
                            "above yours: combine them if needed, then save again."))
        self.response = response


class PersonalDataError(AnswerError):
    """The answer seems to contain the reporter's personal data and was not confirmed:
    ``warnings`` lists what was found; nothing was changed."""

    def __init__(self, warnings):
        super().__init__({}, warnings)


@dataclass(frozen=True)
class Upload:
    """A file as sent: ``filename`` (as the browser named it, for messages only) and its bytes."""

    filename: str
    data: bytes


@dataclass
class FileChanges:
    """Files touched by a service call: ``written`` (delete them if the transaction fails)
    and ``obsolete`` (delete them once it has committed); paths relative to the upload root."""

    written: list[str] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)

    def delete_written(self) -> None:
        """Remove ``written`` (after a failed commit)."""
        photo_files.delete_files(self.written, upload_root())

    def delete_obsolete(self) -> None:
        """Remove ``obsolete`` (after a successful commit)."""
        photo_files.delete_files(self.obsolete, upload_root())


@dataclass(frozen=True)
class PersonalDataWarning:
    """Something in an answer that looks like the reporter's personal data.

    ``code``: ``name``, ``phone``, ``email`` (found in the text), ``file_name`` (in the name
    of an uploaded file) or ``photos`` (a reminder to look at the photos); ``message``: a
    lazy localized string; ``blocking``: publishing needs an explicit confirmation.
    """

    code: str
    message: object
    blocking: bool = True

    def __str__(self) -> str:
        return str(self.message)


def upload_root() -> Path:
    """The upload folder (setting ``UPLOAD_FOLDER``) of the current app."""
    return Path(current_app.config["UPLOAD_FOLDER"])


def local_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Ho_Chi_Minh (``now``: aware UTC, default now)."""
    from ..i18n import to_local

    return to_local(now or utcnow()).date()


# --- who may do what ---

def can_answer(user: User | None, report: Report) -> bool:
    """True when ``user`` may write and send an answer to ``report`` now: the workflow
    allows them ``answer`` (agency staff or lead of the report's agency, or an admin;
    report routed or in progress)."""
    return user is not None and workflow.can(user, report, "answer")


def can_review(user: User | None, report: Report) -> bool:
    """True when ``user`` may approve or send back the submitted answer of ``report`` now
    (workflow ``publish``: the agency's lead or an admin; report answered)."""
    return user is not None and user.can(Permission.APPROVE) and workflow.can(user, report, "publish")


def can_manage_photos(user: User | None, report: Report) -> bool:
    """True when ``user`` may hide, show or blur the photos of ``report``: answering
    staff and leads of its handling agency, and admins (at any status, also after
    publication, when someone notices a face or a number plate)."""
    if user is None or not user.can(Permission.ANSWER):
        return False
    return user.role == Role.ADMIN or (user.agency_id is not None and user.agency_id == report.agency_id)


def _require_answer(user: User, report: Report) -> None:
    if not can_answer(user, report):
        raise WorkflowError(_l("You cannot answer this report now: it is “%(status)s”, or not your agency's.",
                               status=report.status.title))


# --- reading ---

def current_response(report: Report) -> Response | None:
    """The answer being worked on for ``report`` by its handling agency: the latest of its
    responses in state draft, sent back or submitted for that agency; None when there is none."""
    if report.agency_id is None:
        return None
    return db.session.scalar(
        select(Response).where(Response.report_id == report.id, Response.agency_id == report.agency_id,
                               Response.state.in_(list(OPEN_STATES)))
        .order_by(Response.id.desc()).limit(1))


def published_response(report: Report) -> Response | None:
    """The answer published last for ``report`` (any agency), or None."""
    return db.session.scalar(
        select(Response).where(Response.report_id == report.id, Response.state == ResponseState.PUBLISHED)
        .order_by(Response.published_at.desc(), Response.id.desc()).limit(1))


def answer_photos(response: Response | None) -> list[Attachment]:
    """The photos of ``response``, oldest first (hidden ones included: staff views)."""
    if response is None:
        return []
    return [a for a in response.attachments if a.kind == "photo"]


def answer_documents(response: Response | None) -> list[Attachment]:
    """The PDF documents of ``response``, oldest first."""
    if response is None:
        return []
    return [a for a in response.attachments if a.kind == "document"]


def public_photos(response: Response | None) -> list[Attachment]:
    """The photos of a *published* ``response`` that the public may see: not hidden, with a
    public copy and a thumbnail. Empty for an answer that is not published."""
    if response is None or response.state != ResponseState.PUBLISHED:
        return []
    return [a for a in answer_photos(response) if not a.hidden and a.public_path and a.thumb_path]


def public_documents(response: Response | None) -> list[Attachment]:
    """The documents of a *published* ``response`` that the public may download (not hidden)."""
    if response is None or response.state != ResponseState.PUBLISHED:
        return []
    return [a for a in answer_documents(response) if not a.hidden]


def awaiting_approval(user: User) -> list[Response]:
    """The submitted answers ``user`` may approve: their agency's (an admin: every agency's),
    on reports that are ``answered``, oldest submission first."""
    query = (select(Response).join(Report, Response.report_id == Report.id)
             .where(Response.state == ResponseState.SUBMITTED, Report.status == ReportStatus.ANSWERED,
                    Response.agency_id == Report.agency_id)
             .order_by(Response.submitted_at, Response.id))
    if user.role != Role.ADMIN:
        if user.agency_id is None or not user.can(Permission.APPROVE):
            return []
        query = query.where(Report.agency_id == user.agency_id)
    return list(db.session.scalars(query))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def draft_version(response: Response | None) -> str:
    """The version of the current draft that a rendered answer form carries (``draft_seen``).

    ``""`` when there is no draft yet, else ``"<response id>:<updated_at in microseconds
    since 1970, UTC>"``: every save of a draft moves ``updated_at`` (both databases keep
    microseconds), so two forms rendered before and after a save carry different values.
    """
    if response is None:
        return ""
    return f"{response.id}:{(response.updated_at - _EPOCH) // timedelta(microseconds=1)}"


# --- rules ---

def parse_outcome(value) -> Outcome | None:
    """``value`` (an ``Outcome``, its value, ``""`` or None) as an ``Outcome`` or None.

    :raises AnswerError: an unknown value (field ``outcome``).
    """
    if value in (None, ""):
        return None
    try:
        return Outcome(value)
    except ValueError:
        raise AnswerError({"outcome": [_l("Choose an outcome from the list.")]}) from None


def validate_for_publication(body: str, outcome: Outcome | None, scheduled_for: date | None,
                             responsible_party: str, today: date) -> dict:
    """The errors that keep an answer from being sent or published.

    Rules (issue 5, item 1): the text is required and at most :data:`BODY_MAX` characters;
    an outcome is chosen; *scheduled* needs a date after ``today`` (local) and at most
    :data:`SCHEDULE_MAX_DAYS` days ahead; *not in our remit* names who is responsible;
    *cannot be resolved* explains why in at least :data:`CANNOT_RESOLVE_MIN` characters.

    :param body: the NFC text. :param today: the local date (Asia/Ho_Chi_Minh).
    :returns: ``{field: [message, ...]}``, empty when the answer may go out.
    """
    errors: dict[str, list] = {}

    def add(name, message):
        errors.setdefault(name, []).append(message)

    if not body:
        add("body", _l("Write the answer to the citizen."))
    elif len(body) > BODY_MAX:
        add("body", _l("The answer can be at most %(max)d characters; it has %(n)d.", max=BODY_MAX, n=len(body)))
    if outcome is None:
        add("outcome", _l("Choose the outcome."))
    elif outcome == Outcome.SCHEDULED:
        if scheduled_for is None:
            add("scheduled_for", _l("Give the date on which the work is planned."))
        elif scheduled_for <= today:
            add("scheduled_for", _l("The planned date must be after today."))
        elif scheduled_for > today + timedelta(days=SCHEDULE_MAX_DAYS):
            add("scheduled_for", _l("The planned date is more than three years away. Check the year."))
    elif outcome == Outcome.NOT_IN_REMIT and not responsible_party:
        add("responsible_party", _l("Say who is responsible for this problem, so the citizen knows whom to ask."))
    elif outcome == Outcome.CANNOT_RESOLVE and body and len(body) < CANNOT_RESOLVE_MIN:
        add("body", _l("Explain why the problem cannot be resolved (at least %(n)d characters).",
                       n=CANNOT_RESOLVE_MIN))
    return errors


# --- publication checks (issue 5, item 3) ---

_PHONE_CANDIDATE = re.compile(r"\+?\d(?:[\s.\-()/]*\d)*")


def _significant_digits(phone: str) -> str:
    """The national significant number of a Vietnamese phone (no 0, 84 or +84 prefix)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0084"):
        digits = digits[4:]
    elif digits.startswith("84") and len(digits) >= 11:
        digits = digits[2:]
    return digits.lstrip("0")


def _name_pattern(folded_words: list[str]) -> re.Pattern:
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in folded_words) + r"(?!\w)")


def _contains_name(folded_text: str, name: str) -> bool:
    """True when the full name (at least two words), or its first and last word together
    ("Trần Bình" for "Trần Thị Bình"), appears in ``folded_text`` (already folded)."""
    words = fold(name).split()
    if len(words) < 2:
        return False
    variants = [words] + ([[words[0], words[-1]]] if len(words) > 2 else [])
    return any(_name_pattern(v).search(folded_text) for v in variants)


def _contains_phone(text: str, phone: str) -> bool:
    """True when ``phone`` appears in ``text`` in any spacing or format (``0900 000 001``,
    ``0900.000.001``, ``+84900000001``, ``(+84) 900-000-001``)."""
    wanted = _significant_digits(phone)
    if len(wanted) < 8:
        return False
    return any(wanted in re.sub(r"\D", "", m.group()) for m in _PHONE_CANDIDATE.finditer(text))


def _contains_email(text: str, email: str) -> bool:
    """True when ``email`` appears in ``text``, case-insensitively, also with spaces around ``@``."""
    email = (email or "").strip().casefold()
    if "@" not in email:
        return False
    compact = re.sub(r"\s*@\s*", "@", nfc(text).casefold())
    return email in compact


def check_personal_data(report: Report, body: str, photos=()) -> list[PersonalDataWarning]:
    """Look for the reporter's personal data in an answer before it is sent or published.

    Checks (issue 5, item 3; Nghị định 13/2023/NĐ-CP on personal data): the reporter's
    name (accent- and case-insensitive through :func:`hpsmart.text.fold`, so NFD text and
    text without diacritics match too; at least two words; not when the reporter allowed
    their name to be shown), their phone (any spacing or format, ``+84``) and their
    e-mail (case-insensitive), in ``body`` and in the names of uploaded files. Photos
    cannot be read: when there are any, a non-blocking reminder asks to look at them.

    :param body: the answer's text (and any other text that will be published with it,
        e.g. the responsible party), NFC or not.
    :param photos: uploaded files' names (``str``) and/or ``Attachment`` photos that will
        be published with the answer.
    :returns: the warnings, blocking ones first; empty when nothing was found.
    """
    warnings: list[PersonalDataWarning] = []
    names = [p for p in photos if isinstance(p, str)]
    attachments = [p for p in photos if not isinstance(p, str) and not getattr(p, "hidden", False)]
    texts = [("text", body or "")] + [("file", n) for n in names]
    found: set[tuple[str, str]] = set()
    for where, text in texts:
        folded = fold(text)
        if report.reporter_name and not report.reporter_name_public and _contains_name(folded, report.reporter_name):
            found.add((where, "name"))
        if report.reporter_phone and _contains_phone(text, report.reporter_phone):
            found.add((where, "phone"))
        if report.reporter_email and _contains_email(text, report.reporter_email):
            found.add((where, "email"))
    if ("text", "name") in found:
        warnings.append(PersonalDataWarning("name", _l("The answer contains the reporter's name. The reporter "
                                                       "did not allow their name to be shown publicly.")))
    if ("text", "phone") in found:
        warnings.append(PersonalDataWarning("phone", _l("The answer contains the reporter's phone number.")))
    if ("text", "email") in found:
        warnings.append(PersonalDataWarning("email", _l("The answer contains the reporter's e-mail address.")))
    if any(where == "file" for where, _kind in found):
        warnings.append(PersonalDataWarning("file_name", _l("The name of an attached file contains the "
                                                            "reporter's name, phone number or e-mail address.")))
    if attachments:
        warnings.append(PersonalDataWarning(
            "photos", _l("Look at the photos before they are published: blur or hide any that show faces, "
                         "number plates, house numbers or documents with names."), blocking=False))
    return warnings


def _check_or_raise(report: Report, response: Response, body: str, confirmed: bool) -> None:
    text = "\n".join(x for x in (body, response.responsible_party) if x)
    blocking = [w for w in check_personal_data(report, text) if w.blocking]
    if blocking and not confirmed:
        raise PersonalDataError(blocking)


# --- drafts ---

def _check_documents(documents: list[Upload]) -> list:
    """Messages for documents that are not PDF files of at most MAX_DOCUMENT_BYTES."""
    errors = []
    limit_mb = MAX_DOCUMENT_BYTES // (1024 * 1024)
    for doc in documents:
        name = doc.filename or _l("(no name)")
        if not doc.data:
            errors.append(_l("%(name)s: the file is empty.", name=name))
        elif len(doc.data) > MAX_DOCUMENT_BYTES:
            errors.append(_l("%(name)s: the document is larger than %(limit)d MB.", name=name, limit=limit_mb))
        elif not doc.data.startswith(b"%PDF-"):
            errors.append(_l("%(name)s: this file is not a PDF document. Attach documents as PDF.", name=name))
    return errors


def save_draft(report: Report, user: User, body: str | None, outcome=None, scheduled_for: date | None = None,
               responsible_party: str | None = None, photos=(), documents=(), *,
               seen_version: str | None = None, now: datetime | None = None) -> tuple[Response, FileChanges]:
    """Keep what ``user`` typed as the current draft of ``report``'s answer (flushes).

    One current draft per report and agency: the draft or sent-back answer of the report's
    agency is updated, else a new ``DRAFT`` is created (drafts are never deleted). Text is
    NFC-normalised; the draft may be incomplete (the rules of :func:`validate_for_publication`
    apply when it is sent), but not larger than :data:`DRAFT_BODY_MAX` characters.

    :param body: the answer text; :param outcome: an ``Outcome``, its value, or None/``""``.
    :param scheduled_for: a local date or None; :param responsible_party: text or None.
    :param photos: :class:`Upload`\\ s of "after" photos to add (at most :data:`MAX_PHOTOS` per answer).
    :param documents: :class:`Upload`\\ s of PDF documents to add (bytes starting ``%PDF-``, at most
        :data:`MAX_DOCUMENT_BYTES` each, at most :data:`MAX_DOCUMENTS` per answer).
    :param seen_version: the :func:`draft_version` the person's form was rendered with
        (None: no check). Two staff of the agency may edit the same draft: a save from a
        form rendered before someone else's save is refused, never a silent overwrite.
    :param now: aware UTC time (default now).
    :returns: ``(response, FileChanges)``; the files are written before the flush. The
        draft's ``author`` becomes ``user`` (who wrote its current text; :func:`submit`
        sets it again).
    :raises DraftConflictError: ``seen_version`` is not the draft's version any more
        (checked under the report's row lock, before the input is checked).
    :raises WorkflowError: ``user`` may not answer ``report`` now, or its answer is submitted.
    :raises AnswerError: a too long text, an unknown outcome, too many or refused photos or
        documents (every message at once); nothing is written or changed then.
    """
    _require_answer(user, report)
    now = now or utcnow()
    body = nfc(body)
    party = nfc(responsible_party)
    errors: dict[str, list] = {}
    if len(body) > DRAFT_BODY_MAX:
        errors["body"] = [_l("The answer can be at most %(max)d characters; it has %(n)d.",
                             max=DRAFT_BODY_MAX, n=len(body))]
    if len(party) > RESPONSIBLE_PARTY_MAX:
        errors["responsible_party"] = [_l("At most %(n)d characters.", n=RESPONSIBLE_PARTY_MAX)]
    try:
        outcome = parse_outcome(outcome)
    except AnswerError as error:
        errors.update(error.errors)
    # One writer at a time per report (PostgreSQL row lock; SQLite serialises writers anyway).
    db.session.execute(select(Report.id).where(Report.id == report.id).with_for_update())
    response = current_response(report)
    if response is not None and response.state not in EDITABLE_STATES:
        raise WorkflowError(_l("This answer has been sent for approval and can no longer be changed."))
    if seen_version is not None and seen_version != draft_version(response):
        raise DraftConflictError(response)
    photos, documents = list(photos), list(documents)
    have_photos = len(answer_photos(response))
    if have_photos + len(photos) > MAX_PHOTOS:
        errors.setdefault("photos", []).append(_l(
            "An answer can have at most %(max)d photos; it has %(n)d. Choose fewer.", max=MAX_PHOTOS, n=have_photos))
    if len(answer_documents(response)) + len(documents) > MAX_DOCUMENTS:
        errors.setdefault("documents", []).append(_l("An answer can have at most %(max)d documents.",
                                                     max=MAX_DOCUMENTS))
    errors.setdefault("documents", []).extend(_check_documents(documents))
    if not errors.get("photos"):
        for upload in photos:
            try:
                photo_files.inspect_photo(upload.data, decode=False)
            except photo_files.PhotoError as error:
                errors.setdefault("photos", []).append(
                    _l("%(name)s: %(message)s", name=upload.filename or _l("(no name)"), message=error.message))
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise AnswerError(errors)

    changes = FileChanges()
    root = upload_root()
    stored = []
    try:
        for upload in photos:
            try:
                result = photo_files.store_photo(upload.data, root)
            except photo_files.PhotoError as error:  # damaged pixel data, found while decoding
                raise AnswerError({"photos": [_l("%(name)s: %(message)s", name=upload.filename or _l("(no name)"),
                                                 message=error.message)]}) from None
            stored.append(result)
            changes.written += [result.original_path, result.public_path, result.thumb_path]
        paths = []
        for doc in documents:
            path = photo_files.store_private_file(doc.data, root, "document", "pdf")
            changes.written.append(path)
            paths.append((path, len(doc.data)))
    except BaseException:
        changes.delete_written()
        raise

    if response is None:
        response = Response(report=report, agency_id=report.agency_id, author=user, state=ResponseState.DRAFT,
                            created_at=now)
        db.session.add(response)
    response.body = body
    response.outcome = outcome
    response.scheduled_for = scheduled_for
    response.responsible_party = party
    response.author = user
    response.updated_at = now
    for result in stored:
        db.session.add(Attachment(report=report, response=response, purpose="answer", kind="photo",
                                  created_at=now, **dataclasses.asdict(result)))
    for path, size in paths:
        db.session.add(Attachment(report=report, response=response, purpose="answer", kind="document",
                                  original_path=path, content_type="application/pdf", size_bytes=size,
                                  created_at=now))
    db.session.flush()
    return response, changes


# --- sending, approving, sending back ---

def _check_response(report: Report, response: Response, states) -> None:
    if response is None or response.report_id != report.id or response.agency_id != report.agency_id:
        raise WorkflowError(_l("This answer does not belong to the report's current agency."))
    if response.state not in states:
        raise WorkflowError(_l("This answer is “%(state)s”: that is not possible now.", state=response.state.title))


def _validate(response: Response, body: str, now: datetime) -> None:
    errors = validate_for_publication(body, response.outcome, response.scheduled_for, response.responsible_party,
                                      local_today(now))
    if errors:
        raise AnswerError(errors)


def _notify(report: Report, kind: str, response: Response, now: datetime) -> None:
    """Queue the e-mails of ``kind`` (:func:`hpsmart.services.notifications.notify`, issue 5
    item 6) in this transaction."""
    from . import notifications

    notifications.notify(report, kind, response=response, now=now)


def _publish(report: Report, user: User, response: Response, body: str, now: datetime) -> None:
    workflow.apply(report, user, "publish", note=body, now=now)
    response.body = body
    response.state = ResponseState.PUBLISHED
    response.published_at = now
    response.updated_at = now
    db.session.flush()
    _notify(report, "answer_published", response, now)


def submit(report: Report, user: User, response: Response, *, confirm_personal_data: bool = False,
           now: datetime | None = None) -> Response:
    """Send the draft ``response`` of ``report`` (flushes).

    Checks :func:`validate_for_publication` and :func:`check_personal_data` (blocking
    warnings need ``confirm_personal_data``), then applies the workflow transition
    ``answer`` (report ``answered``) and records an internal ``answer`` event
    (``new_value="submitted"``, note: the text). When the agency requires approval, the
    answer waits (``SUBMITTED``) and the lead is notified (``answer_submitted``); when it
    does not, it is published at once (workflow ``publish`` by ``user``, ``PUBLISHED``,
    the citizen notified: ``answer_published``).

    :returns: ``response``, ``SUBMITTED`` or ``PUBLISHED``; ``submitted_at`` (and
        ``published_at``) set to ``now`` (aware UTC, default now); ``author`` is ``user``.
    :raises AnswerError: the answer is incomplete (``errors``). :raises PersonalDataError:
        unconfirmed personal data. :raises WorkflowError: not allowed now (role, agency,
        report status, answer not a draft). Nothing is changed then.
    """
    now = now or utcnow()
    _require_answer(user, report)
    _check_response(report, response, EDITABLE_STATES)
    _validate(response, response.body, now)
    _check_or_raise(report, response, response.body, confirm_personal_data)
    workflow.apply(report, user, "answer", now=now)
    event = workflow.record(report, user, "answer", response.state.value, ResponseState.SUBMITTED.value,
                            note=response.body, at=now)
    event.report_version = report.version
    response.state = ResponseState.SUBMITTED
    response.submitted_at = now
    response.author = user
    response.updated_at = now
    db.session.flush()
    if report.agency is not None and not report.agency.requires_approval:
        _publish(report, user, response, response.body, now)
    else:
        _notify(report, "answer_submitted", response, now)
    return response


def approve(report: Report, lead: User, response: Response, edited_body: str | None = None, *,
            confirm_personal_data: bool = False, seen_version: int | None = None,
            now: datetime | None = None) -> Response:
    """The lead approves the submitted ``response`` and it is published (flushes).

    ``edited_body``: the text as the lead corrected it (None or the same text: approved
    as submitted). An edit is recorded as an internal ``answer`` event
    (``old_value="submitted"``, ``new_value="edited"``, note: the new text) before the
    workflow ``publish`` event (public; note: the published text). The rules of
    :func:`validate_for_publication` and :func:`check_personal_data` apply to the final text.

    :param seen_version: the report ``version`` the lead's page showed (stale-page check).
    :returns: ``response``, ``PUBLISHED``, ``published_at`` ``now``, ``reviewed_by`` the lead.
    :raises ConflictError: the report changed since (e.g. the answer was sent back and sent
        again). :raises AnswerError / PersonalDataError / WorkflowError: as :func:`submit`
        (``WorkflowError`` also when ``lead`` may not approve). Nothing is changed then.
    """
    now = now or utcnow()
    workflow.check_version(report, seen_version)
    if not can_review(lead, report):
        raise WorkflowError(_l("Only the lead of the agency can approve this answer."))
    _check_response(report, response, {ResponseState.SUBMITTED})
    body = response.body if edited_body is None else nfc(edited_body)
    _validate(response, body, now)
    _check_or_raise(report, response, body, confirm_personal_data)
    if body != response.body:
        event = workflow.record(report, lead, "answer", ResponseState.SUBMITTED.value, "edited", note=body, at=now)
        event.report_version = report.version + 1  # part of the publication that follows
    response.reviewed_by = lead
    _publish(report, lead, response, body, now)
    return response


def send_back(report: Report, lead: User, response: Response, comment: str | None, *,
              seen_version: int | None = None, now: datetime | None = None) -> Response:
    """The lead sends the submitted ``response`` back to the staff with ``comment`` (flushes).

    Applies the workflow transition ``send_back`` (report ``in_progress``; the internal
    status event's note is the comment); the answer becomes ``SENT_BACK`` with
    ``review_comment`` and ``reviewed_by`` set, and the staff can edit and send it again.

    :param comment: what to change, NFC-normalised; 1 to :data:`COMMENT_MAX` characters.
    :raises AnswerError: no or a too long comment (field ``comment``). :raises ConflictError,
        WorkflowError: as :func:`approve`.
    """
    now = now or utcnow()
    workflow.check_version(report, seen_version)
    if not can_review(lead, report):
        raise WorkflowError(_l("Only the lead of the agency can send this answer back."))
    _check_response(report, response, {ResponseState.SUBMITTED})
    comment = nfc(comment)
    if not comment:
        raise AnswerError({"comment": [_l("Say what should be changed.")]})
    if len(comment) > COMMENT_MAX:
        raise AnswerError({"comment": [_l("At most %(n)d characters.", n=COMMENT_MAX)]})
    workflow.apply(report, lead, "send_back", note=comment, now=now)
    response.state = ResponseState.SENT_BACK
    response.review_comment = comment
    response.reviewed_by = lead
    response.updated_at = now
    db.session.flush()
    return response


# --- photos and documents of a report: hide, show, blur, remove ---

def _require_photos(user: User, report: Report, attachment: Attachment) -> None:
    if attachment.report_id != report.id:
        raise WorkflowError(_l("This file does not belong to the report."))
    if not can_manage_photos(user, report):
        raise WorkflowError(_l("Only staff of the handling agency can change the report's photos."))


def _photo_event(report: Report, user: User, attachment: Attachment, what: str, now: datetime,
                 public_change: bool) -> None:
    """Record an internal ``photo`` event. ``public_change``: what the public sees changes, so
    ``report.updated_at`` moves (the public pages' ETag and Last-Modified follow it, and the
    report's ``version`` with it); otherwise the event does not change the report."""
    kind = _l("answer photo") if attachment.purpose == "answer" else _l("report photo")
    if attachment.kind == "document":
        kind = _l("document")
    event = workflow.record(report, user, "photo", None, what, note=f"{kind} #{attachment.id}", at=now)
    if public_change:
        report.updated_at = now
    else:
        event.report_version = report.version


def set_hidden(report: Report, user: User, attachment: Attachment, hidden: bool,
               now: datetime | None = None) -> FileChanges:
    """Hide a photo or document from the public (``hidden=True``) or show it again (flushes).

    Hiding a photo also renames its public copy and thumbnail (:func:`photos.rename_copies`),
    so that URLs handed out before stop working. Public pages must still filter
    ``Attachment.hidden`` (never show a hidden one). Records an internal ``photo`` event.

    :returns: the files to delete after the commit (the old names) or after a failure.
    :raises WorkflowError: ``user`` may not manage the report's photos.
    """
    _require_photos(user, report, attachment)
    now = now or utcnow()
    changes = FileChanges()
    if attachment.hidden == hidden:
        return changes
    if hidden and attachment.kind == "photo" and attachment.public_path and attachment.thumb_path:
        new_public, new_thumb = photo_files.rename_copies(attachment.public_path, attachment.thumb_path,
                                                          upload_root())
        changes.written += [new_public, new_thumb]
        changes.obsolete += [attachment.public_path, attachment.thumb_path]
        attachment.public_path, attachment.thumb_path = new_public, new_thumb
    attachment.hidden = hidden
    _photo_event(report, user, attachment, "hidden" if hidden else "shown", now, True)
    db.session.flush()
    return changes


def blur_photo(report: Report, user: User, attachment: Attachment, now: datetime | None = None) -> FileChanges:
    """Replace a photo's public copy and thumbnail by strongly blurred ones with new names
    (:func:`photos.blur_copies`); the original stays, private (flushes).

    :returns: the new files (``written``) and the old copies (``obsolete``, to delete after the commit).
    :raises WorkflowError: not a photo with a public copy, or ``user`` may not manage the photos.
    """
    _require_photos(user, report, attachment)
    if attachment.kind != "photo" or not attachment.public_path:
        raise WorkflowError(_l("Only a photo can be blurred."))
    now = now or utcnow()
    new_public, new_thumb, width, height = photo_files.blur_copies(attachment.public_path, upload_root())
    changes = FileChanges(written=[new_public, new_thumb], obsolete=[attachment.public_path, attachment.thumb_path])
    attachment.public_path, attachment.thumb_path = new_public, new_thumb
    attachment.width, attachment.height = width, height
    _photo_event(report, user, attachment, "blurred", now, True)
    db.session.flush()
    return changes


def remove_attachment(report: Report, user: User, attachment: Attachment,
                      now: datetime | None = None) -> FileChanges:
    """Remove a photo or document from an answer that is still a draft (flushes; its files
    are deleted after the commit). A citizen's photo or a published answer's file is
    hidden instead (:func:`set_hidden`), never removed.

    :raises WorkflowError: not a draft's file, or ``user`` may not answer the report now.
    """
    _require_photos(user, report, attachment)
    response = attachment.response
    if attachment.purpose != "answer" or response is None or response.state not in EDITABLE_STATES:
        raise WorkflowError(_l("Only a photo or document of an answer that is still a draft can be removed; "
                               "hide it instead."))
    _require_answer(user, report)
    changes = FileChanges(obsolete=[attachment.original_path, attachment.public_path, attachment.thumb_path])
    _photo_event(report, user, attachment, "removed", now or utcnow(), False)
    db.session.delete(attachment)
    db.session.flush()
    return changes


# --- canned answers ---

def canned_answers(report: Report) -> list[CannedAnswer]:
    """The active canned answers for ``report``'s category: the handling agency's own first,
    then the city-wide ones (no agency) whose title the agency has not made its own version
    of; ones for any category (no category) after those of the category; then by
    ``sort_order`` and title."""
    agency_ids = [report.agency_id] if report.agency_id is not None else []
    rows = list(db.session.scalars(
        select(CannedAnswer).where(
            CannedAnswer.active.is_(True),
            or_(CannedAnswer.category_id == report.category_id, CannedAnswer.category_id.is_(None)),
            or_(CannedAnswer.agency_id.is_(None), CannedAnswer.agency_id.in_(agency_ids)))))
    own_titles = {fold(c.title) for c in rows if c.agency_id is not None}
    rows = [c for c in rows if c.agency_id is not None or fold(c.title) not in own_titles]
    return sorted(rows, key=lambda c: (c.agency_id is None, c.category_id is None, c.sort_order, fold(c.title)))


def fill_canned(canned: CannedAnswer, report: Report) -> str:
    """``canned.body`` with ``{tracking_code}``, ``{address}`` (street address, then the
    ward/commune) and ``{agency}`` (the handling agency's name) filled in for ``report``;
    other braces are left as they are."""
    address = ", ".join(x for x in (report.address, report.admin_unit.name if report.admin_unit else "") if x)
    values = {"{tracking_code}": report.tracking_code, "{address}": address,
              "{agency}": report.agency.name if report.agency else ""}
    text = canned.body
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return nfc(text)


def can_manage_canned(user: User, canned: CannedAnswer | None = None, agency: Agency | None = None) -> bool:
    """True when ``user`` may edit ``canned`` (or create one for ``agency``; None: city-wide):
    an admin any; an agency lead their own agency's (not the city-wide ones)."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.AGENCY_LEAD or user.agency_id is None:
        return False
    agency_id = canned.agency_id if canned is not None else (agency.id if agency is not None else None)
    return agency_id == user.agency_id


def save_canned(user: User, canned: CannedAnswer | None, *, title: str, body: str, category: Category | None,
                outcome=None, agency: Agency | None = None, active: bool = True, sort_order: int = 0) -> CannedAnswer:
    """Create (``canned`` None) or change a canned answer (flushes).

    :param agency: the agency whose version it is (None: city-wide, admins only); a lead's
        canned answers always belong to the lead's agency, whatever is passed.
    :param body: may use ``{tracking_code}``, ``{address}``, ``{agency}``.
    :raises AnswerError: no or too long title or text, an unknown outcome (fields ``title``,
        ``body``, ``outcome``). :raises WorkflowError: ``user`` may not manage it.
    """
    if user.role == Role.AGENCY_LEAD:
        agency = user.agency
    if not can_manage_canned(user, canned, agency) or (canned is not None and not can_manage_canned(
            user, None, agency)):
        raise WorkflowError(_l("You can only edit your own agency's canned answers."))
    title, body = nfc(title), nfc(body)
    errors: dict[str, list] = {}
    if not title:
        errors["title"] = [_l("Give the canned answer a title.")]
    elif len(title) > CANNED_TITLE_MAX:
        errors["title"] = [_l("At most %(n)d characters.", n=CANNED_TITLE_MAX)]
    if not body:
        errors["body"] = [_l("Write the text of the canned answer.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_l("The answer can be at most %(max)d characters; it has %(n)d.", max=BODY_MAX, n=len(body))]
    try:
        outcome = parse_outcome(outcome)
    except AnswerError as error:
        errors.update(error.errors)
    if errors:
        raise AnswerError(errors)
    if canned is None:
        canned = CannedAnswer()
        db.session.add(canned)
    canned.title, canned.body, canned.outcome = title, body, outcome
    canned.category = category
    canned.agency = agency
    canned.active = bool(active)
    canned.sort_order = int(sort_order or 0)
    db.session.flush()
    return canned


def set_requires_approval(user: User, agency: Agency, value: bool) -> None:
    """Set whether ``agency``'s answers need its lead's approval (flushes).

    :raises WorkflowError: ``user`` is neither an admin nor the lead of ``agency``.
    """
    if not (user.role == Role.ADMIN or (user.role == Role.AGENCY_LEAD and user.agency_id == agency.id)):
        raise WorkflowError(_l("Only the agency's lead or an administrator can change this setting."))
    agency.requires_approval = bool(value)
    db.session.flush()
