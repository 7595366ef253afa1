"""The OpenAPI 3 description of the Open311 GeoReport v2 API, served at ``/open311/v2/openapi.json``.

Written by hand to follow the routes in :mod:`hpsmart.api.routes` and the rules in
:mod:`hpsmart.services.open311`; ``tests/integration/test_open311.py`` validates it
with openapi-spec-validator and checks that it names every endpoint.
"""
from __future__ import annotations

import copy

from ..services.intake import MAX_DESCRIPTION, MAX_PHOTOS
from ..services.open311 import DEFAULT_JURISDICTION, MAX_IDS, MAX_RESULTS

SPEC_URL = "https://wiki.open311.org/GeoReport_v2"


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _format_parameter() -> dict:
    return {"name": "format", "in": "path", "required": True, "description": "Response format.",
            "schema": {"type": "string", "enum": ["json", "xml"]}}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


_JURISDICTION = _query("jurisdiction_id", f"Optional; when given it must be `{DEFAULT_JURISDICTION}` "
                                          "(the setting OPEN311_JURISDICTION).")
_LOCALE = _query("locale", "Language of names and messages: `vi` (default) or `en`; without it, "
                           "Accept-Language decides.")

_ERRORS = {
    "description": "Errors, in the specification's format (XML: `<errors><error>`).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}},
                "text/xml": {"schema": {"type": "string"}}},
}


def _ok(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}},
                        "text/xml": {"schema": {"type": "string"}}}}


