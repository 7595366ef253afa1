"""Benchmark of the shared inbox at scale: list, filters, sorts, search, report view; on demand, not in CI.

    python bench/bench_inbox.py --database-url postgresql://postgres@127.0.0.1:5432/SCRATCH --reports 1000000
    python bench/bench_inbox.py --reports 200000            # SQLite, a new file in --workdir

Issue 4, "done when": with 1,000,000 reports on PostgreSQL and 200,000 on SQLite, the
95th percentile server time is under 50 ms for the list pages and under 150 ms for
search, on a 2-core machine.

What it does:

1. A fresh database: for PostgreSQL the database named in ``--database-url`` is dropped
   and created again (it must be a scratch database); for SQLite a new file in the work
   folder (default: a new temp folder). Migrated with ``flask_migrate.upgrade``, reference
   data loaded, one IOC operator and one agency staff member created.
2. Bulk load of ``--reports`` reports, bypassing the ORM: the report table's secondary
   indexes are dropped, rows are written with ``COPY`` (PostgreSQL) or ``executemany``
   in transactions of 25,000 (SQLite), the indexes are re-created from their stored
   definitions, then ``ANALYZE``. Distributions (seeded, reproducible): time received
   uniform over the last 730 days; status skewed by age (old reports mostly published
   or closed, recent ones often open); 12 categories, 114 wards/communes, handling
   agency from the category (ward committee for ward-routed categories), 3 % co-handled;
   four channels (app 55 %, web 30 %, assisted 10 %, API 5 %); 8 % urgent; deadline
   10 (urgent 3) working days after acceptance, so open reports past it are overdue;
   3 % duplicates of an earlier report. Titles and descriptions are built from
   Vietnamese phrases per category, street names of Hai Phong and house numbers, so
   trigram selectivity is realistic (common: "duong"; rare: a tracking code).
   ``search_text`` is ``hpsmart.text.search_document`` of tracking code, title,
   description, address and ward name, exactly as the model computes it. The report measured in the
   report view gets 10 history events.
3. Times, in one process through Flask's test client (the whole WSGI path, template
   included), ``--rounds`` requests of each scenario, interleaved round by round, after
   ``--warmup`` warm-up requests each: ``time.perf_counter`` around ``client.get``.
   A baseline in the same run (a bare 50-row template, no database) lets ratios survive
   machine noise.
4. For each scenario the SQL statements of one request are captured with a
   ``before_cursor_execute`` listener, and the slowest ones touching ``report`` are
   explained: ``EXPLAIN (ANALYZE)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite.

Output: a markdown table (median, p95 ms, SQL statement count, main plan) on stdout and
in ``--out`` (default: ``inbox-<database>-<reports>.md`` in the work folder), with the
full plans after it. The PostgreSQL scratch database is dropped at the end unless
``--keep``; ``--reuse`` measures a kept database again (after a migration, say) without
reloading it. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-123"
SQLITE_BATCH = 25_000
PG_BATCH = 100_000
LIST_TARGET_MS = 50
SEARCH_TARGET_MS = 150

BARE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Bare</title></head><body>
<h1>Bare page</h1><ol>
{% for row in rows %}
<li><a href="/inbox/reports/{{ row.code }}">{{ row.title }}</a> · {{ row.unit }}</li>
{% endfor %}</ol></body></html>"""

STREETS = """Lạch Tray|Lê Lợi|Trần Phú|Điện Biên Phủ|Nguyễn Đức Cảnh|Tô Hiệu|Hai Bà Trưng|Cầu Đất|Lê Thánh Tông|
Đà Nẵng|Nguyễn Văn Linh|Lê Hồng Phong|Văn Cao|Trần Nguyên Hãn|Hoàng Văn Thụ|Quang Trung|Phạm Ngũ Lão|
Nguyễn Trãi|Lý Thường Kiệt|Trần Hưng Đạo|Minh Khai|Chùa Hàng|Thiên Lôi|Đình Đông|An Dương Vương|Ngô Quyền|
Bạch Đằng|Hùng Vương|Nguyễn Bỉnh Khiêm|Phạm Văn Đồng|Lê Duẩn|Máng Nước|Cát Bi|Nguyễn Tường Loan|Hồ Sen|
Trần Nhân Tông|Lương Khánh Thiện|Mê Linh|Tôn Đức Thắng|Nguyễn Lương Bằng|Đồng Hòa|Hải Triều|Kiều Hạ|
Phan Bội Châu|Nguyễn Đình Chiểu|Võ Thị Sáu|Lê Quýnh|Trung Hành|Đông Khê|Lê Lai|Hàng Kênh|Dư Hàng|
Ngô Gia Tự|Vũ Chí Thắng|Trần Quang Khải|Thư Trung|Bùi Viện|Quán Toan|Chợ Hàng|Hoàng Minh Thảo""".replace("\n", "")
STREETS = [s.strip() for s in STREETS.split("|") if s.strip()]
PREFIXES = ["đường", "phố", "ngõ", "ngách", "khu dân cư", "tổ dân phố"]

