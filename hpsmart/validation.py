"""Contact fields: one place that checks and normalises e-mail addresses.

Uses the ``email-validator`` library for syntax (RFC 5322/6531, internationalised
addresses). Its list of special-use domains is a documented, editable setting;
``.invalid`` (RFC 2606) is allowed here because test and demo data, and people
who have no address but must type one, use it — such mail is simply never
delivered.
"""
from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email

from .text import nfc

if "invalid" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("invalid")

MAX_EMAIL_LENGTH = 254  # RFC 5321 section 4.5.3.1.3, path limit less the angle brackets


def normalise_email(raw: str | None) -> str:
    """Return the address NFC-normalised, stripped and lower-cased.

    :param raw: what the person typed.
    :returns: the normalised address (``str``).
    :raises ValueError: when it is empty, longer than ``MAX_EMAIL_LENGTH``
        characters, or not a syntactically valid address (no DNS look-up is made).
    """
    value = nfc(raw).lower()
    if not value or len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(value)
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError(value) from None
