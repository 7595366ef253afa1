"""Benchmark of the Open311 GeoReport v2 API against a real gunicorn; run on demand, not in CI.

    python bench/bench_open311.py [--workers 4] [--posts 40] [--gets 30] [--hello 400]
                                  [--concurrency 4] [--photo phone|small] [--database-url URL]
                                  [--port 5200] [--workdir DIR] [--deadline 900]

Issue 7, "done when": POST requests (with one photo) per second, and the latency of
``GET requests.json`` returning 1,000 results, against gunicorn with the production
settings (README: sync workers, ``-w 4``; rate limiting on, memory storage), next to a
bare Flask "hello world" measured in the same run with the same gunicorn settings and
the same client.

What it does, in a work folder (default: a new temporary folder, removed afterwards):

1. Prepares the database: a new SQLite file (WAL), or the empty database named by
   ``--database-url`` (PostgreSQL), migrated, reference data loaded, one API client
   whose limit (1,000,000/hour) never trips, and 1,000 reports received over the last
   30 days (every status; published ones with an answer; a quarter with a photo row) so
   that ``GET requests.json`` returns exactly 1,000 (the default limit).
2. **Hello**: ``--hello`` GETs of ``/`` of a one-route Flask app, ``--concurrency``
   clients at once: requests per second and latency.
3. **GET requests.json** (1,000 results, about 0.6 MB of JSON): ``--gets`` requests one
   after the other (latency), then ``--gets`` with ``--concurrency`` clients at once
   (throughput); each answer is checked to hold 1,000 requests.
4. **POST requests.json with one photo** (multipart ``media``; ``phone``: a 12-MP JPEG of
   3-4 MB with EXIF and GPS, as bench_photos.py makes; ``small``: 1024x768, ~0.2 MB):
   ``--posts`` requests, ``--concurrency`` clients at once, each with its own
   ``attribute[client_request_id]``; every answer must be 201. Requests per second over
   the whole batch, and latency.

The client is Python threads with ``urllib`` (gunicorn's sync workers close every
connection), on the same 2-core machine as the server, so figures include the
client's share of the CPU. Every worker is warmed up first (``2 x workers`` GETs and POSTs, not counted). Bounds: at
most ``hello + 2 x gets + posts + 4 x workers + 1`` requests, each
with a 120 s timeout; the run stops after ``--deadline`` seconds; gunicorn binds
127.0.0.1 only, on the first free port of 5200-5209 (or ``--port``), and is always
stopped (SIGINT, then SIGKILL of its process group). Nothing is asserted; figures are
printed, and bench/RESULTS.md is written by hand from them.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

PORTS = range(5200, 5210)
REQUEST_TIMEOUT = 120  # seconds, every HTTP request
STARTUP_TIMEOUT = 60  # seconds for gunicorn to answer
SEEDED_REPORTS = 1000
BENCH_KEY = "bench-open311-key-0123456789abcdef"
HELLO_APP = '''"""A bare Flask app: the floor of what gunicorn + Flask cost per request."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
'''


class Deadline:
    """The run's time budget: ``check()`` raises once ``seconds`` have passed."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise SystemExit("bench_open311: the time budget (--deadline) is spent; stopping")


# --- data ----------------------------------------------------------------------------------

def photo_bytes(kind: str, workdir: Path) -> bytes:
    """One photo: ``phone`` (12 MP, 3-4 MB, EXIF+GPS, as bench_photos.py) or ``small``."""
    if kind == "phone":
        path = workdir / "phone-0.jpg"
        if not path.exists():
            from bench_photos import make_phone_photo

            path.write_bytes(make_phone_photo(0))
        return path.read_bytes()
    from PIL import Image, ImageFilter

    out = io.BytesIO()
    Image.effect_noise((1024, 768), 40).convert("RGB").filter(ImageFilter.GaussianBlur(1)) \
        .save(out, "JPEG", quality=85)
    return out.getvalue()


def prepare_database(url: str, uploads: Path) -> None:
    """Migrate ``url``, load reference data, issue the bench key, seed 1,000 reports."""
    import random
    import secrets

    from flask_migrate import upgrade
    from sqlalchemy import select

    from hpsmart import create_app
    from hpsmart.extensions import db
    from hpsmart.models import (AdministrativeUnit, Agency, Attachment, Category, Channel, Report,
                                ReportEvent, ReportStatus, UnitLevel, utcnow)
    from hpsmart.services.open311 import issue_api_client
    from hpsmart.services.tracking import next_tracking_code

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "UPLOAD_FOLDER": str(uploads),
                      "SERVER_NAME": None})
    rng = random.Random(311)
    with app.app_context():
        upgrade()
        from hpsmart.services.reference import load_reference

        load_reference()
        issue_api_client("Bench client", rate_limit="1000000/hour", key=BENCH_KEY)
        categories = db.session.scalars(select(Category).where(Category.active.is_(True))).all()
        units = db.session.scalars(select(AdministrativeUnit).where(
            AdministrativeUnit.valid_to.is_(None), AdministrativeUnit.level == UnitLevel.WARD)).all()
        agency = db.session.scalar(select(Agency).where(Agency.name == "Sở Xây dựng", Agency.valid_to.is_(None)))
        now = utcnow()
        statuses = list(ReportStatus)
        for index in range(SEEDED_REPORTS):
            received = now - timedelta(minutes=rng.randrange(30 * 24 * 60))
            status = rng.choice(statuses)
            report = Report(
                tracking_code=next_tracking_code(received), title=f"Phản ánh thử {index}",
                description="Ổ gà lớn trên đường, xe máy đi qua rất dễ ngã. " * rng.randint(1, 6),
                category=rng.choice(categories), admin_unit=rng.choice(units), address=f"{index} Lạch Tray",
                latitude=20.85 + rng.random() / 50, longitude=106.68 + rng.random() / 50,
                reporter_name="Nguyễn Văn Thử", reporter_phone="0912345678", channel=Channel.APP,
                status=status, deadline=received + timedelta(days=10), created_at=received,
                updated_at=received + timedelta(hours=1),
                agency=agency if status not in (ReportStatus.NEW, ReportStatus.ACCEPTED) else None)
            db.session.add(report)
            db.session.add(ReportEvent(report=report, action="created", new_value="new", public=True,
                                       created_at=received))
            if status in (ReportStatus.PUBLISHED, ReportStatus.REJECTED, ReportStatus.DUPLICATE):
                db.session.add(ReportEvent(report=report, action="status", new_value=status.value, public=True,
                                           note="Đã xử lý xong, mặt đường đã được vá.",
                                           created_at=received + timedelta(hours=1)))
            if index % 4 == 0:
                name = secrets.token_hex(16)
                db.session.add(Attachment(report=report, purpose="report", kind="photo",
                                          original_path=f"original/{name[:2]}/{name[2:4]}/{name}.jpg",
                                          public_path=f"public/{name[:2]}/{name[2:4]}/{name}.jpg",
                                          thumb_path=f"thumb/{name[:2]}/{name[2:4]}/{name}.jpg",
                                          content_type="image/jpeg", size_bytes=1, width=1, height=1,
                                          created_at=received))
            if index % 200 == 199:
                db.session.flush()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


# --- gunicorn ------------------------------------------------------------------------------

def pick_port(wanted: int | None) -> int:
    """``wanted``, or the first port of 5200-5209 free on 127.0.0.1."""
    for port in ([wanted] if wanted else PORTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("bench_open311: no free port in 5200-5209 on 127.0.0.1")


class Gunicorn:
    """``gunicorn <app>`` on 127.0.0.1:``port`` with ``workers`` sync workers (a context manager
    that always stops it)."""

    def __init__(self, app: str, chdir: Path, port: int, workers: int, env: dict, log: Path, probe: str):
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.probe = probe
        self.command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers),
                        "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
                        "--chdir", str(chdir), app]
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            end = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(self.base + self.probe, timeout=2):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > end:
                        raise SystemExit(f"gunicorn did not start within {STARTUP_TIMEOUT} s") from None
                    time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


# --- the client -----------------------------------------------------------------------------

def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
              f'Content-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n" for name, filename, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def timed(request: urllib.request.Request) -> tuple[int, float, bytes]:
    """Send ``request``; ``(status, seconds, body)``, an HTTP error status included."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return status, time.perf_counter() - start, body


def run_batch(make_request, count: int, concurrency: int, deadline: Deadline, check=None) -> dict:
    """``count`` requests from ``make_request(i)`` with ``concurrency`` threads; the figures."""
    results: list[tuple[int, float]] = []
    problems: list[str] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        deadline.check()
        status, seconds, body = timed(make_request(index))
        problem = check(status, body) if check else None
        with lock:
            results.append((status, seconds))
            if problem:
                problems.append(problem)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - start
    latencies = sorted(s for _status, s in results)
    statuses: dict[int, int] = {}
    for status, _s in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": count, "concurrency": concurrency, "wall_s": round(wall, 3),
            "per_second": round(count / wall, 2), "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1), "statuses": statuses, "problems": problems[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (README: 4)")
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--gets", type=int, default=30)
    parser.add_argument("--hello", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--photo", choices=["phone", "small"], default="phone")
    parser.add_argument("--database-url", default=None,
                        help="an EMPTY PostgreSQL database (default: a new SQLite file in the work folder)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    args = parser.parse_args()
    for name in ("posts", "gets", "hello", "concurrency", "workers"):
        if not 1 <= getattr(args, name) <= 2000:
            raise SystemExit(f"--{name} must be between 1 and 2000")

    deadline = Deadline(args.deadline)
    own_workdir = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-open311-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if not args.database_url:
            for stale in workdir.glob("bench.sqlite3*"):
                stale.unlink()  # a new database each run
            shutil.rmtree(workdir / "uploads", ignore_errors=True)
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        print(f"bench_open311: preparing {'PostgreSQL' if 'postgresql' in url else 'SQLite'} with "
              f"{SEEDED_REPORTS} reports…", flush=True)
        prepare_database(url, workdir / "uploads")
        photo = photo_bytes(args.photo, workdir)
        port = pick_port(args.port)
        (workdir / "hello_app.py").write_text(HELLO_APP, encoding="utf-8")
        figures: dict = {"workers": args.workers, "photo": f"{args.photo} ({len(photo) / 1024 / 1024:.2f} MB)",
                         "database": "postgresql" if "postgresql" in url else "sqlite", "cpus": os.cpu_count()}

        with Gunicorn("hello_app:app", workdir, port, args.workers, {}, workdir / "gunicorn-hello.log", "/"):
            base = f"http://127.0.0.1:{port}"
            figures["hello"] = run_batch(lambda i: urllib.request.Request(base + "/"), args.hello,
                                         args.concurrency, deadline)
        print("hello:", json.dumps(figures["hello"]), flush=True)

        env = {"DATABASE_URL": url, "UPLOAD_FOLDER": str(workdir / "uploads"), "SECRET_KEY": "bench-open311",
               "RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": "memory://"}
        with Gunicorn("wsgi:app", ROOT, port, args.workers, env, workdir / "gunicorn-hpsmart.log", "/healthz"):
            base = f"http://127.0.0.1:{port}/open311/v2"

            def get_all(_index):
                return urllib.request.Request(f"{base}/requests.json?api_key={BENCH_KEY}")

            def thousand(status, body):
                if status != 200:
                    return f"status {status}: {body[:200]!r}"
                count = len(json.loads(body))
                return None if count == SEEDED_REPORTS else f"{count} results"

            # Warm every worker (first imports, first queries) before measuring.
            _status, _s, body = timed(get_all(0))
            figures["get_bytes"] = len(body)
            run_batch(get_all, 2 * args.workers, args.workers, deadline)
            figures["get_sequential"] = run_batch(get_all, args.gets, 1, deadline, thousand)
            print("GET requests.json, one at a time:", json.dumps(figures["get_sequential"]), flush=True)
            figures["get_concurrent"] = run_batch(get_all, args.gets, args.concurrency, deadline, thousand)
            print("GET requests.json, concurrent:", json.dumps(figures["get_concurrent"]), flush=True)

            run_id = uuid.uuid4().hex[:8]

            def post_one(index):
                body, content_type = multipart(
                    {"api_key": BENCH_KEY, "service_code": "giao_thong", "lat": "20.8449", "long": "106.6881",
                     "description": f"Ổ gà lớn trước số {index} Lạch Tray. Xe máy rất dễ ngã.",
                     "first_name": "Hồng", "last_name": "Nguyễn Thị", "phone": "0912345678",
                     "attribute[client_request_id]": f"bench-{run_id}-{index}"},
                    [("media", f"photo-{index}.jpg", photo)])
                return urllib.request.Request(f"{base}/requests.json", data=body, method="POST",
                                              headers={"Content-Type": content_type})

            def created(status, body):
                return None if status == 201 else f"status {status}: {body[:200]!r}"

            run_batch(lambda i: post_one(-1 - i), 2 * args.workers, args.workers, deadline)  # warm-up
            figures["post"] = run_batch(post_one, args.posts, args.concurrency, deadline, created)
            print("POST requests.json with one photo:", json.dumps(figures["post"]), flush=True)
        log = (workdir / "gunicorn-hpsmart.log").read_text(errors="replace")
        figures["log_app_exceptions"] = log.count("Exception on ")  # Flask's log line of a 500
        figures["log_database_locked"] = log.count("database is locked")
        print(json.dumps(figures, indent=2))
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
