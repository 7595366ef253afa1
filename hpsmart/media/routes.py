"""Photo files: ``/media/p/...`` (public copy), ``/media/t/...`` (thumbnail), ``/media/o/<id>``
(the original as received, staff only).

The public copy and the thumbnail carry no metadata (see hpsmart.services.photos) and
have unguessable names (128 random bits), so they are served without login, with
long cache lifetimes. The original may carry the GPS position and the camera's serial
number: only users with ``VIEW_INBOX`` who may see the report get it, as a download.
"""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from flask import Blueprint, abort, current_app, send_from_directory
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Attachment, Report
from ..permissions import Permission, requires
from ..services.visibility import visible_reports

bp = Blueprint("media", __name__, url_prefix="/media")

# The only names store_photo writes for the copies: two fan-out folders and 32 hex digits.
COPY_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.jpg")
COPY_MAX_AGE = 365 * 24 * 3600  # seconds: a name never gets other content
# Content types an original is sent with; anything else goes out as application/octet-stream.
ORIGINAL_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "application/pdf"}


def _upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _serve_copy(folder: str, name: str):
    """A JPEG copy under ``UPLOAD_FOLDER/<folder>``; 404 for any name store_photo cannot have made."""
    if not COPY_NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(_upload_root() / folder, name, mimetype="image/jpeg",
                                   max_age=COPY_MAX_AGE, conditional=True)
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/p/<path:name>")
def public_copy(name: str):
    """The public copy of a photo (JPEG, no metadata, long side at most 2560 px); no login."""
    return _serve_copy("public", name)


@bp.get("/t/<path:name>")
def thumbnail(name: str):
    """The thumbnail of a photo (JPEG, no metadata, long side at most 400 px); no login."""
    return _serve_copy("thumb", name)


@bp.get("/o/<int:attachment_id>")
@requires(Permission.VIEW_INBOX)
def original(attachment_id: int):
    """The file as received, as a download, to a user who may see its report (else 404).

    It may carry personal data (GPS position, camera serial number): never cached.
    """
    query = visible_reports(select(Attachment, Report.tracking_code)
                            .join(Report, Attachment.report_id == Report.id), current_user)
    row = db.session.execute(query.where(Attachment.id == attachment_id)).first()
    if row is None:
        abort(404)
    attachment, tracking_code = row
    suffix = PurePosixPath(attachment.original_path).suffix
    content_type = attachment.content_type if attachment.content_type in ORIGINAL_TYPES \
        else "application/octet-stream"
    response = send_from_directory(_upload_root(), attachment.original_path, mimetype=content_type,
                                   as_attachment=True,
                                   download_name=f"{tracking_code}-{attachment.id}{suffix}",
                                   max_age=0, conditional=True)
    response.cache_control.no_store = True
    response.cache_control.private = True
    response.cache_control.public = False
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
