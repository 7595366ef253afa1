"""Public pages of answered reports (issue 5, item 4) and the citizen's follow-up (item 5).

What the public sees, and the rules behind it (one place; the routes in
:mod:`hpsmart.public_reports` only parse requests and render):

* **Which reports are public.** Reports whose answer has been published
  (``Report.published_at`` set by the workflow's ``publish``), whatever happened
  afterwards: a report the citizen reopened stays listed with its published answer
  and its current status. Nothing else is listed; ``/reports/<code>`` of any other
  report is 404. Public status filter (``PUBLIC_STATUSES``): ``answered`` (status
  ``published``) or ``reopened`` (any other status: the citizen was not satisfied,
  or the city took it up again).
* **What is never shown.** The reporter's phone and e-mail, never; the name only
  when ``Report.reporter_name_public``. The page data are built here as plain
  :class:`PublicReport` values, so templates never get a ``Report`` row and cannot
  reach the contact fields. Free text written by the citizen or by staff (title,
  description, address, answer, responsible party, public history notes) is
  scrubbed of the reporter's own name (unless public), phone (any usual spelling)
  and e-mail before it is shown (:func:`scrub`): answers sometimes thank the
  citizen by name.
* **Address.** Shown as the street without the house number, always
  (:func:`public_street`): Nghị định 13/2023/NĐ-CP treats an address tied to a
  person as personal data, and the report form has no "hide my house number"
  choice, so the number is dropped for everyone. Tokens with digits are removed
  with the words that introduce them (``số``, ``số nhà``, ``ngõ``, ``ngách``,
  ``hẻm``, ``kiệt``, ``tổ``, ``lô``, ``căn``, ``phòng``, ``km``...); only a road
  number after ``lộ`` (``Quốc lộ 5``) is kept. When in doubt the text is dropped.
  The search may still match a number stored in the address; the result does not
  show it.
* **Place.** The ward/commune, and the point rounded to 3 decimals of a degree
  (about 110 m north-south, 100 m east-west in Hai Phong) with a link to it on
  OpenStreetMap (:func:`rounded_point`).
* **Photos.** "Before": the citizen's photos (purpose ``report``); "after": the
  photos of published answers (purpose ``answer``, ``response_id`` of a published
  ``Response``; legacy rows without ``response_id`` count when the report was
  published). Hidden photos (``Attachment.hidden``) and photos without a public
  copy are never shown. Only the metadata-free public copy and thumbnail are linked.
* **Answer.** Each published ``Response`` (body, outcome, date or responsible party,
  agency), newest first; for reports published before answers had their own model,
  the published note of the history (:func:`hpsmart.services.open311.published_answers`).
* **Search.** The inbox's rule (:mod:`hpsmart.services.search`): every word of the
  query at the start of a word of the report's folded text.
* **Period.** A month (``YYYY-MM``) of the date received, Hai Phong time.
* **Caching.** :func:`list_validators`, :func:`detail_validators` and
  :func:`overview_validators` compute an ETag and a Last-Modified time from the data
  a page shows (count and latest change of the reports, their answers and hidden
  photos), the page's parameters, the locale and the deployed templates and
  catalogues (:func:`build_stamp`), with one small query, so a 304 costs no rendering.
  Any change to what the public sees of a report must change ``Report.updated_at``,
  a ``Response.updated_at`` or an ``Attachment.hidden`` flag.

Citizen follow-up: :func:`feedback_state`, :func:`feedback_token`,
:func:`read_feedback_token` and :func:`give_feedback`. How verdicts are counted
(satisfaction figures): :mod:`hpsmart.services.statistics`, the one place of that
rule; :func:`overview` shows its figures.

Services flush; the request commits (STYLE.md).
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Select, and_, distinct, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload

from ..extensions import db
from ..i18n import LOCAL_TZ
from ..i18n import lazy_gettext as _l
from ..models import (AdministrativeUnit, Agency, Attachment, Category, CitizenFeedback, Outcome, Report,
                      ReportStatus, Response, ResponseState, UnitLevel, utcnow)
from ..text import fold, nfc, vietnamese_sort_key
from . import search, workflow
from .inbox import echo, first_arg, local_midnight, printable

PAGE_SIZE = 20
# Months offered in the period filter (the current one and the ones before it).
MONTHS_OFFERED = 24
# Characters of the description and of the answer shown in the list.
EXCERPT_CHARS = 280
# Photos of each kind shown in the list (the detail page shows all).
LIST_PHOTOS = 3
# Decimals the point is rounded to: 3 decimals = 0.001 degree, about 110 m.
POINT_DECIMALS = 3
REDACTED = "[…]"

PUBLIC_STATUSES = {
    "answered": _l("Answered"),
    "reopened": _l("Reopened, being handled again"),
}

# Seconds a feedback form stays valid after the phone check on the tracking page.
FEEDBACK_TOKEN_MAX_AGE = 2 * 3600
FEEDBACK_COMMENT_MAX = 2000
_FEEDBACK_SALT = "hpsmart.public.feedback"


# --- filters -------------------------------------------------------------------------------

@dataclass
class PublicFilters:
    """What the public list shows, parsed from the URL; None/empty: no filter.

    ``category``: ``Category.code``; ``unit``: ``AdministrativeUnit.code`` of a ward,
    commune or special zone; ``status``: a key of ``PUBLIC_STATUSES``; ``month``: the
    first day of a month (local calendar) of the date received; ``q``: the search
    (``search.clean_query``: NFC, at most 200 characters and 8 words);
    ``page``: 1-based. ``notices``: one localized message per value that was ignored.
    Parsing needs no database: an unknown category or ward code simply matches nothing.
    """

    category: str | None = None
    unit: str | None = None
    status: str | None = None
    month: date | None = None
    q: str = ""
    page: int = 1
    notices: list = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> PublicFilters:
        """Parse query arguments (``category``, ``unit``, ``status``, ``month`` as
        ``YYYY-MM``, ``q``, ``page``); never raises. Bad values are dropped with a notice."""
        f = cls()
        category = first_arg(args, "category")
        if category:
            if re.fullmatch(r"[a-z0-9_]{1,40}", category):
                f.category = category
            else:
                f.notices.append(_l("Unknown category “%(value)s” was ignored.", value=echo(category)))
        unit = first_arg(args, "unit")
        if unit:
            if re.fullmatch(r"[0-9]{1,10}", unit):
                f.unit = unit
            else:
                f.notices.append(_l("Unknown ward or commune “%(value)s” was ignored.", value=echo(unit)))
        status = first_arg(args, "status")
        if status:
            if status in PUBLIC_STATUSES:
                f.status = status
            else:
                f.notices.append(_l("Unknown status “%(value)s” was ignored.", value=echo(status)))
        month = first_arg(args, "month")
        if month:
            match = re.fullmatch(r"(\d{4})-(\d{2})", month)
            if match and 2000 <= int(match.group(1)) <= 2100 and 1 <= int(match.group(2)) <= 12:
                f.month = date(int(match.group(1)), int(match.group(2)), 1)
            else:
                f.notices.append(_l("“%(value)s” is not a month (year-month); it was ignored.",
                                    value=echo(month)))
        f.q, changes = search.clean_query(first_arg(args, "q"))
        f.notices.extend(changes)
        page = first_arg(args, "page")
        if page:
            if re.fullmatch(r"[0-9]{1,6}", page) and int(page) > 0:
                f.page = int(page)
            else:
                f.notices.append(_l("“%(value)s” is not a page number; the first page is shown.",
                                    value=echo(page)))
        return f

    def to_query(self, page: int | None = None) -> list[tuple[str, str]]:
        """The filters as ``[(name, value), ...]`` in a fixed order (``page`` left out when
        None or 1); ``from_args`` parses them back to equal filters."""
        pairs = [(name, getattr(self, name)) for name in ("category", "unit", "status") if getattr(self, name)]
        if self.month is not None:
            pairs.append(("month", self.month.strftime("%Y-%m")))
        if self.q:
            pairs.append(("q", self.q))
        if page is not None and page > 1:
            pairs.append(("page", str(page)))
        return pairs

    @property
    def is_empty(self) -> bool:
        """True when no filter and no search is set (the page number aside)."""
        return not self.to_query()


def _month_bounds(first_day: date) -> tuple[datetime, datetime]:
    following = date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)
    return local_midnight(first_day), local_midnight(following)


def _conditions(filters: PublicFilters) -> list:
    """WHERE conditions of the public list for ``filters`` (codes compared in subqueries)."""
    where = [Report.published_at.is_not(None)]
    if filters.category:
        where.append(Report.category_id.in_(select(Category.id).where(Category.code == filters.category)))
    if filters.unit:
        where.append(Report.admin_unit_id.in_(
            select(AdministrativeUnit.id).where(AdministrativeUnit.code == filters.unit)))
    if filters.status == "answered":
        where.append(Report.status == ReportStatus.PUBLISHED)
    elif filters.status == "reopened":
        where.append(Report.status != ReportStatus.PUBLISHED)
    if filters.month is not None:
        start, end = _month_bounds(filters.month)
        where.extend([Report.created_at >= start, Report.created_at < end])
    where.extend(search.conditions(search.terms(filters.q)))
    return where


# --- personal data --------------------------------------------------------------------------

@dataclass(frozen=True)
class Secrets:
    """The reporter's data that public text must not contain: ``name`` (empty when
    the reporter allowed it to be shown), ``phone`` (national form), ``email``."""

    name: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def of(cls, report: Report) -> Secrets:
        """The secrets of ``report``'s reporter."""
        return cls(name="" if report.reporter_name_public else nfc(report.reporter_name),
                   phone=nfc(report.reporter_phone), email=nfc(report.reporter_email))


