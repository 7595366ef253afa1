"""report.satisfied: the citizen's latest verdict kept on the report

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00

``report.satisfied`` (nullable boolean; NULL: no verdict) holds the verdict of the
report's newest ``citizen_feedback`` row (greatest ``created_at``, then ``id``), as
``hpsmart.models.response.refresh_latest_verdicts`` keeps it from now on. The
statistics count citizen satisfaction from it in the same grouped scans as the other
figures, instead of looking for the latest feedback of every report (a year of
1,000,000 reports on PostgreSQL: bench/bench_dashboard.py, bench/RESULTS.md).

The column is added without rebuilding the table (SQLite's FTS5 triggers of 0007
stay) and filled by one ``UPDATE`` with a correlated subquery, for the reports that
have feedback only; the same SQL on SQLite and PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The back-fill: a copy of the rule of hpsmart.models.response._LATEST_VERDICT (a
#: migration does not import the app, whose code moves on); tests/integration/
#: test_statistics.py runs it on rows.
BACKFILL = (
    "UPDATE report SET satisfied = ("
    "SELECT citizen_feedback.satisfied FROM citizen_feedback "
    "WHERE citizen_feedback.report_id = report.id "
    "ORDER BY citizen_feedback.created_at DESC, citizen_feedback.id DESC LIMIT 1) "
    "WHERE report.id IN (SELECT report_id FROM citizen_feedback)"
)


def upgrade():
    op.add_column('report', sa.Column('satisfied', sa.Boolean(), nullable=True))
    op.execute(sa.text(BACKFILL))


def downgrade():
    op.drop_column('report', 'satisfied')
