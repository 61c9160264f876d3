"""usage: per-line monthly totals, filled from the daily totals

``usage_monthly`` has the dimensions of ``usage_daily`` with the first day of the Warsaw month
instead of the day. Reports and billing read it for whole months; the ingestion keeps it in
step with ``usage_daily``. The upgrade fills it from the daily rows already there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('voice', 'sms', 'mms', 'data')
DIRECTIONS = ('in', 'out')
ZONES = ('domestic', 'eu', 'europe', 'world')
COLUMNS = 'line_id, month, kind, zone, direction, customer_id, quantity, events, charge'
MONTH_OF_DAY = {
    'postgresql': "date_trunc('month', day)::date",
    'sqlite': "date(day, 'start of month')",
}


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table('usage_monthly',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', _enum(KINDS, 'usage_kind'), nullable=False),
    sa.Column('zone', _enum(ZONES, 'usage_zone'), nullable=False),
    sa.Column('direction', _enum(DIRECTIONS, 'usage_direction'), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('charge', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['line.id'], name=op.f('fk_usage_monthly_line_id_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('line_id', 'month', 'kind', 'zone', 'direction', name=op.f('pk_usage_monthly'))
    )
    month = MONTH_OF_DAY[op.get_bind().dialect.name]
    # SQLite: charges are whole grosze in both tables (migration 0014), so the sums stay exact.
    op.execute(
        f'INSERT INTO usage_monthly ({COLUMNS}) '
        f'SELECT line_id, {month}, kind, zone, direction, customer_id, '
        'sum(quantity), sum(events), sum(charge) FROM usage_daily '
        f'GROUP BY line_id, {month}, kind, zone, direction, customer_id'
    )
    with op.batch_alter_table('usage_monthly', schema=None) as batch_op:
        batch_op.create_index('ix_usage_monthly_customer_id_month', ['customer_id', 'month'], unique=False)


def downgrade() -> None:
    op.drop_table('usage_monthly')
