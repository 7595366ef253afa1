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


from ..extensions import db
from ..i18n import lazy_gettext as _l
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
    ``permission_without_approval``: the permission that is enough instead of
    ``permission`` when the report's agency does not require its lead's approval
    (``Agency.requires_approval`` false; issue 5, item 2: "configurable per agency:
    answers need approval or not"): there, the staff who answer also publish.
    ``via_answer``: applied only by the answers service (hpsmart.services.answers),
    which keeps the ``Response`` in step; no other door (report view, bulk) offers it.
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
    permission_without_approval: Permission | None = None
    via_answer: bool = False


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
               _l("Send answer for approval"), own_agency=True, public=False, via_answer=True),
    Transition("publish", frozenset({S.ANSWERED}), S.PUBLISHED, Permission.APPROVE, _l("Approve and publish"),
               own_agency=True, permission_without_approval=Permission.ANSWER, via_answer=True),
    Transition("send_back", frozenset({S.ANSWERED}), S.IN_PROGRESS, Permission.APPROVE,
               _l("Send back to staff"), needs_reason=True, own_agency=True, public=False, via_answer=True),
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
    if user is None or not (user.can(transition.permission) or _approval_waived(transition, user, report)):
        return False
    return not transition.own_agency or _acts_for_agency(user, report)


def _approval_waived(transition: Transition, user: User, report: Report) -> bool:
    """True when ``user`` holds the transition's ``permission_without_approval`` and the
    report's agency does not require approval (``Agency.requires_approval`` false)."""
    return (transition.permission_without_approval is not None and report.agency is not None
            and not report.agency.requires_approval and user.can(transition.permission_without_approval))


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
    :param agency: for ``route``: the current agency to hand the report to; its e-mails
        are queued in the same transaction (``notifications.notify(report, "routed")``).
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
    allowed_reasons = {"reject": REJECT_REASONS, "return_to_ioc": RETURN_REASONS}.get(name, {})
    if reason and reason not in allowed_reasons:
        raise WorkflowError(_l("Choose a reason from the list."))
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
    if name == "route":
        from .notifications import notify

        notify(report, "routed", event=event, now=now)  # e-mail the agency (same transaction)
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


# Fields the IOC may change with ``update_fields``, in the order their events are written.
EDITABLE_FIELDS = ("category", "admin_unit", "address", "urgency", "agency")


