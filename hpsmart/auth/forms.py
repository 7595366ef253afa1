"""Login form."""
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import Form, strip_nfc
from ..i18n import lazy_gettext as _l


class LoginForm(Form):
    """E-mail and password; ``next`` is where to go after logging in (same site only)."""

    email = EmailField(_l("E-mail"), filters=[strip_nfc],
                       validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                          Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()
