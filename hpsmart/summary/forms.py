"""Forms of the statistics pages: the period and filters, and the PDF report's options.

Both are GET forms (nothing changes: no CSRF token). Parameter names follow the
stable address of the PDF report, ``/reports/summary.pdf?from=2026-11-01&to=2026-11-30``,
and the inbox's filter names (``agency``, ``unit``, ``category``, ``channel``),
so one query string serves the dashboard, the PDF and the inbox links.
"""
from __future__ import annotations

from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DateRange, Length, Optional, ValidationError

from ..forms import Form, select_choices, strip_nfc
from ..i18n import MAX_DATE, MIN_DATE
from ..i18n import lazy_gettext as _l
from ..services.inbox import MINE

_SUPPORTED = _l("Choose a date between 2000 and 2099.")


class PeriodForm(Form):
    """Period (local dates, both included) and optional filters.

    ``agency`` is an agency id (or ``mine``), ``unit`` a ward/commune code,
    ``category`` a category code, ``channel`` a channel value; choices are set by
    ``period_form``.

    ``scope_agency``: for an account that may see one agency's statistics only
    (:func:`hpsmart.services.visibility.statistics_agency`), that agency's id; then
    ``agency`` offers that agency alone, accepts it, ``mine`` or nothing (all mean
    that agency, and ``agency`` is set to its id), and refuses any other value with
    a message saying why (status 422 on the page).
    """

    scope_agency: int | None = None

    class Meta:
        csrf = False

    date_from = DateField(_l("From"), name="from", format="%Y-%m-%d",
                          validators=[Optional(), DateRange(MIN_DATE, MAX_DATE, message=_SUPPORTED)])
    date_to = DateField(_l("To"), name="to", format="%Y-%m-%d",
                        validators=[Optional(), DateRange(MIN_DATE, MAX_DATE, message=_SUPPORTED)])
    agency = SelectField(_l("Agency"), validators=[Optional()])
    unit = SelectField(_l("Ward/commune"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[Optional()])

    def validate_agency(self, field):
        if self.scope_agency is None:
            return
        if field.data not in (None, "", MINE, str(self.scope_agency)):
            raise ValidationError(_l("Your account shows the statistics of your own agency only; the figures "
                                     "below are your agency's."))
        field.data = str(self.scope_agency)

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end of the period is before its start."))


class PdfOptionsForm(PeriodForm):
    """The period form plus the options of one PDF report (nothing is stored)."""

    number = StringField(_l("Document number (leave empty for the clerk)"), filters=[strip_nfc],
                         validators=[Length(max=20)], render_kw={"maxlength": 20, "inputmode": "numeric"})
    signer_authority = StringField(_l("Signing authority (e.g. KT. GIÁM ĐỐC)"), filters=[strip_nfc],
                                   validators=[Length(max=80)])
    signer_title = StringField(_l("Title of the signer (e.g. PHÓ GIÁM ĐỐC)"), filters=[strip_nfc],
                               validators=[Length(max=80)])
    signer_name = StringField(_l("Name of the signer"), filters=[strip_nfc], validators=[Length(max=120)])
    recipients = TextAreaField(_l("Recipients (one per line)"), filters=[strip_nfc],
                               validators=[Length(max=2000)], render_kw={"rows": 4})
    notable = StringField(_l("Notable reports (tracking codes, separated by commas or spaces)"),
                          filters=[strip_nfc], validators=[Length(max=1000)])
    appendix = BooleanField(_l("Add the list of all reports as an appendix"))


def _with_choices(form, options) -> None:
    form.agency.choices = select_choices([("", _l("All agencies")), *options.agencies])
    form.unit.choices = select_choices([("", _l("All wards and communes")), *options.units])
    form.category.choices = select_choices([("", _l("All categories")), *options.categories])
    form.channel.choices = select_choices([("", _l("All channels")), *options.channels])


def period_form(args, options, form_class=PeriodForm, scope: tuple[int, str] | None = None):
    """A ``PeriodForm`` (or ``PdfOptionsForm``) bound to query arguments.

    :param args: ``request.args``.
    :param options: ``hpsmart.services.inbox.FilterOptions`` (choices, labels localized).
    :param scope: ``(agency id, name)`` when the user may see that agency's statistics
        only (see ``PeriodForm``); None for city-wide.
    """
    form = form_class(formdata=args)
    _with_choices(form, options)
    if scope is not None:
        form.scope_agency = scope[0]
        form.agency.choices = select_choices([(str(scope[0]), scope[1])])
        form.agency.validate_choice = False  # validate_agency says why another agency is refused
        if form.agency.data in (None, "", MINE):
            form.agency.data = str(scope[0])
    return form
