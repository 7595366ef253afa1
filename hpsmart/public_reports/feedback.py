"""The follow-up panel of the tracking page, shared by the tracking page
(:mod:`hpsmart.intake.routes`) and the feedback route of this blueprint."""
from __future__ import annotations

from flask import current_app

from ..models import Report
from ..services import public
from .forms import FeedbackForm


def feedback_panel(report: Report, form: FeedbackForm | None = None, proven: bool = True) -> dict | None:
    """What the tracking page shows the reporter about their opinion on the published
    answer, or None when there is nothing to show.

    :param form: the form as sent (to show it again with its errors); default: empty.
    :param proven: the person has just proved with the phone that they are the reporter
        (the tracking page's check, or a valid token): the form gets a fresh proof for
        the current answer. False: no proof, and the form asks for the phone again.
    :returns: ``{"state": FeedbackState, "form": FeedbackForm, "ask_phone": bool}``.
    """
    state = public.feedback_state(report)
    if not state.open and state.given is None:
        return None
    if form is None:
        form = FeedbackForm(formdata=None)  # never the tracking form's own fields (the phone)
    form.code.data = report.tracking_code
    form.token.data = public.feedback_token(report, state.response, current_app.secret_key) if proven else ""
    form.phone.data = ""
    return {"state": state, "form": form, "ask_phone": not proven}