_SEP = r"[\s.\-()/]*"


def _quick_fold(text: str) -> str:
    """A fast approximation of :func:`hpsmart.text.fold` for the quick test of :func:`scrub`:
    lower case, đ → d, marks removed, and every other non-ASCII character dropped (the
    secrets' patterns accept missing separators, so a dropped no-break space or dash
    cannot hide a match; a false alarm only costs the exact pass)."""
    text = text.replace("đ", "d").replace("Đ", "d")
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode("ascii").lower()


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """``text`` folded one character at a time (lower case, no marks, đ → d) and, for
    each folded character, the index of the character of ``text`` it came from."""
    out: list[str] = []
    positions: list[int] = []
    for index, ch in enumerate(text):
        folded = fold(ch) if not ch.isspace() else " "
        if len(folded) != 1:
            folded = "" if unicodedata.combining(ch) else ch.lower()
        for piece in folded:
            out.append(piece)
            positions.append(index)
    return "".join(out), positions


@dataclass(frozen=True)
class _Check:
    """One secret's matcher: ``pattern`` on folded text, tried only when ``needle`` occurs in
    the text's folded form (``on="folded"``) or in its digits alone (``on="digits"``)."""

    pattern: re.Pattern
    needle: str
    on: str = "folded"


@lru_cache(maxsize=512)
def _secret_checks(secrets: Secrets) -> tuple[_Check, ...]:
    """The matchers of ``secrets`` (cached per reporter)."""
    checks = []
    words = fold(secrets.name).split()
    if words and (len(words) > 1 or len(words[0]) >= 3):
        checks.append(_Check(re.compile(r"(?<!\w)" + r"[\s.\-_]*".join(re.escape(w) for w in words) + r"(?!\w)"),
                             max(words, key=len)))
    digits = re.sub(r"\D", "", secrets.phone)
    if len(digits) >= 8:
        core = digits[1:] if digits.startswith("0") else digits
        prefix = r"(?:(?:\+|00)?84" + _SEP + r"|0" + _SEP + r")?"
        checks.append(_Check(re.compile(r"(?<!\d)" + prefix + _SEP.join(core) + r"(?!\d)"), core, "digits"))
    email = fold(secrets.email)
    if len(email) >= 3:
        checks.append(_Check(re.compile(re.escape(email)), email))
        local = email.split("@", 1)[0]
        if len(local) >= 6:
            checks.append(_Check(re.compile(r"(?<![\w.])" + re.escape(local) + r"(?![\w])"), local))
    return tuple(checks)


