"""The shared inbox list: filters, search, sort, pages, deadline flags, saved views, bulk actions.

Routes parse the request into ``InboxFilters`` and call ``search_reports``; the
rules live here. Nothing here reads Flask's request.

Definitions used by the filters (one place):

* **awaiting an answer** (``AWAITING_ANSWER``): new, accepted, routed, in progress,
  returned or reopened. Only these reports can be overdue or due soon: once the
  agency has sent its answer (answered, awaiting the lead's approval) or the
  report is closed, the clock stops. The report view (``report`` blueprint) uses
  the same rule.
* **overdue**: awaiting an answer and ``deadline`` (end of the last working day,
  UTC) is before now.
* **due soon**: awaiting an answer, not overdue, and at most ``DUE_SOON_WORKING_DAYS`` working days
  left, counted as ``deadlines.working_days_between(now, deadline)`` (0 = due today).
* **assigned to me** (``assigned=me``): there is no per-person assignment in the
  schema; for a user who belongs to an agency (staff, lead) it means the report's
  *handling* agency is theirs (co-handled reports are in their list but not
  "assigned"). A user without an agency (IOC, admin) gets a notice and no filter.
  **unassigned** (``assigned=unassigned``): no handling agency yet (the IOC's queue).
* **agency** filter: the handling *or* a co-handling agency is the given one;
  ``agency=mine`` is the user's own agency.
* **date range**: ``date_from``/``date_to`` are local calendar dates
  (Asia/Ho_Chi_Minh, ``YYYY-MM-DD``), both inclusive, on the time received.
* **search**: every word of the query must occur at the start of a word of the
  tracking code, title, description, address or ward name, accents, case and đ/d
  aside (the rule and how each database answers it: :mod:`hpsmart.services.search`).
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import DateTime, Select, func, or_, select, type_coerce, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..i18n import LOCAL_TZ, MAX_DATE, MIN_DATE, lazy_gettext as _l
from ..models import (AWAITING_ANSWER, AdministrativeUnit, Agency, Category, Channel, Report, ReportStatus, Role, SavedView,
                      UnitLevel, Urgency, User, utcnow)
from ..text import nfc, printable, vietnamese_sort_key
from . import deadlines, search, workflow
from .visibility import agency_scope, co_handled_by, handled_or_co_handled_by, visible_reports

PAGE_SIZE = 50
# The list counts matching reports up to this many and says "more than" beyond
# (an exact count over a million rows costs about as much as the rest of the page).
COUNT_LIMIT = 10_000
# "Due soon": at most this many working days left (0 = the deadline is today).
DUE_SOON_WORKING_DAYS = 2
# Longest search query kept (characters) and most words matched.
MAX_QUERY_LENGTH = search.MAX_QUERY_LENGTH
MAX_QUERY_WORDS = search.MAX_TERMS
# Longest piece of a bad value repeated in a notice.
_ECHO = 40

SORTS = ("received", "deadline", "updated")
ORDERS = ("asc", "desc")
DUE_VALUES = ("overdue", "due_soon")
ASSIGNED_VALUES = ("me", "unassigned")
MINE = "mine"

# Default direction per sort: newest first, nearest deadline first, latest update first.
DEFAULT_ORDER = {"received": "desc", "deadline": "asc", "updated": "desc"}

SORT_TITLES = {"received": _l("Time received"), "deadline": _l("Deadline"), "updated": _l("Last update")}
ORDER_TITLES = {"asc": _l("Ascending"), "desc": _l("Descending")}
DUE_TITLES = {"overdue": _l("Overdue"), "due_soon": _l("Due soon")}
ASSIGNED_TITLES = {"me": _l("Assigned to my agency"), "unassigned": _l("Unassigned (no agency yet)")}

# Built-in saved views offered to users who belong to an agency: (name, query string).
AGENCY_SUGGESTIONS = ((_l("My agency's overdue"), "agency=mine&due=overdue"),)


def _is_number(value: str, digits: int) -> bool:
    return re.fullmatch(rf"[0-9]{{1,{digits}}}", value) is not None


def echo(value: str, limit: int = _ECHO) -> str:
    """A bad query value as quoted back in a notice: printable, one line, at most ``limit``
    characters (``…`` when cut)."""
    value = " ".join(printable(str(value)).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _getlist(args: Any, key: str) -> list[str]:
    if hasattr(args, "getlist"):
        values = args.getlist(key)
    else:
        raw = args.get(key) if hasattr(args, "get") else None
        values = [] if raw is None else (list(raw) if isinstance(raw, (list, tuple)) else [raw])
    return [v if isinstance(v, str) else str(v) for v in values]


def first_arg(args: Any, key: str) -> str:
    """The first non-blank value of ``key`` in a query-args mapping (a MultiDict or a dict
    of strings or lists), stripped; ``""`` when there is none."""
    values = [v.strip() for v in _getlist(args, key)]
    values = [v for v in values if v]
    return values[0] if values else ""


@dataclass
class InboxFilters:
    """What the inbox list shows, parsed from the URL's query arguments.

    Fields are typed values (``None``/empty: no filter). ``notices`` collects one
    localized message per value that was ignored (unknown, malformed); it never
    takes part in comparisons or in the URL. See the module docstring for the
    meaning of each filter.
    """

    statuses: tuple[ReportStatus, ...] = ()
    category: str | None = None  # Category.code
    agency: int | str | None = None  # Agency.id, or MINE
    unit: str | None = None  # AdministrativeUnit.code of a ward/commune
    channel: Channel | None = None
    urgency: Urgency | None = None
    due: str | None = None  # one of DUE_VALUES
    assigned: str | None = None  # one of ASSIGNED_VALUES
    date_from: date | None = None  # local date, inclusive
    date_to: date | None = None  # local date, inclusive
    q: str = ""
    sort: str = "received"
    order: str = "desc"
    page: int = 1
    notices: list = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> InboxFilters:
        """Parse query arguments; never raises.

        :param args: a werkzeug ``MultiDict`` (``request.args``) or a plain mapping of
            name -> string or list of strings. Names: ``status`` (repeatable),
            ``category``, ``agency``, ``unit``, ``channel``, ``urgency``, ``due``,
            ``assigned``, ``date_from``, ``date_to`` (``YYYY-MM-DD``), ``q``,
            ``sort``, ``order``, ``page``. Empty values mean "no filter".
        :returns: the filters; each bad value is dropped with a notice in ``notices``.
        """
        f = cls()
        statuses = []
        for raw in _getlist(args, "status"):
            raw = raw.strip()
            if not raw:
                continue
            try:
                status = ReportStatus(raw)
            except ValueError:
                f.notices.append(_l("Unknown status “%(value)s” was ignored.", value=echo(raw)))
                continue
            if status not in statuses:
                statuses.append(status)
        f.statuses = tuple(s for s in ReportStatus if s in statuses)

        category = first_arg(args, "category")
        if category:
            if re.fullmatch(r"[a-z0-9_]{1,40}", category):
                f.category = category
            else:
                f.notices.append(_l("Unknown category “%(value)s” was ignored.", value=echo(category)))

        agency = first_arg(args, "agency")
        if agency:
            if agency == MINE:
                f.agency = MINE
            elif _is_number(agency, 10) and 0 < int(agency) < 2**31:
                f.agency = int(agency)
            else:
                f.notices.append(_l("Unknown agency “%(value)s” was ignored.", value=echo(agency)))

        unit = first_arg(args, "unit")
        if unit:
            if _is_number(unit, 10):
                f.unit = unit
            else:
                f.notices.append(_l("Unknown ward or commune “%(value)s” was ignored.", value=echo(unit)))

        channel = first_arg(args, "channel")
        if channel:
            try:
                f.channel = Channel(channel)
            except ValueError:
                f.notices.append(_l("Unknown channel “%(value)s” was ignored.", value=echo(channel)))
        urgency = first_arg(args, "urgency")
        if urgency:
            try:
                f.urgency = Urgency(urgency)
            except ValueError:
                f.notices.append(_l("Unknown urgency “%(value)s” was ignored.", value=echo(urgency)))

        due = first_arg(args, "due")
        if due:
            if due in DUE_VALUES:
                f.due = due
            else:
                f.notices.append(_l("Unknown deadline filter “%(value)s” was ignored.", value=echo(due)))

        assigned = first_arg(args, "assigned")
        if assigned:
            if assigned in ASSIGNED_VALUES:
                f.assigned = assigned
            else:
                f.notices.append(_l("Unknown assignment filter “%(value)s” was ignored.", value=echo(assigned)))

        for name in ("date_from", "date_to"):
            raw = first_arg(args, name)
            if not raw:
                continue
            try:
                day = date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
                setattr(f, name, day if day is not None and MIN_DATE <= day <= MAX_DATE else None)
            except ValueError:
                pass
            if getattr(f, name) is None:
                f.notices.append(_l("“%(value)s” is not a date (year-month-day); it was ignored.",
                                    value=echo(raw)))
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.date_from, f.date_to = f.date_to, f.date_from
            f.notices.append(_l("The start date was after the end date; the two were swapped."))

        f.q, changes = search.clean_query(" ".join(_getlist(args, "q")))
        f.notices.extend(changes)

        sort = first_arg(args, "sort")
        if sort and sort not in SORTS:
            f.notices.append(_l("Unknown sort “%(value)s” was ignored.", value=echo(sort)))
            sort = ""
        f.sort = sort or "received"
        order = first_arg(args, "order")
        if order and order not in ORDERS:
            f.notices.append(_l("Unknown sort order “%(value)s” was ignored.", value=echo(order)))
            order = ""
        f.order = order or DEFAULT_ORDER[f.sort]

        page = first_arg(args, "page")
        if page:
            if _is_number(page, 6) and int(page) > 0:
                f.page = int(page)
            else:
                f.notices.append(_l("“%(value)s” is not a page number; the first page is shown.",
                                    value=echo(page)))
        return f

    def to_query(self, page: int | None = None) -> list[tuple[str, str]]:
        """The filters as query pairs, in a fixed order, defaults left out.

        :param page: page to put in the URL (None: none; 1 is left out).
        :returns: ``[(name, value), ...]`` that ``from_args`` parses back to equal filters.
        """
        pairs: list[tuple[str, str]] = [("status", s.value) for s in self.statuses]
        for name in ("category", "agency", "unit", "channel", "urgency", "due", "assigned"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, value.value if hasattr(value, "value") else str(value)))
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, value.isoformat()))
        if self.q:
            pairs.append(("q", self.q))
        if self.sort != "received":
            pairs.append(("sort", self.sort))
        if self.order_param:
            pairs.append(("order", self.order_param))
        if page is not None and page > 1:
            pairs.append(("page", str(page)))
        return pairs

    def query_string(self, page: int | None = None) -> str:
        """``to_query(page)`` URL-encoded (no leading ``?``; ``""`` for the default list)."""
        return urlencode(self.to_query(page))

    @property
    def order_param(self) -> str:
        """``order`` as the URL carries it: ``""`` when it is the sort's usual direction."""
        return "" if self.order == DEFAULT_ORDER[self.sort] else self.order

    @property
    def active(self) -> bool:
        """True when any filter or search narrows the list (sort and page do not)."""
        return bool(self.statuses or self.q or self.date_from or self.date_to or any(
            getattr(self, n) is not None
            for n in ("category", "agency", "unit", "channel", "urgency", "due", "assigned")))