def update_fields(report: Report, user: User, changes: dict, seen_version: int | None,
                  now: datetime | None = None) -> list[ReportEvent]:
    """Change a report's category, place (ward/commune, address), urgency or handling agency.

    The IOC's triage edits (issue 4, item 5: "IOC can change category, place, urgency and
    handling agency"). Only values that differ from the report's are changed; each change
    writes one internal (``public=False``) history event whose ``old_value``/``new_value``
    are display values: the category's Vietnamese name, the unit's name, the address,
    the urgency's value (``normal``/``urgent``, translated when shown), the agency's name.

    When the report has been accepted (``accepted_at`` set) and the category or urgency
    changes, the deadline is recomputed from ``accepted_at`` (``deadlines.deadline_for``)
    and, if it moves, a ``deadline`` event records the old and new local dates
    (``dd/mm/yyyy``, Asia/Ho_Chi_Minh).

    A new handling agency is recorded as an ``agency`` event, as ``apply("route")`` does,
    and an ``agency_changed`` e-mail to the new agency is queued in the same transaction
    (``notifications.notify``). The agency can only change while the report is
    ``routed`` (handed over, not started): before that the IOC uses "Route to agency";
    once the agency has started, it returns the report to the IOC first.

    :param report: the report to change (its ``version`` is checked, then bumped once by the flush).
    :param user: the acting user; needs ``Permission.TRIAGE``.
    :param changes: ``{field: value}`` with fields from ``EDITABLE_FIELDS``: ``category``
        (``Category``, active), ``admin_unit`` (``AdministrativeUnit``, current), ``address``
        (``str``, NFC-normalised here, at most 255 characters), ``urgency`` (``Urgency`` or its
        value), ``agency`` (``Agency``, current). Missing keys are left alone.
    :param seen_version: the ``version`` the person's form was rendered with (None: no check).
    :param now: aware UTC time of the change (default: now).
    :returns: the events written, in ``EDITABLE_FIELDS`` order (then ``deadline``); empty
        when nothing differs (nothing is written and the version does not move).
    :raises ConflictError: stale page. :raises WorkflowError: not allowed (role, closed
        report, agency change in the wrong state) or an invalid value; nothing is changed.
    :raises ValueError: a key that is not in ``EDITABLE_FIELDS`` (a programming error).
    """
    from ..i18n import format_local_date
    from ..models import Urgency
    from ..text import nfc

    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    check_version(report, seen_version)
    if user is None or not user.can(Permission.TRIAGE):
        raise WorkflowError(_l("Only the IOC can change the category, place, urgency or agency."))
    if report.status.is_closed:
        raise WorkflowError(_l("A report that is “%(status)s” cannot be changed.", status=report.status.title))
    now = now or utcnow()

    with db.session.no_autoflush:
        current = {"category": report.category, "admin_unit": report.admin_unit,
                   "address": report.address or "", "urgency": report.urgency, "agency": report.agency}
        wanted = dict(changes)
        if "address" in wanted:
            wanted["address"] = nfc(wanted["address"] or "")
            if len(wanted["address"]) > 255:
                raise WorkflowError(_l("The address can be at most %(n)d characters.", n=255))
        if "urgency" in wanted:
            try:
                wanted["urgency"] = Urgency(wanted["urgency"])
            except ValueError:
                raise WorkflowError(_l("Choose an urgency from the list.")) from None
        diff = {name: value for name, value in wanted.items() if _differs(current[name], value)}
        if not diff:
            return []
        if "category" in diff and (diff["category"] is None or not diff["category"].active):
            raise WorkflowError(_l("Choose an active category."))
        if "admin_unit" in diff and (diff["admin_unit"] is None or not diff["admin_unit"].is_current):
            raise WorkflowError(_l("Choose a current ward, commune or special zone."))
        if "agency" in diff:
            if diff["agency"] is None or not diff["agency"].is_current:
                raise WorkflowError(_l("Choose a current agency."))
            if report.status in TRIAGE_SOURCES or report.status == S.ACCEPTED:
                raise WorkflowError(_l("Use “Route to agency” to hand this report to an agency."))
            if report.status != S.ROUTED:
                raise WorkflowError(_l("The agency has started on this report: it returns the report "
                                       "to the IOC, which then routes it again."))

        shown = {
            "category": lambda c: c.name_vi if c is not None else None,
            "admin_unit": lambda u: u.name if u is not None else None,
            "address": lambda a: a or None,
            "urgency": lambda u: u.value if u is not None else None,
            "agency": lambda a: a.name if a is not None else None,
        }
        events = []
        for name in EDITABLE_FIELDS:
            if name in diff:
                events.append(record(report, user, name, shown[name](current[name]), shown[name](diff[name]),
                                     at=now))
        old_deadline = report.deadline
        for name, value in diff.items():
            setattr(report, name, value)
        if (report.accepted_at is not None and report.category is not None
                and ("category" in diff or "urgency" in diff)):
            from .deadlines import deadline_for

            new_deadline = deadline_for(report.category, report.urgency, report.accepted_at)
            if new_deadline != old_deadline:
                events.append(record(report, user, "deadline", format_local_date(old_deadline) or None,
                                     format_local_date(new_deadline), at=now))
                report.deadline = new_deadline
        report.updated_at = now
    db.session.flush()
    if "agency" in diff:
        from .notifications import notify

        notify(report, "agency_changed", event=next(e for e in events if e.action == "agency"), now=now)
    return events


def _differs(old, new) -> bool:
    """True when ``new`` is another value than ``old`` (model rows compared by id)."""
    if hasattr(old, "id") or hasattr(new, "id"):
        return getattr(old, "id", None) != getattr(new, "id", None)
    return old != new
