"""Open311 GeoReport v2: the rules behind the API under ``/open311/v2/``.

Specification: GeoReport v2 of the Open311 project (wiki.open311.org/GeoReport_v2),
with two widely used extensions (wiki.open311.org/GeoReport_v2/Extensions):
``page``/``page_size`` on GET requests and a photo uploaded as multipart ``media``.
The routes (:mod:`hpsmart.api.routes`) only parse HTTP and render JSON or XML; what
is accepted, refused and returned is decided here.

Mapping between Open311 and hpsmart (documented for client developers at ``/open311/``):

- *service* = :class:`~hpsmart.models.Category` (``service_code`` = ``Category.code``,
  ``group`` = ``Category.group``). ``metadata`` is true only for a category that
  asks extra questions (:func:`category_attributes`); none does yet, so every
  ``GET services/{code}`` answers 404 as the specification says for a service
  without a definition.
- *service request* = :class:`~hpsmart.models.Report`; ``service_request_id`` is the
  tracking code (``HP-2026-000123``), the same code the citizen sees.
- ``status``: ``closed`` when ``ReportStatus.is_closed`` (answer published, rejected,
  duplicate), else ``open``. ``status_notes``: :func:`status_notes_for`.
- Times are ISO 8601 in Asia/Ho_Chi_Minh with the ``+07:00`` offset; ``expected_datetime``
  is the deadline.
- ``address_id`` = the code of the ward, commune or special zone
  (``AdministrativeUnit.code``, five digits, General Statistics Office codes).
- Reporter contact (name, phone, e-mail) is never part of any GET response
  (Nghị định 13/2023/NĐ-CP on personal data); ``device_id`` and ``account_id`` are not
  stored at all (``account_id`` is only echoed in the POST response).

POST requests goes through :func:`hpsmart.services.intake.submit_report`, so the API
accepts exactly what the web forms accept (same limits, same place rules, same photo
pipeline); what the API lacks is filled in as documented in :func:`create_request`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import urljoin, urlsplit

from flask import current_app, has_app_context
from flask_babel import force_locale, gettext as _
from limits import parse_many
from sqlalchemy import and_, insert, inspect, or_, select
from sqlalchemy.orm import load_only, selectinload

from ..extensions import db
from ..i18n import LOCAL_TZ, format_local_date, to_local
from ..models import (AdministrativeUnit, Agency, ApiClient, Attachment, Category, Channel, Report, ReportEvent,
                      ReportStatus, Response, ResponseState, UnitLevel, User, utcnow)
from ..text import fold, nfc
from .intake import (IntakeError, PhotoUpload, ReportSubmission, current_unit_by_code,
                     find_by_submission_key, submit_report, validate_submission)
from .public import Secrets, public_street, rounded_point, scrub
from .reference import HAI_PHONG_PROVINCE_CODE
from .tracking import normalise_tracking_code

DEFAULT_JURISDICTION = "haiphong.gov.vn"
DEFAULT_KEY_RATE_LIMIT = "60/minute"
DEMO_KEY_ENV = "HPSMART_DEMO_API_KEY"
DEMO_CLIENT_NAME = "Hải Phòng Smart (demo)"

# GET requests: the specification's default query ("a span of 90 days or first 1000
# requests returned, whichever is smallest"); an explicit start/end may not span more.
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000  # also the largest page_size
MAX_IDS = 1000  # service_request_id values in one GET requests
# start_date/end_date outside these are refused (so that the 90-day window never overflows).
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)
MAX_PAGE = 100_000  # far beyond 90 days of reports; keeps OFFSET within a 64-bit integer
# The published schema (request.json) limits a returned description to 4,000 characters
# (the specification's limit); intake accepts 5,000 in every door, so longer ones are
# cut in API responses (the whole text stays on the tracking page and in the inbox).
MAX_DESCRIPTION_OUT = 4000
# The API has no title: it is the description's first sentence, cut at a word boundary.
TITLE_MAX_CHARS = 80
MAX_CLIENT_REQUEST_ID = 255
MAX_MEDIA_URL = 2048
KEY_PREFIX = "hps311_"  # every issued key starts so; the first 12 characters are kept for display
KEY_PREFIX_SHOWN = 12

CLOSED_STATUSES = tuple(s for s in ReportStatus if s.is_closed)
API_CHANNELS = (Channel.APP, Channel.API)
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
_ATTRIBUTE_RE = re.compile(r"attribute\[([^\[\]]{1,100})\]")
_PRINTABLE_RE = re.compile(r"[\x21-\x7e]+")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Intake's field names -> the Open311 parameter a client has to fix.
FIELD_PARAMETERS = {
    "title": "description", "description": "description", "category_code": "service_code",
    "category_id": "service_code", "admin_unit_code": "address_id", "address": "address_string",
    "latitude": "lat", "longitude": "long", "reporter_name": "first_name/last_name",
    "reporter_phone": "phone", "reporter_email": "email", "consent": "attribute[consent]",
    "photos": "media", "submission_key": "attribute[client_request_id]",
}


class ApiError(Exception):
    """A request the API refuses, in the specification's error format.

    ``status`` is the HTTP status (400 missing or invalid argument, 403 missing or
    invalid ``api_key``, 404 unknown id or service); ``descriptions`` the localized
    messages, one per error. :meth:`as_list` gives ``[{"code": status, "description": ...}]``.
    """

    def __init__(self, status: int, descriptions: list[str] | str):
        if isinstance(descriptions, str):
            descriptions = [descriptions]
        self.status = status
        self.descriptions = [str(d) for d in descriptions]
        super().__init__("; ".join(self.descriptions))

    def as_list(self) -> list[dict]:
        """``[{"code": <HTTP status, int>, "description": <str>}, ...]``."""
        return [{"code": self.status, "description": d} for d in self.descriptions]


class ApiClientError(ValueError):
    """An API client cannot be issued as asked; ``str(error)`` is a localized message,
    ``field`` the argument at fault (``name``, ``rate_limit``, ``channel`` or ``key``)."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