def filters_from_query_string(query_string: str) -> InboxFilters:
    """Parse a stored query string (a saved view, a form's hidden field) like ``from_args``."""
    args: OrderedDict[str, list[str]] = OrderedDict()
    for key, value in parse_qsl(query_string or "", keep_blank_values=False)[:100]:
        args.setdefault(key, []).append(value)
    return InboxFilters.from_args(args)


@dataclass(frozen=True)
class DeadlineFlag:
    """How a report stands against its deadline, for the list.

    ``state``: ``"overdue"``, ``"due_soon"``, ``"on_time"``, ``"stopped"`` (answered
    or closed: the clock no longer runs) or ``"none"`` (no deadline yet). ``working_days_left``: working days
    from now to the deadline (0 = due today, negative = working days late), None
    without a deadline.
    """

    state: str
    working_days_left: int | None = None

    @property
    def css(self) -> str:
        """``state`` as a CSS class suffix (``due-soon``)."""
        return self.state.replace("_", "-")


def deadline_flag(report: Report | ListRow, now: datetime) -> DeadlineFlag:
    """The ``DeadlineFlag`` of ``report`` (its ``deadline`` and ``status``) at ``now`` (aware
    UTC); rules in the module docstring."""
    if report.deadline is None:
        return DeadlineFlag("none")
    left = deadlines.working_days_between(now, report.deadline)
    if report.status not in AWAITING_ANSWER:
        return DeadlineFlag("stopped", left)
    if report.deadline < now:
        return DeadlineFlag("overdue", min(left, 0))
    if left <= DUE_SOON_WORKING_DAYS:
        return DeadlineFlag("due_soon", left)
    return DeadlineFlag("on_time", left)