# Every byte but the ASCII digits: deleting them from UTF-8 text leaves its digits.
_NOT_DIGIT_BYTES = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


def _holds_secret(text: str, checks: tuple[_Check, ...]) -> bool:
    """Quick test on the whole text: does any secret occur (then the slow pass runs)?"""
    folded = _quick_fold(text)
    digits = None
    for check in checks:
        if check.on == "digits":
            if digits is None:
                digits = text.encode("utf-8").translate(None, _NOT_DIGIT_BYTES).decode("ascii")
            if check.needle in digits and check.pattern.search(folded):
                return True
        elif check.needle in folded and check.pattern.search(folded):
            return True
    return False


def scrub(text: str | None, secrets: Secrets) -> str:
    """``text`` (NFC) with the reporter's name, phone and e-mail replaced by ``REDACTED``.

    Matching ignores case and Vietnamese marks (``Tran Thi Binh``, ``TRẦN THỊ BÌNH``
    and NFD input all match ``Trần Thị Bình``); a phone matches with spaces, dots,
    dashes, ``+84``/``84``/``0084`` or without the leading 0; a one-word name needs
    at least 3 letters and whole-word matches. ``None`` gives ``""``.
    """
    text = nfc(text) if text else ""
    if not text:
        return ""
    checks = _secret_checks(secrets)
    if not checks or not _holds_secret(text, checks):
        return text  # most texts hold no secret: skip the character-by-character pass
    patterns = [check.pattern for check in checks]
    folded, positions = _folded_with_positions(text)
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        for match in pattern.finditer(folded):
            if match.end() > match.start():
                spans.append((positions[match.start()], positions[match.end() - 1] + 1))
    if not spans:
        return text
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        out.append(text[last:start])
        out.append(REDACTED)
        last = end
    out.append(text[last:])
    return "".join(out)


# Words (folded) that introduce a house, alley, lot or room number: dropped with the number.
_NUMBER_WORDS = {"so", "nha", "sn", "ngo", "ngach", "hem", "kiet", "to", "dan", "pho", "tdp", "lo", "can",
                 "phong", "p", "km", "kiot", "ki", "ot", "thon", "xom", "khu", "day", "tang", "nr", "no"}
# Word (NFC, lower case) after which a number names a road, not a house: Quốc lộ 5, Tỉnh lộ 354.
_ROAD_WORDS = {"lộ"}


@lru_cache(maxsize=4096)
def public_street(address: str | None) -> str:
    """The address as shown in public: the street without house, alley or lot numbers.

    Each comma-separated part loses its tokens that contain a digit, with the words
    that introduce them (``số``, ``số nhà``, ``ngõ``, ``ngách``, ``hẻm``, ``kiệt``,
    ``tổ dân phố``, ``lô``, ``căn hộ``, ``phòng``, ``km``...), except a road number
    after ``lộ``; a part left with only such words is dropped. Examples:
    ``"123 Lạch Tray"`` → ``"Lạch Tray"``; ``"Số 45, ngõ 12/3 Lê Lợi"`` → ``"Lê Lợi"``;
    ``"Km 5 Quốc lộ 10"`` → ``"Quốc lộ 10"``. Deliberately conservative: an
    ambiguous number goes.

    :param address: the stored address (any normalisation) or None.
    :returns: NFC text, ``""`` when nothing is left.
    """
    parts = []
    for part in re.split(r"[,;\n]", nfc(address or "")):
        kept: list[str] = []
        for token in part.split():
            if any(ch.isdigit() for ch in token):
                if kept and kept[-1].lower().strip(".") in _ROAD_WORDS:
                    kept.append(token)
                    continue
                while kept and fold(kept[-1]).strip(".:#-") in _NUMBER_WORDS:
                    kept.pop()
                continue
            kept.append(token)
        while kept and fold(kept[-1]).strip(".:#-") in _NUMBER_WORDS and kept[-1].lower() not in _ROAD_WORDS:
            kept.pop()
        words = [w for w in kept if fold(w).strip(".:#-/")]
        if words and not all(fold(w).strip(".:#-") in _NUMBER_WORDS for w in words):
            parts.append(" ".join(words).strip(" -–:#/"))
    return ", ".join(p for p in parts if p)


