"""Statistics for the IOC and leads: the dashboard and the PDF report to the People's Committee.

``GET /summary/``: key figures of a period against the previous one, charts, a
map of reports by ward/commune, tables per agency, ward/commune, category,
channel and week, the overdue reports; each number links to the inbox filtered
to it where the inbox has that filter. ``GET /summary/pdf`` and its stable
address ``GET /reports/summary.pdf`` (``?from=2026-11-01&to=2026-11-30``, local
dates, both included): the PDF report. Figures come from
:mod:`hpsmart.services.statistics`.

Who sees what (:func:`hpsmart.services.visibility.statistics_agency`): IOC
operators and admins, the whole city, with any agency filter. An agency lead,
their own agency only (the reports of the 2022 agencies it took over included):
the agency filter is fixed to it on the dashboard, the overdue list and the PDF;
asking for another agency (``agency=<other id>``) answers 422 with the form saying
so and the figures of their own agency (not 403: the page is theirs, only the
filter is wrong). A lead without an agency gets 403.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from ..charts import MapPoint, Series, bar_chart, bubble_map
from ..extensions import db
from ..i18n import format_number
from ..i18n import lazy_gettext as _l
from ..models import AdministrativeUnit, Agency, Category, Channel, Report, ReportStatus
from ..pdf.letterhead import letterhead_from_config
from ..pdf.summary import AppendixLimits, AppendixTooLong, SummaryOptions, charts, file_name, summary_pdf
from ..permissions import Permission, requires
from ..services import statistics as st
from ..services.inbox import MINE, filter_options
from ..services.visibility import NoStatisticsScope, statistics_agency, visible_reports
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


def _scope() -> tuple[int, str] | None:
    """``(agency id, name)`` the current user's statistics are limited to, None for the
    whole city; 403 for an account with no statistics (see the module docstring)."""
    try:
        agency_id = statistics_agency(current_user)
    except NoStatisticsScope:
        abort(403)
    if agency_id is None:
        return None
    agency = db.session.get(Agency, agency_id)
    return agency_id, agency.name if agency is not None else str(agency_id)


def _parse(form: PeriodForm) -> Query:
    """Turn a validated form into a ``Query``.

    Period: both dates as given; only ``from``: to the end of its month; only
    ``to``: from the start of its month; neither: this month (Hai Phong time).
    A form with ``scope_agency`` (an agency lead's) always filters on that agency;
    its inbox links say ``agency=mine``.
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
    if form.scope_agency is not None:
        agency_id = form.scope_agency
        inbox.append(("agency", MINE))
    elif form.agency.data:
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


def _map(stats: st.Statistics, query: Query, unit_codes: dict):
    """The map of reports by ward/commune (``charts.bubble_map``) and how many units with
    reports could not be placed (none of their reports has coordinates).

    :returns: ``(Markup or None when no unit can be placed, count not placed)``.
    """
    positions = st.unit_positions(query.start, query.end, query.filters)
    points, missing = [], 0
    for row in stats.by_unit:
        if row.key is None:
            continue
        position = positions.get(row.key)
        if position is None:
            missing += 1
            continue
        code = unit_codes.get(row.key)
        points.append(MapPoint(
            label=row.label, latitude=position.latitude, longitude=position.longitude, value=row.counts.received,
            href=query.inbox_url(unit=code) if code else None,
            description=str(_l("%(name)s: %(num)s reports received", name=row.label,
                               num=format_number(row.counts.received)))))
    if not points:
        return None, missing
    return bubble_map(points, title=str(_l("Reports received by ward or commune")), chart_id="d-map",
                      legend_title=str(_l("Reports received"))), missing


def _dashboard(form: PeriodForm, pdf_form: PdfOptionsForm, scope: tuple[int, str] | None, status: int = 200):
    """The dashboard page with ``status``; an invalid period form shows this month's figures
    (within the user's scope) beside its messages, with status 422."""
    if form.validate():
        query, used = _parse(form), form
        for f in (form, pdf_form):
            f.date_from.data, f.date_to.data = query.start, query.end
    else:
        status = 422
        used = _blank_form(scope)
        query = _parse(used)
    stats = st.compute(query.start, query.end, query.filters, locale=_locale())
    previous_start, previous_end = st.previous_period(query.start, query.end)
    previous = st.compute(previous_start, previous_end, query.filters, locale=_locale(), totals_only=True)
    overdue = st.overdue_reports(query.start, query.end, query.filters, limit=OVERDUE_ROWS, locale=_locale())
    chart_set = charts(stats, prefix="d")
    units = stats.by_unit[:15]
    chart_set["units"] = bar_chart([r.label for r in units],
                                   [Series(str(_l("Reports received")), [r.counts.received for r in units], "dots")],
                                   title=str(_l("Wards and communes with the most reports")), chart_id="d-units")
    codes = _codes(stats)
    unit_map, unplaced = _map(stats, query, codes["unit"])
    return render_template(
        "summary/index.html", form=form, pdf_form=pdf_form, query=query, stats=stats, previous=previous,
        previous_start=previous_start, previous_end=previous_end, overdue=overdue, charts=chart_set,
        definitions=st.DEFINITIONS, status_links=STATUS_LINKS, codes=codes, change=st.change,
        pdf_args=query.args(used), appendix_max=AppendixLimits.from_config(current_app.config).max_rows, scope=scope, unit_map=unit_map,
        unplaced_units=unplaced,
    ), status


def _blank_form(scope: tuple[int, str] | None) -> PeriodForm:
    form = period_form({}, filter_options(current_user, _locale()), scope=scope)
    form.validate()
    return form


@bp.get("/summary/")
@requires(Permission.VIEW_STATISTICS)
def index():
    """The dashboard for a period (``from``, ``to``) and filters; 422 with the form on bad input
    (another agency than their own for a lead included)."""
    scope = _scope()
    options = filter_options(current_user, _locale())
    form = period_form(request.args, options, scope=scope)
    pdf_form = period_form(request.args, options, PdfOptionsForm, scope=scope)
    return _dashboard(form, pdf_form, scope)


@bp.get("/summary/pdf")
@bp.get("/reports/summary.pdf")
@requires(Permission.VIEW_STATISTICS)
def pdf():
    """The PDF report for the period and filters, as an attachment.

    Options (all optional): ``number``, ``signer_authority``, ``signer_title``,
    ``signer_name``, ``recipients`` (one per line), ``notable`` (tracking codes; empty:
    the reports of the period marked notable),
    ``appendix`` (any non-empty value). Bad input (another agency than their own for
    a lead included): the dashboard with the messages, status 422.
    """
    scope = _scope()
    options = filter_options(current_user, _locale())
    form = period_form(request.args, options, PdfOptionsForm, scope=scope)
    if not form.validate():
        return _dashboard(period_form(request.args, options, scope=scope), form, scope, 422)
    query = _parse(form)
    notable_ids, unknown = _notable(form.notable.data or "")
    if unknown:
        form.notable.errors = [str(_l("Unknown tracking codes: %(codes)s", codes=", ".join(unknown)))]
        return _dashboard(period_form(request.args, options, scope=scope), form, scope, 422)
    recipients = tuple(line for line in (form.recipients.data or "").splitlines() if line.strip()) or None
    choices = SummaryOptions(
        number=form.number.data or "", notable_ids=tuple(notable_ids) if notable_ids else None,
        appendix=bool(form.appendix.data),
        signer_authority=form.signer_authority.data or None, signer_title=form.signer_title.data or None,
        signer_name=form.signer_name.data or None, recipients=recipients)
    try:
        body = summary_pdf(query.start, query.end, query.filters, choices,
                           letterhead=letterhead_from_config(current_app.config))
    except AppendixTooLong as error:  # exports: longer appendices are made by a background job (exports.py)
        from .exports import long_appendix

        return long_appendix(form, error.rows, scope)
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