def clean(value: str | None) -> str:
    """Text received from a client: without NUL characters (PostgreSQL text cannot hold
    U+0000), NFC-normalised and stripped (``hpsmart.text.nfc``); None gives ``""``."""
    return nfc((value or "").replace("\x00", ""))


def _setting(name: str, default: str) -> str:
    if has_app_context():
        return str(current_app.config.get(name) or default)
    return default


def jurisdiction() -> str:
    """The ``jurisdiction_id`` of this server: the setting ``OPEN311_JURISDICTION``."""
    return _setting("OPEN311_JURISDICTION", DEFAULT_JURISDICTION)


def check_jurisdiction(value: str | None) -> None:
    """Accept an absent ``jurisdiction_id`` or this server's.

    The specification makes ``jurisdiction_id`` optional for a server that serves
    one jurisdiction. :raises ApiError: 400 for any other value.
    """
    value = clean(value)
    if value and value.lower() != jurisdiction().lower():
        raise ApiError(400, _("jurisdiction_id: this server serves only %(jurisdiction)s; send that value "
                              "or leave the parameter out.", jurisdiction=jurisdiction()))


def local_iso(value: datetime | None) -> str | None:
    """An aware UTC datetime as ISO 8601 in Asia/Ho_Chi_Minh, to the second
    (``2026-11-30T14:05:00+07:00``); None stays None."""
    if value is None:
        return None
    return to_local(value).isoformat(timespec="seconds")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (C0 controls but tab, LF, CR)."""
    return _XML_INVALID.sub("", text)


# --------------------------------------------------------------------------- services


def category_attributes(category: Category) -> list[dict]:
    """The extra questions of a category, as service-definition ``attributes``.

    Each is ``{"variable", "code", "datatype", "required", "datatype_description",
    "order", "description", "values": [{"key", "name"}]}``. No category asks any yet
    (the category model has no such field), so this returns ``[]``; it is the one
    place to change when categories gain questions.
    """
    return []


def _active_categories() -> list[Category]:
    return list(db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.sort_order, Category.code)))


def service_resource(category: Category, locale: str) -> dict:
    """One Open311 *service* for ``category``, names in ``locale`` ('vi' or 'en')."""
    description = category.description_en if locale == "en" else category.description_vi
    return {
        "service_code": category.code,
        "service_name": category.name(locale),
        "description": description or None,
        "metadata": bool(category_attributes(category)),
        "type": "realtime",  # the service request id is issued at once (no token step)
        "keywords": category.keywords or None,
        "group": category.group or None,
    }


def service_list(locale: str) -> list[dict]:
    """GET services: every active category as a service, in the categories' order."""
    return [service_resource(c, locale) for c in _active_categories()]


def _category(code: str | None) -> Category | None:
    code = clean(code)
    if not code:
        return None
    category = db.session.scalar(select(Category).where(Category.code == code))
    return category if category is not None and category.active else None


def service_definition(code: str, locale: str) -> dict:
    """GET services/{service_code}: ``{"service_code", "attributes": [...]}``.

    :raises ApiError: 404 for an unknown service and for a service with
        ``metadata`` false (the specification defines definitions only for those).
    """
    category = _category(code)
    if category is None:
        raise ApiError(404, _("service_code %(code)s does not exist. GET services lists the codes.",
                              code=clean(code)))
    attributes = category_attributes(category)
    if not attributes:
        raise ApiError(404, _("Service %(code)s has no extra attributes (its metadata is false): send "
                              "a request without a service definition.", code=category.code))
    return {"service_code": category.code, "attributes": attributes}


