"""Every service's migrations build its schema from nothing on SQLite and PostgreSQL, and take it down again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, pool

from crm_platform import migrations
from crm_platform.db import create_db_engine
from crm_platform.service import discover

SERVICES = sorted(discover())


@pytest.mark.parametrize("name", SERVICES)
def test_migrations_upgrade_from_empty_to_the_models_and_downgrade_to_base(name: str, database_url: str) -> None:
    spec = discover()[name]
    engine = create_db_engine(database_url, poolclass=pool.NullPool)
    try:
        migrations.upgrade(spec, database_url)

        tables = set(inspect(engine).get_table_names())
        assert set(spec.metadata.tables) | {"alembic_version"} <= tables
        assert {"outbox", "processed_events", "idempotency_keys"} <= tables
        with engine.connect() as connection:
            opts = {"compare_type": True, "include_object": migrations.for_dialect(connection.dialect.name)}
            drift = compare_metadata(MigrationContext.configure(connection, opts=opts), spec.metadata)
        assert drift == [], f"{name}: the models differ from what the migrations build"

        migrations.downgrade(spec, database_url, "base")

        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
