"""fleet speed: indexes for counting and subtrees, indexed text search

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-06 07:10:00

Both databases: ``line (customer_id, status)`` answers the count of a fleet from the index
alone, ``line (customer_id, unit_path, status, msisdn)`` the count of a subtree and its
page in number order.

Text search ("contains") over names, e-mail addresses and numbers:

- PostgreSQL: trigram GIN indexes (``pg_trgm``) on ``employee.full_name``, ``employee.email``
  and ``line.msisdn``; ILIKE and LIKE use them as they are. The extension is created when
  missing (in ``public`` if that schema exists, so that several schemas of one database share
  it); a role that may not create it gets the migration without these indexes (search still
  works, by reading the rows).
- SQLite: FTS5 tables with the trigram tokenizer, ``employee_fts`` (full_name, email) and
  ``line_fts`` (msisdn), external-content tables over the real ones, kept in step by triggers.

These objects exist in the database only (not in the models); ``migrations/env.py`` keeps them
out of the model comparison.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRGM_INDEXES = (
    ("ix_employee_full_name_trgm", "employee", "full_name"),
    ("ix_employee_email_trgm", "employee", "email"),
    ("ix_line_msisdn_trgm", "line", "msisdn"),
)

SQLITE_FTS = (
    # table, content table, columns
    ("employee_fts", "employee", ("full_name", "email")),
    ("line_fts", "line", ("msisdn",)),
)


def upgrade() -> None:
    with op.batch_alter_table("line", schema=None) as batch_op:
        batch_op.create_index("ix_line_customer_id_status", ["customer_id", "status"], unique=False)
        batch_op.create_index(
            "ix_line_customer_id_unit_path_status",
            ["customer_id", "unit_path", "status", "msisdn"],
            unique=False,
        )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgres_trigrams()
    elif dialect == "sqlite":
        for table, content, columns in SQLITE_FTS:
            _sqlite_fts(table, content, columns)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name, _table, _column in TRGM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS "{name}"')
    elif dialect == "sqlite":
        for table, content, _columns in SQLITE_FTS:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {content}_{suffix}_fts")
            op.execute(f"DROP TABLE IF EXISTS {table}")
    with op.batch_alter_table("line", schema=None) as batch_op:
        batch_op.drop_index("ix_line_customer_id_unit_path_status")
        batch_op.drop_index("ix_line_customer_id_status")


def _postgres_trigrams() -> None:
    bind = op.get_bind()
    schema = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        )
    )
    if schema is None:
        public = bind.scalar(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'"))
        target = "public" if public else bind.scalar(sa.text("SELECT current_schema()"))
        try:
            with bind.begin_nested():
                bind.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{target}"'))
        except sa.exc.DBAPIError:
            return  # not allowed here: search reads the rows instead
        schema = target
    for name, table, column in TRGM_INDEXES:
        op.execute(f'CREATE INDEX "{name}" ON {table} USING gin ({column} "{schema}".gin_trgm_ops)')


def _sqlite_fts(table: str, content: str, columns: tuple[str, ...]) -> None:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {table} USING fts5({cols}, content='{content}',"
        f" content_rowid='id', tokenize='trigram')"
    )
    op.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
    op.execute(
        f"CREATE TRIGGER {content}_ai_fts AFTER INSERT ON {content} BEGIN"
        f" INSERT INTO {table}(rowid, {cols}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {content}_ad_fts AFTER DELETE ON {content} BEGIN"
        f" INSERT INTO {table}({table}, rowid, {cols}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {content}_au_fts AFTER UPDATE OF {cols} ON {content} BEGIN"
        f" INSERT INTO {table}({table}, rowid, {cols}) VALUES ('delete', old.id, {old});"
        f" INSERT INTO {table}(rowid, {cols}) VALUES (new.id, {new}); END"
    )