# --------------------------------------------------------------------------- API keys


def hash_api_key(key: str) -> str:
    """SHA-256 of an API key, 64 lower-case hex digits (what ``ApiClient.key_hash`` stores)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_rate_limit(value: str) -> str:
    """A Flask-Limiter limit string (``60/minute``, ``1000/day;100/hour``), stripped.

    :raises ApiClientError: when it does not parse.
    """
    value = clean(value)
    try:
        if not value or not parse_many(value):
            raise ValueError(value)
    except ValueError:
        raise ApiClientError(_("Write the rate limit as a number per period, for example 60/minute or "
                               "1000/day."), "rate_limit") from None
    return value


def issue_api_client(name: str, *, rate_limit: str | None = None, channel: Channel | str = Channel.API,
                     created_by: User | None = None, key: str | None = None,
                     now: datetime | None = None) -> tuple[ApiClient, str]:
    """Create an API client and its key (flushes; the caller commits).

    :param name: the application's name (1-120 characters after NFC).
    :param rate_limit: Flask-Limiter limit string; default the setting ``OPEN311_KEY_RATE_LIMIT``.
    :param channel: ``app`` (the city's mobile app) or ``api`` (another Open311 client):
        what the reports it sends are recorded as.
    :param key: the key to use (the demo key); default a new random one,
        ``hps311_`` + 43 URL-safe characters (256 bits from ``secrets``).
    :returns: ``(client, key)``: the key in clear, to show once; only its SHA-256 is stored.
    :raises ApiClientError: empty or long name, bad limit or channel, a key already in use.
    """
    name = clean(name)
    if not name or len(name) > 120:
        raise ApiClientError(_("Give the application a name (at most 120 characters)."))
    rate_limit = check_rate_limit(rate_limit or _setting("OPEN311_KEY_RATE_LIMIT", DEFAULT_KEY_RATE_LIMIT))
    try:
        channel = Channel(channel)
    except ValueError:
        channel = None
    if channel not in API_CHANNELS:
        raise ApiClientError(_("Choose whether the application is the city's mobile app or another "
                               "Open311 client."), "channel")
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    key_hash = hash_api_key(key)
    if db.session.scalar(select(ApiClient.id).where(ApiClient.key_hash == key_hash)) is not None:
        raise ApiClientError(_("This key is already in use."), "key")
    client = ApiClient(name=name, key_hash=key_hash, key_prefix=key[:KEY_PREFIX_SHOWN], rate_limit=rate_limit,
                       jurisdiction=jurisdiction(), channel=channel, created_by=created_by,
                       created_at=now or utcnow())
    db.session.add(client)
    db.session.flush()
    return client, key


def revoke_api_client(client: ApiClient, now: datetime | None = None) -> bool:
    """Revoke ``client``'s key from ``now`` (aware UTC; flushes).

    :returns: False when it was already revoked (nothing changes).
    """
    if client.revoked_at is not None:
        return False
    client.revoked_at = now or utcnow()
    db.session.flush()
    return True


def client_for_key(raw_key: str | None) -> ApiClient | None:
    """The active client whose key is ``raw_key``, or None (no key, unknown, revoked,
    or issued for another jurisdiction). Compares the SHA-256 of the key."""
    key = clean(raw_key)
    if not key or len(key) > 200:
        return None
    key_hash = hash_api_key(key)
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_hash == key_hash))
    if client is None or not hmac.compare_digest(client.key_hash, key_hash) or not client.is_active:
        return None
    if client.jurisdiction.lower() != jurisdiction().lower():
        return None
    return client


def authenticate(raw_key: str | None) -> ApiClient:
    """The client of a POST. :raises ApiError: 403 when the key is missing, unknown or revoked."""
    if not (raw_key or "").strip():
        raise ApiError(403, _("api_key is missing. Ask the city's administrator for a key."))
    client = client_for_key(raw_key)
    if client is None:
        raise ApiError(403, _("api_key is not valid (unknown or revoked)."))
    return client


def ensure_demo_api_client() -> ApiClient | None:
    """The demo data's API client: key = the environment variable ``HPSMART_DEMO_API_KEY``.

    Does nothing (returns None) when the variable is unset or blank. Idempotent: a client
    with that key is kept (and un-revoked); otherwise ``DEMO_CLIENT_NAME`` (channel ``app``)
    is issued with it. Flushes; the caller commits.
    """
    key = os.environ.get(DEMO_KEY_ENV, "").strip()
    if not key:
        return None
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_hash == hash_api_key(key)))
    if client is not None:
        client.revoked_at = None
        client.jurisdiction = jurisdiction()
        db.session.flush()
        return client
    client, _key = issue_api_client(DEMO_CLIENT_NAME, channel=Channel.APP, key=key)
    return client


# --------------------------------------------------------------------------- POST requests


@dataclass
class CreatedRequest:
    """The outcome of :func:`create_request`: the report, False when it already existed
    (a retry with the same client request id), and its token."""

    report: Report
    created: bool
    token: str


def title_from_description(description: str) -> str:
    """A report title made from an API description (GeoReport v2 has no title).

    The first line's first sentence (ended by ``.``, ``!``, ``?`` or ``…`` and a space),
    white space collapsed; cut at the last word boundary within ``TITLE_MAX_CHARS``
    characters with ``…`` when longer. ``""`` for an empty description.
    """
    text = clean(description)
    if not text:
        return ""
    first = text.splitlines()[0] if text.splitlines() else text
    first = re.split(r"(?<=[.!?…])\s", first, maxsplit=1)[0]
    first = " ".join(first.split()).rstrip(".")
    if not first:
        first = " ".join(text.split())
    if len(first) <= TITLE_MAX_CHARS:
        return first
    cut = first[:TITLE_MAX_CHARS - 1]
    if " " in cut:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def unit_named_in(address: str) -> AdministrativeUnit | None:
    """The current ward, commune or special zone of Hai Phong whose full name
    (``Phường Lê Chân``, ``Xã An Lão``, ``Đặc khu Cát Hải``; accents and case ignored)
    appears in ``address``; None when none or several different ones do."""
    folded = f" {fold(address)} "
    if not folded.strip():
        return None
    found: dict[int, AdministrativeUnit] = {}
    units = db.session.scalars(
        select(AdministrativeUnit).where(
            AdministrativeUnit.valid_to.is_(None),
            AdministrativeUnit.level.in_([UnitLevel.WARD, UnitLevel.COMMUNE, UnitLevel.SPECIAL_ZONE])))
    for unit in units:
        name = fold(unit.name)
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", folded):
            found[unit.id] = unit
    if len(found) != 1:
        return None
    unit = next(iter(found.values()))
    return unit if current_unit_by_code(unit.code) is not None else None


def _attributes(fields: Mapping[str, str]) -> dict[str, str]:
    """``{code: value}`` from ``attribute[code]=value`` parameters."""
    out = {}
    for name, value in fields.items():
        match = _ATTRIBUTE_RE.fullmatch(name)
        if match:
            out[match.group(1)] = value
    return out


def submission_key_for(client: ApiClient, client_request_id: str | None) -> str:
    """The ``Report.submission_key`` of a POST: SHA-256 hex (64 characters) of the client's id
    and its request id, so that two clients never share a key; a random 64-hex key when the
    client sent no request id (no idempotency, but the report still gets a token)."""
    if not client_request_id:
        return secrets.token_hex(32)
    return hashlib.sha256(f"open311:{client.id}:{client_request_id}".encode("utf-8")).hexdigest()


def _check_media_url(value: str) -> str | None:
    """None when ``value`` is an absolute http(s) URL of at most ``MAX_MEDIA_URL`` characters,
    else the message."""
    parts = urlsplit(value)
    if (len(value) > MAX_MEDIA_URL or parts.scheme.lower() not in ("http", "https") or not parts.netloc
            or any(ch.isspace() for ch in value)):
        return _("media_url: give a complete http:// or https:// address of at most %(max)d characters, "
                 "or leave it out.", max=MAX_MEDIA_URL)
    return None


def _full_name(first: str, last: str) -> str:
    """Vietnamese order, family name first: ``last_name first_name`` (either may be empty)."""
    return " ".join(part for part in (clean(last), clean(first)) if part)


def _intake_messages(errors: dict[str, list[str]]) -> list[str]:
    """Intake's per-field messages as API descriptions, ``"<parameter>: <message>"``."""
    errors = dict(errors)
    if "description" in errors:
        errors.pop("title", None)  # the title comes from the description
    out = []
    for field, messages in errors.items():
        parameter = FIELD_PARAMETERS.get(field)
        for message in messages:
            out.append(f"{parameter}: {message}" if parameter else message)
    return out


def create_request(client: ApiClient, fields: Mapping[str, str], photos: list[PhotoUpload],
                   upload_root: str, idempotency_key: str | None = None) -> CreatedRequest:
    """POST requests: validate and store a report through the intake service.

    :param client: the authenticated client (:func:`authenticate`).
    :param fields: the form parameters of the specification (``service_code``, ``lat``,
        ``long``, ``address_string``, ``address_id``, ``attribute[...]``, ``email``,
        ``first_name``, ``last_name``, ``phone``, ``description``, ``media_url``;
        ``device_id`` and ``account_id`` are ignored), as received.
    :param photos: files sent as multipart ``media`` (at most 5, as in the web form).
    :param upload_root: the setting ``UPLOAD_FOLDER``.
    :param idempotency_key: the ``Idempotency-Key`` header; ``attribute[client_request_id]``
        wins when both are given.
    :returns: :class:`CreatedRequest`. A retry with the same client request id returns
        the first report (``created`` False), whatever else it carries.
    :raises ApiError: 400 for every problem found (all at once), 404 for an unknown service.

    What the API does not carry is filled in: the title is
    :func:`title_from_description`; the reporter's name is ``last_name first_name``
    (Vietnamese order); consent to the processing of personal data (Nghị định
    13/2023/NĐ-CP) is given in the client application, whose terms of use require it,
    and is recorded as ``online`` unless ``attribute[consent]`` is false;
    ``attribute[name_public]`` true lets the name be shown publicly. The ward is
    ``address_id``, or the ward named in ``address_string``, or none when a point is
    given. ``media_url`` is not downloaded (the server fetches nothing from outside):
    it is kept as a link in the report's staff-only history, with the name of the
    client application.

    Transactions: :func:`submit_report` commits the report; the history note is then
    inserted in a new transaction that starts with that write (see :func:`_add_note`),
    which the caller commits.
    """
    fields = {name: value.replace("\x00", "") for name, value in fields.items() if isinstance(value, str)}
    attributes = _attributes(fields)
    request_id = clean(attributes.get("client_request_id")) or clean(idempotency_key)
    if request_id and (len(request_id) > MAX_CLIENT_REQUEST_ID or not _PRINTABLE_RE.fullmatch(request_id)):
        raise ApiError(400, _("attribute[client_request_id]: use at most %(max)d printable ASCII characters "
                              "without spaces (a UUID is fine).", max=MAX_CLIENT_REQUEST_ID))
    key = submission_key_for(client, request_id or None)
    existing = find_by_submission_key(key) if request_id else None
    if existing is not None:
        return CreatedRequest(existing, False, key)

    code = clean(fields.get("service_code"))
    if not code:
        raise ApiError(400, _("service_code is missing: choose one from GET services."))
    category = _category(code)
    if category is None:
        raise ApiError(404, _("service_code %(code)s does not exist. GET services lists the codes.", code=code))

    errors: list[str] = []
    drop_fields: set[str] = set()
    latitude, longitude = fields.get("lat"), fields.get("long")
    has_point = bool(clean(latitude) or clean(longitude))
    address = clean(fields.get("address_string"))
    address_id = clean(fields.get("address_id"))
    unit_code = None
    if address_id:
        unit = current_unit_by_code(address_id)
        if unit is None:
            errors.append(_("address_id: %(value)s is not the code of a current ward, commune or special zone "
                            "of Hai Phong (five digits, for example %(example)s).",
                            value=address_id, example=_example_unit_code()))
            drop_fields.add("admin_unit_code")
        else:
            unit_code = unit.code
    elif address:
        unit = unit_named_in(address)
        unit_code = unit.code if unit is not None else None
    if not has_point and unit_code is None and not address_id:
        errors.append(_("Give the place of the problem: lat and long, or address_id (the code of the ward or "
                        "commune), or an address_string that names the ward or commune (for example "
                        "“12 Tô Hiệu, Phường Lê Chân”)."))
        drop_fields.add("admin_unit_code")

    consent_raw = clean(attributes.get("consent")).lower()
    name_public_raw = clean(attributes.get("name_public")).lower()
    for name, raw in (("consent", consent_raw), ("name_public", name_public_raw)):
        if raw and raw not in _TRUE | _FALSE:
            errors.append(_("attribute[%(name)s]: write true or false.", name=name))
    media_url = clean(fields.get("media_url"))
    if media_url:
        problem = _check_media_url(media_url)
        if problem:
            errors.append(problem)

    description = fields.get("description") or ""
    submission = ReportSubmission(
        title=title_from_description(description), description=description, category_code=category.code,
        admin_unit_code=unit_code, address=address, latitude=latitude, longitude=longitude,
        reporter_name=_full_name(fields.get("first_name") or "", fields.get("last_name") or ""),
        reporter_phone=fields.get("phone") or "", reporter_email=fields.get("email") or "",
        reporter_name_public=name_public_raw in _TRUE, consent=consent_raw not in _FALSE,
        consent_method="online", channel=client.channel, submission_key=key, photos=list(photos))

    if errors:
        # Report the intake's problems too, in the same answer (nothing is stored).
        try:
            validate_submission(submission, check_photos=True)
        except IntakeError as error:
            errors.extend(_intake_messages({k: v for k, v in error.errors.items() if k not in drop_fields}))
        raise ApiError(400, errors)
    note = _origin_note(client, media_url)  # before intake commits: no read needed afterwards
    try:
        result = submit_report(submission, upload_root)
    except IntakeError as error:
        raise ApiError(400, _intake_messages(error.errors)) from None
    if result.created:
        _add_note(result.report, note)
    return CreatedRequest(result.report, result.created, key)


def _example_unit_code() -> str:
    unit = db.session.scalar(
        select(AdministrativeUnit).where(AdministrativeUnit.valid_to.is_(None),
                                         AdministrativeUnit.level == UnitLevel.WARD)
        .order_by(AdministrativeUnit.code).limit(1))
    return unit.code if unit is not None else f"{HAI_PHONG_PROVINCE_CODE:02d}..."


def _origin_note(client: ApiClient, media_url: str) -> str:
    """The staff-only history note of a report sent through the API: which client application
    sent it and its ``media_url`` link (not downloaded). In the default locale: a note is a record."""
    with force_locale(_setting("BABEL_DEFAULT_LOCALE", "vi")):
        parts = [_("Received through the Open311 API from the application “%(name)s” (key %(prefix)s…).",
                   name=client.name, prefix=client.key_prefix)]
        if media_url:
            parts.append(_("Photo link sent with the report (not downloaded): %(url)s", url=media_url))
        return " ".join(parts)


def _add_note(report: Report, note: str) -> None:
    """Append ``note`` to the history of the report that intake has just committed.

    The INSERT is the first statement of a new transaction, with the report's id taken from
    the identity map (no SELECT): on SQLite the transaction then takes the write lock at once
    and waits for it up to the busy timeout, instead of failing with "database is locked"
    when it would have to upgrade a read snapshot that another worker's commit made stale.
    """
    report_id = inspect(report).identity[0]
    # submit_report may leave a read transaction open (it reads the report back after its
    # commit): end it, so that the INSERT below starts a transaction of its own.
    db.session.commit()
    db.session.execute(insert(ReportEvent).values(report_id=report_id, action="note", note=note, public=False,
                                                  created_at=utcnow()))


def posted_resource(result: CreatedRequest, account_id: str | None) -> dict:
    """The POST response item: ``service_request_id``, ``token``, ``service_notice``
    (localized: tracking code and deadline, local date) and ``account_id`` (echoed, or None)."""
    report = result.report
    if report.deadline is not None:
        notice = _("Report received with tracking code %(code)s. The city will handle it by %(date)s at the "
                   "latest; follow it with this code.", code=report.tracking_code,
                   date=format_local_date(report.deadline))
    else:
        notice = _("Report received with tracking code %(code)s; follow it with this code.",
                   code=report.tracking_code)
    return {"service_request_id": report.tracking_code, "token": result.token, "service_notice": notice,
            "account_id": clean(account_id) or None}


# --------------------------------------------------------------------------- GET requests


def published_answers(reports: list[Report]) -> dict[int, str]:
    """The published answer of each published report: ``{report id: text}``.

    The one place that knows where the answer lives: the body of the latest published
    ``Response``; for reports published before answers had their own rows, the note of
    the latest public ``answer`` event or of the public status event that published it.
    """
    ids = [r.id for r in reports if r.status == ReportStatus.PUBLISHED]
    if not ids:
        return {}
    answers = {report_id: body for report_id, body in db.session.execute(
        select(Response.report_id, Response.body)
        .where(Response.report_id.in_(ids), Response.state == ResponseState.PUBLISHED)
        .order_by(Response.published_at, Response.id))}
    ids = [i for i in ids if i not in answers]
    if not ids:
        return answers
    rows = db.session.execute(
        select(ReportEvent.report_id, ReportEvent.note)
        .where(ReportEvent.report_id.in_(ids), ReportEvent.public.is_(True), ReportEvent.note.is_not(None),
               ReportEvent.note != "",
               or_(ReportEvent.action == "answer",
                   and_(ReportEvent.action == "status", ReportEvent.new_value == ReportStatus.PUBLISHED.value)))
        .order_by(ReportEvent.id))
    answers.update({report_id: note for report_id, note in rows})  # the latest wins
    return answers


def status_notes_for(reports: list[Report]) -> dict[int, str | None]:
    """Open311 ``status_notes`` of each report: ``{report id: text or None}``.

    Published: the answer (:func:`published_answers`). Rejected or duplicate: the
    public note of that decision (the reason; the original's tracking code). Open
    reports: None.
    """
    notes: dict[int, str | None] = {r.id: None for r in reports}
    notes.update(published_answers(reports))
    decided = {r.id: r.status.value for r in reports if r.status in (ReportStatus.REJECTED, ReportStatus.DUPLICATE)}
    if decided:
        rows = db.session.execute(
            select(ReportEvent.report_id, ReportEvent.new_value, ReportEvent.note)
            .where(ReportEvent.report_id.in_(list(decided)), ReportEvent.action == "status",
                   ReportEvent.public.is_(True), ReportEvent.note.is_not(None))
            .order_by(ReportEvent.id))
        for report_id, new_value, note in rows:
            if decided[report_id] == new_value and note:
                notes[report_id] = note
    return notes


def _address(report: Report) -> str | None:
    """The public address: the street without house or alley numbers (as on the public
    pages, :func:`hpsmart.services.public.public_street`), then the ward."""
    parts = [p for p in (public_street(report.address), report.admin_unit.name if report.admin_unit else None)
             if p]
    return ", ".join(parts) or None


def _media_url(report: Report, base_url: str) -> str | None:
    for photo in report.photos:
        if photo.hidden:
            continue
        url = photo.public_url
        if url:
            return urljoin(base_url, url)
    return None


def _description_out(text: str | None) -> str | None:
    if not text:
        return None
    if len(text) <= MAX_DESCRIPTION_OUT:
        return text
    return text[:MAX_DESCRIPTION_OUT - 1] + "…"


def request_resources(reports: list[Report], base_url: str, locale: str) -> list[dict]:
    """GET requests: each report as an Open311 *service request*.

    :param base_url: the API's scheme and host (``request.url_root``), for ``media_url``.
    :param locale: language of ``service_name``.
    :returns: dicts with exactly the keys of the specification but ``zipcode``; never any
        of the reporter's contact data. Texts are shown as on the public pages: the
        reporter's name (unless allowed), phone and e-mail scrubbed from the description
        and the status notes, the address without house numbers, the point rounded to
        about 110 m (:mod:`hpsmart.services.public`).
    """
    notes = status_notes_for(reports)
    out = []
    for report in reports:
        category = report.category
        secrets = Secrets.of(report)
        point = rounded_point(report.latitude, report.longitude)
        out.append({
            "service_request_id": report.tracking_code,
            "status": "closed" if report.status.is_closed else "open",
            "status_notes": scrub(notes[report.id], secrets) if notes.get(report.id) else None,
            "service_name": category.name(locale) if category is not None else None,
            "service_code": category.code if category is not None else "",
            "description": _description_out(scrub(report.description, secrets)),
            "agency_responsible": report.agency.name if report.agency is not None else None,
            "service_notice": None,
            "requested_datetime": local_iso(report.created_at),
            "updated_datetime": local_iso(report.updated_at),
            "expected_datetime": local_iso(report.deadline),
            "address": _address(report),
            "address_id": report.admin_unit.code if report.admin_unit is not None else None,
            "lat": point[0] if point else None,
            "long": point[1] if point else None,
            "media_url": _media_url(report, base_url),
        })
    return out


def _loaded():
    """``select(Report)`` loading only what a service request shows, with its category,
    agency, unit and photos. The reporter's contact columns are loaded only to scrub
    them out of the texts; they are never output."""
    return select(Report).options(
        load_only(Report.tracking_code, Report.description, Report.category_id, Report.address,
                  Report.admin_unit_id, Report.latitude, Report.longitude, Report.status, Report.deadline,
                  Report.agency_id, Report.created_at, Report.updated_at, Report.version,
                  Report.reporter_name, Report.reporter_phone, Report.reporter_email,
                  Report.reporter_name_public),
        selectinload(Report.category).load_only(Category.code, Category.name_vi, Category.name_en),
        selectinload(Report.agency).load_only(Agency.name),
        selectinload(Report.admin_unit).load_only(AdministrativeUnit.code, AdministrativeUnit.name),
        selectinload(Report.attachments).load_only(Attachment.report_id, Attachment.purpose,
                                                   Attachment.public_path, Attachment.hidden))


def request_by_id(raw_id: str) -> Report:
    """GET requests/{id}: the report with this tracking code (case and dashes forgiven).

    :raises ApiError: 404 when there is none.
    """
    code = normalise_tracking_code(raw_id or "")
    report = db.session.scalar(_loaded().where(Report.tracking_code == code)) if code else None
    if report is None:
        raise ApiError(404, _("No service request has the id %(id)s.", id=clean(raw_id)[:40]))
    return report


def parse_datetime(raw: str, name: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC.

    Without an offset it is read as Asia/Ho_Chi_Minh time; a date alone is the start
    of that local day. A ``+`` that reached us as a space (an unencoded ``+07:00`` in a
    query string) is put back. :raises ApiError: 400 naming the parameter ``name``.
    """
    text = clean(raw)
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_TZ)
        value = value.astimezone(timezone.utc)
        if not EARLIEST <= value <= LATEST:
            raise ValueError(text)
    except (ValueError, OverflowError):
        raise ApiError(400, _("%(name)s: write an ISO 8601 date and time, for example "
                              "2026-11-30T08:00:00+07:00.", name=name)) from None
    return value


def _positive_int(raw: str | None, name: str, default: int, maximum: int) -> int:
    text = clean(raw)
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not 1 <= int(text) <= maximum:
        raise ApiError(400, _("%(name)s: write a whole number from 1 to %(max)d.", name=name, max=maximum))
    return int(text)


def _split(raw: str | None) -> list[str]:
    return [part for part in (clean(p) for p in (raw or "").split(",")) if part]


def find_requests(args: Mapping[str, str], now: datetime | None = None) -> list[Report]:
    """GET requests: the reports matching the specification's filters, newest first.

    :param args: ``service_request_id`` (comma list; overrides every other filter, as
        the specification says), ``service_code`` (comma list), ``start_date``,
        ``end_date`` (ISO 8601, on ``requested_datetime``, both ends included; at most
        90 days apart; default the 90 days before ``now``, or 90 days from/to the one
        given), ``status`` (``open``, ``closed`` or both, comma-separated), ``page``
        (from 1) and ``page_size`` (1-1000, default 1000): the pagination extension.
    :param now: aware UTC "now" (default: the current time).
    :returns: at most ``page_size`` reports, with category, agency, unit and attachments loaded.
    :raises ApiError: 400 for a malformed or out-of-range parameter or an unknown service code.
    """
    args = {name: clean(value) for name, value in args.items() if isinstance(value, str)}
    ids = _split(args.get("service_request_id"))
    if ids:
        if len(ids) > MAX_IDS:
            raise ApiError(400, _("service_request_id: at most %(max)d ids at once.", max=MAX_IDS))
        codes = {c for c in (normalise_tracking_code(i) for i in ids) if c}
        if not codes:
            return []
        return list(db.session.scalars(
            _loaded().where(Report.tracking_code.in_(codes)).order_by(Report.created_at.desc(), Report.id.desc())))

    errors = []
    query = _loaded()
    service_codes = _split(args.get("service_code"))
    if service_codes:
        known = set(db.session.scalars(select(Category.code).where(Category.code.in_(service_codes))))
        unknown = [c for c in service_codes if c not in known]
        if unknown:
            errors.append(_("service_code: %(codes)s does not exist. GET services lists the codes.",
                            codes=", ".join(unknown)))
        query = query.join(Category, Report.category_id == Category.id).where(Category.code.in_(service_codes))
    statuses = {s.lower() for s in _split(args.get("status"))}
    if statuses - {"open", "closed"}:
        errors.append(_("status: write open, closed or open,closed."))
    elif statuses == {"open"}:
        query = query.where(Report.status.not_in(CLOSED_STATUSES))
    elif statuses == {"closed"}:
        query = query.where(Report.status.in_(CLOSED_STATUSES))

    start = end = None
    for name in ("start_date", "end_date"):
        if clean(args.get(name)):
            try:
                value = parse_datetime(args[name], name)
            except ApiError as error:
                errors.extend(error.descriptions)
                continue
            if name == "start_date":
                start = value
            else:
                end = value
    try:
        page = _positive_int(args.get("page"), "page", 1, MAX_PAGE)
        page_size = _positive_int(args.get("page_size"), "page_size", MAX_RESULTS, MAX_RESULTS)
    except ApiError as error:
        errors.extend(error.descriptions)
        page, page_size = 1, MAX_RESULTS
    if errors:
        raise ApiError(400, errors)

    now = now or utcnow()
    if start is None and end is None:
        end, start = now, now - DEFAULT_WINDOW
    elif start is None:
        start = end - DEFAULT_WINDOW
    elif end is None:
        end = start + DEFAULT_WINDOW
    if start > end:
        raise ApiError(400, _("start_date must be before end_date."))
    if end - start > DEFAULT_WINDOW:
        raise ApiError(400, _("start_date and end_date may be at most 90 days apart; ask for a longer "
                              "period in several requests."))
    query = (query.where(Report.created_at >= start, Report.created_at <= end)
             .order_by(Report.created_at.desc(), Report.id.desc())
             .offset((page - 1) * page_size).limit(page_size))
    return list(db.session.scalars(query))


def token_resource(token: str) -> dict:
    """GET tokens/{token}: ``{"service_request_id", "token"}``.

    Reports are given their id at once (``type`` realtime), so a token is simply the
    report's submission key, returned by POST next to the id. :raises ApiError: 404
    for an unknown token.
    """
    token = clean(token)
    report = None
    if re.fullmatch(r"[0-9a-f]{64}", token or ""):
        report = find_by_submission_key(token)
    if report is None:
        raise ApiError(404, _("No service request has the token %(token)s.", token=token[:80]))
    return {"service_request_id": report.tracking_code, "token": token}
