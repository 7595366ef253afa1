"""A report's history (nhật ký) in plain words, for staff.

Events store values (status and urgency values, names of categories, units and
agencies, local dates); this module turns each into one sentence in the current
locale, e.g. ``Chuyển trạng thái: Mới → Đã tiếp nhận``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from ..models import ReportEvent, ReportStatus, Urgency

NONE_SHOWN = "—"


@dataclass(frozen=True)
class HistoryItem:
    """One event as shown: ``at`` (aware UTC), ``actor`` (name, or the citizen/system
    wording), ``text`` (the sentence), ``note`` (free text or None), ``action`` (the
    event's action, for CSS), ``public`` (shown to the citizen too)."""

    at: datetime
    actor: str
    text: str
    note: str | None
    action: str
    public: bool


def _status(value: str | None) -> str:
    if not value:
        return NONE_SHOWN
    try:
        return ReportStatus(value).title
    except ValueError:
        return value


def _urgency(value: str | None) -> str:
    if not value:
        return NONE_SHOWN
    try:
        return Urgency(value).title
    except ValueError:
        return value


def describe(event: ReportEvent) -> str:
    """The sentence for one event in the current locale (needs a request or app context)."""
    old, new = event.old_value, event.new_value
    action = event.action
    if action == "created":
        return _("Report received")
    if action == "status":
        if not old:
            return _("Status: %(status)s", status=_status(new))
        return _("Status changed: %(old)s → %(new)s", old=_status(old), new=_status(new))
    if action == "urgency":
        return _("Urgency changed: %(old)s → %(new)s", old=_urgency(old), new=_urgency(new))
    if action == "agency" and not old:
        return _("Handling agency set: %(new)s", new=new or NONE_SHOWN)
    values = {"old": old or NONE_SHOWN, "new": new or NONE_SHOWN}
    if action == "agency":
        return _("Handling agency changed: %(old)s → %(new)s", **values)
    if action == "category":
        return _("Category changed: %(old)s → %(new)s", **values)
    if action == "admin_unit":
        return _("Ward/commune changed: %(old)s → %(new)s", **values)
    if action == "address":
        return _("Address changed: %(old)s → %(new)s", **values)
    if action == "deadline":
        return _("Deadline changed: %(old)s → %(new)s", **values)
    if action == "co_agency":
        return _("Co-handling agency added: %(agency)s", agency=new or NONE_SHOWN)
    if action == "note":
        return _("Internal note")
    if action == "answer":
        if new == "edited":
            return _("Answer edited by the lead before approval")
        if new == "submitted":
            return _("Answer sent for approval")
        return _("Answer")
    if action == "photo":
        return {"hidden": _("Photo hidden from the public"), "shown": _("Photo shown to the public again"),
                "blurred": _("Photo blurred for the public"),
                "removed": _("Photo removed")}.get(new or "", _("Photo changed"))
    if action == "feedback":
        if new == "satisfied":
            return _("The citizen is satisfied with the answer")
        return _("The citizen is not satisfied with the answer")
    if old or new:  # an action this module does not know yet: its code and the values
        return f"{action}: {values['old']} → {values['new']}"
    return action


def history(events: list[ReportEvent]) -> list[HistoryItem]:
    """The events (oldest first, as ``Report.events`` is ordered) as ``HistoryItem``s."""
    return [HistoryItem(at=e.created_at, actor=e.actor.name if e.actor is not None else _("Citizen or system"),
                        text=describe(e), note=e.note, action=e.action, public=bool(e.public))
            for e in events]
