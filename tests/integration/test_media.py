"""Serving photos over HTTP: public copies and thumbnails to anyone, with nosniff and long
cache lifetimes; originals only to staff who may see the report; no path escapes."""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from PIL import Image

from hpsmart.models import Attachment
from hpsmart.services.photos import store_photo

from .. import factories

CAMERA_SERIAL = "SN-55501-HP"


def phone_photo() -> bytes:
    """A small JPEG with camera serial, GPS and Orientation=6, like a phone's."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0xA431] = CAMERA_SERIAL
    exif[0x8825] = {1: "N", 2: (20.0, 51.0, 36.0), 3: "E", 4: (106.0, 41.0, 1.0)}
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 40, 40)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture()
def photo(app, db):
    """A stored photo attached to a report handled by Sở Xây dựng: (attachment, original bytes)."""
    data = phone_photo()
    stored = store_photo(data, app.config["UPLOAD_FOLDER"])
    report = factories.report(agency=factories.agency("Sở Xây dựng"))
    attachment = Attachment(report=report, purpose="report", kind="photo",
                            original_path=stored.original_path, public_path=stored.public_path,
                            thumb_path=stored.thumb_path, content_type=stored.content_type,
                            size_bytes=stored.size_bytes, width=stored.width, height=stored.height)
    db.session.add(attachment)
    db.session.flush()
    return attachment, data


def test_public_copy_and_thumbnail_are_served_without_login(app, client, photo):
    attachment, _ = photo
    with app.test_request_context():
        urls = {"public": attachment.public_url, "thumb": attachment.thumb_url}
    assert urls["public"].startswith("/media/p/") and urls["thumb"].startswith("/media/t/")
    for kind, url in urls.items():
        with client.get(url) as response:
            response.make_sequence()
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        cache = response.cache_control
        assert cache.public and cache.max_age == 365 * 24 * 3600 and cache.immutable
        path = attachment.public_path if kind == "public" else attachment.thumb_path
        with open(f"{app.config['UPLOAD_FOLDER']}/{path}", "rb") as handle:
            assert response.data == handle.read()
        assert CAMERA_SERIAL.encode() not in response.data and b"Exif" not in response.data
        with Image.open(io.BytesIO(response.data)) as img:
            assert img.size == (300, 400)


def test_original_needs_login(client, photo):
    attachment, _ = photo
    response = client.get(f"/media/o/{attachment.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["ioc_operator", "admin", "agency_staff", "agency_lead"])
def test_original_is_a_download_for_staff_who_see_the_report(client, login_as, photo, role):
    attachment, data = photo
    login_as(role)

    with client.get(f"/media/o/{attachment.id}") as response:
        response.make_sequence()

    assert response.status_code == 200
    assert response.data == data  # as received, GPS and serial included
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"{attachment.report.tracking_code}-{attachment.id}.jpg" in disposition
    assert response.cache_control.no_store and response.cache_control.private
    assert not response.cache_control.public


def test_original_is_not_found_for_staff_of_another_agency(client, auth, db, photo):
    attachment, _ = photo
    other = factories.user("agency_staff", agency_obj=factories.agency("Sở Tài chính"))
    assert other.agency_id != attachment.report.agency_id
    auth.login(other.email)

    assert client.get(f"/media/o/{attachment.id}").status_code == 404


def test_original_is_forbidden_to_a_community_member(client, login_as, photo):
    attachment, _ = photo
    login_as("community_member")
    assert client.get(f"/media/o/{attachment.id}").status_code == 403


def test_unknown_original_is_not_found(client, login_as, photo):
    attachment, _ = photo
    login_as("ioc_operator")
    assert client.get(f"/media/o/{attachment.id + 1000}").status_code == 404


@pytest.mark.parametrize("url", [
    "/media/p/../../test.sqlite3",
    "/media/p/..%2F..%2Ftest.sqlite3",
    "/media/p/%2e%2e/%2e%2e/test.sqlite3",
    "/media/t/../public/{rest}",
    "/media/p/..%2Foriginal%2F{original_rest}",
    "/media/p//etc/passwd",
    "/media/p/%2Fetc%2Fpasswd",
    "/media/p/{rest_upper}",
    "/media/p/{rest}/",
    "/media/p/{rest}.html",
    "/media/t/00/00/00000000000000000000000000000000.jpg",
])
def test_paths_outside_the_copies_are_not_found(client, photo, url):
    attachment, _ = photo
    rest = attachment.public_path.split("/", 1)[1]
    original_rest = attachment.original_path.split("/", 1)[1]
    url = url.format(rest=rest, rest_upper=rest.upper(), original_rest=original_rest)

    # Werkzeug answers "//" with a redirect to the merged path, which is then refused too.
    with client.get(url, follow_redirects=True) as response:
        response.make_sequence()

    assert response.status_code == 404, url
    assert response.headers["Content-Type"].startswith("text/html")
    assert all(urlsplit(r.headers["Location"]).path.startswith("/media/p/") for r in response.history)


def test_original_name_does_not_serve_under_the_public_prefix(client, photo):
    attachment, _ = photo
    original_rest = attachment.original_path.split("/", 1)[1]
    assert client.get(f"/media/p/{original_rest}").status_code == 404
