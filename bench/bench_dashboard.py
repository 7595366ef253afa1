"""What the dashboard adds to the statistics: citizens' verdicts and the map; run on demand.

    python bench/bench_dashboard.py [--database-url URL] [--year 1000000] [--repeat 5] [--workdir DIR]

Builds the database of ``bench_statistics.py`` (a PostgreSQL URL is emptied first:
use a database of your own) with ``--year`` reports over December 2025 – November
2026, then gives every report a point near Hai Phong (``latitude``/``longitude``; a
ward's reports within about 2 km of one another) and verdicts like a busy year:
60 % of the published reports judged, one in ten of those judged twice (not
satisfied, then satisfied or not). The verdicts are inserted around the ORM, so each
report's latest verdict (``Report.satisfied``) is then filled by
``refresh_latest_verdicts`` for every judged report: the back-fill of migration 0009,
timed.

Measured alternately (both see the same machine load), the median of the per-pair
ratios printed, as in ``bench_statistics.compare``:

- ``compute year``: ``statistics.compute`` for the year, with the verdicts (read from
  ``Report.satisfied`` in the three grouped scans);
- ``compute year, verdicts off``: the same with ``Report.satisfied`` replaced by a
  constant NULL in the grouped scans: the baseline, what ``compute`` cost before
  citizen satisfaction;
- ``compute year, verdicts by subquery``: verdicts off, plus the statement ``compute``
  used before migration 0009 (``subquery_verdicts``: the latest ``citizen_feedback``
  row of each report found by ``NOT EXISTS`` a later one, joined to the reports);
- ``unit_positions year``: the map's one grouped query and medians, beside
  ``count year``: a bare ``count(*)`` of the year's reports (the least any query over
  them costs).

Times are wall-clock seconds and CPU seconds of this process; nothing is asserted.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_statistics import NOW, YEAR, build_app, compare, insert_reports  # noqa: E402


def add_points_and_verdicts(app, seed: int) -> tuple[int, float, float]:
    """Points for every report and verdicts on published ones, then ``Report.satisfied``
    filled as migration 0009 does; returns (verdicts, seconds in all, seconds of that fill)."""
    from sqlalchemy import insert, select, text

    from hpsmart.extensions import db
    from hpsmart.models import CitizenFeedback, Report, ReportStatus
    from hpsmart.models.response import refresh_latest_verdicts

    began = time.perf_counter()
    rng = random.Random(seed)
    with app.app_context():
        # Each ward's reports within about 2 km of a point of its own, as in a city.
        db.session.execute(text("UPDATE report SET "
                                "latitude = 20.70 + (admin_unit_id % 23) * 0.02 + (id % 37) / 2000.0, "
                                "longitude = 106.40 + (admin_unit_id % 29) * 0.025 + (id % 41) / 2000.0"))
        published = db.session.execute(select(Report.id, Report.published_at)
                                       .where(Report.status == ReportStatus.PUBLISHED)).all()
        rows = []
        for report_id, published_at in published:
            if rng.random() >= 0.6:
                continue
            first = rng.random() < 0.8
            rows.append({"report_id": report_id, "satisfied": first, "comment": "", "created_at": published_at})
            if not first and rng.random() < 0.5:  # reopened, answered again, judged again
                rows.append({"report_id": report_id, "satisfied": rng.random() < 0.7, "comment": "",
                             "created_at": published_at + timedelta(days=3)})
        for i in range(0, len(rows), 50_000):
            db.session.execute(insert(CitizenFeedback), rows[i:i + 50_000])
        db.session.commit()
        fill_began = time.perf_counter()
        refresh_latest_verdicts(db.session.connection())  # every judged report
        db.session.commit()
        fill = time.perf_counter() - fill_began
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return len(rows), time.perf_counter() - began, fill


def subquery_verdicts(where: list, targets: list) -> None:
    """How ``statistics.compute`` counted the latest verdicts before migration 0009 (the
    comparison only): one statement, a CTE of each report's latest ``CitizenFeedback`` (no
    later one by ``created_at``, then ``id``) joined to its report, counted by each target's
    keys, ``UNION ALL``; added to the grouped accumulators ``targets``
    (``[(groups, key names)]``)."""
    from sqlalchemy import and_, cast, exists, func, literal_column, null, or_, select, union_all
    from sqlalchemy.orm import aliased

    from hpsmart.extensions import db
    from hpsmart.models import CitizenFeedback, Report
    from hpsmart.services import statistics as st

    keys = ("day", "channel", "agency", "category", "unit")
    newer = aliased(CitizenFeedback)
    later_verdict = exists().where(
        newer.report_id == CitizenFeedback.report_id,
        or_(newer.created_at > CitizenFeedback.created_at,
            and_(newer.created_at == CitizenFeedback.created_at, newer.id > CitizenFeedback.id)))
    latest = (select(st.local_date(Report.created_at).label("day"), Report.channel.label("channel"),
                     Report.agency_id.label("agency"), Report.category_id.label("category"),
                     Report.admin_unit_id.label("unit"), CitizenFeedback.satisfied.label("satisfied"),
                     CitizenFeedback.id.label("id"))
              .select_from(CitizenFeedback).join(Report, Report.id == CitizenFeedback.report_id)
              .where(*where, ~later_verdict).cte("latest_verdict"))
    parts = []
    for tag, (_, names) in enumerate(targets):
        columns = [literal_column(str(tag)).label("tag"),
                   *(latest.c[key] if key in names else cast(null(), latest.c[key].type).label(key) for key in keys),
                   latest.c.satisfied, func.count(latest.c.id)]
        parts.append(select(*columns).group_by(*(latest.c[name] for name in names), latest.c.satisfied))
    for tag, *values, satisfied, n in db.session.execute(union_all(*parts)):
        groups, names = targets[int(tag)]
        key = tuple(values[keys.index(name)] for name in names)
        acc = groups.setdefault(key, [0] * len(st._MEASURES))
        acc[st._INDEX["satisfied" if satisfied else "not_satisfied"]] += int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--year", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", default="")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hpsmart-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = build_app(url, workdir)
    print(f"database: {url.split('@')[-1]}; inserting {args.year:,} reports", flush=True)
    print(f"inserted in {insert_reports(app, args.year, *YEAR, seed=2, first_id=1):.1f} s", flush=True)
    verdicts, seconds, fill = add_points_and_verdicts(app, seed=3)
    print(f"{verdicts:,} verdicts and the points added in {seconds:.1f} s "
          f"(report.satisfied filled as migration 0009 does in {fill:.1f} s)", flush=True)

    from sqlalchemy import Boolean, cast, func, null, select

    from hpsmart.extensions import db
    from hpsmart.models import Report
    from hpsmart.services import statistics as st

    real_state_columns, real_grouped_counts = st._state_columns, st._grouped_counts

    def state_columns_without_verdicts(now):
        columns = real_state_columns(now)
        assert columns[-2] is Report.satisfied
        columns[-2] = cast(null(), Boolean)  # grouped by a constant: nothing to count
        return columns

    def run(state_columns=real_state_columns, grouped_counts=real_grouped_counts):
        st._state_columns, st._grouped_counts = state_columns, grouped_counts
        try:
            return st.compute(*YEAR, now=NOW)
        finally:
            st._state_columns, st._grouped_counts = real_state_columns, real_grouped_counts
            db.session.rollback()

    def grouped_counts_then_subquery(scans):
        """``_grouped_counts`` that, after compute's third scan (the one counting statuses),
        adds the verdicts to the three scans' groups the way compute did before 0009."""
        def grouped_counts(keys, where, now, statuses=None):
            result = real_grouped_counts(keys, where, now, statuses)
            scans.append(result)
            if statuses is not None:
                subquery_verdicts(where, [(scans[0], ("day", "channel")), (scans[1], ("agency", "category")),
                                          (scans[2], ("unit",))])
                scans.clear()
            return result
        return grouped_counts

    def with_verdicts():
        return run()

    def without_verdicts():
        return run(state_columns=state_columns_without_verdicts)

    def by_subquery():
        return run(state_columns=state_columns_without_verdicts, grouped_counts=grouped_counts_then_subquery([]))

    with app.test_request_context():
        totals, before = with_verdicts().totals, by_subquery().totals
        print(f"year: {totals.received:,} received, {totals.satisfied:,} satisfied, {totals.not_satisfied:,} "
              f"not satisfied; by subquery: {before.satisfied:,} / {before.not_satisfied:,}", flush=True)
        assert (totals.satisfied, totals.not_satisfied) == (before.satisfied, before.not_satisfied)
        assert without_verdicts().totals.verdicts == 0
        compare("compute year", with_verdicts, "compute year, verdicts off", without_verdicts, args.repeat)
        compare("compute year", with_verdicts, "compute year, verdicts by subquery", by_subquery, args.repeat)

        start_utc, end_utc = st.period_bounds(*YEAR)

        def positions():
            result = st.unit_positions(*YEAR)
            db.session.rollback()
            return result

        def count():
            result = db.session.scalar(select(func.count(Report.id)).where(Report.created_at >= start_utc,
                                                                           Report.created_at < end_utc))
            db.session.rollback()
            return result

        print(f"units placed: {len(positions())}", flush=True)
        compare("unit_positions year", positions, "count year", count, args.repeat)


if __name__ == "__main__":
    main()