def rounded_point(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    """The point rounded to ``POINT_DECIMALS`` decimals (about 110 m), or None."""
    if latitude is None or longitude is None or not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    return round(latitude, POINT_DECIMALS), round(longitude, POINT_DECIMALS)


def osm_url(point: tuple[float, float]) -> str:
    """A link to ``point`` (WGS84 degrees) on openstreetmap.org, with a marker, zoom 17."""
    lat, lon = (f"{value:.{POINT_DECIMALS}f}" for value in point)
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


# --- page data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicPhoto:
    """A photo's public copy and thumbnail URLs (site-relative) and its size in pixels."""

    thumb_url: str
    full_url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class PublicAnswer:
    """A published answer as shown: ``body`` (scrubbed), ``outcome`` (None for
    answers published before issue 5), ``scheduled_for`` (local date),
    ``responsible_party`` (scrubbed), ``agency`` (name), ``published_at`` (aware UTC),
    ``photos`` (the "after" photos)."""

    body: str
    outcome: Outcome | None
    scheduled_for: date | None
    responsible_party: str
    agency: str
    published_at: datetime | None
    photos: tuple[PublicPhoto, ...] = ()


@dataclass(frozen=True)
class PublicReport:
    """Everything a public page may show of one report; nothing personal.

    Texts are scrubbed (:func:`scrub`); in a list, ``description`` and the answers'
    ``body`` are excerpts (:func:`present`'s ``excerpt_chars``); ``street`` is :func:`public_street`;
    ``point`` is rounded (:func:`rounded_point`) and ``map_url`` links to it;
    ``reporter_name`` is set only when the reporter allowed it. Times are aware UTC.
    ``answers``: published answers, newest first (``answers[0]`` is the current one).
    """

    tracking_code: str
    title: str
    description: str
    category: str
    category_code: str
    unit: str
    street: str
    point: tuple[float, float] | None
    map_url: str | None
    status: ReportStatus
    received_at: datetime
    answered_at: datetime | None
    published_at: datetime | None
    updated_at: datetime
    agency: str
    reporter_name: str | None
    before: tuple[PublicPhoto, ...]
    answers: tuple[PublicAnswer, ...]

    @property
    def answer(self) -> PublicAnswer | None:
        """The current (latest) published answer, or None."""
        return self.answers[0] if self.answers else None

    @property
    def after(self) -> tuple[PublicPhoto, ...]:
        """The "after" photos of the current answer."""
        return self.answer.photos if self.answer else ()

    @property
    def first_photo(self) -> PublicPhoto | None:
        """The photo for link previews: the first "after" photo, else the first "before" one."""
        photos = self.after or self.before
        return photos[0] if photos else None

    @property
    def place(self) -> str:
        """Street and ward, comma-separated (either may be missing)."""
        return ", ".join(p for p in (self.street, self.unit) if p)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


class _PhotoUrls:
    """``Attachment.thumb_url``/``public_url`` for many photos with two ``url_for`` calls:
    the copies' URLs differ only by the file name after a fixed prefix."""

    _SAMPLE = "00/00/" + "0" * 32 + ".jpg"

    def __init__(self):
        from flask import url_for

        self.thumb = url_for("media.thumbnail", name=self._SAMPLE)[:-len(self._SAMPLE)]
        self.full = url_for("media.public_copy", name=self._SAMPLE)[:-len(self._SAMPLE)]

    def photo(self, attachment) -> PublicPhoto | None:
        """The URLs of an ``Attachment`` (or a row with its ``thumb_path``, ``public_path``,
        ``width`` and ``height``); None without both copies."""
        thumb, full = attachment.thumb_path or "", attachment.public_path or ""
        if not thumb.startswith("thumb/") or not full.startswith("public/"):
            return None
        return PublicPhoto(self.thumb + thumb[len("thumb/"):], self.full + full[len("public/"):],
                           attachment.width, attachment.height)


def _visible_photos(report_ids: Sequence[int]) -> list:
    """The public photos of these reports (before and after), oldest first: not hidden,
    with a public copy, and for answer photos, of a published answer (or of no answer
    row, for reports published before issue 5). Rows of ``report_id, response_id,
    purpose, public_path, thumb_path, width, height`` (no ORM objects: a page has many)."""
    if not report_ids:
        return []
    query = (select(Attachment.report_id, Attachment.response_id, Attachment.purpose, Attachment.public_path,
                    Attachment.thumb_path, Attachment.width, Attachment.height)
             .outerjoin(Response, Attachment.response_id == Response.id)
             .where(Attachment.report_id.in_(report_ids), Attachment.hidden.is_(False),
                    Attachment.kind == "photo", Attachment.public_path.is_not(None),
                    Attachment.thumb_path.is_not(None),
                    or_(Attachment.purpose == "report", Attachment.response_id.is_(None),
                        Response.state == ResponseState.PUBLISHED))
             .order_by(Attachment.id))
    return list(db.session.execute(query))


def _published_responses(report_ids: Sequence[int]) -> list:
    """Rows of the published answers of these reports, newest first: ``report_id, id, body,
    outcome, scheduled_for, responsible_party, published_at, agency`` (the agency's name)."""
    if not report_ids:
        return []
    return list(db.session.execute(
        select(Response.report_id, Response.id, Response.body, Response.outcome, Response.scheduled_for,
               Response.responsible_party, Response.published_at, Agency.name.label("agency"))
        .outerjoin(Agency, Response.agency_id == Agency.id)
        .where(Response.report_id.in_(report_ids), Response.state == ResponseState.PUBLISHED)
        .order_by(Response.published_at.desc().nulls_last(), Response.id.desc())))


def _shown_text(text: str | None, secrets: Secrets, excerpt_chars: int | None) -> str:
    """``text`` scrubbed, or its excerpt: then only a prefix a little longer than the excerpt
    is scrubbed, so a secret cut by the excerpt is still caught."""
    if excerpt_chars is None or not text:
        return scrub(text, secrets)
    return excerpt(scrub(text[:excerpt_chars + 120], secrets), excerpt_chars)


def present(reports: Sequence[Report], locale: str, excerpt_chars: int | None = None) -> list[PublicReport]:
    """Public page data for ``reports`` (category, ward and agency already loaded).

    Three queries whatever the number of reports: photos, published answers, and the
    answers of reports published before issue 5 (when there are any).

    :param reports: public reports (``published_at`` set).
    :param locale: ``"vi"`` or ``"en"`` for category names.
    :param excerpt_chars: for a list: descriptions and answers cut to this many characters
        (:func:`excerpt`); None: whole texts.
    """
    from .open311 import published_answers

    ids = [r.id for r in reports]
    photos = _visible_photos(ids)
    by_report: dict[int, list] = {}
    for row in _published_responses(ids):
        by_report.setdefault(row.report_id, []).append(row)
    legacy = published_answers([r for r in reports if r.id not in by_report])
    before: dict[int, list[PublicPhoto]] = {}
    after: dict[tuple[int, int | None], list[PublicPhoto]] = {}
    urls = _PhotoUrls()
    for row in photos:
        shown = urls.photo(row)
        if shown is None:
            continue
        if row.purpose == "report":
            before.setdefault(row.report_id, []).append(shown)
        else:
            after.setdefault((row.report_id, row.response_id), []).append(shown)

    out = []
    for report in reports:
        secrets = Secrets.of(report)
        handling = report.agency.name if report.agency is not None else ""
        answers = [PublicAnswer(
            body=_shown_text(r.body, secrets, excerpt_chars), outcome=r.outcome, scheduled_for=r.scheduled_for,
            responsible_party=scrub(r.responsible_party, secrets), agency=r.agency or handling,
            published_at=r.published_at, photos=tuple(after.get((report.id, r.id), ())),
        ) for r in by_report.get(report.id, [])]
        legacy_photos = tuple(after.get((report.id, None), ()))
        if not answers and (report.id in legacy or legacy_photos):
            answers.append(PublicAnswer(body=_shown_text(legacy.get(report.id), secrets, excerpt_chars),
                                        outcome=None, scheduled_for=None, responsible_party="", agency=handling,
                                        published_at=report.published_at, photos=legacy_photos))
        elif answers and legacy_photos:  # photos uploaded before the answer had its own row
            answers[0] = replace(answers[0], photos=answers[0].photos + legacy_photos)
        point = rounded_point(report.latitude, report.longitude)
        out.append(PublicReport(
            tracking_code=report.tracking_code, title=scrub(report.title, secrets),
            description=_shown_text(report.description, secrets, excerpt_chars),
            category=report.category.name(locale) if report.category is not None else "",
            category_code=report.category.code if report.category is not None else "",
            unit=report.admin_unit.name if report.admin_unit is not None else "",
            street=scrub(public_street(report.address), secrets), point=point,
            map_url=osm_url(point) if point else None, status=report.status, received_at=report.created_at,
            answered_at=report.answered_at, published_at=report.published_at, updated_at=report.updated_at,
            agency=answers[0].agency if answers else handling,
            reporter_name=nfc(report.reporter_name) if report.reporter_name_public and report.reporter_name
            else None,
            before=tuple(before.get(report.id, ())), answers=tuple(answers),
        ))
    return out


def _loaded() -> Select:
    return select(Report).options(joinedload(Report.category), joinedload(Report.admin_unit),
                                  joinedload(Report.agency), defer(Report.search_text))


@dataclass
class ListPage:
    """One page of the public list: ``items`` (``PublicReport``), ``total`` matching
    reports, ``page`` (clamped to ``pages``), ``pages`` (at least 1), ``page_size``."""

    items: list[PublicReport]
    total: int
    page: int
    pages: int
    page_size: int

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.page - 1) * self.page_size + 1 if self.items else 0


