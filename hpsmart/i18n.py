"""Language choice and local display of times.

Locale: the logged-in user's setting, then the ``lang`` cookie, then Vietnamese.
Times are stored in UTC and shown in Asia/Ho_Chi_Minh, Vietnamese style
(``30/11/2026 14:05``) in both languages.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_babel import gettext, ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Dates a person may type in a filter or a period: outside them a date is refused (a year
# like 0001 or 9999 would overflow when turned into a UTC instant).
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
LANG_COOKIE = "lang"


class LazyText(LazyString):
    """A translation made when it is used (in the language of the request then), as
    Flask-Babel's ``LazyString``, but plain text to Jinja: printed with ``{{ }}`` it is
    escaped, values included.

    Flask-Babel's ``LazyString.__html__`` hands Jinja the text unescaped, as if it were
    safe markup; a notice echoing a value from the URL ("Unknown category “<img …>”")
    then ran as script in the inbox (found by a newcomer's trial). No message of ours
    holds markup, so escaping every one is right.
    """

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> LazyText:
    """``gettext(string, **variables)`` when used, not now (for messages defined at import
    time: form labels, enum titles, notices); escaped when printed in a template."""
    return LazyText(gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyText:
    """``ngettext(singular, plural, num, **variables)`` when used; escaped when printed."""
    return LazyText(ngettext, singular, plural, num, **variables)


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


# --- numbers in the reader's language -------------------------------------------------------

#: Shown for a figure that does not exist (a rate with nothing to divide by).
NO_VALUE = "—"


def current_locale() -> str:
    """The Flask-Babel locale in force (the request's, or a ``force_locale`` block's) as
    ``"vi"``/``"en"``; ``"vi"`` outside any request or app context."""
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except RuntimeError:  # no application context
        locale = None
    return str(locale) if locale else "vi"


def _pattern(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def format_number(value: float | int | None, decimals: int = 0, locale: str | None = None) -> str:
    """A count or measure with the locale's separators (CLDR, through Babel):
    ``1.234`` and ``5,5`` in Vietnamese, ``1,234`` and ``5.5`` in English; ``NO_VALUE`` for None.

    :param decimals: digits after the decimal mark, always written (``4,0``); the value
        is rounded half to even.
    :param locale: default: ``current_locale()``.
    """
    if value is None:
        return NO_VALUE
    from babel.numbers import format_decimal

    return format_decimal(value, format=_pattern(decimals), locale=locale or current_locale())


def format_rate(rate: float | None, decimals: int = 1, locale: str | None = None) -> str:
    """A rate (0..1) as a percentage in the locale's style (CLDR): ``79,9%`` in Vietnamese,
    ``79.9%`` in English; ``NO_VALUE`` for None.

    :param decimals: digits after the decimal mark of the percentage.
    :param locale: default: ``current_locale()``.
    """
    if rate is None:
        return NO_VALUE
    from babel.numbers import format_percent

    return format_percent(rate, format=_pattern(decimals) + "%", locale=locale or current_locale())


def format_change(ratio: float | None, decimals: int = 0, locale: str | None = None) -> str:
    """A relative change (0.25 = 25 % more) with its sign: ``+25%``, ``−10%`` (minus sign),
    ``±0%``; ``NO_VALUE`` for None."""
    if ratio is None:
        return NO_VALUE
    shown = format_rate(abs(ratio), decimals, locale)
    zero = format_rate(0, decimals, locale)
    sign = "±" if shown == zero else ("+" if ratio > 0 else "−")
    return sign + shown
