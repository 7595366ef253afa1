"""The summary report (báo cáo) to the city People's Committee, as a PDF.

The document follows Nghị định 30/2020/NĐ-CP, Phụ lục I (see :mod:`hpsmart.pdf.format`
and ``templates/pdf/document.css``) and is always in Vietnamese, whatever the
language of the person who asks for it. Its figures come from
:mod:`hpsmart.services.statistics` (the same as the dashboard's). It never
contains personal data of reporters: the statistics service's report lists do
not carry them, and titles are redacted of the reporter's own name, phone and
e-mail.

Who issues and signs it: :mod:`hpsmart.pdf.letterhead` (settings ``PDF_*``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from babel.numbers import format_decimal
from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import select

from ..charts import Series, bar_chart, column_chart
from ..extensions import db
from ..i18n import format_local_date
from ..models import AdministrativeUnit, Agency, AgencyKind, Category, utcnow
from ..services import statistics as st
from ..text import fold
from . import format as fmt
from . import render_pdf
from .letterhead import Letterhead, document_context

#: Locale of the document: Vietnamese administrative documents are in Vietnamese.
DOCUMENT_LOCALE = "vi"
#: Rows of the appendix beyond which the document is refused (layout takes about
#: 11 ms per row on a 2-core machine: larger lists belong in a background job).
APPENDIX_MAX_ROWS = 2000
#: Overdue reports listed in the document (the longest overdue first); the rest are counted.
OVERDUE_LIMIT = 30


@dataclass(frozen=True)
class SummaryOptions:
    """Choices for one document.

    :ivar number: registration number (empty: left blank for the clerk).
    :ivar issued_on: local date printed in the date line (default: today in Hai Phong).
    :ivar notable_ids: ids of the reports to list as notable, in order; None (the
        default): the reports of the period that staff marked notable (``Report.notable``).
    :ivar appendix: add the list of every report received in the period.
    :ivar signer_*, recipients: override the ``Letterhead`` for this document
        (None: keep it).
    """

    number: str = ""
    issued_on: date | None = None
    notable_ids: tuple[int, ...] | None = None
    appendix: bool = False
    signer_authority: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None
    recipients: tuple[str, ...] | None = None


class AppendixTooLong(ValueError):
    """The appendix would list more than ``APPENDIX_MAX_ROWS`` reports."""

    def __init__(self, rows: int):
        super().__init__(f"{rows} rows")
        self.rows = rows


def _number(value, decimals: int = 0) -> str:
    if value is None:
        return "—"
    if decimals:
        return format_decimal(round(float(value), decimals), format="#,##0.0", locale=DOCUMENT_LOCALE)
    return format_decimal(int(value), format="#,##0", locale=DOCUMENT_LOCALE)


def _percent(rate: float | None) -> str:
    if rate is None:
        return "—"
    return format_decimal(round(rate * 100, 1), format="#,##0.0", locale=DOCUMENT_LOCALE) + "%"


def _change(current, previous) -> str:
    ratio = st.change(current, previous)
    if ratio is None:
        return "—"
    sign = "+" if ratio > 0 else ("−" if ratio < 0 else "±")
    return sign + format_decimal(round(abs(ratio) * 100, 1), format="#,##0.0", locale=DOCUMENT_LOCALE) + "%"


@dataclass(frozen=True)
class FigureRow:
    """One line of the summary table: label, this period, previous period, change (all display text)."""

    label: str
    current: str
    previous: str
    change: str
    level: int = 0


def figure_rows(current: st.Statistics, previous: st.Statistics) -> list[FigureRow]:
    """The summary table rows, this period against the previous one (display strings)."""
    c, p = current.totals, previous.totals
    rows = [
        (_l("Reports received"), c.received, p.received, 0),
        (_l("Awaiting triage"), c.awaiting_triage, p.awaiting_triage, 1),
        (_l("Rejected"), c.rejected, p.rejected, 1),
        (_l("Duplicates"), c.duplicate, p.duplicate, 1),
        (_l("In progress"), c.in_progress, p.in_progress, 1),
        (_l("Answered"), c.answered, p.answered, 1),
        (_l("of which published"), c.published, p.published, 2),
        (_l("Answered on time"), c.on_time, p.on_time, 0),
        (_l("Answered late"), c.late, p.late, 0),
        (_l("Overdue now"), c.overdue, p.overdue, 0),
    ]
    result = [FigureRow(str(label), _number(a), _number(b), _change(a, b), level) for label, a, b, level in rows]
    result.append(FigureRow(str(_l("On-time rate")), _percent(c.on_time_rate), _percent(p.on_time_rate),
                            _points(c.on_time_rate, p.on_time_rate)))
    result.append(FigureRow(str(_l("Median time to answer (working days)")), _number(current.median_days, 1),
                            _number(previous.median_days, 1), _change(current.median_days, previous.median_days)))
    result.append(FigureRow(str(_l("90th percentile of time to answer (working days)")),
                            _number(current.p90_days, 1), _number(previous.p90_days, 1),
                            _change(current.p90_days, previous.p90_days)))
    return result


def _points(current: float | None, previous: float | None) -> str:
    """Change of a rate in percentage points."""
    if current is None or previous is None:
        return "—"
    diff = (current - previous) * 100
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    return sign + format_decimal(round(abs(diff), 1), format="#,##0.0", locale=DOCUMENT_LOCALE) + " " + str(
        _l("points"))


def period_phrase(start: date, end: date) -> str:
    """"tháng 11 năm 2026" for a whole month, else "từ ngày 01/11/2026 đến ngày 15/11/2026" (translated)."""
    if start.day == 1 and st.month_period(start) == (start, end):
        return str(_l("month %(month)s of %(year)d", month=fmt.decree_month(start.month), year=start.year))
    return str(_l("from %(start)s to %(end)s", start=start.strftime("%d/%m/%Y"), end=end.strftime("%d/%m/%Y")))


def filter_description(filters: st.StatFilters, locale: str = DOCUMENT_LOCALE) -> list[str]:
    """Human-readable filters ("Agency: Sở Xây dựng", ...), empty when none."""
    parts = []
    if filters.agency_id is not None:
        agency = db.session.get(Agency, filters.agency_id)
        parts.append(str(_l("Agency: %(name)s", name=agency.name if agency else "?")))
    if filters.admin_unit_id is not None:
        unit = db.session.get(AdministrativeUnit, filters.admin_unit_id)
        parts.append(str(_l("Ward/commune: %(name)s", name=unit.name if unit else "?")))
    if filters.category_id is not None:
        category = db.session.get(Category, filters.category_id)
        parts.append(str(_l("Category: %(name)s", name=category.name(locale) if category else "?")))
    if filters.channel is not None:
        parts.append(str(_l("Channel: %(name)s", name=filters.channel.title)))
    return parts


def document_agency_rows(rows: list[st.BreakdownRow]) -> list[st.BreakdownRow]:
    """The agency table of the document: departments and city bodies one by one, the
    People's Committees of wards, communes and special zones together in one row
    (the ward/commune table gives each of them), "not routed" last.

    Keeps the document short: with a month of reports more than a hundred ward
    committees would each take a row.
    """
    kinds = dict(db.session.execute(select(Agency.id, Agency.kind)).all())
    wards = [r for r in rows if r.key is not None and kinds.get(r.key) == AgencyKind.WARD_COMMITTEE]
    others = [r for r in rows if r not in wards]
    if len(wards) < 2:
        return rows
    merged = st.BreakdownRow(
        key="ward_committees",
        label=str(_l("People's Committees of wards, communes and special zones (%(num)s)", num=len(wards))),
        counts=sum((r.counts for r in wards), st.Counts()),
        former=tuple(f for r in wards for f in r.former))
    known = [r for r in others if r.key is not None] + [merged]
    known.sort(key=lambda r: -r.counts.received)
    return known + [r for r in others if r.key is None]


def charts(stats: st.Statistics, *, prefix: str = "c", max_rows: int = 12) -> dict:
    """The report's charts as SVG ``Markup``: ``weekly``, ``categories``, ``on_time``.

    :param prefix: makes the SVG pattern ids unique in a page holding several sets.
    """
    weeks = stats.by_week
    weekly = column_chart(
        [w.key.split("-")[1] for w in weeks],
        [Series(str(_l("Reports received")), [w.counts.received for w in weeks], "outline"),
         Series(str(_l("Answered")), [w.counts.answered for w in weeks], "hatch")],
        title=str(_l("Reports per week")), chart_id=f"{prefix}-weekly")
    categories = stats.by_category[:max_rows]
    by_category = bar_chart(
        [r.label for r in categories],
        [Series(str(_l("Reports received")), [r.counts.received for r in categories], "solid")],
        title=str(_l("Reports by category")), chart_id=f"{prefix}-category")
    agencies = [r for r in stats.by_agency if r.key is not None][:max_rows]
    on_time = bar_chart(
        [r.label for r in agencies],
        [Series(str(_l("On time")), [r.counts.on_time for r in agencies], "outline"),
         Series(str(_l("Late")), [r.counts.late for r in agencies], "hatch"),
         Series(str(_l("Overdue now")), [r.counts.overdue for r in agencies], "solid")],
        title=str(_l("Answers on time, late and overdue by agency")), chart_id=f"{prefix}-ontime", stacked=True)
    return {"weekly": weekly, "categories": by_category, "on_time": on_time}


def summary_context(start: date, end: date, filters: st.StatFilters | None = None,
                    options: SummaryOptions | None = None, *, letterhead: Letterhead | None = None,
                    now: datetime | None = None) -> dict:
    """Everything ``templates/pdf/summary.html`` needs; call inside ``force_locale("vi")``.

    :param start / end: the period, local dates (Asia/Ho_Chi_Minh), both included.
    :raises AppendixTooLong: the appendix would exceed ``APPENDIX_MAX_ROWS``.
    :raises ValueError: a period that ends before it starts.
    """
    filters = filters or st.StatFilters()
    options = options or SummaryOptions()
    letterhead = letterhead or Letterhead()
    overrides = {k: getattr(options, k) for k in ("signer_authority", "signer_title", "signer_name", "recipients")
                 if getattr(options, k) is not None}
    letterhead = replace(letterhead, **overrides)
    now = now or utcnow()
    issued_on = options.issued_on or st.local_today(now)
    locale = DOCUMENT_LOCALE
    current = st.compute(start, end, filters, now=now, locale=locale)
    previous_start, previous_end = st.previous_period(start, end)
    previous = st.compute(previous_start, previous_end, filters, now=now, locale=locale)
    appendix = None
    if options.appendix:
        rows = st.count_received(start, end, filters)
        if rows > APPENDIX_MAX_ROWS:
            raise AppendixTooLong(rows)
        appendix = st.report_lines(start, end, filters, now=now, locale=locale)
    return {
        **document_context(letterhead, number=options.number, issued_on=issued_on),
        "subject": str(_l("Results of receiving and handling citizens' field reports on Hai Phong Smart")) + " "
        + period_phrase(start, end),
        "period_phrase": period_phrase(start, end),
        "start": start, "end": end,
        "previous_start": previous_start, "previous_end": previous_end,
        "as_of": now,
        "filters": filter_description(filters, locale),
        "stats": current,
        "agency_rows": document_agency_rows(current.by_agency),
        "previous": previous,
        "figures": figure_rows(current, previous),
        "charts": charts(current),
        "overdue": st.overdue_reports(start, end, filters, now=now, locale=locale, limit=OVERDUE_LIMIT),
        "notable": (st.notable_reports(start, end, filters, now=now, locale=locale) if options.notable_ids is None
                    else st.reports_by_id(options.notable_ids, now=now, locale=locale)),
        "appendix": appendix,
        "definitions": st.DEFINITIONS,
        "number": _number,
        "percent": _percent,
        "localdate": format_local_date,
    }


def summary_pdf(start: date, end: date, filters: st.StatFilters | None = None,
                options: SummaryOptions | None = None, *, letterhead: Letterhead | None = None,
                now: datetime | None = None, fetcher=None) -> bytes:
    """The summary report for a period as PDF bytes (A4, Vietnamese); see ``summary_context``.

    Needs an application context. :raises AppendixTooLong: see ``summary_context``.
    """
    with force_locale(DOCUMENT_LOCALE):
        context = summary_context(start, end, filters, options, letterhead=letterhead, now=now)
        return render_pdf("summary.html", fetcher=fetcher, **context)


def file_name(start: date, end: date) -> str:
    """ASCII file name for the download, the Vietnamese words folded:
    ``bao-cao-phan-anh-thang-11-2026.pdf`` for a whole month, else
    ``bao-cao-phan-anh-2026-11-01-den-2026-11-15.pdf``."""
    words = "Báo cáo phản ánh"
    if start.day == 1 and st.month_period(start) == (start, end):
        words += f" tháng {start.month:02d} {start.year}"
    else:
        words += f" {start.isoformat()} đến {end.isoformat()}"
    return "-".join(fold(words).split()) + ".pdf"


__all__ = ["APPENDIX_MAX_ROWS", "OVERDUE_LIMIT", "AppendixTooLong", "DOCUMENT_LOCALE", "FigureRow", "SummaryOptions",
           "charts", "document_agency_rows", "figure_rows", "file_name", "filter_description", "period_phrase",
           "summary_context", "summary_pdf"]