_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "Hải Phòng Smart: Open311 GeoReport v2",
        "version": "2.0",
        "description": (
            "Citizens' field reports of Hai Phong city through the Open311 GeoReport v2 standard "
            f"({SPEC_URL}). Every resource answers in JSON or XML by its extension. A service is a "
            "report category; a service request is a report, identified by its tracking code "
            "(HP-2026-000123). Reporter contact data is never returned. Extensions: "
            "page/page_size on GET requests, photos as multipart `media`, retries with "
            "`attribute[client_request_id]` or the Idempotency-Key header."),
    },
    "servers": [{"url": "/open311/v2"}],
    "tags": [{"name": "services"}, {"name": "requests"}],
    "paths": {
        "/services.{format}": {
            "get": {
                "tags": ["services"], "operationId": "getServices",
                "summary": "List the services (report categories).",
                "parameters": [_format_parameter(), _JURISDICTION, _LOCALE],
                "responses": {"200": _ok("#/components/schemas/Services", "The services."),
                              "400": _ERRORS, "429": _ERRORS},
            },
        },
        "/services/{service_code}.{format}": {
            "get": {
                "tags": ["services"], "operationId": "getServiceDefinition",
                "summary": "The definition of a service whose metadata is true (none today: 404).",
                "parameters": [
                    {"name": "service_code", "in": "path", "required": True, "schema": {"type": "string"}},
                    _format_parameter(), _JURISDICTION, _LOCALE],
                "responses": {"200": _ok("#/components/schemas/ServiceDefinition", "The definition."),
                              "400": _ERRORS, "404": _ERRORS, "429": _ERRORS},
            },
        },
        "/requests.{format}": {
            "get": {
                "tags": ["requests"], "operationId": "getServiceRequests",
                "summary": "Search reports (default: the last 90 days, newest first, at most 1,000).",
                "parameters": [
                    _format_parameter(), _JURISDICTION, _LOCALE,
                    _query("service_request_id", f"Comma-separated ids (at most {MAX_IDS}); overrides "
                                                 "every other filter."),
                    _query("service_code", "Comma-separated service codes."),
                    _query("start_date", "ISO 8601; earliest requested_datetime (at most 90 days before "
                                         "end_date).", {"type": "string", "format": "date-time"}),
                    _query("end_date", "ISO 8601; latest requested_datetime.",
                           {"type": "string", "format": "date-time"}),
                    _query("status", "open, closed, or open,closed."),
                    _query("page", "Page number, from 1 (extension).", {"type": "integer", "minimum": 1}),
                    _query("page_size", f"Results per page, 1-{MAX_RESULTS} (extension; default {MAX_RESULTS}).",
                           {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}),
                ],
                "responses": {"200": _ok("#/components/schemas/ServiceRequests", "The reports."),
                              "400": _ERRORS, "429": _ERRORS},
            },
            "post": {
                "tags": ["requests"], "operationId": "postServiceRequest",
                "summary": "Send a report (api_key required).",
                "parameters": [
                    _format_parameter(),
                    {"name": "Idempotency-Key", "in": "header", "required": False,
                     "description": "Same as attribute[client_request_id] (which wins when both are sent).",
                     "schema": {"type": "string", "maxLength": 255}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/NewRequest"}},
                        "multipart/form-data": {"schema": {"allOf": [
                            {"$ref": "#/components/schemas/NewRequest"},
                            {"type": "object", "properties": {"media": {
                                "type": "array", "maxItems": MAX_PHOTOS,
                                "items": {"type": "string", "format": "binary"},
                                "description": "Photos (JPEG, PNG, WebP or HEIC)."}}},
                        ]}},
                    },
                },
                "responses": {
                    "201": _ok("#/components/schemas/PostedRequests", "The report was created."),
                    "200": _ok("#/components/schemas/PostedRequests",
                               "A retry with the same client request id: the first report."),
                    "400": _ERRORS, "403": _ERRORS, "404": _ERRORS, "429": _ERRORS,
                },
            },
        },
        "/requests/{service_request_id}.{format}": {
            "get": {
                "tags": ["requests"], "operationId": "getServiceRequest",
                "summary": "One report by its id (tracking code).",
                "parameters": [
                    {"name": "service_request_id", "in": "path", "required": True, "schema": {"type": "string"},
                     "example": "HP-2026-000123"},
                    _format_parameter(), _JURISDICTION, _LOCALE],
                "responses": {"200": _ok("#/components/schemas/ServiceRequests", "A list of one report."),
                              "404": _ERRORS, "429": _ERRORS},
            },
        },
        "/tokens/{token}.{format}": {
            "get": {
                "tags": ["requests"], "operationId": "getToken",
                "summary": "The id of the report created with a token (returned by POST).",
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                    _format_parameter(), _JURISDICTION, _LOCALE],
                "responses": {"200": _ok("#/components/schemas/Tokens", "A list of one token."),
                              "404": _ERRORS, "429": _ERRORS},
            },
        },
    },
    "components": {
        "schemas": {
            "Service": {
                "type": "object",
                "required": ["service_code", "service_name", "metadata", "type"],
                "properties": {
                    "service_code": {"type": "string"},
                    "service_name": {"type": "string"},
                    "description": _nullable({"type": "string"}),
                    "metadata": {"type": "boolean"},
                    "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
                    "keywords": _nullable({"type": "string"}),
                    "group": _nullable({"type": "string"}),
                },
            },
            "Services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
            "ServiceDefinition": {
                "type": "object",
                "required": ["service_code", "attributes"],
                "properties": {
                    "service_code": {"type": "string"},
                    "attributes": {"type": "array", "items": {
                        "type": "object",
                        "required": ["variable", "code", "datatype", "required"],
                        "properties": {
                            "variable": {"type": "boolean"},
                            "code": {"type": "string"},
                            "datatype": {"type": "string", "enum": ["string", "number", "datetime", "text",
                                                                    "singlevaluelist", "multivaluelist"]},
                            "required": {"type": "boolean"},
                            "datatype_description": _nullable({"type": "string"}),
                            "order": _nullable({"type": "integer"}),
                            "description": _nullable({"type": "string"}),
                            "values": {"type": "array", "items": {
                                "type": "object", "required": ["key", "name"],
                                "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
                        },
                    }},
                },
            },
            "ServiceRequest": {
                "type": "object",
                "required": ["service_request_id", "status", "service_code", "requested_datetime"],
                "properties": {
                    "service_request_id": {"type": "string", "example": "HP-2026-000123"},
                    "status": {"type": "string", "enum": ["open", "closed"]},
                    "status_notes": _nullable({"type": "string", "description": "The published answer, "
                                               "or the reason of a rejection."}),
                    "service_name": _nullable({"type": "string"}),
                    "service_code": {"type": "string"},
                    "description": _nullable({"type": "string", "maxLength": 4000}),
                    "agency_responsible": _nullable({"type": "string"}),
                    "service_notice": _nullable({"type": "string"}),
                    "requested_datetime": {"type": "string", "format": "date-time"},
                    "updated_datetime": _nullable({"type": "string", "format": "date-time"}),
                    "expected_datetime": _nullable({"type": "string", "format": "date-time",
                                                    "description": "The deadline."}),
                    "address": _nullable({"type": "string"}),
                    "address_id": _nullable({"type": "string", "description": "Code of the ward or commune."}),
                    "lat": _nullable({"type": "number"}),
                    "long": _nullable({"type": "number"}),
                    "media_url": _nullable({"type": "string", "format": "uri"}),
                },
            },
            "ServiceRequests": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceRequest"}},
            "NewRequest": {
                "type": "object",
                "required": ["api_key", "service_code", "description", "phone"],
                "properties": {
                    "api_key": {"type": "string"},
                    "jurisdiction_id": {"type": "string"},
                    "service_code": {"type": "string"},
                    "lat": {"type": "number", "description": "WGS84, with long; inside Hai Phong."},
                    "long": {"type": "number"},
                    "address_string": {"type": "string", "maxLength": 255},
                    "address_id": {"type": "string", "description": "Code of the ward, commune or special "
                                                                    "zone (5 digits)."},
                    "attribute[client_request_id]": {"type": "string", "maxLength": 255,
                                                     "description": "Retries with the same value get the "
                                                                    "first report."},
                    "attribute[consent]": {"type": "boolean", "default": True},
                    "attribute[name_public]": {"type": "boolean", "default": False},
                    "email": {"type": "string"},
                    "device_id": {"type": "string", "description": "Not stored."},
                    "account_id": {"type": "string", "description": "Not stored; echoed in the response."},
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string", "description": "Family name; the full name is "
                                                                  "last_name first_name."},
                    "phone": {"type": "string", "description": "A Vietnamese phone number."},
                    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                    "media_url": {"type": "string", "format": "uri",
                                  "description": "Kept as a link in the staff history; not downloaded."},
                },
            },
            "PostedRequest": {
                "type": "object",
                "required": ["service_request_id", "service_notice"],
                "properties": {
                    "service_request_id": {"type": "string"},
                    "token": {"type": "string"},
                    "service_notice": {"type": "string"},
                    "account_id": _nullable({"type": "string"}),
                },
            },
            "PostedRequests": {"type": "array", "items": {"$ref": "#/components/schemas/PostedRequest"}},
            "Token": {
                "type": "object",
                "required": ["service_request_id", "token"],
                "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
            },
            "Tokens": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}},
            "Error": {
                "type": "object",
                "required": ["code", "description"],
                "properties": {"code": {"type": "integer", "description": "The HTTP status."},
                               "description": {"type": "string"}},
            },
            "Errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}},
        },
    },
}


def openapi_document(server_url: str | None = None) -> dict:
    """The OpenAPI 3.0 document (a fresh dict); ``server_url`` (absolute, ending in
    ``/open311/v2``) replaces the relative server URL when given."""
    document = copy.deepcopy(_DOCUMENT)
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