# Phrases per category code: (title phrases, description sentences).
PHRASES = {
    "giao_thong": (["Ổ gà lớn", "Mặt đường sụt lún", "Biển báo bị đổ", "Đèn tín hiệu giao thông hỏng",
                    "Dải phân cách bị vỡ", "Nắp hố ga bị mất", "Xe tải đỗ chiếm lòng đường"],
                   ["Ổ gà sâu giữa làn xe máy rất nguy hiểm.", "Mặt đường bong tróc sau mưa lớn.",
                    "Đèn tín hiệu tại ngã tư không hoạt động từ sáng.", "Nhiều phương tiện suýt va chạm."]),
    "trat_tu_do_thi": (["Lấn chiếm vỉa hè", "Họp chợ tự phát", "Quảng cáo rao vặt dán tràn lan",
                        "Quán nhậu bày bàn ghế xuống lòng đường"],
                       ["Người đi bộ phải xuống lòng đường.", "Tình trạng kéo dài nhiều tháng nay.",
                        "Hàng quán bày bán đến tận đêm khuya."]),
    "ve_sinh_moi_truong": (["Rác thải tồn đọng", "Đổ trộm phế thải xây dựng", "Mùi hôi thối từ bãi rác",
                            "Xác động vật chết trên đường", "Khói bụi từ xưởng sản xuất"],
                           ["Rác không được thu gom đã ba ngày.", "Mùi hôi bốc lên ảnh hưởng sức khỏe.",
                            "Ruồi muỗi phát sinh nhiều."]),
    "dien_chieu_sang": (["Đèn chiếu sáng không hoạt động", "Cột điện nghiêng", "Dây điện võng thấp",
                         "Đèn đường sáng cả ban ngày", "Tủ điện không có nắp"],
                        ["Cả đoạn đường tối om vào ban đêm.", "Dây điện chằng chịt có nguy cơ chập cháy.",
                         "Đèn chiếu sáng hỏng gần một tuần."]),
    "cap_thoat_nuoc": (["Ngập nước sau mưa", "Vỡ đường ống cấp nước", "Cống thoát nước bị tắc",
                        "Nước sinh hoạt có mùi lạ", "Mất nước kéo dài"],
                       ["Mỗi khi mưa là ngập nước sâu nửa mét.", "Nước tràn vào nhà dân.",
                        "Cống bốc mùi hôi, rác ứ đọng.", "Nước máy đục và có cặn."]),
    "cay_xanh": (["Cây xanh có nguy cơ gãy đổ", "Cành cây che khuất đèn", "Cây đổ chắn ngang đường",
                  "Chặt hạ cây xanh trái phép"],
                 ["Sau cơn bão cây nghiêng hẳn sang một bên.", "Cành khô có thể rơi trúng người đi đường."]),
    "xay_dung": (["Xây dựng không phép", "Công trình gây lún nứt nhà bên cạnh", "Vật liệu xây dựng để trên vỉa hè",
                  "Công trường thi công ban đêm gây ồn"],
                 ["Công trình thi công không che chắn.", "Nhà bên cạnh xuất hiện vết nứt lớn."]),
    "an_ninh_trat_tu": (["Tụ tập gây mất trật tự", "Đua xe trái phép", "Tiếng ồn karaoke quá giờ",
                         "Trộm cắp xe máy"],
                        ["Thanh niên tụ tập đua xe sau nửa đêm.", "Karaoke mở to quá 22 giờ."]),
    "y_te": (["Cơ sở bán thuốc không phép", "Vệ sinh an toàn thực phẩm", "Phun thuốc diệt muỗi"],
             ["Nhiều trường hợp sốt xuất huyết trong khu phố.", "Quán ăn không bảo đảm vệ sinh."]),
    "giao_duc": (["Thu tiền trái quy định tại trường", "Ùn tắc trước cổng trường", "Cơ sở vật chất trường xuống cấp"],
                 ["Phụ huynh phản ánh nhiều khoản thu.", "Giờ tan học ùn tắc kéo dài."]),
    "dich_vu_cong": (["Hồ sơ giải quyết chậm", "Thái độ cán bộ tiếp dân", "Cổng dịch vụ công bị lỗi"],
                     ["Hồ sơ nộp quá hạn vẫn chưa có kết quả.", "Không đăng nhập được cổng dịch vụ công."]),
    "khac": (["Đề nghị lắp camera an ninh", "Kiến nghị về sân chơi trẻ em", "Chó thả rông không rọ mõm"],
             ["Người dân mong được xem xét sớm.", "Đề nghị cơ quan chức năng kiểm tra."]),
}
COMMON = ["Đề nghị cơ quan chức năng sớm xử lý.", "Người dân rất bức xúc.", "Xin cảm ơn.",
          "Tình trạng này đã kéo dài.", "Mong được giải quyết dứt điểm.", "Đã phản ánh nhiều lần nhưng chưa được xử lý."]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thu Hà", "Vũ Đức Long"]


