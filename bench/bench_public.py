"""Benchmark of the public list of answered reports; run on demand, not in CI.

    python bench/bench_public.py [--reports 200] [--rounds 300] [--workdir DIR] [--database-url URL]

Issue 5, "done when": the public list page's median server time is within 3x the
time of rendering a bare 50-row template page on the same machine, both measured in
one run.

What it does, in a work folder (default: the system temp folder) with a new SQLite
database (or the empty PostgreSQL database given by ``--database-url``; its tables are
dropped first), migrated, with the reference data loaded:

1. Seeds ``--reports`` answered reports (status "answer published", a published
   ``Response`` each), each with two citizen photos and one answer photo (attachment
   rows with well-formed paths; no image is served, the page only links them),
   spread over the last 60 days, across categories and wards.
2. Registers, in the benchmark's app only, ``GET /bench/bare`` (a minimal Jinja
   template, no layout, looping over 50 prepared rows of tracking code, title, ward
   and date) and ``GET /bench/bare-layout`` (the same 50 rows in the site's
   ``base.html``), neither touching the database.
3. Times, in one process through Flask's test client (the same WSGI path for every
   page), ``--rounds`` requests of each, interleaved, after 20 warm-up requests each:
   ``/reports`` with 50 rows per page (``PUBLIC_PAGE_SIZE=50``) as an anonymous visitor
   sending no validators, as served (the fingerprint query, then the page from the
   in-memory page cache while its ETag holds); the same with the page cache turned off
   for the request (``PUBLIC_PAGE_CACHE_ENTRIES=0``: every request queries and renders
   the 50 reports, the cost after any change to the data); the same with its ETag in
   ``If-None-Match`` (the 304 path); and the two bare pages. Time: ``time.perf_counter``
   around ``client.get``; median and 90th percentile in milliseconds.

Nothing is asserted; the figures and the ratios are printed, and ``bench/RESULTS.md`` is
written by hand from them.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE_ROWS = 50
WARMUP = 20
TARGET_RATIO = 3.0

LIST = "public list, 50 rows"
RENDER = "public list, 50 rows, rendered (page cache off)"
NOT_MODIFIED = "public list, 50 rows, If-None-Match (304)"
BARE_PAGE = "bare 50-row template"
BARE_IN_LAYOUT = "bare 50-row template in base.html"

BARE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Bare</title></head><body>
<h1>Bare page</h1><ol>
{% for row in rows %}
<li><a href="/reports/{{ row.code }}">{{ row.title }}</a> · {{ row.unit }} · {{ row.at | localdate }}</li>
{% endfor %}</ol></body></html>"""

BARE_LAYOUT = """{% extends "base.html" %}{% block content %}<h1>Bare page</h1><ol>
{% for row in rows %}
<li><a href="/reports/{{ row.code }}">{{ row.title }}</a> · {{ row.unit }} · {{ row.at | localdate }}</li>
{% endfor %}</ol>{% endblock %}"""


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(workdir: Path, database_url: str | None):
    from hpsmart import create_app

    if database_url:
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
        reset_postgres(database_url)
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(workdir / "uploads"),
                      "RATELIMIT_ENABLED": False, "PUBLIC_PAGE_SIZE": PAGE_ROWS, "SECRET_KEY": "bench"})

    from flask import render_template
    from jinja2 import ChoiceLoader, DictLoader

    # Compiled once and cached like every template of the app (render_template_string
    # would compile on each request).
    app.jinja_loader = ChoiceLoader([DictLoader({"bench/bare.html": BARE, "bench/bare_layout.html": BARE_LAYOUT}),
                                     app.jinja_loader])
    rows = [{"code": f"HP-2026-{n:06d}", "title": f"Ổ gà lớn trên đường Lạch Tray số {n}",
             "unit": "Phường Hồng Bàng", "at": None} for n in range(PAGE_ROWS)]

    def bare():
        return render_template("bench/bare.html", rows=rows)

    def bare_layout():
        return render_template("bench/bare_layout.html", rows=rows)

    app.add_url_rule("/bench/bare", "bench_bare", bare)
    app.add_url_rule("/bench/bare-layout", "bench_bare_layout", bare_layout)
    return app, rows


