"""Form pieces shared by every blueprint."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from .text import nfc


class EmptyForm(FlaskForm):
    """A form with only the CSRF token: for state-changing buttons (logout, actions)."""


def strip_nfc(value):
    """WTForms filter: NFC-normalise and strip a string; other values pass through."""
    return nfc(value) if isinstance(value, str) else value


def select_choices(pairs) -> list[SelectChoice]:
    """``[(value, label), ...]`` as WTForms ``SelectChoice`` objects (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]
