"""Browser harness: Playwright drives Debian's chromium against a live hpsmart server.

The live server is its own application (``create_app``) on a *file* SQLite
database in a temporary folder, migrated and loaded with reference data once
per run, served by werkzeug on a free port of 127.0.0.1 from a background
thread. Unlike the ``db`` fixture, nothing here is rolled back: data that a
test writes through ``live_data`` is committed and stays for the rest of the
run, so tests create what they need with unique values and never assume an
empty database. Browser tests must not use the ``db``, ``client`` or ``users``
fixtures (those belong to the other application).

Fixtures:

* ``live_app``: the live server's Flask app;
* ``live_server``: its base URL, ``http://127.0.0.1:<port>``;
* ``live_users``: role value -> ``LiveUser(email, name)`` (password ``factories.PASSWORD``);
* ``live_data``: ``with live_data() as db: ...`` writes to the live database and commits;
* ``browser``: chromium, launched once per run;
* ``new_context``: ``new_context(**options)`` opens a browser context (vi-VN,
  Asia/Ho_Chi_Minh, base URL set) closed after the test;
* ``page``: a page in a fresh context;
* ``login``: ``login(page, "ioc_operator")`` (a role value or an e-mail) logs in
  through the real form.

Any exception the server raises while handling a request, and any JavaScript
error on a page, fails the test that caused it.

Chromium is Debian's ``/usr/bin/chromium`` (``HPSMART_CHROMIUM`` may name
another build); Playwright's own browser download is never used. When the
binary is missing the tests fail, they are not skipped.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import make_server

from hpsmart import create_app
from hpsmart.extensions import db as _db
from hpsmart.models import Role

from .. import factories

CHROMIUM = os.environ.get("HPSMART_CHROMIUM", "/usr/bin/chromium")
# Headless; no sandbox (CI runs as root); no background connections to Google's
# services, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# Milliseconds Playwright waits for an element or a navigation before failing.
WAIT_MS = 15_000


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test (``-m "not browser"`` leaves them out)."""
    for item in items:
        if "tests/browser/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    """A werkzeug server for ``app`` on a free port of 127.0.0.1, in a daemon thread."""

    def __init__(self, app: Flask):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory) -> Iterator[Flask]:
    """The live server's application on a migrated file SQLite database with reference data."""
    from flask_migrate import upgrade

    from hpsmart.services.reference import load_reference

    base = tmp_path_factory.mktemp("live")
    app = create_app({
        "SECRET_KEY": "browser-tests",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'live.sqlite3'}",
        "UPLOAD_FOLDER": str(base / "uploads"),
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
    })
    with app.app_context():
        upgrade()
        load_reference()
        _db.session.commit()
        _db.session.remove()
    app.extensions["live_errors"] = []

    def record(sender, exception, **extra):
        app.extensions["live_errors"].append(repr(exception))

    got_request_exception.connect(record, app, weak=False)
    yield app
    with app.app_context():
        _db.engine.dispose()


@contextmanager
def _writing(app: Flask):
    with app.app_context():
        try:
            yield _db
            _db.session.commit()
        except BaseException:
            _db.session.rollback()
            raise
        finally:
            _db.session.remove()


@dataclass(frozen=True)
class LiveUser:
    """A user of the live database: log in with ``email`` and ``factories.PASSWORD``."""

    email: str
    name: str


# Display names of the live users, by role value (Vietnamese, with diacritics).
LIVE_USER_NAMES = {
    "admin": "Phạm Quản Trị",
    "ioc_operator": "Nguyễn Thị Điều Hành",
    "agency_staff": "Trần Văn Chuyên Viên",
    "agency_lead": "Lê Thị Lãnh Đạo",
    "community_member": "Đỗ Văn Cộng Đồng",
}


@pytest.fixture(scope="session")
def live_users(live_app) -> dict[str, LiveUser]:
    """One active user per role on the live database: role value -> ``LiveUser``.

    Staff and lead belong to Sở Xây dựng; the password is ``factories.PASSWORD``.
    """
    users = {}
    with _writing(live_app):
        for role in Role:
            user = factories.user(role, email=f"{role.value.replace('_', '-')}@browser.example.org",
                                  name=LIVE_USER_NAMES.get(role.value, role.value))
            users[role.value] = LiveUser(user.email, user.name)
    return users


@pytest.fixture()
def live_data(live_app) -> Callable:
    """``with live_data() as db:`` runs inside the live app's context and commits at the end.

    Objects are expired by the commit: read what you need (e.g. a tracking code)
    inside the block.
    """
    return lambda: _writing(live_app)


@pytest.fixture(scope="session")
def live_server(live_app, live_users) -> Iterator[str]:
    """Base URL of the running live server, e.g. ``http://127.0.0.1:40123``."""
    server = LiveServer(live_app)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(autouse=True)
def _no_server_errors(request):
    """Fail a browser test during which the live server raised an exception."""
    if "live_app" not in request.fixturenames:
        yield
        return
    errors = request.getfixturevalue("live_app").extensions["live_errors"]
    errors.clear()
    yield
    assert not errors, f"the live server raised: {errors}"


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright's sync API."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Browser tests need Debian's chromium at {CHROMIUM}: install it with "
                    "'apt-get install chromium' (make test does so when run as root).", pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        playwright.stop()
        raise
    yield instance
    instance.close()
    playwright.stop()


@pytest.fixture()
def new_context(browser, live_server):
    """``new_context(**options)``: a fresh browser context (no cookies), closed after the test.

    Defaults: Vietnamese locale, Asia/Ho_Chi_Minh time zone, the live server as
    base URL (so ``page.goto("/login")`` works); options override them, e.g.
    ``java_script_enabled=False``. Pages opened in it record JavaScript errors,
    which fail the test.
    """
    contexts = []
    page_errors: list[str] = []

    def _open(**options):
        settings = {"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh", "base_url": live_server}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(WAIT_MS)
        context.on("page", lambda p: p.on("pageerror", lambda e: page_errors.append(str(e))))
        contexts.append(context)
        return context

    yield _open
    for context in contexts:
        context.close()
    assert not page_errors, f"JavaScript errors on the page: {page_errors}"


@pytest.fixture()
def page(new_context):
    """A page in a fresh context with the defaults of ``new_context``."""
    context = new_context()
    return context.new_page()


@pytest.fixture()
def login(live_users):
    """``login(page, who, password=factories.PASSWORD)``: fill and send the login form.

    ``who`` is a role value (``"ioc_operator"``) or an e-mail. Waits for the page
    that follows the form and returns it (the page object itself).
    """

    def _login(page, who: str, password: str = factories.PASSWORD):
        email = live_users[who].email if who in live_users else who
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("form[action$='/login'] button[type=submit]")
        return page

    return _login
