"""Open311 GeoReport v2 endpoints: thin wrappers around :mod:`hpsmart.services.open311`.

Every endpoint answers in JSON or XML by its extension; every error, including a
rate limit (429), an unknown path under ``/open311/v2/`` and an unexpected failure,
answers in the specification's error format, in the language of the ``locale``
parameter or the ``Accept-Language`` header (Vietnamese by default).

The blueprint is exempt from CSRF: API calls carry no session cookie and POST is
authorised by its ``api_key``. Rate limits (Flask-Limiter, one budget shared by all
endpoints): per client application for a request with a valid ``api_key`` (the
client's ``rate_limit``), else per client IP (setting ``OPEN311_RATE_LIMIT``).
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import force_locale, gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from ..extensions import csrf, db, limiter
from ..services import open311
from ..services.intake import MAX_PHOTOS, PhotoUpload
from ..services.open311 import ApiError
from .formats import FORMATS, Payload, error_response, respond
from .openapi import openapi_document

bp = Blueprint("open311", __name__, url_prefix="/open311")
csrf.exempt(bp)

FMT = "<any(json, xml):fmt>"
_CLIENT_ATTR = "_hpsmart_open311_client"
_MISSING = object()


def api_locale() -> str:
    """'vi' or 'en': the ``locale`` parameter (``en``, ``en_US``, ``vi-VN``...), else the best
    match of ``Accept-Language``, else the default locale."""
    languages = current_app.config["LANGUAGES"]
    raw = _parameter("locale")
    language = raw.replace("-", "_").split("_")[0].lower()
    if language in languages:
        return language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _form_value(name: str) -> str:
    """A form field of a POST, or "" when the body cannot be read (too large, malformed)."""
    try:
        return (request.form.get(name) or "").strip()
    except HTTPException:
        return ""


def _parameter(name: str) -> str:
    """A parameter from the query string, or for a POST from the form body; "" when absent."""
    value = (request.args.get(name) or "").strip()
    if not value and request.method == "POST":
        value = _form_value(name)
    return value


def _current_client():
    """The client whose valid ``api_key`` the request carries, or None (looked up once per request)."""
    client = getattr(request, _CLIENT_ATTR, _MISSING)
    if client is _MISSING:
        client = open311.client_for_key(_parameter("api_key"))
        setattr(request, _CLIENT_ATTR, client)
    return client


def _rate_key() -> str:
    client = _current_client()
    return f"open311-client:{client.id}" if client is not None else f"open311-ip:{get_remote_address()}"


def _rate_limit() -> str:
    client = _current_client()
    if client is not None:
        return client.rate_limit
    return current_app.config.get("OPEN311_RATE_LIMIT", "120/minute")


api_limit = limiter.shared_limit(_rate_limit, scope="open311", key_func=_rate_key)


def _request_format() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


def api_view(view):
    """Run ``view`` in the API's locale after the ``jurisdiction_id`` check; render its
    :class:`Payload` in the requested format, an :class:`ApiError` in the error format
    (rolling back anything pending)."""

    @wraps(view)
    def wrapped(fmt: str | None = None, **kwargs):
        fmt = fmt or _request_format()
        with force_locale(api_locale()):
            try:
                open311.check_jurisdiction(_parameter("jurisdiction_id"))
                payload = view(**kwargs)
            except ApiError as error:
                db.session.rollback()
                return error_response(error.status, error.as_list(), fmt)
            return respond(payload, fmt)

    return wrapped


# --------------------------------------------------------------------------- GeoReport v2


@bp.get(f"/v2/services.{FMT}")
@api_limit
@api_view
def services():
    """GET services: the categories as Open311 services (names in the request's language)."""
    return Payload("services", open311.service_list(api_locale()))


@bp.get(f"/v2/services/<service_code>.{FMT}")
@api_limit
@api_view
def service_definition(service_code: str):
    """GET services/{service_code}: the service definition; 404 for a service without one."""
    return Payload("service_definition", open311.service_definition(service_code, api_locale()))


@bp.get(f"/v2/requests.{FMT}")
@api_limit
@api_view
def list_requests():
    """GET requests: filters of the specification plus ``page``/``page_size``; no api_key needed."""
    reports = open311.find_requests(request.args)
    return Payload("requests", open311.request_resources(reports, request.url_root, api_locale()))


@bp.post(f"/v2/requests.{FMT}")
@api_limit
@api_view
def create_request():
    """POST requests (form-encoded or multipart with files ``media``): 201 with
    ``[{service_request_id, token, service_notice, account_id}]``; a retry with the same
    client request id gets the first report's, with 200."""
    fields = {**request.args.to_dict(), **request.form.to_dict()}
    client = open311.authenticate(fields.get("api_key"))
    photos = []
    for storage in request.files.getlist("media"):
        data = storage.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
        if not data and not storage.filename:
            continue
        photos.append(PhotoUpload(data, storage.filename or ""))
    if len(photos) > MAX_PHOTOS:
        raise ApiError(400, _("media: at most %(max)d photos in one request.", max=MAX_PHOTOS))
    result = open311.create_request(client, fields, photos, current_app.config["UPLOAD_FOLDER"],
                                    idempotency_key=request.headers.get("Idempotency-Key"))
    db.session.commit()
    return Payload("requests", [open311.posted_resource(result, fields.get("account_id"))],
                   201 if result.created else 200)


@bp.get(f"/v2/requests/<service_request_id>.{FMT}")
@api_limit
@api_view
def get_request(service_request_id: str):
    """GET requests/{service_request_id}: one report (the tracking code is the id)."""
    report = open311.request_by_id(service_request_id)
    return Payload("requests", open311.request_resources([report], request.url_root, api_locale()))


@bp.get(f"/v2/tokens/<token>.{FMT}")
@api_limit
@api_view
def token(token: str):
    """GET tokens/{token}: the service request id issued for a token."""
    return Payload("requests", [open311.token_resource(token)])


@bp.route("/v2/", defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route("/v2/<path:rest>", methods=["GET", "POST"])
@api_limit
@api_view
def not_found(rest: str):
    """Anything else under /open311/v2/: 404 in the specification's format (405 for a POST
    to a resource that only answers GET)."""
    if request.method == "POST":
        adapter = current_app.url_map.bind_to_environ(request.environ)
        try:
            endpoint, _args = adapter.match(request.path, method="GET")
        except HTTPException:
            endpoint = None
        if endpoint not in (None, "open311.not_found"):
            raise ApiError(405, _("This resource does not accept the %(method)s method.", method="POST"))
    raise ApiError(404, _("There is no such resource. The API has services, requests and tokens, each "
                          "ending in .json or .xml; see /open311/ for the list."))


# --------------------------------------------------------------------------- for developers


@bp.get("/v2/openapi.json")
def openapi():
    """The OpenAPI 3 description of the API."""
    response = jsonify(openapi_document(request.url_root.rstrip("/") + "/open311/v2"))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/")
def index():
    """The page for client developers: keys, endpoints, examples, errors."""
    base = request.url_root.rstrip("/") + "/open311/v2"
    return render_template("api/index.html", base=base, jurisdiction=open311.jurisdiction(),
                           max_photos=MAX_PHOTOS)


# --------------------------------------------------------------------------- errors

_HTTP_ERRORS = {
    400: lambda e: _("The request could not be read. Send the parameters form-encoded (or multipart/form-data "
                     "with files)."),
    404: lambda e: _("There is no such resource. The API has services, requests and tokens, each ending in "
                     ".json or .xml; see /open311/ for the list."),
    405: lambda e: _("This resource does not accept the %(method)s method.", method=request.method),
    413: lambda e: _("The request is too large: send at most %(max)d photos of at most %(mb)d MB each.",
                     max=MAX_PHOTOS, mb=current_app.config["MAX_PHOTO_BYTES"] // (1024 * 1024)),
    429: lambda e: _("Too many requests (limit %(limit)s for this api_key or address). Wait a minute and "
                     "try again.", limit=getattr(e, "description", "")),
    500: lambda e: _("An error occurred on the server; nothing was stored. Try again in a moment."),
}


def _http_error(error: HTTPException):
    status = getattr(error, "code", None) or 500
    if status == 500:
        db.session.rollback()
    with force_locale(api_locale()):
        describe = _HTTP_ERRORS.get(status, _HTTP_ERRORS[400])
        response = error_response(status, [{"code": status, "description": describe(error)}],
                                  _request_format())
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


for _status in _HTTP_ERRORS:
    bp.register_error_handler(_status, _http_error)
