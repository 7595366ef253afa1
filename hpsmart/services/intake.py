"""Intake: the one place where a report enters hpsmart, whatever the door.

The public web form, the assisted form of the Digital Community teams and the
Open311 API all build a :class:`ReportSubmission` (a plain dataclass, no WTForms)
and call :func:`submit_report`. It

1. NFC-normalises every string (macOS and iOS send decomposed Vietnamese) and only
   then checks lengths, so the limits are the same in every door;
2. validates everything and raises :class:`IntakeError` with a message per field;
3. processes the photos (Pillow, :mod:`hpsmart.services.photos`) *outside* any
   database transaction, so a slow photo never holds SQLite's write lock;
4. writes the report (status ``new``, tracking code, provisional deadline), its
   first public history event ``created`` and its photo attachments in one short
   transaction, and commits it;
5. is idempotent: a second submission with the same ``submission_key`` returns the
   first report (``created=False``) instead of creating another one, also when the
   two arrive in parallel (unique constraint, savepoint, re-read).

Personal data (Nghị định 13/2023/NĐ-CP): the reporter's name, phone and e-mail are
stored on the report and never written to a log line.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import force_locale, gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import validation
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import (AdministrativeUnit, Attachment, Category, Channel, Report, ReportEvent,
                      ReportStatus, UnitLevel, Urgency, User, utcnow)
from ..permissions import Permission, role_can
from ..text import nfc, single_line
from .deadlines import deadline_for
from .photos import PhotoError, StoredPhoto, delete_stored, inspect_photo, store_photo
from .reference import HAI_PHONG_PROVINCE_CODE
from .tracking import next_tracking_code

log = logging.getLogger(__name__)

# Length limits, in characters after NFC normalisation; the same in every door.
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_ADDRESS = 255
MAX_NAME = 120
MAX_SUBMISSION_KEY = 64  # Report.submission_key column
MAX_PHOTOS = 5

# How the citizen consented to the processing of personal data (Nghị định 13/2023/NĐ-CP,
# Điều 11: consent must be given expressly and be verifiable): on the web form or in the
# app ("online"); to a Digital Community team member in person or on the phone.
CONSENT_METHODS = ("online", "in_person", "phone")
CONSENT_METHOD_TITLES = {"online": _l("Online, on the form"), "in_person": _l("In person"),
                         "phone": _l("By phone")}
# Assisted door: how the citizen reached the Digital Community team member. Not a
# column: written, with the member's own ward, in the staff-only note of the report's
# ``created`` event (the report itself has channel ``assisted`` and ``assisted_by``).
CITIZEN_CHANNELS = {
    "ward_office": _l("At the ward or commune office"),
    "street": _l("In the street, where the problem is"),
    "home": _l("At home (a house visit)"),
    "phone": _l("By phone"),
    "other": _l("Other"),
}

_PHONE_RE = re.compile(r"0(?:[35789]\d{8}|2\d{9})")
_SUBMISSION_KEY_RE = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_SUBMISSION_KEY)

# The area of Hai Phong city since 1 July 2025 (the former city and the former Hải
# Dương province, Nghị quyết 202/2025/QH15), as (latitude, longitude) in WGS84
# degrees. A hand-drawn polygon around the land, Cát Hải and Cát Bà with the Long
# Châu islands, plus a box around Bạch Long Vĩ special zone. It errs on the side
# of accepting: near the borders with Quảng Ninh, Bắc Ninh and Hưng Yên a point up
# to ~5 km outside may be accepted (the IOC corrects the place). Points clearly in
# another province, in the open sea or with a wrong sign are refused.
HAI_PHONG_POLYGON: tuple[tuple[float, float], ...] = (
    (21.00, 106.10),  # Cẩm Giàng, west (Hưng Yên / Bắc Ninh side)
    (21.04, 106.25),  # Nam Sách, north
    (21.12, 106.28),  # Chí Linh, west
    (21.24, 106.38),  # Chí Linh, north (Bắc Ninh side)
    (21.20, 106.48),
    (21.05, 106.55),  # Kinh Môn (Quảng Ninh, Đông Triều side)
    (21.02, 106.65),
    (21.03, 106.72),  # Thủy Nguyên, north
    (20.95, 106.77),  # Bạch Đằng river (Quảng Yên on the other bank)
    (20.87, 106.80),  # Nam Triệu estuary
    (20.88, 106.95),  # Cát Bà, north-west (Hạ Long Bay north of it)
    (20.87, 107.10),  # Cát Bà, north-east
    (20.75, 107.20),  # Lan Hạ Bay, east
    (20.58, 107.20),  # Long Châu islands
    (20.60, 106.95),  # sea south of Cát Bà
    (20.63, 106.82),  # Đồ Sơn, Hòn Dấu
    (20.55, 106.62),  # Văn Úc / Thái Bình river mouths
    (20.62, 106.42),  # Vĩnh Bảo, south (Hưng Yên, former Thái Bình, across the Hóa river)
    (20.68, 106.35),
    (20.63, 106.25),  # Ninh Giang / Thanh Miện, along the Luộc river
    (20.72, 106.15),  # Thanh Miện, west
    (20.88, 106.12),  # Bình Giang, west
)
# Bạch Long Vĩ special zone (island at about 20.13 N, 107.72 E), with its waters.
BACH_LONG_VI_BOX = ((20.05, 107.60), (20.20, 107.80))


@dataclass
class PhotoUpload:
    """A photo as received: its bytes and, for messages only, the name the person gave it."""

    data: bytes
    filename: str = ""


@dataclass
class ReportSubmission:
    """What a door received, before any checking. Every door fills this in.

    Strings may be NFD, padded or empty; ``submit_report`` normalises them.

    - ``category_code`` (Open311 ``service_code``) or ``category_id``: one of them.
    - ``title`` (≤ 200 characters), ``description`` (≤ 5000): required.
    - ``admin_unit_code``: code of a current ward/commune/special zone of Hai Phong
      (``AdministrativeUnit.code``, five digits); required unless a point is given.
    - ``address`` (≤ 255): street address, optional.
    - ``latitude``/``longitude``: WGS84 degrees as ``float`` or as the text typed
      (a dot is the decimal separator); both or neither; inside Hai Phong.
    - ``reporter_name`` (≤ 120) and ``reporter_phone`` (Vietnamese number,
      ``0xxxxxxxxx``/``+84xxxxxxxxx``, spaces and dots allowed): required.
      ``reporter_email``: optional. ``reporter_name_public``: may the name be shown.
    - ``consent``: the citizen consented to the processing of personal data
      (required, Nghị định 13/2023/NĐ-CP); ``consent_method``: one of ``CONSENT_METHODS``.
    - ``channel``: the door (``Channel`` or its value). Assisted door
      (``Channel.ASSISTED``): ``assisted_by_id`` (required), an active user who may
      assist intake (``Permission.ASSIST_INTAKE``); ``citizen_channel`` (required), a
      key of ``CITIZEN_CHANNELS``; ``consent_method`` ``in_person`` or ``phone``.
    - ``submission_key``: idempotency key (≤ 64 printable ASCII characters): the
      per-form key, or the API client's request id. None: no idempotency.
    - ``photos``: at most 5, each ``bytes`` or a :class:`PhotoUpload` (whose
      ``filename`` names it in error messages).
    """

    title: str = ""
    description: str = ""
    category_code: str | None = None
    category_id: int | None = None
    admin_unit_code: str | None = None
    address: str = ""
    latitude: float | str | None = None
    longitude: float | str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    reporter_name_public: bool = False
    consent: bool = False
    consent_method: str = "online"
    channel: Channel | str = Channel.WEB
    assisted_by_id: int | None = None
    citizen_channel: str = ""
    submission_key: str | None = None
    photos: list[bytes | PhotoUpload] = field(default_factory=list)


class IntakeError(ValueError):
    """The submission is refused; nothing was stored.

    ``errors`` is ``{field name: [localized message, ...]}``; the field names are
    those of :class:`ReportSubmission` (photo problems under ``photos``), so a form
    can show each message at its field and an API can list them. ``str(error)``
    joins all messages.
    """

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {k: list(v) for k, v in errors.items() if v}
        super().__init__("; ".join(m for msgs in self.errors.values() for m in msgs))


@dataclass
class IntakeResult:
    """The outcome of ``submit_report``: the report, and False when it already existed
    (same ``submission_key``) and nothing new was stored."""

    report: Report
    created: bool


@dataclass
class CleanSubmission:
    """A validated, normalised submission (``validate_submission``'s result): NFC text,
    ids instead of codes, the phone in national form, photos as :class:`PhotoUpload`."""

    title: str
    description: str
    category_id: int
    admin_unit_id: int | None
    address: str
    latitude: float | None
    longitude: float | None
    reporter_name: str
    reporter_phone: str
    reporter_email: str
    reporter_name_public: bool
    consent_method: str
    channel: Channel
    assisted_by_id: int | None
    citizen_channel: str
    submission_key: str | None
    photos: list[PhotoUpload]
    event_note: str | None = None  # staff-only note of the ``created`` event (assisted door)


# ---------------------------------------------------------------------------
# Field rules, usable on their own (tracking page, API).
# ---------------------------------------------------------------------------

def normalise_phone(raw: str | None) -> str:
    """A Vietnamese phone number in its national form, ``0xxxxxxxxx``.

    Accepts ``0912 345 678``, ``0912.345.678``, ``+84 912 345 678``, ``84912345678``,
    ``0084...``: mobile numbers (10 digits, 03/05/07/08/09) and fixed lines (11
    digits, 02x area codes), as in the national numbering plan (quy hoạch kho số
    viễn thông) since mobile numbers became 10 digits in 2018.

    :returns: the digits, starting with ``0`` (e.g. ``"0912345678"``).
    :raises ValueError: when it is not such a number.
    """
    compact = re.sub(r"[\s.\-()/]", "", nfc(raw))
    for prefix in ("+84", "0084"):
        if compact.startswith(prefix):
            # "+84 0912 345 678" is common too: drop the trunk 0 after the country code.
            compact = "0" + compact[len(prefix):].removeprefix("0")
            break
    else:
        if compact.startswith("84") and len(compact) in (11, 12):
            compact = "0" + compact[2:]
    national = compact
    if not _PHONE_RE.fullmatch(national):
        raise ValueError(raw)
    return national


def in_hai_phong(latitude: float, longitude: float) -> bool:
    """True when the WGS84 point lies in Hai Phong city's area (``HAI_PHONG_POLYGON``
    or ``BACH_LONG_VI_BOX``; see their comment for the accuracy)."""
    (south, west), (north, east) = BACH_LONG_VI_BOX
    if south <= latitude <= north and west <= longitude <= east:
        return True
    inside = False
    points = HAI_PHONG_POLYGON
    j = len(points) - 1
    for i, (lat_i, lon_i) in enumerate(points):
        lat_j, lon_j = points[j]
        if (lat_i > latitude) != (lat_j > latitude):
            crossing = lon_i + (latitude - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if longitude < crossing:
                inside = not inside
        j = i
    return inside


def _parse_coordinate(value: float | int | str | None) -> tuple[float | None, str | None]:
    """``(degrees or None, error message or None)`` for one typed coordinate."""
    if value is None:
        return None, None
    if isinstance(value, str):
        text = nfc(value)
        if not text:
            return None, None
        if re.fullmatch(r"[+-]?\d+,\d+", text):
            return None, _("Use a dot, not a comma, as the decimal separator (for example 20.8449).")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            return None, _("Enter the coordinate as decimal degrees, for example 20.8449.")
        number = float(text)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, _("Enter the coordinate as decimal degrees, for example 20.8449.")
    else:
        number = float(value)
    if not math.isfinite(number):
        return None, _("Enter the coordinate as decimal degrees, for example 20.8449.")
    return number, None


def check_location(latitude: float | str | None, longitude: float | str | None
                   ) -> tuple[float | None, float | None, dict[str, list[str]]]:
    """Parse and check an optional point.

    :returns: ``(latitude, longitude, errors)``; both None when no point was given;
        ``errors`` is ``{"latitude"|"longitude": [message]}``, empty when fine.
    """
    errors: dict[str, list[str]] = {}
    lat, lat_error = _parse_coordinate(latitude)
    lon, lon_error = _parse_coordinate(longitude)
    if lat_error:
        errors["latitude"] = [lat_error]
    if lon_error:
        errors["longitude"] = [lon_error]
    if errors:
        return None, None, errors
    if lat is None and lon is None:
        return None, None, {}
    if lat is None or lon is None:
        missing = "latitude" if lat is None else "longitude"
        return None, None, {missing: [_("Give both latitude and longitude, or leave both empty.")]}
    swapped = -90 <= lon <= 90 and in_hai_phong(lon, lat)
    if swapped and not in_hai_phong(lat, lon):
        return None, None, {"latitude": [_(
            "Latitude and longitude seem to be swapped: in Hai Phong the latitude is about 20–21 "
            "and the longitude about 106–107. Exchange the two values.")]}
    if not -90 <= lat <= 90:
        errors["latitude"] = [_("The latitude must be between -90 and 90 degrees.")]
    if not -180 <= lon <= 180:
        errors["longitude"] = [_("The longitude must be between -180 and 180 degrees.")]
    if errors:
        return None, None, errors
    if not in_hai_phong(lat, lon):
        return None, None, {"latitude": [_(
            "This point is outside Hai Phong city. Check the point, or leave it empty and "
            "describe the place in the address.")]}
    return lat, lon, {}


def _text(errors: dict, name: str, value: str | None, limit: int, required: bool,
          required_message: str, one_line: bool = True) -> str:
    text = single_line(value) if one_line else nfc(value)
    if required and not text:
        errors.setdefault(name, []).append(required_message)
    elif len(text) > limit:
        errors.setdefault(name, []).append(
            _("At most %(limit)d characters; this has %(count)d.", limit=limit, count=len(text)))
    return text


def _as_upload(photo: bytes | PhotoUpload) -> PhotoUpload:
    if isinstance(photo, PhotoUpload):
        return PhotoUpload(bytes(photo.data), nfc(photo.filename))
    return PhotoUpload(bytes(photo), "")


def _photo_message(index: int, upload: PhotoUpload, error: PhotoError) -> str:
    if upload.filename:
        return _("%(name)s: %(problem)s", name=upload.filename, problem=str(error))
    return _("Photo %(number)d: %(problem)s", number=index + 1, problem=str(error))


def _find_category(sub: ReportSubmission) -> Category | None:
    if sub.category_id is not None:
        try:
            return db.session.get(Category, int(sub.category_id))
        except (TypeError, ValueError):
            return None
    code = nfc(sub.category_code)
    return db.session.scalar(select(Category).where(Category.code == code)) if code else None


def current_unit_by_code(code: str | None) -> AdministrativeUnit | None:
    """The current ward, commune or special zone of Hai Phong with this code, or None.

    :param code: ``AdministrativeUnit.code`` (five digits; surrounding spaces ignored).
    """
    code = nfc(code)
    if not code:
        return None
    unit = db.session.scalar(select(AdministrativeUnit).where(AdministrativeUnit.code == code))
    if (unit is None or unit.valid_to is not None
            or unit.level not in (UnitLevel.WARD, UnitLevel.COMMUNE, UnitLevel.SPECIAL_ZONE)
            or unit.parent is None or unit.parent.code != f"{HAI_PHONG_PROVINCE_CODE:02d}"):
        return None
    return unit


def _assisted_note(member: User, citizen_channel: str, consent_method: str) -> str:
    """The staff-only note of an assisted report's ``created`` event, e.g. "Hỗ trợ tại: Phường
    An Biên · Cách người dân liên hệ: Tại trụ sở phường, xã · Hình thức đồng ý: Qua điện thoại".

    Records where the Digital Community member worked from (their own ward,
    ``User.admin_unit``, as it is at submission time; left out when they have none),
    how the citizen came (``CITIZEN_CHANNELS``) and how they consented, in the app's
    default locale (Vietnamese): a history note is a record and is not translated
    later. Public pages never show the note of a ``created`` event.
    """
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "vi") if has_app_context() else "vi"
    with force_locale(locale):
        parts = []
        if member.admin_unit is not None:
            parts.append(_("Helped from: %(unit)s", unit=member.admin_unit.name))
        if citizen_channel in CITIZEN_CHANNELS:
            parts.append(_("How the citizen came: %(how)s", how=CITIZEN_CHANNELS[citizen_channel]))
        if consent_method in CONSENT_METHOD_TITLES:
            parts.append(_("Consent: %(method)s", method=CONSENT_METHOD_TITLES[consent_method]))
        return " · ".join(parts)


def validate_submission(sub: ReportSubmission, *, check_photos: bool = True) -> CleanSubmission:
    """Normalise and check ``sub`` without storing anything.

    Reads the category and the administrative unit from the database.

    :param check_photos: also decode every photo's pixels, which finds a truncated or
        damaged file (``photos.inspect_photo(decode=True)``: ~20 ms per 12-MP JPEG,
        ~0.5 s per HEIC). The header checks (type from the bytes, size, pixel count)
        always run, so a bad photo is reported together with the other mistakes.
        ``submit_report`` passes False: ``store_photo`` decodes each photo anyway and
        refuses a damaged one there (each photo is decoded once).
    :raises IntakeError: with every problem found, per field.
    :raises TypeError: ``photos`` is not a list of photos.
    """
    errors: dict[str, list[str]] = {}
    title = _text(errors, "title", sub.title, MAX_TITLE, True, _("Give the report a short title."))
    description = _text(errors, "description", sub.description, MAX_DESCRIPTION, True,
                        _("Describe the problem."), one_line=False)
    address = _text(errors, "address", sub.address, MAX_ADDRESS, False, "")
    name = _text(errors, "reporter_name", sub.reporter_name, MAX_NAME, True, _("Enter your name."))

    category = _find_category(sub)
    if category is None or not category.active:
        errors["category_code"] = [_("Choose a category from the list.")]

    latitude, longitude, location_errors = check_location(sub.latitude, sub.longitude)
    for key, messages in location_errors.items():
        errors.setdefault(key, []).extend(messages)

    unit = None
    if nfc(sub.admin_unit_code):
        unit = current_unit_by_code(sub.admin_unit_code)
        if unit is None:
            errors["admin_unit_code"] = [_("Choose a ward, commune or special zone of Hai Phong from the list.")]
    elif latitude is None and "latitude" not in errors and "longitude" not in errors:
        errors["admin_unit_code"] = [_("Choose the ward or commune where the problem is, or give a point "
                                       "on the map.")]

    phone = ""
    if not nfc(sub.reporter_phone):
        errors["reporter_phone"] = [_("Enter your phone number, so that the city can reach you and you "
                                      "can see the details of your report.")]
    else:
        try:
            phone = normalise_phone(sub.reporter_phone)
        except ValueError:
            errors["reporter_phone"] = [_("Enter a Vietnamese phone number, for example 0912 345 678 or "
                                          "+84 912 345 678.")]

    email = ""
    if nfc(sub.reporter_email):
        try:
            email = validation.normalise_email(sub.reporter_email)
        except ValueError:
            errors["reporter_email"] = [_("This is not a valid e-mail address. Correct it or leave it empty.")]

    if not sub.consent:
        errors["consent"] = [_("Your consent is needed to process your report: without your name and "
                               "phone number the city cannot handle it.")]
    consent_method = nfc(sub.consent_method) or "online"
    if consent_method not in CONSENT_METHODS:
        errors["consent_method"] = [_("Choose how the citizen gave consent.")]

    try:
        channel = Channel(sub.channel)
    except ValueError:
        channel = Channel.WEB
        errors["channel"] = [_("Choose the channel the report came through.")]

    citizen_channel = nfc(sub.citizen_channel)
    member = None
    if channel == Channel.ASSISTED:
        if citizen_channel not in CITIZEN_CHANNELS:
            errors["citizen_channel"] = [_("Choose how the citizen came to you.")]
        if consent_method == "online":
            errors["consent_method"] = [_("Choose how the citizen gave consent.")]
        try:
            member = db.session.get(User, int(sub.assisted_by_id))
        except (TypeError, ValueError):
            member = None
        if member is None or not member.active or not role_can(member.role, Permission.ASSIST_INTAKE):
            errors["assisted_by_id"] = [_("Only a Digital Community team member can send an assisted "
                                          "report. Log in again.")]
    elif citizen_channel and citizen_channel not in CITIZEN_CHANNELS:
        errors["citizen_channel"] = [_("Choose how the citizen came to you.")]

    key = nfc(sub.submission_key) or None
    if key is not None and not _SUBMISSION_KEY_RE.fullmatch(key):
        errors["submission_key"] = [_("The form is damaged. Reload the page and send it again.")]

    if isinstance(sub.photos, (bytes, bytearray, PhotoUpload)):
        raise TypeError("photos must be a list of photos")
    uploads = [_as_upload(p) for p in sub.photos or []]
    if len(uploads) > MAX_PHOTOS:
        errors["photos"] = [_("You can send at most %(max)d photos; you chose %(count)d.",
                              max=MAX_PHOTOS, count=len(uploads))]
    else:
        # Bad photos are reported together with the other mistakes (one round trip for
        # the person); the header checks cost ~1 ms a photo.
        for index, upload in enumerate(uploads):
            try:
                inspect_photo(upload.data, decode=check_photos)
            except PhotoError as error:
                errors.setdefault("photos", []).append(_photo_message(index, upload, error))

    if errors:
        raise IntakeError(errors)
    return CleanSubmission(
        title=title, description=description, category_id=category.id,
        admin_unit_id=unit.id if unit else None, address=address,
        latitude=latitude, longitude=longitude, reporter_name=name, reporter_phone=phone,
        reporter_email=email, reporter_name_public=bool(sub.reporter_name_public),
        consent_method=consent_method, channel=channel,
        assisted_by_id=int(sub.assisted_by_id) if sub.assisted_by_id is not None else None,
        citizen_channel=citizen_channel, submission_key=key, photos=uploads,
        event_note=_assisted_note(member, citizen_channel, consent_method) if member is not None else None)


def find_by_submission_key(key: str | None) -> Report | None:
    """The report created with this idempotency key, or None."""
    key = nfc(key)
    if not key:
        return None
    return db.session.scalar(select(Report).where(Report.submission_key == key))


def _store_photos(uploads: list[PhotoUpload], upload_root: str | Path) -> list[StoredPhoto]:
    """Write every photo; all or nothing. :raises IntakeError: a photo was refused."""
    stored: list[StoredPhoto] = []
    problems: list[str] = []
    try:
        for index, upload in enumerate(uploads):
            try:
                stored.append(store_photo(upload.data, upload_root))
            except PhotoError as error:
                problems.append(_photo_message(index, upload, error))
    except BaseException:
        _delete_all(stored, upload_root)
        raise
    if problems:
        _delete_all(stored, upload_root)
        raise IntakeError({"photos": problems})
    return stored


def _delete_all(stored: list[StoredPhoto], upload_root: str | Path) -> None:
    for photo in stored:
        try:
            delete_stored(photo, upload_root)
        except OSError:
            log.exception("could not delete a stored photo after a failed intake")


def submit_report(sub: ReportSubmission, upload_root: str | Path) -> IntakeResult:
    """Validate and store a report with its photos and first history event, and commit.

    :param sub: what the door received.
    :param upload_root: the upload folder (the setting ``UPLOAD_FOLDER``).
    :returns: :class:`IntakeResult`; ``created`` is False when a report with the same
        ``submission_key`` already exists (it is returned, nothing else happens).
    :raises IntakeError: invalid input (nothing stored, no file left behind).
    :raises OSError, sqlalchemy.exc.SQLAlchemyError: the disk or the database failed
        (the photo files written are removed first).

    Transactions: this function owns them. Call it with no pending changes in
    ``db.session``: it commits the read it starts with (lookups, no writes), does the
    photo work with no transaction open, then writes everything in one short
    transaction that starts with a write (so SQLite takes its write lock at once
    and waits for it up to the busy timeout, instead of failing on a stale
    snapshot) and commits it.

    What is stored: status ``new``; a tracking code (``next_tracking_code``);
    ``consent_at`` = time of receipt; a *provisional* deadline counted from receipt
    with the category's normal number of working days
    (``deadlines.deadline_for(category, Urgency.NORMAL, received)``), which the
    workflow recomputes from acceptance; a public ``created`` event; one
    ``Attachment`` (purpose ``report``) per photo.
    """
    existing = find_by_submission_key(sub.submission_key)
    if existing is not None:
        return IntakeResult(existing, False)
    clean = validate_submission(sub, check_photos=False)
    db.session.commit()  # end the read-only transaction before the slow part

    stored = _store_photos(clean.photos, upload_root)
    try:
        report = _write(clean, stored)
    except IntegrityError:
        db.session.rollback()
        _delete_all(stored, upload_root)
        existing = find_by_submission_key(clean.submission_key)
        if existing is None:
            raise
        db.session.commit()
        return IntakeResult(existing, False)
    except BaseException:
        db.session.rollback()
        _delete_all(stored, upload_root)
        raise
    log.info("report %s received via %s with %d photo(s)", report.tracking_code, clean.channel.value,
             len(stored))
    return IntakeResult(report, True)


def _write(clean: CleanSubmission, stored: list[StoredPhoto]) -> Report:
    """Insert the report, its event and attachments, and commit.

    :raises IntegrityError: the ``submission_key`` was taken meanwhile (savepoint
        rolled back; the caller re-reads the winner).
    """
    received: datetime = utcnow()
    with db.session.begin_nested():
        # The counter UPDATE is the first statement: it takes the write lock.
        code = next_tracking_code(received)
        category = db.session.get(Category, clean.category_id)
        unit = db.session.get(AdministrativeUnit, clean.admin_unit_id) if clean.admin_unit_id else None
        report = Report(
            tracking_code=code, title=clean.title, description=clean.description, category=category,
            admin_unit=unit, address=clean.address, latitude=clean.latitude, longitude=clean.longitude,
            reporter_name=clean.reporter_name, reporter_phone=clean.reporter_phone,
            reporter_email=clean.reporter_email, reporter_name_public=clean.reporter_name_public,
            consent_method=clean.consent_method, consent_at=received, channel=clean.channel,
            status=ReportStatus.NEW, urgency=Urgency.NORMAL,
            deadline=deadline_for(category, Urgency.NORMAL, received),
            assisted_by_id=clean.assisted_by_id, submission_key=clean.submission_key,
            created_at=received, updated_at=received,
        )
        db.session.add(report)
        db.session.flush()
        db.session.add(ReportEvent(report=report, action="created", new_value=ReportStatus.NEW.value,
                                   public=True, created_at=received, actor_id=clean.assisted_by_id,
                                   note=clean.event_note))
        for photo in stored:
            db.session.add(Attachment(report=report, purpose="report", kind="photo", created_at=received,
                                      **dataclasses.asdict(photo)))
        db.session.flush()
    db.session.commit()
    return report
