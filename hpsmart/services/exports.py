"""The dashboard's tables as CSV and XLSX files (issue 6, item 4).

Tables (``TABLES``, in this order; ``slug`` names them in URLs and file names):
key figures against the previous period (``figures``), per agency (``agencies``),
per ward/commune (``units``), per category (``categories``), per channel
(``channels``), per week (``weeks``) and the overdue reports (``overdue``). Every
figure comes from :mod:`hpsmart.services.statistics` — the same ``Statistics``
the dashboard shows — and the columns of the breakdown tables are read from it:
every field of ``Counts`` and every figure-valued property (``on_time_rate``,
``satisfaction_rate``…; the ``*_percent`` roundings are left out), so a figure
added to the service appears in the exports with no change here. Headers are in the
language of the person who asks; the overdue list holds no personal data of
reporters (the service's ``ReportLine``: titles redacted, no reporter fields).

**CSV** (``csv_bytes``), one file per table, as Excel opens it by a double click:
UTF-8 with a byte-order mark (without it Excel reads Vietnamese as Windows-1252),
comma-separated, CRLF line ends, a header row then one row per line of the table.
Numbers with a full stop as decimal mark and no grouping; rates as percentages
(``85.71`` under a header ending in ``(%)``); dates as ISO 8601 (``2026-11-30``),
times as ``2026-11-30 14:05`` (Hai Phong time). A text cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading
apostrophe, so a spreadsheet shows it as text and never runs it as a formula
(OWASP, "CSV Injection").

**XLSX** (``xlsx_bytes``, openpyxl in write-only mode: rows are streamed to the
file, not held as cell objects), one sheet per table plus an "About" sheet
(period, filters, time of the figures, definitions): numbers as numbers (counts
``#,##0``; rates as fractions shown ``0.0%``; working days ``0.0``), dates as
dates (``DD/MM/YYYY``), text as text — a text beginning with ``=`` is stored as a
string cell, not a formula. Header row in bold and frozen.

All text is NFC.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ..extensions import db
from ..i18n import LOCAL_TZ
from ..i18n import lazy_gettext as _l
from ..models import AdministrativeUnit
from ..text import fold, nfc
from . import statistics as st

# Kinds of values: how a cell is written in each format.
TEXT, INT, NUMBER, DAYS, RATE, DATE, DATETIME = "text", "int", "number", "days", "rate", "date", "datetime"

#: Excel number formats per kind.
XLSX_FORMATS = {INT: "#,##0", NUMBER: "#,##0.00", DAYS: "0.0", RATE: "0.0%", DATE: "DD/MM/YYYY",
                DATETIME: "DD/MM/YYYY HH:MM"}

#: Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Labels of the figures; a figure the statistics service gains later is exported under
#: its name made readable until it gets a label here.
LABELS = {
    "received": _l("Reports received"),
    "awaiting_triage": _l("Awaiting triage"),
    "accepted": _l("Accepted by the IOC"),
    "rejected": _l("Rejected"),
    "duplicate": _l("Duplicates"),
    "in_progress": _l("In progress"),
    "answered": _l("Answered"),
    "published": _l("Published"),
    "awaiting_approval": _l("Awaiting approval"),
    "on_time": _l("Answered on time"),
    "late": _l("Answered late"),
    "on_time_rate": _l("On-time rate"),
    "overdue": _l("Overdue now"),
    "timed_answers": _l("Answers with a time to answer"),
    "median_days": _l("Median time to answer (working days)"),
    "p90_days": _l("90th percentile of time to answer (working days)"),
    "satisfied": _l("Citizens satisfied"),
    "not_satisfied": _l("Citizens not satisfied"),
    "verdicts": _l("Citizens' verdicts"),
    "satisfaction_rate": _l("Satisfaction rate"),
}
#: The order of the figures (names not listed follow, in the service's order).
ORDER = tuple(LABELS)
#: ``Statistics`` fields that are not figures of the key-figures table.
_NOT_FIGURES = {"period_start", "period_end", "start_utc", "end_utc", "now", "filters", "totals", "by_status"}

TABLES = ("figures", "agencies", "units", "categories", "channels", "weeks", "overdue")
#: Words of the file names (ASCII, Vietnamese folded), per table.
FILE_WORDS = {"figures": "tong-hop", "agencies": "theo-don-vi", "units": "theo-phuong-xa",
              "categories": "theo-linh-vuc", "channels": "theo-kenh", "weeks": "theo-tuan", "overdue": "qua-han"}
TITLES = {
    "figures": _l("Key figures"),
    "agencies": _l("By agency"),
    "units": _l("By ward or commune"),
    "categories": _l("By category"),
    "channels": _l("By channel"),
    "weeks": _l("By week"),
    "overdue": _l("Overdue reports"),
}


@dataclass(frozen=True)
class Column:
    """A column: its header (display text), the kind of its values, and its width in
    Excel character units. Kind ``None``: each row says (``Table.row_kinds``)."""

    header: str
    kind: str | None
    width: int = 14


@dataclass(frozen=True)
class Table:
    """One table: ``slug`` (``TABLES``), ``title`` (sheet name), columns, rows (a value
    per column: str, int, float, date, datetime or None) and, for columns of kind None,
    the kind of each row's values (``row_kinds``)."""

    slug: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple]
    row_kinds: list[str] = field(default_factory=list)