# --- database -----------------------------------------------------------------------------

def fresh_postgres(url: str) -> str:
    """Drop and create the database of ``url`` (a scratch database); returns the SQLAlchemy URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    target = make_url(url)
    if not target.database or target.database in ("postgres", "template0", "template1"):
        raise SystemExit("--database-url must name a scratch database (it is dropped and created)")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def make_app(url: str):
    from flask import render_template
    from jinja2 import ChoiceLoader, DictLoader

    from hpsmart import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2} if url.startswith("postgresql") else {}})
    app.jinja_loader = ChoiceLoader([DictLoader({"bench/bare.html": BARE}), app.jinja_loader])
    rows = [{"code": f"HP-2026-{n:06d}", "title": f"Ổ gà lớn trên đường Lạch Tray số {n}",
             "unit": "Phường Hồng Bàng"} for n in range(50)]
    app.add_url_rule("/bench/bare", "bench_bare", lambda: render_template("bench/bare.html", rows=rows))
    return app


# --- data -----------------------------------------------------------------------------------

def working_days_after(start: datetime, days: int) -> datetime:
    """``days`` weekdays after ``start`` (holidays ignored: good enough for data), end of that day."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day.replace(hour=16, minute=59, second=59, microsecond=0)


def pick_status(rng: random.Random, age_days: float) -> str:
    """Status skewed by age: recent reports are often open, old ones mostly closed."""
    r = rng.random()
    if age_days < 3:
        table = [("new", .35), ("accepted", .2), ("routed", .25), ("in_progress", .15), ("rejected", .05)]
    elif age_days < 30:
        table = [("new", .03), ("accepted", .04), ("routed", .15), ("in_progress", .25), ("answered", .10),
                 ("published", .30), ("rejected", .06), ("duplicate", .03), ("returned", .02), ("reopened", .02)]
    else:
        table = [("new", .003), ("accepted", .004), ("routed", .01), ("in_progress", .02), ("answered", .01),
                 ("published", .83), ("rejected", .08), ("duplicate", .03), ("returned", .003), ("reopened", .01)]
    for status, share in table:
        r -= share
        if r <= 0:
            return status
    return table[-1][0]


