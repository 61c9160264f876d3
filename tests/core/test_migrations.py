from __future__ import annotations

from alembic.script import ScriptDirectory

from core import migrate


def test_single_head():
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_models_match_migrations(rt):
    migrate.check(rt.settings.database_url)  # raises if autogenerate finds a difference
