"""Search over reports: one rule for the inbox, the public pages and possible duplicates.

The rule (the same on SQLite and PostgreSQL):

* ``Report.search_text`` holds the folded tokens of the tracking code, title,
  description, address and ward name (``hpsmart.text.search_document``:
  ``" hp 2026 000123 duong lach tray ..."``; no accents, lower case, đ → d, runs of
  letters and digits, each after a space).
* A query is split on white space into **terms**; each term is folded and tokenised
  the same way (``"Lạch-Tray"`` → the phrase ``"lach tray"``). A report matches when
  **every** term occurs in its text **at the start of a word**: its tokens in a row,
  the last one possibly cut short (as-you-type: ``duo`` finds "Đường"). So ``ga``
  finds "gà" and "gạch" but not "ngập", and ``000123`` finds the tracking code
  HP-2026-000123.

How each database answers it:

* PostgreSQL: ``search_text LIKE '% lach tray%'`` per term, answered by the pg_trgm
  GIN index ``ix_report_search_text_trgm`` (migration 0003).
* SQLite: the FTS5 table ``report_fts`` (migration 0007; external content on
  ``report.search_text``, kept in step by triggers), tokenised as above, queried with
  the phrase-prefix ``"lach tray"*``; the same matches as the ``LIKE`` form, found
  through an index instead of reading every row. A SQLite built without FTS5 (the
  migration then leaves the table out) falls back to the ``LIKE`` form.

Common words. An index finds *every* match before the first can be shown: for a word
in 8 % of a million reports ("ngập nước") the trigram index alone takes 80–150 ms, and
more to fetch and sort them (bench/bench_inbox.py). When matches are that dense,
reading the reports in the list's own order and checking each one finds a page of 50
after a few hundred rows. So the inbox (``hpsmart.services.inbox.search_reports``):

1. probes (:func:`probe`): of the newest ``PROBE_ROWS`` reports that the other
   filters keep, do at least ``DENSE_HITS`` match? Then the search is *dense*;
2. a dense search counts its matches up to ``COUNT_LIMIT`` + 1 ("more than 500
   reports": a person narrows a search rather than reading 10 pages) by reading rows
   (the ``scan`` form of :func:`conditions` with :func:`reading_rows`: it stops at the
   limit), and reads the page in the list's order, checking rows
   (:func:`reading_rows` with ``in_order=True``) unless every match is in hand;
3. a search that is not dense finds every match through the index
   (:func:`reading_index`), and the database sorts and counts them in one statement
   (``inbox._page_through_index``): such matches may be many but mostly old (a former
   ward's name), and reading in order would check every newer report first.

Every path applies the same rule, so it finds the same reports; only the work differs.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, Select, and_, case, column, func, select, table, text

from ..database import dialect_function
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import Report
from ..text import nfc, printable, search_tokens
from .tracking import normalise_tracking_code

# Longest search query kept (characters) and most words (terms) matched.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 8

FTS_TABLE = "report_fts"
_fts = table(FTS_TABLE, column("rowid"))


def terms(q: str | None) -> list[str]:
    """The terms of a search query: for each white-space separated word of ``nfc(q)``,
    its search tokens joined by one space; words without a letter or digit are
    dropped, repeats removed, at most ``MAX_TERMS``.

    :param q: what the person typed (any Unicode form), or None.
    :returns: e.g. ``terms("Đường  Lạch-Tray")`` → ``["duong", "lach tray"]``; a word
        that is a tracking code in any form ``services.tracking.normalise_tracking_code``
        reads is that code's terms: ``terms("HP-2026-21")`` → ``["hp 2026 000021"]``.
    """
    found: list[str] = []
    for word in nfc(q).split():
        # A tracking code in short form ("HP-2026-21", "hp2026000021") is the code
        # itself, as on the public tracking page: HP-2026-000021.
        code = normalise_tracking_code(word)
        phrase = " ".join(search_tokens(code or word))
        if phrase and phrase not in found:
            found.append(phrase)
    return found[:MAX_TERMS]


def clean_query(raw: str) -> tuple[str, list]:
    """A search box's text as the inbox and the public list keep it: NFC, printable, white
    space collapsed, at most ``MAX_QUERY_LENGTH`` characters and ``MAX_TERMS`` words.

    :param raw: what was typed (already joined if the field repeats).
    :returns: ``(query, notices)``: notices are lazy localized strings, one per change
        made (shortened, words dropped) and one when the query has no letter or digit
        (it then matches everything: nothing is searched).
    """
    notices: list = []
    q = " ".join(nfc(printable(raw)).split())
    if len(q) > MAX_QUERY_LENGTH:
        q = q[:MAX_QUERY_LENGTH].rstrip()
        notices.append(_l("The search was shortened to its first %(num)d characters.", num=MAX_QUERY_LENGTH))
    if len(q.split()) > MAX_TERMS:
        q = " ".join(q.split()[:MAX_TERMS])
        notices.append(_l("Only the first %(num)d words of the search are used.", num=MAX_TERMS))
    if q and not terms(q):
        notices.append(_l("The search has no letter or digit, so it finds nothing more specific: "
                          "every report is listed."))
    return q, notices


_fts_by_database: dict[str, bool] = {}


def _fts_available() -> bool:
    """True when the session's database is SQLite and has the FTS5 table (looked up once
    per database URL and process)."""
    engine = db.session.get_bind().engine
    if engine.dialect.name != "sqlite":
        return False
    key = str(engine.url)
    if key not in _fts_by_database:
        with engine.connect() as conn:
            _fts_by_database[key] = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE}).first() is not None
    return _fts_by_database[key]


def fts_expression(found: list[str]) -> str:
    """The FTS5 MATCH expression for ``terms``: ``"duong"* AND "lach tray"*``."""
    return " AND ".join(f'"{t}"*' for t in found)


#: Searches count their matches up to this many; beyond, the list says "more than 500
#: reports" and offers its first 10 pages, and the person narrows the search (lists
#: without a search count further: ``inbox.COUNT_LIMIT``). Counting costs a read of
#: ``COUNT_LIMIT`` ÷ density rows for a dense search: at 1 % density, 50,000 rows, about
#: 40 ms at a million reports (bench/bench_inbox.py); counting all 75,000 matches of
#: "ngập nước" would cost more than the rest of the page.
COUNT_LIMIT = 500
#: The probe (:func:`probe`): this many of the newest reports the other filters keep ...
PROBE_ROWS = 2_000
#: ... of which at least this many match (1 %): reading in page order then finds a page
#: of 50 within about 5,000 rows, and ``COUNT_LIMIT`` matches within 50,000 (about 40 ms
#: at a million reports, less than the trigram index takes for such words).
DENSE_HITS = 20


def conditions(found: list[str], *, scan: bool = False) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``Report`` that are true when every term matches (the rule in
    the module docstring); ``[]`` for no terms.

    :param found: from :func:`terms`.
    :param scan: the form to check rows one by one while reading them in some order
        (``text_position(search_text, ' term') > 0``, which no index answers: see the
        module docstring); otherwise
        the form a search index answers (FTS5 on SQLite, the trigram index on
        PostgreSQL). Both forms find the same reports.
    """
    if not found:
        return []
    if scan:
        return [text_position(Report.search_text, " " + t) > 0 for t in found]
    if _fts_available():
        return [Report.id.in_(select(_fts.c.rowid).where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(
            fts_query=fts_expression(found))))]
    return [_term_like(t) for t in found]


