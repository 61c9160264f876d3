"""usage: daily totals without a foreign key to line

The usage loader writes ``usage_daily`` in one upsert per chunk of a file, and PostgreSQL
checked the key of every inserted row against ``line`` with a trigger of its own: a third of
the upsert's time (3.7 of 11 CPU seconds per million events), in the part of the load that
cannot run two chunks at once. The loader takes every ``line_id`` from ``line`` in the same
statement, lines are never deleted (a terminated line keeps its history), and everything that
reads the totals joins ``line``; ``usage_event`` has no such key either.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.drop_constraint('fk_usage_daily_line_id_line', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_usage_daily_line_id_line', 'line', ['line_id'], ['id'], ondelete='CASCADE'
        )