def due_soon_bound(now: datetime) -> datetime:
    """First instant (aware UTC) that is *not* "due soon" at ``now``.

    That is local midnight starting the ``DUE_SOON_WORKING_DAYS + 1``-th working day
    after today: a deadline before it has at most ``DUE_SOON_WORKING_DAYS``
    working days left by ``deadlines.working_days_between``.
    """
    today = now.astimezone(LOCAL_TZ).date()
    day = deadlines.nth_working_day_after(today, DUE_SOON_WORKING_DAYS + 1)
    return local_midnight(day)


def local_midnight(day: date) -> datetime:
    """00:00 Asia/Ho_Chi_Minh on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(timezone.utc)


@dataclass
class Page:
    """One page of the inbox list.

    ``items``: the reports as ``ListRow``; ``total``: reports
    matching the filters on all pages, at most ``COUNT_LIMIT``; ``capped``: True when
    more than ``COUNT_LIMIT`` match (``total`` is then ``COUNT_LIMIT`` and the list
    offers only its first ``COUNT_LIMIT / page_size`` pages: narrow the filters to
    see the rest); ``page``: this page's number (1-based, clamped to ``pages``);
    ``pages``: number of pages (at least 1); ``flags``: report id -> ``DeadlineFlag``;
    ``page_size``: reports per page.
    """

    items: list[ListRow]
    total: int
    page: int
    pages: int
    flags: dict[int, DeadlineFlag] = field(default_factory=dict)
    page_size: int = PAGE_SIZE
    capped: bool = False

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page within all results (0 if none)."""
        return (self.page - 1) * self.page_size + 1 if self.items else 0


