"""inbox list indexes: composite filter/sort indexes; trigram search index on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00

The list filters by status or handling agency and sorts by time received,
deadline or last update; search matches ``search_text LIKE '%word%'``. On
PostgreSQL a pg_trgm GIN index answers those LIKEs (pg_trgm is a trusted
extension from PostgreSQL 13: the database owner may create it). SQLite gets no
search index: a B-tree cannot serve a leading wildcard. The model declares the
trigram index with ``dialect_index`` so the model/database comparison agrees on
both databases.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COMPOSITE = [
    ('ix_report_status_created_at', ['status', 'created_at']),
    ('ix_report_agency_id_created_at', ['agency_id', 'created_at']),
    ('ix_report_status_deadline', ['status', 'deadline']),
    ('ix_report_updated_at', ['updated_at']),
]


def upgrade():
    for name, columns in COMPOSITE:
        op.create_index(name, 'report', columns, unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_report_search_text_trgm', 'report', ['search_text'], unique=False,
                        postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # The extension stays: other objects of the database may use it.
        op.drop_index('ix_report_search_text_trgm', table_name='report')
    for name, _ in reversed(COMPOSITE):
        op.drop_index(name, table_name='report')