# --- which figures -------------------------------------------------------------------------

def _is_figure_type(annotation) -> bool:
    return str(annotation).replace(" ", "") in {"int", "float", "int|None", "float|None"}


def _count_measures() -> list[tuple[str, str]]:
    """``(name, kind)`` of every figure of a ``Counts``: its fields, then its figure-valued
    properties (rates and sums; ``*_percent`` are roundings of rates and left out)."""
    names = [(f.name, INT) for f in fields(st.Counts)]
    for name, member in vars(st.Counts).items():
        if isinstance(member, property) and not name.endswith("_percent") and not name.startswith("_"):
            annotation = member.fget.__annotations__.get("return", "")
            if _is_figure_type(annotation):
                names.append((name, RATE if name.endswith("_rate") else INT))
    return _ordered(names)


def _statistics_measures() -> list[tuple[str, str]]:
    """``(name, kind)`` of the period-wide figures of ``Statistics`` besides its totals."""
    names = []
    for f in fields(st.Statistics):
        if f.name in _NOT_FIGURES or not _is_figure_type(f.type):
            continue
        kind = DAYS if f.name.endswith("_days") else RATE if f.name.endswith("_rate") else (
            INT if str(f.type).startswith("int") else NUMBER)
        names.append((f.name, kind))
    return names


