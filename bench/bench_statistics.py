"""Benchmark of the statistics service and the PDF report; run on demand.

    python bench/bench_statistics.py [--database-url URL] [--month 10000] [--year 1000000]
                                     [--pdf [--month-only | --jobs-only]] [--job-rows 1000,5000]
                                     [--repeat 5] [--workdir DIR]

Builds a fresh database (SQLite in ``--workdir`` by default; a PostgreSQL URL
is emptied first: use a database of your own), migrates it, loads the reference
data, and bulk-inserts reports (``COPY`` then ``VACUUM ANALYZE`` on PostgreSQL, ``executemany`` on
SQLite) with every status, channel, category, many agencies (2022 agencies with
a successor included) and wards:

- ``month``: ``--month`` reports received in November 2026, spread evenly, so
  1–3 November (local time) hold exactly 10 % of them (1,000 of 10,000);
- ``year``: with ``--year N``, N reports over the twelve months before (December
  2025 – November 2026), also spread evenly.

Then it measures, each ``--repeat`` times after one warm-up (median and worst
printed), and once more under ``tracemalloc`` for the peak of Python allocations:

- ``statistics month``: ``statistics.compute`` for November;
- ``statistics year``: ``compute`` for 1 December 2025 – 30 November 2026;
- with ``--pdf``, each pair run alternately (so both see the same load on a
  shared machine), with the median of the per-pair ratios:

  * ``pdf month, no appendix`` (the whole summary PDF for November, as
    ``GET /reports/summary.pdf`` makes it) against ``bare month tables
    (WeasyPrint)``: plain WeasyPrint (default settings) laying out the same
    document's tables (key figures, agencies, wards, overdue, notable) with the
    same CSS and fonts, no letterhead, text or charts;
  * the same PDF as it was made before the garbage-collector setting of
    ``hpsmart.pdf.fewer_collections`` (``LAYOUT_GC_THRESHOLD`` = 700, Python's
    default) against it as made now; the seconds spent in garbage collection
    (``gc.callbacks``) are printed for both;
  * ``pdf 1,000-row appendix`` (1–3 November, one document while the browser
    would wait, as before) and ``job 1,000-row appendix`` (the background job's
    way, ``write_summary_pdf``, parts of ``PDF_APPENDIX_CHUNK_ROWS`` rows joined)
    each against ``bare 1,000-row table (WeasyPrint)``: plain WeasyPrint laying
    out one table of 1,000 rows with the appendix's columns, texts, fonts and
    page CSS, no letterhead, figures or charts;
  * ``--job-rows 1000,5000``: the background job's peak resident memory for
    that many rows, each in a fresh process (its ``VmHWM``), in parts of 500
    and 1,000 rows and, for comparison, in one part (``--jobs-only``: only these
    and the job's time).

Times are wall-clock seconds on this machine, and ``cpu``: CPU seconds of this
process (the database server's work not included; less disturbed than wall time
when other jobs share the machine); ``ru_maxrss`` (peak resident set
of the whole process, MB) is printed at the end. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics as pystats
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
YEAR = (date(2025, 12, 1), date(2026, 11, 30))
APPENDIX = (date(2026, 11, 1), date(2026, 11, 3))
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=timezone.utc)


def build_app(url: str, workdir: Path):
    """A migrated app with reference data on ``url`` (emptied first when PostgreSQL)."""
    from flask_migrate import upgrade

    from hpsmart import create_app
    from hpsmart.extensions import db

    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(workdir / "uploads"),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        from hpsmart.services.reference import load_reference

        load_reference()
        db.session.commit()
    return app


def report_rows(count: int, start: date, end: date, seed: int, first_id: int):
    """Yield ``count`` report rows (dicts of column values) received evenly between the local
    midnights of ``start`` and the day after ``end``."""
    from sqlalchemy import select

    from hpsmart.extensions import db
    from hpsmart.i18n import LOCAL_TZ
    from hpsmart.models import AdministrativeUnit, Agency, Category, Channel, ReportStatus, UnitLevel
    from hpsmart.services.deadlines import add_working_days

    rng = random.Random(seed)
    agencies = db.session.scalars(select(Agency.id).where(Agency.kind != "district_committee")).all()
    categories = db.session.scalars(select(Category.id)).all()
    units = db.session.scalars(
        select(AdministrativeUnit.id).where(AdministrativeUnit.level != UnitLevel.PROVINCE)).all()
    begin = datetime.combine(start, datetime.min.time(), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    step = (finish - begin) / count
    statuses = [(ReportStatus.NEW, 4), (ReportStatus.REJECTED, 6), (ReportStatus.DUPLICATE, 4),
                (ReportStatus.ACCEPTED, 3), (ReportStatus.ROUTED, 8), (ReportStatus.IN_PROGRESS, 15),
                (ReportStatus.RETURNED, 2), (ReportStatus.REOPENED, 2), (ReportStatus.ANSWERED, 8),
                (ReportStatus.PUBLISHED, 48)]
    population, weights = zip(*statuses)
    channels = list(Channel)
    deadline_cache: dict = {}
    for i in range(count):
        created = begin + step * i
        status = rng.choices(population, weights)[0]
        accepted = answered = published = deadline = None
        agency = None
        if status not in (ReportStatus.NEW, ReportStatus.REJECTED, ReportStatus.DUPLICATE):
            accepted = created + timedelta(hours=rng.uniform(0.5, 30))
            key = (accepted.astimezone(LOCAL_TZ).date(), 5 + i % 6)
            if key not in deadline_cache:
                deadline_cache[key] = add_working_days(accepted, key[1])
            deadline = deadline_cache[key]
            agency = rng.choice(agencies)
        if status in (ReportStatus.ANSWERED, ReportStatus.PUBLISHED):
            answered = accepted + timedelta(days=rng.expovariate(1 / 6))
        if status == ReportStatus.PUBLISHED:
            published = answered + timedelta(hours=rng.uniform(1, 48))
        yield {
            "id": first_id + i, "tracking_code": f"HB-{first_id + i:09d}",
            "title": f"Phản ánh số {first_id + i}: ổ gà trên đường Lạch Tray", "description": "Mô tả.",
            "category_id": rng.choice(categories), "address": "", "admin_unit_id": rng.choice(units),
            "reporter_name": "Người phản ánh", "reporter_phone": "0900000000", "reporter_email": "",
            "reporter_name_public": False, "consent_method": "online", "channel": rng.choice(channels).value,
            "status": status.value, "urgency": "normal", "deadline": deadline, "agency_id": agency,
            "created_at": created, "updated_at": created, "accepted_at": accepted, "answered_at": answered,
            "published_at": published, "notable": i % 997 == 0, "search_text": "", "version": 1,
        }


def insert_reports(app, count: int, start: date, end: date, seed: int, first_id: int) -> float:
    """Bulk-insert ``count`` reports; returns seconds taken."""
    from sqlalchemy import insert

    from hpsmart.extensions import db
    from hpsmart.models import Report

    began = time.perf_counter()
    with app.app_context():
        rows = report_rows(count, start, end, seed, first_id)
        if db.engine.dialect.name == "postgresql":
            columns = [c.name for c in Report.__table__.columns if c.name not in ("latitude", "longitude",
                                                                                  "consent_at", "assisted_by_id",
                                                                                  "duplicate_of_id", "submission_key")]
            raw = db.engine.raw_connection()
            try:
                cursor = raw.cursor()
                with cursor.copy(f"COPY report ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row.get(c) for c in columns])
                raw.commit()
                # VACUUM as autovacuum soon would: the first reads after a bulk load
                # otherwise also write every page (hint bits) and time that instead.
                raw.driver_connection.autocommit = True
                cursor.execute("VACUUM ANALYZE report")
            finally:
                raw.close()
        else:
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20_000:
                    db.session.execute(insert(Report), batch)
                    batch = []
            if batch:
                db.session.execute(insert(Report), batch)
            db.session.commit()
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    return time.perf_counter() - began


def measure(label: str, fn, repeat: int) -> dict:
    """Run ``fn`` once to warm up, ``repeat`` times timed, once under tracemalloc; print a line."""
    first = time.perf_counter()
    fn()
    cold = time.perf_counter() - first
    times, cpu_times = [], []
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - began)
        cpu_times.append(time.process_time() - cpu)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    result = {"label": label, "cold": cold, "median": pystats.median(times), "max": max(times), "peak_mb": peak,
              "cpu": pystats.median(cpu_times)}
    print(f"{label:<34} median {result['median']:7.3f} s  max {result['max']:7.3f} s  first {cold:7.3f} s  "
          f"cpu {result['cpu']:7.3f} s  python peak {peak:7.1f} MB", flush=True)
    return result


def compare(label_a: str, fn_a, label_b: str, fn_b, repeat: int) -> None:
    """Time ``fn_a`` and ``fn_b`` alternately (a, b, a, b, ...) so that both see the same
    machine load; print each one's median wall time and CPU time of this process
    (``time.process_time``: what a busy shared machine disturbs least), the medians
    of the per-pair ratios a / b, then each one's peak of Python allocations."""
    pairs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn_a()
        wall_mid, cpu_mid = time.perf_counter(), time.process_time()
        fn_b()
        pairs.append(((wall_mid - wall, cpu_mid - cpu),
                      (time.perf_counter() - wall_mid, time.process_time() - cpu_mid)))
    peaks = []
    for fn in (fn_a, fn_b):
        tracemalloc.start()
        fn()
        peaks.append(tracemalloc.get_traced_memory()[1] / MB)
        tracemalloc.stop()
    for index, label in enumerate((label_a, label_b)):
        walls = [p[index][0] for p in pairs]
        cpus = [p[index][1] for p in pairs]
        print(f"{label:<34} median {pystats.median(walls):7.3f} s  max {max(walls):7.3f} s  "
              f"cpu {pystats.median(cpus):7.3f} s  python peak {peaks[index]:7.1f} MB", flush=True)
    wall_ratios = [a[0] / b[0] for a, b in pairs]
    cpu_ratios = [a[1] / b[1] for a, b in pairs]
    print(f"ratio {label_a} / {label_b}: wall median {pystats.median(wall_ratios):.2f} "
          f"(pairs {', '.join(f'{r:.2f}' for r in wall_ratios)}), cpu median {pystats.median(cpu_ratios):.2f} "
          f"(pairs {', '.join(f'{r:.2f}' for r in cpu_ratios)})", flush=True)


