"""report.duplicate_of_id index: the report view lists the duplicates of a report

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

``related_reports`` asks for ``WHERE duplicate_of_id = :id`` on every report view;
without an index PostgreSQL read the whole report table for it (0.6 s at a million
reports; bench/bench_inbox.py).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_duplicate_of_id'), ['duplicate_of_id'], unique=False)


def downgrade():
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_duplicate_of_id'))
