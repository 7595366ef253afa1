"""The Open311 GeoReport v2 API (issue 7), through HTTP.

Every JSON body is validated against the published GeoReport v2 schemas (copied to
tests/data/open311-schema, loaded through a ``referencing`` registry rooted there);
every XML body is parsed and compared field by field with its JSON twin.
"""
from __future__ import annotations

import io
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func, select, text

from hpsmart import create_app, database
from hpsmart.extensions import db as _db, limiter
from hpsmart.models import ApiClient, Attachment, Channel, Report, ReportEvent, ReportStatus, utcnow
from hpsmart.services import open311, workflow
from hpsmart.services.intake import MAX_DESCRIPTION
from hpsmart.services.open311 import issue_api_client, revoke_api_client
from hpsmart.services.visibility import visible_reports

from .. import factories
from ..conftest import TEST_DATABASE_URL, csrf_token
from ..unit.test_photos import assert_no_metadata, encode, exif_with, left_red_right_blue

API = "/open311/v2"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "open311-schema"
LE_CHAN = "Phường Lê Chân"
# Distinctive reporter data: searched for in the bytes of every GET response.
NAME_FIRST, NAME_LAST = "Zybqwert", "Xquolimpa"
PHONE = "0987 650 321"
PHONE_DIGITS = "0987650321"
EMAIL = "zybq.xquolimpa@test.example.com"
PERSONAL = [NAME_FIRST, NAME_LAST, PHONE_DIGITS, "987650321", "987 650 321", EMAIL, "zybq"]


# --- schemas -------------------------------------------------------------------------------

def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRY = _registry()
ERRORS_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["code", "description"], "additionalProperties": False,
    "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}}}
POSTED_SCHEMA = {"type": "array", "minItems": 1, "maxItems": 1, "items": {
    "type": "object", "required": ["service_request_id", "service_notice", "account_id"],
    "additionalProperties": False,
    "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"},
                   "service_notice": {"type": "string"}, "account_id": {"type": ["string", "null"]}}}}
TOKENS_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["service_request_id", "token"], "additionalProperties": False,
    "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}}}}


def validate(data, schema) -> None:
    """Validate ``data`` against a schema dict or a published schema's file name."""
    if isinstance(schema, str):
        schema = {"$ref": schema}
    validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=str)
    assert not errors, [e.message for e in errors]


def xml_items(response, root: str, item: str) -> list[dict]:
    """Parse an XML body: ``[{tag: text}]`` of the items (nested lists as element lists)."""
    assert response.content_type.startswith("text/xml")
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    tree = ET.fromstring(response.data)
    assert tree.tag == root
    return [{child.tag: (child.text or "") for child in element} for element in tree.findall(item)]


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def assert_same(json_items: list[dict], xml_list: list[dict]) -> None:
    """The XML carries the same fields, in the same order, with the same values."""
    assert len(json_items) == len(xml_list)
    for j, x in zip(json_items, xml_list):
        assert list(x) == list(j)
        for key, value in j.items():
            if isinstance(value, float):
                assert float(x[key]) == value
            else:  # XML 1.0 cannot carry C0 control characters: they are left out there
                assert x[key] == open311.xml_safe(as_text(value)), key


def get_both(client, path: str, schema, root: str, item: str, **kw):
    """GET ``path``.json and .xml; validate the JSON and compare the XML with it."""
    response = client.get(f"{API}/{path}.json", **kw)
    assert response.status_code == 200, response.text
    assert response.content_type == "application/json; charset=utf-8"
    data = response.get_json()
    validate(data, schema)
    xml_response = client.get(f"{API}/{path}.xml", **kw)
    assert xml_response.status_code == 200
    assert_same(data, xml_items(xml_response, root, item))
    return data


def assert_error(response, status: int, *fragments: str) -> list[dict]:
    """``response`` is a spec error list with ``status``; each fragment is in a description."""
    assert response.status_code == status, response.text
    if response.content_type.startswith("text/xml"):
        items = xml_items(response, "errors", "error")
        errors = [{"code": int(i["code"]), "description": i["description"]} for i in items]
    else:
        errors = response.get_json()
    validate(errors, ERRORS_SCHEMA)
    assert all(e["code"] == status for e in errors)
    text_ = " | ".join(e["description"] for e in errors)
    for fragment in fragments:
        assert fragment in text_, text_
    return errors


# --- helpers -------------------------------------------------------------------------------

@pytest.fixture()
def api_key(db) -> str:
    _client, key = issue_api_client("Test app", channel=Channel.APP)
    return key


