"""The Open311 GeoReport v2 API (``/open311/v2/``) and its page for client developers (``/open311/``)."""