def _resolve(filters: InboxFilters, user: User) -> dict:
    """Look up codes and "mine"; drop unknown ones from ``filters`` with a notice."""
    resolved: dict[str, Any] = {}
    if filters.category is not None:
        category_id = db.session.scalar(select(Category.id).where(Category.code == filters.category))
        if category_id is None:
            filters.notices.append(_l("Unknown category “%(value)s” was ignored.", value=echo(filters.category)))
            filters.category = None
        else:
            resolved["category_id"] = category_id
    if filters.agency == MINE:
        if user.agency_id is None:
            filters.notices.append(_l("“My agency” needs an account that belongs to an agency; it was ignored."))
            filters.agency = None
        else:
            resolved["agency_id"] = user.agency_id
    elif filters.agency is not None:
        if db.session.get(Agency, filters.agency) is None:
            filters.notices.append(_l("Unknown agency “%(value)s” was ignored.", value=filters.agency))
            filters.agency = None
        else:
            resolved["agency_id"] = filters.agency
    if filters.unit is not None:
        unit_id = db.session.scalar(select(AdministrativeUnit.id).where(AdministrativeUnit.code == filters.unit))
        if unit_id is None:
            filters.notices.append(_l("Unknown ward or commune “%(value)s” was ignored.", value=filters.unit))
            filters.unit = None
        else:
            resolved["unit_id"] = unit_id
    if filters.assigned == "me" and user.agency_id is None:
        filters.notices.append(_l("“Assigned to my agency” needs an account that belongs to an agency; "
                                  "it was ignored."))
        filters.assigned = None
    return resolved


def query_parts(filters: InboxFilters, user: User, now: datetime | None = None, *,
                search_form: str | None = "index") -> list[Select]:
    """The reports ``user`` may see that match ``filters``, as one or two ``select(Report)``
    (unsorted) whose results never overlap and together are the answer.

    "Handled or co-handled by agency X" (the agency filter, and what agency staff may
    see) is split in two: handled by X, and co-handled by X but handled by another (or
    none). Each part then reads its own index (``report(agency_id, created_at)``,
    ``report_co_agency(agency_id)``); as one ``OR`` PostgreSQL misjudged how many rows
    match and read the whole table (bench/bench_inbox.py: 1.1 s at a million reports).

    :param filters: parsed filters; unknown codes are dropped from it with a notice.
    :param user: the person looking (``visibility`` decides what they may see).
    :param now: aware UTC "now" for the deadline filters (default: the current time).
    :param search_form: how the search box's terms are matched: ``"index"`` (through the
        search index), ``"scan"`` (checked on each row read: ``search.conditions``), or
        None to leave the search out.
    """
    now = now or utcnow()
    resolved = _resolve(filters, user)
    query = select(Report)
    if filters.statuses:
        query = query.where(Report.status.in_(filters.statuses))
    if "category_id" in resolved:
        query = query.where(Report.category_id == resolved["category_id"])
    if "unit_id" in resolved:
        query = query.where(Report.admin_unit_id == resolved["unit_id"])
    if filters.channel is not None:
        query = query.where(Report.channel == filters.channel)
    if filters.urgency is not None:
        query = query.where(Report.urgency == filters.urgency)
    if filters.due == "overdue":
        query = query.where(Report.status.in_(AWAITING_ANSWER), Report.deadline < now)
    elif filters.due == "due_soon":
        query = query.where(Report.status.in_(AWAITING_ANSWER), Report.deadline >= now,
                            Report.deadline < due_soon_bound(now))
    if filters.assigned == "me":
        query = query.where(Report.agency_id == user.agency_id)
    elif filters.assigned == "unassigned":
        query = query.where(Report.agency_id.is_(None))
    if filters.date_from is not None:
        query = query.where(Report.created_at >= local_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(Report.created_at < local_midnight(filters.date_to + timedelta(days=1)))
    if search_form is not None:
        query = query.where(*search.conditions(search.terms(filters.q), scan=search_form == "scan"))

    agencies = {resolved["agency_id"]} if "agency_id" in resolved else set()
    scope = agency_scope(user)
    if scope is None:
        query = visible_reports(query, user)
    else:
        agencies.add(scope)
    if len(agencies) == 1:
        (agency_id,) = agencies
        return [query.where(Report.agency_id == agency_id),
                query.where(co_handled_by(agency_id),
                            or_(Report.agency_id != agency_id, Report.agency_id.is_(None)))]
    return [query.where(*(handled_or_co_handled_by(a) for a in sorted(agencies)))]


def _ordering(filters: InboxFilters, value=None, ident=None) -> list:
    """ORDER BY for the sort: the column, then the id (a stable order across pages).

    ``value`` and ``ident``: the sort value's and the id's columns when ordering the rows
    of a subquery (default: ``_sort_value(filters)`` and ``Report.id``).

    Only ``deadline`` can be NULL; it gets NULLS LAST (reports without a deadline at
    the end, either direction). The NOT NULL columns get no NULLS clause: PostgreSQL
    does not see that NULLS LAST is moot on them and would sort the whole table
    instead of reading ``ix_report_created_at``/``ix_report_updated_at`` backwards.
    """
    column = _sort_value(filters) if value is None else value
    ident = Report.id if ident is None else ident
    ordered = column.asc() if filters.order == "asc" else column.desc()
    if filters.sort == "deadline":
        ordered = ordered.nulls_last()
    return [ordered, ident.asc() if filters.order == "asc" else ident.desc()]


#: The co-handled-only part of an agency's list (``query_parts``) is read as rows, not
#: counted, when it holds at most this many reports: its page then comes from them.
IN_HAND_ROWS = 2_000

@dataclass(frozen=True, slots=True)
class ListRow:
    """One report as the inbox list shows it: what a row needs and nothing more (no
    reporter's data), read with one query for the page (``list_rows``).

    :ivar category_name / unit_name / agency_name: display names (the category in the
        reader's language), None when not set.
    :ivar created_at / deadline: aware UTC datetimes (deadline None when not set).
    """

    id: int
    version: int
    tracking_code: str
    title: str
    status: ReportStatus
    urgency: Urgency
    created_at: datetime
    deadline: datetime | None
    category_name: str | None
    unit_name: str | None
    agency_name: str | None


def list_rows(ids: list[int], locale: str = "vi") -> list[ListRow]:
    """The ``ListRow`` of each id, in the order of ``ids`` (ids that no longer exist are
    left out): one query joining category, ward and agency, no ORM objects (building
    50 reports with the ORM cost 4.0 ms of the list's time, these rows 2.3 ms;
    bench/bench_inbox.py).

    :param locale: "en" for the English category names, else Vietnamese.
    """
    if not ids:
        return []
    category_name = Category.name_en if locale == "en" else Category.name_vi
    found = {row.id: ListRow(*row) for row in db.session.execute(
        select(Report.id, Report.version, Report.tracking_code, Report.title, Report.status, Report.urgency,
               Report.created_at, Report.deadline, category_name, AdministrativeUnit.name, Agency.name)
        .outerjoin(Category, Category.id == Report.category_id)
        .outerjoin(AdministrativeUnit, AdministrativeUnit.id == Report.admin_unit_id)
        .outerjoin(Agency, Agency.id == Report.agency_id)
        .where(Report.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _sort_value(filters: InboxFilters):
    """The column the list is sorted by (before the id): ``deadline``, ``updated_at`` or
    ``created_at`` for the sorts "deadline", "updated" and "received"."""
    return {"deadline": Report.deadline, "updated": Report.updated_at}.get(filters.sort, Report.created_at)


def _in_list_order(rows: list, filters: InboxFilters) -> list[int]:
    """Ids of ``rows`` (``(id, sort value)``) in the order of ``_ordering(filters)``: the
    value then the id, both ascending or both descending; a missing value (only a
    deadline can be missing) last either way."""
    descending = filters.order == "desc"
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]), reverse=descending)
    missing = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=descending)
    return [r[0] for r in present + missing]


