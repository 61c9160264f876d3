"""usage events, daily totals, usage files

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:50:17.293279

On PostgreSQL ``usage_event`` is a table partitioned by RANGE of ``started_at`` (one partition
per month, ``usage_event_pYYYY_MM``, created by the ingestion when a file needs it), with a BRIN
index on the time column. On SQLite it is a plain table whose ``id`` is the rowid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('voice', 'sms', 'mms', 'data')
DIRECTIONS = ('in', 'out')
ZONES = ('domestic', 'eu', 'europe', 'world')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


POSTGRES_EVENT_TABLE = f"""
CREATE TABLE usage_event (
    id bigserial NOT NULL,
    started_at timestamptz NOT NULL,
    line_id integer NOT NULL,
    customer_id integer NOT NULL,
    kind varchar(5) NOT NULL,
    direction varchar(3) NOT NULL,
    zone varchar(8) NOT NULL,
    quantity bigint NOT NULL,
    charge numeric(12, 2) NOT NULL,
    file_id integer NOT NULL,
    file_row integer NOT NULL,
    CONSTRAINT pk_usage_event PRIMARY KEY (id, started_at),
    CONSTRAINT ck_usage_event_quantity_not_negative CHECK (quantity >= 0),
    CONSTRAINT ck_usage_event_usage_kind CHECK ({_in('kind', KINDS)}),
    CONSTRAINT ck_usage_event_usage_direction CHECK ({_in('direction', DIRECTIONS)}),
    CONSTRAINT ck_usage_event_usage_zone CHECK ({_in('zone', ZONES)})
) PARTITION BY RANGE (started_at)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRES_EVENT_TABLE)
        op.execute('CREATE INDEX ix_usage_event_line_id_started_at ON usage_event (line_id, started_at)')
        op.execute('CREATE INDEX ix_usage_event_started_at ON usage_event USING brin (started_at)')
    else:
        op.create_table('usage_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum(KINDS, 'usage_kind'), nullable=False),
        sa.Column('direction', _enum(DIRECTIONS, 'usage_direction'), nullable=False),
        sa.Column('zone', _enum(ZONES, 'usage_zone'), nullable=False),
        sa.Column('quantity', sa.BigInteger(), nullable=False),
        sa.Column('charge', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('file_row', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity >= 0', name=op.f('ck_usage_event_quantity_not_negative')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_event'))
        )
        with op.batch_alter_table('usage_event', schema=None) as batch_op:
            batch_op.create_index('ix_usage_event_line_id_started_at', ['line_id', 'started_at'], unique=False)
            batch_op.create_index('ix_usage_event_started_at', ['started_at'], unique=False)

    op.create_table('usage_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('stored_path', sa.String(length=300), nullable=False),
    sa.Column('state', sa.Enum('received', 'loading', 'loaded', 'failed', name='usage_file_state', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('submitted_by', sa.String(length=254), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_loaded', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_file')),
    sa.UniqueConstraint('sha256', name=op.f('uq_usage_file_sha256'))
    )
    with op.batch_alter_table('usage_file', schema=None) as batch_op:
        batch_op.create_index('ix_usage_file_state_updated_at', ['state', 'updated_at'], unique=False)

    op.create_table('usage_rejection',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('raw', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['usage_file.id'], name=op.f('fk_usage_rejection_file_id_usage_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'row_number', name=op.f('pk_usage_rejection'))
    )
    op.create_table('usage_daily',
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', _enum(KINDS, 'usage_kind'), nullable=False),
    sa.Column('zone', _enum(ZONES, 'usage_zone'), nullable=False),
    sa.Column('direction', _enum(DIRECTIONS, 'usage_direction'), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('charge', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['line.id'], name=op.f('fk_usage_daily_line_id_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('line_id', 'day', 'kind', 'zone', 'direction', name=op.f('pk_usage_daily'))
    )
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.create_index('ix_usage_daily_customer_id_day', ['customer_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_table('usage_daily')
    op.drop_table('usage_rejection')
    op.drop_table('usage_file')
    # On PostgreSQL this drops the monthly partitions with the parent.
    op.execute('DROP TABLE usage_event')
