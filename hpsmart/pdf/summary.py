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

import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from io import BytesIO
from itertools import chain, islice
from typing import BinaryIO

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from ..charts import Series, bar_chart, column_chart
from ..extensions import db
from ..i18n import current_locale, format_change, format_local_date, format_number, format_rate
from ..i18n import lazy_gettext as _l
from ..models import AdministrativeUnit, Agency, AgencyKind, Category, utcnow
from ..services import statistics as st
from ..text import fold
from . import format as fmt
from . import layout, render_html, render_pdf, write_pdf
from .letterhead import Letterhead, document_context

#: Locale of the document: Vietnamese administrative documents are in Vietnamese.
DOCUMENT_LOCALE = "vi"
#: Default hard limit of the appendix, rows (see ``AppendixLimits``).
APPENDIX_MAX_ROWS = 10_000
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


@dataclass(frozen=True)
class AppendixLimits:
    """How long the appendix (the list of the period's reports) may be, in rows.

    WeasyPrint lays out about 11 ms of CPU per row on a 2-core machine and keeps
    about 150 KB per row in memory until the document is written (bench/RESULTS.md).

    :ivar direct_rows: up to this many rows the document is made while the browser
        waits (``summary_pdf``); longer, by a background job (``write_summary_pdf``).
    :ivar chunk_rows: rows laid out at a time by ``write_summary_pdf``: its memory
        depends on this, not on the length of the list.
    :ivar max_rows: longer lists are refused (``AppendixTooLong``): a document of
        that many rows takes minutes and hundreds of pages.
    """

    direct_rows: int = 300
    chunk_rows: int = 1000
    max_rows: int = APPENDIX_MAX_ROWS

    @classmethod
    def from_config(cls, config: Mapping) -> AppendixLimits:
        """The limits from the settings ``PDF_APPENDIX_DIRECT_ROWS``, ``PDF_APPENDIX_CHUNK_ROWS``
        and ``PDF_APPENDIX_MAX_ROWS`` (missing: the defaults)."""
        default = cls()
        return cls(direct_rows=int(config.get("PDF_APPENDIX_DIRECT_ROWS", default.direct_rows)),
                   chunk_rows=max(1, int(config.get("PDF_APPENDIX_CHUNK_ROWS", default.chunk_rows))),
                   max_rows=int(config.get("PDF_APPENDIX_MAX_ROWS", default.max_rows)))


class AppendixTooLong(ValueError):
    """The appendix would list more reports than allowed here.

    :ivar rows: how many reports the appendix would list.
    :ivar limit: the limit that was passed (``AppendixLimits.direct_rows`` for a
        document made while the browser waits, ``max_rows`` for any document).
    """

    def __init__(self, rows: int, limit: int = APPENDIX_MAX_ROWS):
        super().__init__(f"{rows} rows, more than {limit}")
        self.rows = rows
        self.limit = limit


def _number(value, decimals: int = 0) -> str:
    return format_number(value, decimals, DOCUMENT_LOCALE)


def _percent(rate: float | None) -> str:
    return format_rate(rate, 1, DOCUMENT_LOCALE)


def _change(current, previous) -> str:
    return format_change(st.change(current, previous), 1, DOCUMENT_LOCALE)


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
    result.append(FigureRow(str(_l("Citizens satisfied")), _number(c.satisfied), _number(p.satisfied),
                            _change(c.satisfied, p.satisfied)))
    result.append(FigureRow(str(_l("Citizens not satisfied")), _number(c.not_satisfied), _number(p.not_satisfied),
                            _change(c.not_satisfied, p.not_satisfied)))
    result.append(FigureRow(str(_l("Satisfaction rate")), _percent(c.satisfaction_rate),
                            _percent(p.satisfaction_rate), _points(c.satisfaction_rate, p.satisfaction_rate)))
    return result


def _points(current: float | None, previous: float | None) -> str:
    """Change of a rate in percentage points."""
    if current is None or previous is None:
        return "—"
    diff = (current - previous) * 100
    shown = format_number(abs(diff), 1, DOCUMENT_LOCALE)
    sign = "±" if shown == format_number(0, 1, DOCUMENT_LOCALE) else ("+" if diff > 0 else "−")
    return sign + shown + " " + str(_l("points"))


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


def week_axis_label(row: st.BreakdownRow, locale: str | None = None) -> str:
    """A week row as two lines under its bars: ``Tuần 44`` / ``27/10–02/11`` (``Week 44`` /
    ``27 Oct–2 Nov`` in English); ``locale`` (default: the current one) for the dates."""
    week = int(str(row.key).rsplit("W", 1)[1])
    return str(_l("Week %(week)d", week=week)) + "\n" + st.week_days(row.first_day, row.last_day,
                                                                      locale or current_locale())


