"""Issue 3: 20 concurrent submissions with photos against 4 gunicorn workers on the SQLite
default give 20 reports and no "database is locked".

A real gunicorn (4 sync worker processes, so four SQLite connections in four processes,
as in a pilot deployment) serves ``wsgi:app`` on a free port of 127.0.0.1 with its own
temporary SQLite file (WAL and busy timeout from ``hpsmart.database``), whatever
``TEST_DATABASE_URL`` says: the point is SQLite's single writer. Twenty clients each open
the public form (their own session and CSRF token) and, once all have it, send it at the
same moment with two small photos. The server is always stopped, even when the test fails.
The figures for large photos are in bench/bench_intake.py.
"""
from __future__ import annotations

import http.cookiejar
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image
from sqlalchemy import create_engine, func, select, text

from hpsmart import create_app
from hpsmart.extensions import db as _db
from hpsmart.models import Attachment, Report

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
WORKERS = 4
SUBMISSIONS = 20
PHOTOS_EACH = 2
STARTUP_SECONDS = 60  # gunicorn must answer /healthz within this (~1 s on an idle machine)
REQUEST_SECONDS = 60  # per HTTP request, and for the twenty to be ready
HONG_BANG_NAME = "Phường Hồng Bàng"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def small_jpeg(seed: int) -> bytes:
    """A 640x480 noisy JPEG (~100 KB): real decoding and encoding work, but quick."""
    out = io.BytesIO()
    Image.effect_noise((640, 480), 20 + seed % 40).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """``(body, content type)`` of a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                     .encode())
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
                     f'\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def prepare_database(path: Path) -> str:
    """Migrate a new SQLite file and load the reference data; returns the ward code to use."""
    from flask_migrate import upgrade

    from hpsmart.services.reference import load_reference

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "concurrency",
                      "UPLOAD_FOLDER": str(path.parent / "uploads"), "SERVER_NAME": None})
    with app.app_context():
        upgrade()
        load_reference()
        _db.session.commit()
        from hpsmart.models import AdministrativeUnit

        code = _db.session.scalar(select(AdministrativeUnit.code).where(AdministrativeUnit.name == HONG_BANG_NAME))
        _db.session.remove()
        _db.engine.dispose()
    return code


def wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's graceful shutdown: a worker still writing a response finishes it;
    a quick shutdown could interrupt it and log a traceback), then SIGKILL to the whole
    process group if it lingers."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def test_twenty_parallel_submissions_on_four_workers_and_sqlite(tmp_path):
    database = tmp_path / "concurrency.sqlite3"
    ward = prepare_database(database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "UPLOAD_FOLDER": str(tmp_path / "uploads"),
           "SECRET_KEY": "concurrency-test", "RATELIMIT_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_URL", None)
    photos = [small_jpeg(i) for i in range(PHOTOS_EACH)]
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            # --preload: the app is imported once and forked (no database connection is open
            # before the fork: each worker opens its own on its first request).
            [str(GUNICORN), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "--timeout", "60",
             "--graceful-timeout", "2", "--preload", "--chdir", str(ROOT), "wsgi:app"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(base, server, log)
        ready = threading.Barrier(SUBMISSIONS, timeout=REQUEST_SECONDS)

        def submit(index: int) -> tuple[int, str]:
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
            with opener.open(f"{base}/report/new", timeout=REQUEST_SECONDS) as page:
                form = page.read().decode()
            fields = {name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', form).group(1)
                      for name in ("csrf_token", "submission_key")}
            fields.update({"category_code": "giao_thong", "title": f"Ổ gà số {index}",
                           "description": "Ổ gà sâu trên đường, nguy hiểm cho xe máy.",
                           "admin_unit_code": ward, "address": f"{index} Lạch Tray",
                           "reporter_name": "Nguyễn Thị Hồng", "reporter_phone": "0912 345 678",
                           "consent": "y"})
            body, content_type = multipart(fields, [("photos", f"{index}-{n}.jpg", data)
                                                    for n, data in enumerate(photos)])
            request = urllib.request.Request(f"{base}/report/new", data=body, method="POST",
                                             headers={"Content-Type": content_type})
            ready.wait()  # all twenty at once
            try:
                with opener.open(request, timeout=REQUEST_SECONDS) as response:
                    return response.status, response.read().decode(errors="replace")[:300]
            except urllib.error.HTTPError as error:  # the 303 (redirects are not followed)
                body = error.read().decode(errors="replace")
                return error.code, error.headers.get("Location") or body[:300]

        with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
            results = list(pool.map(submit, range(SUBMISSIONS)))
    finally:
        stop(server)

    statuses = [status for status, _ in results]
    assert statuses == [303] * SUBMISSIONS, results
    locations = {detail for _, detail in results}
    assert len(locations) == SUBMISSIONS and all(re.fullmatch(r"/report/HP-\d{4}-\d{6}/submitted", loc)
                                                 for loc in locations), locations
    output = log.read_text(errors="replace")
    assert "database is locked" not in output and "Traceback" not in output, output[-3000:]

    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count(Report.id))) == SUBMISSIONS
            assert conn.scalar(select(func.count(func.distinct(Report.tracking_code)))) == SUBMISSIONS
            assert conn.scalar(select(func.count(Attachment.id))) == SUBMISSIONS * PHOTOS_EACH
            assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        engine.dispose()
    stored = [p for p in (tmp_path / "uploads").rglob("*.jpg") if p.is_file()]
    assert len(stored) == SUBMISSIONS * PHOTOS_EACH * 3  # original, public copy, thumbnail
