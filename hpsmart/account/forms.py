"""The user's own settings."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..forms import select_choices


class SettingsForm(FlaskForm):
    """Language of the interface and of e-mails."""

    language = SelectField(_l("Language"), choices=select_choices([("vi", "Tiếng Việt"), ("en", "English")]))
