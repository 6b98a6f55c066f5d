"""The schema comes only from Alembic, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import models
from models.engine import make_engine
from models.migrate import downgrade, upgrade


def test_migrated_schema_equals_models(engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": lambda n, t, _p: not (t == "table" and n == "apscheduler_job")},
        )
        diff = compare_metadata(ctx, models.Base.metadata)
    assert diff == []


def test_every_model_table_exists(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(models.Base.metadata.tables) <= tables


def test_downgrade_to_base_and_up_again(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    upgrade(url)
    downgrade(url, "base")
    eng = make_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    eng.dispose()
    upgrade(url)
    eng = make_engine(url)
    assert "pensioner" in inspect(eng).get_table_names()
    eng.dispose()
