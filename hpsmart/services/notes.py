"""Internal notes on a report: staff-only history events (``action="note"``, ``public=False``).

A note is part of the report's history (nhật ký) but changes nothing about the report:
it does not move ``Report.version``, so writing a note never makes someone else's open
form stale. Services flush; the request commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import Report, ReportEvent, User, utcnow
from ..permissions import Permission
from ..text import nfc
from .workflow import WorkflowError, record

# Longest note accepted, in characters.
NOTE_MAX_LENGTH = 4000


def add_note(report: Report, user: User, text: str, now: datetime | None = None) -> ReportEvent:
    """Write an internal note on ``report`` as ``user`` (flushes).

    Idempotent for a repeated submission: when the latest event of the report is a note
    by the same user with the same text, that event is returned and nothing is written.

    :param text: the note, NFC-normalised and stripped here; 1 to ``NOTE_MAX_LENGTH`` characters.
    :param now: aware UTC time of the note (default: now).
    :returns: the ``note`` event (``report_version`` is the report's current version).
    :raises WorkflowError: an empty or too long note, or a user without ``VIEW_INBOX``.
    """
    if user is None or not user.can(Permission.VIEW_INBOX):
        raise WorkflowError(_l("Only staff can write internal notes."))
    text = nfc(text)
    if not text:
        raise WorkflowError(_l("Write the note first."))
    if len(text) > NOTE_MAX_LENGTH:
        raise WorkflowError(_l("A note can be at most %(n)d characters.", n=NOTE_MAX_LENGTH))
    latest = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id)
                               .order_by(ReportEvent.id.desc()).limit(1))
    if latest is not None and latest.action == "note" and latest.actor_id == user.id and latest.note == text:
        return latest
    event = record(report, user, "note", note=text, public=False, at=now or utcnow())
    event.report_version = report.version  # a note is not a change of the report
    db.session.flush()
    return event
