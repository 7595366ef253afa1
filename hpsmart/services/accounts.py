"""Accounts: creating users and checking logins."""
from __future__ import annotations

from functools import cache


from werkzeug.security import check_password_hash, generate_password_hash

from .. import validation
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import Agency, Role, User, utcnow
from ..text import nfc

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user could not be created or changed; ``str(error)`` is a localized message."""


def normalise_email(raw: str) -> str:
    """NFC-normalise, strip and lower-case an e-mail address; validate its syntax.

    :raises AccountError: when it is not a syntactically valid address.
    """
    try:
        return validation.normalise_email(raw)
    except ValueError:
        raise AccountError(_l("This is not a valid e-mail address: %(email)s", email=nfc(raw))) from None


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, else None.

    Checks a hash even for unknown e-mails, so response time does not reveal
    which addresses exist. Records ``last_login_at`` (UTC) on success.
    """
    try:
        address = normalise_email(email)
    except AccountError:
        return None
    user = db.session.scalar(db.select(User).where(User.email == address))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


def create_user(email: str, name: str, role: str | Role, password: str,
                agency_name: str | None = None, language: str = "vi") -> User:
    """Create a user and flush it.

    :param email: login address (normalised and validated).
    :param name: display name (NFC).
    :param role: a ``Role`` or its value (``admin``, ``ioc_operator``, ...).
    :param password: at least ``MIN_PASSWORD_LENGTH`` characters.
    :param agency_name: exact name of a current agency; required for agency staff and leads.
    :param language: ``vi`` or ``en``.
    :raises AccountError: invalid e-mail, existing e-mail, unknown role or agency,
        short password, or a missing agency for an agency role.
    """
    address = normalise_email(email)
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(_l("Unknown role: %(role)s. Use one of: %(roles)s", role=role,
                              roles=", ".join(r.value for r in Role))) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if language not in ("vi", "en"):
        raise AccountError(_l("Unknown language: %(lang)s. Use vi or en.", lang=language))
    if db.session.scalar(db.select(User.id).where(User.email == address)) is not None:
        raise AccountError(_l("A user with the e-mail %(email)s already exists.", email=address))
    agency = None
    if agency_name:
        agency = db.session.scalar(
            db.select(Agency).where(Agency.name == nfc(agency_name), Agency.valid_to.is_(None)))
        if agency is None:
            raise AccountError(_l("No current agency is named %(name)s.", name=nfc(agency_name)))
    elif role in (Role.AGENCY_STAFF, Role.AGENCY_LEAD):
        raise AccountError(_l("Agency staff and leads need an agency."))
    user = User(email=address, name=nfc(name) or address, role=role, agency=agency, language=language)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password")
