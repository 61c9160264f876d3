"""allocation notified_at; receipts keyed by document and line; no held orders

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-06 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', models.base.UTCDateTime(timezone=True), nullable=True))
    # Allocations made before this column existed were told to their orders one by one.
    op.execute("UPDATE allocation SET notified_at = created_at")
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index(
            'ix_allocation_unnotified', ['order_line_id'], unique=False,
            postgresql_where=sa.text('notified_at IS NULL'), sqlite_where=sa.text('notified_at IS NULL'),
        )

    with op.batch_alter_table('stock_receipt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_no', sa.Integer(), server_default='1', nullable=False))
    # A document recorded before under several channels keeps every receipt: they become the
    # document's lines 1, 2, … in the order they arrived.
    op.execute(
        "UPDATE stock_receipt SET line_no = (SELECT count(*) FROM stock_receipt r2 "
        "WHERE r2.reference = stock_receipt.reference AND (r2.received_at < stock_receipt.received_at "
        "OR (r2.received_at = stock_receipt.received_at AND r2.id <= stock_receipt.id)))"
    )
    with op.batch_alter_table('stock_receipt', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stock_receipt_source_reference', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_stock_receipt_reference_line_no'), ['reference', 'line_no'])
        batch_op.create_check_constraint(batch_op.f('ck_stock_receipt_line_no_positive'), 'line_no > 0')


    # TM Forum's "held" was never entered; the state is gone from the order states.
    op.execute("UPDATE customer_order SET state = 'inProgress' WHERE state = 'held'")
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_customer_order_order_state'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_customer_order_order_state'),
            "state IN ('acknowledged', 'pending', 'inProgress', 'partial', 'completed', "
            "'cancelled', 'failed')",
        )


def downgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_customer_order_order_state'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_customer_order_order_state'),
            "state IN ('acknowledged', 'pending', 'held', 'inProgress', 'partial', 'completed', "
            "'cancelled', 'failed')",
        )
    with op.batch_alter_table('stock_receipt', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stock_receipt_line_no_positive'), type_='check')
        batch_op.drop_constraint('uq_stock_receipt_reference_line_no', type_='unique')
        batch_op.drop_column('line_no')
        batch_op.create_unique_constraint('uq_stock_receipt_source_reference', ['source', 'reference'])
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_index('ix_allocation_unnotified')
        batch_op.drop_column('notified_at')