def seed(app, count: int, rows: list[dict]) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from hpsmart.extensions import db
    from hpsmart.models import (AdministrativeUnit, Agency, Attachment, Category, Channel, Outcome, Report,
                                ReportEvent, ReportStatus, Response, ResponseState, UnitLevel, utcnow)
    from hpsmart.services.reference import load_reference
    from hpsmart.services.tracking import next_tracking_code

    rng = random.Random(5)
    with app.app_context():
        upgrade()
        load_reference()
        db.session.commit()
        categories = db.session.scalars(select(Category).where(Category.active.is_(True))).all()
        units = db.session.scalars(select(AdministrativeUnit).where(
            AdministrativeUnit.valid_to.is_(None), AdministrativeUnit.level != UnitLevel.PROVINCE)).all()
        agencies = db.session.scalars(select(Agency).where(Agency.valid_to.is_(None))).all()
        now = utcnow()
        for n in range(count):
            received = now - timedelta(days=rng.uniform(1, 60))
            answered = received + timedelta(days=rng.uniform(0.5, 8))
            agency = rng.choice(agencies)
            report = Report(
                tracking_code=next_tracking_code(received), title=f"Ổ gà lớn trên đường Lạch Tray đoạn {n}",
                description="Ổ gà sâu khoảng 20 cm giữa làn xe máy, trời mưa đọng nước rất nguy hiểm. " * 3,
                category=rng.choice(categories), admin_unit=rng.choice(units), address=f"{n} Lạch Tray",
                latitude=20.80 + rng.random() / 10, longitude=106.65 + rng.random() / 10, channel=Channel.WEB,
                status=ReportStatus.PUBLISHED, reporter_name="Nguyễn Văn An", reporter_phone="0912345678",
                reporter_email="an@example.invalid", created_at=received, updated_at=answered,
                accepted_at=received, answered_at=answered, published_at=answered,
                deadline=received + timedelta(days=10), agency=agency)
            db.session.add(report)
            db.session.add(ReportEvent(report=report, action="created", new_value="new", public=True,
                                       created_at=received))
            response = Response(report=report, agency=agency, body="Đơn vị đã vá ổ gà và hoàn trả mặt đường. "
                                "Cảm ơn người dân đã phản ánh. " * 2, outcome=Outcome.RESOLVED,
                                state=ResponseState.PUBLISHED, published_at=answered, submitted_at=answered)
            db.session.add(response)
            for purpose, owner in (("report", None), ("report", None), ("answer", response)):
                name = f"{rng.getrandbits(128):032x}"
                db.session.add(Attachment(
                    report=report, response=owner, purpose=purpose, kind="photo",
                    original_path=f"original/{name[:2]}/{name[2:4]}/{name}.jpg",
                    public_path=f"public/{name[:2]}/{name[2:4]}/{name}.jpg",
                    thumb_path=f"thumb/{name[:2]}/{name[2:4]}/{name}.jpg", content_type="image/jpeg",
                    size_bytes=3_000_000, width=2560, height=1920, created_at=received))
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()
        for row in rows:
            row["at"] = now


def timed(client, url: str, headers=None, expect: int = 200) -> float:
    start = time.perf_counter()
    response = client.get(url, headers=headers or {})
    response.get_data()
    elapsed = time.perf_counter() - start
    if response.status_code != expect:
        raise SystemExit(f"{url}: HTTP {response.status_code}, expected {expect}")
    return elapsed * 1000


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered):7.2f} ms   p90 {p90:7.2f} ms   (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200, help="answered reports to seed (>= 50)")
    parser.add_argument("--rounds", type=int, default=300, help="timed requests per page")
    parser.add_argument("--workdir", type=Path, default=None, help="work folder (default: a new temp folder)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="an empty PostgreSQL database to use instead of SQLite (its tables are dropped)")
    args = parser.parse_args()
    if args.reports < PAGE_ROWS:
        raise SystemExit(f"--reports must be at least {PAGE_ROWS}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hpsmart-bench-public-"))
    workdir.mkdir(parents=True, exist_ok=True)

    app, rows = make_app(workdir, args.database_url)
    started = time.perf_counter()
    seed(app, args.reports, rows)
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; seeded {args.reports} answered reports "
          f"with 3 photos each in {time.perf_counter() - started:.1f} s; work folder {workdir}")

    client = app.test_client()
    first = client.get("/reports")
    assert first.get_data(as_text=True).count('class="card public-report"') == PAGE_ROWS
    etag = first.headers["ETag"]
    cache_entries = app.config.get("PUBLIC_PAGE_CACHE_ENTRIES", 128)
    # name: (URL, request headers, expected status, page cache entries during the request)
    pages = {
        LIST: ("/reports", None, 200, cache_entries),
        RENDER: ("/reports", None, 200, 0),
        NOT_MODIFIED: ("/reports", {"If-None-Match": etag}, 304, cache_entries),
        BARE_PAGE: ("/bench/bare", None, 200, cache_entries),
        BARE_IN_LAYOUT: ("/bench/bare-layout", None, 200, cache_entries),
    }

    def run(url, headers, expect, entries):
        app.config["PUBLIC_PAGE_CACHE_ENTRIES"] = entries
        try:
            return timed(client, url, headers, expect)
        finally:
            app.config["PUBLIC_PAGE_CACHE_ENTRIES"] = cache_entries

    for spec in pages.values():
        for _ in range(WARMUP):
            run(*spec)
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(args.rounds):
        for name, spec in pages.items():
            times[name].append(run(*spec))

    print(f"\n{args.rounds} requests per page, interleaved, after {WARMUP} warm-up requests each:")
    for name, values in times.items():
        print(f"  {name:50s} {summary(values)}")
    for page in (LIST, RENDER):
        for bare in (BARE_PAGE, BARE_IN_LAYOUT):
            ratio = statistics.median(times[page]) / statistics.median(times[bare])
            verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
            print(f"  {page} / {bare}: {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target)")


if __name__ == "__main__":
    main()
