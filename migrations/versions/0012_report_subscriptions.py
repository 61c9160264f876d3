"""report subscriptions: monthly report by e-mail, one delivery per subscription and month

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('portal_user_id', sa.Integer(), nullable=False),
        sa.Column('report', sa.String(length=10), nullable=False),
        sa.Column('group_by', sa.String(length=10), nullable=False),
        sa.Column('fmt', sa.String(length=5), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customer.id'],
            name=op.f('fk_report_subscription_customer_id_customer'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['portal_user_id'], ['portal_user.id'],
            name=op.f('fk_report_subscription_portal_user_id_portal_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_subscription')),
        sa.UniqueConstraint(
            'portal_user_id', 'report', 'group_by', 'fmt',
            name=op.f('uq_report_subscription_portal_user_id_report_group_by_fmt'),
        ),
    )
    op.create_index(
        op.f('ix_report_subscription_customer_id'), 'report_subscription', ['customer_id']
    )
    op.create_table(
        'report_delivery',
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('mail_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['subscription_id'], ['report_subscription.id'],
            name=op.f('fk_report_delivery_subscription_id_report_subscription'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['task_id'], ['background_task.id'],
            name=op.f('fk_report_delivery_task_id_background_task'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['mail_id'], ['outgoing_mail.id'],
            name=op.f('fk_report_delivery_mail_id_outgoing_mail'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('subscription_id', 'month', name=op.f('pk_report_delivery')),
    )


def downgrade() -> None:
    op.drop_table('report_delivery')
    op.drop_index(op.f('ix_report_subscription_customer_id'), table_name='report_subscription')
    op.drop_table('report_subscription')