def _pages(total: int, page_size: int) -> int:
    """How many pages ``total`` reports fill (at least one, for "no reports")."""
    return max(math.ceil(total / page_size), 1)


def _clamp_page(filters: InboxFilters, pages: int) -> None:
    """Past the last page: the last page, with a notice in ``filters.notices``."""
    if filters.page > pages:
        filters.notices.append(_l("There is no page %(page)d; the last page is shown.", page=filters.page))
        filters.page = pages


def _page_through_index(parts: list[Select], filters: InboxFilters, page_size: int) -> tuple[list[int], int]:
    """A page of a search that is not dense (:func:`search.probe`): every match is found
    through the search index (the index form of ``search.conditions`` in ``parts``), the
    database sorts them and counts them in the same statement (``count(*) OVER ()``).

    Reading in the list's order instead would check every report newer than the
    matches, the whole table for matches that are all old (a former ward's name,
    last year's codes); a subquery with ``OFFSET 0`` keeps the database from turning
    the sort back into such a read, and ``search.reading_index`` keeps PostgreSQL from
    finding the matches by a sequential scan.

    :param parts: the searched parts of ``query_parts`` (they never share a report).
    :param filters: its ``page`` is clamped to the last page, with a notice.
    :returns: ``(ids of the page in the list's order, number of matches)``; at most two
        statements (three when the page asked for is past the last one).
    """
    matches = [p.with_only_columns(Report.id.label("id"), _sort_value(filters).label("sort_value")) for p in parts]
    fenced = (matches[0] if len(matches) == 1 else union_all(*matches)).offset(0).subquery()
    ordered = select(fenced.c.id, func.count().over()).order_by(*_ordering(filters, fenced.c.sort_value, fenced.c.id))

    def read(page: int) -> list:
        with search.reading_index():
            return db.session.execute(ordered.limit(page_size).offset((page - 1) * page_size)).all()

    rows = read(filters.page)
    if not rows and filters.page > 1:
        rows = read(1)  # past the end: how many are there?
    count = rows[0][1] if rows else 0
    pages = _pages(min(count, search.COUNT_LIMIT), page_size)
    if filters.page > pages:
        _clamp_page(filters, pages)
        rows = read(filters.page) if filters.page > 1 else rows
    return [row[0] for row in rows], count