def bare_table_html(lines) -> str:
    """One table with the appendix's columns, texts and CSS, nothing else around it."""
    from flask import current_app
    from markupsafe import escape

    from hpsmart.i18n import format_local_date

    css = (Path(current_app.root_path) / "templates" / "pdf" / "document.css").read_text(encoding="utf-8")
    rows = "".join(
        f'<tr><td class="c">{n}</td><td class="code">{escape(x.tracking_code)}</td>'
        f'<td class="c">{format_local_date(x.received_at)}</td><td>{escape(x.title)}</td><td>{escape(x.unit)}</td>'
        f'<td>{escape(x.agency)}</td><td>{escape(x.status.title)}</td></tr>'
        for n, x in enumerate(lines, start=1))
    return (f"<html><head><meta charset='utf-8'><style>{css}</style></head><body>"
            "<table class='data small'><colgroup><col style='width: 7%'><col style='width: 17%'>"
            "<col style='width: 12%'><col style='width: 25%'><col style='width: 13%'><col style='width: 14%'>"
            "<col style='width: 12%'></colgroup><thead><tr><th>STT</th><th>Mã phản ánh</th><th>Ngày</th>"
            "<th>Tiêu đề</th><th>Phường, xã</th><th>Đơn vị</th><th>Trạng thái</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>")


