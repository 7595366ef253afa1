"""The user's own settings."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from ..forms import Form, select_choices


class SettingsForm(Form):
    """Language of the interface and of e-mails."""

    language = SelectField(_l("Language"), choices=select_choices([("vi", "Tiếng Việt"), ("en", "English")]))
