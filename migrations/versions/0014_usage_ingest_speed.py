"""usage: no per-line index on usage events; SQLite keeps usage charges in grosze

``ix_usage_event_line_id_started_at`` cost about half of each event's insert and served no
query: reports read ``usage_daily``. On SQLite the usage charges become whole grosze (see
``models.base.GroszeOnSQLite``), so sums are exact; PostgreSQL keeps numeric(12, 2).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06 08:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_usage_event_line_id_started_at', table_name='usage_event')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('UPDATE usage_event SET charge = CAST(round(charge * 100) AS INTEGER)')
        op.execute('UPDATE usage_daily SET charge = CAST(round(charge * 100) AS INTEGER)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('UPDATE usage_event SET charge = round(charge / 100.0, 2)')
        op.execute('UPDATE usage_daily SET charge = round(charge / 100.0, 2)')
    op.create_index(
        'ix_usage_event_line_id_started_at', 'usage_event', ['line_id', 'started_at']
    )