text_position = dialect_function(
    "text_position", Integer(), """``text_position(haystack, needle)``: the 1-based position of ``needle`` in
    ``haystack``, 0 when absent (PostgreSQL ``strpos``, SQLite ``instr``). ``> 0`` is the
    same test as ``LIKE '%needle%'`` for needles without wildcards, about 2.5 times
    faster per row on PostgreSQL (a plain substring search; bench/bench_inbox.py), and
    no index answers it, which :func:`reading_rows` relies on.""",
    postgresql=lambda arguments: f"strpos({arguments})", sqlite=lambda arguments: f"instr({arguments})")


@dataclass(frozen=True)
class Probe:
    """What :func:`probe` found: ``dense`` (see there) and the ``terms`` ordered from the
    fewest matches among the rows probed to the most, so that a row that fails is
    rejected by its first check (``duong nguyen dinh chieu`` checks "chieu" first)."""

    dense: bool
    terms: list[str]


def probe(queries: list[Select], found: list[str]) -> Probe:
    """Whether a search's matches are dense among the reports ``queries`` select: at least
    ``DENSE_HITS`` matches among the newest ``PROBE_ROWS`` of them (summed over the
    queries; one indexed read of at most ``PROBE_ROWS`` rows each, 2–5 ms).

    :param queries: ``select(Report)`` statements with every filter but the search
        (``inbox.query_parts``).
    :param found: the search's terms (:func:`terms`); none: not dense.
    :returns: a :class:`Probe`.
    """
    if not found:
        return Probe(False, [])
    hits = 0
    per_term = [0] * len(found)
    for query in queries:
        newest = (query.with_only_columns(Report.search_text).order_by(Report.created_at.desc())
                  .limit(PROBE_ROWS).subquery())
        checks = [text_position(newest.c.search_text, " " + t) > 0 for t in found]
        row = db.session.execute(select(
            func.coalesce(func.sum(case((and_(*checks), 1), else_=0)), 0),
            *(func.coalesce(func.sum(case((check, 1), else_=0)), 0) for check in checks)).select_from(newest)).one()
        hits += int(row[0])
        per_term = [a + int(b) for a, b in zip(per_term, row[1:])]
    order = sorted(range(len(found)), key=lambda i: (per_term[i], i))
    return Probe(hits >= DENSE_HITS, [found[i] for i in order])