def _ordered(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(names, key=lambda item: (rank.get(item[0], len(ORDER)), names.index(item)))


def label(name: str, kind: str) -> str:
    """The header of a figure in the current language; rates end in ``(%)``."""
    text = str(LABELS[name]) if name in LABELS else name.replace("_", " ").capitalize()
    return f"{text} (%)" if kind == RATE else text


# --- the tables ----------------------------------------------------------------------------

def figures_table(current: st.Statistics, previous: st.Statistics) -> Table:
    """Key figures: this period, the previous one, the difference and the relative change.

    For rates the difference is in percentage points (a fraction, shown as a
    percentage) and there is no relative change.
    """
    measures = _ordered([(name, kind) for name, kind in _count_measures()] + _statistics_measures())
    rows, kinds = [], []
    for name, kind in measures:
        source_now = current.totals if hasattr(current.totals, name) else current
        source_before = previous.totals if hasattr(previous.totals, name) else previous
        now, before = getattr(source_now, name), getattr(source_before, name)
        difference = None if now is None or before is None else now - before
        relative = None if kind == RATE else st.change(now, before)
        rows.append((label(name, kind), now, before, difference, relative))
        kinds.append(kind)
    columns = (Column(str(_l("Indicator")), TEXT, 48), Column(str(_l("This period")), None),
               Column(str(_l("Previous period")), None), Column(str(_l("Difference")), None),
               Column(str(_l("Change")) + " (%)", RATE))
    return Table("figures", str(TITLES["figures"]), columns, rows, kinds)


def _measure_columns() -> list[Column]:
    return [Column(label(name, kind), kind, 12) for name, kind in _count_measures()]


def _measure_values(counts: st.Counts) -> tuple:
    return tuple(getattr(counts, name) for name, _ in _count_measures())


def breakdown_table(slug: str, rows: Sequence[st.BreakdownRow], *, unit_codes: dict | None = None) -> Table:
    """A breakdown of ``Statistics`` (``by_agency``, ``by_unit``, ``by_category``,
    ``by_channel``, ``by_week``) with every figure of its ``Counts``.

    :param slug: ``agencies``, ``units``, ``categories``, ``channels`` or ``weeks``.
    :param unit_codes: for ``units``, ``{unit id: official code}`` (a "Code" column).
    """
    measures = _measure_columns()
    if slug == "agencies":
        columns = [Column(str(_l("Agency")), TEXT, 40), Column(str(_l("Former agencies (2022)")), TEXT, 40)]
        values = [(r.label, "; ".join(f"{f.name} ({f.received})" for f in r.former)) for r in rows]
    elif slug == "units":
        columns = [Column(str(_l("Ward/commune")), TEXT, 28), Column(str(_l("Code")), TEXT, 8)]
        values = [(r.label, (unit_codes or {}).get(r.key, "")) for r in rows]
    elif slug == "weeks":
        columns = [Column(str(_l("Week")), TEXT, 10), Column(str(_l("From")), DATE, 12),
                   Column(str(_l("To")), DATE, 12)]
        values = [(str(r.key), r.first_day, r.last_day) for r in rows]
    else:
        heading = {"categories": _l("Category"), "channels": _l("Channel")}[slug]
        columns = [Column(str(heading), TEXT, 30)]
        values = [(r.label,) for r in rows]
    table_rows = [head + _measure_values(r.counts) for head, r in zip(values, rows)]
    return Table(slug, str(TITLES[slug]), tuple(columns + measures), table_rows)


def _local(value: datetime | None) -> datetime | None:
    """A UTC time as a naive Hai Phong time (spreadsheets have no time zones)."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None) if value is not None else None


def overdue_table(lines: Iterable[st.ReportLine]) -> Table:
    """The overdue reports (``statistics.overdue_reports``), longest overdue first. No
    reporter data: the service's lines carry none and their titles are redacted."""
    columns = (Column(str(_l("Tracking code")), TEXT, 16), Column(str(_l("Title")), TEXT, 50),
               Column(str(_l("Category")), TEXT, 24), Column(str(_l("Ward/commune")), TEXT, 24),
               Column(str(_l("Agency")), TEXT, 36), Column(str(_l("Former agency (2022)")), TEXT, 30),
               Column(str(_l("Status")), TEXT, 16), Column(str(_l("Received")), DATETIME, 17),
               Column(str(_l("Deadline")), DATE, 12), Column(str(_l("Working days late")), INT, 12))
    rows = [(x.tracking_code, x.title, x.category, x.unit, x.agency, x.former_agency, x.status.title,
             _local(x.received_at), _local(x.deadline).date() if x.deadline else None, x.working_days_late)
            for x in lines]
    return Table("overdue", str(TITLES["overdue"]), columns, rows)


def unit_codes(rows: Sequence[st.BreakdownRow]) -> dict:
    """``{unit id: official code}`` for the units of a ``by_unit`` breakdown."""
    ids = [r.key for r in rows if r.key is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(AdministrativeUnit.id, AdministrativeUnit.code)
                                   .where(AdministrativeUnit.id.in_(ids))).all())


def summary_tables(current: st.Statistics, previous: st.Statistics,
                   overdue: Iterable[st.ReportLine]) -> list[Table]:
    """Every table of ``TABLES``, in order, from the dashboard's statistics."""
    return [
        figures_table(current, previous),
        breakdown_table("agencies", current.by_agency),
        breakdown_table("units", current.by_unit, unit_codes=unit_codes(current.by_unit)),
        breakdown_table("categories", current.by_category),
        breakdown_table("channels", current.by_channel),
        breakdown_table("weeks", current.by_week),
        overdue_table(overdue),
    ]


def file_name(slug: str, start: date, end: date, extension: str) -> str:
    """``thong-ke-theo-don-vi-2026-11-01-2026-11-30.csv``; ``slug`` None: the whole
    workbook, ``thong-ke-2026-11-01-2026-11-30.xlsx``. ASCII only."""
    words = "thong-ke" + (f"-{FILE_WORDS[slug]}" if slug else "")
    return f"{fold(words)}-{start.isoformat()}-{end.isoformat()}.{extension}"


# --- writing -------------------------------------------------------------------------------

