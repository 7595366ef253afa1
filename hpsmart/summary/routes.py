"""Statistics for the IOC and leads: the dashboard and the PDF report to the People's Committee.

``GET /summary/``: key figures of a period against the previous one, charts,
tables per agency, ward/commune, category, channel and week, the overdue
reports; each number links to the inbox filtered to it where the inbox has that
filter. ``GET /summary/pdf`` and its stable address ``GET /reports/summary.pdf``
(``?from=2026-11-01&to=2026-11-30``, local dates, both included): the PDF report.
Figures come from :mod:`hpsmart.services.statistics`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import format_decimal, get_locale, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..charts import Series, bar_chart
from ..extensions import db
from ..models import AdministrativeUnit, Category, Channel, Report, ReportStatus
from ..pdf.letterhead import letterhead_from_config
from ..pdf.summary import AppendixTooLong, APPENDIX_MAX_ROWS, SummaryOptions, charts, file_name, summary_pdf
from ..permissions import Permission, requires
from ..services import statistics as st
from ..services.inbox import MINE, filter_options
from ..services.visibility import visible_reports
from .forms import PdfOptionsForm, PeriodForm, period_form

bp = Blueprint("summary", __name__)

OVERDUE_ROWS = 50

S = ReportStatus
# Inbox status filters for the figures that are status sets (names as the inbox reads them).
STATUS_LINKS = {
    "awaiting_triage": (S.NEW,),
    "rejected": (S.REJECTED,),
    "duplicate": (S.DUPLICATE,),
    "in_progress": st.IN_PROGRESS_STATUSES,
    "answered": st.ANSWERED_STATUSES,
    "published": (S.PUBLISHED,),
}


@dataclass(frozen=True)
class Query:
    """The parsed period and filters, with the inbox parameters they correspond to."""

    start: date
    end: date
    filters: st.StatFilters
    inbox_params: tuple

    def inbox_url(self, **extra) -> str:
        """The inbox list for this period and filters plus ``extra`` (lists repeat the name)."""
        pairs = list(self.inbox_params)
        for name, value in extra.items():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                pairs.append((name, v.value if hasattr(v, "value") else str(v)))
        return url_for("inbox.index") + "?" + urlencode(pairs)

    def args(self, form) -> dict:
        """Query arguments reproducing this period and filters (for links to the PDF)."""
        values = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for name in ("agency", "unit", "category", "channel"):
            if getattr(form, name).data:
                values[name] = getattr(form, name).data
        return values


def _parse(form: PeriodForm) -> Query:
    """Turn a validated form into a ``Query``.

    Period: both dates as given; only ``from``: to the end of its month; only
    ``to``: from the start of its month; neither: this month (Hai Phong time).
    """
    start, end = form.date_from.data, form.date_to.data
    if start is None and end is None:
        start, end = st.month_period(st.local_today())
    elif end is None:
        end = st.month_period(start)[1]
    elif start is None:
        start = st.month_period(end)[0]
    agency_id = unit_id = category_id = None
    channel = None
    inbox = [("date_from", start.isoformat()), ("date_to", end.isoformat())]
    if form.agency.data:
        agency_id = current_user.agency_id if form.agency.data == MINE else int(form.agency.data)
        inbox.append(("agency", form.agency.data))
    if form.unit.data:
        unit_id = db.session.scalar(select(AdministrativeUnit.id).where(AdministrativeUnit.code == form.unit.data))
        inbox.append(("unit", form.unit.data))
    if form.category.data:
        category_id = db.session.scalar(select(Category.id).where(Category.code == form.category.data))
        inbox.append(("category", form.category.data))
    if form.channel.data:
        channel = Channel(form.channel.data)
        inbox.append(("channel", channel.value))
    filters = st.StatFilters(agency_id=agency_id, admin_unit_id=unit_id, category_id=category_id, channel=channel)
    return Query(start, end, filters, tuple(inbox))


def _locale() -> str:
    return str(get_locale() or "vi")


def _codes(stats: st.Statistics) -> dict:
    """Inbox filter values for breakdown keys: unit id → code, category id → code."""
    unit_ids = [r.key for r in stats.by_unit if r.key is not None]
    category_ids = [r.key for r in stats.by_category if r.key is not None]
    units = dict(db.session.execute(select(AdministrativeUnit.id, AdministrativeUnit.code)
                                    .where(AdministrativeUnit.id.in_(unit_ids))).all()) if unit_ids else {}
    categories = dict(db.session.execute(select(Category.id, Category.code)
                                         .where(Category.id.in_(category_ids))).all()) if category_ids else {}
    return {"unit": units, "category": categories}


def _dashboard(form: PeriodForm, pdf_form: PdfOptionsForm, status: int = 200):
    """The dashboard page with ``status``; an invalid period form shows this month's figures
    beside its messages, with status 422."""
    if form.validate():
        query, used = _parse(form), form
        for f in (form, pdf_form):
            f.date_from.data, f.date_to.data = query.start, query.end
    else:
        status = 422
        used = _blank_form()
        query = _parse(used)
    stats = st.compute(query.start, query.end, query.filters, locale=_locale())
    previous_start, previous_end = st.previous_period(query.start, query.end)
    previous = st.compute(previous_start, previous_end, query.filters, locale=_locale())
    overdue = st.overdue_reports(query.start, query.end, query.filters, limit=OVERDUE_ROWS, locale=_locale())
    chart_set = charts(stats, prefix="d")
    units = stats.by_unit[:15]
    chart_set["units"] = bar_chart([r.label for r in units],
                                   [Series(str(_l("Reports received")), [r.counts.received for r in units], "dots")],
                                   title=str(_l("Wards and communes with the most reports")), chart_id="d-units")
    return render_template(
        "summary/index.html", form=form, pdf_form=pdf_form, query=query, stats=stats, previous=previous,
        previous_start=previous_start, previous_end=previous_end, overdue=overdue, charts=chart_set,
        definitions=st.DEFINITIONS, status_links=STATUS_LINKS, codes=_codes(stats), change=st.change,
        pdf_args=query.args(used), appendix_max=APPENDIX_MAX_ROWS, format_number=format_decimal,
    ), status


def _blank_form() -> PeriodForm:
    form = period_form({}, filter_options(current_user, _locale()))
    form.validate()
    return form


@bp.get("/summary/")
@requires(Permission.VIEW_STATISTICS)
def index():
    """The dashboard for a period (``from``, ``to``) and filters; 422 with the form on bad input."""
    options = filter_options(current_user, _locale())
    form = period_form(request.args, options)
    pdf_form = period_form(request.args, options, PdfOptionsForm)
    return _dashboard(form, pdf_form)


@bp.get("/summary/pdf")
@bp.get("/reports/summary.pdf")
@requires(Permission.VIEW_STATISTICS)
def pdf():
    """The PDF report for the period and filters, as an attachment.

    Options (all optional): ``number``, ``signer_authority``, ``signer_title``,
    ``signer_name``, ``recipients`` (one per line), ``notable`` (tracking codes; empty:
    the reports of the period marked notable),
    ``appendix`` (any non-empty value). Bad input: the dashboard with the
    messages, status 422.
    """
    options = filter_options(current_user, _locale())
    form = period_form(request.args, options, PdfOptionsForm)
    if not form.validate():
        return _dashboard(period_form(request.args, options), form, 422)
    query = _parse(form)
    notable_ids, unknown = _notable(form.notable.data or "")
    if unknown:
        form.notable.errors = [str(_l("Unknown tracking codes: %(codes)s", codes=", ".join(unknown)))]
        return _dashboard(period_form(request.args, options), form, 422)
    recipients = tuple(line for line in (form.recipients.data or "").splitlines() if line.strip()) or None
    choices = SummaryOptions(
        number=form.number.data or "", notable_ids=tuple(notable_ids) if notable_ids else None,
        appendix=bool(form.appendix.data),
        signer_authority=form.signer_authority.data or None, signer_title=form.signer_title.data or None,
        signer_name=form.signer_name.data or None, recipients=recipients)
    try:
        body = summary_pdf(query.start, query.end, query.filters, choices,
                           letterhead=letterhead_from_config(current_app.config))
    except AppendixTooLong as error:
        form.appendix.errors = [str(_l("The appendix would list %(rows)s reports; at most %(max)s fit in one "
                                       "document. Choose a shorter period or filters.",
                                       rows=error.rows, max=APPENDIX_MAX_ROWS))]
        return _dashboard(period_form(request.args, options), form, 422)
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(query.start, query.end)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _notable(raw: str) -> tuple[list[int], list[str]]:
    """Ids of the reports named by tracking codes the user may see, and the codes not found."""
    codes = [c.strip().upper() for c in raw.replace(",", " ").replace(";", " ").split() if c.strip()]
    codes = list(dict.fromkeys(codes))[:50]
    if not codes:
        return [], []
    found = dict(db.session.execute(visible_reports(select(Report.tracking_code, Report.id), current_user)
                                    .where(Report.tracking_code.in_(codes))).all())
    return [found[c] for c in codes if c in found], [c for c in codes if c not in found]