def charts(stats: st.Statistics, *, prefix: str = "c", max_rows: int = 12) -> dict:
    """The report's charts as SVG ``Markup``: ``weekly``, ``categories``, ``on_time``
    (texts and numbers in the current locale).

    :param prefix: makes the SVG pattern ids unique in a page holding several sets.
    """
    weeks = stats.by_week
    weekly = column_chart(
        [week_axis_label(w) for w in weeks],
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
                    now: datetime | None = None, appendix_limit: int | None = APPENDIX_MAX_ROWS) -> dict:
    """Everything ``templates/pdf/summary.html`` needs; call inside ``force_locale("vi")``.

    :param start / end: the period, local dates (Asia/Ho_Chi_Minh), both included.
    :param appendix_limit: most rows the appendix may have (None: no limit).
    :raises AppendixTooLong: the appendix would exceed ``appendix_limit``.
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
    previous = st.compute(previous_start, previous_end, filters, now=now, locale=locale, totals_only=True)
    appendix = None
    if options.appendix:
        rows = st.count_received(start, end, filters)
        if appendix_limit is not None and rows > appendix_limit:
            raise AppendixTooLong(rows, appendix_limit)
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
                now: datetime | None = None, fetcher=None, appendix_limit: int | None = -1) -> bytes:
    """The summary report for a period as PDF bytes (A4, Vietnamese), laid out as one
    document while the caller waits; see ``summary_context``.

    :param appendix_limit: most rows of the appendix; the default (-1) is the
        setting ``PDF_APPENDIX_DIRECT_ROWS`` (longer lists: ``write_summary_pdf`` in a
        background job, :mod:`hpsmart.services.jobs`); None: no limit.
    :raises AppendixTooLong: the appendix would exceed ``appendix_limit``.

    Needs an application context.
    """
    if appendix_limit == -1:
        appendix_limit = AppendixLimits.from_config(current_app.config).direct_rows
    with force_locale(DOCUMENT_LOCALE):
        context = summary_context(start, end, filters, options, letterhead=letterhead, now=now,
                                  appendix_limit=appendix_limit)
        return render_pdf("summary.html", fetcher=fetcher, **context)


@dataclass(frozen=True)
class Progress:
    """Where ``write_summary_pdf`` is, for a progress bar. Every figure is counted, none estimated.

    :ivar stage: ``"figures"`` (computing the statistics and the body),
        ``"collecting"`` (reading the next rows of the appendix from the database),
        ``"layout"`` (WeasyPrint laying out a part), ``"writing"`` (joining the parts
        into one file).
    :ivar rows_done: appendix rows laid out and kept so far.
    :ivar rows_total: rows of the appendix (0 without one).
    :ivar pages: pages made so far.
    """

    stage: str
    rows_done: int
    rows_total: int
    pages: int


#: Id prefix of the appendix rows in a part (``templates/pdf/_appendix.html``).
ROW_ANCHOR = "appendix-row-"


def _appendix_lines(start: date, end: date, filters: st.StatFilters, now: datetime) -> Iterator[st.ReportLine]:
    """The appendix's reports in order of receipt, read one local day at a time so that
    only a day's rows are in memory at once (the statistics service's ``report_lines``)."""
    day = start
    while day <= end:
        yield from st.report_lines(day, day, filters, now=now, locale=DOCUMENT_LOCALE)
        day += timedelta(days=1)


def _rows_on(page) -> list[int]:
    """Numbers of the appendix rows that begin on a laid-out page (from their anchors)."""
    return [int(name[len(ROW_ANCHOR):]) for name in page.anchors if name.startswith(ROW_ANCHOR)]


def write_summary_pdf(target: BinaryIO, start: date, end: date, filters: st.StatFilters | None = None,
                      options: SummaryOptions | None = None, *, letterhead: Letterhead | None = None,
                      now: datetime | None = None, limits: AppendixLimits | None = None,
                      progress: Callable[[Progress], None] | None = None) -> int:
    """Write the summary report to ``target`` with an appendix of any allowed length,
    in bounded memory: the background job's way (:mod:`hpsmart.services.jobs`).

    The body and the first ``limits.chunk_rows`` rows of the appendix are laid out as
    one WeasyPrint document, each further ``chunk_rows`` rows (plus those carried over)
    as another (``templates/pdf/appendix_part.html``: the same table, its header row,
    page numbers carried on); the parts are written one by one and joined with pypdf.
    So that no part ends on a half-empty page, the rows that begin on a part's last
    page are laid out again at the top of the next part (one page, about 15 rows, per
    part). Only one part's layout and one day's rows are in memory at a time (a full
    garbage collection after each part frees the last one); the written parts (about
    0.4 KB per row) are kept until they are joined. Peak memory therefore depends on
    ``chunk_rows`` and the body, not on the length of the list (bench/RESULTS.md: the
    same peak for 1,000 and 5,000 rows). Each further part costs a garbage collection,
    a second layout of one page and its share of the joining: parts of 500 rows took
    1.37× WeasyPrint's time for a bare table, one part 1.0×.
    Without ``options.appendix`` this is ``summary_pdf`` written to ``target``.

    :param target: a binary file open for writing (the PDF goes there).
    :param limits: ``AppendixLimits`` (default: from the app's settings).
    :param progress: called with a ``Progress`` at each stage and after each part.
    :returns: the number of pages.
    :raises AppendixTooLong: more rows than ``limits.max_rows``.
    :raises ValueError: a period that ends before it starts.

    Needs an application context; works outside a request (a worker thread, the CLI).
    """
    filters = filters or st.StatFilters()
    options = options or SummaryOptions()
    limits = limits or AppendixLimits.from_config(current_app.config)
    now = now or utcnow()
    report = progress or (lambda _: None)
    with force_locale(DOCUMENT_LOCALE):
        report(Progress("figures", 0, 0, 0))
        total = st.count_received(start, end, filters) if options.appendix else 0
        if total > limits.max_rows:
            raise AppendixTooLong(total, limits.max_rows)
        context = summary_context(start, end, filters, replace(options, appendix=False), letterhead=letterhead,
                                  now=now, appendix_limit=None)
        if not options.appendix:
            document = layout(render_html("summary.html", **context))
            report(Progress("writing", 0, 0, len(document.pages)))
            write_pdf(document, target)
            return len(document.pages)
        with _frozen_heap():
            return _write_parts(target, context, _appendix_lines(start, end, filters, now), total, limits, report)


_freeze_lock = threading.Lock()
_freeze_users = 0


@contextmanager
def _frozen_heap():
    """Within the block, the objects that existed when it began (the application's
    modules, caches, sessions: a few hundred thousand) are left out of garbage
    collections (``gc.freeze``), so the full collection after each part scans only
    what the parts made: 0.7 s instead of 1.5–2 s per part (bench/RESULTS.md). The
    last thread out lets them be collected again (``gc.unfreeze``)."""
    global _freeze_users
    with _freeze_lock:
        if _freeze_users == 0:
            gc.collect()
            gc.freeze()
        _freeze_users += 1
    try:
        yield
    finally:
        with _freeze_lock:
            _freeze_users -= 1
            if _freeze_users == 0:
                gc.unfreeze()


def _write_parts(target: BinaryIO, context: dict, lines: Iterator[st.ReportLine], total: int,
                 limits: AppendixLimits, report: Callable[[Progress], None]) -> int:
    """The body and the appendix in parts, joined into ``target``; see ``write_summary_pdf``."""
    from pypdf import PdfReader, PdfWriter

    carried: list[st.ReportLine] = []
    parts: list[bytes] = []
    number, pages, first = 1, 0, True
    while True:
        report(Progress("collecting", number - 1, total, pages))
        chunk = carried + list(islice(lines, limits.chunk_rows))
        carried = []
        more = next(lines, None)
        if more is not None:
            lines = chain([more], lines)
        report(Progress("layout", number - 1, total, pages))
        if first:
            html = render_html("summary.html", **{**context, "appendix": chunk, "appendix_start": number,
                                                  "appendix_anchors": True})
        else:
            html = render_html("appendix_part.html", lines=chunk, start=number, first_page=pages + 1,
                               localdate=format_local_date)
        document = layout(html)
        kept = document.pages
        if more is not None and len(kept) > 1:
            on_last = _rows_on(kept[-1])
            if on_last and min(on_last) > number:  # a later part takes them, from the top of a page
                carried = chunk[min(on_last) - number:]
                kept = kept[:-1]
        for page in kept:
            page.anchors = {k: v for k, v in page.anchors.items() if not k.startswith(ROW_ANCHOR)}
        parts.append(write_pdf(document.copy(kept)))
        number += len(chunk) - len(carried)
        pages += len(kept)
        first = False
        del document, kept
        if more is None and not carried:
            break
        # A laid-out part is a web of reference cycles that lived long enough to reach
        # the collector's oldest generation, which it scans rarely: without a full
        # collection here the parts pile up (5,000 rows: 584 MB instead of 274 MB).
        gc.collect()
    report(Progress("writing", total, total, pages))
    if len(parts) == 1:
        target.write(parts[0])
        return pages
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(BytesIO(part)))
    metadata = PdfReader(BytesIO(parts[0])).metadata
    if metadata:
        writer.add_metadata({k: v for k, v in metadata.items() if isinstance(v, str)})
    writer.write(target)
    return pages


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


__all__ = ["APPENDIX_MAX_ROWS", "OVERDUE_LIMIT", "AppendixLimits", "AppendixTooLong", "DOCUMENT_LOCALE", "FigureRow",
           "Progress", "SummaryOptions", "write_summary_pdf",
           "charts", "document_agency_rows", "figure_rows", "file_name", "filter_description", "period_phrase",
           "summary_context", "summary_pdf"]