def list_page(filters: PublicFilters, locale: str, *, total: int | None = None,
              page_size: int = PAGE_SIZE) -> ListPage:
    """One page of the public list.

    Queries: the count (skipped when ``total`` is given, e.g. from
    :func:`list_validators`), the rows with category, ward and agency joined, then
    :func:`present`'s three: at most five, whatever the page size.

    :param filters: parsed filters; a page past the end is clamped, with a notice.
    :param total: the number of matching reports when already known.
    """
    where = _conditions(filters)
    if total is None:
        total = int(db.session.scalar(select(func.count(Report.id)).where(*where)) or 0)
    pages = max(math.ceil(total / page_size), 1)
    if filters.page > pages:
        filters.notices.append(_l("There is no page %(page)d; the last page is shown.", page=filters.page))
        filters.page = pages
    reports = list(db.session.scalars(
        _loaded().where(*where).order_by(Report.published_at.desc(), Report.id.desc())
        .limit(page_size).offset((filters.page - 1) * page_size)).unique())
    return ListPage(items=present(reports, locale, EXCERPT_CHARS), total=total, page=filters.page, pages=pages,
                    page_size=page_size)


def find_public_report(code: str) -> Report | None:
    """The public report (answer published) with tracking code ``code`` (normalised),
    category, ward and agency loaded; None when there is none."""
    return db.session.scalars(_loaded().where(Report.tracking_code == code,
                                              Report.published_at.is_not(None))).unique().one_or_none()


