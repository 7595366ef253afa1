"""The citizen's follow-up form on the tracking page (issue 5, item 5)."""
from __future__ import annotations

from wtforms import HiddenField, RadioField, TelField, TextAreaField

from ..forms import Form, select_choices
from ..i18n import lazy_gettext as _l
from ..services.public import FEEDBACK_COMMENT_MAX

VERDICTS = {"yes": True, "no": False}


class FeedbackForm(Form):
    """Satisfied or not with the published answer, and a comment.

    ``token``: the proof of the phone check (``services.public.feedback_token``);
    ``phone``: asked again only when that proof has expired. The fields carry no
    validators: the rules are ``services.public.give_feedback``'s; the form only
    checks its CSRF token.
    """

    code = HiddenField()
    token = HiddenField()
    satisfied = RadioField(_l("Did the answer solve the problem?"), validate_choice=False)
    comment = TextAreaField(_l("Comment"), render_kw={"rows": 4, "maxlength": FEEDBACK_COMMENT_MAX})
    phone = TelField(_l("Phone number used for the report"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.satisfied.choices = select_choices([("yes", _l("Yes, I am satisfied")),
                                                 ("no", _l("No, I am not satisfied"))])

    def verdict(self) -> bool | None:
        """True (satisfied), False (not satisfied) or None (nothing chosen)."""
        return VERDICTS.get(self.satisfied.data or "")
