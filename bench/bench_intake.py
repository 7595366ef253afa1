"""Benchmark of report intake over HTTP against a real gunicorn; run on demand, not in CI.

    python bench/bench_intake.py [--repeat 5] [--port 5190] [--workdir DIR] [--skip-concurrency]

Issue 3, "done when": the time to accept a report with 3 typical phone photos (3-4 MB
JPEGs, 12 MP) and the peak memory of that request; target under 1 s and under 200 MB
on the pilot machine (2 cores). And: 20 concurrent submissions with photos against 4
gunicorn workers on the SQLite default give 20 reports and no "database is locked".

What it does, in a work folder (default: the system temp folder) with a new SQLite
database each run (migrated, reference data loaded):

1. **Accept** (one gunicorn sync worker, so that one process serves every request and
   its memory can be read): for each of ``--repeat`` rounds, a client opens the public
   form (GET /report/new: session, CSRF token, idempotency key) and POSTs it

   - ``no photos``: the same report without photos (the HTTP, form and database
     baseline);
   - ``3 phone photos``: with the 3 photos (generated as in bench_photos.py: 4032x3024,
     EXIF with GPS and Orientation=6, blurred noise so they weigh 3-4 MB).

   Time: wall clock at the client from sending the POST to reading the 303 (upload over
   loopback included). Memory: the worker's resident set: ``VmRSS`` before the POST, and
   its high-water mark ``VmHWM`` during it (reset through ``/proc/<pid>/clear_refs``
   just before the POST; Linux >= 4.0); "added" is the difference. The first round of
   each kind is reported apart (cold: first imports, first decoder use).
2. **Pillow baseline**: in a fresh Python process, ``Image.open(...).load()`` of the same
   3 photos at full size, one after the other: the decode cost that the intake avoids by
   decoding at reduced size (``Image.draft``) and once per photo.
3. **Concurrency** (four gunicorn workers, ``--preload``): 20 clients open the form, then
   all POST at once (a barrier), each with two 1024x768 photos (~0.2 MB: the point is
   SQLite's single writer, not decoding). Reports: statuses, reports and attachments in
   the database, occurrences of "database is locked" and tracebacks in gunicorn's log,
   wall time and per-request latency.

Bounds: exactly ``2 x repeat + 2`` requests in part 1 and 40 in part 3; every request
has a 60 s timeout and the whole run stops after ``--deadline`` seconds (default 600);
gunicorn binds 127.0.0.1 only, on the first free port of 5190-5199 (or ``--port``), and
is always stopped (SIGTERM, then SIGKILL of its process group). Nothing is asserted;
the figures are printed, with the commit's ``bench/RESULTS.md`` written by hand.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

MB = 1024 * 1024
PORTS = range(5190, 5200)
REQUEST_TIMEOUT = 60  # seconds, every HTTP request
STARTUP_TIMEOUT = 60  # seconds for gunicorn to answer /healthz
TARGET_SECONDS = 1.0
TARGET_MB = 200
CONCURRENT = 20
WARD_NAME = "Phường Hồng Bàng"


class Deadline:
    """The run's time budget: ``check()`` raises once ``seconds`` have passed."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise SystemExit("bench_intake: the time budget (--deadline) is spent; stopping")


# --- photos and the database ---------------------------------------------------------------

def phone_photos(workdir: Path, count: int = 3) -> list[bytes]:
    """``count`` phone photos of 3-4 MB, generated once into ``workdir`` (as bench_photos.py)."""
    from bench_photos import make_phone_photo

    photos = []
    for index in range(count):
        path = workdir / f"phone-{index}.jpg"
        if not path.exists():
            path.write_bytes(make_phone_photo(index))
        photos.append(path.read_bytes())
    return photos


def small_photo(seed: int) -> bytes:
    """A 1024x768 JPEG of ~0.2 MB (blurred noise)."""
    from PIL import Image, ImageFilter

    out = io.BytesIO()
    Image.effect_noise((1024, 768), 30 + seed).convert("RGB").filter(ImageFilter.GaussianBlur(1)) \
        .save(out, "JPEG", quality=85)
    return out.getvalue()


