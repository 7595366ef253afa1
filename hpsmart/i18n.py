"""Language choice and local display of times.

Locale: the logged-in user's setting, then the ``lang`` cookie, then Vietnamese.
Times are stored in UTC and shown in Asia/Ho_Chi_Minh, Vietnamese style
(``30/11/2026 14:05``) in both languages.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_login import current_user

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Dates a person may type in a filter or a period: outside them a date is refused (a year
# like 0001 or 9999 would overflow when turned into a UTC instant).
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
LANG_COOKIE = "lang"


def select_locale() -> str:
    """Flask-Babel locale selector: user setting, then cookie, then ``BABEL_DEFAULT_LOCALE``."""
    languages = current_app.config["LANGUAGES"]
    user = current_user
    if user is not None and getattr(user, "is_authenticated", False) and user.language in languages:
        return user.language
    cookie = request.cookies.get(LANG_COOKIE) if request else None
    if cookie in languages:
        return cookie
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def to_local(value: datetime) -> datetime:
    """Convert an aware UTC datetime (or naive, taken as UTC) to Asia/Ho_Chi_Minh."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL_TZ)


def format_local_datetime(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Asia/Ho_Chi_Minh; ``""`` for None."""
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def format_local_date(value: datetime | date | None) -> str:
    """``dd/mm/yyyy``; a datetime is first converted to Asia/Ho_Chi_Minh; ``""`` for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")