def search_reports(filters: InboxFilters, user: User, *, now: datetime | None = None,
                   page_size: int = PAGE_SIZE, locale: str = "vi") -> Page:
    """One page of the reports ``user`` may see that match ``filters``.

    A count up to ``COUNT_LIMIT + 1`` over the parts of ``query_parts``, then the page's
    ids in the list's order (with two parts, each contributes its first ``offset +
    page_size`` ids; a co-handled-only part of at most ``IN_HAND_ROWS`` is read whole
    instead of counted and merged in Python with the first ids of the other), then
    those reports with category, ward and agency joined in (``list_rows``; joining
    after the page is chosen keeps a misjudged row count from turning into a join over
    every match), and at most three small look-ups for codes in the filters.

    With a search (``hpsmart.services.search``): a probe of the newest reports. A dense
    search reads the matches' ids and sort values up to ``search.COUNT_LIMIT + 1``
    (checking rows) instead of a count; when they are all there, the page is cut from
    them, otherwise it is read in the list's order, checking rows. A search that is
    not dense finds every match through the index, sorted and counted by the database
    in one statement (``_page_through_index``). Searches count to ``search.COUNT_LIMIT``.

    :param filters: from ``InboxFilters.from_args``; unknown codes and a page past
        the end are corrected in place, each with a notice in ``filters.notices``.
    :param user: the person looking.
    :param now: aware UTC time for the deadline filters and flags (default: now).
    :param page_size: reports per page.
    :param locale: the reader's language for category names ("vi" or "en").
    :returns: a ``Page`` of ``ListRow``.
    """
    now = now or utcnow()
    found = search.terms(filters.q)
    unsearched = query_parts(filters, user, now, search_form=None)
    probe = search.probe(unsearched, found)
    parts = [part.where(*search.conditions(probe.terms, scan=probe.dense)) for part in unsearched]
    # Count at most limit + 1 rows: an exact count of a million rows costs a full
    # index scan on every request, and "more than 10,000" says as much to a person.
    limit = search.COUNT_LIMIT if found else COUNT_LIMIT
    if found and not probe.dense:
        ids, count = _page_through_index(parts, filters, page_size)
        total, capped = min(count, limit), count > limit
        return _page(ids, total, capped, filters.page, _pages(total, page_size), page_size, now, locale)
    # Read for comparing only: the plain type skips ``UTCDateTime``'s conversion of each
    # of up to thousands of values (about 1 µs each).
    sort_value = type_coerce(_sort_value(filters), DateTime(timezone=True))
    total = 0
    # (id, sort value) rows read instead of counted, per part: every match of a (dense)
    # search, and the co-handled-only part when small (it then needs no query of its
    # own for the page).
    in_hand: dict[int, list] = {}
    with search.reading_rows() if found else nullcontext():
        for index, part in enumerate(parts):
            left = limit + 1 - total
            if found or index > 0:
                # A search keeps what it read (it is all of the part unless the count
                # reached the limit, and then the page is read again); the co-handled part
                # is kept only when read whole, whatever is left of the limit.
                bound = left if found else IN_HAND_ROWS + 1
                rows = db.session.execute(part.with_only_columns(Report.id, sort_value).limit(bound)).all()
                if found or len(rows) <= IN_HAND_ROWS:
                    in_hand[index] = rows
                    total += len(rows)
                    if total > limit:
                        break
                    continue
            counted = part.with_only_columns(Report.id).limit(left).subquery()
            total += db.session.scalar(select(func.count()).select_from(counted)) or 0
            if total > limit:
                break
    capped = total > limit
    total = min(total, limit)
    pages = _pages(total, page_size)
    _clamp_page(filters, pages)
    offset = (filters.page - 1) * page_size
    ordering = _ordering(filters)
    if len(in_hand) == len(parts) and not capped:
        # Every match is in hand (the parts of query_parts never share a report).
        ids = _in_list_order([row for rows in in_hand.values() for row in rows], filters)[offset:offset + page_size]
    elif not found and len(parts) == 2 and 1 in in_hand:
        # The page is among the first offset + page_size of the handled part and the
        # co-handled part's rows in hand.
        top = db.session.execute(parts[0].with_only_columns(Report.id, sort_value).order_by(*ordering)
                                 .limit(offset + page_size)).all()
        ids = _in_list_order(top + in_hand[1], filters)[offset:offset + page_size]
    else:
        if len(parts) == 1:
            page_query = parts[0]
        else:
            # The page is among the first offset + page_size rows of each part, in the same order.
            tops = [p.with_only_columns(Report.id).order_by(*ordering).limit(offset + page_size).subquery()
                    for p in parts]
            union = union_all(*(select(top.c.id) for top in tops)).subquery()
            page_query = select(Report).where(Report.id.in_(select(union.c.id)))
        # A dense search past the limit: read in the list's order, checking rows.
        with search.reading_rows(in_order=True) if found else nullcontext():
            ids = list(db.session.scalars(page_query.with_only_columns(Report.id).order_by(*ordering)
                                          .limit(page_size).offset(offset)))
    return _page(ids, total, capped, filters.page, pages, page_size, now, locale)


def _page(ids: list[int], total: int, capped: bool, page: int, pages: int, page_size: int, now: datetime,
          locale: str) -> Page:
    """The ``Page`` of these ids: their rows (``list_rows``) and deadline flags."""
    items = list_rows(ids, locale)
    flags = {r.id: deadline_flag(r, now) for r in items}
    return Page(items=items, total=total, page=page, pages=pages, flags=flags, page_size=page_size, capped=capped)


# --- the filter form's choices ---------------------------------------------------------------

