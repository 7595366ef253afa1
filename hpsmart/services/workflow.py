"""The report workflow: one state machine, with guards per role.

new → accepted → routed → in_progress → answered → published, and the side
roads: rejected (with a reason), duplicate (linked to the original), returned
(an agency sends it back to the IOC), reopened (the citizen is not satisfied).
Every transition writes one ``ReportEvent``; an illegal one raises
``WorkflowError`` with a localized message and changes nothing.

Services flush; the request commits (STYLE.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Agency, Report, ReportEvent, ReportStatus, Role, User, utcnow
from ..permissions import Permission

S = ReportStatus


class WorkflowError(Exception):
    """A transition or change that is not allowed; ``str(error)`` is a localized message."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class ConflictError(WorkflowError):
    """The report changed since the person loaded it (its ``version`` moved on).

    ``report`` is the current state; ``since`` lists the events written after the
    version the person saw, so the page can show what changed.
    """

    def __init__(self, report: Report, seen_version: int):
        super().__init__(_l("Someone else changed this report while you had it open. "
                            "Check their changes below, then try again."))
        self.report = report
        self.seen_version = seen_version
        self.since = [e for e in report.events if e.report_version is not None
                      and e.report_version > seen_version]


# Reasons offered when rejecting (từ chối); the note says more.
REJECT_REASONS = {
    "out_of_scope": _l("Out of scope: not handled by the city (the answer says who is responsible)"),
    "insufficient_information": _l("Insufficient information"),
    "not_a_report": _l("Not a field report (question, complaint about a person, advertising)"),
    "abusive": _l("Abusive or offensive content"),
}

# Reasons an agency gives when sending a report back to the IOC.
RETURN_REASONS = {
    "wrong_agency": _l("Wrong agency: not in our remit"),
    "wrong_place": _l("Wrong or unclear place"),
    "insufficient_information": _l("Insufficient information"),
}


@dataclass(frozen=True)
class Transition:
    """A move from one of ``sources`` to ``target`` that needs ``permission``.

    ``own_agency``: agency staff and leads may only act on reports routed to their
    own agency. ``needs_reason``: a reason code (and/or note) is required.
    """

    name: str
    sources: frozenset
    target: ReportStatus
    permission: Permission | None
    title: object
    needs_reason: bool = False
    own_agency: bool = False
    public: bool = True
    extra: tuple = field(default=())


TRIAGE_SOURCES = frozenset({S.NEW, S.RETURNED, S.REOPENED})

TRANSITIONS: dict[str, Transition] = {t.name: t for t in [
    Transition("accept", frozenset({S.NEW}), S.ACCEPTED, Permission.TRIAGE, _l("Accept")),
    Transition("route", TRIAGE_SOURCES | {S.ACCEPTED}, S.ROUTED, Permission.TRIAGE, _l("Route to agency"),
               extra=("agency",)),
    Transition("reject", TRIAGE_SOURCES | {S.ACCEPTED}, S.REJECTED, Permission.TRIAGE, _l("Reject"),
               needs_reason=True),
    Transition("mark_duplicate", TRIAGE_SOURCES | {S.ACCEPTED}, S.DUPLICATE, Permission.TRIAGE,
               _l("Mark as duplicate"), extra=("original",)),
    Transition("start", frozenset({S.ROUTED}), S.IN_PROGRESS, Permission.ANSWER, _l("Start handling"),
               own_agency=True),
    Transition("return_to_ioc", frozenset({S.ROUTED, S.IN_PROGRESS}), S.RETURNED, Permission.ANSWER,
               _l("Return to IOC"), needs_reason=True, own_agency=True),
    Transition("answer", frozenset({S.ROUTED, S.IN_PROGRESS}), S.ANSWERED, Permission.ANSWER,
               _l("Send answer for approval"), own_agency=True, public=False),
    Transition("publish", frozenset({S.ANSWERED}), S.PUBLISHED, Permission.APPROVE, _l("Approve and publish"),
               own_agency=True),
    Transition("send_back", frozenset({S.ANSWERED}), S.IN_PROGRESS, Permission.APPROVE,
               _l("Send back to staff"), needs_reason=True, own_agency=True, public=False),
    # The citizen (no user) reopens a published report they are not satisfied with.
    Transition("reopen", frozenset({S.PUBLISHED}), S.REOPENED, None, _l("Reopen"), needs_reason=True),
]}


def _acts_for_agency(user: User, report: Report) -> bool:
    if user.role in (Role.ADMIN, Role.IOC_OPERATOR):
        return True
    return user.agency_id is not None and user.agency_id == report.agency_id


