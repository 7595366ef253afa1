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
  GIN index ``ix_report_search_text_trgm`` (migration 0003). Searches for common
  words are slow at a million reports (bench/RESULTS.md): the index finds every match
  and they are sorted for the page.
* SQLite: the FTS5 table ``report_fts`` (migration 0007; external content on
  ``report.search_text``, kept in step by triggers), tokenised as above, queried with
  the phrase-prefix ``"lach tray"*``; the same matches as the ``LIKE`` form, found
  through an index instead of reading every row. A SQLite built without FTS5 (the
  migration then leaves the table out) falls back to the ``LIKE`` form.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, column, select, table, text

from ..extensions import db
from ..models import Report
from ..text import nfc, printable, search_tokens

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
    :returns: e.g. ``terms("Đường  Lạch-Tray")`` → ``["duong", "lach tray"]``.
    """
    found: list[str] = []
    for word in nfc(q).split():
        phrase = " ".join(search_tokens(word))
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


def _like_pattern(term: str) -> str:
    # Terms hold only letters, digits and spaces: nothing to escape for LIKE.
    return f"% {term}%"


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


# A search matching more reports than this reads the list in page order on SQLite
# (see ``conditions``).
COMMON = 2_000


def conditions(found: list[str], *, matches_hint: int | None = None) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``Report`` that are true when every term matches (the rule in
    the module docstring); ``[]`` for no terms.

    :param found: from :func:`terms`.
    :param matches_hint: how many reports the search matches, when the caller has counted
        them. On SQLite, above ``COMMON`` the ids from FTS5 are only checked while the
        reports are read in the page's order (``+id IN``: the first 50 come quickly)
        rather than each looked up and all sorted (1.6 s for "duong" at 200,000 reports;
        bench/bench_inbox.py). The rows found are the same either way.
    """
    if not found:
        return []
    if _fts_available():
        matches = select(_fts.c.rowid).where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(
            fts_query=fts_expression(found)))
        if matches_hint is not None and matches_hint > COMMON:
            return [(Report.id + 0).in_(matches)]
        return [Report.id.in_(matches)]
    return [Report.search_text.like(_like_pattern(t)) for t in found]


def term_matches(term: str) -> ColumnElement[bool]:
    """One term as a ``LIKE`` condition on ``Report.search_text`` (for scoring, e.g.
    counting shared words; the same rule as :func:`conditions`)."""
    return Report.search_text.like(_like_pattern(term))