def prepare_database(path: Path) -> str:
    """A migrated SQLite file with reference data; returns the code of ``WARD_NAME``."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from hpsmart import create_app
    from hpsmart.extensions import db
    from hpsmart.models import AdministrativeUnit
    from hpsmart.services.reference import load_reference

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "UPLOAD_FOLDER": str(path.parent / "uploads"), "SERVER_NAME": None})
    with app.app_context():
        upgrade()
        load_reference()
        db.session.commit()
        code = db.session.scalar(select(AdministrativeUnit.code).where(AdministrativeUnit.name == WARD_NAME))
        db.session.remove()
        db.engine.dispose()
    return code


# --- gunicorn ------------------------------------------------------------------------------

def pick_port(wanted: int | None) -> int:
    """``wanted``, or the first port of 5190-5199 free on 127.0.0.1."""
    for port in ([wanted] if wanted else PORTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("bench_intake: no free port in 5190-5199 on 127.0.0.1")


class Gunicorn:
    """``gunicorn wsgi:app`` on 127.0.0.1:``port`` with ``workers`` sync workers; a context
    manager that always stops it."""

    def __init__(self, workdir: Path, database: Path, port: int, workers: int, preload: bool):
        self.base = f"http://127.0.0.1:{port}"
        self.log = workdir / f"gunicorn-{workers}w.log"
        command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers),
                   "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
                   "--chdir", str(ROOT)] + (["--preload"] if preload else []) + ["wsgi:app"]
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "UPLOAD_FOLDER": str(workdir / "uploads"),
               "SECRET_KEY": "bench-intake", "RATELIMIT_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
        self.command, self.env = command, env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_up(self) -> None:
        end = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not start within {STARTUP_TIMEOUT} s")

    def workers(self) -> list[int]:
        """Process ids of the workers (the master's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: responses being written finish
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def proc_mb(pid: int, field: str) -> float:
    """``VmRSS``/``VmHWM`` of process ``pid``, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Reset ``VmHWM`` of ``pid`` to its current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- HTTP ----------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
              f'Content-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n" for name, data in files]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Citizen:
    """One browser: its own cookies; ``open_form`` then ``send`` (the POST, timed)."""

    def __init__(self, base: str, ward: str):
        self.base, self.ward = base, ward
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
        self.request: urllib.request.Request | None = None

    def open_form(self, title: str, photos: list[bytes]) -> None:
        with self.opener.open(f"{self.base}/report/new", timeout=REQUEST_TIMEOUT) as page:
            form = page.read().decode()
        fields = {name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', form).group(1)
                  for name in ("csrf_token", "submission_key")}
        fields.update({"category_code": "giao_thong", "title": title,
                       "description": "Ổ gà sâu khoảng 20 cm giữa làn xe máy, đã có người ngã.",
                       "admin_unit_code": self.ward, "address": "12 Lạch Tray", "latitude": "20.8449",
                       "longitude": "106.6881", "reporter_name": "Nguyễn Thị Hồng",
                       "reporter_phone": "0912 345 678", "consent": "y"})
        body, content_type = _multipart(fields, [(f"IMG_{i:04d}.jpg", p) for i, p in enumerate(photos)])
        self.request = urllib.request.Request(f"{self.base}/report/new", data=body, method="POST",
                                              headers={"Content-Type": content_type})

    def send(self) -> tuple[int, float]:
        """POST the opened form; ``(status, seconds)``."""
        started = time.perf_counter()
        try:
            with self.opener.open(self.request, timeout=REQUEST_TIMEOUT) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        return status, time.perf_counter() - started


# --- the three parts -----------------------------------------------------------------------

def accept(workdir: Path, port: int, ward: str, photos: list[bytes], repeat: int, deadline: Deadline) -> list[dict]:
    """Part 1: rows ``{"scenario", "round", "status", "seconds", "rss_mb", "peak_mb"}``."""
    rows = []
    with Gunicorn(workdir, workdir / "bench.sqlite3", port, workers=1, preload=False) as server:
        [worker] = server.workers()
        for round_ in range(repeat + 1):  # round 0: cold
            for scenario, files in (("no photos", []), ("3 phone photos", photos)):
                deadline.check()
                citizen = Citizen(server.base, ward)
                citizen.open_form(f"Bench {scenario} {round_}", files)
                rss = proc_mb(worker, "VmRSS")
                reset_peak(worker)
                status, seconds = citizen.send()
                rows.append({"scenario": scenario, "round": round_, "status": status, "seconds": seconds,
                             "rss_mb": rss, "peak_mb": proc_mb(worker, "VmHWM")})
    return rows


def pillow_baseline(workdir: Path, count: int) -> dict:
    """Part 2, in a fresh interpreter: full-size decode of the photos."""
    code = f"""
import json, resource, time
from pathlib import Path
from PIL import Image
blobs = [Path({str(workdir)!r}, f"phone-{{i}}.jpg").read_bytes() for i in range({count})]
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
before = rss("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
import io
started = time.perf_counter()
for blob in blobs:
    with Image.open(io.BytesIO(blob)) as img:
        img.load()
print(json.dumps({{"seconds": time.perf_counter() - started, "rss_mb": before, "peak_mb": rss("VmHWM")}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=REQUEST_TIMEOUT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def concurrency(workdir: Path, port: int, ward: str, deadline: Deadline) -> dict:
    """Part 3: 20 simultaneous POSTs against 4 workers."""
    database = workdir / "concurrent.sqlite3"
    # A copy of part 1's database (reference data loaded), through SQLite's backup API.
    with sqlite3.connect(workdir / "bench.sqlite3") as source, sqlite3.connect(database) as target:
        source.backup(target)
    with sqlite3.connect(database) as conn:
        before = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("report", "attachment")]
    photos = [small_photo(i) for i in range(2)]
    deadline.check()
    with Gunicorn(workdir, database, port, workers=4, preload=True) as server:
        citizens = [Citizen(server.base, ward) for _ in range(CONCURRENT)]
        for index, citizen in enumerate(citizens):
            citizen.open_form(f"Đồng thời {index}", photos)
        gate = threading.Barrier(CONCURRENT, timeout=REQUEST_TIMEOUT)

        def go(citizen: Citizen) -> tuple[int, float]:
            gate.wait()
            return citizen.send()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            results = list(pool.map(go, citizens, timeout=max(deadline.left(), 1)))
        wall = time.perf_counter() - started
    log = server.log.read_text(errors="replace")
    with sqlite3.connect(database) as conn:
        reports = conn.execute("SELECT count(*) FROM report").fetchone()[0] - before[0]
        attachments = conn.execute("SELECT count(*) FROM attachment").fetchone()[0] - before[1]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    latencies = sorted(seconds for _, seconds in results)
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"statuses": statuses, "reports": reports, "attachments": attachments, "journal": journal,
            "locked": log.count("database is locked"), "tracebacks": log.count("Traceback"),
            "wall": wall, "p50": statistics.median(latencies), "max": latencies[-1],
            "photo_kb": [round(len(p) / 1024) for p in photos]}


def summary(rows: list[dict], scenario: str) -> dict:
    warm = [r for r in rows if r["scenario"] == scenario and r["round"] > 0]
    cold = next(r for r in rows if r["scenario"] == scenario and r["round"] == 0)
    return {"best": min(r["seconds"] for r in warm), "median": statistics.median(r["seconds"] for r in warm),
            "worst": max(r["seconds"] for r in warm), "cold": cold["seconds"],
            "rss": statistics.median(r["rss_mb"] for r in warm), "peak": max(r["peak_mb"] for r in warm),
            "added": max(r["peak_mb"] - r["rss_mb"] for r in warm),
            "statuses": sorted({r["status"] for r in rows if r["scenario"] == scenario})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm rounds of part 1 (default 5, at most 20)")
    parser.add_argument("--port", type=int, choices=list(PORTS), help="port of 127.0.0.1 (default: first free)")
    parser.add_argument("--workdir", type=Path, help="work folder (default: a folder in the temp folder)")
    parser.add_argument("--deadline", type=float, default=600, help="stop after this many seconds (default 600)")
    parser.add_argument("--skip-concurrency", action="store_true", help="only parts 1 and 2")
    args = parser.parse_args()
    repeat = max(1, min(args.repeat, 20))
    deadline = Deadline(args.deadline)
    workdir = args.workdir or Path(tempfile.gettempdir()) / "hpsmart-bench-intake"
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("bench.sqlite3", "concurrent.sqlite3", "uploads"):
        target = workdir / stale
        if target.is_dir():
            shutil.rmtree(target)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)

    photos = phone_photos(workdir)
    ward = prepare_database(workdir / "bench.sqlite3")
    port = pick_port(args.port)
    from PIL import features

    print(f"python {sys.version.split()[0]}, Pillow {features.version('pil')}, "
          f"libjpeg-turbo {features.version('libjpeg_turbo')}, {os.cpu_count()} CPUs; "
          f"gunicorn on 127.0.0.1:{port}; SQLite (WAL)")
    # Other work on the machine slows every figure down: compare runs at a similar load.
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"photos: {[f'{len(p) / MB:.2f} MB' for p in photos]}, 4032x3024 (12.2 MP) each")

    rows = accept(workdir, port, ward, photos, repeat, deadline)
    base = pillow_baseline(workdir, len(photos))
    print(f"\n1. Accept one report, 1 gunicorn worker, {repeat} warm rounds (+1 cold):")
    print(f"   {'scenario':<16} {'best s':>7} {'median s':>8} {'worst s':>7} {'cold s':>7} "
          f"{'worker RSS MB':>13} {'peak MB':>8} {'added MB':>8}  status")
    for scenario in ("no photos", "3 phone photos"):
        s = summary(rows, scenario)
        print(f"   {scenario:<16} {s['best']:>7.3f} {s['median']:>8.3f} {s['worst']:>7.3f} {s['cold']:>7.3f} "
              f"{s['rss']:>13.1f} {s['peak']:>8.1f} {s['added']:>8.1f}  {s['statuses']}")
    print(f"2. Pillow baseline, full decode of the 3 photos in a fresh process: {base['seconds']:.3f} s, "
          f"peak {base['peak_mb']:.1f} MB (added {base['peak_mb'] - base['rss_mb']:.1f} MB)")
    with_photos = summary(rows, "3 phone photos")
    print(f"   target: < {TARGET_SECONDS:.0f} s and < {TARGET_MB} MB per request: median "
          f"{with_photos['median']:.3f} s, worker peak {with_photos['peak']:.1f} MB -> "
          f"{'met' if with_photos['median'] < TARGET_SECONDS and with_photos['peak'] < TARGET_MB else 'NOT met'}")

    if not args.skip_concurrency:
        c = concurrency(workdir, port, ward, deadline)
        print(f"\n3. {CONCURRENT} simultaneous submissions (2 photos of {c['photo_kb']} KB each), "
              f"4 gunicorn workers, SQLite journal_mode={c['journal']}:")
        print(f"   statuses {c['statuses']}; {c['reports']} reports, {c['attachments']} attachments stored; "
              f"'database is locked' in the log: {c['locked']}; tracebacks: {c['tracebacks']}")
        print(f"   all answered in {c['wall']:.2f} s; latency median {c['p50']:.2f} s, max {c['max']:.2f} s")
    print(f"\nwork folder: {workdir} (photos kept for the next run; database and uploads recreated)")


if __name__ == "__main__":
    main()
