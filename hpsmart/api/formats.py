"""JSON and XML bodies of the Open311 GeoReport v2 API.

The specification chooses the format by the resource's extension (``services.xml``,
``requests.json``) and gives the XML shape of each resource; the JSON shape is the
same data as arrays of objects. Values: booleans ``true``/``false``, None an empty
element in XML and ``null`` in JSON. Everything is UTF-8, XML with its declaration.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from flask import Response

from ..services.open311 import xml_safe

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# resource kind -> (XML root element, element of each item); None: the body is one object.
XML_SHAPES = {
    "services": ("services", "service"),
    "service_definition": ("service_definition", None),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
}
# Lists inside an item: list element -> element of each entry (service definitions).
XML_LIST_ITEMS = {"attributes": "attribute", "values": "value"}


@dataclass
class Payload:
    """What an API view returns: the ``kind`` (a key of ``XML_SHAPES``), the data (a list of
    dicts, or one dict for a service definition) and the HTTP status."""

    kind: str
    data: list | dict
    status: int = 200


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return xml_safe(str(value))


def _fill(element: ET.Element, data: dict) -> None:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):
            item_tag = XML_LIST_ITEMS.get(key, "item")
            for entry in value:
                item = ET.SubElement(child, item_tag)
                if isinstance(entry, dict):
                    _fill(item, entry)
                else:
                    item.text = _text(entry)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def to_xml(kind: str, data: list | dict) -> bytes:
    """The XML document of ``data`` shaped as ``XML_SHAPES[kind]``, UTF-8 with its declaration."""
    root_tag, item_tag = XML_SHAPES[kind]
    root = ET.Element(root_tag)
    if item_tag is None:
        _fill(root, data)
    else:
        for entry in data:
            _fill(ET.SubElement(root, item_tag), entry)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def to_json(data) -> bytes:
    """``data`` as UTF-8 JSON (non-ASCII characters kept as they are)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def respond(payload: Payload, fmt: str) -> Response:
    """The HTTP response for ``payload`` in ``fmt`` ('json' or 'xml'; anything else gives JSON).

    API answers are never cached by a shared cache (they change with every report)."""
    fmt = fmt if fmt in FORMATS else "json"
    body = to_xml(payload.kind, payload.data) if fmt == "xml" else to_json(payload.data)
    response = Response(body, status=payload.status, content_type=CONTENT_TYPES[fmt])
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    return response


def error_response(status: int, errors: list[dict], fmt: str) -> Response:
    """The specification's error body, ``[{"code", "description"}]``, with HTTP ``status``."""
    return respond(Payload("errors", errors, status), fmt)
