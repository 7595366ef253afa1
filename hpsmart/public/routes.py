"""Public pages: no login."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for

from ..extensions import csrf
from ..forms import EmptyForm
from ..i18n import LANG_COOKIE
from ..web import CSRF_TEXT, render_error

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The public home page."""
    return render_template("public/index.html")


def _same_origin() -> bool:
    """True when the browser says the form was sent from one of our own pages: the
    ``Origin`` header, or without it the ``Referer``, names this host (OWASP's
    "verifying origin with standard headers" defence against cross-site requests)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    # The host only: behind a proxy that ends TLS the app may see http for an https page.
    return bool(source) and urlsplit(source).netloc == request.host


@bp.post("/language/<lang>")
@csrf.exempt
def set_language(lang: str):
    """Remember a language choice (``vi`` or ``en``) in a cookie and go back.

    The button carries the page's CSRF token, except on pages cached publicly
    (hpsmart.public_reports), which hold no per-visitor token: there the request must
    come from one of our pages (``_same_origin``). Neither: the expired-form page (400).
    """
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    if not EmptyForm().validate_on_submit() and not _same_origin():
        return render_error(400, *CSRF_TEXT)
    target = request.form.get("next") or url_for("public.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.index")
    response = make_response(redirect(target, code=303))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/healthz")
def health():
    """Liveness probe for the process manager: ``ok`` in plain text."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
