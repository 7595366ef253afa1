"""Form pieces shared by every blueprint."""
from __future__ import annotations

from flask_wtf import FlaskForm

from .text import nfc


class EmptyForm(FlaskForm):
    """A form with only the CSRF token: for state-changing buttons (logout, actions)."""


def strip_nfc(value):
    """WTForms filter: NFC-normalise and strip a string; other values pass through."""
    return nfc(value) if isinstance(value, str) else value
