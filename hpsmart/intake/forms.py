"""Forms of the public intake door.

The fields carry no validators: every rule lives in
:mod:`hpsmart.services.intake` (one place for every door), and its
``IntakeError`` messages are put on the fields of the same name. The forms only
check their CSRF token.
"""
from __future__ import annotations

import json
import re

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (BooleanField, EmailField, HiddenField, MultipleFileField, SelectField, StringField,
                     TelField, TextAreaField)

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import AdministrativeUnit, Category, UnitLevel
from ..services.intake import BACH_LONG_VI_BOX, HAI_PHONG_POLYGON, PhotoUpload, ReportSubmission
from ..services.reference import HAI_PHONG_PROVINCE_CODE
from ..text import vietnamese_sort_key

_UNIT_PREFIX = re.compile(r"^(Phường|Xã|Đặc khu)\s+")

# Name of the honeypot field: hidden from people by CSS, left empty by them; bots fill it.
HONEYPOT_FIELD = "website"


class ReportForm(FlaskForm):
    """The public report form. Field names are those of ``ReportSubmission``.

    ``submission_key`` is the per-form idempotency key (set when the form is first
    rendered, sent back unchanged); ``website`` is the honeypot.
    """

    category_code = SelectField(_l("Category"), validate_choice=False)
    title = StringField(_l("Title"))
    description = TextAreaField(_l("What is the problem?"), render_kw={"rows": 6})
    admin_unit_code = SelectField(_l("Ward, commune or special zone"), validate_choice=False)
    address = StringField(_l("Street address or landmark"))
    latitude = StringField(_l("Latitude"), render_kw={"inputmode": "decimal", "placeholder": "20.8449"})
    longitude = StringField(_l("Longitude"), render_kw={"inputmode": "decimal", "placeholder": "106.6881"})
    photos = MultipleFileField(_l("Photos (up to 5)"),
                               render_kw={"multiple": True, "accept": "image/*"})
    reporter_name = StringField(_l("Your name"))
    reporter_phone = TelField(_l("Phone number"))
    reporter_email = EmailField(_l("E-mail (optional)"))
    reporter_name_public = BooleanField(_l("Show my name publicly with the report"))
    consent = BooleanField(_l("I agree that my personal data is processed as described above."))
    submission_key = HiddenField()
    website = StringField(_l("Leave this field empty"),
                          render_kw={"autocomplete": "off", "tabindex": "-1"})

    def uploads(self) -> list[PhotoUpload]:
        """The chosen files, read into memory; an empty file input (nothing chosen) is
        skipped, a chosen 0-byte file is kept so that it gets its own message."""
        uploads = []
        for storage in self.photos.data or []:
            if not hasattr(storage, "read"):
                continue
            data = storage.read()
            if not data and not storage.filename:
                continue
            uploads.append(PhotoUpload(data, storage.filename or ""))
        return uploads

    def to_submission(self, photos: list[PhotoUpload], **door) -> ReportSubmission:
        """The typed values as a ``ReportSubmission`` with ``photos``; ``door`` sets the
        fields the door decides (``channel``, ``consent_method``, ``assisted_by_id``,
        ``citizen_channel``)."""
        return ReportSubmission(
            category_code=self.category_code.data, title=self.title.data or "",
            description=self.description.data or "", admin_unit_code=self.admin_unit_code.data,
            address=self.address.data or "", latitude=self.latitude.data, longitude=self.longitude.data,
            reporter_name=self.reporter_name.data or "", reporter_phone=self.reporter_phone.data or "",
            reporter_email=self.reporter_email.data or "",
            reporter_name_public=bool(self.reporter_name_public.data), consent=bool(self.consent.data),
            submission_key=self.submission_key.data or None, photos=photos, **door)

    def show_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Put the messages of an ``IntakeError`` (``{field: [message]}``) on the fields of the
        same name; returns those that belong to no visible field, for the top of the form."""
        form_level = []
        for name, messages in errors.items():
            if name in self and self[name].type not in ("HiddenField", "CSRFTokenField"):
                self[name].errors = list(messages)
            else:
                form_level.extend(messages)
        return form_level

    def map_settings(self) -> dict[str, str]:
        """Data attributes of the point picker (``static/js/map.js``): ``tile-url`` (the
        setting MAP_TILE_URL, empty: a map without background), ``attribution``
        (MAP_TILE_ATTRIBUTION), ``outline`` (JSON ``[[lat, lon], ...]`` polygons of Hai
        Phong's area, the ones the intake service checks a point against)."""
        (south, west), (north, east) = BACH_LONG_VI_BOX
        outline = [[list(point) for point in HAI_PHONG_POLYGON],
                   [[south, west], [north, west], [north, east], [south, east]]]
        return {"tile-url": current_app.config.get("MAP_TILE_URL", ""),
                "attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", ""),
                "outline": json.dumps(outline, separators=(",", ":"))}


class TrackForm(FlaskForm):
    """Tracking look-up: the code, and optionally the phone number given with the report."""

    code = StringField(_l("Tracking code"), render_kw={"placeholder": "HP-2026-000123",
                                                        "autocapitalize": "characters"})
    phone = TelField(_l("Phone number used for the report (optional, to see the details)"))


def category_choices(locale: str) -> list[tuple[str, str]]:
    """``[(code, name in locale), ...]`` of the active categories, in their sort order,
    after an empty "choose" entry."""
    rows = db.session.scalars(select(Category).where(Category.active.is_(True))
                              .order_by(Category.sort_order, Category.id)).all()
    return [("", str(_l("— Choose a category —")))] + [(c.code, c.name(locale)) for c in rows]


def unit_choices() -> list[tuple[str, str]]:
    """``[(code, name), ...]`` of Hai Phong's current wards, communes and special zones in
    Vietnamese alphabetical order of the name without "Phường"/"Xã"/"Đặc khu", after an
    empty "choose" entry."""
    city = db.session.scalar(select(AdministrativeUnit.id).where(
        AdministrativeUnit.code == f"{HAI_PHONG_PROVINCE_CODE:02d}"))
    rows = db.session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name).where(
            AdministrativeUnit.valid_to.is_(None), AdministrativeUnit.parent_id == city,
            AdministrativeUnit.level.in_([UnitLevel.WARD, UnitLevel.COMMUNE, UnitLevel.SPECIAL_ZONE]))
    ).all()
    # "Phường Lê Chân" is looked for under L: sort on the name after its type word.
    units = sorted(rows, key=lambda row: (vietnamese_sort_key(_UNIT_PREFIX.sub("", row.name)),
                                          vietnamese_sort_key(row.name)))
    return [("", str(_l("— Choose the ward or commune —")))] + [(row.code, row.name) for row in units]
