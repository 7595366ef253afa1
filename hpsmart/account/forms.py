"""The user's own settings."""
from wtforms import SelectField

from ..forms import Form, select_choices
from ..i18n import lazy_gettext as _l


class SettingsForm(Form):
    """Language of the interface and of e-mails."""

    language = SelectField(_l("Language"), choices=select_choices([("vi", "Tiếng Việt"), ("en", "English")]))
