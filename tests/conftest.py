"""Test fixtures: one suite for SQLite (default) and PostgreSQL (``TEST_DATABASE_URL``).

The schema is built once per run through the migrations (``flask db upgrade``),
reference data is loaded once, and each test runs inside a transaction that is
rolled back afterwards (requests commit to savepoints).
"""
from __future__ import annotations

import os
import re

import pytest
from flask import g, request_started
from sqlalchemy import text

from hpsmart import create_app
from flask_sqlalchemy.session import Session as FlaskSession

from hpsmart.extensions import db as _db

from . import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def reset_database(url: str) -> None:
    """Drop everything in the PostgreSQL test database so migrations start from empty."""
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_test_config(tmp_path_factory, url: str | None = None) -> dict:
    """Settings for a test app: a fresh database, uploads in a temp folder, no rate limits."""
    base = tmp_path_factory.mktemp("hpsmart")
    return {
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{base / 'test.sqlite3'}",
        "UPLOAD_FOLDER": str(base / "uploads"),
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application on a migrated database with reference data loaded."""
    from flask_migrate import upgrade

    if TEST_DATABASE_URL:
        reset_database(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        config = make_test_config(tmp_path_factory, url)
    else:
        config = make_test_config(tmp_path_factory)
    application = create_app(config)
    with application.app_context():
        upgrade()
        from hpsmart.services.reference import load_reference

        load_reference()
        _db.session.commit()
        _db.session.remove()
    yield application
    with application.app_context():
        _db.engine.dispose()


class _ConnectionSession(FlaskSession):
    """A session that really uses the test's connection: Flask-SQLAlchemy's
    ``get_bind`` returns the engine and ignores ``bind``, so a commit would escape
    the rollback."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@pytest.fixture()
def db(app):
    """The database, inside a transaction rolled back after the test (commits included:
    they release savepoints)."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session(
            {"class_": _ConnectionSession, "bind": connection, "join_transaction_mode": "create_savepoint"})
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture()
def client(app, db):
    """A test client whose requests see (and roll back with) the test's transaction.

    The ``db`` fixture keeps one app context open for the whole test and the
    client's requests reuse it, so ``g`` would outlive a request (the locale
    Flask-Babel chose, the user Flask-Login loaded); in production each request
    has its own app context. ``g`` is emptied when each request starts.
    """

    def reset(sender, **extra):
        for name in list(g):
            g.pop(name, None)

    request_started.connect(reset, app)
    yield app.test_client()
    request_started.disconnect(reset, app)


@pytest.fixture()
def runner(app, db):
    """The Flask CLI runner, inside the test's transaction."""
    return app.test_cli_runner()


def csrf_token(client, path: str = "/login") -> str:
    """Fetch ``path`` and return the CSRF token its form carries."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or re.search(
        r'"X-CSRFToken": "([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = factories.PASSWORD):
        token = csrf_token(self._client)
        return self._client.post("/login", data={"csrf_token": token, "email": email, "password": password})

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture()
def auth(client):
    return AuthActions(client)


@pytest.fixture()
def users(db):
    """One user per role: ``users["ioc_operator"]`` etc. Staff and lead share an agency."""
    return factories.users_per_role()


@pytest.fixture()
def login_as(client, users, auth):
    """``login_as("agency_staff")`` logs the client in as that role's user and returns it."""

    def _login(role: str):
        user = users[role]
        response = auth.login(user.email)
        assert response.status_code == 303, response.text
        return user

    return _login
