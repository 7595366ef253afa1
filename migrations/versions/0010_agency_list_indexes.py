"""agency lists: indexes for an agency's reports by deadline, and by state and deadline

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00

Agency staff read their agency's list all day, most often sorted by deadline or as
the saved view "my agency's overdue" (``agency=mine&due=overdue``). With only
``(agency_id, created_at)``, ``(status, deadline)`` and ``deadline`` to choose from,
PostgreSQL read the deadline index in order and filtered on the agency (26 ms at a
million reports), or combined the agency's index with the status index, 70,000
entries long (8–14 ms for each of the count and the page); with these two, 0.2–0.3 ms
(EXPLAIN ANALYZE, bench/bench_inbox.py, bench/RESULTS.md).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_report_agency_id_deadline', 'report', ['agency_id', 'deadline'], unique=False)
    op.create_index('ix_report_agency_id_status_deadline', 'report', ['agency_id', 'status', 'deadline'],
                    unique=False)


def downgrade():
    op.drop_index('ix_report_agency_id_status_deadline', table_name='report')
    op.drop_index('ix_report_agency_id_deadline', table_name='report')
