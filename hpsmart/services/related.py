"""Related reports and possible duplicates of a report (issue 4, item 4).

*Related*: the original a duplicate points to, and the reports marked as duplicates
of this one. *Possible duplicates*: other reports, received within ``DUPLICATE_WINDOW``
before or after this one, of the same category or the same ward/commune, and not
themselves marked duplicate, that either

* have the same category and a map point within ``DUPLICATE_RADIUS_M`` metres, or
* share at least ``MIN_SHARED_WORDS`` significant words in the title, compared folded
  (accents and case removed, đ → d; ``hpsmart.text.fold``).

The time window applies to both rules, so the query reads one index range
(``report.created_at``) whatever the size of the table. Both rules are narrowed in SQL
(a bounding box; words at the start of a word of ``search_text``, :mod:`hpsmart.services.search`)
and confirmed in Python.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, func, literal, or_, select

from ..extensions import db
from ..models import Report, ReportStatus, User
from ..text import fold
from . import search
from .visibility import visible_reports

DUPLICATE_RADIUS_M = 300  # metres
DUPLICATE_WINDOW = timedelta(days=14)
MIN_SHARED_WORDS = 2
# How many rows the SQL narrowing may hand to the Python check.
_CANDIDATE_ROWS = 200
EARTH_RADIUS_M = 6_371_000
# Folded syllables too common in titles to say two reports are about the same thing.
STOP_WORDS = frozenset("""
    va la cua o tai tren duoi trong ngoai cho khong co bi da dang rat nhieu cac nhung mot hai
    nay do den tu voi ve khu vuc so nha truoc sau gan ben canh phuong xa dac duong pho ngo ngach
    kiet hem thon to dan quan huyen thanh hp hai phong gay bi lam can de nguoi dan xin de nghi
    phan anh kien nghi tinh trang hien
""".split())
_WORD = re.compile(r"\w+")


def significant_words(title: str) -> set[str]:
    """Folded words of ``title`` that count for similarity: 2+ characters, not in
    ``STOP_WORDS``, not only digits. ``"Ổ gà trên đường Lạch Tray"`` gives
    ``{"ga", "lach", "tray"}``."""
    return {w for w in _WORD.findall(fold(title))
            if len(w) >= 2 and w not in STOP_WORDS and not w.isdigit()}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    """A possible duplicate: the report, its distance in metres (None: no map point or
    another category) and the significant title words it shares with the report."""

    report: Report
    distance_m: float | None
    shared_words: frozenset


def possible_duplicates(report: Report, user: User, limit: int = 5) -> list[Candidate]:
    """Up to ``limit`` possible duplicates of ``report`` that ``user`` may see.

    Order: nearby same-category reports first (nearest first), then by the number of
    shared title words, then by closeness in time to ``report.created_at``.

    The SQL narrowing reads only the columns the Python check needs, for at most
    ``_CANDIDATE_ROWS`` rows; the ``limit`` kept are then loaded whole (a report view
    no longer builds 200 full ``Report`` objects to show five).

    :returns: ``Candidate`` objects, best first; ``[]`` when neither rule can apply
        (no map point or category, and fewer than ``MIN_SHARED_WORDS`` significant
        title words).
    """
    start, end = report.created_at - DUPLICATE_WINDOW, report.created_at + DUPLICATE_WINDOW
    words = sorted(significant_words(report.title))[:12]
    rules = []
    has_point = report.latitude is not None and report.longitude is not None
    if has_point and report.category_id is not None:
        dlat = DUPLICATE_RADIUS_M / 111_320
        dlon = DUPLICATE_RADIUS_M / (111_320 * max(math.cos(math.radians(report.latitude)), 0.01))
        rules.append(and_(Report.category_id == report.category_id,
                          Report.latitude.between(report.latitude - dlat, report.latitude + dlat),
                          Report.longitude.between(report.longitude - dlon, report.longitude + dlon)))
    if len(words) >= MIN_SHARED_WORDS:
        # The scan form of the search rule: every row of the window is checked anyway,
        # and strpos/instr costs less per row than LIKE (search.text_position).
        hits = sum((case((search.conditions([w], scan=True)[0], 1), else_=0) for w in words), literal(0))
        rules.append(hits >= MIN_SHARED_WORDS)
    # Candidates share the category or the ward/commune: two index ranges
    # (category_id, created_at) and (admin_unit_id, created_at) instead of every report
    # of four weeks (bench/bench_inbox.py: 0.3-0.4 s at a million reports).
    # The window is repeated inside each branch so that SQLite's OR optimisation reads
    # each index as a range too.
    neighbours = [and_(column == value, Report.created_at.between(start, end))
                  for column, value in ((Report.category_id, report.category_id),
                                        (Report.admin_unit_id, report.admin_unit_id))
                  if value is not None]
    if not rules or not neighbours:
        return []
    query = visible_reports(select(Report.id, Report.category_id, Report.latitude, Report.longitude,
                                   Report.title, Report.created_at), user).where(
        Report.id != report.id, Report.created_at.between(start, end), or_(*neighbours),
        Report.status != ReportStatus.DUPLICATE, or_(*rules))
    if report.duplicate_of_id is not None:
        query = query.where(Report.id != report.duplicate_of_id)
    gap = func.abs(func.julianday(Report.created_at) - func.julianday(report.created_at)) \
        if db.session.get_bind().dialect.name == "sqlite" \
        else func.abs(func.extract("epoch", Report.created_at - report.created_at))
    rows = db.session.execute(query.order_by(gap, Report.id).limit(_CANDIDATE_ROWS)).all()

    mine = set(words)
    kept = []
    for other in rows:
        distance = None
        if has_point and other.category_id == report.category_id and other.latitude is not None \
                and other.longitude is not None:
            d = distance_m(report.latitude, report.longitude, other.latitude, other.longitude)
            distance = d if d <= DUPLICATE_RADIUS_M else None
        shared = frozenset(mine & significant_words(other.title))
        if distance is None and len(shared) < MIN_SHARED_WORDS:
            continue
        kept.append((other, distance, shared))
    kept.sort(key=lambda k: (k[1] is None, k[1] or 0, -len(k[2]),
                             abs((k[0].created_at - report.created_at).total_seconds())))
    kept = kept[:limit]
    loaded = {r.id: r for r in db.session.scalars(select(Report).where(Report.id.in_([k[0].id for k in kept])))}
    return [Candidate(loaded[other.id], distance, shared) for other, distance, shared in kept if other.id in loaded]


def related_reports(report: Report, user: User, limit: int = 20) -> dict:
    """The reports linked to ``report`` that ``user`` may see.

    :returns: ``{"original": Report | None, "duplicates": [Report, ...]}``: the report
        this one duplicates, and up to ``limit`` reports marked as duplicates of it
        (oldest first).
    """
    original = None
    if report.duplicate_of_id is not None:
        original = db.session.scalar(visible_reports(select(Report), user)
                                     .where(Report.id == report.duplicate_of_id))
    duplicates = db.session.scalars(
        visible_reports(select(Report), user).where(Report.duplicate_of_id == report.id)
        .order_by(Report.created_at, Report.id).limit(limit)).all()
    return {"original": original, "duplicates": list(duplicates)}
