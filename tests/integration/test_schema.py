"""The migrations build the models' schema, on SQLite and PostgreSQL alike."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError, StatementError

from hpsmart.extensions import db as _db
from hpsmart.models import AppendOnlyError, ReportEvent, ReportStatus
from hpsmart.models.base import include_for_dialect

from .. import factories


def test_migrations_match_models(app, db):
    """Alembic finds no difference between the migrated database and the models."""
    with _db.engine.connect() as conn:
        # As migrations/env.py does: an index declared for one dialect only is compared there only.
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": include_for_dialect(conn.dialect.name)})
        diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_every_table_exists(app, db):
    names = set(inspect(_db.engine).get_table_names())
    assert {"report", "attachment", "category", "agency", "administrative_unit", "user_account",
            "report_event", "report_co_agency", "tracking_counter", "alembic_version"} <= names


def test_status_check_constraint_refuses_unknown_value(db):
    report = factories.report()
    with pytest.raises((IntegrityError, StatementError)):
        with db.session.begin_nested():
            db.session.execute(
                db.text("UPDATE report SET status = 'bogus' WHERE id = :id"), {"id": report.id})


def test_status_titles_are_translated(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("vi"):
            assert ReportStatus.NEW.title == "Mới"
        with force_locale("en"):
            assert ReportStatus.NEW.title == "New"


def test_timestamps_come_back_in_utc(db):
    report = factories.report()
    db.session.expire_all()
    again = db.session.get(type(report), report.id)
    assert again.created_at.utcoffset().total_seconds() == 0


def test_history_is_append_only(db):
    report = factories.report()
    event = db.session.query(ReportEvent).filter_by(report_id=report.id).one()
    event.note = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


def test_tracking_codes_are_sequential_per_year(db):
    first, second = factories.report(), factories.report()
    year = first.created_at.year
    assert first.tracking_code.startswith(f"HP-{year}-")
    assert int(second.tracking_code[-6:]) == int(first.tracking_code[-6:]) + 1


def test_search_text_is_folded(db):
    report = factories.report(title="Đèn ĐIỆN chiếu sáng hỏng")
    assert "den dien chieu sang hong" in report.search_text
