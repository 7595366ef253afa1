"""Form pieces shared by every blueprint."""
from __future__ import annotations

from flask_babel import get_translations
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice

from .i18n import lazy_gettext as _l, lazy_ngettext
from .text import nfc

# WTForms' own messages, so that extraction puts them in our catalogues: WTForms
# ships no Vietnamese translation. Keep in step with the validators and fields used.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid integer value."),
    _l("Not a valid float value."),
    _l("Not a valid decimal value."),
    _l("Not a valid date value."),
    _l("Invalid email address."),
    _l("Invalid input."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 1),
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 1),
    lazy_ngettext("'%(value)s' is not a valid choice for this field.",
                  "'%(value)s' are not valid choices for this field.", 1),
)


class _CatalogueTranslations:
    """WTForms' translations interface backed by our own catalogue (current locale).

    Returns the translated template unformatted: WTForms fills in ``%(min)d`` etc.
    """

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


class Form(FlaskForm):
    """Base of every form in hpsmart: CSRF from Flask-WTF, WTForms' built-in
    messages in the user's language."""

    class Meta:
        def get_translations(self, form):
            return _CatalogueTranslations()


class EmptyForm(Form):
    """A form with only the CSRF token: for state-changing buttons (logout, actions)."""


def strip_nfc(value):
    """WTForms filter: NFC-normalise and strip a string; other values pass through."""
    return nfc(value) if isinstance(value, str) else value


def options_html(choices, current=None) -> Markup:
    """``<option>`` elements for a ``<select>``, the one whose value equals ``current``
    selected.

    The inbox renders about 250 options (agencies, wards and communes) on every list
    request; through a Jinja loop or WTForms' widget that cost more than the rows
    (bench/bench_inbox.py). Escaping is markupsafe's, as in templates.

    :param choices: ``[(value, label), ...]`` or WTForms ``SelectChoice`` objects; values
        are compared as strings.
    :param current: the selected value, or None.
    :returns: ``Markup``.
    """
    selected = "" if current is None else str(current)
    parts = []
    for choice in choices:
        value, label = (choice.value, choice.label) if isinstance(choice, SelectChoice) else choice[:2]
        value = "" if value is None else str(value)
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{escape(value)}"{mark}>{escape(str(label))}</option>')
    return Markup("".join(parts))


def select_choices(pairs) -> list[SelectChoice]:
    """``[(value, label), ...]`` as WTForms ``SelectChoice`` objects (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]
