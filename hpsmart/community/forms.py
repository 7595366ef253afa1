"""The assisted report form: the public report form plus what the team member records.

A Digital Community team member (Tổ công nghệ số cộng đồng) fills it in with or for
a citizen. It is :class:`~hpsmart.intake.forms.ReportForm` (same fields, same
rules in :mod:`hpsmart.services.intake`) with the citizen-facing labels reworded,
the honeypot removed (a logged-in member is no bot), and two fields: how the
citizen consented and how the citizen came to the member.
"""
from __future__ import annotations

from wtforms import SelectField

from ..forms import select_choices
from ..i18n import lazy_gettext as _l
from ..intake.forms import ReportForm
from ..services.intake import CITIZEN_CHANNELS, CONSENT_METHOD_TITLES

# Consent to a team member is given face to face or on the phone; "online" is the
# public form's own (Nghị định 13/2023/NĐ-CP, Điều 11: consent must be verifiable).
ASSISTED_CONSENT_METHODS = ("in_person", "phone")


class AssistedReportForm(ReportForm):
    """The public report form for a team member; field names are ``ReportSubmission``'s.

    ``consent_method``: ``in_person`` or ``phone``; ``citizen_channel``: a key of
    ``services.intake.CITIZEN_CHANNELS``. Both start unselected, so that the member
    chooses. Labels addressed to the citizen ("Your name") name the citizen instead.
    """

    website = None  # no honeypot behind the login
    consent_method = SelectField(_l("How did the citizen give consent?"), validate_choice=False)
    citizen_channel = SelectField(_l("How did the citizen come to you?"), validate_choice=False)

    LABELS = {
        "reporter_name": _l("Citizen's name"),
        "reporter_phone": _l("Citizen's phone number"),
        "reporter_email": _l("Citizen's e-mail (optional)"),
        "reporter_name_public": _l("The citizen allows their name to be shown publicly with the report"),
        "consent": _l("I have told the citizen how their personal data is used (the text above) and "
                      "they agree."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in self.LABELS.items():
            self[name].label.text = text
        choose = _l("— Choose —")
        self.consent_method.choices = select_choices(
            [("", choose)] + [(key, CONSENT_METHOD_TITLES[key]) for key in ASSISTED_CONSENT_METHODS])
        self.citizen_channel.choices = select_choices([("", choose)] + list(CITIZEN_CHANNELS.items()))
