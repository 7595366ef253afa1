"""Forms of the inbox list: saving a view, deleting one, bulk actions.

The filter form is a plain GET form (no CSRF, nothing changes); its values are
parsed by :class:`hpsmart.services.inbox.InboxFilters`.
"""
from __future__ import annotations

from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..forms import Form, select_choices, strip_nfc
from ..i18n import lazy_gettext as _l


class SavedViewForm(Form):
    """Name for the current filters; ``query`` is the list's query string (filters, sort)."""

    name = StringField(_l("Name of this view"), filters=[strip_nfc],
                       validators=[DataRequired(_l("Give the view a name.")), Length(max=80)],
                       render_kw={"maxlength": 80, "autocomplete": "off"})
    query = HiddenField()


class BulkForm(Form):
    """A workflow action for the selected rows (the ``report`` checkboxes are read by the route).

    ``agency`` is used by "route", ``reason`` by "reject"; the service says what is
    required, the choices are filled per user by ``bulk_form``.
    """

    action = SelectField(_l("Action"), validate_choice=False)
    agency = SelectField(_l("Handling agency"), validate_choice=False)
    reason = SelectField(_l("Reason for rejecting"), validate_choice=False)
    query = HiddenField()


def bulk_form(actions, agencies, reasons, **kwargs) -> BulkForm:
    """A ``BulkForm`` with its choices.

    :param actions: ``[(transition name, title), ...]`` the user may take.
    :param agencies: ``[(agency id as str, name), ...]`` (current agencies).
    :param reasons: ``[(reason code, text), ...]``.
    """
    form = BulkForm(**kwargs)
    form.action.choices = select_choices([("", _l("Choose an action")), *actions])
    form.agency.choices = select_choices([("", _l("Choose an agency")), *agencies])
    form.reason.choices = select_choices([("", _l("Choose a reason")), *reasons])
    return form
