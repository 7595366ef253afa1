"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import db, limiter
from ..forms import EmptyForm
from ..services.accounts import authenticate
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user) -> str:
    """The first page a user lands on after login, by role."""
    from ..permissions import Permission

    if user.can(Permission.VIEW_INBOX):
        return url_for("inbox.index")
    if user.can(Permission.ASSIST_INTAKE):
        return url_for("community.index")
    return url_for("account.settings")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login():
    """GET: the form. POST (fields ``email``, ``password``): log in, or 422 with the e-mail kept."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            db.session.commit()
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(_safe_next(form.next.data) or home_for(user), code=303)
        form.password.errors.append(_("Incorrect e-mail or password."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST with CSRF token) and return to the public home page."""
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        # A page opened before logging out must not post on behalf of whoever logs in next.
        session.pop("csrf_token", None)
        flash(_("You have logged out."), "info")
    return redirect(url_for("public.index"), code=303)
