"""Alembic environment. The URL comes from the settings (or the caller's connection)."""

from __future__ import annotations

import re

from alembic import context

import models
from core.db import make_engine
from core.settings import load_settings

config = context.config
target_metadata = models.Base.metadata


# Search structures made by hand in migrations for one database only (0006): SQLite FTS5
# tables (and their shadow tables), PostgreSQL trigram indexes.
_DATABASE_ONLY = re.compile(r"^\w+_fts(_\w+)?$|_trgm$")


def _include_object(obj, name, type_, reflected, compare_to):
    # PostgreSQL partitions and other objects created by hand in migrations stay out of diffs.
    if reflected and compare_to is None and _DATABASE_ONLY.search(name or ""):
        return type_ not in ("table", "index")
    return not (type_ == "table" and reflected and compare_to is None and "_p20" in (name or ""))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or load_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