def can(user: User | None, report: Report, name: str) -> bool:
    """True when ``user`` (None: the citizen) may apply transition ``name`` to ``report`` now."""
    transition = TRANSITIONS.get(name)
    if transition is None or report.status not in transition.sources:
        return False
    if transition.permission is None:
        return user is None or user.role in (Role.ADMIN, Role.IOC_OPERATOR)
    if user is None or not user.can(transition.permission):
        return False
    return not transition.own_agency or _acts_for_agency(user, report)


def allowed_transitions(user: User | None, report: Report) -> list[Transition]:
    """The transitions ``user`` may apply to ``report`` now, in declaration order."""
    return [t for t in TRANSITIONS.values() if can(user, report, t.name)]


def check_version(report: Report, seen_version: int | None) -> None:
    """Refuse to act on a stale page.

    :param seen_version: the ``version`` the person's form was rendered with (None: no check).
    :raises ConflictError: when the report has changed since.
    """
    if seen_version is not None and int(seen_version) != report.version:
        raise ConflictError(report, int(seen_version))


def record(report: Report, actor: User | None, action: str, old=None, new=None, note: str | None = None,
           public: bool = False, at: datetime | None = None) -> ReportEvent:
    """Append one history event to ``report`` (flushes).

    :param old: previous value (display string or None); :param new: new value.
    :returns: the event; ``report_version`` is the version the change produces.
    """
    event = ReportEvent(report=report, actor=actor, action=action,
                        old_value=None if old is None else str(old)[:255],
                        new_value=None if new is None else str(new)[:255], note=note, public=public,
                        created_at=at or utcnow(), report_version=(report.version or 0) + 1)
    db.session.add(event)
    return event


def apply(report: Report, user: User | None, name: str, *, seen_version: int | None = None,
          reason: str | None = None, note: str | None = None, agency: Agency | None = None,
          original: Report | None = None, now: datetime | None = None) -> ReportEvent:
    """Apply transition ``name`` to ``report`` as ``user`` and record it.

    :param user: the acting user; None for the citizen (only ``reopen``).
    :param seen_version: version shown on the person's page, checked first.
    :param reason: a reason code (``REJECT_REASONS``/``RETURN_REASONS``) or free text.
    :param note: free text kept in the history.
    :param agency: for ``route``: the current agency to hand the report to.
    :param original: for ``mark_duplicate``: the report this one repeats.
    :param now: aware UTC time of the change (default: now).
    :returns: the status event written.
    :raises ConflictError: stale page. :raises WorkflowError: not allowed now,
        missing reason, agency or original.
    """
    check_version(report, seen_version)
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise WorkflowError(_l("Unknown action."))
    if not can(user, report, name):
        raise WorkflowError(_l("“%(action)s” is not possible for a report that is “%(status)s”, or not for you.",
                               action=transition.title, status=report.status.title))
    now = now or utcnow()
    text = " ".join(x for x in (_reason_text(reason), note) if x) or None
    if transition.needs_reason and not text:
        raise WorkflowError(_l("Give a reason."))
    if name == "route":
        if agency is None or not agency.is_current:
            raise WorkflowError(_l("Choose a current agency."))
        _set_agency(report, user, agency, now)
    if name == "mark_duplicate":
        if original is None or original.id == report.id:
            raise WorkflowError(_l("Choose the original report (another report)."))
        while original.duplicate_of is not None and original.duplicate_of.id != report.id:
            original = original.duplicate_of  # link to the first report, never to a duplicate
        report.duplicate_of = original
        text = " ".join(x for x in (original.tracking_code, text) if x)
    if name in ("accept", "route") and report.accepted_at is None:
        report.accepted_at = now
        _set_deadline(report, now)
    if name == "answer":
        report.answered_at = now
    if name == "publish":
        report.published_at = now
    old = report.status
    event = record(report, user, "status", old.value, transition.target.value, note=text,
                   public=transition.public, at=now)
    report.status = transition.target
    report.updated_at = now
    db.session.flush()
    return event


def _reason_text(reason: str | None) -> str | None:
    if not reason:
        return None
    known = REJECT_REASONS.get(reason) or RETURN_REASONS.get(reason)
    return str(known) if known is not None else reason


def _set_agency(report: Report, user: User | None, agency: Agency, now: datetime) -> None:
    if report.agency_id != agency.id:
        record(report, user, "agency", report.agency.name if report.agency else None, agency.name, at=now)
        report.agency = agency


def _set_deadline(report: Report, accepted_at: datetime) -> None:
    from .deadlines import deadline_for

    if report.category is not None:
        report.deadline = deadline_for(report.category, report.urgency, accepted_at)
