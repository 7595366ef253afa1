"""inbox at scale: word-start search text, SQLite FTS5, indexes for the agency scope, urgency and deadline sorts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

Measured with bench/bench_inbox.py (1,000,000 reports on PostgreSQL, 200,000 on SQLite):

* ``report.search_text`` becomes ``hpsmart.text.search_document`` (folded tokens, each
  after a space) so that search matches words from their start on both databases
  (``hpsmart.services.search``); every row is recomputed here, in batches. On
  PostgreSQL the trigram index is dropped first and built again after (updating a GIN
  index row by row is many times slower than building it).
* SQLite: the FTS5 table ``report_fts`` over ``report.search_text`` (external content,
  kept in step by three triggers), so search reads an index instead of every row. A
  SQLite built without FTS5 skips it; search then falls back to ``LIKE``. A later
  migration that rebuilds the ``report`` table on SQLite (``batch_alter_table``) drops
  the triggers and must create them again (``create_sqlite_fts``).
* ``report_co_agency(agency_id)``: the agency filter and the agency staff's scope ask
  "co-handled by agency X" (the primary key starts with ``report_id``).
* ``report(urgency, created_at)``: the urgency filter, newest first; ``(category_id,
  created_at)`` and ``(admin_unit_id, created_at)``: those filters, and the report
  view's possible duplicates (same category or ward, four weeks around).
* PostgreSQL: ``report(deadline DESC NULLS LAST, id DESC)`` for the "latest deadline
  first" sort (a plain index on ``deadline`` gives NULLS FIRST when read backwards).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 5_000

FTS_TRIGGERS = (
    "CREATE TRIGGER report_fts_insert AFTER INSERT ON report BEGIN "
    "INSERT INTO report_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER report_fts_delete AFTER DELETE ON report BEGIN "
    "INSERT INTO report_fts(report_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER report_fts_update AFTER UPDATE OF search_text ON report BEGIN "
    "INSERT INTO report_fts(report_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO report_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def create_sqlite_fts(bind) -> bool:
    """Create ``report_fts`` and its triggers on SQLite and fill it; False when this SQLite
    has no FTS5."""
    try:
        bind.exec_driver_sql(
            "CREATE VIRTUAL TABLE report_fts USING fts5(search_text, content='report', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
    except sa.exc.OperationalError as error:
        if "fts5" in str(error).lower():
            return False
        raise
    for statement in FTS_TRIGGERS:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql("INSERT INTO report_fts(report_fts) VALUES ('rebuild')")
    return True


def _recompute_search_text(bind) -> None:
    from hpsmart.text import search_document

    read = sa.text(
        "SELECT r.id, r.tracking_code, r.title, r.description, r.address, u.name FROM report r "
        "LEFT JOIN administrative_unit u ON u.id = r.admin_unit_id WHERE r.id > :after ORDER BY r.id LIMIT :n")
    write = sa.text("UPDATE report SET search_text = :text WHERE id = :id")
    after = 0
    while True:
        rows = bind.execute(read, {"after": after, "n": BATCH}).all()
        if not rows:
            break
        bind.execute(write, [{"id": r[0], "text": search_document(*r[1:])} for r in rows])
        after = rows[-1][0]


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    if postgresql:
        op.drop_index('ix_report_search_text_trgm', table_name='report')
    _recompute_search_text(bind)
    if postgresql:
        op.create_index('ix_report_search_text_trgm', 'report', ['search_text'], unique=False,
                        postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
        op.execute('CREATE INDEX ix_report_deadline_desc ON report (deadline DESC NULLS LAST, id DESC)')
    elif bind.dialect.name == 'sqlite':
        create_sqlite_fts(bind)
    op.create_index('ix_report_co_agency_agency_id', 'report_co_agency', ['agency_id'], unique=False)
    op.create_index('ix_report_urgency_created_at', 'report', ['urgency', 'created_at'], unique=False)
    op.create_index('ix_report_category_id_created_at', 'report', ['category_id', 'created_at'], unique=False)
    op.create_index('ix_report_admin_unit_id_created_at', 'report', ['admin_unit_id', 'created_at'], unique=False)


def downgrade():
    bind = op.get_bind()
    op.drop_index('ix_report_admin_unit_id_created_at', table_name='report')
    op.drop_index('ix_report_category_id_created_at', table_name='report')
    op.drop_index('ix_report_urgency_created_at', table_name='report')
    op.drop_index('ix_report_co_agency_agency_id', table_name='report_co_agency')
    if bind.dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_report_deadline_desc')
    elif bind.dialect.name == 'sqlite':
        for name in ('report_fts_insert', 'report_fts_delete', 'report_fts_update'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS report_fts')
    # search_text keeps the word-start form: the older LIKE '%word%' search finds it too.
