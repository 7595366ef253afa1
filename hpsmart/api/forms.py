"""The admin form that issues an API client (used by hpsmart.admin.routes)."""
from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..forms import Form, select_choices, strip_nfc
from ..i18n import lazy_gettext as _l
from ..models import Channel


class ApiClientForm(Form):
    """Name, kind (the city's mobile app or another Open311 client) and rate limit of a new key."""

    name = StringField(_l("Application name"), filters=[strip_nfc], validators=[DataRequired(), Length(max=120)])
    channel = SelectField(_l("Kind of application"), default=Channel.API.value)
    rate_limit = StringField(_l("Rate limit"), filters=[strip_nfc], validators=[Length(max=60)])

    def __init__(self, *args, default_rate_limit: str = "60/minute", **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = select_choices([
            (Channel.APP.value, _l("The Hai Phong Smart mobile app")),
            (Channel.API.value, _l("Another Open311 client")),
        ])
        if not self.rate_limit.data:
            self.rate_limit.data = default_rate_limit