def jpeg(size=(400, 300), color="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def fields(key: str, **overrides) -> dict:
    data = {"api_key": key, "service_code": "giao_thong", "lat": "20.8449", "long": "106.6881",
            "description": "Ổ gà lớn trước số 12 Lạch Tray. Xe máy rất dễ ngã.",
            "first_name": "Thị Hồng", "last_name": "Nguyễn", "phone": "0912 345 678"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(client, data: dict, fmt: str = "json", **kw):
    multipart = any(isinstance(v, (tuple, list)) for v in data.values())
    return client.post(f"{API}/requests.{fmt}", data=data,
                       content_type="multipart/form-data" if multipart else None, **kw)


def posted(client, data: dict, status: int = 201) -> dict:
    response = post(client, data)
    assert response.status_code == status, response.text
    body = response.get_json()
    validate(body, POSTED_SCHEMA)
    return body[0]


def report_by_code(code: str) -> Report:
    return _db.session.scalar(select(Report).where(Report.tracking_code == code))


def counts() -> tuple[int, int, int]:
    return (_db.session.scalar(select(func.count(Report.id))),
            _db.session.scalar(select(func.count(Attachment.id))),
            _db.session.scalar(select(func.count(ReportEvent.id))))


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- services ------------------------------------------------------------------------------

def test_services_validate_and_are_vietnamese_by_default(client):
    data = get_both(client, "services", "services.json", "services", "service")
    codes = [s["service_code"] for s in data]
    assert "giao_thong" in codes and len(codes) == len(set(codes))
    traffic = next(s for s in data if s["service_code"] == "giao_thong")
    assert traffic["service_name"] == "Giao thông"
    assert traffic["metadata"] is False and traffic["type"] == "realtime"
    assert traffic["group"] == "Hạ tầng" and "ổ gà" in traffic["keywords"]


@pytest.mark.parametrize("kw", [{"query_string": {"locale": "en"}},
                                {"query_string": {"locale": "en_US"}},
                                {"headers": {"Accept-Language": "en-GB,en;q=0.8"}}])
def test_services_in_english_by_locale_or_accept_language(client, kw):
    data = get_both(client, "services", "services.json", "services", "service", **kw)
    assert next(s for s in data if s["service_code"] == "giao_thong")["service_name"] == "Traffic and roads"


def test_locale_parameter_wins_over_accept_language(client):
    response = client.get(f"{API}/services.json?locale=vi", headers={"Accept-Language": "en"})
    assert next(s for s in response.get_json() if s["service_code"] == "giao_thong")["service_name"] == "Giao thông"


def test_service_definition_is_404_when_metadata_is_false_and_for_unknown_codes(client):
    assert_error(client.get(f"{API}/services/giao_thong.json"), 404, "giao_thong")
    assert_error(client.get(f"{API}/services/giao_thong.xml"), 404)
    assert_error(client.get(f"{API}/services/khong_co.json", headers={"Accept-Language": "en"}), 404,
                 "khong_co does not exist")


def test_service_definition_of_a_category_with_questions(client, monkeypatch):
    """When a category asks extra questions its definition validates and metadata turns true."""
    attribute = {"variable": True, "code": "LANE", "datatype": "singlevaluelist", "required": False,
                 "datatype_description": None, "order": 1, "description": "Which lane?",
                 "values": [{"key": "left", "name": "Làn trái"}, {"key": "right", "name": "Làn phải"}]}
    monkeypatch.setattr(open311, "category_attributes",
                        lambda category: [attribute] if category.code == "giao_thong" else [])
    response = client.get(f"{API}/services/giao_thong.json")
    assert response.status_code == 200
    data = response.get_json()
    validate(data, "service-definition.json")
    assert data == {"service_code": "giao_thong", "attributes": [attribute]}
    tree = ET.fromstring(client.get(f"{API}/services/giao_thong.xml").data)
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "giao_thong"
    values = tree.findall("attributes/attribute/values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [("left", "Làn trái"), ("right", "Làn phải")]
    assert tree.findtext("attributes/attribute/variable") == "true"
    services = client.get(f"{API}/services.json").get_json()
    assert next(s for s in services if s["service_code"] == "giao_thong")["metadata"] is True


# --- POST requests ---------------------------------------------------------------------------

def test_post_creates_a_report_through_intake(app, client, api_key):
    before = counts()
    item = posted(client, fields(api_key, account_id="acc-7", device_id="dev-1",
                                 email="hong@test.example.com",
                                 description="Ổ gà lớn trước số 12 Lạch Tray!  Xe máy\nrất dễ ngã.",
                                 media_url="https://photos.example.org/p/123.jpg"))
    assert item["account_id"] == "acc-7"
    report = report_by_code(item["service_request_id"])
    assert report.status == ReportStatus.NEW and report.channel == Channel.APP
    assert report.title == "Ổ gà lớn trước số 12 Lạch Tray!"
    assert report.reporter_name == "Nguyễn Thị Hồng" and report.reporter_phone == "0912345678"
    assert report.reporter_email == "hong@test.example.com" and report.consent_method == "online"
    assert (report.latitude, report.longitude) == (20.8449, 106.6881) and report.admin_unit is None
    assert report.tracking_code in item["service_notice"]
    after = counts()
    assert after[0] == before[0] + 1 and after[1] == before[1]
    # The created event, and a staff-only note naming the client and keeping the link.
    note = [e for e in report.events if e.action == "note"]
    assert len(note) == 1 and not note[0].public
    assert "Test app" in note[0].note and "https://photos.example.org/p/123.jpg" in note[0].note
    assert "dev-1" not in note[0].note and "acc-7" not in note[0].note


def test_post_answers_in_xml_too(client, api_key):
    response = post(client, fields(api_key), fmt="xml")
    assert response.status_code == 201
    items = xml_items(response, "service_requests", "request")
    assert list(items[0]) == ["service_request_id", "token", "service_notice", "account_id"]
    assert report_by_code(items[0]["service_request_id"]) is not None
    assert items[0]["account_id"] == ""


def test_post_with_exif_photo_gives_an_upright_public_copy_without_metadata(app, client, api_key):
    photo = encode(left_red_right_blue(), "JPEG", exif=exif_with(orientation=6, camera=True, gps=True))
    item = posted(client, fields(api_key, media=(io.BytesIO(photo), "IMG_0001.JPG")))
    data = get_both(client, f"requests/{item['service_request_id']}", "requests.json", "service_requests",
                    "request")
    url = data[0]["media_url"]
    assert url.startswith("http://localhost/media/p/")
    response = client.get(urlsplit(url).path)
    body = response.data
    response.close()  # send_from_directory's file
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(body)) as img:
        assert img.width < img.height  # 400x300 turned by Orientation=6: portrait
        assert img.getpixel((img.width // 2, 5))[0] > 150  # the red (left) side is now on top
    report = report_by_code(item["service_request_id"])
    [attachment] = report.photos
    assert_no_metadata(Path(app.config["UPLOAD_FOLDER"]) / attachment.public_path)


def test_address_id_is_the_ward_code(client, api_key):
    unit = factories.unit(LE_CHAN)
    item = posted(client, fields(api_key, lat=None, long=None, address_id=unit.code,
                                 address_string="12 Tô Hiệu"))
    report = report_by_code(item["service_request_id"])
    assert report.admin_unit_id == unit.id and report.latitude is None and report.address == "12 Tô Hiệu"
    data = client.get(f"{API}/requests/{report.tracking_code}.json").get_json()[0]
    assert data["address_id"] == unit.code and data["address"] == f"Tô Hiệu, {LE_CHAN}"  # no house number in public


def test_address_string_naming_the_ward_is_enough(client, api_key):
    item = posted(client, fields(api_key, lat=None, long=None, address_string="12 To Hieu, phuong Le Chan"))
    assert report_by_code(item["service_request_id"]).admin_unit.name == LE_CHAN


def test_a_point_with_an_address_naming_no_ward_is_accepted_without_ward(client, api_key):
    item = posted(client, fields(api_key, address_string="Ngã tư Lạch Tray – Văn Cao"))
    report = report_by_code(item["service_request_id"])
    assert report.admin_unit is None and report.address == "Ngã tư Lạch Tray – Văn Cao"


@pytest.mark.parametrize(("overrides", "status", "fragments"), [
    ({"lat": "91"}, 400, ["lat:", "-90"]),
    ({"lat": "10,7769"}, 400, ["lat:", "dot"]),
    ({"lat": "21.0285", "long": "105.8542"}, 400, ["outside Hai Phong"]),  # Hà Nội
    ({"lat": "106.6881", "long": "20.8449"}, 400, ["swapped"]),
    ({"lat": "20.8449", "long": None}, 400, ["long:"]),
    ({"lat": "nan"}, 400, ["lat:"]),
    ({"description": "x" * (MAX_DESCRIPTION + 1)}, 400, ["description:", str(MAX_DESCRIPTION)]),
    ({"description": "  "}, 400, ["description:"]),
    ({"phone": "12345"}, 400, ["phone:"]),
    ({"phone": None}, 400, ["phone:"]),
    ({"first_name": None, "last_name": None}, 400, ["first_name/last_name:"]),
    ({"email": "not-an-email"}, 400, ["email:"]),
    ({"lat": None, "long": None}, 400, ["lat and long", "address_id"]),
    ({"lat": None, "long": None, "address_id": "99999"}, 400, ["address_id: 99999"]),
    ({"lat": None, "long": None, "address_string": "12 Tô Hiệu"}, 400, ["address_string that names"]),
    ({"media": (io.BytesIO(b"GIF89a<script>alert(1)</script>"), "x.html")}, 400, ["media:", "x.html"]),
    ({"media": (io.BytesIO(jpeg()[:300]), "cut.jpg")}, 400, ["media:", "cut.jpg"]),
    ({"media": (io.BytesIO(b""), "empty.jpg")}, 400, ["media:", "empty.jpg"]),
    ({"media_url": "javascript:alert(1)"}, 400, ["media_url:"]),
    ({"attribute[consent]": "false"}, 400, ["attribute[consent]:"]),
    ({"attribute[consent]": "maybe"}, 400, ["attribute[consent]:"]),
    ({"attribute[client_request_id]": "có dấu"}, 400, ["attribute[client_request_id]:"]),
    ({"jurisdiction_id": "hanoi.gov.vn"}, 400, ["jurisdiction_id:", "haiphong.gov.vn"]),
    ({"service_code": None}, 400, ["service_code"]),
    ({"service_code": "khong_co"}, 404, ["khong_co"]),
])
def test_bad_posts_are_refused_with_a_helpful_description_and_nothing_stored(app, client, api_key, overrides,
                                                                          status, fragments):
    before, files = counts(), stored_files(app)
    response = post(client, fields(api_key, **overrides), headers={"Accept-Language": "en"})
    assert_error(response, status, *fragments)
    assert counts() == before
    assert stored_files(app) == files


def test_several_problems_are_reported_at_once_in_vietnamese(client, api_key):
    response = post(client, fields(api_key, lat="91", phone=None, media=(io.BytesIO(b"nope"), "a.txt")))
    errors = assert_error(response, 400, "lat:", "phone:", "media:")
    assert len(errors) == 3
    assert "Vĩ độ" in errors[[e["description"].split(":")[0] for e in errors].index("lat")]["description"]


@pytest.mark.parametrize("key", [None, "", "hps311_wrong", "x" * 500])
def test_missing_or_invalid_api_key_is_403(client, api_key, key):
    before = counts()
    data = fields(api_key, api_key=key)
    assert_error(post(client, data), 403, "api_key")
    assert_error(post(client, data, fmt="xml"), 403, "api_key")
    assert counts() == before


def test_revoked_key_is_403(client, db):
    api_client, key = issue_api_client("Old app")
    revoke_api_client(api_client)
    assert_error(post(client, fields(key)), 403, "api_key")


def test_key_is_stored_hashed(db):
    api_client, key = issue_api_client("Hash check")
    assert key.startswith("hps311_") and len(key) > 40
    assert api_client.key_hash == open311.hash_api_key(key) != key
    assert api_client.key_prefix == key[:12]
    row = db.session.execute(text("SELECT * FROM api_client WHERE id = :id"), {"id": api_client.id}).mappings().one()
    assert key not in [str(v) for v in row.values()]


def test_jurisdiction_id_of_this_city_is_accepted(client, api_key):
    posted(client, fields(api_key, jurisdiction_id="haiphong.gov.vn"))
    get_both(client, "services", "services.json", "services", "service",
             query_string={"jurisdiction_id": "haiphong.gov.vn"})
    assert_error(client.get(f"{API}/requests.json?jurisdiction_id=other.gov.vn"), 400, "jurisdiction_id")


# --- retries --------------------------------------------------------------------------------

def test_retry_with_the_same_client_request_id_gets_the_first_report(client, api_key):
    request_id = str(uuid.uuid4())
    first = posted(client, fields(api_key, **{"attribute[client_request_id]": request_id}))
    before = counts()
    # The first POST is committed; the client timed out and sends the same request again.
    again = posted(client, fields(api_key, **{"attribute[client_request_id]": request_id},
                                  media=(io.BytesIO(jpeg()), "late.jpg")), status=200)
    assert again["service_request_id"] == first["service_request_id"]
    assert again["token"] == first["token"]
    assert counts() == before
    assert _db.session.scalar(select(func.count(Report.id)).where(
        Report.tracking_code == first["service_request_id"])) == 1


def test_idempotency_key_header_works_like_client_request_id(client, api_key):
    headers = {"Idempotency-Key": "retry-" + uuid.uuid4().hex}
    response = post(client, fields(api_key), headers=headers)
    assert response.status_code == 201
    first = response.get_json()[0]
    before = counts()
    response = post(client, fields(api_key), headers=headers)
    assert response.status_code == 200
    assert response.get_json()[0]["service_request_id"] == first["service_request_id"]
    assert counts() == before


def test_same_request_id_from_two_clients_gives_two_reports(client, api_key, db):
    _other, other_key = issue_api_client("Other app")
    a = posted(client, fields(api_key, **{"attribute[client_request_id]": "1"}))
    b = posted(client, fields(other_key, **{"attribute[client_request_id]": "1"}))
    assert a["service_request_id"] != b["service_request_id"]


def test_without_a_request_id_each_post_is_a_new_report(client, api_key):
    a = posted(client, fields(api_key))
    b = posted(client, fields(api_key))
    assert a["service_request_id"] != b["service_request_id"] and a["token"] != b["token"]


# --- tokens ---------------------------------------------------------------------------------

def test_token_gives_the_request_id(client, api_key):
    item = posted(client, fields(api_key))
    data = client.get(f"{API}/tokens/{item['token']}.json").get_json()
    validate(data, TOKENS_SCHEMA)
    assert data == [{"service_request_id": item["service_request_id"], "token": item["token"]}]
    [xml_item] = xml_items(client.get(f"{API}/tokens/{item['token']}.xml"), "service_requests", "request")
    assert xml_item == data[0]
    assert_error(client.get(f"{API}/tokens/{'0' * 64}.json"), 404, "token")
    assert_error(client.get(f"{API}/tokens/abc.xml"), 404)


def test_web_form_keys_are_not_tokens(client, db):
    factories.report(submission_key="webformkey123")
    assert_error(client.get(f"{API}/tokens/webformkey123.json"), 404)


# --- GET requests ---------------------------------------------------------------------------

def test_get_never_returns_reporter_contact(client, api_key):
    item = posted(client, fields(api_key, first_name=NAME_FIRST, last_name=NAME_LAST, phone=PHONE, email=EMAIL,
                                 **{"attribute[name_public]": "true"}))
    report = report_by_code(item["service_request_id"])
    assert report.reporter_name == f"{NAME_LAST} {NAME_FIRST}" and report.reporter_name_public
    code = item["service_request_id"]
    urls = [f"requests.{f}" for f in ("json", "xml")] + [f"requests/{code}.{f}" for f in ("json", "xml")]
    urls += [f"requests.{f}?service_request_id={code}" for f in ("json", "xml")]
    urls += [f"tokens/{item['token']}.{f}" for f in ("json", "xml")]
    for url in urls:
        response = client.get(f"{API}/{url}")
        assert response.status_code == 200, url
        body = response.data.decode("utf-8").lower()
        assert code.lower() in body, url
        for value in PERSONAL:
            assert value.lower() not in body, (url, value)


def test_get_request_maps_every_field(client, db, api_key):
    item = posted(client, fields(api_key, media=(io.BytesIO(jpeg()), "a.jpg")))
    report = report_by_code(item["service_request_id"])
    data = get_both(client, f"requests/{report.tracking_code}", "requests.json", "service_requests", "request")
    [entry] = data
    assert set(entry) == set(json.loads((SCHEMA_DIR / "request.json").read_text())["properties"]) - {"zipcode"}
    assert entry["service_request_id"] == report.tracking_code and entry["status"] == "open"
    assert entry["service_code"] == "giao_thong" and entry["service_name"] == "Giao thông"
    assert entry["requested_datetime"].endswith("+07:00") and entry["updated_datetime"].endswith("+07:00")
    assert entry["expected_datetime"].endswith("+07:00")
    assert entry["expected_datetime"] == report.deadline.astimezone(open311.LOCAL_TZ).isoformat(timespec="seconds")
    assert entry["status_notes"] is None and entry["agency_responsible"] is None
    assert entry["lat"] == 20.845 and entry["long"] == 106.688  # rounded to about 110 m, as on public pages
    assert entry["media_url"].startswith("http://localhost/media/p/") and entry["media_url"].endswith(".jpg")
    # Lower case and without dashes still finds it; English names on request.
    english = client.get(f"{API}/requests/{report.tracking_code.lower()}.json?locale=en").get_json()[0]
    assert english["service_name"] == "Traffic and roads"
    assert_error(client.get(f"{API}/requests/HP-1999-999999.json"), 404, "HP-1999-999999")
    assert_error(client.get(f"{API}/requests/nonsense.xml"), 404)


def test_hidden_photo_is_not_the_media_url(client, db, api_key):
    item = posted(client, fields(api_key, media=[(io.BytesIO(jpeg(color="red")), "a.jpg"),
                                                 (io.BytesIO(jpeg(color="blue")), "b.jpg")]))
    report = report_by_code(item["service_request_id"])
    first, second = report.photos
    first.hidden = True
    db.session.flush()
    data = client.get(f"{API}/requests/{report.tracking_code}.json").get_json()[0]
    assert data["media_url"].endswith(second.public_path.split("/", 1)[1])


def test_long_descriptions_and_control_characters_still_validate(client, db):
    # Intake accepts up to 5,000 characters; the published schema allows 4,000 in a response.
    report = factories.report(description=("Đường hỏng. " * 450)[:MAX_DESCRIPTION], title="Dài")
    odd = factories.report(description="Dòng 1\x0bDòng 2\x01 và \x1f ký tự lạ", title="Lạ")
    data = get_both(client, "requests", "requests.json", "service_requests", "request",
                    query_string={"service_request_id": f"{report.tracking_code},{odd.tracking_code}"})
    by_id = {d["service_request_id"]: d for d in data}
    assert len(by_id[report.tracking_code]["description"]) == 4000
    assert by_id[report.tracking_code]["description"].endswith("…")
    xml_body = client.get(f"{API}/requests/{odd.tracking_code}.xml").data
    assert ET.fromstring(xml_body).findtext("request/description") == "Dòng 1Dòng 2 và  ký tự lạ"


def test_filters_status_service_code_and_ids(client, db):
    now = utcnow()
    open_one = factories.report(created_at=now - timedelta(hours=3))
    closed = factories.report(created_at=now - timedelta(hours=2), status=ReportStatus.REJECTED)
    light = factories.report(created_at=now - timedelta(hours=1), category=factories.category("dien_chieu_sang"))
    ours = {open_one.tracking_code, closed.tracking_code, light.tracking_code}

    def ids(**query):
        data = get_both(client, "requests", "requests.json", "service_requests", "request", query_string=query)
        return [d["service_request_id"] for d in data if d["service_request_id"] in ours]

    assert ids() == [light.tracking_code, closed.tracking_code, open_one.tracking_code]  # newest first
    assert ids(status="closed") == [closed.tracking_code]
    assert ids(status="open") == [light.tracking_code, open_one.tracking_code]
    assert ids(status="open,closed") == ids()
    assert ids(service_code="dien_chieu_sang") == [light.tracking_code]
    assert ids(service_code="dien_chieu_sang,giao_thong") == ids()
    # service_request_id overrides every other filter, lower case and unknown ids forgiven.
    assert ids(service_request_id=f"{open_one.tracking_code.lower()}, HP-1999-000001,{light.tracking_code}",
               status="closed", service_code="cay_xanh") == [light.tracking_code, open_one.tracking_code]
    assert_error(client.get(f"{API}/requests.json?status=pending"), 400, "status")
    assert_error(client.get(f"{API}/requests.json?service_code=khong_co"), 400, "khong_co")


def test_date_window_defaults_to_90_days_and_accepts_iso_8601(client, db):
    now = utcnow()
    recent = factories.report(created_at=now - timedelta(days=10))
    old = factories.report(created_at=now - timedelta(days=100))
    ours = {recent.tracking_code, old.tracking_code}

    def ids(query):
        response = client.get(f"{API}/requests.json?{query}")
        assert response.status_code == 200, response.text
        validate(response.get_json(), "requests.json")
        return {d["service_request_id"] for d in response.get_json()} & ours

    assert ids("") == {recent.tracking_code}
    day = (now - timedelta(days=100)).astimezone(open311.LOCAL_TZ)
    start = (day - timedelta(days=1)).isoformat(timespec="seconds")
    end = (day + timedelta(days=1)).isoformat(timespec="seconds")
    encoded = start.replace("+", "%2B")
    assert ids(f"start_date={encoded}&end_date={end.replace('+', '%2B')}") == {old.tracking_code}
    # An unencoded "+07:00" arrives as " 07:00": still understood.
    assert ids(f"start_date={start}&end_date={end}") == {old.tracking_code}
    assert ids(f"start_date={(day - timedelta(days=1)).date().isoformat()}") == {old.tracking_code}
    utc_end = (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"end_date={utc_end}") == {recent.tracking_code}
    assert_error(client.get(f"{API}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"),
                 400, "90")
    assert_error(client.get(f"{API}/requests.json?start_date=2026-02-01&end_date=2026-01-01"), 400, "start_date")
    assert_error(client.get(f"{API}/requests.json?start_date=yesterday"), 400, "start_date")
    assert_error(client.get(f"{API}/requests.json?end_date=2026-13-45"), 400, "end_date")


def test_default_limit_and_pagination(client, db, monkeypatch):
    monkeypatch.setattr(open311, "MAX_RESULTS", 3)
    now = utcnow()
    made = [factories.report(created_at=now - timedelta(minutes=m)) for m in range(5, 0, -1)]
    newest = [r.tracking_code for r in reversed(made)]

    def page(query=""):
        response = client.get(f"{API}/requests.json?{query}")
        assert response.status_code == 200, response.text
        return [d["service_request_id"] for d in response.get_json()]

    assert page() == newest[:3]  # the default limit (1,000 in production)
    assert page("page_size=2") == newest[:2]
    assert page("page_size=2&page=2") == newest[2:4]
    assert page("page_size=2&page=3")[:1] == newest[4:5]
    for bad in ("page=0", "page=-1", "page=x", "page_size=4", "page_size=0", "page=99999999999999999999"):
        assert_error(client.get(f"{API}/requests.json?{bad}"), 400, bad.split("=")[0])


# --- errors are always in the specification's format ------------------------------------------

@pytest.mark.parametrize("path", ["", "foo.json", "services.csv", "requests/HP-2026-000001", "a/b/c.xml"])
def test_unknown_paths_are_404_in_the_spec_format(client, path):
    response = client.get(f"{API}/{path}")
    assert_error(response, 404)
    assert response.content_type.startswith("text/xml" if path.endswith(".xml") else "application/json")


def test_post_to_a_read_only_resource_is_405(client):
    assert_error(client.post(f"{API}/services.json"), 405, "POST")


def test_too_large_body_is_413_in_the_spec_format(client, app, api_key, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    before = counts()
    response = post(client, fields(api_key, media=(io.BytesIO(b"\xff\xd8\xff" + b"0" * 20_000), "big.jpg")))
    assert_error(response, 413)
    assert counts() == before


@pytest.mark.parametrize("query", [
    "requests.json?service_request_id=" + ",".join(["x"] * 1001),
    "requests.json?service_request_id=%00%FF",
    "requests/%E2%80%AE%00.json", "tokens/%00.xml", "services.json?locale=%FF%FE",
    "requests.json?start_date=%00&end_date=9999-99-99", "requests.json?page_size=1e3",
    "requests.json?status=%C3%A9", "services/%F0%9F%98%80.json",
    "requests.json?start_date=9999-12-31T23:59:59-14:00", "requests.json?end_date=0001-01-01",
    "requests.json?start_date=0001-01-01T00:00:00%2B14:00",
])
def test_odd_get_input_never_gives_a_500(client, query):
    response = client.get(f"{API}/{query}")
    assert response.status_code in (200, 400, 404), (query, response.status_code)
    if response.status_code != 200:
        assert_error(response, response.status_code)


@pytest.mark.parametrize("overrides", [
    {"lat": "inf", "long": "-inf"}, {"lat": "1e400"}, {"description": "\x00" * 10},
    {"service_code": "\x00"}, {"address_id": "'; DROP TABLE report; --", "lat": None, "long": None},
    {"first_name": "𝕏" * 200}, {"attribute[]": "x", "attribute[a][b]": "y"}, {"media_url": "http://" + "a" * 3000},
    {"phone": "+84 " + "9" * 40}, {"email": "@" * 300},
])
def test_odd_post_input_never_gives_a_500(client, api_key, overrides):
    response = post(client, fields(api_key, **overrides))
    assert response.status_code in (201, 400, 404), (overrides, response.text)
    if response.status_code != 201:
        assert_error(response, response.status_code)


# --- the Done-when flow: API -> inbox -> answered and published -> closed with the answer -------

def test_posted_report_is_handled_in_the_inbox_and_closes_with_the_answer(client, users, login_as, api_key):
    item = posted(client, fields(api_key, address_id=factories.unit(LE_CHAN).code))
    code = item["service_request_id"]
    login_as("ioc_operator")
    inbox = client.get("/inbox/")
    assert inbox.status_code == 200 and code in inbox.text
    visible = _db.session.scalars(visible_reports(select(Report), users["ioc_operator"])).all()
    assert code in [r.tracking_code for r in visible]

    report = report_by_code(code)
    agency = factories.agency("Sở Xây dựng")
    answer = "Sở Xây dựng đã vá ổ gà trước số 12 Lạch Tray ngày 02/12/2026."
    workflow.apply(report, users["ioc_operator"], "accept")
    workflow.apply(report, users["ioc_operator"], "route", agency=agency)
    _db.session.commit()
    routed = client.get(f"{API}/requests/{code}.json").get_json()[0]
    assert routed["status"] == "open" and routed["agency_responsible"] == "Sở Xây dựng"
    assert routed["status_notes"] is None
    workflow.apply(report, users["agency_staff"], "start")
    workflow.apply(report, users["agency_staff"], "answer", note=answer)
    _db.session.commit()
    assert client.get(f"{API}/requests/{code}.json").get_json()[0]["status"] == "open"
    workflow.apply(report, users["agency_lead"], "publish", note=answer)
    _db.session.commit()

    data = get_both(client, f"requests/{code}", "requests.json", "service_requests", "request")
    assert data[0]["status"] == "closed"
    assert data[0]["status_notes"] == answer
    assert data[0]["agency_responsible"] == "Sở Xây dựng"
    assert data[0]["updated_datetime"] == report.published_at.astimezone(open311.LOCAL_TZ).isoformat(
        timespec="seconds")
    assert code in [d["service_request_id"] for d in
                    client.get(f"{API}/requests.json?status=closed").get_json()]


def test_rejected_report_is_closed_with_its_reason(client, users, api_key):
    item = posted(client, fields(api_key))
    report = report_by_code(item["service_request_id"])
    workflow.apply(report, users["ioc_operator"], "reject", reason="not_a_report", note="Xin gửi tổng đài 1022.")
    _db.session.commit()
    data = client.get(f"{API}/requests/{report.tracking_code}.json").get_json()[0]
    assert data["status"] == "closed" and "1022" in data["status_notes"]


# --- per-key rate limit and a retry after a real commit, on a database of their own ------------

@pytest.fixture()
def own_app(tmp_path):
    """An app with its own database (a SQLite file, or a fresh PostgreSQL database next to the
    test database), migrated, with reference data and rate limits on; requests commit for real."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from hpsmart.services.reference import load_reference

    config = {"TESTING": True, "SECRET_KEY": "test", "RATELIMIT_ENABLED": True,
              "RATELIMIT_STORAGE_URI": "memory://", "OPEN311_RATE_LIMIT": "4/minute",
              "UPLOAD_FOLDER": str(tmp_path / "uploads"), "SERVER_NAME": None}
    admin_engine = database = None
    if TEST_DATABASE_URL:
        url = make_url(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        database = f"{url.database}_open311_{uuid.uuid4().hex[:8]}"
        admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        config["SQLALCHEMY_DATABASE_URI"] = url.set(database=database).render_as_string(hide_password=False)
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'open311.sqlite3'}"
    was_enabled = limiter.enabled
    application = create_app(config)
    try:
        with application.app_context():
            upgrade()
            load_reference()
            _db.session.commit()
            _db.session.remove()
        limiter.reset()
        yield application
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        with application.app_context():
            _db.session.remove()
            _db.engine.dispose()
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin_engine.dispose()


def _issue(app, name, rate_limit):
    with app.app_context():
        _client, key = issue_api_client(name, rate_limit=rate_limit)
        _db.session.commit()
        _db.session.remove()
    return key


def test_rate_limit_per_key_and_per_ip(own_app):
    slow = _issue(own_app, "Slow app", "2/minute")
    fast = _issue(own_app, "Fast app", "50/minute")
    client = own_app.test_client()
    for _ in range(2):
        assert client.get(f"{API}/services.json?api_key={slow}").status_code == 200
    assert_error(client.get(f"{API}/services.json?api_key={slow}"), 429, "2 per 1 minute")
    assert_error(client.post(f"{API}/requests.xml", data=fields(slow)), 429)
    # Another key has its own budget; so have requests without a key (per IP: 4/minute).
    for _ in range(5):
        assert client.get(f"{API}/services.json?api_key={fast}").status_code == 200
    for _ in range(4):
        assert client.get(f"{API}/services.json").status_code == 200
    assert_error(client.get(f"{API}/services.json", headers={"Accept-Language": "en"}), 429, "Too many requests")
    # A wrong key does not get a fresh budget: it counts against the IP.
    assert_error(client.get(f"{API}/services.json?api_key=hps311_made_up"), 429)


def test_retry_after_a_real_commit_gets_the_first_id(own_app):
    key = _issue(own_app, "Retry app", "50/minute")
    client = own_app.test_client()
    data = fields(key, **{"attribute[client_request_id]": "req-42"})
    first = client.post(f"{API}/requests.json", data=data)
    assert first.status_code == 201, first.text
    second = own_app.test_client().post(f"{API}/requests.json", data=data)
    assert second.status_code == 200
    assert second.get_json()[0]["service_request_id"] == first.get_json()[0]["service_request_id"]
    with own_app.app_context():
        assert _db.session.scalar(select(func.count(Report.id))) == 1
        _db.session.remove()


def test_history_note_survives_another_workers_commit(own_app, monkeypatch):
    """SQLite: after intake's commit the session may hold a read snapshot; if another worker
    commits meanwhile, a write on that snapshot fails at once ("database is locked") instead
    of waiting. The note after intake must start a transaction of its own."""
    key = _issue(own_app, "Busy app", "50/minute")
    real_submit = open311.submit_report

    engine = None
    threads = []

    def another_worker_commits():
        with engine.connect() as other:  # its own connection, outside any request
            other.execute(text("UPDATE category SET sort_order = sort_order + 1"))
            other.commit()

    def submit_then_another_worker_commits(submission, upload_root):
        nonlocal engine
        result = real_submit(submission, upload_root)
        assert result.report.tracking_code  # a read after intake's commit (intake's log line does one)
        engine = _db.engine
        threads.append(threading.Thread(target=another_worker_commits))
        threads[0].start()
        # It commits now, unless this request's transaction holds the write lock (BEGIN
        # IMMEDIATE): then it waits for our commit and we go on without it.
        threads[0].join(timeout=2)
        return result

    monkeypatch.setattr(open311, "submit_report", submit_then_another_worker_commits)
    # Deferred BEGIN, as SQLite does unless told otherwise: the case this guards against.
    monkeypatch.setattr(database, "_in_write_request", lambda: False, raising=False)
    response = own_app.test_client().post(f"{API}/requests.json", data=fields(key))
    threads[0].join()
    assert response.status_code == 201, response.text
    with own_app.app_context():
        report = _db.session.scalar(select(Report))
        assert [e.action for e in report.events] == ["created", "note"]
        _db.session.remove()


# --- OpenAPI, the developers' page, admin and CLI ---------------------------------------------

def test_openapi_document_is_valid_and_lists_every_endpoint(app, client):
    from openapi_spec_validator import validate as validate_openapi

    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate_openapi(document)
    assert document["servers"] == [{"url": "http://localhost/open311/v2"}]
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("open311.") or rule.endpoint in (
                "open311.index", "open311.openapi", "open311.not_found"):
            continue
        path = rule.rule.removeprefix("/open311/v2").replace("<any(json, xml):fmt>", "{format}")
        path = path.replace("<service_code>", "{service_code}").replace(
            "<service_request_id>", "{service_request_id}").replace("<token>", "{token}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)


def test_developer_page_explains_keys_endpoints_and_errors(client):
    response = client.get("/open311/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    for text_ in ("api_key", "curl", "services.json", "requests.json", "tokens/", "403", "client_request_id",
                  "/open311/v2/openapi.json"):
        assert text_ in response.text, text_


def test_admin_issues_shows_once_and_revokes_a_key(client, users, login_as):
    login_as("admin")
    assert client.get("/admin/api-clients").status_code == 200
    token = csrf_token(client, "/admin/api-clients/new")
    response = client.post("/admin/api-clients/new", data={"csrf_token": token, "name": "Ứng dụng thử",
                                                           "channel": "api", "rate_limit": "30/minute"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    api_client = _db.session.scalar(select(ApiClient).where(ApiClient.name == "Ứng dụng thử"))
    assert api_client.rate_limit == "30/minute" and api_client.created_by_id == users["admin"].id
    key = next(w for w in response.text.replace("<", " ").replace(">", " ").split() if w.startswith("hps311_"))
    assert open311.hash_api_key(key) == api_client.key_hash
    listing = client.get("/admin/api-clients").text
    assert api_client.key_prefix in listing and key not in listing
    assert post(client, fields(key)).status_code == 201

    token = csrf_token(client, "/admin/api-clients")
    assert client.post(f"/admin/api-clients/{api_client.id}/revoke").status_code == 400  # no CSRF token
    response = client.post(f"/admin/api-clients/{api_client.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 303
    assert api_client.revoked_at is not None
    assert_error(post(client, fields(key)), 403, "api_key")


def test_admin_form_refuses_a_bad_rate_limit(client, users, login_as):
    login_as("admin")
    token = csrf_token(client, "/admin/api-clients/new")
    response = client.post("/admin/api-clients/new", data={"csrf_token": token, "name": "X", "channel": "api",
                                                           "rate_limit": "lots"})
    assert response.status_code == 422 and "60/minute" in response.text
    assert _db.session.scalar(select(ApiClient).where(ApiClient.name == "X")) is None


def test_cli_create_api_client_prints_a_working_key(runner, client):
    result = runner.invoke(args=["create-api-client", "--name", "CLI app", "--channel", "app",
                                 "--rate-limit", "10/minute"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("hps311_")
    item = posted(client, fields(key))
    assert report_by_code(item["service_request_id"]).channel == Channel.APP
    result = runner.invoke(args=["create-api-client", "--name", "Bad", "--rate-limit", "often"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_demo_api_client_uses_the_environment_key(db, monkeypatch):
    monkeypatch.setenv("HPSMART_DEMO_API_KEY", "demo-key-for-acceptance")
    first = open311.ensure_demo_api_client()
    assert open311.client_for_key("demo-key-for-acceptance") == first
    revoke_api_client(first)
    assert open311.ensure_demo_api_client().id == first.id and first.is_active  # idempotent, re-activated
    monkeypatch.delenv("HPSMART_DEMO_API_KEY")
    assert open311.ensure_demo_api_client() is None


def test_title_comes_from_the_description():
    title = open311.title_from_description
    assert title("Ổ gà lớn. Rất nguy hiểm.") == "Ổ gà lớn"
    assert title("Đèn hỏng\nđã 3 ngày") == "Đèn hỏng"
    assert title("Cột 3.5m bị nghiêng") == "Cột 3.5m bị nghiêng"
    long_title = title("Rác " * 60)
    assert len(long_title) <= open311.TITLE_MAX_CHARS and long_title.endswith("Rác…")
    assert title("   ") == ""


def test_load_demo_includes_the_demo_api_client(runner, client, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "DEMO_PASSWORD_FILE", str(tmp_path / "demo-password.txt"))
    monkeypatch.setenv("HPSMART_DEMO_API_KEY", "acceptance-check-key")
    result = runner.invoke(args=["load-demo", "--reports", "2"])
    assert result.exit_code == 0, result.output
    item = posted(client, fields("acceptance-check-key"))
    assert report_by_code(item["service_request_id"]).channel == Channel.APP


def test_get_scrubs_reporter_data_typed_into_the_texts(client, db, users):
    """A reporter who typed her own phone and e-mail into the description, and an answer
    that thanks her by name: GET shows the texts as the public pages do, without them."""
    from hpsmart.models import Response, ResponseState

    report = factories.report(description="Gọi tôi 0900 000 001 hoặc binh@example.invalid nhé",
                              reporter_name="Trần Thị Bình", reporter_phone="0900000001",
                              reporter_email="binh@example.invalid", address="Số 18 Lạch Tray",
                              status=ReportStatus.PUBLISHED)
    db.session.add(Response(report=report, body="Cảm ơn chị Trần Thị Bình, đã vá xong.",
                            state=ResponseState.PUBLISHED, published_at=report.created_at))
    db.session.flush()
    body = client.get(f"/open311/v2/requests/{report.tracking_code}.json").get_data(as_text=True)
    for secret in ("0900 000 001", "0900000001", "binh@example.invalid", "Trần Thị Bình", "Số 18"):
        assert secret not in body
    entry = json.loads(body)[0]
    assert "đã vá xong" in entry["status_notes"] and "Lạch Tray" in entry["address"]
