"""invoices: each line keeps the employee its number had when it was billed

An invoice line kept the number, the department and the cost centre as they were when the
charge was billed, but not the person: the billing detail printed each number's employee as it
is now, so the same issued invoice's appendix could change after a reassignment. Lines billed
from now on keep the name; lines billed before keep NULL, and their appendix shows the
number's employee now, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('invoice_line', sa.Column('employee_name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('employee_name')
