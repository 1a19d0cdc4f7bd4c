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


@pytest.mark.parametrize("name", SERVICES)
def test_a_database_made_before_the_platform_branch_upgrades_without_change(name: str, database_url: str) -> None:
    """Until the platform branch, each service's first revision created the outbox, processed events and
    idempotency keys itself: such a database (those tables there, the service's revisions applied) must
    upgrade to both heads without touching them, and keep its rows."""
    from sqlalchemy import text

    spec = discover()[name]
    engine = create_db_engine(database_url, poolclass=pool.NullPool)
    try:
        platform_tables = [spec.metadata.tables[t] for t in ("outbox", "processed_events", "idempotency_keys")]
        spec.metadata.create_all(engine, tables=platform_tables)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO processed_events (consumer, event_id, workspace_id, event_type, processed_at)"
                    " VALUES ('x', 'e1', 'w', 't', CURRENT_TIMESTAMP)"
                )
            )
        migrations.upgrade(spec, database_url, f"{name}@head")

        migrations.upgrade(spec, database_url)

        with engine.connect() as connection:
            heads = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
            kept = connection.execute(text("SELECT count(*) FROM processed_events")).scalar()
        assert len(heads) == len(migrations.branches(spec)) + 1 and kept == 1  # its own, platform's, shared ones
    finally:
        engine.dispose()


def test_the_visibility_copy_is_one_shared_branch_that_only_the_services_keeping_it_run(database_url: str) -> None:
    specs = discover()
    keeping = {name for name, spec in specs.items() if "visibility_contacts" in spec.metadata.tables}
    copies = [
        path.name
        for spec in specs.values()
        for path in (spec.migrations_dir / "versions").glob("*.py")
        if "visibility_contacts" in path.read_text()
    ]

    assert keeping == {"tickets", "conversations", "mailer"}
    assert {name for name, spec in specs.items() if "visibility" in migrations.branches(spec)} == keeping
    assert copies == []  # written once, in crm_platform/alembic/visibility
    engine = create_db_engine(database_url, poolclass=pool.NullPool)
    try:
        migrations.upgrade(specs["reports"], database_url)
        assert not {"visibility_contacts", "visibility_workspaces"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_attachment_store_is_one_shared_branch_that_only_the_services_keeping_files_run(
    database_url: str,
) -> None:
    specs = discover()
    keeping = {name for name, spec in specs.items() if "attachments" in spec.metadata.tables}

    assert "mailer" in keeping
    assert {name for name, spec in specs.items() if "attachments" in migrations.branches(spec)} == keeping
    engine = create_db_engine(database_url, poolclass=pool.NullPool)
    try:
        migrations.upgrade(specs["reports"], database_url)
        assert not {"attachments", "attachment_chunks"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