def generate(n_reports: int, ref: dict, now: datetime, seed: int = 15):
    """Yield report row dicts (every column of ``report``), ids 1..n, oldest first."""
    from hpsmart.text import search_document

    rng = random.Random(seed)
    counters: dict[int, int] = {}
    times = sorted(now - timedelta(days=rng.uniform(0, 730)) for _ in range(n_reports))
    categories, units = ref["categories"], ref["units"]
    weights = [14, 9, 10, 9, 11, 6, 7, 5, 3, 3, 4, 6][: len(categories)]
    for i, created in enumerate(times, start=1):
        local_year = (created + timedelta(hours=7)).year
        counters[local_year] = counters.get(local_year, 0) + 1
        code = f"HP-{local_year}-{counters[local_year]:06d}"
        category = rng.choices(categories, weights)[0]
        unit = rng.choice(units)
        titles, sentences = PHRASES.get(category["code"], PHRASES["khac"])
        street = rng.choice(STREETS)
        number = rng.randint(1, 480)
        prefix = rng.choice(PREFIXES) if rng.random() < .4 else "đường"
        title = f"{rng.choice(titles)} {rng.choice(['trên', 'tại', 'ở', 'gần'])} {prefix} {street}"
        if rng.random() < .3:
            title += f" số {number}"
        description = " ".join(rng.sample(sentences, k=min(len(sentences), rng.randint(1, 3)))
                               + rng.sample(COMMON, k=rng.randint(1, 2)))
        if rng.random() < .5:
            description += f" Vị trí gần nhà số {number} {street}."
        address = f"{number} {street}, {unit['name']}"
        age = (now - created).total_seconds() / 86400
        status = pick_status(rng, age)
        urgent = rng.random() < .08
        accepted = created + timedelta(hours=rng.uniform(1, 30)) if status != "new" else None
        deadline = working_days_after(accepted, category["urgent_days" if urgent else "days"]) if accepted else None
        agency_id = None
        if status in ("routed", "in_progress", "answered", "published", "reopened") or (
                status == "rejected" and rng.random() < .3):
            if category["route_to_ward"] and unit["agency_id"]:
                agency_id = unit["agency_id"]
            else:
                agency_id = category["agency_id"] or rng.choice(ref["agencies"])
        answered = published = None
        if status in ("answered", "published"):
            answered = min(accepted + timedelta(days=rng.uniform(1, 20)), now)
            if status == "published":
                published = min(answered + timedelta(days=rng.uniform(0.1, 3)), now)
        updated = max(t for t in (created, accepted, answered, published) if t is not None)
        if status in ("in_progress", "routed", "returned", "reopened", "rejected", "duplicate"):
            updated = min(updated + timedelta(days=rng.uniform(0, 5)), now)
        duplicate_of = rng.randint(max(1, i - 2000), i - 1) if status == "duplicate" and i > 1 else None
        channel = rng.choices(["app", "web", "assisted", "api"], [55, 30, 10, 5])[0]
        lat = 20.70 + rng.random() * 0.25
        lon = 106.55 + rng.random() * 0.25
        yield {
            "id": i, "tracking_code": code, "title": title, "description": description,
            "category_id": category["id"], "address": address, "admin_unit_id": unit["id"],
            "latitude": lat, "longitude": lon, "reporter_name": rng.choice(NAMES),
            "reporter_phone": f"09{rng.randint(10_000_000, 99_999_999)}", "reporter_email": "",
            "reporter_name_public": False, "consent_method": "online", "consent_at": created,
            "channel": channel, "status": status, "urgency": "urgent" if urgent else "normal",
            "deadline": deadline, "agency_id": agency_id, "assisted_by_id": None,
            "duplicate_of_id": duplicate_of, "submission_key": None, "created_at": created,
            "updated_at": updated, "accepted_at": accepted, "answered_at": answered, "published_at": published,
            "notable": False, "satisfied": None,
            "search_text": search_document(code, title, description, address, unit["name"]),
            "version": 1,
        }


def reference(app) -> dict:
    from sqlalchemy import select

    from hpsmart.extensions import db
    from hpsmart.models import AdministrativeUnit, Agency, Category, UnitLevel

    with app.app_context():
        cats = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.sort_order)).all()
        agencies = db.session.scalars(select(Agency).where(Agency.valid_to.is_(None))).all()
        by_unit = {a.admin_unit_id: a.id for a in agencies if a.admin_unit_id is not None}
        units = db.session.scalars(select(AdministrativeUnit).where(
            AdministrativeUnit.valid_to.is_(None), AdministrativeUnit.level != UnitLevel.PROVINCE)).all()
        return {
            "categories": [{"id": c.id, "code": c.code, "agency_id": c.default_agency_id, "route_to_ward": c.route_to_ward,
                            "days": c.deadline_days, "urgent_days": c.urgent_deadline_days} for c in cats],
            "units": [{"id": u.id, "code": u.code, "name": u.name, "agency_id": by_unit.get(u.id)} for u in units],
            "agencies": [a.id for a in agencies],
        }


