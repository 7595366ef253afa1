"""hpsmart: the back office of Hải Phòng Smart, Hai Phong's citizens' field reports."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application.

    :param test_config: settings that override the environment (tests use it).
    :returns: a configured app with every extension, blueprint, error handler and
        CLI command registered.
    """
    app = Flask(__name__, instance_relative_config=True)
    from .config import load_settings

    app.config.from_mapping(load_settings(app.instance_path))
    if test_config:
        app.config.update(test_config)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)

    from . import database, web
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale

    database.configure_engines()
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(app.root_path, "translations"))
    # Flask-Limiter keeps one on/off switch for the whole process, set by the last
    # init_app; hpsmart reads RATELIMIT_ENABLED per app instead (extensions.py).
    rate_limits = app.config.get("RATELIMIT_ENABLED", True)
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    app.config["RATELIMIT_ENABLED"] = rate_limits
    web.init_login(app, login_manager)
    web.init_templates(app)
    web.init_errors(app)
    web.init_headers(app)

    from .account.routes import bp as account_bp
    from .admin.routes import bp as admin_bp
    from .answers.routes import bp as answers_bp
    from .api.routes import bp as open311_bp
    from .auth.routes import bp as auth_bp
    from .community.routes import bp as community_bp
    from .inbox.routes import bp as inbox_bp
    from .intake.routes import bp as intake_bp
    from .media.routes import bp as media_bp
    from .public.routes import bp as public_bp
    from .public_reports.routes import bp as public_reports_bp
    from .report.routes import bp as report_bp
    from .summary.routes import bp as summary_bp

    for bp in (public_bp, auth_bp, account_bp, inbox_bp, community_bp, admin_bp, media_bp, intake_bp,
               report_bp, open311_bp, answers_bp, summary_bp, public_reports_bp):
        app.register_blueprint(bp)

    from .cli import register_cli

    register_cli(app)
    return app
