"""Settings, read from the environment.

Every setting has a safe default for a local pilot (SQLite under ``instance/``);
production sets at least ``SECRET_KEY`` and ``DATABASE_URL``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in ``instance/secret_key`` (mode 0600), made on first use.

    Used only when ``SECRET_KEY`` is not set: a pilot never runs with a key anyone
    can read in the source (which would let them forge a session cookie). Several
    workers on one machine share the file; production sets ``SECRET_KEY``.
    """
    path = instance / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


#: Who issues and signs the PDF documents (hpsmart/pdf/letterhead.py); empty: the default.
PDF_LETTERHEAD_SETTINGS = ("PDF_PARENT_BODY", "PDF_ISSUING_BODY", "PDF_DOCUMENT_SYMBOL", "PDF_PLACE",
                           "PDF_SIGNER_AUTHORITY", "PDF_SIGNER_TITLE", "PDF_SIGNER_NAME", "PDF_RECIPIENTS")


def _text(name: str) -> str:
    """An environment variable as NFC text ("" when unset); the two characters ``\\n``
    become a line break (an environment variable rarely holds a real one)."""
    from .text import nfc

    return nfc(os.environ.get(name, "").replace("\\n", "\n"))


def load_settings(instance_path: str) -> dict:
    """Build the Flask config mapping from the process environment.

    :param instance_path: the app's instance folder (absolute path); the SQLite
        database and uploads live there unless set otherwise.
    :returns: a dict of config keys to values.
    """
    instance = Path(instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'hpsmart.sqlite3'}"
    # Heroku-style URLs name the old driver; SQLAlchemy 2 wants an explicit one.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", str(instance / "uploads")),
        # Upload limit for one request, bytes: 5 photos of up to MAX_PHOTO_BYTES plus the form.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(80 * 1024 * 1024))),
        # One photo as received, bytes; and its width x height, read from the header before
        # decoding (a decompression bomb is refused). See hpsmart/services/photos.py.
        "MAX_PHOTO_BYTES": int(os.environ.get("MAX_PHOTO_BYTES", str(15 * 1024 * 1024))),
        "MAX_PHOTO_PIXELS": int(os.environ.get("MAX_PHOTO_PIXELS", str(40_000_000))),
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Per client IP (Flask-Limiter syntax): public report submission and tracking look-ups.
        "INTAKE_RATE_LIMIT": os.environ.get("INTAKE_RATE_LIMIT", "10/minute;50/day"),
        "TRACK_RATE_LIMIT": os.environ.get("TRACK_RATE_LIMIT", "30/minute"),
        # Open311 GeoReport v2 API (hpsmart/services/open311.py): the jurisdiction_id clients
        # may send; the limit per client IP for requests without a valid api_key, and the
        # default limit of a newly issued key (Flask-Limiter syntax).
        "OPEN311_JURISDICTION": os.environ.get("OPEN311_JURISDICTION", "haiphong.gov.vn"),
        "OPEN311_RATE_LIMIT": os.environ.get("OPEN311_RATE_LIMIT", "120/minute"),
        "OPEN311_KEY_RATE_LIMIT": os.environ.get("OPEN311_KEY_RATE_LIMIT", "60/minute"),
        # Map background of the report forms' point picker: a Leaflet tile URL template
        # ("https://tile.example.org/{z}/{x}/{y}.png") and its attribution (HTML allowed, as
        # the tile provider requires). Empty: the map shows only Hai Phong's outline.
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", ""),
        # Notification e-mail (hpsmart/mail.py, hpsmart/services/notifications.py). SMTP_USER
        # empty: no login. SMTP_STARTTLS: upgrade the connection before logging in.
        # SMTP_TIMEOUT: seconds per network operation.
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "30")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "hpsmart@localhost"),
        # Right-hand side of the Message-IDs (<outbox-…@domain>); empty: MAIL_FROM's domain.
        "MAIL_MESSAGE_ID_DOMAIN": os.environ.get("MAIL_MESSAGE_ID_DOMAIN", ""),
        # The outbox worker: seconds a worker holds a claimed message (longer than a send
        # can take), attempts before a message is marked failed, and the first retry delay
        # in seconds (doubled after each attempt, at most an hour).
        "OUTBOX_LEASE_SECONDS": int(os.environ.get("OUTBOX_LEASE_SECONDS", "300")),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8")),
        "OUTBOX_RETRY_SECONDS": int(os.environ.get("OUTBOX_RETRY_SECONDS", "60")),
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host: rate
        # limits and logs then see the client's address (werkzeug ProxyFix). 0: none.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # The PDF report's letterhead and signature (hpsmart/pdf/letterhead.py): NFC text;
        # PDF_PARENT_BODY and PDF_RECIPIENTS take line breaks (or the two characters \n):
        # two lines of the parent body, one recipient per line.
        **{name: _text(name) for name in PDF_LETTERHEAD_SETTINGS},
        # The PDF report's appendix (the list of the period's reports): up to
        # PDF_APPENDIX_DIRECT_ROWS rows it is made while the browser waits (WeasyPrint lays
        # out about 11 ms per row); longer, by a background job (hpsmart/services/jobs.py),
        # in parts of PDF_APPENDIX_CHUNK_ROWS rows so that memory stays bounded (a job's
        # peak was 380 MB with parts of 1,000 rows, 275 MB with 500, whatever the length;
        # smaller parts cost more time: bench/RESULTS.md); more than PDF_APPENDIX_MAX_ROWS
        # rows are refused.
        "PDF_APPENDIX_DIRECT_ROWS": int(os.environ.get("PDF_APPENDIX_DIRECT_ROWS", "300")),
        "PDF_APPENDIX_CHUNK_ROWS": int(os.environ.get("PDF_APPENDIX_CHUNK_ROWS", "1000")),
        "PDF_APPENDIX_MAX_ROWS": int(os.environ.get("PDF_APPENDIX_MAX_ROWS", "10000")),
        # Background jobs (hpsmart/services/jobs.py): JOBS_IN_PROCESS starts a thread in the
        # web process when a job is queued (the pilot needs nothing else; production runs
        # `flask run-jobs` and sets it to false); seconds a worker holds a job between two
        # signs of life; tries before a job whose worker died is given up; hours a finished
        # file is kept; jobs one person may have waiting or running at once.
        "JOBS_IN_PROCESS": _bool("JOBS_IN_PROCESS", True),
        "JOB_LEASE_SECONDS": int(os.environ.get("JOB_LEASE_SECONDS", "120")),
        "JOB_MAX_ATTEMPTS": int(os.environ.get("JOB_MAX_ATTEMPTS", "3")),
        "JOB_RETENTION_HOURS": int(os.environ.get("JOB_RETENTION_HOURS", "72")),
        "JOBS_PER_USER": int(os.environ.get("JOBS_PER_USER", "3")),
        # Rows of the overdue list in one CSV or XLSX export (memory; the rest: the inbox).
        "EXPORT_MAX_ROWS": int(os.environ.get("EXPORT_MAX_ROWS", "50000")),
    }