def secondary_indexes(conn, dialect: str, table: str) -> list[tuple[str, str]]:
    """``[(name, CREATE INDEX statement)]`` of ``table``'s indexes that back no constraint."""
    from sqlalchemy import text

    if dialect == "postgresql":
        rows = conn.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = :t AND i.indexname NOT IN "
            "(SELECT conname FROM pg_constraint)"), {"t": table}).all()
    else:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                                 "AND sql IS NOT NULL"), {"t": table}).all()
    return [(r[0], r[1]) for r in rows]


def bulk_load(app, n_reports: int, now: datetime) -> dict:
    """Load ``n_reports`` reports (and co-agencies, events of the measured report); returns facts for the run."""
    from sqlalchemy import text

    from hpsmart.extensions import db
    from hpsmart.models import Report, report_co_agency

    ref = reference(app)
    columns = [c.name for c in Report.__table__.columns]
    rng = random.Random(7)
    timings = {}
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        started = time.perf_counter()
        with engine.begin() as conn:
            indexes = secondary_indexes(conn, dialect, "report")
            for name, _sql in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
        co_rows = []
        sample: dict = {}
        if dialect == "postgresql":
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("SET synchronous_commit = off")
                batch = 0
                copy_sql = f"COPY report ({', '.join(columns)}) FROM STDIN"
                copy = None
                try:
                    for row in generate(n_reports, ref, now):
                        if copy is None:
                            copy_cm = cur.copy(copy_sql)
                            copy = copy_cm.__enter__()
                        copy.write_row([row[c] for c in columns])
                        batch += 1
                        _remember(row, sample, rng, co_rows, ref)
                        if batch == PG_BATCH:
                            copy, batch = None, 0
                            copy_cm.__exit__(None, None, None)
                            raw.commit()
                except BaseException as error:
                    # Leave the COPY (it holds the connection's lock) before closing, or
                    # close() waits on that lock for ever and the error is never seen.
                    if copy is not None:
                        copy_cm.__exit__(type(error), error, error.__traceback__)
                    raise
                if copy is not None:
                    copy_cm.__exit__(None, None, None)
                raw.commit()
            finally:
                raw.close()
        else:
            insert = Report.__table__.insert()
            batch: list = []
            with engine.connect() as conn:
                for row in generate(n_reports, ref, now):
                    batch.append(row)
                    _remember(row, sample, rng, co_rows, ref)
                    if len(batch) == SQLITE_BATCH:
                        with conn.begin():
                            conn.execute(insert, batch)
                        batch = []
                if batch:
                    with conn.begin():
                        conn.execute(insert, batch)
        timings["rows"] = time.perf_counter() - started
        with engine.begin() as conn:
            if co_rows:
                conn.execute(report_co_agency.insert(), co_rows)
            if dialect == "postgresql":
                conn.execute(text("SELECT setval('report_id_seq', :n)"), {"n": n_reports})
        started = time.perf_counter()
        with engine.begin() as conn:
            if dialect == "postgresql":
                conn.execute(text("SET maintenance_work_mem = '512MB'"))
            for _name, sql in indexes:
                conn.execute(text(sql))
        timings["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        if dialect == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        timings["analyze"] = time.perf_counter() - started
    sample["timings"] = timings
    sample["index_names"] = [n for n, _ in indexes]
    return sample


def _remember(row: dict, sample: dict, rng: random.Random, co_rows: list, ref: dict) -> None:
    """Keep what the scenarios need (a recent open report, a tracking code) and draw co-agencies."""
    if row["agency_id"] and rng.random() < .03:
        other = rng.choice(ref["agencies"])
        if other != row["agency_id"]:
            co_rows.append({"report_id": row["id"], "agency_id": other})
    if row["status"] in ("in_progress", "routed") and row["agency_id"]:
        sample["open"] = (row["id"], row["tracking_code"], row["agency_id"])
    if row["id"] % 997 == 0:
        sample["code"] = row["tracking_code"]


def setup_people_and_events(app, sample: dict, now: datetime) -> dict:
    """An IOC operator and a staff member of the measured report's agency; 10 events on that report."""
    from hpsmart.extensions import db
    from hpsmart.models import Agency, ReportEvent
    from hpsmart.services.accounts import create_user

    report_id, code, agency_id = sample["open"]
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        create_user("ioc@bench.example.com", "IOC Bench", "ioc_operator", PASSWORD)
        create_user("staff@bench.example.com", "Staff Bench", "agency_staff", PASSWORD, agency_name=agency.name)
        actions = [("created", None, "new"), ("status", "new", "accepted"), ("category", "Khác", "Giao thông"),
                   ("note", None, None), ("status", "accepted", "routed"), ("note", None, None),
                   ("status", "routed", "in_progress"), ("note", None, None), ("urgency", "normal", "urgent"),
                   ("note", None, None)]
        for k, (action, old, new) in enumerate(actions):
            db.session.add(ReportEvent(report_id=report_id, action=action, old_value=old, new_value=new,
                                       note="Đã liên hệ người dân, hẹn kiểm tra hiện trường." if action == "note" else None,
                                       public=action == "status", report_version=1,
                                       created_at=now - timedelta(hours=30 - k)))
        db.session.commit()
    return {"code": code, "agency_id": agency_id}


# --- measuring ------------------------------------------------------------------------------

def login(app, email: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"login {email}: HTTP {response.status_code}")
    return client


def scenarios(app, facts: dict, sample: dict) -> list[tuple[str, str, str, str, dict]]:
    """``[(kind, name, who, url, headers)]``; kind: list | search | view | baseline."""
    from sqlalchemy import func, select

    from hpsmart.extensions import db
    from hpsmart.models import AdministrativeUnit, Category, Report

    with app.app_context():
        busiest_unit = db.session.execute(
            select(AdministrativeUnit.code).join(Report, Report.admin_unit_id == AdministrativeUnit.id)
            .group_by(AdministrativeUnit.code).order_by(func.count().desc()).limit(1)).scalar()
        category = "dien_chieu_sang"
        assert db.session.scalar(select(Category.id).where(Category.code == category))
        # "HP-2024": the codes of the oldest year loaded, tens of thousands of matches and
        # none among the newest reports.
        old_codes = "-".join(db.session.scalar(select(func.min(Report.tracking_code))).split("-")[:2])
    today = datetime.now(timezone.utc).date()
    month_ago = (today - timedelta(days=30)).isoformat()
    hx = {"HX-Request": "true"}
    agency = facts["agency_id"]
    s = []
    s.append(("baseline", "bare 50-row template (no database)", "ioc", "/bench/bare", {}))
    s.append(("list", "unfiltered, page 1", "ioc", "/inbox/", {}))
    s.append(("list", "unfiltered, page 1, htmx fragment", "ioc", "/inbox/", hx))
    s.append(("list", "unfiltered, page 200 (deep)", "ioc", "/inbox/?page=200", hx))
    s.append(("list", "status=new", "ioc", "/inbox/?status=new", hx))
    s.append(("list", "status=published", "ioc", "/inbox/?status=published", hx))
    s.append(("list", "status=in_progress+returned+reopened", "ioc",
              "/inbox/?status=in_progress&status=returned&status=reopened", hx))
    s.append(("list", f"category={category}", "ioc", f"/inbox/?category={category}", hx))
    s.append(("list", "agency=<busy agency>", "ioc", f"/inbox/?agency={agency}", hx))
    s.append(("list", "unit=<busiest ward>", "ioc", f"/inbox/?unit={busiest_unit}", hx))
    s.append(("list", "channel=assisted", "ioc", "/inbox/?channel=assisted", hx))
    s.append(("list", "urgency=urgent", "ioc", "/inbox/?urgency=urgent", hx))
    s.append(("list", "due=overdue", "ioc", "/inbox/?due=overdue", hx))
    s.append(("list", "due=due_soon", "ioc", "/inbox/?due=due_soon", hx))
    s.append(("list", "assigned=unassigned", "ioc", "/inbox/?assigned=unassigned", hx))
    s.append(("list", "date range (last 30 days)", "ioc", f"/inbox/?date_from={month_ago}&date_to={today}", hx))
    s.append(("list", "category + status=published + unit", "ioc",
              f"/inbox/?category={category}&status=published&unit={busiest_unit}", hx))
    s.append(("list", "sort=deadline (asc)", "ioc", "/inbox/?sort=deadline", hx))
    s.append(("list", "sort=deadline desc", "ioc", "/inbox/?sort=deadline&order=desc", hx))
    s.append(("list", "sort=updated", "ioc", "/inbox/?sort=updated", hx))
    s.append(("list", "sort=received asc", "ioc", "/inbox/?order=asc", hx))
    s.append(("list", "status=routed, sort=deadline", "ioc", "/inbox/?status=routed&sort=deadline", hx))
    s.append(("list", "staff: unfiltered (own agency)", "staff", "/inbox/", {}))
    s.append(("list", "staff: unfiltered, page 50", "staff", "/inbox/?page=50", hx))
    s.append(("list", "staff: assigned=me", "staff", "/inbox/?assigned=me", hx))
    s.append(("list", "staff: agency=mine&due=overdue (saved view)", "staff", "/inbox/?agency=mine&due=overdue", hx))
    s.append(("list", "staff: sort=deadline", "staff", "/inbox/?sort=deadline", hx))
    s.append(("search", "q=duong (very common)", "ioc", "/inbox/?q=duong", hx))
    s.append(("search", "q=ngap nuoc", "ioc", "/inbox/?q=ngap+nuoc", hx))
    s.append(("search", "q=đèn chiếu sáng", "ioc", "/inbox/?q=%C4%91%C3%A8n+chi%E1%BA%BFu+s%C3%A1ng", hx))
    s.append(("search", "q=lach tray (street)", "ioc", "/inbox/?q=lach+tray", hx))
    s.append(("search", "q=duong nguyen dinh chieu", "ioc", "/inbox/?q=duong+nguyen+dinh+chieu", hx))
    s.append(("search", "q=<tracking code>", "ioc", f"/inbox/?q={sample['code']}", hx))
    s.append(("search", "q=karaoke (rare-ish)", "ioc", "/inbox/?q=karaoke", hx))
    s.append(("search", "q=<oldest year's codes> (all old)", "ioc", f"/inbox/?q={old_codes}", hx))
    s.append(("search", "q=xyzzy (no match)", "ioc", "/inbox/?q=xyzzy", hx))
    s.append(("search", "q=ngap nuoc, full page", "ioc", "/inbox/?q=ngap+nuoc", {}))
    s.append(("search", "q=ngap nuoc + status=published", "ioc", "/inbox/?q=ngap+nuoc&status=published", hx))
    s.append(("search", "staff: q=duong", "staff", "/inbox/?q=duong", hx))
    s.append(("view", "report view, full page (10 events)", "ioc", f"/inbox/reports/{facts['code']}", {}))
    s.append(("view", "report view, htmx panel", "ioc", f"/inbox/reports/{facts['code']}", hx))
    s.append(("view", "staff: report view, full page", "staff", f"/inbox/reports/{facts['code']}", {}))
    return s


def capture_plans(app, client, url: str, headers: dict, dialect: str) -> tuple[int, list[tuple[float, str, str]]]:
    """Run one request, capture its SQL, explain the statements on ``report``.

    :returns: (statement count, [(ms, compact plan, full plan)] for each report statement, slowest first).
    """
    from sqlalchemy import event

    from hpsmart.extensions import db

    with app.app_context():
        engine = db.engine
    captured: list = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get(url, headers=headers).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    out = []
    with engine.connect() as conn:
        for statement, parameters in captured:
            if not re.search(r"\bFROM report\b", statement) or not statement.lstrip().upper().startswith("SELECT"):
                continue
            if dialect == "postgresql":
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement, parameters).all()
                full = "\n".join(r[0] for r in rows)
                m = re.search(r"Execution Time: ([0-9.]+) ms", full)
                ms = float(m.group(1)) if m else 0.0
                nodes = [re.sub(r"\s+\(cost=.*", "", line).strip().lstrip("-> ").strip()
                         for line in full.splitlines() if "cost=" in line]
            else:
                start = time.perf_counter()
                conn.exec_driver_sql(statement, parameters).all()
                ms = (time.perf_counter() - start) * 1000
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                full = "\n".join(r[-1] for r in rows)
                nodes = [r[-1] for r in rows]
            compact = " › ".join(n for n in nodes if n)
            out.append((ms, compact, f"-- {ms:.1f} ms\n{statement}\n{parameters!r}\n{full}"))
    out.sort(key=lambda t: -t[0])
    return len(captured), out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=30, help="timed requests per scenario (>= 30)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL scratch database: DROPPED and created again (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by an earlier --keep run (migrated to head again, not reloaded)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file for the results")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hpsmart-bench-inbox-"))
    workdir.mkdir(parents=True, exist_ok=True)

    facts_file = workdir / f"inbox-{'postgresql' if args.database_url else 'sqlite'}-{args.reports}.json"
    if args.database_url:
        url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        if not args.reuse:
            url = fresh_postgres(args.database_url)
    else:
        path = workdir / f"inbox-{args.reports}.sqlite3"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    app = make_app(url)
    from flask_migrate import upgrade

    from hpsmart.extensions import db
    from hpsmart.services.reference import load_reference

    try:
        with app.app_context():
            upgrade()
            if not args.reuse:
                load_reference()
                db.session.commit()
            dialect = db.engine.dialect.name
            version = db.session.execute(db.text("SELECT version()" if dialect == "postgresql"
                                                 else "SELECT sqlite_version()")).scalar()
        now = datetime.now(timezone.utc)
        if args.reuse:
            saved = json.loads(facts_file.read_text())
            sample, facts, load_s = saved["sample"], saved["facts"], saved["load_s"]
            print(f"{dialect}: reusing the {args.reports:,} reports loaded earlier", flush=True)
        else:
            started = time.perf_counter()
            sample = bulk_load(app, args.reports, now)
            load_s = time.perf_counter() - started
            facts = setup_people_and_events(app, sample, now)
            facts_file.write_text(json.dumps({"sample": sample, "facts": facts, "load_s": load_s}))
            t = sample["timings"]
            print(f"{dialect} ({version.split(',')[0]}): loaded {args.reports:,} reports in {load_s:.0f} s "
                  f"(rows {t['rows']:.0f} s, {len(sample['index_names'])} indexes {t['indexes']:.0f} s, "
                  f"analyze {t['analyze']:.0f} s)", flush=True)

        clients = {"ioc": login(app, "ioc@bench.example.com"), "staff": login(app, "staff@bench.example.com")}
        specs = scenarios(app, facts, sample)
        for _kind, name, who, url_, headers in specs:
            for _ in range(args.warmup):
                r = clients[who].get(url_, headers=headers)
                if r.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {r.status_code}")
        times: dict[str, list[float]] = {spec[1]: [] for spec in specs}
        for _ in range(args.rounds):
            for _kind, name, who, url_, headers in specs:
                start = time.perf_counter()
                clients[who].get(url_, headers=headers).get_data()
                times[name].append((time.perf_counter() - start) * 1000)

        lines = [f"# Inbox benchmark: {dialect}, {args.reports:,} reports", "",
                 f"{version.split(',')[0]}; {os.cpu_count()} cores; load average at start "
                 f"{os.getloadavg()[0]:.1f}; {args.rounds} requests per scenario, interleaved, after "
                 f"{args.warmup} warm-up requests; loaded in {load_s:.0f} s.", "",
                 "| kind | scenario | who | median ms | p95 ms | target | met | SQL | slowest report query: ms, plan |",
                 "|---|---|---|---|---|---|---|---|---|"]
        full_plans = []
        baseline = statistics.median(times[specs[0][1]])
        for kind, name, who, url_, headers in specs:
            values = times[name]
            med, p95 = statistics.median(values), pct(values, .95)
            target = {"list": LIST_TARGET_MS, "search": SEARCH_TARGET_MS}.get(kind)
            met = "" if target is None else ("yes" if p95 < target else "**NO**")
            count, plans = (0, []) if kind == "baseline" else capture_plans(app, clients[who], url_, headers, dialect)
            plan = f"{plans[0][0]:.1f} ms: {plans[0][1]}" if plans else ""
            plan = plan.replace("|", "\\|")
            lines.append(f"| {kind} | {name} | {who} | {med:.1f} | {p95:.1f} | {target or ''} | {met} | {count} | {plan} |")
            full_plans.append(f"## {name} ({who}) GET {url_} {'(htmx)' if headers else ''}\n\n```\n"
                              + "\n\n".join(p[2] for p in plans) + "\n```\n")
        lines.append("")
        lines.append(f"Baseline median {baseline:.2f} ms (bare 50-row template, same process).")
        table = "\n".join(lines)
        print("\n" + table, flush=True)
        out = args.out or workdir / f"inbox-{dialect}-{args.reports}.md"
        out.write_text(table + "\n\n# Plans (one request each)\n\n" + "\n".join(full_plans), encoding="utf-8")
        print(f"\nwritten to {out}")
    finally:
        if args.database_url and not args.keep:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            drop_postgres(url)


if __name__ == "__main__":
    main()