def neutralise(text: str) -> str:
    """A CSV text cell that a spreadsheet will never run as a formula: a leading
    apostrophe before ``=``, ``+``, ``-``, ``@``, tab or carriage return."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _decimal(value: float, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == TEXT:
        return neutralise(nfc(str(value)))
    if kind == INT:
        return str(int(value))
    if kind in (NUMBER, DAYS):
        return _decimal(float(value))
    if kind == RATE:
        return _decimal(float(value) * 100)
    if kind == DATE:
        return value.isoformat()
    if kind == DATETIME:
        return value.strftime("%Y-%m-%d %H:%M")
    raise ValueError(f"unknown kind {kind!r}")


def _kinds(table: Table, index: int) -> list[str]:
    return [column.kind or table.row_kinds[index] for column in table.columns]


def csv_bytes(table: Table) -> bytes:
    """The table as a CSV file for Excel (see the module docstring): UTF-8 with BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(nfc(c.header)) for c in table.columns])
    for index, row in enumerate(table.rows):
        writer.writerow([_csv_value(v, k) for v, k in zip(row, _kinds(table, index))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


#: Characters Excel refuses in sheet names.
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet_title(title: str, taken: set) -> str:
    name = nfc(title).translate(_SHEET_FORBIDDEN)[:31].strip() or "Sheet"
    base, n = name, 2
    while name.casefold() in taken:
        name = f"{base[:28]} {n}"
        n += 1
    taken.add(name.casefold())
    return name


def _xlsx_cell(sheet, value, kind: str) -> WriteOnlyCell:
    if value is None:
        return WriteOnlyCell(sheet)
    if kind == TEXT:
        cell = WriteOnlyCell(sheet, value=nfc(str(value)))
        cell.data_type = "s"  # "=..." stays text: openpyxl would otherwise store a formula
        return cell
    if kind == INT:
        value = int(value)
    elif kind in (NUMBER, DAYS, RATE):
        value = float(value)
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = XLSX_FORMATS[kind]
    return cell


def _write_sheet(workbook: Workbook, title: str, taken: set, headers: Sequence[str], widths: Sequence[int],
                 rows: Iterable[list[tuple[object, str]]]) -> None:
    sheet = workbook.create_sheet(_sheet_title(title, taken))
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=nfc(text))
        cell.data_type = "s"
        cell.font = bold
        cell.alignment = wrap
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value, kind) for value, kind in row])


def xlsx_bytes(tables: Sequence[Table], about: Sequence[tuple[str, object]] = (), *,
               about_title: str = "", title: str = "") -> bytes:
    """The tables as one workbook, a sheet each (in order), then an "About" sheet of
    ``(label, value)`` lines when ``about`` is given.

    :param about_title: the About sheet's name; :param title: the workbook's title property.
    """
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "hpsmart"
    workbook.properties.title = nfc(title)[:255]
    taken: set = set()
    for table in tables:
        _write_sheet(workbook, table.title, taken, [c.header for c in table.columns], [c.width for c in table.columns],
                     (list(zip(row, _kinds(table, index))) for index, row in enumerate(table.rows)))
    if about:
        def kind_of(value):
            if isinstance(value, datetime):
                return DATETIME
            if isinstance(value, date):
                return DATE
            if isinstance(value, bool):
                return TEXT
            if isinstance(value, int):
                return INT
            return TEXT
        _write_sheet(workbook, about_title or "About", taken, ["", ""], [36, 100],
                     ([(name, TEXT), (value, kind_of(value))] for name, value in about))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def about_lines(current: st.Statistics, previous: st.Statistics, filters: Sequence[str], *,
                overdue_shown: int, overdue_total: int) -> list[tuple[str, object]]:
    """The "About" sheet: what the workbook holds, the period, the filters, when the
    figures were computed (Hai Phong time) and the definitions shown on the dashboard."""
    lines: list[tuple[str, object]] = [
        (str(_l("Statistics of citizens' field reports")), "Hải Phòng Smart"),
        (str(_l("From")), current.period_start), (str(_l("To")), current.period_end),
        (str(_l("Previous period")), f"{previous.period_start:%d/%m/%Y} – {previous.period_end:%d/%m/%Y}"),
        (str(_l("Filters")), "; ".join(filters) if filters else str(_l("None"))),
        (str(_l("Figures as of")), _local(current.now)),
    ]
    if overdue_shown < overdue_total:
        lines.append((str(TITLES["overdue"]), str(_l("The first %(shown)s of %(total)s overdue reports; the inbox "
                                                     "lists them all.", shown=overdue_shown, total=overdue_total))))
    for text in st.DEFINITIONS.values():
        lines.append(("", str(text)))
    return lines


__all__ = ["Column", "FORMULA_START", "LABELS", "TABLES", "Table", "about_lines", "breakdown_table", "csv_bytes",
           "figures_table", "file_name", "label", "neutralise", "overdue_table", "summary_tables", "unit_codes",
           "xlsx_bytes"]