@dataclass
class FilterOptions:
    """Choices of the filter form, each a list of ``(value, label)`` (values are URL strings)."""

    statuses: list[tuple[str, str]]
    categories: list[tuple[str, str]]
    agencies: list[tuple[str, str]]
    units: list[tuple[str, str]]
    channels: list[tuple[str, str]]
    urgencies: list[tuple[str, str]]
    due: list[tuple[str, str]]
    assigned: list[tuple[str, str]]
    sorts: list[tuple[str, str]]
    orders: list[tuple[str, str]]


def current_agency_choices() -> list[tuple[str, str]]:
    """``[(agency id as str, name), ...]`` of the current agencies (no end of validity), in
    Vietnamese alphabetical order: the agency filter and the bulk "route to" choices."""
    agencies = db.session.execute(select(Agency.id, Agency.name).where(Agency.valid_to.is_(None))).all()
    return [(str(a.id), a.name) for a in sorted(agencies, key=lambda a: vietnamese_sort_key(a.name))]


def filter_options(user: User, locale: str, agencies: list[tuple[str, str]] | None = None) -> FilterOptions:
    """The filter form's choices for ``user`` (labels in ``locale``, 'vi' or 'en').

    Agencies and wards/communes are the current ones, in Vietnamese alphabetical
    order; "My agency" and "Assigned to my agency" only for users with an agency.

    :param agencies: ``current_agency_choices()`` when the caller has it already (the
        list page needs it twice); read here otherwise.
    """
    categories = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.sort_order, Category.id)).all()
    # Plain rows, not ORM objects, and a cached sort key: this runs on every list request
    # (about 230 agencies and wards; bench/bench_inbox.py).
    units = sorted(db.session.execute(select(AdministrativeUnit.code, AdministrativeUnit.name).where(
        AdministrativeUnit.valid_to.is_(None),
        AdministrativeUnit.level.in_([UnitLevel.WARD, UnitLevel.COMMUNE, UnitLevel.SPECIAL_ZONE]))).all(),
        key=lambda u: vietnamese_sort_key(u.name))
    agency_choices = list(agencies) if agencies is not None else current_agency_choices()
    assigned = [("unassigned", str(ASSIGNED_TITLES["unassigned"]))]
    if user.agency_id is not None:
        agency_choices.insert(0, (MINE, str(_l("My agency"))))
        assigned.insert(0, ("me", str(ASSIGNED_TITLES["me"])))
    return FilterOptions(
        statuses=ReportStatus.choices(),
        categories=[(c.code, c.name(locale)) for c in categories],
        agencies=agency_choices,
        units=[(u.code, u.name) for u in units],
        channels=Channel.choices(),
        urgencies=Urgency.choices(),
        due=[(k, str(v)) for k, v in DUE_TITLES.items()],
        assigned=assigned,
        sorts=[(k, str(v)) for k, v in SORT_TITLES.items()],
        orders=[(k, str(v)) for k, v in ORDER_TITLES.items()],
    )


# --- saved views -----------------------------------------------------------------------------

class SavedViewError(ValueError):
    """A saved view cannot be stored; ``str(error)`` is a localized message."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def saved_views(user: User) -> list[SavedView]:
    """``user``'s saved views, by name (Vietnamese order)."""
    views = db.session.scalars(select(SavedView).where(SavedView.user_id == user.id)).all()
    return sorted(views, key=lambda v: vietnamese_sort_key(v.name))


def suggested_views(user: User, existing: Iterable[SavedView] = ()) -> list[tuple[str, str]]:
    """Built-in views offered to ``user`` that they have not saved under the same query.

    Agency staff and leads get "My agency's overdue" (``agency=mine&due=overdue``).

    :returns: ``[(localized name, query string), ...]``.
    """
    if user.agency_id is None or user.role not in (Role.AGENCY_STAFF, Role.AGENCY_LEAD):
        return []
    have = {v.query_string for v in existing}
    return [(str(name), qs) for name, qs in AGENCY_SUGGESTIONS
            if filters_from_query_string(qs).query_string() not in have]


def save_view(user: User, name: str, query_string: str) -> SavedView:
    """Store the list's current filters under ``name`` for ``user`` (flushes).

    :param name: 1-80 characters after NFC normalisation and trimming.
    :param query_string: the list's query string; it is parsed and stored
        normalised, without the page (bad values are dropped).
    :returns: the new ``SavedView``.
    :raises SavedViewError: empty or too long name, or one ``user`` already uses.
    """
    name = " ".join(nfc(name).split())
    if not name:
        raise SavedViewError(_l("Give the view a name."))
    if len(name) > 80:
        raise SavedViewError(_l("The name can have at most %(max)d characters.", max=80))
    if db.session.scalar(select(SavedView.id).where(SavedView.user_id == user.id, SavedView.name == name)):
        raise SavedViewError(_l("You already have a view named “%(name)s”. Choose another name.", name=name))
    view = SavedView(user_id=user.id, name=name, query_string=filters_from_query_string(query_string).query_string())
    try:
        with db.session.begin_nested():
            db.session.add(view)
    except IntegrityError:  # the same name saved a moment ago from another tab
        raise SavedViewError(_l("You already have a view named “%(name)s”. Choose another name.",
                                name=name)) from None
    return view


