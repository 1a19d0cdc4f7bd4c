"""Alembic environment shared by every service; the metadata and URL come from crm_platform.migrations."""

from alembic import context
from sqlalchemy import pool

from crm_platform.db import create_db_engine
from crm_platform.migrations import for_dialect

config = context.config
metadata = config.attributes["crm.metadata"]
engine = create_db_engine(config.attributes["crm.database_url"], poolclass=pool.NullPool)

with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # Batch migrations copy and rename tables, which SQLite's foreign key checks would refuse mid-way.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # end the autobegun transaction so the migrations below commit their own
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=for_dialect(connection.dialect.name),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
