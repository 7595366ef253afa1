"""Forms of the answer panel, the lead's review and the answer settings.

As elsewhere, the fields carry no validators: the rules live in
:mod:`hpsmart.services.answers`, whose ``AnswerError.errors`` are put on the fields of
the same name. The answer form is posted to views that check the CSRF token
themselves (so that an expired session or token never loses what was typed), so it is
built with ``meta={"csrf": False}`` and the template renders the token.
"""
from __future__ import annotations

from datetime import date, datetime

from wtforms import (BooleanField, HiddenField, IntegerField, MultipleFileField, SelectField, StringField,
                     TextAreaField)

from ..forms import Form, select_choices, strip_nfc
from ..i18n import lazy_gettext as _l
from ..models import Outcome

PHOTO_ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"


def outcome_choices(empty_label) -> list:
    """``SelectChoice``\\ s of the outcomes, after an empty choice labelled ``empty_label``."""
    return select_choices([("", str(empty_label))] + Outcome.choices())


def parse_local_date(raw: str | None) -> date | None:
    """A date typed or picked: ``yyyy-mm-dd`` (a date input) or ``dd/mm/yyyy``; None when empty.

    :raises ValueError: anything else.
    """
    raw = (raw or "").strip()
    if not raw:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(raw)


class AnswerForm(Form):
    """The staff's answer: text, outcome (with its date or responsible party), photos,
    PDF documents, a canned answer to insert, and the personal-data confirmation.

    ``draft_token`` is a signed (user, report) token: it lets a POST whose session has
    expired still be kept as the user's draft (see ``hpsmart.answers.routes``).
    ``draft_seen`` is the version of the draft the form was rendered with
    (``services.answers.draft_version``): a save from an older form is a conflict.
    ``return_to`` says where a successful POST goes (``panel``, ``report``).
    """

    body = TextAreaField(_l("Answer to the citizen"), filters=[strip_nfc], render_kw={"rows": 10})
    outcome = SelectField(_l("Outcome"), validate_choice=False)
    scheduled_for = StringField(_l("Planned date (for “Scheduled”)"), render_kw={"type": "date"})
    responsible_party = StringField(_l("Who is responsible (for “Not in our remit”)"), filters=[strip_nfc])
    photos = MultipleFileField(_l("Result photos (“after” pictures), up to 10"),
                               render_kw={"multiple": True, "accept": PHOTO_ACCEPT})
    documents = MultipleFileField(_l("Documents (PDF, up to 10 MB each)"),
                                  render_kw={"multiple": True, "accept": "application/pdf,.pdf"})
    canned = SelectField(_l("Canned answer"), validate_choice=False)
    confirm_personal_data = BooleanField(_l("I have checked the warnings: send it as it is"))
    draft_token = HiddenField()
    draft_seen = HiddenField()
    return_to = HiddenField()


class ApproveForm(Form):
    """The lead's approval, with the text they may edit first."""

    body = TextAreaField(_l("Text to publish (you may correct it)"), filters=[strip_nfc],
                         render_kw={"rows": 8})
    confirm_personal_data = BooleanField(_l("I have checked the warnings: publish it as it is"))
    response_id = HiddenField()
    version = HiddenField()
    return_to = HiddenField()


class SendBackForm(Form):
    """The lead sends the answer back to the staff with a comment."""

    comment = TextAreaField(_l("What should be changed?"), filters=[strip_nfc], render_kw={"rows": 3})
    response_id = HiddenField()
    version = HiddenField()
    return_to = HiddenField()


class CannedForm(Form):
    """A canned answer: title, category (empty: any), outcome, text with placeholders,
    agency (admins only; empty: city-wide), order and whether it is offered."""

    title = StringField(_l("Title"), filters=[strip_nfc])
    category = SelectField(_l("Category"), validate_choice=False)
    outcome = SelectField(_l("Outcome"), validate_choice=False)
    body = TextAreaField(_l("Text"), filters=[strip_nfc], render_kw={"rows": 8})
    agency = SelectField(_l("Agency"), validate_choice=False)
    sort_order = IntegerField(_l("Order in the list"), default=0)
    active = BooleanField(_l("Offered to staff"), default=True)


class ApprovalSettingForm(Form):
    """Whether an agency's answers need its lead's approval."""

    requires_approval = BooleanField(_l("Answers need the lead's approval before they are published"))
    agency = HiddenField()