def delete_view(user: User, view_id: int) -> bool:
    """Delete ``user``'s saved view ``view_id`` (flushes).

    :returns: False when there is no such view of ``user`` (someone else's included).
    """
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        return False
    db.session.delete(view)
    db.session.flush()
    return True


# --- bulk actions ----------------------------------------------------------------------------

# Workflow transitions offered on selected rows (those needing an original report
# or a free-text answer are done one by one in the report view).
BULK_ACTIONS = ("accept", "route", "start", "reject")  # answers are published through the answer panel
# Most reports one bulk request may touch (two pages of the list).
BULK_LIMIT = 2 * PAGE_SIZE

SKIP_REASONS = {
    "state": _l("not possible in its current status"),
    "not_yours": _l("not yours to change"),
    "changed": _l("changed by someone else since the list was loaded"),
    "not_found": _l("not found or not visible to you"),
}


@dataclass
class BulkResult:
    """Outcome of a bulk action: what was done and what was skipped, with why.

    ``done``: tracking codes changed. ``skipped``: ``(tracking code or None, reason
    key, message)`` per skipped report, the key from ``SKIP_REASONS`` or
    ``"refused"`` (the workflow's own message).
    """

    action: str
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str | None, str, str]] = field(default_factory=list)

    def skipped_by_reason(self) -> list[tuple[str, list[str], int]]:
        """Skips grouped by message: ``[(message, [tracking codes], count), ...]`` in first-seen order."""
        groups: OrderedDict[str, list] = OrderedDict()
        for code, _key, message in self.skipped:
            groups.setdefault(message, []).append(code)
        return [(message, [c for c in codes if c], len(codes)) for message, codes in groups.items()]


def bulk_actions_for(user: User) -> list[tuple[str, str]]:
    """Bulk actions ``user``'s role may ever take: ``[(transition name, localized title), ...]``."""
    return [(name, str(workflow.TRANSITIONS[name].title)) for name in BULK_ACTIONS
            if user.can(workflow.TRANSITIONS[name].permission)]


def parse_selection(values: Iterable[str]) -> list[tuple[int, int | None]]:
    """Selected rows from the bulk form: ``"id:version"`` (or ``"id"``) strings.

    :returns: ``[(report id, version seen or None), ...]`` without duplicates,
        malformed values dropped, at most ``BULK_LIMIT``.
    """
    seen: dict[int, int | None] = {}
    for value in values:
        match = re.fullmatch(r"\s*([0-9]{1,10})(?::([0-9]{1,10}))?\s*", value or "")
        if match and int(match.group(1)) not in seen:
            seen[int(match.group(1))] = int(match.group(2)) if match.group(2) else None
    return list(seen.items())[:BULK_LIMIT]


def bulk_apply(user: User, selection: list[tuple[int, int | None]], action: str, *,
               agency: Agency | None = None, reason: str | None = None,
               now: datetime | None = None) -> BulkResult:
    """Apply workflow transition ``action`` to each selected report, independently.

    Each report goes through ``workflow.apply`` inside its own savepoint, so a
    report that fails leaves the others done. Nothing is committed here.

    :param selection: ``[(report id, version the person saw or None), ...]``
        (``parse_selection``); a report whose version moved on is skipped as changed.
    :param action: one of ``BULK_ACTIONS``.
    :param agency: for ``route``: the agency to hand the reports to.
    :param reason: for ``reject``: a ``workflow.REJECT_REASONS`` code.
    :returns: a ``BulkResult``; reports ``user`` may not see are skipped as not found.
    :raises workflow.WorkflowError: unknown action (the caller validates it first).
    """
    if action not in BULK_ACTIONS:
        raise workflow.WorkflowError(_l("Unknown action."))
    transition = workflow.TRANSITIONS[action]
    result = BulkResult(action=action)
    ids = [report_id for report_id, _ in selection]
    reports = {r.id: r for r in db.session.scalars(
        visible_reports(select(Report), user).where(Report.id.in_(ids))
        .options(joinedload(Report.category), joinedload(Report.agency))).unique()}
    for report_id, seen_version in selection:
        report = reports.get(report_id)
        if report is None:
            result.skipped.append((None, "not_found", str(SKIP_REASONS["not_found"])))
            continue
        code = report.tracking_code
        if seen_version is not None and seen_version != report.version:
            result.skipped.append((code, "changed", str(SKIP_REASONS["changed"])))
            continue
        if report.status not in transition.sources:
            result.skipped.append((code, "state", str(SKIP_REASONS["state"])))
            continue
        if not workflow.can(user, report, action):
            result.skipped.append((code, "not_yours", str(SKIP_REASONS["not_yours"])))
            continue
        try:
            with db.session.begin_nested():
                workflow.apply(report, user, action, seen_version=seen_version, agency=agency,
                               reason=reason, now=now)
        except workflow.ConflictError:
            result.skipped.append((code, "changed", str(SKIP_REASONS["changed"])))
        except StaleDataError:
            result.skipped.append((code, "changed", str(SKIP_REASONS["changed"])))
        except workflow.WorkflowError as error:
            result.skipped.append((code, "refused", str(error)))
        else:
            result.done.append(code)
    return result

