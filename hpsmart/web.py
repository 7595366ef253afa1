"""Request-level wiring: login, template helpers, error pages, response headers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError

from .extensions import db
from .forms import options_html
from .i18n import format_change, format_local_date, format_local_datetime, format_number, format_rate
from .i18n import lazy_gettext as _l
from .permissions import Permission, is_htmx

# Role-based navigation: (endpoint, label, permission). One list, read by base.html.
NAVIGATION = [
    ("inbox.index", _l("Inbox"), Permission.VIEW_INBOX),
    ("answers.approvals", _l("Approvals"), Permission.APPROVE),
    ("community.index", _l("Assisted reports"), Permission.ASSIST_INTAKE),
    ("summary.index", _l("Statistics"), Permission.VIEW_STATISTICS),
    ("admin.index", _l("Administration"), Permission.MANAGE_REFERENCE),
]


def init_login(app: Flask, login_manager: LoginManager) -> None:
    """Bind Flask-Login: user loader, login view, localized message, htmx-aware redirect."""
    from .models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=_return_path())
        if is_htmx() and getattr(app.view_functions.get(request.endpoint or ""), "polled", False):
            # A poll (nobody clicked): say so in place and stop polling (htmx: status 286);
            # the page and what is typed in it stay. The person's next action logs them in.
            return Response(render_template("errors/session_ended.html", login_url=target), status=286)
        if is_htmx():
            # An expired session must not put a login form inside a fragment.
            response = Response(status=401)
            response.headers["HX-Redirect"] = target
            return response
        flash(str(login_manager.login_message), "info")
        return redirect(target)


def _return_path() -> str:
    """Where to come back to after logging in: the page itself, or for an htmx POST (an
    action inside a page, whose URL only takes POST) the page it was sent from
    (``HX-Current-URL``, when it is on this site)."""
    if is_htmx() and request.method != "GET":
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        if page.netloc == request.host and page.path.startswith("/") and not page.path.startswith("//"):
            return page.path + (f"?{page.query}" if page.query else "")
    return request.full_path if request.query_string else request.path


def init_templates(app: Flask) -> None:
    """Register Jinja filters and globals used by every template."""
    app.jinja_env.filters["localdt"] = format_local_datetime
    app.jinja_env.filters["localdate"] = format_local_date
    # Numbers in the reader's language: 1.234 / 79,9% (vi), 1,234 / 79.9% (en).
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = format_rate
    app.jinja_env.filters["change"] = format_change
    app.jinja_env.globals["options_html"] = options_html
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_globals():
        locale = str(get_locale() or "vi")
        nav = []
        if current_user.is_authenticated:
            nav = [(ep, label) for ep, label, perm in NAVIGATION if current_user.can(perm)]
        return {"navigation": nav, "current_locale": locale, "Permission": Permission}


ERROR_TEXT = {
    400: (_l("Bad request"), _l("The request could not be understood. Check what you entered and try again.")),
    403: (_l("Access denied"), _l("Your account does not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has moved.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"),
          _l("What you sent is larger than the server accepts. Send smaller files or fewer at once.")),
    422: (_l("Could not process the data"),
          _l("Some of what you entered is not valid. Go back, correct it and send again.")),
    429: (_l("Too many requests"),
          _l("You have sent too many requests in a short time. Wait a minute and try again.")),
    500: (_l("Something went wrong"),
          _l("An error occurred on our side. Nothing you did caused it; try again in a moment.")),
}
CSRF_TEXT = (_l("The form has expired"),
             _l("For your security the form expired. Go back, reload the page and send it again."))


def render_error(status: int, heading, message):
    """The localized error page with ``status``; a 500 rolls back the session first."""
    if status == 500:
        db.session.rollback()
    return render_template("errors/error.html", heading=heading, message=message), status


def init_errors(app: Flask) -> None:
    """Localized pages for the statuses in ``ERROR_TEXT`` and for a missing/expired CSRF token."""
    for status, (heading, message) in ERROR_TEXT.items():
        app.register_error_handler(
            status, lambda error, s=status, h=heading, m=message: render_error(s, h, m))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        """A missing or wrong CSRF token. For htmx (nothing is swapped: the page and what
        was typed in it stay): without a session, the login page (``HX-Redirect``, as
        ``unauthorized``); with one (the page is older than the session, e.g. after
        logging in again elsewhere), 400 marked ``X-Error-Kind: expired``, which app.js
        shows as "reload the page" in the user's language."""
        if is_htmx():
            if not current_user.is_authenticated:
                from .extensions import login_manager

                return login_manager.unauthorized()
            response = make_response(render_error(400, *CSRF_TEXT))
            response.headers["X-Error-Kind"] = "expired"
            return response
        return render_error(400, *CSRF_TEXT)


def init_headers(app: Flask) -> None:
    """Security headers on every response and ``Vary: HX-Request`` where htmx matters."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
            response.vary.add("Cookie")
        return response