def scrub_history(items: Iterable[dict], report: Report) -> list[dict]:
    """Public history items (``{"at", "text", "note"}``, as the tracking page builds them)
    with their notes scrubbed of ``report``'s reporter's data."""
    secrets = Secrets.of(report)
    return [{**item, "note": scrub(item.get("note"), secrets) or None} for item in items]


# --- filter choices ------------------------------------------------------------------------

@dataclass
class FilterOptions:
    """Choices of the public filter form: lists of ``(value, label)``."""

    categories: list[tuple[str, str]]
    units: list[tuple[str, str]]
    statuses: list[tuple[str, str]]
    months: list[tuple[str, str]]


def filter_options(locale: str, now: datetime | None = None) -> FilterOptions:
    """Active categories (their order), current wards/communes/special zones (Vietnamese
    order), public statuses, and the last ``MONTHS_OFFERED`` months (``YYYY-MM``,
    labelled ``MM/YYYY``, current month first, Hai Phong time)."""
    name = Category.name_en if locale == "en" else Category.name_vi
    categories = db.session.execute(select(Category.code, name).where(Category.active.is_(True))
                                    .order_by(Category.sort_order, Category.id)).all()
    units = _in_vietnamese_order(tuple((code, unit) for code, unit in db.session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name).where(
            AdministrativeUnit.valid_to.is_(None),
            AdministrativeUnit.level.in_([UnitLevel.WARD, UnitLevel.COMMUNE, UnitLevel.SPECIAL_ZONE])))))
    today = (now or utcnow()).astimezone(LOCAL_TZ).date()
    months = []
    index = today.year * 12 + today.month - 1
    for back in range(MONTHS_OFFERED):
        year, month = divmod(index - back, 12)
        months.append((f"{year:04d}-{month + 1:02d}", f"{month + 1:02d}/{year:04d}"))
    return FilterOptions(categories=[(code, label) for code, label in categories], units=list(units),
                         statuses=[(k, str(v)) for k, v in PUBLIC_STATUSES.items()], months=months)


