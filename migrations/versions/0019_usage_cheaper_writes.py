"""usage: cheaper writes — the monthly rollup without a foreign key to line and with half-full
pages, the events without a primary key index (PostgreSQL)

Every chunk of a usage file adds to tens of thousands of ``usage_monthly`` rows of the month
it covers, one chunk after another: the same rows are updated many times while their month is
being delivered. With full pages most of those updates had to write the row's new version in
another page and a new entry in both indexes; with half-full pages (``fillfactor`` 50,
PostgreSQL) the new version stays in its page and the indexes are not touched, which halves
the cost of the upsert. The key's check against ``line`` goes for the reason migration 0018
gave for ``usage_daily``: the loader takes every ``line_id`` from ``line`` in the same
statement, and lines are never deleted.

``usage_event``'s primary key on PostgreSQL was an index on (id, started_at) that nothing
reads (events are read by time, through the BRIN index, and by file) and that cost two fifths
of each event's insert. Each file row becomes at most one event because the file's resume
point moves with a compare-and-set in the chunk's transaction, not because of that index. On
SQLite ``id`` is the rowid and costs nothing.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('usage_monthly', schema=None) as batch_op:
        batch_op.drop_constraint('fk_usage_monthly_line_id_line', type_='foreignkey')
    if op.get_bind().dialect.name == 'postgresql':
        # Pages written from now on; the rows already there stay where they are.
        op.execute('ALTER TABLE usage_monthly SET (fillfactor = 50)')
        op.execute('ALTER TABLE usage_event DROP CONSTRAINT pk_usage_event')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE usage_event ADD CONSTRAINT pk_usage_event PRIMARY KEY (id, started_at)')
        op.execute('ALTER TABLE usage_monthly RESET (fillfactor)')
    with op.batch_alter_table('usage_monthly', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_usage_monthly_line_id_line', 'line', ['line_id'], ['id'], ondelete='CASCADE'
        )
