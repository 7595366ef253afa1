"""Public pages: no login."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for

from ..forms import EmptyForm
from ..i18n import LANG_COOKIE

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The public home page."""
    return render_template("public/index.html")


@bp.post("/language/<lang>")
def set_language(lang: str):
    """Remember a language choice (``vi`` or ``en``) in a cookie and go back."""
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    EmptyForm().validate_on_submit()
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