@lru_cache(maxsize=8)
def _in_vietnamese_order(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """``(code, name)`` pairs sorted by name in Vietnamese order (cached: the list rarely changes)."""
    return tuple(sorted(pairs, key=lambda pair: vietnamese_sort_key(pair[1])))


def unknown_code_notices(filters: PublicFilters, options: FilterOptions) -> None:
    """Add a notice to ``filters`` for a category or ward code that is not offered
    (the filter stays: it matches nothing)."""
    if filters.category and filters.category not in {v for v, _ in options.categories}:
        filters.notices.append(_l("Unknown category “%(value)s”: no report matches it.",
                                  value=echo(filters.category)))
    if filters.unit and filters.unit not in {v for v, _ in options.units}:
        filters.notices.append(_l("Unknown ward or commune “%(value)s”: no report matches it.",
                                  value=echo(filters.unit)))


# --- caching --------------------------------------------------------------------------------

_PACKAGE = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def build_stamp() -> tuple[str, datetime]:
    """A digest of the deployed templates and compiled catalogues (names, sizes and
    modification times) and the latest modification time (aware UTC), computed once per
    process: a new release changes every ETag and moves Last-Modified forward."""
    digest = hashlib.sha256()
    latest = 0.0
    for folder, pattern in ((_PACKAGE / "templates", "*.html"), (_PACKAGE / "translations", "*.mo")):
        for path in sorted(folder.rglob(pattern)):
            stat = path.stat()
            digest.update(f"{path.relative_to(_PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
            latest = max(latest, stat.st_mtime)
    return digest.hexdigest()[:16], datetime.fromtimestamp(int(latest), timezone.utc)


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators of a page: ``etag`` (opaque, unquoted) and
    ``last_modified`` (aware UTC, whole seconds). ``total``: the number of reports
    the page counts, when the fingerprint query gave it."""

    etag: str
    last_modified: datetime
    total: int | None = None


def _iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value is not None else "-"


def _validators(kind: str, params: Sequence, times: Iterable[datetime | None], facts: Sequence,
                locale: str, total: int | None = None) -> Validators:
    stamp, built = build_stamp()
    known = [t for t in times if t is not None] + [built]
    latest = max(t.astimezone(timezone.utc) for t in known).replace(microsecond=0)
    payload = repr((stamp, kind, tuple(params), locale, tuple(_iso(t) if isinstance(t, datetime) else t
                                                                   for t in facts)))
    return Validators(etag=hashlib.sha256(payload.encode()).hexdigest()[:32], last_modified=latest, total=total)


def _fingerprint(where: list) -> tuple:
    """One query over the reports matching ``where``, their answers and their hidden
    photos: ``(reports, latest Report.updated_at, latest Response.updated_at, hidden
    photos, sum of the hidden photos' ids)``. The joins repeat rows, so the counts and
    the sum are over distinct ids (an id is unique: its sum changes when the hidden set does)."""
    return tuple(db.session.execute(
        select(func.count(distinct(Report.id)), func.max(Report.updated_at), func.max(Response.updated_at),
               func.count(distinct(Attachment.id)), func.coalesce(func.sum(distinct(Attachment.id)), 0))
        .select_from(Report)
        .outerjoin(Response, Response.report_id == Report.id)
        .outerjoin(Attachment, and_(Attachment.report_id == Report.id, Attachment.hidden.is_(True)))
        .where(*where)).one())


def list_validators(filters: PublicFilters, locale: str, now: datetime | None = None) -> Validators:
    """Validators of a list page (one query, :func:`_fingerprint`): count and latest
    ``updated_at`` of the matching reports, latest answer change and hidden photos among
    them, the filters and page, the locale and the current local month (the period choices).

    :returns: ``Validators`` with ``total`` = the number of matching reports.
    """
    facts = _fingerprint(_conditions(filters))
    total, latest, answer_latest = facts[:3]
    month = (now or utcnow()).astimezone(LOCAL_TZ).strftime("%Y-%m")
    return _validators("list", [*filters.to_query(filters.page), month], [latest, answer_latest], facts, locale,
                       total=int(total or 0))


def detail_validators(report: Report, locale: str) -> Validators:
    """Validators of a report's public page (one query, :func:`_fingerprint`): the report's
    version and ``updated_at``, its answers' latest change and its hidden photos."""
    facts = _fingerprint([Report.id == report.id])
    return _validators("detail", [report.tracking_code], [report.updated_at, facts[2]],
                       [report.version, *facts], locale)


# --- overview -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyFigures:
    """One agency's row of the overview: ``name`` (None: not routed yet), counts as in
    :class:`hpsmart.services.statistics.Counts`, its citizens' verdicts included
    (``satisfied``, ``not_satisfied``: reports, each with its latest verdict)."""

    name: str | None
    received: int
    answered: int
    published: int
    on_time: int
    late: int
    on_time_percent: int | None
    satisfied: int
    not_satisfied: int


@dataclass(frozen=True)
class Overview:
    """This month's public figures (:func:`overview`). ``month_start``/``month_end``:
    local dates; ``totals``: ``statistics.Counts`` (satisfaction included);
    ``agencies``: per agency, most reports first."""

    month_start: date
    month_end: date
    totals: Any
    agencies: list[AgencyFigures]


def overview(locale: str, now: datetime | None = None) -> Overview:
    """The figures of the current month (Asia/Ho_Chi_Minh) for the public overview.

    Received, answered (answer sent; published included), published, on time
    (answered no later than the deadline), late, and citizens satisfied / not
    satisfied, per handling agency: exactly
    :func:`hpsmart.services.statistics.compute`'s figures and definitions (reports
    received in the month, in their state now; each report's latest verdict; 2022
    agencies under their successors).
    """
    from . import statistics

    now = now or utcnow()
    start, end = statistics.month_period(statistics.local_today(now))
    stats = statistics.compute(start, end, now=now, locale=locale)
    agencies = [AgencyFigures(
        name=row.label if row.key is not None else None, received=row.counts.received,
        answered=row.counts.answered, published=row.counts.published, on_time=row.counts.on_time,
        late=row.counts.late, on_time_percent=row.counts.on_time_percent,
        satisfied=row.counts.satisfied, not_satisfied=row.counts.not_satisfied) for row in stats.by_agency]
    return Overview(month_start=start, month_end=end, totals=stats.totals, agencies=agencies)


def overview_validators(locale: str, now: datetime | None = None) -> Validators:
    """Validators of the overview (one query): the month, and count and latest change
    of the month's reports and of the verdicts on them."""
    from .statistics import local_today, month_period, period_bounds

    now = now or utcnow()
    start, end = month_period(local_today(now))
    start_utc, end_utc = period_bounds(start, end)
    in_month = and_(Report.created_at >= start_utc, Report.created_at < end_utc)
    ids = select(Report.id).where(in_month).correlate(None)
    verdicts = select(CitizenFeedback).where(CitizenFeedback.report_id.in_(ids)).subquery()
    row = db.session.execute(select(
        func.count(Report.id), func.max(Report.updated_at),
        select(func.count(verdicts.c.id)).correlate(None).scalar_subquery(),
        select(func.max(verdicts.c.created_at)).correlate(None).scalar_subquery(),
    ).where(in_month)).one()
    count, latest, verdicts, verdict_latest = row
    return _validators("overview", [start.isoformat()], [latest, verdict_latest],
                       [count, latest, verdicts, verdict_latest], locale)


# --- citizen follow-up ----------------------------------------------------------------------

class FeedbackError(ValueError):
    """The feedback is refused; nothing was stored.

    ``errors``: ``{field: localized message}`` for ``satisfied`` and ``comment``;
    ``closed``: True when feedback is no longer possible for this answer (already
    given, the report is not in "answer published", or a newer answer was published),
    with the reason in ``errors["form"]``.
    """

    def __init__(self, errors: dict, closed: bool = False):
        self.errors = dict(errors)
        self.closed = closed
        super().__init__("; ".join(str(m) for m in self.errors.values()))


@dataclass(frozen=True)
class FeedbackState:
    """Whether the citizen can give feedback on ``report`` now.

    ``response``: the current published answer (None for reports published before
    issue 5, whose feedback has no ``response``); ``given``: the feedback already
    given on it, if any; ``open``: the report is "answer published" and no feedback
    was given on the current answer.
    """

    open: bool
    response: Response | None
    given: CitizenFeedback | None


def _current_response(report: Report) -> Response | None:
    return db.session.scalars(
        select(Response).where(Response.report_id == report.id, Response.state == ResponseState.PUBLISHED)
        .order_by(Response.published_at.desc().nulls_last(), Response.id.desc()).limit(1)).first()


def feedback_state(report: Report) -> FeedbackState:
    """See :class:`FeedbackState`. Feedback on a report published before issue 5 counts
    for the current publication when it was given after ``report.published_at``."""
    response = _current_response(report)
    if response is not None:
        given = db.session.scalars(select(CitizenFeedback).where(
            CitizenFeedback.response_id == response.id)).first()
    else:
        query = select(CitizenFeedback).where(CitizenFeedback.report_id == report.id,
                                              CitizenFeedback.response_id.is_(None))
        if report.published_at is not None:
            query = query.where(CitizenFeedback.created_at >= report.published_at)
        given = db.session.scalars(query.order_by(CitizenFeedback.id.desc()).limit(1)).first()
    return FeedbackState(open=report.status == ReportStatus.PUBLISHED and given is None,
                         response=response, given=given)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_FEEDBACK_SALT)


def feedback_token(report: Report, response: Response | None, secret_key: str) -> str:
    """A signed token saying "the person who has this proved they gave ``report``'s
    phone number", for the answer ``response`` (None: a report published before issue 5).

    :param secret_key: the app's ``SECRET_KEY``.
    :returns: URL-safe text; it holds only ids and a time.
    """
    return _serializer(secret_key).dumps({"r": report.id, "a": response.id if response is not None else 0})


def read_feedback_token(token: str | None, secret_key: str,
                        max_age: int = FEEDBACK_TOKEN_MAX_AGE) -> tuple[int, int | None] | None:
    """``(report id, response id or None)`` from a :func:`feedback_token` at most
    ``max_age`` seconds old; None when missing, forged, malformed or expired."""
    if not token or len(token) > 500:
        return None
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("a"), int):
        return None
    return data["r"], data["a"] or None


def give_feedback(report: Report, response_id: int | None, satisfied: bool | None, comment: str | None,
                  now: datetime | None = None) -> CitizenFeedback:
    """Store the citizen's verdict on the current published answer of ``report`` (flushes).

    Satisfied: a ``CitizenFeedback(satisfied=True)`` and an internal ``feedback``
    history event. Not satisfied: a ``CitizenFeedback(satisfied=False, comment)`` and
    the workflow's ``reopen`` (user None): the report goes back to the IOC, the comment
    is the event's note (staff see it; the public history does not show it).
    One verdict per published answer (unique ``response_id``). The flush also sets
    ``report.satisfied``, the latest verdict the statistics count
    (:func:`hpsmart.models.response.refresh_latest_verdicts`).

    :param response_id: the answer the person saw (from the token); None for a report
        published before issue 5.
    :param satisfied: True, False, or None (not chosen: refused).
    :param comment: free text, NFC-normalised here, at most ``FEEDBACK_COMMENT_MAX``
        characters; required when not satisfied.
    :raises FeedbackError: not chosen, comment missing or too long (``closed`` False);
        already given, not published, or the answer changed (``closed`` True).
    """
    comment = nfc(printable(comment or ""))
    state = feedback_state(report)
    current_id = state.response.id if state.response is not None else None
    if state.given is not None:
        raise FeedbackError({"form": _l("Thank you: we already have your opinion on this answer.")}, closed=True)
    if not state.open:
        raise FeedbackError({"form": _l("This report is not waiting for your opinion any more: look at its "
                                        "status below.")}, closed=True)
    if current_id != response_id:
        raise FeedbackError({"form": _l("A new answer was published since you opened the page: read it, "
                                        "then tell us what you think.")}, closed=True)
    errors = {}
    if satisfied is None:
        errors["satisfied"] = _l("Choose whether the answer solved the problem.")
    if satisfied is False and not comment:
        errors["comment"] = _l("Tell us what is still wrong: the operations centre reads it when it takes "
                               "the report up again.")
    if len(comment) > FEEDBACK_COMMENT_MAX:
        errors["comment"] = _l("The comment can be at most %(n)d characters.", n=FEEDBACK_COMMENT_MAX)
    if errors:
        raise FeedbackError(errors)

    now = now or utcnow()
    feedback = CitizenFeedback(report_id=report.id, response_id=response_id, satisfied=bool(satisfied),
                               comment=comment, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(feedback)
            db.session.flush()
            if satisfied:
                workflow.record(report, None, "feedback", new="satisfied", note=comment or None, at=now)
                report.updated_at = now
                db.session.flush()
            else:
                workflow.apply(report, None, "reopen", note=comment, now=now)
    except IntegrityError:  # the same answer judged a moment ago (double click, two tabs)
        raise FeedbackError({"form": _l("Thank you: we already have your opinion on this answer.")},
                            closed=True) from None
    except workflow.WorkflowError:  # the report moved on meanwhile
        raise FeedbackError({"form": _l("This report is not waiting for your opinion any more: look at its "
                                        "status below.")}, closed=True) from None
    return feedback


__all__ = [
    "AgencyFigures", "FeedbackError", "FeedbackState", "FilterOptions", "ListPage", "Overview", "PUBLIC_STATUSES",
    "PublicAnswer", "PublicFilters", "PublicPhoto", "PublicReport", "Secrets", "Validators",
    "build_stamp", "detail_validators", "excerpt", "feedback_state", "feedback_token", "filter_options",
    "find_public_report", "give_feedback", "list_page", "list_validators", "osm_url", "overview",
    "overview_validators", "present", "public_street", "read_feedback_token",
    "rounded_point", "scrub", "scrub_history",
    "unknown_code_notices",
]
