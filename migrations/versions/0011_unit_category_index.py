"""inbox: an index for a ward/commune's reports of one category (and state)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 15:00:00

An IOC operator narrows the inbox to one ward/commune and one category ("the street
lighting reports of phường Lê Chân"), often with a status. With only the single-column
indexes to choose from, PostgreSQL counted such a list by combining the ward's index
with the category's (``BitmapAnd``, the category's 104,000 entries read to keep 900):
9.4 ms at a million reports; with ``(admin_unit_id, category_id, status)``, an
index-only scan of 0.2 ms, 7.6 MB (EXPLAIN ANALYZE, bench/bench_inbox.py,
bench/RESULTS.md).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_report_admin_unit_id_category_id_status', 'report',
                    ['admin_unit_id', 'category_id', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_report_admin_unit_id_category_id_status', table_name='report')