# PostgreSQL planner settings while rows are read and checked (``reading_rows``), and
# while matches are read through the search index (``reading_index``).
_SCAN_SETTINGS = {"enable_bitmapscan": "off", "jit": "off", "max_parallel_workers_per_gather": "0"}
_IN_ORDER_SETTINGS = {**_SCAN_SETTINGS, "enable_seqscan": "off"}
_INDEX_SETTINGS = {"enable_seqscan": "off", "jit": "off", "max_parallel_workers_per_gather": "0"}


@contextmanager
def reading_rows(*, in_order: bool = False) -> Iterator[None]:
    """Statements run inside read reports and check the search on each (the ``scan`` form
    of :func:`conditions`) instead of asking the trigram index for every match.

    On PostgreSQL, for the statements inside and within the current transaction only
    (``set_config(..., is_local => true)``, the previous values put back on the way
    out): no bitmap scans (the only way the GIN index is read), and with ``in_order``
    no sequential scans either, so that the page is read through the index of its
    sort (e.g. ``ix_report_created_at``) and reading stops after the page; no JIT
    compilation and no parallel workers, which cost more than such a read (at a
    million reports JIT added 350 ms, two workers 50–100 ms, EXPLAIN ANALYZE). The
    planner cannot tell a dense search from a rare one by itself: the row estimates of
    a word search are rough (a word missing from the statistics' sample is taken for
    rare).
    Nothing on SQLite: its planner already reads in the ``ORDER BY`` index when no
    index serves the ``WHERE``.
    """
    with _planner(_IN_ORDER_SETTINGS if in_order else _SCAN_SETTINGS):
        yield


@contextmanager
def reading_index() -> Iterator[None]:
    """Statements run inside find a search's matches through the search index (the
    index form of :func:`conditions`), never by a sequential scan: for a search that is
    not dense (:func:`probe`).

    Why: the planner, expecting many matches (a word frequent in its statistics), reads
    the table in sequence and stops at the statement's ``LIMIT``; but PostgreSQL starts a
    sequential scan of a large table where the last one left off
    (``synchronize_seqscans``), so how far it reads depends on earlier requests: a
    search whose 43,000 matches are all old ("HP-2024") took 28 ms through the index and
    0.3 or 1,150 ms by the sequential scan, by turns (bench/bench_inbox.py). On
    PostgreSQL for the current transaction only, as :func:`reading_rows`; nothing on
    SQLite (its FTS5 table is the index).
    """
    with _planner(_INDEX_SETTINGS):
        yield


@contextmanager
def _planner(settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL planner ``settings`` for the statements inside, local to the current
    transaction, the previous values put back on the way out; nothing on SQLite."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    names = list(settings)
    previous = db.session.execute(text("SELECT " + ", ".join(f"current_setting(:n{i})" for i in range(len(names)))),
                                  {f"n{i}": name for i, name in enumerate(names)}).one()
    _set_local(dict(zip(names, [settings[n] for n in names])))
    try:
        yield
    finally:
        _set_local(dict(zip(names, previous)))


def _set_local(values: dict[str, str]) -> None:
    """``set_config(name, value, is_local => true)`` for each pair, in one statement."""
    params = {}
    calls = []
    for i, (name, value) in enumerate(values.items()):
        params[f"n{i}"], params[f"v{i}"] = name, value
        calls.append(f"set_config(:n{i}, :v{i}, true)")
    db.session.execute(text("SELECT " + ", ".join(calls)), params)


def _term_like(term: str) -> ColumnElement[bool]:
    """One term as ``search_text LIKE '% term%'``: the index form of :func:`conditions`
    where FTS5 is not there (the trigram index answers it on PostgreSQL). Terms hold only
    letters, digits and spaces: nothing to escape for ``LIKE``."""
    return Report.search_text.like(f"% {term}%")
