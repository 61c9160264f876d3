"""spend alerts: thresholds of a line's limit and roaming cap told, once per month

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'spend_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('unit_path', sa.String(length=400), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('limit', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('mailed', sa.Boolean(), nullable=False),
        sa.Column('roaming_off_request_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customer.id'],
            name=op.f('fk_spend_alert_customer_id_customer'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['line_id'], ['line.id'], name=op.f('fk_spend_alert_line_id_line'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['roaming_off_request_id'], ['provisioning_request.id'],
            name=op.f('fk_spend_alert_roaming_off_request_id_provisioning_request'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spend_alert')),
        sa.UniqueConstraint('line_id', 'month', 'kind', name=op.f('uq_spend_alert_line_id_month_kind')),
    )
    op.create_index(
        'ix_spend_alert_customer_id_created_at', 'spend_alert', ['customer_id', 'created_at']
    )


def downgrade() -> None:
    op.drop_index('ix_spend_alert_customer_id_created_at', table_name='spend_alert')
    op.drop_table('spend_alert')