def bare_tables_html(document_html: str) -> str:
    """The data tables of a rendered summary document with the document's CSS, nothing else."""
    import re

    from flask import current_app

    css = (Path(current_app.root_path) / "templates" / "pdf" / "document.css").read_text(encoding="utf-8")
    tables = re.findall(r'<table class="data[^"]*">.*?</table>', document_html, flags=re.S)
    return f"<html><head><meta charset='utf-8'><style>{css}</style></head><body>{''.join(tables)}</body></html>"


def plain_weasyprint(html: str) -> bytes:
    """WeasyPrint as it comes (default settings, Python's default garbage collection),
    with the app's fetcher so that the same fonts load."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from hpsmart.pdf import StaticOnlyFetcher, static_root

    root = static_root()
    return HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=StaticOnlyFetcher([root])).write_pdf(
        font_config=FontConfiguration())


def gc_seconds(fn) -> float:
    """CPU seconds the cyclic garbage collector spends while ``fn()`` runs."""
    import gc

    spent = {"total": 0.0, "start": 0.0}

    def callback(phase, info):
        if phase == "start":
            spent["start"] = time.process_time()
        else:
            spent["total"] += time.process_time() - spent["start"]

    gc.collect()
    gc.callbacks.append(callback)
    try:
        fn()
    finally:
        gc.callbacks.remove(callback)
    return spent["total"]


def peak_resident_mb() -> float:
    """This process's peak resident set (``VmHWM``, MB). Not ``ru_maxrss``: on Linux that
    keeps the parent's figure across ``fork`` and ``exec``."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def job_memory(url: str, workdir: Path, rows_wanted: int, chunk_rows: int) -> None:
    """Child process: make the job's PDF for about ``rows_wanted`` rows in parts of
    ``chunk_rows`` and print its peak resident set (``ru_maxrss``)."""
    from io import BytesIO

    from hpsmart import create_app
    from hpsmart.pdf.summary import AppendixLimits, SummaryOptions, write_summary_pdf
    from hpsmart.services import statistics as st

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(workdir / "uploads"),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        per_day = st.count_received(*MONTH) / 30
        days = max(1, min(30, round(rows_wanted / per_day)))
        period = (MONTH[0], MONTH[0] + timedelta(days=days - 1))
        rows = st.count_received(*period)
        before = peak_resident_mb()
        began, cpu = time.perf_counter(), time.process_time()
        out = BytesIO()
        pages = write_summary_pdf(out, *period, options=SummaryOptions(appendix=True), now=NOW,
                                  limits=AppendixLimits(chunk_rows=chunk_rows, max_rows=10**9))
        print(f"job {rows:,} rows in parts of {chunk_rows:,}: {pages} pages, {len(out.getvalue()) / MB:.1f} MB, "
              f"wall {time.perf_counter() - began:.1f} s, cpu {time.process_time() - cpu:.1f} s, "
              f"resident {before:.0f} MB before, peak {peak_resident_mb():.0f} MB",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (emptied!) or SQLite URL; "
                                                             "default: a SQLite file in the work dir")
    parser.add_argument("--month", type=int, default=10_000, help="reports in November 2026")
    parser.add_argument("--year", type=int, default=0, help="reports over the year before (0: skip)")
    parser.add_argument("--pdf", action="store_true", help="also measure the PDF report")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", default="", help="temporary files (default: a new temp dir)")
    parser.add_argument("--job-rows", default="", help="with --pdf: comma-separated row counts for the "
                                                         "background job's memory, e.g. 1000,5000")
    parser.add_argument("--jobs-only", action="store_true", help="with --pdf: only the background job's "
                                                                   "figures (time against the bare table, memory)")
    parser.add_argument("--month-only", action="store_true", help="with --pdf: only the monthly report "
                                                                    "without appendix, against the bare tables")
    parser.add_argument("--child-job", default="", help=argparse.SUPPRESS)  # rows,chunk: internal
    args = parser.parse_args()
    if args.child_job:
        rows, chunk = (int(x) for x in args.child_job.split(","))
        job_memory(args.database_url, Path(args.workdir), rows, chunk)
        return

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hpsmart-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith("sqlite:///") and args.database_url == "":
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
    app = build_app(url, workdir)
    print(f"database: {url.split('@')[-1]}   cpus: {os.cpu_count()}", flush=True)
    took = insert_reports(app, args.month, *MONTH, seed=1, first_id=1)
    print(f"inserted {args.month:,} reports for November 2026 in {took:.1f} s", flush=True)
    if args.year:
        took = insert_reports(app, args.year, YEAR[0], MONTH[0] - timedelta(days=1), seed=2,
                              first_id=10_000_000)
        print(f"inserted {args.year:,} reports for Dec 2025 - Oct 2026 in {took:.1f} s", flush=True)

    from hpsmart.extensions import db
    from hpsmart.services import statistics as st

    with app.app_context():
        stats = st.compute(*MONTH, now=NOW)
        print(f"November: {stats.totals.received:,} received, {stats.totals.answered:,} answered, "
              f"median {stats.median_days} / p90 {stats.p90_days} working days", flush=True)
        measure("statistics month", lambda: st.compute(*MONTH, now=NOW), args.repeat)
        if args.year:
            year = st.compute(*YEAR, now=NOW)
            print(f"Year: {year.totals.received:,} received", flush=True)
            measure("statistics year", lambda: st.compute(*YEAR, now=NOW), args.repeat)
        if args.pdf:
            from io import BytesIO

            from flask_babel import force_locale

            import hpsmart.pdf as pdf_module
            from hpsmart.pdf import render_html
            from hpsmart.pdf.summary import AppendixLimits, SummaryOptions, summary_context, summary_pdf, \
                write_summary_pdf

            rows = st.count_received(*APPENDIX)
            print(f"appendix period {APPENDIX[0]} - {APPENDIX[1]}: {rows:,} reports", flush=True)
            pdf_repeat = max(1, min(args.repeat, 3))
            month_pdf = lambda: summary_pdf(*MONTH, now=NOW)  # noqa: E731
        if args.pdf and not args.jobs_only:
            measure("pdf month, no appendix", month_pdf, pdf_repeat)
            with force_locale("vi"):
                month_tables = bare_tables_html(render_html("summary.html", **summary_context(*MONTH, now=NOW)))
            compare("pdf month, no appendix", month_pdf, "bare month tables (WeasyPrint)",
                    lambda: plain_weasyprint(month_tables), pdf_repeat)

            def month_pdf_as_before():
                saved = pdf_module.LAYOUT_GC_THRESHOLD
                pdf_module.LAYOUT_GC_THRESHOLD = 700  # Python's default: no change while laying out
                try:
                    month_pdf()
                finally:
                    pdf_module.LAYOUT_GC_THRESHOLD = saved

            compare("pdf month, GC as before", month_pdf_as_before, "pdf month, now", month_pdf, pdf_repeat)
            print(f"garbage collection during one pdf month: as before {gc_seconds(month_pdf_as_before):.2f} s, "
                  f"now {gc_seconds(month_pdf):.2f} s", flush=True)

        if args.pdf and not args.month_only:
            with force_locale("vi"):
                html = bare_table_html(st.report_lines(*APPENDIX, now=NOW))
            appendix = SummaryOptions(appendix=True)
        if args.pdf and not args.jobs_only and not args.month_only:
            compare(f"pdf {rows:,}-row appendix", lambda: summary_pdf(*APPENDIX, options=appendix, now=NOW,
                                                                     appendix_limit=None),
                    f"bare {rows:,}-row table (WeasyPrint)", lambda: plain_weasyprint(html), pdf_repeat)
        if args.pdf and not args.month_only:
            for chunk in (500, 1000):
                limits = AppendixLimits(chunk_rows=chunk, max_rows=10**9)
                compare(f"job {rows:,}-row appendix, parts of {chunk:,}",
                        lambda: write_summary_pdf(BytesIO(), *APPENDIX, options=appendix, now=NOW, limits=limits),
                        f"bare {rows:,}-row table (WeasyPrint)", lambda: plain_weasyprint(html), pdf_repeat)
        db.session.remove()
    if args.pdf and args.job_rows:
        import subprocess

        for wanted in (int(x) for x in args.job_rows.split(",") if x.strip()):
            for chunk in sorted({500, 1000, wanted}):
                subprocess.run([sys.executable, __file__, "--database-url", url, "--workdir", str(workdir),
                                "--child-job", f"{wanted},{chunk}"], check=True)
    print(f"process peak resident set (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
