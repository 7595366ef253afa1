"""Tracking codes (mã tra cứu): ``HP-2026-000123``.

``HP``, the local year (Asia/Ho_Chi_Minh) of receipt, and a six-digit sequence
that restarts each year. Only digits and capitals, no letters that look alike.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..i18n import to_local
from ..models import TrackingCounter, utcnow

TRACKING_CODE_RE = re.compile(r"^HP-(\d{4})-(\d{6,})$")


def next_tracking_code(received_at: datetime | None = None) -> str:
    """Reserve and return the next tracking code for the year of ``received_at``.

    :param received_at: aware UTC datetime of receipt (default: now).
    :returns: e.g. ``"HP-2026-000123"``.

    The counter row is incremented inside the caller's transaction, so a code is
    never issued twice (row lock on PostgreSQL, the database write lock on SQLite).
    """
    year = to_local(received_at or utcnow()).year
    for _attempt in range(3):
        result = db.session.execute(
            update(TrackingCounter).where(TrackingCounter.year == year)
            .values(last_value=TrackingCounter.last_value + 1)
            .returning(TrackingCounter.last_value)
        ).scalar()
        if result is not None:
            return f"HP-{year}-{result:06d}"
        try:
            with db.session.begin_nested():
                db.session.add(TrackingCounter(year=year, last_value=0))
        except IntegrityError:
            pass  # another transaction created the year's row first; increment it
    raise RuntimeError("could not reserve a tracking code")  # pragma: no cover


def normalise_tracking_code(raw: str) -> str | None:
    """Canonical form of a code a person typed (spaces, lower case, missing dashes), or None.

    ``" hp 2026 123 "`` gives ``"HP-2026-000123"``; anything that is not a code gives None.
    """
    compact = re.sub(r"[\s\-_.]+", "", (raw or "").upper())
    match = re.fullmatch(r"HP(\d{4})(\d{1,9})", compact)
    if not match:
        return None
    return f"HP-{match.group(1)}-{int(match.group(2)):06d}"


