"""Forms of the report view: workflow actions, the IOC's field edits, internal notes.

Like the intake forms, the fields carry no validators: the rules live in
:mod:`hpsmart.services.workflow` and :mod:`hpsmart.services.notes`, whose
``WorkflowError`` messages are shown on the form that was sent. Every form carries
its CSRF token and the report ``version`` it was rendered with (stale-page check).
"""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from ..extensions import db
from ..forms import select_choices, strip_nfc
from ..i18n import lazy_gettext as _l
from ..intake.forms import category_choices, unit_choices
from ..models import Agency, AgencyKind, Report, Urgency
from ..services.workflow import REJECT_REASONS, RETURN_REASONS, Transition
from ..text import vietnamese_sort_key

# Which inputs each transition's form shows (all optional for the form; the service
# says what is required). A transition not listed gets a note when it needs a reason.
TRANSITION_FIELDS = {
    "accept": (),
    "route": ("agency", "note"),
    "reject": ("reason", "note"),
    "mark_duplicate": ("original", "note"),
    "start": (),
    "return_to_ioc": ("reason", "note"),
    "answer": ("note",),
    "publish": ("note",),
    "send_back": ("note",),
    "reopen": ("note",),
}
REASONS = {"reject": REJECT_REASONS, "return_to_ioc": RETURN_REASONS}

_COMMITTEE_PREFIX = re.compile(r"^Ủy ban nhân dân\s+(Phường|Xã|Đặc khu)\s+", re.IGNORECASE)


class TransitionForm(FlaskForm):
    """One workflow action. Rendered with ``prefix="<transition name>-"`` so that several
    action forms can share a page; fields the transition does not use are removed."""

    version = HiddenField()
    reason = SelectField(_l("Reason"), validate_choice=False)
    note = TextAreaField(_l("Note"), filters=[strip_nfc], render_kw={"rows": 2})
    agency = SelectField(_l("Handling agency"), validate_choice=False)
    original = StringField(_l("Tracking code of the original report"), filters=[strip_nfc],
                           render_kw={"placeholder": "HP-2026-000123", "autocapitalize": "characters"})


class FieldsForm(FlaskForm):
    """The IOC's edit of category, ward/commune, address, urgency and (while routed) agency."""

    version = HiddenField()
    category = SelectField(_l("Category"), validate_choice=False)
    admin_unit = SelectField(_l("Ward, commune or special zone"), validate_choice=False)
    address = StringField(_l("Street address or landmark"), filters=[strip_nfc])
    urgency = SelectField(_l("Urgency"), validate_choice=False)
    agency = SelectField(_l("Handling agency"), validate_choice=False)


class NoteForm(FlaskForm):
    """An internal note (staff only, never shown to the citizen)."""

    text = TextAreaField(_l("Internal note"), filters=[strip_nfc], render_kw={"rows": 3})


def agency_choices(with_empty: bool = True) -> list:
    """Current agencies as ``SelectChoice``s (value: the agency id as a string).

    Departments and city bodies first, then the ward/commune People's Committees in
    their own group; each group in Vietnamese alphabetical order (committees by the
    ward's name, without "Ủy ban nhân dân Phường/Xã/Đặc khu").
    """
    from wtforms import SelectChoice

    rows = db.session.execute(select(Agency.id, Agency.name, Agency.kind)
                              .where(Agency.valid_to.is_(None))).all()
    city = sorted((r for r in rows if r.kind != AgencyKind.WARD_COMMITTEE),
                  key=lambda r: vietnamese_sort_key(r.name))
    wards = sorted((r for r in rows if r.kind == AgencyKind.WARD_COMMITTEE),
                   key=lambda r: (vietnamese_sort_key(_COMMITTEE_PREFIX.sub("", r.name)),
                                  vietnamese_sort_key(r.name)))
    choices = [SelectChoice("", str(_l("— Choose an agency —")))] if with_empty else []
    city_group, ward_group = str(_l("Departments and city bodies")), str(_l("Ward and commune People's Committees"))
    choices += [SelectChoice(str(r.id), r.name, optgroup=city_group) for r in city]
    choices += [SelectChoice(str(r.id), r.name, optgroup=ward_group) for r in wards]
    return choices


def transition_form(transition: Transition, report: Report, formdata=None) -> TransitionForm:
    """The form of ``transition`` for ``report``.

    :param formdata: the posted data to re-show (the form that was sent), or None for a
        fresh form (the suggested agency pre-selected for ``route``).
    """
    form = TransitionForm(formdata=formdata, prefix=f"{transition.name}-")
    if formdata is None:
        form.version.data = str(report.version)
    fields = TRANSITION_FIELDS.get(transition.name, ("note",) if transition.needs_reason else ())
    for name in ("reason", "note", "agency", "original"):
        if name not in fields:
            delattr(form, name)
    if "reason" in fields:
        reasons = REASONS.get(transition.name, {})
        form.reason.choices = select_choices(
            [("", str(_l("— Choose a reason —")))] + [(code, str(text)) for code, text in reasons.items()])
    if "agency" in fields:
        form.agency.choices = agency_choices()
        if formdata is None:
            from ..services.routing import suggested_agency

            suggested = suggested_agency(report)
            form.agency.data = str(suggested.id) if suggested is not None else ""
    if "note" in fields and transition.needs_reason:
        form.note.label.text = str(_l("Reason (shown in the history)")) if "reason" not in fields \
            else str(_l("Note"))
    return form


def fields_form(report: Report, locale: str, formdata=None) -> FieldsForm:
    """The IOC's edit form for ``report``, filled from the report (or from ``formdata``)."""
    form = FieldsForm(formdata=formdata, prefix="fields-")
    if formdata is None:
        form.version.data = str(report.version)
    categories = category_choices(locale)
    if report.category is not None and all(code != report.category.code for code, _ in categories):
        categories.append((report.category.code, report.category.name(locale)))
    form.category.choices = select_choices(categories)
    units = unit_choices()
    if report.admin_unit is not None and all(code != report.admin_unit.code for code, _ in units):
        units.append((report.admin_unit.code, report.admin_unit.name))
    form.admin_unit.choices = select_choices(units)
    form.urgency.choices = select_choices(Urgency.choices())
    form.agency.choices = agency_choices()
    if formdata is None:
        form.category.data = report.category.code if report.category else ""
        form.admin_unit.data = report.admin_unit.code if report.admin_unit else ""
        form.address.data = report.address or ""
        form.urgency.data = report.urgency.value
        form.agency.data = str(report.agency_id) if report.agency_id else ""
    return form
