"""Alembic wiring shared by every service: one env.py and template here, each service's revisions in
its own ``migrations/versions`` folder, applied to the service's own database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from crm_platform.service import ServiceSpec

_HERE = Path(__file__).parent / "alembic"


def config(spec: ServiceSpec, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.set_main_option("version_locations", str(spec.migrations_dir / "versions"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["crm.metadata"] = spec.metadata
    cfg.attributes["crm.database_url"] = database_url
    return cfg


def upgrade(spec: ServiceSpec, database_url: str, revision: str = "head") -> None:
    command.upgrade(config(spec, database_url), revision)


def downgrade(spec: ServiceSpec, database_url: str, revision: str) -> None:
    command.downgrade(config(spec, database_url), revision)


def revision(spec: ServiceSpec, database_url: str, message: str) -> None:
    """Autogenerate a revision from the difference between the models and the database."""
    command.revision(config(spec, database_url), message=message, autogenerate=True)
